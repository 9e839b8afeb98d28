"""Walk a media file once, segment by segment, and build its fused emotion timeline."""
from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from .audio import ANALYSIS_SAMPLE_RATE, SILENCE_DB, is_silent
from .errors import EmofuseError, MediaError
from .media import AudioStream, MediaInfo, iter_frames, probe
from .plugin_manager import Components, get_components
from .threads import RunAhead, quiet_blas
from .tracking import FaceTracker
from .types import EmotionScores, FaceBox, SegmentResult, Timeline

#: Component kinds a pipeline is made of, in the order they run.
PIPELINE_KINDS = ("face_detector", "visual_classifier", "audio_features", "audio_classifier", "fusion")


@dataclasses.dataclass(frozen=True)
class AnalysisOptions:
    """How to analyse: segment length, frame sampling, which components (by name) and their options.

    `fps=None` analyses every frame. `detect_fps` runs the full-frame face detection at most that
    often (`math.inf`: on every analysed frame; None: once a second when the detector can track
    faces, else on every analysed frame); on the analysed frames in between, faces are tracked
    (found again near where they were, see `emofuse.tracking`), or with `track=False` their boxes
    reused. Every analysed frame's faces are classified.
    `smooth` ("ema[:N]" or "median[:N]") smooths the scores over N neighbouring segments.
    """

    segment: float = 1.0
    fps: float | None = 4.0
    detect_fps: float | None = None
    track: bool = True
    face_detector: str = "haar"
    visual_classifier: str = "fer-cnn"
    audio_features: str = "mfcc"
    audio_classifier: str = "ravdess-cnn"
    fusion: str = "weighted"
    component_options: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)
    video: bool = True
    audio: bool = True
    silence_db: float = SILENCE_DB
    smooth: str | None = None

    def __post_init__(self) -> None:
        if not self.segment > 0:
            raise EmofuseError(f"--segment must be > 0 seconds, got {self.segment}")
        if self.fps is not None and not self.fps > 0:
            raise EmofuseError(f"--fps must be > 0 (or 'all'), got {self.fps}")
        if self.detect_fps is not None and not self.detect_fps > 0:
            raise EmofuseError(f"--detect-fps must be > 0, got {self.detect_fps}")
        unknown = set(self.component_options) - set(PIPELINE_KINDS)
        if unknown:
            raise EmofuseError(f"options for unknown component kinds {sorted(unknown)}; kinds: {', '.join(PIPELINE_KINDS)}")
        if not (self.video or self.audio):
            raise EmofuseError("nothing to analyse: both the video and the audio are switched off")
        if self.smooth is not None:
            from .smoothing import parse_smoothing

            try:
                parse_smoothing(self.smooth)
            except ValueError as exc:
                raise EmofuseError(f"--smooth: {exc}") from None

    def name_of(self, kind: str) -> str:
        return getattr(self, kind)


