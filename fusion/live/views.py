"""What `emofuse live` shows: the state of a run, and the window, terminal and null views of it."""
from __future__ import annotations

import dataclasses
import os
import sys
import time

import numpy as np

from ..labels import LABELS
from ..types import EmotionScores, FaceBox

# --------------------------------------------------------------------------- the state shown


@dataclasses.dataclass
class LiveState:
    """What the view shows: the newest frame and its faces, the voice, the fused scores, the pace."""

    frame: np.ndarray | None = None
    boxes: list[FaceBox] = dataclasses.field(default_factory=list)
    face_scores: list[EmotionScores] = dataclasses.field(default_factory=list)
    persons: list[str] = dataclasses.field(default_factory=list)  # person id of each box ("" not yet known)
    face: EmotionScores | None = None
    voice: EmotionScores | None = None
    has_voice: bool = False
    fused: EmotionScores | None = None
    elapsed: float = 0.0
    fps: float = 0.0
    delay_ms: float | None = None
    dropped: int = 0


# --------------------------------------------------------------------------- views


def status_lines(state: LiveState) -> list[str]:
    """The text both views show: faces, voice, fused verdict, pace."""
    names = list(state.persons) + [""] * len(state.face_scores)
    faces = ", ".join((f"{who} " if who else "") + f"{s.label} {s.confidence:.0%}"
                      for who, s in zip(names, state.face_scores)) or "no face"
    voice = f"{state.voice.label} {state.voice.confidence:.0%}" if state.voice else "silent"
    voice = voice if state.has_voice else "off"
    fused = f"{state.fused.label} {state.fused.confidence:.0%}" if state.fused else "-"
    delay = f"{state.delay_ms:.0f} ms" if state.delay_ms is not None else "-"
    return [f"faces: {faces}", f"voice: {voice}", f"fused: {fused}",
            f"{state.elapsed:.1f} s  {state.fps:.1f} frames/s  delay {delay}  {state.dropped} dropped"]


class NullView:
    """No display (quiet, or stderr is not a terminal)."""

    def update(self, state: LiveState) -> bool:
        return False

    def message(self, text: str) -> None:
        print(text, file=sys.stderr)

    def close(self) -> None:
        pass


def draw_overlay(state: LiveState) -> np.ndarray:
    """The window's picture (BGR): the frame with face boxes and labels, a panel of fused score bars."""
    import cv2

    if state.frame is not None:
        image = cv2.cvtColor(state.frame, cv2.COLOR_RGB2BGR)
    else:
        image = np.full((360, 480, 3), 40, np.uint8)
    for i, (box, scores) in enumerate(zip(state.boxes, state.face_scores)):
        person = state.persons[i] if i < len(state.persons) and state.persons[i] else ""
        cv2.rectangle(image, (box.x, box.y), (box.x + box.width, box.y + box.height), (0, 220, 0), 2)
        caption = (f"{person} " if person else "") + f"{scores.label} {scores.confidence:.0%}"
        cv2.putText(image, caption, (box.x, max(14, box.y - 6)),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 220, 0), 1, cv2.LINE_AA)
    panel = np.full((max(image.shape[0], 240), 240, 3), 25, np.uint8)
    lines = status_lines(state)
    for i, line in enumerate(lines):
        cv2.putText(panel, line[:34], (8, 18 + 18 * i), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (230, 230, 230), 1, cv2.LINE_AA)
    top = 18 * len(lines) + 14
    values = state.fused.values if state.fused else (0.0,) * len(LABELS)
    for i, (label, value) in enumerate(zip(LABELS, values)):
        y = top + 24 * i
        cv2.putText(panel, label, (8, y + 12), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (230, 230, 230), 1, cv2.LINE_AA)
        cv2.rectangle(panel, (80, y), (80 + int(150 * value), y + 14), (60, 160, 255), -1)
    if image.shape[0] < panel.shape[0]:
        image = np.vstack([image, np.zeros((panel.shape[0] - image.shape[0], image.shape[1], 3), np.uint8)])
    return np.hstack([image, panel])


