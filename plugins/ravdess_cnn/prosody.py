"""Prosody features beside the MFCCs: pitch (log F0 and its contour), voicing and relative energy.

Per-utterance MFCC normalisation keeps the spectral envelope but says little about pitch, and
nothing about the pitch level or the loudness range of the utterance. `ProsodyMfccExtractor`
appends `PROSODY_FEATURES` to every MFCC frame (same 10 ms frames, frame t centred on sample
t * hop, as the extractor's centred STFT):

* `log_f0`: log2(F0 / 200 Hz) in octaves, from a YIN pitch tracker (cumulative mean normalised
  difference), linearly interpolated through unvoiced frames (0 when nothing is voiced);
* `voicing`: 1 minus the YIN dip at the chosen lag, in [0, 1] (about 1 for a clean vowel);
* `energy`: frame RMS level in dB under the utterance's loudest frame, / 20, floored at -3
  (60 dB down): gain-free, so the loudness range survives;
* `delta_log_f0`: the local slope of `log_f0` in octaves per 100 ms, on voiced frames only.

These columns are kept in fixed units (`normalize_features` normalises only the MFCC columns),
so the level and range of pitch and energy reach the network.
"""
from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import numpy as np

from emofuse.plugins.mfcc import MfccExtractor

PROSODY_FEATURES = ("log_f0", "voicing", "energy", "delta_log_f0")
F0_MIN, F0_MAX = 60.0, 500.0
F0_REFERENCE = 200.0
YIN_THRESHOLD = 0.15
VOICED_MIN = 0.5
FRAME_S = 0.05
ENERGY_FLOOR_DB = -60.0


def _frames(y: np.ndarray, length: int, hop: int, n_frames: int) -> np.ndarray:
    """(n_frames, length) frames, frame t centred on sample t * hop (zero padded at the edges)."""
    half = length // 2
    padded = np.pad(np.asarray(y, dtype=np.float64), (half, half + length))
    idx = np.arange(n_frames)[:, None] * hop + np.arange(length)[None, :]
    return padded[idx]


def yin_track(y: np.ndarray, rate: int, hop: int, n_frames: int, fmin: float = F0_MIN,
              fmax: float = F0_MAX) -> tuple[np.ndarray, np.ndarray]:
    """(f0 Hz, voicing in [0, 1]) per frame: YIN's cumulative mean normalised difference.

    The chosen lag is the first dip under `YIN_THRESHOLD` (walked down to its local minimum),
    else the global minimum in the [1/fmax, 1/fmin] lag range; parabolic interpolation refines it.
    """
    from scipy import fft

    tau_min, tau_max = max(2, int(rate / fmax)), int(np.ceil(rate / fmin))
    length = max(int(FRAME_S * rate), 2 * tau_max + 2)
    window = length - tau_max
    frames = _frames(y, length, hop, n_frames)
    frames -= frames.mean(axis=1, keepdims=True)
    n_fft = 1 << int(np.ceil(np.log2(length)))   # j + tau < length: no circular wrap for tau <= tau_max
    spec = fft.rfft(frames, n_fft)
    head = fft.rfft(frames[:, :window], n_fft)
    corr = fft.irfft(np.conj(head) * spec, n_fft)[:, : tau_max + 1]   # sum_j x_j x_{j+tau}, j < window
    energy = np.cumsum(frames ** 2, axis=1)
    e0 = energy[:, window - 1][:, None]
    taus = np.arange(tau_max + 1)
    shifted = energy[:, window - 1 + taus] - np.concatenate([np.zeros((n_frames, 1)), energy[:, : tau_max]], axis=1)
    diff = np.maximum(e0 + shifted - 2 * corr, 0.0)
    cumulative = np.cumsum(diff[:, 1:], axis=1)
    cmnd = np.ones_like(diff)
    cmnd[:, 1:] = diff[:, 1:] * taus[1:] / np.maximum(cumulative, 1e-12)
    search = cmnd[:, tau_min: tau_max + 1]
    below = search < YIN_THRESHOLD
    first = np.where(below.any(axis=1), below.argmax(axis=1), search.argmin(axis=1))
    rows = np.arange(n_frames)
    for _ in range(tau_max):   # walk down to the local minimum of the dip
        step = (first + 1 < search.shape[1]) & (search[rows, np.minimum(first + 1, search.shape[1] - 1)]
                                                 < search[rows, first])
        if not step.any():
            break
        first = first + step
    tau = (first + tau_min).astype(np.float64)
    inner = (tau > tau_min) & (tau < tau_max)
    t = tau.astype(int)
    a, b, c = cmnd[rows, np.maximum(t - 1, 0)], cmnd[rows, t], cmnd[rows, np.minimum(t + 1, tau_max)]
    denom = a - 2 * b + c
    shift = np.where(inner & (np.abs(denom) > 1e-12), 0.5 * (a - c) / np.where(denom == 0, 1, denom), 0.0)
    tau = tau + np.clip(shift, -1, 1)
    silent = e0[:, 0] <= 1e-10
    voicing = np.where(silent, 0.0, np.clip(1.0 - cmnd[rows, t], 0.0, 1.0))
    return (rate / tau).astype(np.float64), voicing


