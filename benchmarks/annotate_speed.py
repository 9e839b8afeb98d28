"""Cost of the annotated video and of the HTML report (figures only; no test asserts a time).

    python benchmarks/annotate_speed.py [--seconds 60] [--short 15] [--out DIR]

Builds the one-person and the multi-person clips of benchmarks/clips.py (640x480, 25 fps,
speech-like soundtrack), analyses each at the defaults (not timed here: see speed.py), then
times `emofuse.annotate.annotate_video` (one decode, one libx264 encode, soundtrack copied):
wall seconds, x realtime, CPU seconds of this process and of ffmpeg, and the memory it adds
(peak resident memory of this process above its level before, and ffmpeg's peak), for a
`--short` clip and the full one, so that "flat in the length of the film" is a number. Then
the report: seconds to write it and its size.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from clips import multi_person_clip, one_person_clip  # noqa: E402


def _rss_kb(pid: int | str = "self") -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _children() -> list[str]:
    out = []
    for task in Path("/proc/self/task").iterdir():
        try:
            out += (task / "children").read_text().split()
        except OSError:
            pass
    return out


class MemoryWatch:
    """Samples this process's and its children's resident memory every 20 ms."""

    def __init__(self) -> None:
        self.base = _rss_kb()
        self.peak_self = self.peak_children = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak_self = max(self.peak_self, _rss_kb())
            self.peak_children = max(self.peak_children, sum(_rss_kb(pid) for pid in _children()))

    def __enter__(self) -> MemoryWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def measure(clip: Path, timeline, out: Path) -> dict:
    from emofuse.annotate import annotate_video

    before = os.times()
    start = time.perf_counter()
    with MemoryWatch() as memory:
        annotate_video(timeline, clip, out)
    wall = time.perf_counter() - start
    after = os.times()
    return {"wall": wall, "self_cpu": after.user + after.system - before.user - before.system,
            "ffmpeg_cpu": after.children_user + after.children_system - before.children_user - before.children_system,
            "added_mb": max(0, memory.peak_self - memory.base) / 1024, "ffmpeg_mb": memory.peak_children / 1024,
            "size_mb": out.stat().st_size / 2**20}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--short", type=float, default=15.0, help="the shorter clip, for the memory comparison")
    parser.add_argument("--out", type=Path, help="keep the clips and outputs here (default: a temp folder)")
    args = parser.parse_args()

    import emofuse
    from emofuse.report import write_report

    folder = args.out or Path(tempfile.mkdtemp(prefix="emofuse-annotate-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"cpu cores: {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}; files in {folder}")
    print(f"{'clip':>16} {'s':>5} {'wall s':>7} {'x realtime':>10} {'py cpu s':>8} {'ffmpeg cpu s':>12} "
          f"{'py +MB':>7} {'ffmpeg MB':>9} {'out MB':>7}")
    for name, make in (("one person", one_person_clip), ("three persons", multi_person_clip)):
        for seconds in (args.short, args.seconds):
            clip = folder / f"{name.replace(' ', '-')}-{seconds:g}s.mp4"
            if not clip.exists():
                make(clip, seconds=seconds)
            timeline = emofuse.analyze(clip)
            m = measure(clip, timeline, clip.with_suffix(".annotated.mp4"))
            print(f"{name:>16} {seconds:5g} {m['wall']:7.2f} {seconds / m['wall']:10.1f} {m['self_cpu']:8.2f} "
                  f"{m['ffmpeg_cpu']:12.2f} {m['added_mb']:7.1f} {m['ffmpeg_mb']:9.1f} {m['size_mb']:7.2f}")
            if seconds == args.seconds:
                start = time.perf_counter()
                report = write_report(timeline, clip.with_suffix(".html"), video=clip.with_suffix(".annotated.mp4"))
                print(f"{'':>16} report: {time.perf_counter() - start:.2f} s, {report.stat().st_size / 1024:.0f} kB "
                      f"({len(timeline.segments)} segments, {len(timeline.persons)} persons)")


if __name__ == "__main__":
    main()
