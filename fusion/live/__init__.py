"""`emofuse live`: faces from a camera and the voice from a microphone, classified as they come.

- A capture thread keeps only the newest frame: when classifying is slower than the camera,
  frames are dropped, never queued, so the label is always about what is in front of the
  camera now.
- A voice thread classifies the last `min_window` seconds of sound a few times a second.
- The main thread classifies the faces of each frame it gets (one batched call), fuses them
  with the latest voice, updates the view and writes one CSV row per segment (flushed at once).

Times in the CSV are seconds since the start of the run; sources stamp frames with
`time.monotonic()`.

The package: `sources` (choosing and opening sources, the capture and voice threads),
`session` (segments, the CSV, the run loop, `run_live`), `views` (the state shown and the
window, terminal and null views).
"""
from __future__ import annotations

from .session import (
    GRACE,
    LiveCsv,
    LiveOptions,
    LiveReport,
    LiveSession,
    SegmentBook,
    print_report,
    run_live,
)
from .sources import LatestFrame, SourceChoice, VoiceWorker, choose_source, open_source
from .views import (
    LiveState,
    NullView,
    TerminalView,
    WindowView,
    display_available,
    draw_overlay,
    make_view,
    render_terminal,
    status_lines,
)

__all__ = [
    "GRACE", "LatestFrame", "LiveCsv", "LiveOptions", "LiveReport", "LiveSession", "LiveState", "NullView",
    "SegmentBook", "SourceChoice", "TerminalView", "VoiceWorker", "WindowView", "choose_source",
    "display_available", "draw_overlay", "make_view", "open_source", "print_report", "render_terminal",
    "run_live", "status_lines",
]
