"""`--jobs N`: worker processes on this machine, each loading the models once and analysing many files.

Workers are started fresh (spawn, not fork: the parent may hold threads and native state), capped
at one thread per library (N workers share the cores), and handed one file at a time. A worker
that dies (a plugin segfault, the out-of-memory killer) is replaced and its file tried once more;
a second death fails that file. A file that runs past the time limit is given up: its worker is
killed and replaced. A worker whose parent has gone (the run was killed) ends itself.
"""
from __future__ import annotations

import collections
import contextlib
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Iterator, Sequence
from multiprocessing.connection import wait

from .journal import remove_stale_parts
from .work import THREAD_VARIABLES, FileTask, Job, analyse_one, empty_row, warm

#: How often a worker checks that its parent is alive (seconds).
PARENT_CHECK = 0.5


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity; `--jobs auto`)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return max(1, os.cpu_count() or 1)


def _serve(job: Job, conn, parent: int, workers_lock: str | None) -> None:
    """A worker's life: warm up, then analyse each task it receives until told to stop."""
    from .journal import hold_shared

    lock = hold_shared(workers_lock)  # noqa: F841 - held until the process ends
    _watch_parent(parent)
    try:
        warm(job)
        while True:
            try:
                task = conn.recv()
            except (EOFError, OSError):
                return
            if task is None:
                return
            conn.send(("begin", task.source))
            conn.send(("row", analyse_one(job, task)))
    except KeyboardInterrupt:  # Ctrl-C reaches the whole process group; the parent reports it
        return


def _watch_parent(parent: int) -> None:
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK)
        os._exit(3)

    threading.Thread(target=watch, name="emofuse-parent-watch", daemon=True).start()


@contextlib.contextmanager
def _child_environment(single_thread: bool) -> Iterator[None]:
    """Spawned children inherit the environment: one thread per numeric library from their start."""
    saved = {name: os.environ.get(name) for name in THREAD_VARIABLES}
    if single_thread:
        os.environ.update({name: "1" for name in THREAD_VARIABLES})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class _Slot:
    """One worker process and the file it is on."""

    def __init__(self, pool: LocalPool) -> None:
        self.pool = pool
        self.task: FileTask | None = None
        self.began: float | None = None
        self.start()

    def start(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_serve, name="emofuse-worker", daemon=True,
                                   args=(self.pool.job, child, os.getpid(), self.pool.workers_lock))
        with _child_environment(self.pool.job.single_thread):
            self.process.start()
        child.close()
        self.task, self.began = None, None

    def give(self, task: FileTask) -> None:
        self.task, self.began = task, None
        self.conn.send(task)

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)
        self.conn.close()

    def stop(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.conn.send(None)
        self.process.join(2)
        self.kill()


def describe_exit(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


class LocalPool:
    """Run tasks on `jobs` worker processes; rows come back as files finish (any order).

    `timeout`: seconds a file may take (from when its worker begins it) before it is given up.
    `retries`: how many times a file whose worker died is tried again.
    """

    def __init__(self, job: Job, jobs: int, timeout: float | None = None, retries: int = 1,
                 workers_lock: str | None = None) -> None:
        if jobs < 1:
            raise ValueError(f"jobs must be >= 1, got {jobs}")
        self.job, self.jobs, self.timeout, self.retries = job, jobs, timeout, retries
        self.workers_lock = workers_lock

    def run(self, tasks: Sequence[FileTask]) -> Iterator[dict]:
        pending = collections.deque(tasks)
        deaths: collections.Counter[str] = collections.Counter()
        slots = [_Slot(self) for _ in range(min(self.jobs, len(pending)))]
        try:
            while pending or any(s.task for s in slots):
                for slot in slots:
                    if slot.task is None and pending:
                        slot.give(pending.popleft())
                busy = [s for s in slots if s.task]
                wait([x for s in busy for x in (s.conn, s.process.sentinel)], self._wait(busy))
                for slot in busy:
                    yield from self._check(slot, pending, deaths)
        finally:
            for slot in slots:
                slot.stop()

    def _wait(self, busy: list[_Slot]) -> float | None:
        if not self.timeout:
            return None
        began = [s.began for s in busy if s.began is not None]
        if not began:
            return 1.0
        return max(0.0, min(began) + self.timeout - time.monotonic()) + 0.01

    def _check(self, slot: _Slot, pending: collections.deque, deaths: collections.Counter) -> Iterator[dict]:
        task = slot.task
        try:
            while slot.conn.poll():
                kind, value = slot.conn.recv()
                if kind == "begin":
                    slot.began = time.monotonic()
                else:
                    slot.task = slot.began = None
                    value["attempts"] = deaths[task.source] + 1
                    yield value
                    return
        except (EOFError, OSError):
            pass  # the worker died: its sentinel says so
        if not slot.process.is_alive():
            slot.process.join()
            deaths[task.source] += 1
            how = describe_exit(slot.process.exitcode)
            slot.kill()
            remove_stale_parts(task.outputs.values())  # what the killed worker was writing
            slot.start()
            if deaths[task.source] <= self.retries:
                pending.appendleft(task)
            else:
                row = empty_row(task, "failed", f"{task.source}: the worker analysing it died "
                                                f"{deaths[task.source]} times ({how}; a crashing component "
                                                "or out of memory?)")
                row["attempts"] = deaths[task.source]
                yield row
        elif self.timeout and slot.began is not None and time.monotonic() - slot.began > self.timeout:
            slot.kill()
            remove_stale_parts(task.outputs.values())  # what the killed worker was writing
            slot.start()
            row = empty_row(task, "timeout", f"{task.source}: given up after {self.timeout:g} s "
                                             "(--timeout-per-file)")
            row["attempts"] = deaths[task.source] + 1
            yield row
