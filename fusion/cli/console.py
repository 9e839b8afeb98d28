"""Terminal output on stderr: progress bars, one-line warnings, the end-of-file summary."""
from __future__ import annotations

import contextlib
import os
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path


def stderr_console():
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def silence_native_stderr() -> None:
    """Send what C++ libraries write to file descriptor 2 (TensorFlow's start-up chatter, which
    no environment variable silences) to /dev/null, while Python's sys.stderr keeps the terminal.

    Only when sys.stderr is the process's own stderr (not under a test harness capturing it).
    """
    if sys.stderr is not sys.__stderr__:
        return
    try:
        sys.stderr.flush()
        terminal = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
    except (OSError, ValueError):
        return
    sys.stderr = sys.__stderr__ = os.fdopen(terminal, "w", buffering=1, encoding=sys.stderr.encoding,
                                            errors="backslashreplace")
    os.dup2(devnull, 2)
    os.close(devnull)


def one_line_warnings() -> None:
    """Show warnings as `emofuse: warning: ...` instead of a file:line dump."""
    def show(message, category, filename, lineno, file=None, line=None):
        print(f"emofuse: warning: {message}", file=sys.stderr)

    warnings.showwarning = show


class ProgressReporter:
    """A rich progress bar per file on stderr; silent with `quiet` or when stderr is not a terminal."""

    def __init__(self, quiet: bool = False) -> None:
        self.enabled = not quiet and sys.stderr.isatty()

    @contextlib.contextmanager
    def track(self, name: str) -> Iterator:
        if not self.enabled:
            yield None
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TextColumn("segments"), TimeRemainingColumn(), console=stderr_console(),
                      transient=True) as progress:
            task = progress.add_task(name, total=None)

            def on_segment(result, total):
                progress.update(task, total=total, advance=1)

            yield on_segment


def print_summary(timeline, written: list[Path]) -> None:
    """`movie.mp4: 60 segments (faces in 52, voice in 40) -> movie.csv` and the dominant emotions."""
    segments = timeline.segments
    faces = sum(s.face is not None for s in segments)
    voice = sum(s.voice is not None for s in segments)
    console = stderr_console()
    outputs = ", ".join(str(p) for p in written)
    console.print(f"[bold]{Path(timeline.source).name}[/]: {len(segments)} segments "
                  f"(face in {faces}, voice in {voice}) -> {outputs}", soft_wrap=True)
    shares = timeline.summary()
    if shares:
        console.print("  dominant: " + ", ".join(f"{label} {share:.0%}" for label, share in shares[:3]))
    else:
        console.print("  no face and no voice found: nothing to label")
    for person in timeline.persons:
        emotions = ", ".join(f"{label} {share:.0%}" for label, share in timeline.person_summary(person.id)[:3])
        console.print(f"  {person.id}: seen {person.seconds_visible:.0f} s, speaking {person.seconds_speaking:.0f} s"
                      + (f" - {emotions}" if emotions else ""))
    failures = sum(bool(s.errors) for s in segments)
    if failures:
        console.print(f"  [yellow]{failures} segments had component failures; see the errors column[/]")
