"""`--cluster tcp://HOST:8786`: the batch's files analysed on a Dask distributed cluster.

The workers run the same unit of work as `--jobs` (emofuse.batch.work.analyse_one): each
reads its input and writes its outputs itself, so inputs and outputs must be on storage that
the workers and this machine share, under the same paths. This process only sends the tasks,
collects the index rows and keeps the journal. Dask retries a file whose worker died as the
scheduler's `distributed.scheduler.allowed-failures` says (set it to 1: one retry; docs/batch.md).
"""
from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator, Sequence

from emofuse.errors import EmofuseError

from .work import FileTask, Job, analyse_one, empty_row

#: Where the scheduler's address is taken from when --cluster is not given.
CLUSTER_VARIABLE = "EMOFUSE_CLUSTER"
INSTALL = 'pip install "emofuse[cluster]"'


def cluster_address(flag: str | None, jobs: int | None = None) -> str | None:
    """--cluster, else $EMOFUSE_CLUSTER unless --jobs asks for this machine, else None (run here)."""
    if flag or jobs:
        return flag or None
    return os.environ.get(CLUSTER_VARIABLE) or None


def worker_check() -> str:
    """Runs on each worker before the batch: the emofuse version it has."""
    from emofuse import __version__

    return __version__


def cluster_task(job: Job, task: FileTask, timeout: float | None = None) -> dict:
    """`analyse_one` on a Dask worker. With `timeout`, a file still running after that many
    seconds is given up: its row says so, and the thread stuck on it is left behind (Dask cannot
    stop a running task; restart the worker when convenient)."""
    if not timeout:
        return analyse_one(job, task)
    box: dict = {}
    thread = threading.Thread(target=lambda: box.update(row=analyse_one(job, task)), daemon=True,
                              name=f"emofuse-{task.name}")
    thread.start()
    thread.join(timeout)
    if "row" in box:
        return box["row"]
    return empty_row(task, "timeout", f"{task.source}: given up after {timeout:g} s (--timeout-per-file); "
                                      f"a thread on the worker {_worker_name()} is still on it")


def _worker_name() -> str:
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return "?"


def connect(address: str):
    """A distributed.Client for the scheduler at `address`, its workers checked to have this emofuse."""
    try:
        from distributed import Client
    except ImportError:
        raise EmofuseError(f"--cluster needs Dask distributed, which is not installed: {INSTALL}") from None
    from emofuse import __version__

    try:
        client = Client(address, timeout="20s", set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise EmofuseError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    try:
        versions = client.run(worker_check)
    except Exception as exc:
        client.close()
        raise EmofuseError(f"the Dask workers at {address} cannot run emofuse ({type(exc).__name__}: {exc}); "
                           "install emofuse on them") from None
    wrong = {w: v for w, v in versions.items() if v != __version__}
    if wrong:
        client.close()
        worker, version = next(iter(wrong.items()))
        raise EmofuseError(f"Dask worker {worker} has emofuse {version}, this is {__version__}: "
                           "install the same version on the workers")
    return client


def run_on_cluster(address: str, job: Job, tasks: Sequence[FileTask], timeout: float | None = None,
                   on_waiting=None) -> Iterator[dict]:
    """Analyse `tasks` on the Dask cluster at `address`; rows come back as files finish.
    `on_waiting()` is called once if the scheduler has no workers yet (the tasks wait for them)."""
    client = connect(address)
    futures = {}
    try:
        if not client.scheduler_info().get("workers") and on_waiting is not None:
            on_waiting()
        batch = uuid.uuid4().hex[:8]
        for i, task in enumerate(tasks):
            future = client.submit(cluster_task, job, task, timeout, key=f"emofuse-{batch}-{i}", pure=False)
            futures[future] = task
        from distributed import as_completed

        for future in as_completed(list(futures), loop=client.loop):
            task = futures.pop(future)
            yield _row_of(future, task)
    finally:
        if futures:
            client.cancel(list(futures))
        client.close()


def _row_of(future, task: FileTask) -> dict:
    if future.status == "finished":
        row = future.result()
        row.setdefault("attempts", 1)
        return row
    exc = future.exception()
    if type(exc).__name__ == "KilledWorker":
        message = (f"{task.source}: the Dask workers analysing it died (a crashing component or out of "
                   f"memory?): {exc}")
    else:
        message = f"{task.source}: {type(exc).__name__}: {exc}"
    return empty_row(task, "failed", message)