class WindowView:
    """An OpenCV window; `q` or Esc (or closing the window) ends the run."""

    TITLE = "emofuse live (q to quit)"

    def __init__(self) -> None:
        import cv2

        self._cv2 = cv2
        cv2.namedWindow(self.TITLE, cv2.WINDOW_AUTOSIZE)  # cv2.error without a GUI backend
        cv2.imshow(self.TITLE, np.zeros((240, 320, 3), np.uint8))  # fails here, not mid-run
        cv2.waitKey(1)
        self._shown = False

    def update(self, state: LiveState) -> bool:
        cv2 = self._cv2
        cv2.imshow(self.TITLE, draw_overlay(state))
        key = cv2.waitKey(1) & 0xFF
        if self._shown and cv2.getWindowProperty(self.TITLE, cv2.WND_PROP_VISIBLE) < 1:
            return True
        self._shown = True
        return key in (ord("q"), ord("Q"), 27)

    def message(self, text: str) -> None:
        print(text, file=sys.stderr)

    def close(self) -> None:
        try:
            self._cv2.destroyWindow(self.TITLE)
            self._cv2.waitKey(1)
        except Exception:
            pass


class _Keys:
    """Reads single key presses from a terminal without Enter (POSIX only; elsewhere Ctrl-C only)."""

    def __init__(self) -> None:
        self._fd, self._saved = None, None
        try:
            import termios
            import tty

            if sys.stdin.isatty():
                self._fd = sys.stdin.fileno()
                self._saved = termios.tcgetattr(self._fd)
                tty.setcbreak(self._fd)
        except Exception:
            self._fd = None

    def quit_pressed(self) -> bool:
        if self._fd is None:
            return False
        import select

        if not select.select([self._fd], [], [], 0)[0]:
            return False
        keys = os.read(self._fd, 32)
        return any(k in keys for k in (b"q", b"Q", b"\x1b"))

    def close(self) -> None:
        if self._fd is not None and self._saved is not None:
            import termios

            termios.tcsetattr(self._fd, termios.TCSADRAIN, self._saved)


def render_terminal(state: LiveState):
    """The terminal view's contents: the status lines and a bar per fused score."""
    from rich.table import Table

    table = Table.grid(padding=(0, 1))
    for line in status_lines(state):
        table.add_row(line, "")
    values = state.fused.values if state.fused else (0.0,) * len(LABELS)
    for label, value in zip(LABELS, values):
        table.add_row(f"  {label:<8}", "[cyan]" + "█" * int(round(30 * value)) + f"[/] {value:.0%}")
    table.add_row("[dim]q, Esc or Ctrl-C to stop[/]", "")
    return table


class TerminalView:
    """A rich Live view on stderr, refreshed a few times a second."""

    def __init__(self, refresh: float = 0.2) -> None:
        from rich.live import Live

        from ..cli.console import stderr_console

        self._live = Live(render_terminal(LiveState()), console=stderr_console(), auto_refresh=False, transient=False)
        self._live.start()
        self._keys = _Keys()
        self._refresh, self._last = refresh, 0.0

    def update(self, state: LiveState) -> bool:
        now = time.monotonic()
        if now - self._last >= self._refresh:
            self._last = now
            self._live.update(render_terminal(state), refresh=True)
        return self._keys.quit_pressed()

    def message(self, text: str) -> None:
        self._live.console.print(text, markup=False, highlight=False)

    def close(self) -> None:
        self._keys.close()
        self._live.stop()


def display_available() -> bool:
    """False on Linux/BSD without an X11 or Wayland display (OpenCV would abort trying)."""
    if sys.platform.startswith(("win", "darwin")):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def make_view(window: bool, quiet: bool):
    """A window when asked for and possible, else a terminal view (unless quiet or not a TTY), else nothing."""
    if window and display_available():
        try:
            return WindowView()
        except Exception:
            pass
    if not quiet and sys.stderr.isatty():
        return TerminalView()
    return NullView()
