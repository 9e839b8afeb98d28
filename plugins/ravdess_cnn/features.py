"""The one feature pipeline shared by training, evaluation and the `ravdess-cnn` classifier.

Audio -> (trimmed of leading/trailing silence or non-speech, training and evaluation only) -> extractor
features (frames, features) -> per-utterance normalisation -> fixed-length windows.
"""
from __future__ import annotations

import numpy as np

#: Frames the network sees at once (2 s at 10 ms hops); longer inputs are split and averaged.
WINDOW_FRAMES = 200

#: Silence trimming for whole utterances: drop edges quieter than the loudest frame minus this.
TRIM_TOP_DB = 35.0
TRIM_MARGIN_S = 0.10


def trim_silence(samples: np.ndarray, rate: int) -> np.ndarray:
    """Drop leading and trailing silence (keeping a short margin); all-silent audio is kept whole."""
    import librosa

    y = np.asarray(samples, dtype=np.float32)
    if y.size == 0 or not np.any(y):
        return y
    _, (start, end) = librosa.effects.trim(y, top_db=TRIM_TOP_DB, frame_length=int(0.025 * rate) or 1,
                                          hop_length=int(0.010 * rate) or 1)
    margin = int(TRIM_MARGIN_S * rate)
    start, end = max(0, start - margin), min(y.size, end + margin)
    return y[start:end] if end > start else y


#: How whole utterances are trimmed before their features (training and evaluation): "energy"
#: (`trim_silence`) or "vad", first to last speech of the Silero detector (`trim_to_speech`).
TRIMS = ("energy", "vad")


def trim_utterance(samples: np.ndarray, rate: int, trim: str = "energy") -> np.ndarray:
    """`samples` trimmed the `trim` way (one of `TRIMS`)."""
    if trim == "energy":
        return trim_silence(samples, rate)
    if trim == "vad":
        return trim_to_speech(samples, rate)
    raise ValueError(f"trim must be one of {', '.join(TRIMS)}, got {trim!r}")


def trim_to_speech(samples: np.ndarray, rate: int, detector=None) -> np.ndarray:
    """From the first to the last hop the voice-activity detector (Silero by default) calls speech,
    keeping `TRIM_MARGIN_S` either side; `trim_silence` when it hears no speech at all. Unlike the
    energy rule, noise-only edges go too."""
    from emofuse.voice_side import SPEECH_PROBABILITY

    y = np.asarray(samples, dtype=np.float32)
    if y.size == 0 or not np.any(y):
        return y
    detector = detector or _speech_detector()
    speech = np.flatnonzero(detector.speech(y, rate) >= SPEECH_PROBABILITY)
    if speech.size == 0:
        return trim_silence(y, rate)
    start = max(0, int(round((speech[0] * detector.hop - TRIM_MARGIN_S) * rate)))
    end = min(y.size, int(round(((speech[-1] + 1) * detector.hop + TRIM_MARGIN_S) * rate)))
    return y[start:end]


_DETECTOR: list = []


def _speech_detector():
    """One Silero detector for the process (its calls without `start` stand alone)."""
    if not _DETECTOR:
        from emofuse.plugins.vad import SileroVad

        _DETECTOR.append(SileroVad())
    return _DETECTOR[0]


def normalize(features: np.ndarray, raw: int = 0) -> np.ndarray:
    """Per-utterance mean and variance normalisation of every feature over time.

    The last `raw` columns (features already in fixed units, e.g. prosody) are left as they are.
    """
    x = np.asarray(features, dtype=np.float32)
    if raw:
        return np.concatenate([normalize(x[:, :-raw]), x[:, -raw:]], axis=1)
    mean = x.mean(axis=0, keepdims=True)
    std = x.std(axis=0, keepdims=True)
    return ((x - mean) / (std + 1e-3)).astype(np.float32)


def fit_length(features: np.ndarray, frames: int = WINDOW_FRAMES, offset: int | None = None) -> np.ndarray:
    """Crop (at `offset`, centred when None) or repeat-pad a (t, f) array to exactly `frames` rows."""
    x = np.asarray(features, dtype=np.float32)
    t = x.shape[0]
    if t == 0:
        return np.zeros((frames, x.shape[1]), dtype=np.float32)
    if t < frames:
        reps = -(-frames // t)
        return np.tile(x, (reps, 1))[:frames]
    start = (t - frames) // 2 if offset is None else int(np.clip(offset, 0, t - frames))
    return x[start:start + frames]


def split_windows(features: np.ndarray, frames: int = WINDOW_FRAMES) -> np.ndarray:
    """(t, f) -> (n, frames, f): one padded window when short, else overlapping windows covering all."""
    x = np.asarray(features, dtype=np.float32)
    t = x.shape[0]
    if t <= frames:
        return fit_length(x, frames)[None]
    n = int(np.ceil((t - frames) / (frames // 2))) + 1
    starts = np.linspace(0, t - frames, n).round().astype(int)
    return np.stack([x[s:s + frames] for s in starts])
