"""Frozen, validated data types that cross the plugin hooks."""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from types import MappingProxyType

import numpy as np

from .labels import LABELS


@dataclasses.dataclass(frozen=True)
class FaceBox:
    """A face found in a frame: pixel box (x, y, width, height) and the detector's score."""

    x: int
    y: int
    width: int
    height: int
    score: float = 1.0

    def __post_init__(self) -> None:
        for name in ("x", "y", "width", "height"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise TypeError(f"FaceBox.{name} must be an int, got {type(value).__name__}")
            object.__setattr__(self, name, int(value))
        if self.width <= 0 or self.height <= 0:
            raise ValueError(f"FaceBox needs a positive size, got {self.width}x{self.height}")
        if not math.isfinite(self.score):
            raise ValueError("FaceBox.score must be finite")

    def crop(self, frame: np.ndarray) -> np.ndarray:
        """The part of `frame` inside the box (clipped to the frame)."""
        h, w = frame.shape[:2]
        x0, y0 = max(0, self.x), max(0, self.y)
        x1, y1 = min(w, self.x + self.width), min(h, self.y + self.height)
        return frame[y0:y1, x0:x1]


@dataclasses.dataclass(frozen=True)
class EmotionScores:
    """Probabilities over the 7 canonical labels (angry, disgust, fear, happy, sad, surprise, neutral).

    `raw` optionally keeps a classifier's native scores (e.g. RAVDESS's 8 classes) by label.
    Build with `EmotionScores.from_array(...)` or `EmotionScores.from_mapping(...)`.
    """

    values: tuple[float, ...]
    raw: Mapping[str, float] | None = None

    def __post_init__(self) -> None:
        values = tuple(float(v) for v in self.values)
        if len(values) != len(LABELS):
            raise ValueError(f"EmotionScores needs {len(LABELS)} values ({', '.join(LABELS)}), got {len(values)}")
        if not all(math.isfinite(v) and v >= 0 for v in values):
            raise ValueError(f"EmotionScores values must be finite and non-negative, got {values}")
        total = sum(values)
        if abs(total - 1.0) > 1e-3:
            raise ValueError(f"EmotionScores values must sum to 1, got {total:.4f}")
        object.__setattr__(self, "values", tuple(v / total for v in values))
        if self.raw is not None:
            object.__setattr__(self, "raw", MappingProxyType({str(k): float(v) for k, v in self.raw.items()}))

    @classmethod
    def from_array(cls, values: Iterable[float], raw: Mapping[str, float] | None = None,
                   normalize: bool = False) -> EmotionScores:
        """From 7 numbers in canonical order; `normalize=True` rescales non-negative values to sum 1."""
        arr = np.asarray(list(values), dtype=np.float64)
        if normalize:
            total = arr.sum()
            if not np.isfinite(total) or total <= 0:
                raise ValueError("cannot normalise scores that sum to zero")
            arr = arr / total
        return cls(tuple(arr.tolist()), raw)

    @classmethod
    def from_mapping(cls, scores: Mapping[str, float], normalize: bool = False) -> EmotionScores:
        """From {label: score} with every canonical label present."""
        unknown = set(scores) - set(LABELS)
        if unknown:
            raise ValueError(f"unknown labels {sorted(unknown)}; expected {', '.join(LABELS)}")
        missing = [label for label in LABELS if label not in scores]
        if missing:
            raise ValueError(f"missing labels {missing}")
        return cls.from_array([scores[label] for label in LABELS], normalize=normalize)

    @classmethod
    def mean(cls, many: Sequence[EmotionScores]) -> EmotionScores | None:
        """The average of several score vectors (None when there are none)."""
        if not many:
            return None
        return cls.from_array(np.mean([s.array for s in many], axis=0), normalize=True)

    @property
    def array(self) -> np.ndarray:
        return np.asarray(self.values)

    @property
    def label(self) -> str:
        return LABELS[int(np.argmax(self.values))]

    @property
    def confidence(self) -> float:
        return max(self.values)

    def as_dict(self) -> dict[str, float]:
        return dict(zip(LABELS, self.values))


class _ScoresView:
    """Evidence behaves like its EmotionScores (`.array`, `.label`, ...) for strategies written for bare scores."""

    scores: EmotionScores

    @property
    def array(self) -> np.ndarray:
        return self.scores.array

    @property
    def values(self) -> tuple[float, ...]:
        return self.scores.values

    @property
    def raw(self) -> Mapping[str, float] | None:
        return self.scores.raw

    @property
    def label(self) -> str:
        return self.scores.label

    @property
    def confidence(self) -> float:
        return self.scores.confidence

    def as_dict(self) -> dict[str, float]:
        return self.scores.as_dict()


def _check_fraction(owner: str, name: str, value: float) -> float:
    value = float(value)
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise ValueError(f"{owner}.{name} must be within 0..1, got {value}")
    return value


@dataclasses.dataclass(frozen=True)
class FaceEvidence(_ScoresView):
    """What the faces of one segment (of one person, or of the scene) say, and how far to trust it.

    `scores`: the calibrated mean probabilities; `frames`: analysed frames with this face;
    `sampled`: analysed frames in the segment; `size`: median face width in pixels;
    `detector_score`: median detector score (1.0 when the detector gives none); `agreement`:
    the share of the frames whose own top label is the mean's top label.
    """

    scores: EmotionScores
    frames: int = 1
    sampled: int = 1
    size: float = 0.0
    detector_score: float = 1.0
    agreement: float = 1.0

    def __post_init__(self) -> None:
        if not isinstance(self.scores, EmotionScores):
            raise TypeError(f"FaceEvidence.scores must be EmotionScores, got {type(self.scores).__name__}")
        if self.frames < 0 or self.sampled < 0:
            raise ValueError("FaceEvidence.frames and .sampled must be >= 0")
        if not (math.isfinite(self.size) and self.size >= 0):
            raise ValueError(f"FaceEvidence.size must be >= 0 pixels, got {self.size}")
        object.__setattr__(self, "agreement", _check_fraction("FaceEvidence", "agreement", self.agreement))

    @property
    def coverage(self) -> float:
        """The share of the segment's analysed frames in which the face was seen."""
        return min(1.0, self.frames / self.sampled) if self.sampled else 0.0


@dataclasses.dataclass(frozen=True)
class VoiceEvidence(_ScoresView):
    """What the voice of one segment says, and how far to trust it.

    `scores`: the classifier's probabilities; `speech`: the share of the segment in which the
    voice-activity detector heard speech; `level_db`: loudness of the window (dBFS, loudest 10 %
    of 25 ms frames); `window`: seconds of audio the classifier heard; `sample_rate`: the source's
    sample rate (0 when unknown; 8000 is a telephone).
    """

    scores: EmotionScores
    speech: float = 1.0
    level_db: float = 0.0
    window: float = 0.0
    sample_rate: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.scores, EmotionScores):
            raise TypeError(f"VoiceEvidence.scores must be EmotionScores, got {type(self.scores).__name__}")
        object.__setattr__(self, "speech", _check_fraction("VoiceEvidence", "speech", self.speech))
        if self.window < 0 or self.sample_rate < 0:
            raise ValueError("VoiceEvidence.window and .sample_rate must be >= 0")


