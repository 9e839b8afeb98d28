"""One `emofuse live` run: routing frames and voice verdicts to segments, the CSV, the main loop.

Times in the CSV are seconds since the start of the run; sources stamp frames with
`time.monotonic()`.
"""
from __future__ import annotations

import collections
import csv
import dataclasses
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..errors import EmofuseError
from ..runner import Pipeline, _check_score_list
from ..threads import quiet_blas
from ..tracking import FaceTracker
from ..table import COLUMNS, segment_row
from ..types import EmotionScores, FaceEvidence, SegmentResult, VoiceEvidence, scores_of
from .people import LivePersons
from .sources import (
    LatestFrame,
    SourceChoice,
    VoiceWorker,
    _close_quietly,
    _describe,
    _source_name,
    merge_voice,
    open_source,
)
from .views import LiveState, NullView, make_view

#: How long a finished segment stays open for late frames and voice results before its row is written.
GRACE = 0.25


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
    voices: list[EmotionScores | VoiceEvidence] = dataclasses.field(default_factory=list)
    errors: list[str] = dataclasses.field(default_factory=list)
    speech: list[float] = dataclasses.field(default_factory=list)  # the voice thread's speech share, tick by tick


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
        face = EmotionScores.mean(pending.faces)
        evidence = [v if isinstance(v, VoiceEvidence) else VoiceEvidence(v) for v in pending.voices]
        voice = merge_voice(evidence, pending.speech)
        errors = list(pending.errors)
        fused = self.fuse(face, voice, errors)
        start = self.next * self.segment
        self.next += 1
        speech = round(float(np.mean(pending.speech)), 3) if pending.speech else None
        self.emit(SegmentResult(start, max(start, end), face, scores_of(voice), fused, pending.most,
                                tuple(dict.fromkeys(errors)), voice_speech=speech))


# --------------------------------------------------------------------------- the session


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
    short_voice: int = 0  # voice verdicts on a shorter window than the classifier's (speech just begun)
    reconnects: int = 0  # times a lost camera came back

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
        self._tracker: FaceTracker | None = None  # made with the first frame, once the detector exists
        self._persons: LivePersons | None = None

    # -- components ----------------------------------------------------------------------------

    def _fuse(self, face, voice, errors: list[str]) -> EmotionScores | None:
        """Fuse a segment's (or the moment's) mean face scores and voice scores or evidence."""
        return self.pipeline.fuse(FaceEvidence(face) if face is not None else None,
                                  VoiceEvidence(voice) if isinstance(voice, EmotionScores) else voice, errors)

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
            if p.options.persons:
                self._persons = LivePersons(p)
        if self.audio is not None:
            p.audio_classifier, p.voice_activity
        p.fusion
        try:  # warm-up: the first call of a compiled model is slow (Silero's: ~1.7 s)
            if self.audio is not None:  # at the source's rate: resampling has a first call too
                rate = int(self.audio.sample_rate)
                noise = (0.1 * np.random.default_rng(0).standard_normal(rate)).astype(np.float32)
                p.voice_activity.speech(noise, rate)
                p.classify_voice(noise, rate, [])
            if self.video is not None:
                p.face_detector.detect(np.zeros((240, 320, 3), np.uint8))
                p.visual_classifier.classify([np.zeros((64, 64, 3), np.uint8)])
                if self._persons is not None:
                    self._persons.embedder.embed([np.full((80, 80, 3), 128, np.uint8)])
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
            with quiet_blas():
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
                report.short_voice = voice.short
            report.elapsed = end
            self._book.finish(end)
            if self._persons is not None:
                self._persons.close()
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
                for event, detail in worker.notices():
                    self._source_notice(kind, worker, event, detail, alive)
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
        if self._tracker is None:
            self._tracker = p.face_tracker()
        boxes = p.find_faces(self._tracker, stamp, frame, errors) or []
        boxes = [b for b in boxes if b.crop(frame).size]
        scores: list[EmotionScores] = []
        if boxes:
            crops = [b.crop(frame) for b in boxes]
            scores = p._guard("visual_classifier", errors,
                              lambda: _check_score_list(p.visual_classifier.classify(crops), len(crops))) or []
        face = EmotionScores.mean(scores)
        self.state.frame, self.state.boxes, self.state.face_scores = frame, boxes if scores else [], scores
        self.state.persons = self._persons.ids(stamp, frame, boxes, errors) if self._persons and scores else []
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
        for at, evidence, speech, errors in results:
            pending = self._book.at(at - self._t0)
            if evidence is not None:
                pending.voices.append(evidence)
            pending.speech.append(speech)
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
        self._source_failed(kind, worker, worker.error, alive)

    def _source_failed(self, kind: str, worker, error: BaseException, alive: dict, retry: str = "") -> None:
        name = _source_name(worker.source, "camera" if kind == "video" else "microphone")
        reason = _describe(error)
        text = reason if reason.startswith(name) else f"{name}: {reason}"
        self.report.failures.append(text)
        self._book.at(time.monotonic() - self._t0).errors.append(f"{kind} source failed: {text}")
        if kind == "video":
            self.state.frame, self.state.boxes, self.state.face_scores, self.state.face = None, [], [], None
        else:
            self.state.voice, self.state.has_voice = None, False
        going_on = " and ".join("the camera" if k == "video" else "the microphone" for k in alive if k != kind)
        self.message(f"emofuse: error: {text}" + (f"; going on with {going_on}" if going_on else "") + retry)

    def _source_notice(self, kind: str, worker, event: str, detail, alive: dict) -> None:
        """A device lost while it is being reopened ("lost"), or back ("back", seconds away)."""
        if event == "lost":
            every = float(getattr(worker.source, "reconnect", 0) or 0)
            self._source_failed(kind, worker, detail, alive, f"; reopening it every {every:g} s")
        elif event == "back":
            self.report.reconnects += 1
            name = _source_name(worker.source, "camera" if kind == "video" else "microphone")
            self.message(f"emofuse: {name}: back after {detail:.1f} s")

    def _update_pace(self) -> None:
        s, r = self.state, self.report
        s.elapsed = time.monotonic() - self._t0
        s.fps = r.processed / s.elapsed if s.elapsed > 0 else 0.0
        s.delay_ms = 1000 * r.delays[-1] if r.delays else None
        s.dropped = self._grabber.dropped if self._grabber else 0


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

    from ..cli.console import stderr_console

    console = stderr_console()
    target = f" -> {escape(str(output))}" if output else ""
    console.print(f"[bold]live[/]: {report.segments} segments (face in {report.face_segments}, "
                  f"voice in {report.voice_segments}){target}")
    if report.processed:
        median = report.delay(50)
        console.print(f"  {report.fps:.1f} frames/s analysed, {report.dropped} dropped; "
                      f"capture-to-label delay {1000 * median:.0f} ms (median)")
    if report.short_voice:
        console.print(f"  {report.short_voice} voice labels on a shorter window than the classifier's (speech just begun)")
    if report.reconnects:
        console.print(f"  the camera came back {report.reconnects} time(s) after a drop")