class Pipeline:
    """The chosen components, built once (lazily, when first needed) and reused for every file."""

    def __init__(self, options: AnalysisOptions | None = None, components: Components | None = None) -> None:
        self.options = options or AnalysisOptions()
        self.components = components or get_components()
        for kind in PIPELINE_KINDS:  # unknown names fail now, before any decoding
            self.components[kind].get(self.options.name_of(kind))
        self._failed: set[str] = set()

    def _create(self, kind: str):
        name = self.options.name_of(kind)
        return self.components[kind].create(name, **dict(self.options.component_options.get(kind, {})))

    @cached_property
    def face_detector(self):
        return self._create("face_detector")

    @cached_property
    def visual_classifier(self):
        return self._create("visual_classifier")

    @cached_property
    def audio_features(self):
        return self._create("audio_features")

    @cached_property
    def audio_classifier(self):
        classifier = self._create("audio_classifier")
        classifier.check_features(self.audio_features.feature_spec)
        return classifier

    @cached_property
    def fusion(self):
        return self._create("fusion")

    def describe(self) -> dict[str, str]:
        """Kind -> component name (with its options), as recorded in a Timeline."""
        out = {}
        for kind in PIPELINE_KINDS:
            name = self.options.name_of(kind)
            opts = self.options.component_options.get(kind)
            out[kind] = name + (f"({', '.join(f'{k}={v}' for k, v in opts.items())})" if opts else "")
        return out

    def analyze(self, path: str | Path, on_segment: Callable[[SegmentResult, int], None] | None = None,
                info: MediaInfo | None = None) -> Timeline:
        """Analyse one file. `on_segment(result, total)` is called after each segment (for progress)."""
        info = info or probe(path)
        opts = self.options
        use_video, use_audio = opts.video and info.has_video, opts.audio and info.has_audio
        if not (use_video or use_audio):
            wanted = "video" if opts.video else "audio"
            raise MediaError(f"{info.path}: has no {wanted} stream to analyse")
        if use_video:
            self.face_detector, self.visual_classifier  # build now: a broken component fails before decoding
        if use_audio:
            self.audio_classifier
        self.fusion
        bounds = segment_bounds(info.duration, opts.segment)
        total = len(bounds)
        segments: list[SegmentResult] = []
        with contextlib.ExitStack() as stack:
            stack.enter_context(quiet_blas())
            # the frame side (decoding, detection, crops) runs on its own thread, a segment or
            # two ahead of the rest (emofuse.threads); the audio is decoded by ffmpeg as read
            found = (stack.enter_context(RunAhead(self._segment_faces(info, bounds), depth=2, name="emofuse-faces"))
                     if use_video else None)
            audio = stack.enter_context(AudioStream(info.path, ANALYSIS_SAMPLE_RATE)) if use_audio else None
            for start, end in bounds:
                errors: list[str] = []
                face, faces = (None, 0)
                if found is not None:
                    crops, faces, detector_errors = next(found)
                    errors.extend(detector_errors)
                    face = self._classify_faces(crops, errors)
                voice = self._voice_scores(audio, start, end, info.duration, errors) if audio else None
                fused = self._guard("fusion", errors, lambda: _check_scores(self.fusion.fuse(face, voice), True))
                result = SegmentResult(start, end, face, voice, fused, faces, tuple(errors))
                segments.append(result)
                if on_segment:
                    on_segment(result, total)
        components = self.describe()
        if not use_video:
            components = {k: v for k, v in components.items() if k not in ("face_detector", "visual_classifier")}
        if not use_audio:
            components = {k: v for k, v in components.items() if k not in ("audio_features", "audio_classifier")}
        timeline = Timeline(str(path), segments, components, info.duration)
        if opts.smooth:
            from .smoothing import parse_smoothing, smooth_timeline

            timeline = smooth_timeline(timeline, *parse_smoothing(opts.smooth))
        return timeline

    # -- one modality at a time ------------------------------------------------------------------

    def _segment_faces(self, info: MediaInfo, bounds: Sequence[tuple[float, float]]
                       ) -> Iterator[tuple[list[np.ndarray], int, list[str]]]:
        """For each segment: the face crops of its analysed frames (copies: the frames are not
        kept), the most faces seen in one frame, and the face detector's errors."""
        frames, tracker = _FrameCursor(iter_frames(info, self.options.fps)), self.face_tracker()
        try:
            for _, end in bounds:
                crops, most, errors = [], 0, []
                for time, frame in frames.until(end):
                    boxes = self.find_faces(tracker, time, frame, errors)
                    if boxes is None:
                        continue
                    found = [crop.copy() for crop in (b.crop(frame) for b in boxes) if crop.size]
                    most = max(most, len(found))
                    crops.extend(found)
                yield crops, most, errors
        finally:
            frames.close()

    def _classify_faces(self, crops: list[np.ndarray], errors: list[str]) -> EmotionScores | None:
        """The mean scores of a segment's face crops, classified in one call (None without faces)."""
        if not crops:
            return None
        scores = self._guard("visual_classifier", errors,
                             lambda: _check_score_list(self.visual_classifier.classify(crops), len(crops)))
        return EmotionScores.mean(scores) if scores else None

    def face_tracker(self) -> FaceTracker:
        """A fresh FaceTracker for one stream, honouring --detect-fps, --no-track and the detector."""
        return FaceTracker(self.options.detect_fps, self.options.track,
                           can_track=callable(getattr(self.face_detector, "track", None)))

    def find_faces(self, tracker: FaceTracker, time: float, frame: np.ndarray,
                   errors: list[str]) -> list[FaceBox] | None:
        """The faces of one frame: a full-frame detection or tracking, as `tracker` decides."""
        detector = self.face_detector

        def detect() -> list[FaceBox] | None:
            return self._guard("face_detector", errors, lambda: _check_boxes(detector.detect(frame)))

        def track(boxes: list[FaceBox]) -> list[FaceBox] | None:
            return self._guard("face_detector", errors, lambda: _check_boxes(detector.track(frame, boxes)))

        return tracker.boxes(time, detect, track if tracker.track else None)

    def _voice_scores(self, audio: AudioStream, start: float, end: float, duration: float,
                      errors: list[str]) -> EmotionScores | None:
        length = max(end - start, float(getattr(self.audio_classifier, "min_window", 0.0)))
        a = max(0.0, (start + end) / 2 - length / 2)
        b = min(duration, a + length)
        a = max(0.0, b - length)
        window = audio.window(a, b)
        rate = audio.sample_rate
        own = window[int((start - a) * rate): int((end - a) * rate)]
        if is_silent(own, self.options.silence_db):
            return None

        return self.classify_voice(window, rate, errors)

    def classify_voice(self, samples: np.ndarray, rate: int, errors: list[str]) -> EmotionScores | None:
        """Features, then the audio classifier, on one window; each failure recorded under its own kind."""
        features = self._guard("audio_features", errors, lambda: _check_features(self.audio_features.extract(samples, rate)))
        if features is None:
            return None
        return self._guard("audio_classifier", errors,
                           lambda: _check_scores(self.audio_classifier.classify(features), True))

    def _guard(self, kind: str, errors: list[str], call: Callable[[], Any]) -> Any:
        """Run one component call; a failure is recorded for the segment (and warned once), not raised."""
        try:
            return call()
        except EmofuseError:
            raise
        except Exception as exc:
            name = self.options.name_of(kind)
            entry = self.components[kind].get(name)
            message = f"{kind.replace('_', ' ')} {name!r} (plugin {entry.plugin}) failed: {type(exc).__name__}: {exc}"
            errors.append(message)
            if message not in self._failed:
                self._failed.add(message)
                import warnings

                warnings.warn(message, RuntimeWarning, stacklevel=2)
            return None


