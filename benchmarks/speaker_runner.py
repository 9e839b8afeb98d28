"""Who is speaking, measured through `emofuse analyze` itself (the runner's speaker finder).

    python benchmarks/speaker_runner.py [--orders 2] [--cases delay0.5,delay1,reversed,other,offscreen]

The compositions of `speaker_bench.py` (CREMA-D talking sequences side by side with a delayed,
reversed or other copy, or two distractors with the speaker off-screen) are written to a temp
folder and analysed at the defaults. For each 1 s segment with speech (speaker_bench's rule),
a hit is: the person whose face is on the speaker's side is the segment's `speaker` (for
off-screen: nobody). Also printed: how often the in-sync side is named at all. Needs
../shared/data/crema-d.
"""
from __future__ import annotations

import argparse
import collections
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import speaker_bench as sb  # noqa: E402


def side_of(person, width: int) -> str:
    return "left" if person.box.x + person.box.width / 2 < width / 2 else "right"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=2)
    parser.add_argument("--cases", default="delay0.5,delay1,reversed,other,offscreen")
    args = parser.parse_args()
    if not sb.CREMA.is_dir():
        sys.exit(f"needs {sb.CREMA}")
    import emofuse

    clips = sb.load_clips()
    orders = [sb.rotated(tuple(range(len(clips))), k) for k in range(args.orders)]
    work = Path(tempfile.mkdtemp(prefix="emofuse-speaker-runner-"))
    hits, trials, named = collections.Counter(), collections.Counter(), collections.Counter()
    for n, comp in enumerate(sb.compositions(clips, orders, tuple(args.cases.split(",")))):
        path = sb.write(comp, work / f"{n}.mp4")
        width = comp.left.frames[0].shape[1] * 2
        timeline = emofuse.analyze(path)
        for start, end in sb.speech_segments(comp.audio):
            segment = next((s for s in timeline.segments if s.start <= start + 1e-6 < s.end), None)
            if segment is None:
                continue
            trials[comp.case] += 1
            speaker = next((p for p in segment.people if p.speaking), None)
            if comp.speaker is None:
                hits[comp.case] += speaker is None
            else:
                hit = speaker is not None and side_of(speaker, width) == comp.speaker
                hits[comp.case] += hit
                named[comp.case] += speaker is not None
    print(f"{sum(trials.values())} speech segments, defaults of emofuse analyze")
    print(f"{'case':<10} {'trials':>6} {'right':>7} {'someone named':>14}")
    for case in args.cases.split(","):
        if trials[case]:
            print(f"{case:<10} {trials[case]:>6} {hits[case] / trials[case]:>7.0%} "
                  f"{(named[case] / trials[case]) if case != 'offscreen' else float('nan'):>14.0%}")
    total = sum(trials.values())
    print(f"{'all':<10} {total:>6} {sum(hits.values()) / max(total, 1):>7.0%}")


if __name__ == "__main__":
    main()
