"""The one unit of work of a batch: analyse one file, write its outputs atomically, return its index row.

The same function runs in the `emofuse analyze` process, in a `--jobs` worker process and on a
Dask worker. Each process keeps the Pipelines it built (one per thread that needs one at the
same time) for the next files of the same Job, so the models load once per worker, not per file.
"""
from __future__ import annotations

import contextlib
import dataclasses
import os
import threading
import time
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

#: The outputs of one input, by role, and the OutputPlan field that holds each.
ROLE_FIELDS = {"timeline": "targets", "plot": "plots", "persons": "sheets", "annotated": "annotated",
               "report": "reports"}
#: Environment variables that cap the threads of the numeric libraries in a worker.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
                    "NUMEXPR_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")


@dataclasses.dataclass(frozen=True)
class FileTask:
    """One input: its source, its output name (for messages), its outputs by role, and its
    [size, mtime_ns] when the batch was planned (recorded in the journal)."""

    source: str
    name: str
    outputs: Mapping[str, str]
    state: list[int] | None = None


@dataclasses.dataclass(frozen=True)
class Job:
    """What every file of a batch shares. `plan` is the OutputPlan with its per-file maps emptied
    (the exporter and the flags); `single_thread` caps BLAS, OpenCV and the networks at one thread
    (several workers share the cores); `fingerprint` names these settings and models."""

    options: Any  # emofuse.runner.AnalysisOptions
    plan: Any  # emofuse.cli.analyze_outputs.OutputPlan
    components: Any  # emofuse.plugin_manager.Components
    fingerprint: str
    strict: bool = False
    single_thread: bool = False

    def plan_for(self, task: FileTask):
        """The OutputPlan of one input."""
        maps = {field: {} for field in ROLE_FIELDS.values()}
        for role, path in task.outputs.items():
            maps[ROLE_FIELDS[role]][task.source] = Path(path)
        return dataclasses.replace(self.plan, **maps)


def empty_row(task: FileTask, status: str, error: str = "") -> dict:
    """The index row of an input that has no timeline (failed, timed out)."""
    return {"source": task.source, "name": task.name, "status": status, "error": error, "duration": None,
            "segments": None, "persons": None, "dominant": None, "share": None, "seconds": None,
            "outputs": [], "warnings": []}


def analyse_one(job: Job, task: FileTask) -> dict:
    """Analyse `task.source` and write its outputs (each whole or not at all). Returns its row:
    source, name, status ("done" or "failed"), error, duration, segments, persons, dominant, share,
    seconds, outputs, warnings. Analysis errors are in the row, never raised."""
    from emofuse.cli.analyze_outputs import write_outputs
    from emofuse.errors import DamagedMediaWarning, EmofuseError

    started = time.perf_counter()
    row = empty_row(task, "failed")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        if job.strict:
            warnings.simplefilter("error", DamagedMediaWarning)
        try:
            with borrowed_pipeline(job) as pipeline:
                timeline = pipeline.analyze(task.source)
            written = write_outputs(timeline, job.plan_for(task), task.source)
        except EmofuseError as exc:
            row["error"] = str(exc)
        except Exception as exc:  # a component's bug fails this file, not the batch
            row["error"] = f"{type(exc).__name__}: {exc}"
        else:
            shares = timeline.summary()
            row.update(status="done", duration=round(timeline.duration, 3), segments=len(timeline.segments),
                       persons=len(timeline.persons), dominant=shares[0][0] if shares else None,
                       share=round(shares[0][1], 3) if shares else None, outputs=[str(p) for p in written])
    row["warnings"] = [str(w.message) for w in caught]
    row["seconds"] = round(time.perf_counter() - started, 3)
    return row


_idle: dict[tuple, list] = {}
_idle_lock = threading.Lock()
_limited = False


@contextlib.contextmanager
def borrowed_pipeline(job: Job) -> Iterator:
    """A Pipeline of `job` for the block: an idle one built earlier in this process, or a new one.
    One is never used by two threads at once (the networks are not thread-safe)."""
    key = (job.fingerprint, job.single_thread)
    with _idle_lock:
        for other in [k for k in _idle if k != key]:  # another batch's models: let them go
            del _idle[other]
        pipeline = _idle.get(key, []).pop() if _idle.get(key) else None
    if pipeline is None:
        from emofuse.runner import Pipeline

        options = job.options
        if job.single_thread:
            limit_threads()
            options = one_thread_options(options, job.components)
        pipeline = Pipeline(options, components=job.components)
    try:
        yield pipeline
    finally:
        with _idle_lock:
            _idle.setdefault(key, []).append(pipeline)


def one_thread_options(options, components):
    """`options` with `threads=1` for each chosen component that takes a `threads` option and was
    not given one (the networks' own thread pools)."""
    chosen = {kind: dict(opts) for kind, opts in options.component_options.items()}
    for kind in ("face_detector", "visual_classifier", "face_embedder", "voice_activity", "audio_features",
                 "audio_classifier", "fusion"):
        accepted = components[kind].options(options.name_of(kind)) or []
        if any(o.name == "threads" for o in accepted) and "threads" not in chosen.get(kind, {}):
            chosen.setdefault(kind, {})["threads"] = 1
    return dataclasses.replace(options, component_options=chosen)


def limit_threads() -> None:
    """Cap this process at one thread per library: BLAS/OpenMP (now and, through the environment,
    for libraries loaded later) and OpenCV. Done once per process."""
    global _limited
    if _limited:
        return
    _limited = True
    for name in THREAD_VARIABLES:
        os.environ[name] = "1"
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=1)
    except ImportError:  # pragma: no cover - a dependency
        pass
    try:
        import cv2

        cv2.setNumThreads(1)
    except ImportError:  # pragma: no cover - a dependency
        pass


def warm(job: Job) -> None:
    """Build `job`'s components now (in a fresh worker, before its first file), so that a file's
    time limit does not count the model loading. A component that fails is left for the analysis
    of each file to report."""
    opts = job.options
    names = ["fusion"]
    if opts.video:
        names += ["face_detector", "visual_classifier"] + (["face_embedder"] if opts.persons else [])
    if opts.audio:
        names += ["voice_activity", "audio_classifier"]
    with borrowed_pipeline(job) as pipeline:
        for name in names:
            try:
                getattr(pipeline, name)
            except Exception:  # reported per file by the analysis
                pass
