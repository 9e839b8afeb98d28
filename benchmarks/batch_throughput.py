"""Batch throughput: files per minute and media-seconds per wall-second, one process vs worker processes.

    python benchmarks/batch_throughput.py [--copies 1] [--jobs 1 2] [--dask] [--data DIR]

Copies the CREMA-D talking-face clips (../shared/data/crema-d, 6 short .flv) `--copies` times
into a temp folder and runs `emofuse analyze FOLDER -o OUT -q` as a fresh process at the
defaults: once without --jobs (one process, the networks free to use every core), then with
each `--jobs N` (N worker processes, one thread each), and with `--dask` through a local Dask
cluster (2 worker processes, 1 thread each, on 127.0.0.1). Wall time is the whole command
(start-up, model loading in each worker, analysis); a rerun of the last one shows what
resuming costs when everything is done. Checks that every run wrote the same outputs, and
prints the time and the load average (before, and after each run: the machine may be shared).
Use `--copies 4` (24 files) or more for the figures in docs/batch.md.
"""
from __future__ import annotations

import argparse
import filecmp
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "crema-d"


def media_seconds(folder: Path) -> float:
    from emofuse.media import probe

    return sum(probe(p).duration for p in sorted(folder.iterdir()))


def analyze(folder: Path, out: Path, *flags: str) -> float:
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "emofuse", "analyze", str(folder), "-o", str(out), "-q", *flags],
                            capture_output=True, text=True)
    wall = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"emofuse analyze {' '.join(flags)} failed:\n{result.stderr[-2000:]}")
    return wall


def same_outputs(a: Path, b: Path) -> bool:
    names = sorted(p.name for p in a.glob("*.csv") if p.name != "index.csv")
    match, mismatch, errors = filecmp.cmpfiles(a, b, names, shallow=False)
    return not mismatch and not errors and len(match) == len(names) > 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=1, help="copies of each clip (6 clips a copy)")
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--dask", action="store_true", help="also through a local Dask cluster (2 workers)")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--overhead", type=int, metavar="N",
                        help="only: the Dask cost per file, N tasks that carry a real Job and do nothing")
    args = parser.parse_args()
    if args.overhead:
        return dask_overhead(args.overhead)
    clips = sorted(args.data.glob("*.flv"))
    if not clips:
        sys.exit(f"no .flv clips in {args.data}")
    with tempfile.TemporaryDirectory(prefix="emofuse-batch-bench-") as tmp:
        tmp = Path(tmp)
        folder = tmp / "in"
        folder.mkdir()
        for copy in range(args.copies):
            for clip in clips:
                shutil.copyfile(clip, folder / f"{clip.stem}-{copy}{clip.suffix}")
        files, media = len(clips) * args.copies, media_seconds(folder)
        print(f"{files} files, {media:.1f} media-seconds; machine: {_cores()} cores; "
              f"{time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC, load average {_load()}")
        print(f"{'run':<22}{'wall s':>8}{'files/min':>11}{'media-s/s':>11}{'vs one':>8}  same outputs  load after")
        runs = [("one process", [])] + [(f"--jobs {n}", ["--jobs", str(n)]) for n in args.jobs]
        base, reference = None, None
        cluster = _dask_cluster() if args.dask else None
        if cluster is not None:
            runs.append(("dask, 2 workers", ["--cluster", cluster.scheduler_address]))
        try:
            for i, (name, flags) in enumerate(runs):
                out = tmp / f"out{i}"
                wall = analyze(folder, out, *flags)
                base = base or wall
                reference = reference or out
                print(f"{name:<22}{wall:8.1f}{files / wall * 60:11.1f}{media / wall:11.2f}{base / wall:8.2f}  "
                      f"{same_outputs(reference, out)!s:<12}  {_load()}")
            rerun = analyze(folder, out, *flags)
            print(f"{'rerun, all complete':<22}{rerun:8.1f}")
        finally:
            if cluster is not None:
                cluster.close()


def _nothing(job, task) -> str:
    return task.source


def dask_overhead(n: int) -> None:
    """Seconds per task of submitting, scheduling, running and collecting `n` do-nothing tasks that
    carry what a real batch task carries (the pickled Job and a FileTask), on 2 local workers."""
    import pickle

    from distributed import Client, as_completed

    from emofuse.batch.work import FileTask, Job
    from emofuse.plugin_manager import get_components
    from emofuse.runner import AnalysisOptions

    job = Job(AnalysisOptions(), None, get_components(), "x" * 16)
    cluster = _dask_cluster()
    with Client(cluster) as client:
        client.submit(_nothing, job, FileTask("warm", "warm", {}), pure=False).result()
        started = time.perf_counter()
        futures = [client.submit(_nothing, job, FileTask(f"/data/f{i}.mp4", f"f{i}", {"timeline": f"/out/f{i}.csv"}),
                                 pure=False) for i in range(n)]
        submitted = time.perf_counter() - started
        for _ in as_completed(futures):
            pass
        wall = time.perf_counter() - started
    cluster.close()
    print(f"{n} tasks, each carrying {len(pickle.dumps(job))} bytes: submit {submitted / n * 1000:.2f} ms/task, "
          f"all done {wall / n * 1000:.2f} ms/task ({n / wall:.0f} tasks/s) on 2 local workers")


def _load() -> str:
    """The 1, 5 and 15 minute load averages (the machine is shared: the figures depend on them)."""
    try:
        return " / ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:  # pragma: no cover - not on Windows
        return "?"


def _cores() -> int:
    from emofuse.batch.local import available_cores

    return available_cores()


def _dask_cluster():
    try:
        from distributed import LocalCluster
    except ImportError:
        print("(--dask skipped: distributed is not installed)")
        return None
    return LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, scheduler_port=0,
                        host="127.0.0.1", silence_logs=50)


if __name__ == "__main__":
    main()
