"""`emofuse live`: faces from a camera and the voice from a microphone, classified as they come.

- A capture thread keeps only the newest frame: when classifying is slower than the camera,
  frames are dropped, never queued, so the label is always about what is in front of the
  camera now.
- A voice thread classifies the last `min_window` seconds of sound a few times a second.
- The main thread classifies the faces of each frame it gets (one batched call), fuses them
  with the latest voice, updates the view and writes one CSV row per segment (flushed at once).

Times in the CSV are seconds since the start of the run; sources stamp frames with
`time.monotonic()`.
"""
from __future__ import annotations

import collections
import csv
import dataclasses
import math
import os
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .audio import is_silent
from .components import AudioSource, VideoSource
from .errors import EmofuseError, MediaError
from .labels import LABELS
from .runner import Pipeline, _BoxCarry, _check_boxes, _check_score_list, _check_scores
from .table import COLUMNS, segment_row
from .types import EmotionScores, FaceBox, SegmentResult

#: How long a finished segment stays open for late frames and voice results before its row is written.
GRACE = 0.25


# --------------------------------------------------------------------------- choosing sources


@dataclasses.dataclass(frozen=True)
class SourceChoice:
    """Which media source plugin to create (`name`), for what `device`, with which options."""

    name: str
    device: Any
    options: Mapping[str, Any] = dataclasses.field(default_factory=dict)


def choose_source(media: str, device: Any, name: str | None = None,
                  options: Mapping[str, Any] | None = None) -> SourceChoice:
    """--camera / --mic value -> source: a number is a device, a path a file standing in for one.

    Video: 0 -> camera 0, /dev/video2 or rtsp://... -> camera, anything else -> video-file.
    Audio: 1 -> microphone 1, "default" -> the default microphone, a path (a suffix, a folder
    separator, or an existing file) -> audio-file, anything else -> a microphone by name.
    `name` (--camera-source / --mic-source) overrides the guess.
    """
    text = "" if device is None else str(device).strip()
    options = dict(options or {})
    if name:
        return SourceChoice(name, int(text) if text.isdigit() else (device if device is not None else None), options)
    if text.isdigit():
        return SourceChoice("camera" if media == "video" else "microphone", int(text), options)
    if media == "video":
        camera = text.startswith("/dev/") or "://" in text
        return SourceChoice("camera" if camera else "video-file", text, options)
    if text.lower() in ("", "default"):
        return SourceChoice("microphone", None, options)
    path_like = bool(Path(text).suffix) or os.sep in text or Path(text).exists()
    return SourceChoice("audio-file" if path_like else "microphone", text, options)


def open_source(components, media: str, choice: SourceChoice):
    """Create the media source plugin `choice.name`; it must deliver `media` ("video" or "audio")."""
    source = components["media_source"].create(choice.name, device=choice.device, **dict(choice.options))
    protocol = VideoSource if media == "video" else AudioSource
    if getattr(source, "media", None) != media or not isinstance(source, protocol):
        _close_quietly(source)
        flag = "--camera-source" if media == "video" else "--mic-source"
        raise EmofuseError(f"media source {choice.name!r} gives {getattr(source, 'media', '?')}, "
                           f"not {media}: it cannot be used with {flag}")
    return source


def _close_quietly(source) -> None:
    try:
        source.close()
    except Exception:
        pass


def _describe(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, EmofuseError) else f"{type(exc).__name__}: {exc}"


def _source_name(source, fallback: str) -> str:
    return str(getattr(source, "name", "") or fallback)


# --------------------------------------------------------------------------- capture threads


class _SourceThread:
    """Reads a source on a daemon thread (`_work`); `error` holds what stopped it, `ended` says it stopped."""

    thread_name = "emofuse-source"
    join_timeout = 2.0

    def __init__(self, source) -> None:
        self.source = source
        self.error: BaseException | None = None
        self.ended = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)

    def _work(self) -> None:
        raise NotImplementedError

    def _run(self) -> None:
        try:
            self._work()
        except BaseException as exc:  # the device failed: report it, the other modality goes on
            self.error = exc
        finally:
            self._finish()

    def _finish(self) -> None:
        self.ended = True

    def stop(self) -> bool:
        """Stop reading; True when the thread has ended (only then may the source be closed)."""
        self._stop.set()
        self._thread.join(timeout=self.join_timeout)
        return not self._thread.is_alive()


