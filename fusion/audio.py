"""Small audio helpers shared by the runner and the audio plugins."""
from __future__ import annotations

import numpy as np

#: The rate at which the runner decodes soundtracks; extractors resample if they need another.
ANALYSIS_SAMPLE_RATE = 16000

#: RMS level (dB relative to full scale) below which a window counts as silence.
SILENCE_DB = -45.0


def to_mono(samples: np.ndarray) -> np.ndarray:
    """(n,) or (n, channels) or (channels, n) audio -> float32 mono (n,)."""
    x = np.asarray(samples, dtype=np.float32)
    if x.ndim == 1:
        return x
    if x.ndim != 2:
        raise ValueError(f"audio must be 1-D or 2-D, got shape {x.shape}")
    channel_axis = 1 if x.shape[1] <= x.shape[0] else 0
    return x.mean(axis=channel_axis).astype(np.float32)


def resample(samples: np.ndarray, rate: int, target: int) -> np.ndarray:
    """Resample mono audio from `rate` to `target` Hz (soxr through librosa)."""
    if rate == target:
        return np.asarray(samples, dtype=np.float32)
    import librosa

    return librosa.resample(np.asarray(samples, dtype=np.float32), orig_sr=rate, target_sr=target, res_type="soxr_hq")


def rms_db(samples: np.ndarray, frame: int = 400) -> float:
    """The loudness of the loudest 10 % of 25 ms frames, in dB relative to full scale."""
    x = np.asarray(samples, dtype=np.float32)
    if x.size == 0:
        return -np.inf
    n = max(1, x.size // frame)
    frames = x[: n * frame].reshape(n, -1) if x.size >= frame else x[None, :]
    energy = np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=1))
    loud = np.percentile(energy, 90)
    return float(20 * np.log10(loud + 1e-12))


def is_silent(samples: np.ndarray, threshold_db: float = SILENCE_DB) -> bool:
    """True when the window holds no voice-level sound (its loud frames stay under `threshold_db`)."""
    return rms_db(samples) < threshold_db
