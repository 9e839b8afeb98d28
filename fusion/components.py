"""What each kind of component must do. Plugins return objects with these methods.

These are `typing.Protocol`s: a component does not need to inherit from anything, it only
needs the attributes and methods below. Frames are RGB uint8 arrays (height, width, 3).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from .types import EmotionScores, FaceBox, FaceEvidence, Timeline, VoiceEvidence


@runtime_checkable
class FaceDetector(Protocol):
    """Finds faces in one RGB frame."""

    def detect(self, frame: np.ndarray) -> Sequence[FaceBox]: ...


@runtime_checkable
class VisualClassifier(Protocol):
    """Scores face crops (RGB uint8, any size) over the 7 canonical labels, all crops in one call."""

    def classify(self, crops: Sequence[np.ndarray]) -> Sequence[EmotionScores]: ...


@runtime_checkable
class AudioFeatureExtractor(Protocol):
    """Turns mono or multi-channel audio of any sample rate into a feature array.

    `feature_spec` describes what `extract` produces (e.g. {"kind": "mfcc", "n_mfcc": 40, ...});
    an audio classifier compares it with the spec it was trained on and refuses a mismatch.
    """

    feature_spec: Mapping[str, Any]

    def extract(self, samples: np.ndarray, sample_rate: int) -> np.ndarray: ...


@runtime_checkable
class AudioClassifier(Protocol):
    """Scores the features of one audio window over the 7 canonical labels; None means no voice.

    `min_window` is the audio context (seconds) the classifier wants around a segment.
    `check_features(spec)` raises IncompatibleComponentsError for features it cannot use.
    """

    min_window: float

    def check_features(self, feature_spec: Mapping[str, Any]) -> None: ...

    def classify(self, features: np.ndarray) -> EmotionScores | None: ...


@runtime_checkable
class FaceEmbedder(Protocol):
    """Describes who a face is: one identity vector per face crop (RGB uint8, any size).

    `embed(crops)` returns a float array of shape (len(crops), dimension); two crops of the same
    person are closer (Euclidean distance) than `same_person`, crops of two people farther. A row
    of NaN means "cannot embed this one" (e.g. a face too small): it is left out of the clustering.
    """

    dimension: int
    same_person: float

    def embed(self, crops: Sequence[np.ndarray]) -> np.ndarray: ...


@runtime_checkable
class VoiceActivityDetector(Protocol):
    """Says where someone speaks: `speech(samples, sample_rate)` gives one speech probability
    (0..1) per `hop` seconds of mono float32 audio; music, noise and silence should score low."""

    hop: float

    def speech(self, samples: np.ndarray, sample_rate: int) -> np.ndarray: ...


@runtime_checkable
class FusionStrategy(Protocol):
    """Combines the face and the voice evidence of one segment (either may be None).

    `face` is a `FaceEvidence`, `voice` a `VoiceEvidence` (see `emofuse.types`): the scores plus
    what says how far to trust them. Both also behave like their `EmotionScores` (`.array`,
    `.values`, `.label`, `.confidence`), so a strategy written for bare scores keeps working.
    """

    def fuse(self, face: FaceEvidence | None, voice: VoiceEvidence | None) -> EmotionScores | None: ...


@runtime_checkable
class Exporter(Protocol):
    """Writes a timeline to a file; `suffix` (e.g. ".csv") names the default file extension."""

    suffix: str

    def write(self, timeline: Timeline, path: Path) -> None: ...


@runtime_checkable
class MediaSource(Protocol):
    """A live input for `emofuse live`: a camera, a microphone, or a file standing in for one.

    `media` is "video" or "audio"; the source also has the methods of `VideoSource` or
    `AudioSource` below. `close()` releases the device (called once, at the end of the run).
    """

    media: str

    def close(self) -> None: ...


@runtime_checkable
class VideoSource(MediaSource, Protocol):
    """`read()` blocks until the next frame and returns `(timestamp, rgb_frame)`, or None when
    the source has ended. `timestamp` is `time.monotonic()` at capture. A device that fails
    raises (preferably `emofuse.errors.MediaError` with a one-line message)."""

    def read(self) -> tuple[float, np.ndarray] | None: ...


@runtime_checkable
class AudioSource(MediaSource, Protocol):
    """`start()` begins capturing; `latest(seconds)` returns the last `seconds` of sound as mono
    float32 at `sample_rate` (zero-padded at the front when less has been heard), or None when
    the source has ended. Called from a worker thread; a failed device raises."""

    sample_rate: int

    def start(self) -> None: ...

    def latest(self, seconds: float) -> np.ndarray | None: ...


#: Component kind -> (protocol, human name). The keys are the registry names.
KINDS: Mapping[str, tuple[type, str]] = {
    "face_detector": (FaceDetector, "face detector"),
    "visual_classifier": (VisualClassifier, "visual classifier"),
    "audio_features": (AudioFeatureExtractor, "audio feature extractor"),
    "audio_classifier": (AudioClassifier, "audio classifier"),
    "face_embedder": (FaceEmbedder, "face embedder"),
    "voice_activity": (VoiceActivityDetector, "voice-activity detector"),
    "fusion": (FusionStrategy, "fusion strategy"),
    "exporter": (Exporter, "exporter"),
    "media_source": (MediaSource, "media source"),
}