class LatestFrame(_SourceThread):
    """Reads a video source on its own thread and keeps only the newest frame.

    `get()` hands out each frame at most once; a frame replaced before anyone took it counts
    in `dropped`.
    """

    thread_name = "emofuse-video"

    def __init__(self, source) -> None:
        super().__init__(source)
        self.captured = self.dropped = 0
        self._item: tuple[float, np.ndarray] | None = None
        self._cond = threading.Condition()

    def start(self) -> LatestFrame:
        self._thread.start()
        return self

    def _work(self) -> None:
        while not self._stop.is_set():
            item = self.source.read()
            if item is None:
                return
            with self._cond:
                if self._item is not None:
                    self.dropped += 1
                self._item = item
                self.captured += 1
                self._cond.notify_all()

    def _finish(self) -> None:
        with self._cond:
            self.ended = True
            self._cond.notify_all()

    def get(self, timeout: float) -> tuple[float, np.ndarray] | None:
        """The newest frame not handed out yet, waiting up to `timeout` seconds; None if none came."""
        with self._cond:
            self._cond.wait_for(lambda: self._item is not None or self.ended, timeout)
            item, self._item = self._item, None
            return item


class VoiceWorker(_SourceThread):
    """Classifies the last `window` seconds of an audio source every `every` seconds, on its own thread.

    Results `(monotonic time, scores or None, errors)` pile up until `take()` collects them;
    `current` is the latest verdict (None: silence or nothing yet).
    """

    thread_name = "emofuse-voice"
    join_timeout = 5.0

    def __init__(self, source, pipeline: Pipeline, window: float, own: float, every: float) -> None:
        super().__init__(source)
        self.pipeline = pipeline
        self.window, self.own, self.every = window, own, every
        self.current: EmotionScores | None = None
        self._results: list[tuple[float, EmotionScores | None, list[str]]] = []
        self._lock = threading.Lock()

    def start(self) -> VoiceWorker:
        try:
            self.source.start()
        except Exception as exc:
            name = _source_name(self.source, "microphone")
            raise MediaError(f"{name}: cannot start it: {_describe(exc)}") from None
        self._thread.start()
        return self

    def _work(self) -> None:
        due = time.monotonic()
        while not self._stop.wait(max(0.0, due - time.monotonic())):
            due = max(due + self.every, time.monotonic())
            samples = self.source.latest(self.window)
            if samples is None:
                return
            at, errors = time.monotonic(), []
            scores = self.classify(np.asarray(samples, dtype=np.float32), errors)
            with self._lock:
                self._results.append((at, scores, errors))
                self.current = scores

    def classify(self, samples: np.ndarray, errors: list[str]) -> EmotionScores | None:
        rate = int(self.source.sample_rate)
        if is_silent(samples[-max(1, int(self.own * rate)):], self.pipeline.options.silence_db):
            return None

        def call():
            features = self.pipeline.audio_features.extract(samples, rate)
            return _check_scores(self.pipeline.audio_classifier.classify(features), True)

        return self.pipeline._guard("audio_classifier", errors, call)

    def take(self) -> list[tuple[float, EmotionScores | None, list[str]]]:
        with self._lock:
            out, self._results = self._results, []
        return out


# --------------------------------------------------------------------------- segments and the CSV