def segment_bounds(duration: float, segment: float) -> list[tuple[float, float]]:
    """(start, end) of each segment; a tail shorter than a quarter segment (container padding)
    is merged into the segment before it."""
    total = max(1, math.ceil(duration / segment - 1e-9))
    if total > 1 and duration - (total - 1) * segment < 0.25 * segment:
        total -= 1
    return [(i * segment, duration if i == total - 1 else (i + 1) * segment) for i in range(total)]


class _FrameCursor:
    """Hands out the frames of each segment in turn from one forward-only frame iterator."""

    def __init__(self, frames: Iterator[tuple[float, np.ndarray]]) -> None:
        self._frames, self._next = frames, None

    def close(self) -> None:
        """Release the decoder now (the frame iterator's clean-up)."""
        close = getattr(self._frames, "close", None)
        if close is not None:
            close()

    def until(self, end: float) -> list[tuple[float, np.ndarray]]:
        out = []
        while True:
            if self._next is None:
                self._next = next(self._frames, False)
            if self._next is False or self._next[0] >= end - 1e-9:
                return out
            out.append(self._next)
            self._next = None


def _check_boxes(boxes) -> list[FaceBox]:
    boxes = list(boxes)
    for box in boxes:
        if not isinstance(box, FaceBox):
            raise TypeError(f"detect() must return FaceBox objects, got {type(box).__name__}")
    return boxes


def _check_features(features) -> np.ndarray:
    features = np.asarray(features)
    if features.ndim != 2 or not np.issubdtype(features.dtype, np.number):
        raise TypeError(f"extract() must return a 2-D numeric array, got shape {features.shape}, {features.dtype}")
    return features


def _check_scores(scores, optional: bool) -> EmotionScores | None:
    if scores is None and optional:
        return None
    if not isinstance(scores, EmotionScores):
        raise TypeError(f"expected EmotionScores, got {type(scores).__name__}")
    return scores


def _check_score_list(scores, expected: int) -> list[EmotionScores]:
    scores = list(scores)
    if len(scores) != expected:
        raise TypeError(f"classify() returned {len(scores)} results for {expected} crops")
    return [_check_scores(s, False) for s in scores]
