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


class MeanColourEmbedder:
    """Face embedder: the mean colour of the crop (same colour, same person)."""

    dimension = 3
    same_person = 20.0

    def embed(self, crops):
        return np.array([np.asarray(c, dtype=np.float64).reshape(-1, 3).mean(axis=0) for c in crops]).reshape(-1, 3)


class LoudIsSpeech:
    """Voice activity: every 10 ms louder than -40 dBFS is speech."""

    hop = 0.01

    def speech(self, samples, sample_rate):
        hop = max(1, int(sample_rate * self.hop))
        n = len(samples) // hop
        frames = np.asarray(samples[: n * hop], dtype=np.float64).reshape(n, hop)
        return (np.sqrt((frames ** 2).mean(axis=1)) > 0.01).astype(np.float64)


class LabelsExporter:
    """Exporter: one 'start label' line per segment."""

    suffix = ".labels"

    def write(self, timeline, path):
        path.write_text("".join(f"{s.start:g} {s.label or '-'}\n" for s in timeline.segments))


class FakeCamera:
    """Video source: `frames` flat grey frames at `fps`; raises MediaError after `fail_after` frames."""

    media = "video"

    def __init__(self, device=None, frames: int = 10_000, fps: float = 50.0, fail_after: int | None = None,
                 size: tuple[int, int] = (160, 120)) -> None:
        self.name = f"fake camera {device}"
        self.frames, self.fps, self.fail_after = frames, fps, fail_after
        self.frame = np.full((size[1], size[0], 3), 200, np.uint8)
        self.count, self.closed, self._start = 0, False, None

    def read(self):
        import time

        from emofuse.errors import MediaError

        if self.fail_after is not None and self.count >= self.fail_after:
            raise MediaError(f"{self.name}: lost after {self.count} frames")
        if self.count >= self.frames:
            return None
        self._start = self._start or time.monotonic()
        time.sleep(max(0.0, self._start + self.count / self.fps - time.monotonic()))
        self.count += 1
        return time.monotonic(), self.frame

    def close(self):
        self.closed = True


class FakeMic:
    """Audio source: a loud (or silent) 220 Hz tone, forever; raises MediaError after `fail_after` reads."""

    media = "audio"
    sample_rate = 16000

    def __init__(self, device=None, loud: bool = True, fail_after: int | None = None) -> None:
        self.name, self.amplitude, self.closed = f"fake mic {device}", 0.5 if loud else 0.0, False
        self.fail_after, self.reads = fail_after, 0

    def start(self):
        pass

    def latest(self, seconds):
        from emofuse.errors import MediaError

        if self.fail_after is not None and self.reads >= self.fail_after:
            raise MediaError(f"{self.name}: unplugged")
        self.reads += 1
        t = np.arange(int(seconds * self.sample_rate)) / self.sample_rate
        return (self.amplitude * np.sin(2 * np.pi * 220 * t)).astype(np.float32)

    def close(self):
        self.closed = True


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
    def register_face_embedders(self, register):
        register("mean-colour", MeanColourEmbedder, description="fake: mean colour of the face")

    @hookimpl
    def register_voice_activity_detectors(self, register):
        register("loud", LoudIsSpeech, description="fake: loud is speech")

    @hookimpl
    def register_fusion_strategies(self, register):
        register("face-first", FaceFirst, description="fake: face, else voice")

    @hookimpl
    def register_exporters(self, register):
        register("labels", LabelsExporter, description="fake: start and label per line")

    @hookimpl
    def register_media_sources(self, register):
        register("fake-camera", FakeCamera, description="fake: grey frames at a steady pace")
        register("fake-mic", FakeMic, description="fake: a steady tone")


FAKE_CHOICES = dict(face_detector="center", visual_classifier="brightness", face_embedder="mean-colour",
                    voice_activity="loud", audio_features="energy", audio_classifier="loud-angry")
FAKE_FLAGS = ["--face-detector", "center", "--visual-classifier", "brightness", "--face-embedder", "mean-colour",
              "--voice-activity", "loud", "--audio-features", "energy", "--audio-classifier", "loud-angry"]
