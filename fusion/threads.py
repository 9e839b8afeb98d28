"""Threads for the runner: a producer running ahead on its own thread, and quiet BLAS workers.

The face detector (OpenCV) and the networks use both cores inside each call only in part, and
a segment's steps ran one after the other, each waiting for the last. Running the frame side
(decoding, detection, crops) a segment or two ahead of the rest (classification, voice, fusion)
overlaps them: 3.5 s -> 2.5 s per minute of video at the defaults on 2 cores (docs/performance.md).

numpy's OpenBLAS keeps its worker threads spinning for a while after every call; the audio
features make such calls every segment, so one core was busy doing nothing (half the CPU time
of an analysis). `quiet_blas()` runs BLAS single-threaded while it is active: the matrices
emofuse multiplies are small, and the other libraries' thread pools are not touched.
"""
from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")

_END = object()


class _Failure:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


class RunAhead(Iterator[T]):
    """The items of `source`, produced on a background thread at most `depth` items ahead.

    An exception raised by `source` is raised by `next()` at the item where it happened.
    `close()` (also on leaving a `with` block) stops the thread and closes `source` on it.
    """

    def __init__(self, source: Iterator[T], depth: int = 2, name: str = "emofuse-run-ahead") -> None:
        if depth < 1:
            raise ValueError(f"depth must be >= 1, got {depth}")
        self._source, self._items, self._stop = source, queue.Queue(maxsize=depth), threading.Event()
        self._done = False
        self._worker = threading.Thread(target=self._produce, name=name, daemon=True)
        self._worker.start()

    def _put(self, item) -> bool:
        while not self._stop.is_set():
            try:
                self._items.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def _produce(self) -> None:
        try:
            for item in self._source:
                if not self._put(item):
                    return
            self._put(_END)
        except BaseException as exc:  # handed to the consumer, raised there
            self._put(_Failure(exc))
        finally:
            close = getattr(self._source, "close", None)
            if close is not None:
                close()

    def __next__(self) -> T:
        if self._done:
            raise StopIteration
        item = self._items.get()
        if item is _END or isinstance(item, _Failure):
            self._done = True
            self.close()
            if item is _END:
                raise StopIteration
            raise item.exc
        return item

    def close(self) -> None:
        """Stop the thread (waiting for the item it is producing) and close the source."""
        self._done = True
        self._stop.set()
        if self._worker is not threading.current_thread():
            self._worker.join()

    def __enter__(self) -> RunAhead[T]:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def quiet_blas() -> contextlib.AbstractContextManager:
    """A context in which numpy's BLAS (OpenBLAS, MKL...) uses one thread (no spinning workers)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - a dependency; without it, only slower
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")
