"""`DIR/index.csv`: a row per input of a batch, rewritten atomically as files finish.

Every input has a row from the start (`pending` until it finishes in this run; `skipped` when an
earlier run completed it), so a reader always sees the whole batch. Rewriting is throttled so
that it costs at most `overhead` of the run's time: a small index is rewritten after every file,
one of 10,000 rows (tens of milliseconds to write) about once a second. `close()` always writes.
"""
from __future__ import annotations

import csv
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path

#: The batch's table of inputs, in the output folder.
INDEX = "index.csv"
INDEX_COLUMNS = ("path", "status", "error", "duration", "segments", "persons", "dominant", "share", "seconds",
                 "attempts", "outputs")


def pending_row(source: str) -> dict:
    """The row of an input not finished (yet) in this run."""
    return {"source": source, "status": "pending", "error": ""}


def one_line(text: str | None) -> str:
    """The first line of an error message (the index and the summary keep one line per input)."""
    return (text or "").strip().splitlines()[0] if (text or "").strip() else ""


def write_index(path: str | os.PathLike, rows: Iterable[dict]) -> Path:
    """Write `rows` (index rows: source, status, error, duration...) to `path` as the index CSV,
    atomically: a reader sees the previous whole file or the new one."""
    from emofuse.atomic import atomic_output

    with atomic_output(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(INDEX_COLUMNS)
        for row in rows:
            values = {**row, "path": row["source"], "error": one_line(row.get("error")),
                      "outputs": ";".join(row.get("outputs") or [])}
            writer.writerow(["" if values.get(c) is None else values.get(c) for c in INDEX_COLUMNS])
    return Path(path)


class IndexFile:
    """The index of a batch of `sources` (in their order), kept current on disk at `path`."""

    def __init__(self, path: str | os.PathLike, sources: Iterable[str], overhead: float = 0.05,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.path = Path(path)
        self.rows: dict[str, dict] = {s: pending_row(s) for s in sources}
        self.overhead, self.clock = overhead, clock
        self._last_end: float | None = None
        self._last_cost = 0.0
        self.writes = 0

    def set(self, row: dict) -> bool:
        """Record a finished input's row; rewrite the file if it is due. True when it was written."""
        self.rows[row["source"]] = row
        if self._last_end is not None and (self.clock() - self._last_end) * self.overhead < self._last_cost:
            return False
        self.write()
        return True

    def write(self) -> Path:
        """Rewrite the file now."""
        started = self.clock()
        write_index(self.path, self.rows.values())
        self._last_end = self.clock()
        self._last_cost = self._last_end - started
        self.writes += 1
        return self.path

    close = write
