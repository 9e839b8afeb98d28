"""Where `emofuse live` gets its input: choosing and opening media sources, and the threads that read them.

`LatestFrame` keeps only the newest camera frame (frames are dropped, never queued) and opens a
network camera again when it drops; `VoiceWorker` runs the voice-activity detector on the sound
as it comes and classifies the speech of the last seconds a few times a second.
"""
from __future__ import annotations

import collections
import dataclasses
import os
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..audio import is_silent, rms_db
from ..components import AudioSource, VideoSource
from ..errors import EmofuseError, MediaError
from ..runner import Pipeline
from ..types import EmotionScores, VoiceEvidence
from ..voice_side import SPEECH_PROBABILITY, _takes_start

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
        self._notices: list[tuple[str, Any]] = []
        self._notices_lock = threading.Lock()

    def _notice(self, event: str, detail: Any) -> None:
        with self._notices_lock:
            self._notices.append((event, detail))

    def notices(self) -> list[tuple[str, Any]]:
        """What happened to the device since the last call: ("lost", exception) when it failed and
        is being reopened, ("back", seconds it was away) when it delivers again."""
        with self._notices_lock:
            out, self._notices = self._notices, []
        return out

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
    in `dropped`. A source with `reconnect` > 0 seconds and a `reopen()` method (a network
    camera) that fails is opened again that often until it delivers or the run stops; `notices()`
    tells the loss and the return.
    """

    thread_name = "emofuse-video"

    def __init__(self, source) -> None:
        super().__init__(source)
        self.captured = self.dropped = self.lost = 0
        self._item: tuple[float, np.ndarray] | None = None
        self._cond = threading.Condition()
        self._lost_at: float | None = None

    def start(self) -> LatestFrame:
        self._thread.start()
        return self

    def _work(self) -> None:
        while not self._stop.is_set():
            try:
                item = self.source.read()
            except Exception as exc:
                if not self._reconnect(exc):
                    raise
                continue
            if item is None:
                return
            if self._lost_at is not None:
                self._notice("back", time.monotonic() - self._lost_at)
                self._lost_at = None
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

    def _reconnect(self, exc: BaseException) -> bool:
        """After a failed read: reopen the source every `reconnect` s until it opens (True) or the run
        stops (True: the loop ends by itself); False when this source cannot be reopened."""
        every = float(getattr(self.source, "reconnect", 0) or 0)
        if every <= 0 or not callable(getattr(self.source, "reopen", None)):
            return False
        if self._lost_at is None:  # a failure right after a reopen is the same outage
            self._lost_at = time.monotonic()
            self.lost += 1
            self._notice("lost", exc)
        while not self._stop.wait(every):
            try:
                if self.source.reopen():
                    return True
            except Exception:  # still away: try again later
                pass
        return True

    def get(self, timeout: float) -> tuple[float, np.ndarray] | None:
        """The newest frame not handed out yet, waiting up to `timeout` seconds; None if none came."""
        with self._cond:
            self._cond.wait_for(lambda: self._item is not None or self.ended, timeout)
            item, self._item = self._item, None
            return item


#: The shortest window the voice classifier gets while speech has only just begun (seconds).
MIN_VOICE_WINDOW = 0.5
#: Sound kept before the first speech hop of the window (a detector hears an onset a little late).
ONSET_MARGIN = 0.15
#: The voice thread's first look, seconds after the start (then every `every` seconds).
FIRST_TICK = 0.05


class VoiceWorker(_SourceThread):
    """Hears an audio source and classifies its speech every `every` seconds, on its own thread.

    The voice-activity detector (`pipeline.voice_activity`) runs on the sound as it arrives (its
    state carried from call to call). Every `every` seconds, when the last `own` seconds are at
    least `min_speech` speech (and not silent), the classifier gets the last `window` seconds —
    or, while speech has only just begun, only the sound since its first speech hop (at least
    `MIN_VOICE_WINDOW` s): a window of mostly silence is no verdict for most classifiers. Such a
    verdict carries its shorter `window` in its VoiceEvidence, and the fusion trusts it less.

    Results `(monotonic time, VoiceEvidence or None, speech share, errors)` pile up until
    `take()` collects them; `current` is the latest verdict's scores (None: no speech or nothing
    yet). `short` counts the verdicts made on a window shorter than `window`.
    """

    thread_name = "emofuse-voice"
    join_timeout = 5.0

    def __init__(self, source, pipeline: Pipeline, window: float, own: float, every: float,
                 min_speech: float | None = None) -> None:
        super().__init__(source)
        self.pipeline = pipeline
        self.window, self.own, self.every = window, own, every
        self.min_speech = pipeline.options.min_speech if min_speech is None else min_speech
        self.rate = int(source.sample_rate)
        self.current: EmotionScores | None = None
        self.short = 0
        self._results: list[tuple[float, VoiceEvidence | None, float, list[str]]] = []
        self._lock = threading.Lock()
        self._vad = None
        self._streams = False
        self._hops: collections.deque[tuple[float, float]] = collections.deque()  # (a hop's start, s; p)
        self._fed = 0  # samples given to the detector so far
        self._next_hop: float | None = None  # where the detector's next hop starts (s)
        self._next_at = 0.0  # where the audio given to the detector ends (s)
        self._started_at = 0.0

    def start(self) -> VoiceWorker:
        vad = self.pipeline.voice_activity  # built here: a broken detector fails before the run
        self._vad, self._streams = vad, _takes_start(vad.speech)
        try:
            self.source.start()
        except Exception as exc:
            name = _source_name(self.source, "microphone")
            raise MediaError(f"{name}: cannot start it: {_describe(exc)}") from None
        self._started_at = time.monotonic()
        self._thread.start()
        return self

    def heard(self) -> float:
        """Seconds of sound the source has delivered (its own count, else the time since start)."""
        heard = getattr(self.source, "heard", None)
        return float(heard()) if callable(heard) else time.monotonic() - self._started_at

    def _work(self) -> None:
        due = time.monotonic() + min(FIRST_TICK, self.every / 2)  # at 0 nothing has been heard yet
        while not self._stop.wait(max(0.0, due - time.monotonic())):
            due = max(due + self.every, time.monotonic())
            total = int(round(self.heard() * self.rate))
            keep = max(self.window, self.own)
            samples = self.source.latest(max(keep, (total - self._fed) / self.rate))
            if samples is None:
                return
            samples = np.asarray(samples, dtype=np.float32)
            at, errors = time.monotonic(), []
            evidence, speech = self.hear(samples, total, errors)
            with self._lock:
                self._results.append((at, evidence, speech, errors))
                self.current = evidence.scores if evidence is not None else None

    def hear(self, samples: np.ndarray, total: int, errors: list[str]) -> tuple[VoiceEvidence | None, float]:
        """`samples`: the newest sound, ending at sample `total` since start. Feeds the detector
        what it has not heard yet; returns (voice evidence or None, speech share of the last `own` s)."""
        new = min(samples.size, max(0, total - self._fed))
        if new:
            self._detect(samples[samples.size - new:], total - new, errors)
        self._fed = max(self._fed, total)
        now = total / self.rate
        while self._hops and self._hops[0][0] < now - max(self.window, self.own):
            self._hops.popleft()
        own = samples[-max(1, min(samples.size, total, int(self.own * self.rate))):]
        if total == 0 or is_silent(own, self.pipeline.options.silence_db):
            return None, 0.0
        recent = [p for t, p in self._hops if t >= now - self.own]
        speech = float(np.mean(np.asarray(recent) >= SPEECH_PROBABILITY)) if recent else 0.0
        if speech == 0.0 or speech < self.min_speech:
            return None, speech
        onset = next(t for t, p in self._hops if p >= SPEECH_PROBABILITY) - ONSET_MARGIN
        length = min(self.window, max(MIN_VOICE_WINDOW, now - onset), now)
        window = samples[-max(1, min(samples.size, int(round(length * self.rate)))):]
        scores = self.pipeline.classify_voice(window, self.rate, errors)
        if scores is None:
            return None, speech
        seconds = window.size / self.rate
        self.short += seconds < self.window - 1e-3
        level = rms_db(own)
        return VoiceEvidence(scores, speech=round(speech, 3), level_db=round(level, 2) if np.isfinite(level) else -120.0,
                             window=round(seconds, 3), sample_rate=self.rate), speech

    def _detect(self, chunk: np.ndarray, first: int, errors: list[str]) -> None:
        """Speech probabilities of `chunk` (sample `first` on), kept in `_hops` with their start times.

        A detector that streams (its `speech` takes `start`) keeps its state and the partial hop at
        the end for the next, contiguous, call; its hops follow on from the previous ones."""
        vad, start = self._vad, first / self.rate
        if not (self._streams and self._next_hop is not None and abs(self._next_at - start) < 1e-6):
            self._next_hop = start  # a detector that starts afresh: its hops start with the chunk
        self._next_at = (first + chunk.size) / self.rate
        extra = {"start": start} if self._streams else {}
        p = self.pipeline._guard("voice_activity", errors, lambda: vad.speech(chunk, self.rate, **extra))
        if p is None:
            self._next_hop = None
            return
        p = np.asarray(p, dtype=np.float64).ravel()
        hop = float(getattr(vad, "hop", 0.0) or 0.0) or (chunk.size / self.rate / max(1, p.size))
        for i, value in enumerate(p):
            self._hops.append((self._next_hop + i * hop, float(value)))
        self._next_hop += p.size * hop

    def take(self) -> list[tuple[float, VoiceEvidence | None, float, list[str]]]:
        with self._lock:
            out, self._results = self._results, []
        return out


def merge_voice(verdicts: list[VoiceEvidence], shares: list[float]) -> VoiceEvidence | None:
    """One segment's voice evidence from its verdicts: mean scores, the mean speech share of all its
    ticks (`shares`, verdict or not), the loudest level, the mean window, the source's rate."""
    if not verdicts:
        return None
    scores = EmotionScores.mean([v.scores for v in verdicts])
    speech = float(np.mean(shares)) if shares else float(np.mean([v.speech for v in verdicts]))
    return VoiceEvidence(scores, speech=round(speech, 3), level_db=max(v.level_db for v in verdicts),
                         window=round(float(np.mean([v.window for v in verdicts])), 3),
                         sample_rate=verdicts[-1].sample_rate)
