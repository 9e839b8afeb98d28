"""A/B: the whole `emofuse analyze` command with the shipped models against a candidate, alternated.

    python benchmarks/model_ab.py --set visual-classifier.model=runs/x/fer_cnn.keras
    python benchmarks/model_ab.py --set audio-classifier.model=runs/y/ravdess_cnn.keras --repeats 5
    python benchmarks/model_ab.py --set face-detector.fine_every=0 --clips one,faceless,hd

Builds the one-person and the three-person 640x480 clips of benchmarks/speed.py (60 s each by
default; `--clips` adds the one-person clip without its face and at 1280x720), then runs
`emofuse analyze CLIP` at defaults ("shipped") and with the `--set` options ("candidate") in turn,
`--repeats` times each, and prints the wall time and the CPU time of every run and, per clip,
candidate / shipped of the fastest runs. Alternating in one run cancels most of
this noisy machine's drift: compare the ratios, not the seconds, across runs. The issue's speed
bar ("no more than 10 % slower") is read off these ratios.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: --clips: the one-person and three-person 640x480 clips of speed.py, the one-person clip without
#: its face (every analysed frame gets a full scan), and the one-person clip at 1280x720.
CLIPS = ("one", "multi", "faceless", "hd")


def analyze(clip: Path, out: Path, extra: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one `emofuse analyze` run."""
    from speed import timed_cpu

    return timed_cpu([sys.executable, "-m", "emofuse", "analyze", str(clip), "-o", str(out), "-q", *extra])


def ratio_line(clip: str, times: dict[str, list[tuple[float, float]]]) -> str:
    """candidate / shipped of the fastest wall and CPU times of one clip."""
    best = {name: (min(w for w, _ in runs), min(c for _, c in runs)) for name, runs in times.items()}
    (ws, cs), (wc, cc) = best["shipped"], best["candidate"]
    return (f"[{clip}] fastest: shipped {ws:.2f} s (CPU {cs:.2f} s), candidate {wc:.2f} s (CPU {cc:.2f} s); "
            f"candidate / shipped: wall {wc / ws:.3f}x, CPU {cc / cs:.3f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", action="append", required=True, metavar="PLUGIN.OPTION=VALUE",
                        help="an `emofuse analyze --set` option of the candidate (repeatable)")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each clip")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each configuration per clip")
    parser.add_argument("--clips", default="one,multi",
                        help=f"which clips, comma-separated: {', '.join(CLIPS)} (default: one,multi)")
    args = parser.parse_args()
    chosen = [c.strip() for c in args.clips.split(",") if c.strip()]
    unknown = sorted(set(chosen) - set(CLIPS))
    if unknown or not chosen:
        parser.error(f"--clips: choose from {', '.join(CLIPS)} (got {args.clips!r})")
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    sys.path.insert(0, str(HERE))
    import clips as clip_maker

    candidate = [part for option in args.set for part in ("--set", option)]
    with tempfile.TemporaryDirectory(prefix="emofuse-ab-") as tmp:
        work = Path(tmp)
        makers = {"one": lambda p: clip_maker.one_person_clip(p, args.seconds),
                  "multi": lambda p: clip_maker.multi_person_clip(p, args.seconds, persons=3),
                  "faceless": lambda p: clip_maker.one_person_clip(p, args.seconds, face=False),
                  "hd": lambda p: clip_maker.one_person_clip(p, args.seconds, size=(1280, 720))}
        for name in chosen:
            clip = makers[name](work / f"{name}.mp4")
            times: dict[str, list[tuple[float, float]]] = {"shipped": [], "candidate": []}
            for repeat in range(args.repeats):
                for config, extra in (("shipped", []), ("candidate", candidate)):
                    wall, cpu = analyze(clip, work / f"{name}-{config}.csv", extra)
                    times[config].append((wall, cpu))
                    print(f"[{name}] run {repeat + 1} {config}: {wall:.2f} s, CPU {cpu:.2f} s", flush=True)
            print(ratio_line(name, times), flush=True)


if __name__ == "__main__":
    main()
