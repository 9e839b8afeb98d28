"""Stop a file when a component fails from the start: it is broken, not unlucky.

A component that raises on one segment leaves that segment's modality empty and the analysis
goes on. One that has raised in each of the first `FAIL_FAST_SEGMENTS` segments it was called
in, and never succeeded, would fail on every segment and leave a timeline of empty cells with
exit status 0; `FailFast` stops the file with its error instead.
"""
from __future__ import annotations

from .errors import PluginError

#: A component failing in this many segments in a row from the start of a file stops the file.
FAIL_FAST_SEGMENTS = 3


class FailFast:
    """Counts, per component kind, the segments (told apart by their `errors` lists) in which it
    failed since the start of the file, until it first succeeds. Idle until `start()` (a new file):
    `emofuse live` keeps going whatever fails."""

    def __init__(self, limit: int = FAIL_FAST_SEGMENTS) -> None:
        self.limit = limit
        self.active = False
        self._working: set[str] = set()
        self._failing: dict[str, list[list[str]]] = {}  # the segments' errors lists (kept: ids stay unique)

    def start(self) -> None:
        """A new file: forget the last one's counts and watch this one."""
        self.active = True
        self._working.clear()
        self._failing.clear()

    def succeeded(self, kind: str) -> None:
        if kind not in self._working:
            self._working.add(kind)
            self._failing.pop(kind, None)

    def failed(self, kind: str, errors: list[str], message: str) -> None:
        """Record a failure in the segment whose errors list is `errors`; PluginError (with
        `message`) when `kind` has now failed in its first `limit` segments."""
        if not self.active or kind in self._working:
            return
        seen = self._failing.setdefault(kind, [])
        if not any(errors is other for other in seen):
            seen.append(errors)
        if len(seen) >= self.limit:
            raise PluginError(f"{message} (in each of its first {self.limit} segments; stopped)")