def scores_of(evidence) -> EmotionScores | None:
    """The EmotionScores inside evidence (or the scores themselves, or None)."""
    return getattr(evidence, "scores", evidence)


class _FusedVerdict:
    """`label` and `confidence` of the fused scores (None without a fused verdict)."""

    fused: EmotionScores | None

    @property
    def label(self) -> str | None:
        return self.fused.label if self.fused else None

    @property
    def confidence(self) -> float | None:
        return self.fused.confidence if self.fused else None


@dataclasses.dataclass(frozen=True)
class PersonResult(_FusedVerdict):
    """One person seen in one segment: where (median face box), what their face showed, whether
    they spoke (and then what their voice carried), and their fused verdict."""

    person: str
    box: FaceBox
    face: EmotionScores | None = None
    voice: EmotionScores | None = None
    fused: EmotionScores | None = None
    speaking: bool = False
    faces: int = 0


@dataclasses.dataclass(frozen=True)
class Sighting:
    """One face on one analysed frame: when, where, whose (None: too brief to be a person) and
    what it showed. The annotated video and the report draw these."""

    time: float
    box: FaceBox
    person: str | None
    scores: EmotionScores


@dataclasses.dataclass(frozen=True)
class Person:
    """A person of the whole file: id (P1, P2, ... by first appearance), when first and last seen,
    seconds visible and speaking, and a face crop to recognise them by (`face`, RGB, may be None)."""

    id: str
    first_seen: float
    last_seen: float
    seconds_visible: float = 0.0
    seconds_speaking: float = 0.0
    face: np.ndarray | None = dataclasses.field(default=None, compare=False, repr=False)