def frame_energy_db(y: np.ndarray, rate: int, hop: int, n_frames: int) -> np.ndarray:
    """RMS level (dB) of the 25 ms frames, relative to the loudest frame, floored at ENERGY_FLOOR_DB."""
    frames = _frames(y, max(1, int(0.025 * rate)), hop, n_frames)
    db = 10 * np.log10(np.mean(frames ** 2, axis=1) + 1e-12)
    return np.maximum(db - db.max(), ENERGY_FLOOR_DB)


def prosody_features(y: np.ndarray, rate: int, hop: int, n_frames: int) -> np.ndarray:
    """(n_frames, 4) float32: `PROSODY_FEATURES` of mono audio `y` at `rate` Hz, frames every `hop`."""
    y = np.nan_to_num(np.asarray(y, dtype=np.float64))
    if n_frames <= 0:
        return np.zeros((0, len(PROSODY_FEATURES)), dtype=np.float32)
    f0, voicing = yin_track(y, rate, hop, n_frames)
    energy = frame_energy_db(y, rate, hop, n_frames)
    voiced = (voicing >= VOICED_MIN) & (energy > -40.0)
    log_f0 = np.zeros(n_frames)
    if voiced.any():
        idx = np.flatnonzero(voiced)
        log_f0 = np.interp(np.arange(n_frames), idx, np.log2(f0[idx] / F0_REFERENCE))
    slope = np.gradient(log_f0) * (0.1 * rate / hop) if n_frames > 1 else np.zeros(n_frames)
    delta = np.where(voiced, np.clip(slope, -2.0, 2.0), 0.0)
    return np.stack([log_f0, voicing, energy / 20.0, delta], axis=1).astype(np.float32)


class ProsodyMfccExtractor(MfccExtractor):
    """The `mfcc` extractor's frames with `PROSODY_FEATURES` appended (columns after the MFCCs).

    Registered as the `mfcc-prosody` audio feature extractor; it takes the `mfcc` extractor's
    options. Pitch and energy need the waveform, so they are computed here, not by a classifier.
    """

    option_help = dict(MfccExtractor.option_help)

    @functools.wraps(MfccExtractor.__init__)   # the same options, visible to `emofuse list` and --set checks
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.feature_spec["prosody"] = {"features": list(PROSODY_FEATURES), "f0_range": [F0_MIN, F0_MAX],
                                        "yin_threshold": YIN_THRESHOLD, "frame_s": FRAME_S}

    @property
    def n_features(self) -> int:
        return super().n_features + len(PROSODY_FEATURES)

    def extract(self, samples: np.ndarray, sample_rate: int) -> np.ndarray:
        from emofuse.audio import resample, to_mono

        mfcc = super().extract(samples, sample_rate)
        spec = self.feature_spec
        y = resample(to_mono(samples), int(sample_rate), spec["sample_rate"])
        extra = prosody_features(y, spec["sample_rate"], spec["hop_length"], len(mfcc))
        return np.ascontiguousarray(np.concatenate([mfcc, extra], axis=1), dtype=np.float32)


def extractor_from_spec(spec: Mapping[str, Any]) -> MfccExtractor:
    """The extractor that produces features of `spec`: MFCCs, with prosody when the spec has it."""
    return (ProsodyMfccExtractor if "prosody" in spec else MfccExtractor).from_spec(spec)


def extractor_name(spec: Mapping[str, Any]) -> str:
    """The registered name of the extractor that produces features of `spec`."""
    return "mfcc-prosody" if "prosody" in spec else "mfcc"


def raw_columns(spec: Mapping[str, Any]) -> int:
    """How many trailing columns of `spec`'s features stay unnormalised (the prosody ones)."""
    return len(spec["prosody"]["features"]) if "prosody" in spec else 0
