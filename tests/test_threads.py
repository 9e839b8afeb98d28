"""emofuse.threads: the runner's run-ahead producer thread and single-threaded BLAS."""
from __future__ import annotations

import threading

import pytest

from emofuse import AnalysisOptions
from emofuse.runner import Pipeline
from emofuse.threads import RunAhead, quiet_blas

from .fakes import FAKE_CHOICES


class Source:
    """An iterator that counts what it produced and whether it was closed."""

    def __init__(self, n: int, fail_at: int | None = None) -> None:
        self.n, self.fail_at, self.produced, self.closed = n, fail_at, 0, False
        self.thread: str | None = None

    def __iter__(self):
        return self

    def __next__(self) -> int:
        self.thread = threading.current_thread().name
        if self.produced == self.fail_at:
            raise ValueError(f"bad item {self.produced}")
        if self.produced >= self.n:
            raise StopIteration
        self.produced += 1
        return self.produced - 1

    def close(self) -> None:
        self.closed = True


def test_items_come_in_order_from_another_thread_and_the_source_is_closed():
    source = Source(50)
    with RunAhead(source, depth=3, name="test-ahead") as items:
        assert list(items) == list(range(50))
    assert source.thread == "test-ahead" and source.closed


def test_a_source_error_is_raised_at_its_item_after_the_items_before_it():
    got = []
    with pytest.raises(ValueError, match="bad item 3"):
        for item in RunAhead(Source(10, fail_at=3)):
            got.append(item)
    assert got == [0, 1, 2]


def test_it_runs_at_most_depth_items_ahead_and_close_stops_it_early():
    source = Source(1000)
    items = RunAhead(source, depth=2)
    assert next(items) == 0
    threading.Event().wait(0.2)  # give the producer time to run as far ahead as it may
    assert source.produced <= 1 + 2 + 1  # the one taken, `depth` queued, one waiting to be put
    items.close()
    assert source.closed and not items._worker.is_alive()
    assert source.produced < 10
    with pytest.raises(StopIteration):
        next(items)


def test_depth_must_be_positive():
    with pytest.raises(ValueError, match="depth"):
        RunAhead(Source(1), depth=0)


def test_quiet_blas_runs_blas_on_one_thread_and_restores_it():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    import numpy  # noqa: F401  (loads numpy's BLAS)

    def blas_threads():
        return [p["num_threads"] for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas"]

    before = blas_threads()
    if not before:
        pytest.skip("numpy has no BLAS library threadpoolctl can see here")
    with quiet_blas():
        assert blas_threads() == [1] * len(before)
    assert blas_threads() == before


def _face_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "emofuse-faces"]


def test_the_runner_stops_its_frame_thread_after_a_file_and_when_a_segment_fails(fake_components, media_dir):
    pipeline = Pipeline(AnalysisOptions(fps=4.0, **FAKE_CHOICES))
    timeline = pipeline.analyze(media_dir / "clip.mp4")
    assert [s.faces for s in timeline.segments] == [1, 1, 0]
    assert _face_threads() == []

    def fail(result, total):
        raise RuntimeError("progress callback failed")

    with pytest.raises(RuntimeError, match="progress callback failed"):
        pipeline.analyze(media_dir / "clip.mp4", on_segment=fail)
    assert _face_threads() == []