class LiveCsv:
    """The `emofuse analyze` CSV schema, written row by row and flushed after each one."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if self.path.is_dir():
            raise EmofuseError(f"{self.path}: is a folder; give -o a .csv file")
        if self.path.suffix.lower() != ".csv":
            raise EmofuseError(f"{self.path}: live mode writes CSV only; give -o a name ending in .csv")
        if not self.path.parent.is_dir():
            raise EmofuseError(f"{self.path}: the folder {self.path.parent} does not exist")
        try:
            self._file = open(self.path, "w", newline="", encoding="utf-8")
        except OSError as exc:
            raise EmofuseError(f"{self.path}: cannot write it ({exc.strerror})") from None
        self._csv = csv.writer(self._file, lineterminator="\n")
        self._write(COLUMNS)

    def _write(self, values) -> None:
        self._csv.writerow(values)
        self._file.flush()

    def write(self, segment: SegmentResult) -> None:
        row = segment_row(segment)
        self._write(["" if isinstance(v, float) and math.isnan(v) else v for v in (row[c] for c in COLUMNS)])

    def close(self) -> None:
        self._file.close()


@dataclasses.dataclass
class _Pending:
    """What one segment has gathered so far."""

    faces: list[EmotionScores] = dataclasses.field(default_factory=list)
    most: int = 0
    voices: list[EmotionScores] = dataclasses.field(default_factory=list)
    errors: list[str] = dataclasses.field(default_factory=list)


class SegmentBook:
    """Routes frames and voice verdicts to their segment by time and closes segments in order."""

    def __init__(self, segment: float, fuse: Callable[..., EmotionScores | None],
                 emit: Callable[[SegmentResult], None]) -> None:
        """`fuse(face, voice, errors)` gives a segment's fused scores; `emit(result)` writes its row."""
        self.segment, self.fuse, self.emit = segment, fuse, emit
        self.next = 0  # index of the oldest segment not written yet
        self._open: dict[int, _Pending] = {}

    def at(self, t: float) -> _Pending:
        """The segment of time `t` (seconds since the start); an already written one gives the oldest open one."""
        index = max(self.next, int(max(0.0, t) // self.segment))
        return self._open.setdefault(index, _Pending())

    def close_until(self, t: float) -> None:
        """Write every segment that ends at or before `t`."""
        while (self.next + 1) * self.segment <= t + 1e-9:
            self._close((self.next + 1) * self.segment)

    def finish(self, end: float) -> None:
        """Write what is left up to `end`: the last segment may be shorter; later data is dropped."""
        self.close_until(end)
        if end - self.next * self.segment > 1e-6:
            self._close(end)
        self._open.clear()

    def _close(self, end: float) -> None:
        pending = self._open.pop(self.next, _Pending())
        face, voice = EmotionScores.mean(pending.faces), EmotionScores.mean(pending.voices)
        errors = list(pending.errors)
        fused = self.fuse(face, voice, errors)
        start = self.next * self.segment
        self.next += 1
        self.emit(SegmentResult(start, max(start, end), face, voice, fused, pending.most, tuple(dict.fromkeys(errors))))


# --------------------------------------------------------------------------- the session


@dataclasses.dataclass
class LiveState:
    """What the view shows: the newest frame and its faces, the voice, the fused scores, the pace."""

    frame: np.ndarray | None = None
    boxes: list[FaceBox] = dataclasses.field(default_factory=list)
    face_scores: list[EmotionScores] = dataclasses.field(default_factory=list)
    face: EmotionScores | None = None
    voice: EmotionScores | None = None
    has_voice: bool = False
    fused: EmotionScores | None = None
    elapsed: float = 0.0
    fps: float = 0.0
    delay_ms: float | None = None
    dropped: int = 0


@dataclasses.dataclass
class LiveReport:
    """How a run went: rows written, frame pace, capture-to-label delays (seconds), failures."""

    segments: int = 0
    face_segments: int = 0
    voice_segments: int = 0
    elapsed: float = 0.0
    captured: int = 0
    processed: int = 0
    dropped: int = 0
    delays: collections.deque = dataclasses.field(default_factory=lambda: collections.deque(maxlen=100_000))
    failures: list[str] = dataclasses.field(default_factory=list)
    stopped_by: str = ""

    @property
    def fps(self) -> float:
        return self.processed / self.elapsed if self.elapsed > 0 else 0.0

    def delay(self, percentile: float = 50) -> float | None:
        return float(np.percentile(list(self.delays), percentile)) if self.delays else None


class LiveSession:
    """One live run: `run()` blocks until `duration`, the user quits, or every source has ended."""

    def __init__(self, pipeline: Pipeline, video=None, audio=None, *, duration: float | None = None,
                 on_segment: Callable[[SegmentResult], None] | None = None, view=None,
                 message: Callable[[str], None] | None = None, voice_every: float = 0.25) -> None:
        if video is None and audio is None:
            raise EmofuseError("nothing to watch: no camera and no microphone")
        self.pipeline, self.video, self.audio = pipeline, video, audio
        self.segment = pipeline.options.segment
        self.duration = duration
        self.on_segment = on_segment
        self.view = view or NullView()
        self.message = message or (lambda text: print(text, file=sys.stderr))
        self.voice_every = min(voice_every, self.segment)
        self.report = LiveReport()
        self.state = LiveState(has_voice=audio is not None)
        self._book = SegmentBook(self.segment, self._fuse, self._emit)
        self._t0 = 0.0
        self._prepared = self.started = False
        self._grabber: LatestFrame | None = None
        self._boxes = _BoxCarry(pipeline.options.detect_fps)  # --detect-fps: reuse boxes in between

    # -- components ----------------------------------------------------------------------------

    def _fuse(self, face, voice, errors: list[str]) -> EmotionScores | None:
        fusion = self.pipeline.fusion
        return self.pipeline._guard("fusion", errors, lambda: _check_scores(fusion.fuse(face, voice), True))

    def _emit(self, result: SegmentResult) -> None:
        self.report.segments += 1
        self.report.face_segments += result.face is not None
        self.report.voice_segments += result.voice is not None
        if self.on_segment:
            self.on_segment(result)

    def prepare(self) -> None:
        """Build the components now (and run them once), so the first frames are not late."""
        if self._prepared:
            return
        self._prepared = True
        p = self.pipeline
        if self.video is not None:
            p.face_detector, p.visual_classifier
        if self.audio is not None:
            p.audio_classifier
        p.fusion
        try:  # warm-up: the first call of a compiled model is slow
            if self.video is not None:
                p.face_detector.detect(np.zeros((240, 320, 3), np.uint8))
                p.visual_classifier.classify([np.zeros((64, 64, 3), np.uint8)])
        except Exception:
            pass

    # -- the loop ------------------------------------------------------------------------------

    def run(self) -> LiveReport:
        self.prepare()
        self.started = True
        p, report = self.pipeline, self.report
        window = max(float(getattr(p.audio_classifier, "min_window", 0.0) or 0.0), self.segment) if self.audio else 0.0
        self._t0 = time.monotonic()
        grabber = voice = None
        try:
            if self.audio is not None:
                voice = VoiceWorker(self.audio, p, window, self.segment, self.voice_every).start()
            if self.video is not None:
                grabber = self._grabber = LatestFrame(self.video).start()
            report.stopped_by = self._loop(grabber, voice)
        except KeyboardInterrupt:
            report.stopped_by = "interrupted"
        finally:
            end = time.monotonic() - self._t0
            if self.duration is not None:
                end = min(end, self.duration)
            if grabber is not None:  # counted before stopping: what the run itself saw
                report.captured, report.dropped = grabber.captured, grabber.dropped
            for source, worker in ((self.video, grabber), (self.audio, voice)):
                if source is not None and (worker is None or worker.stop()):
                    _close_quietly(source)  # never release a device another thread is still reading
            if voice is not None:
                self._take_voice(voice)
            report.elapsed = end
            self._book.finish(end)
        return report

    def _loop(self, grabber: LatestFrame | None, voice: VoiceWorker | None) -> str:
        alive = {"video": grabber, "audio": voice}
        alive = {k: v for k, v in alive.items() if v is not None}
        while True:
            now = time.monotonic() - self._t0
            if self.duration is not None and now >= self.duration:
                return "duration"
            changed = False
            if grabber is not None and "video" in alive:
                item = grabber.get(timeout=0.02)
                if item is not None:
                    self._on_frame(*item)
                    changed = True
            else:
                time.sleep(0.02)
            if voice is not None and self._take_voice(voice):
                changed = True
            for kind, worker in list(alive.items()):
                if worker.ended:
                    del alive[kind]
                    self._source_stopped(kind, worker, alive)
            if not alive:
                return "ended"
            if changed:
                self._refresh_fused()
            self._book.close_until(time.monotonic() - self._t0 - GRACE)
            self._update_pace()
            if self.view.update(self.state):
                return "user"

    def _on_frame(self, stamp: float, frame: np.ndarray) -> None:
        p, errors = self.pipeline, []
        boxes = self._boxes.boxes(stamp, lambda: p._guard(
            "face_detector", errors, lambda: _check_boxes(p.face_detector.detect(frame)))) or []
        boxes = [b for b in boxes if b.crop(frame).size]
        scores: list[EmotionScores] = []
        if boxes:
            crops = [b.crop(frame) for b in boxes]
            scores = p._guard("visual_classifier", errors,
                              lambda: _check_score_list(p.visual_classifier.classify(crops), len(crops))) or []
        face = EmotionScores.mean(scores)
        self.state.frame, self.state.boxes, self.state.face_scores = frame, boxes if scores else [], scores
        self.state.face = face
        self._refresh_fused(errors)
        self.report.delays.append(time.monotonic() - stamp)
        self.report.processed += 1
        pending = self._book.at(stamp - self._t0)
        pending.faces.extend(scores)
        pending.most = max(pending.most, len(boxes))
        pending.errors.extend(errors)

    def _take_voice(self, voice: VoiceWorker) -> bool:
        results = voice.take()
        for at, scores, errors in results:
            pending = self._book.at(at - self._t0)
            if scores is not None:
                pending.voices.append(scores)
            pending.errors.extend(errors)
        if results:
            self.state.voice = voice.current
        return bool(results)

    def _refresh_fused(self, errors: list[str] | None = None) -> None:
        errors = [] if errors is None else errors
        self.state.fused = self._fuse(self.state.face, self.state.voice, errors)

    def _source_stopped(self, kind: str, worker, alive: dict) -> None:
        if worker.error is None:
            return  # a file standing in for a device came to its end
        name = _source_name(worker.source, "camera" if kind == "video" else "microphone")
        reason = _describe(worker.error)
        text = reason if reason.startswith(name) else f"{name}: {reason}"
        self.report.failures.append(text)
        self._book.at(time.monotonic() - self._t0).errors.append(f"{kind} source failed: {text}")
        if kind == "video":
            self.state.frame, self.state.boxes, self.state.face_scores, self.state.face = None, [], [], None
        else:
            self.state.voice, self.state.has_voice = None, False
        going_on = " and ".join("the camera" if k == "video" else "the microphone" for k in alive)
        self.message(f"emofuse: error: {text}" + (f"; going on with {going_on}" if going_on else ""))

    def _update_pace(self) -> None:
        s, r = self.state, self.report
        s.elapsed = time.monotonic() - self._t0
        s.fps = r.processed / s.elapsed if s.elapsed > 0 else 0.0
        s.delay_ms = 1000 * r.delays[-1] if r.delays else None
        s.dropped = self._grabber.dropped if self._grabber else 0


# --------------------------------------------------------------------------- views


def status_lines(state: LiveState) -> list[str]:
    """The text both views show: faces, voice, fused verdict, pace."""
    faces = ", ".join(f"{s.label} {s.confidence:.0%}" for s in state.face_scores) or "no face"
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
    for box, scores in zip(state.boxes, state.face_scores):
        cv2.rectangle(image, (box.x, box.y), (box.x + box.width, box.y + box.height), (0, 220, 0), 2)
        cv2.putText(image, f"{scores.label} {scores.confidence:.0%}", (box.x, max(14, box.y - 6)),
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

        from .cli.console import stderr_console

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


# --------------------------------------------------------------------------- putting it together


@dataclasses.dataclass(frozen=True)
class LiveOptions:
    """Where the frames and the sound come from, how long, where the rows go, what to show."""

    camera: SourceChoice | None = None
    mic: SourceChoice | None = None
    duration: float | None = None
    output: Path | None = None
    window: bool = True
    quiet: bool = False

    def __post_init__(self) -> None:
        if self.duration is not None and not self.duration > 0:
            raise EmofuseError(f"--duration must be > 0 seconds, got {self.duration}")


def run_live(pipeline: Pipeline, options: LiveOptions, view=None) -> LiveReport:
    """Open the sources and the CSV, run until the end, and always close and flush everything."""
    components = pipeline.components
    opened = []
    writer = session = None
    try:
        video = open_source(components, "video", options.camera) if options.camera and pipeline.options.video else None
        if video is not None:
            opened.append(video)
        audio = open_source(components, "audio", options.mic) if options.mic and pipeline.options.audio else None
        if audio is not None:
            opened.append(audio)
        writer = LiveCsv(options.output) if options.output else None
        session = LiveSession(pipeline, video, audio, duration=options.duration,
                              on_segment=writer.write if writer else None)
        session.prepare()
        view = view or make_view(options.window, options.quiet)
        session.view, session.message = view, view.message
        try:
            return session.run()
        finally:
            view.close()
    finally:
        if writer is not None:
            writer.close()
        for source in opened:
            if session is None or not session.started:  # a started session closes what it safely can
                _close_quietly(source)


def print_report(report: LiveReport, output: Path | None) -> None:
    """`live: 12 segments (face in 10, voice in 8) -> live.csv` and the pace, on stderr."""
    from rich.markup import escape

    from .cli.console import stderr_console

    console = stderr_console()
    target = f" -> {escape(str(output))}" if output else ""
    console.print(f"[bold]live[/]: {report.segments} segments (face in {report.face_segments}, "
                  f"voice in {report.voice_segments}){target}")
    if report.processed:
        median = report.delay(50)
        console.print(f"  {report.fps:.1f} frames/s analysed, {report.dropped} dropped; "
                      f"capture-to-label delay {1000 * median:.0f} ms (median)")
