"""Fast fake components (no TensorFlow) registered through the real hooks, for engine tests."""
from __future__ import annotations

import numpy as np

from emofuse import EmotionScores, FaceBox, hookimpl
from emofuse.labels import LABELS


def one_hot(label: str, confidence: float = 0.9) -> EmotionScores:
    rest = (1 - confidence) / (len(LABELS) - 1)
    return EmotionScores.from_array([confidence if name == label else rest for name in LABELS])


class CenterFace:
    """Finds one face in the middle of any frame that is not black."""

    def __init__(self, size: int = 40) -> None:
        self.size = size

    def detect(self, frame):
        if frame.mean() < 5:
            return []
        h, w = frame.shape[:2]
        return [FaceBox(w // 2 - self.size // 2, h // 2 - self.size // 2, self.size, self.size)]


class BrightnessClassifier:
    """Bright crops are happy, dark ones sad; counts its calls (one per segment is the promise)."""

    def __init__(self) -> None:
        self.calls = 0

    def classify(self, crops):
        self.calls += 1
        return [one_hot("happy" if np.mean(c) > 100 else "sad") for c in crops]


class EnergyFeatures:
    feature_spec = {"kind": "energy", "frame": 160}

    def extract(self, samples, sample_rate):
        x = np.asarray(samples, dtype=np.float32)
        n = max(1, x.size // 160)
        return np.sqrt((x[: n * 160].reshape(n, -1) ** 2).mean(axis=1, keepdims=True))


class LoudAngry:
    """Loud audio is angry, quiet audio neutral."""

    min_window = 2.0

    def check_features(self, spec):
        from emofuse.errors import IncompatibleComponentsError

        if spec.get("kind") != "energy":
            raise IncompatibleComponentsError(f"loud-angry needs energy features, got {spec.get('kind')}")

    def classify(self, features):
        return one_hot("angry" if float(np.mean(features)) > 0.03 else "neutral")


class FaceFirst:
    """Fusion: the face when there is one, else the voice."""

    def fuse(self, face, voice):
        return face if face is not None else voice


class LabelsExporter:
    """Exporter: one 'start label' line per segment."""

    suffix = ".labels"

    def write(self, timeline, path):
        path.write_text("".join(f"{s.start:g} {s.label or '-'}\n" for s in timeline.segments))


class Plugin:
    """Registers the fakes under names of their own."""

    @hookimpl
    def register_face_detectors(self, register):
        register("center", CenterFace, description="fake: one face in the middle")

    @hookimpl
    def register_visual_classifiers(self, register):
        register("brightness", BrightnessClassifier, description="fake: bright is happy")

    @hookimpl
    def register_audio_feature_extractors(self, register):
        register("energy", EnergyFeatures, description="fake: frame energy")

    @hookimpl
    def register_audio_classifiers(self, register):
        register("loud-angry", LoudAngry, description="fake: loud is angry")

    @hookimpl
    def register_fusion_strategies(self, register):
        register("face-first", FaceFirst, description="fake: face, else voice")

    @hookimpl
    def register_exporters(self, register):
        register("labels", LabelsExporter, description="fake: start and label per line")


FAKE_CHOICES = dict(face_detector="center", visual_classifier="brightness",
                    audio_features="energy", audio_classifier="loud-angry")
FAKE_FLAGS = ["--face-detector", "center", "--visual-classifier", "brightness",
              "--audio-features", "energy", "--audio-classifier", "loud-angry"]
