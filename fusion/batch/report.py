"""What a batch shows on stderr: a progress bar over files (media-seconds done / total, ETA) on a
terminal, a line per file, and a summary table at the end.

The bar's total is the media duration of the files to analyse: a background thread probes them
(ffprobe through emofuse.media.probe) while the batch runs; until all are probed, the files not
yet probed count as the mean of those that are. A finished file counts with the duration its
analysis found (a failed one with its probed duration, so the bar ends full).
"""
from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterable, Sequence

from .index import one_line

#: Failures listed under the summary table (the rest: see the index).
MAX_FAILURES_SHOWN = 20


def _probe_duration(source: str) -> float | None:
    from emofuse.media import probe

    try:
        return probe(source).duration
    except Exception:  # not media, missing, a URL: no duration, the analysis will say why
        return None


class MediaProgress:
    """Media-seconds done of the total, for the files of this run (thread-safe)."""

    def __init__(self, sources: Sequence[str]) -> None:
        self.sources = list(sources)
        self.probed: dict[str, float | None] = {}
        self.finished: dict[str, float | None] = {}
        self._lock = threading.Lock()

    def probed_as(self, source: str, duration: float | None) -> None:
        with self._lock:
            self.probed[source] = duration

    def finish(self, row: dict) -> float:
        """Count a finished file; returns the media-seconds it adds (0 when its duration is unknown)."""
        source = row["source"]
        with self._lock:
            duration = row.get("duration")
            self.finished[source] = float(duration) if duration is not None else self.probed.get(source)
            return self.finished[source] or 0.0

    @property
    def done(self) -> float:
        with self._lock:
            return sum(d or 0.0 for d in self.finished.values())

    @property
    def total(self) -> float | None:
        """Media-seconds of all the files; None while no duration is known. A file whose duration
        is not known yet counts as the mean of those known; one that has none (not media) as 0."""
        with self._lock:
            known = [self.finished[s] if s in self.finished else self.probed.get(s) for s in self.sources]
            durations = [d for d in known if d is not None]
            if not durations:
                return None
            missing = sum(s not in self.finished and s not in self.probed for s in self.sources)
            return sum(durations) + missing * (sum(durations) / len(durations))


class BatchProgress:
    """A rich bar over the files of a batch (with `enabled`), and the per-file lines above it."""

    def __init__(self, sources: Sequence[str], enabled: bool, console=None,
                 probe: Callable[[str], float | None] = _probe_duration) -> None:
        self.media = MediaProgress(sources)
        self.enabled = enabled and bool(sources)
        self.console, self.probe = console, probe
        self.count = 0
        self._progress = self._task = None
        self._stop = threading.Event()
        self._prober: threading.Thread | None = None

    def __enter__(self) -> BatchProgress:
        if not self.enabled:
            return self
        from emofuse.cli.console import stderr_console
        from rich.progress import (
            BarColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.console = self.console or stderr_console()
        self._progress = Progress(TextColumn("{task.fields[files]}"), BarColumn(),
                                  TextColumn("{task.completed:.0f}/{task.fields[media]} media-s"),
                                  TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                                  console=self.console, transient=True)
        self._progress.start()
        self._task = self._progress.add_task("batch", total=None, files=self._files(), media="?")
        self._prober = threading.Thread(target=self._probe_all, name="emofuse-probe", daemon=True)
        self._prober.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._progress is not None:
            self._progress.stop()

    def _files(self) -> str:
        return f"{self.count}/{len(self.media.sources)} files"

    def _probe_all(self) -> None:
        for source in self.media.sources:
            if self._stop.is_set():
                return
            self.media.probed_as(source, self.probe(source))
            self._refresh()

    def _refresh(self) -> None:
        if self._progress is None:
            return
        total = self.media.total
        self._progress.update(self._task, total=total, completed=self.media.done, files=self._files(),
                              media="?" if total is None else f"{total:.0f}")

    def finished(self, row: dict) -> None:
        """Count a finished file (its index row)."""
        self.count += 1
        self.media.finish(row)
        self._refresh()

    def say(self, text: str) -> None:
        """A line on stderr (above the bar while it shows)."""
        if self._progress is not None:
            self._progress.console.print(text, markup=False, highlight=False, soft_wrap=True)
        else:
            print(text, file=sys.stderr)


def summary_counts(rows: Iterable[dict]) -> dict[str, tuple[int, float]]:
    """Status -> (files, media-seconds known) over the index rows."""
    counts: dict[str, tuple[int, float]] = {}
    for row in rows:
        n, seconds = counts.get(row["status"], (0, 0.0))
        counts[row["status"]] = (n + 1, seconds + float(row.get("duration") or 0.0))
    return counts


def print_summary(rows: Sequence[dict], wall: float, console=None) -> None:
    """The end-of-batch table on stderr: files and media-seconds by status, the wall time, the
    media-seconds analysed per wall-second, and the failures with their one-line errors."""
    from emofuse.cli.console import stderr_console
    from rich.table import Table

    console = console or stderr_console()
    counts = summary_counts(rows)
    table = Table(title=None, show_header=True, header_style="bold", box=None, pad_edge=False)
    table.add_column("")
    table.add_column("files", justify="right")
    table.add_column("media-s", justify="right")
    labels = {"done": "analysed", "skipped": "already complete", "failed": "failed", "timeout": "timed out",
              "pending": "not finished"}
    for status, label in labels.items():
        if status in counts or status in ("done", "skipped", "failed"):
            n, seconds = counts.get(status, (0, 0.0))
            table.add_row(label, str(n), f"{seconds:.1f}" if status in ("done", "skipped") else "-")
    table.add_row("[bold]total[/]", str(len(rows)), "")
    console.print(table)
    analysed = counts.get("done", (0, 0.0))[1]
    rate = analysed / wall if wall > 0 else 0.0
    console.print(f"wall time {wall:.2f} s; {rate:.2f} media-seconds analysed per wall-second",
                  markup=False, highlight=False, soft_wrap=True)
    failures = [r for r in rows if r["status"] in ("failed", "timeout")]
    for row in failures[:MAX_FAILURES_SHOWN]:
        console.print(f"  {row['status']}: {_with_source(row)}", markup=False, highlight=False, soft_wrap=True)
    if len(failures) > MAX_FAILURES_SHOWN:
        console.print(f"  ... and {len(failures) - MAX_FAILURES_SHOWN} more: see the index", markup=False)


def _with_source(row: dict) -> str:
    error = one_line(row.get("error"))
    return error if error.startswith(row["source"]) else f"{row['source']}: {error}"