@dataclasses.dataclass(frozen=True)
class SegmentResult(_FusedVerdict):
    """What one time window showed: face scores, voice scores, the fused verdict.

    A modality with nothing to say (no face, silence) is None, not a guess. `faces` is the
    largest number of faces found in one sampled frame of the segment; `errors` records
    component failures that left a gap in this segment. `people`: one PersonResult per person
    seen in the segment; `speaker`: the id of the person speaking (None: nobody, or off-screen);
    `voice_speech`: the share of the segment with speech (None without audio).
    """

    start: float
    end: float
    face: EmotionScores | None = None
    voice: EmotionScores | None = None
    fused: EmotionScores | None = None
    faces: int = 0
    errors: tuple[str, ...] = ()
    people: tuple[PersonResult, ...] = ()
    speaker: str | None = None
    voice_speech: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "people", tuple(self.people))
        if not (math.isfinite(self.start) and math.isfinite(self.end)) or self.end < self.start or self.start < 0:
            raise ValueError(f"SegmentResult needs 0 <= start <= end, got {self.start}..{self.end}")
        for name in ("face", "voice", "fused"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, EmotionScores):
                raise TypeError(f"SegmentResult.{name} must be EmotionScores or None, got {type(value).__name__}")
        if self.faces < 0:
            raise ValueError("SegmentResult.faces must be >= 0")
        object.__setattr__(self, "errors", tuple(self.errors))


@dataclasses.dataclass(frozen=True)
class Timeline:
    """The fused emotion timeline of one media file, and the components that produced it.

    `persons`: who was seen (P1, P2, ... by first appearance); `sightings`: every face on every
    analysed frame, in time order (a few numbers each; for drawing); `provenance`: the emofuse
    version, every setting and each model's file hash (to make the timeline again)."""

    source: str
    segments: tuple[SegmentResult, ...]
    components: Mapping[str, str] = dataclasses.field(default_factory=dict)
    duration: float = 0.0
    persons: tuple[Person, ...] = ()
    sightings: tuple[Sighting, ...] = dataclasses.field(default=(), repr=False)
    provenance: Mapping[str, Any] = dataclasses.field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "segments", tuple(self.segments))
        object.__setattr__(self, "persons", tuple(self.persons))
        object.__setattr__(self, "sightings", tuple(self.sightings))
        object.__setattr__(self, "provenance", MappingProxyType(dict(self.provenance)))
        object.__setattr__(self, "components", MappingProxyType(dict(self.components)))
        for seg in self.segments:
            if not isinstance(seg, SegmentResult):
                raise TypeError(f"Timeline.segments must hold SegmentResult, got {type(seg).__name__}")

    def __len__(self) -> int:
        return len(self.segments)

    def to_dataframe(self, by: str = "segment"):
        """`by="segment"`: one row per segment (start, end, label, confidence, faces, speaker,
        face_*, voice_*, fused_*, voice_speech, errors). `by="person"`: one row per segment and
        person seen in it (start, end, person, speaking, x, y, width, height, label, confidence,
        faces, face_*, voice_*, fused_*, errors)."""
        from .table import timeline_to_dataframe

        return timeline_to_dataframe(self, by=by)

    def person_rows(self, person: str) -> list[tuple[SegmentResult, PersonResult]]:
        """The segments in which `person` was seen, each with that person's result."""
        if person not in {p.id for p in self.persons}:
            known = ", ".join(p.id for p in self.persons) or "none"
            raise KeyError(f"no person {person!r} in this timeline; persons: {known}")
        return [(seg, one) for seg in self.segments for one in seg.people if one.person == person]

    def to_csv(self, path, by: str = "segment") -> None:
        """Write the CSV timeline (`by` as in `to_dataframe`) atomically (a temp file, then a rename)."""
        from .atomic import atomic_output

        with atomic_output(path) as tmp:
            self.to_dataframe(by=by).to_csv(tmp, index=False)

    def to_json(self, path) -> None:
        """Write the JSON document of `emofuse analyze -o x.json` atomically."""
        from .atomic import atomic_output
        from .plugins.exporters import JsonExporter

        with atomic_output(path) as tmp:
            JsonExporter().write(self, tmp)

    def plot(self, path) -> None:
        """Draw the timeline (faces, voice, a lane per person, the fused scene) into a PNG."""
        from .plot import plot_timeline

        plot_timeline(self, path)

    def person_summary(self, person: str) -> list[tuple[str, float]]:
        """`person`'s fused labels by their share of the segments they were seen in, most frequent first."""
        return _shares([one.label for _, one in self.person_rows(person) if one.label])

    def summary(self) -> list[tuple[str, float]]:
        """Fused labels by their share of the labelled segments, most frequent first."""
        return _shares([s.label for s in self.segments if s.label])


def _shares(labels: list[str]) -> list[tuple[str, float]]:
    if not labels:
        return []
    shares = {label: labels.count(label) / len(labels) for label in set(labels)}
    return sorted(shares.items(), key=lambda kv: (-kv[1], LABELS.index(kv[0])))
