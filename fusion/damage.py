"""Streams that stop before the file's end: how to tell, and how a timeline records it.

A truncated download, a damaged sector or a video stream shorter than its container decodes
fine up to some point and then ends. Without a word that looks like a timeline whose last
segments have no face and no voice. Instead each stream's early end is warned about once per
file (`DamagedMediaWarning`) and written into the errors of every segment it left without data.
"""
from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path

from .errors import DamagedMediaWarning
from .types import SegmentResult

#: A stream may end this much (seconds) before the file's duration without a word: containers
#: round durations, and a soundtrack often runs a little past the last frame.
EARLY_STOP = 0.5


@dataclasses.dataclass(frozen=True)
class StreamStop:
    """The `stream` ("video" or "audio") was decoded up to `at` seconds of a `duration`-second file."""

    stream: str
    at: float
    duration: float

    def __str__(self) -> str:
        return f"{self.stream} decoding stopped at {self.at:.1f} s of {self.duration:.1f} s"


def stopped_early(stream: str, covered: float, duration: float, period: float = 0.0) -> StreamStop | None:
    """A StreamStop when `covered` seconds fall short of `duration` by more than EARLY_STOP (or,
    for a slow stream, two of its `period`s); None when the stream reached the end."""
    if duration - covered > max(EARLY_STOP, 2.0 * period):
        return StreamStop(stream, max(0.0, covered), duration)
    return None


def record_stops(path: str | Path, segments: Sequence[SegmentResult],
                 stops: Iterable[StreamStop | None]) -> list[SegmentResult]:
    """Warn about each stop (`path: video decoding stopped at 8.9 s of 20.0 s`) and add it to the
    errors of the segments that end after it. Raises the warning under `--strict` (see
    DamagedMediaWarning)."""
    segments = list(segments)
    for stop in stops:
        if stop is None:
            continue
        warnings.warn(DamagedMediaWarning(f"{path}: {stop}"), stacklevel=2)
        segments = [dataclasses.replace(s, errors=(*s.errors, str(stop))) if s.end > stop.at + 1e-6 else s
                    for s in segments]
    return segments
