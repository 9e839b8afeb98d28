"""Where `emofuse live` gets its input: choosing and opening media sources, and the threads that read them.

`LatestFrame` keeps only the newest camera frame (frames are dropped, never queued);
`VoiceWorker` classifies the last seconds of sound a few times a second.
"""
from __future__ import annotations

import dataclasses
import os
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..audio import is_silent
from ..components import AudioSource, VideoSource
from ..errors import EmofuseError, MediaError
from ..runner import Pipeline
from ..types import EmotionScores

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
        return self.pipeline.classify_voice(samples, rate, errors)

    def take(self) -> list[tuple[float, EmotionScores | None, list[str]]]:
        with self._lock:
            out, self._results = self._results, []
        return out
