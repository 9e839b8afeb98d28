"""The spectral maths of the `mfcc` extractor in plain numpy: librosa's results, without librosa.

Importing librosa's spectral code costs 1.1-2.4 s (numba, scipy.signal) on the first segment of
every run; these few functions give the same numbers (tested against librosa to 1e-4) at no
import cost. Each says which librosa call (and settings) it reproduces.
"""
from __future__ import annotations

import functools
import math

import numpy as np


def stft_power(y: np.ndarray, n_fft: int, hop_length: int, win_length: int) -> np.ndarray:
    """|STFT|^2 (1 + n_fft // 2, frames): `np.abs(librosa.stft(y, n_fft, hop_length, win_length,
    window="hann", center=True, pad_mode="constant")) ** 2`."""
    y = np.asarray(y, dtype=np.float32)
    padded = np.pad(y, n_fft // 2)
    n_frames = 1 + (padded.size - n_fft) // hop_length
    frames = np.lib.stride_tricks.as_strided(
        padded, shape=(n_frames, n_fft), strides=(padded.strides[0] * hop_length, padded.strides[0]), writeable=False)
    spectrum = np.fft.rfft(frames * _window(n_fft, win_length), axis=1)
    return (spectrum.real ** 2 + spectrum.imag ** 2).astype(np.float32).T


@functools.lru_cache(maxsize=8)
def _window(n_fft: int, win_length: int) -> np.ndarray:
    """A periodic Hann window of `win_length`, centred in `n_fft` zeros (librosa's stft window)."""
    n = np.arange(win_length)
    window = np.zeros(n_fft, dtype=np.float32)
    left = (n_fft - win_length) // 2
    window[left:left + win_length] = 0.5 - 0.5 * np.cos(2 * np.pi * n / win_length)
    window.flags.writeable = False
    return window


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney's mel scale (librosa's default, htk=False): linear to 1 kHz, logarithmic above."""
    hz = np.asarray(hz, dtype=np.float64)
    mel = hz / (200.0 / 3)
    log = hz >= 1000.0
    return np.where(log, 15.0 + np.log(np.maximum(hz, 1e-10) / 1000.0) / (math.log(6.4) / 27.0), mel)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    return np.where(mel >= 15.0, 1000.0 * np.exp(math.log(6.4) / 27.0 * (mel - 15.0)), mel * (200.0 / 3))


#: Where vocal tract length perturbation stops scaling frequencies (Hz; Jaitly & Hinton 2013).
VTLP_BOUNDARY_HZ = 4800.0


def vtlp_warp(hz: np.ndarray, alpha: float, nyquist: float, boundary: float = VTLP_BOUNDARY_HZ) -> np.ndarray:
    """Vocal tract length perturbation (Jaitly & Hinton 2013): frequencies times `alpha` up to a
    knee, then a straight line that keeps `nyquist` in place (continuous, increasing)."""
    hz = np.asarray(hz, dtype=np.float64)
    knee = boundary * min(alpha, 1.0) / alpha
    upper = nyquist - (nyquist - boundary * min(alpha, 1.0)) / (nyquist - knee) * (nyquist - hz)
    return np.where(hz <= knee, hz * alpha, upper)


@functools.lru_cache(maxsize=8)
def mel_filter_bank(sample_rate: int, n_fft: int, n_mels: int, fmin: float, fmax: float,
                    warp: float = 1.0) -> np.ndarray:
    """(n_mels, 1 + n_fft // 2) float32, read-only: `librosa.filters.mel(sr, n_fft, n_mels, fmin,
    fmax)` (Slaney mel scale, Slaney area normalisation). `warp` != 1: each FFT bin counts as the
    frequency `vtlp_warp` moves it to, so formants land `warp` times higher (a training copy)."""
    fft_hz = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    if warp != 1.0:
        fft_hz = vtlp_warp(fft_hz, warp, sample_rate / 2.0)
    mel_hz = _mel_to_hz(np.linspace(_hz_to_mel(fmin), _hz_to_mel(fmax), n_mels + 2))
    widths = np.diff(mel_hz)
    ramps = mel_hz[:, None] - fft_hz[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_hz[2:] - mel_hz[:-2]))[:, None]
    bank = weights.astype(np.float32)
    bank.flags.writeable = False
    return bank


def power_to_db(power: np.ndarray, ref: float = 1.0, amin: float = 1e-10, top_db: float | None = 80.0) -> np.ndarray:
    """`librosa.power_to_db(power, ref=ref, amin=amin, top_db=top_db)` (fixed `ref`)."""
    db = 10.0 * np.log10(np.maximum(amin, power))
    db -= 10.0 * np.log10(max(amin, abs(ref)))
    if top_db is not None:
        db = np.maximum(db, db.max() - top_db)
    return db


def mfcc_from_db(db: np.ndarray, n_mfcc: int) -> np.ndarray:
    """`librosa.feature.mfcc(S=db, n_mfcc=n_mfcc, dct_type=2, norm="ortho")`: the first
    `n_mfcc` rows of the orthonormal DCT-II over the mel bands."""
    from scipy.fft import dct  # scipy.fft is light (no scipy.signal)

    return dct(db, type=2, axis=0, norm="ortho")[:n_mfcc]


def delta(features: np.ndarray, width: int = 9, order: int = 1) -> np.ndarray:
    """`librosa.feature.delta(features, width=width, order=order, mode="nearest")` along the last
    axis: a Savitzky-Golay derivative of polynomial degree `order` over `width` frames, the
    edges extended with their nearest value."""
    if width < 3 or width % 2 == 0 or order >= width:
        raise ValueError(f"width must be odd, >= 3 and > order, got width={width}, order={order}")
    half = width // 2
    padded = np.pad(features, [(0, 0)] * (features.ndim - 1) + [(half, half)], mode="edge")
    out = np.zeros(features.shape, dtype=np.result_type(features.dtype, np.float32))
    for k, weight in enumerate(_savgol_weights(width, order)):
        out += weight * padded[..., k:k + features.shape[-1]]
    return out


@functools.lru_cache(maxsize=8)
def _savgol_weights(width: int, order: int) -> tuple[float, ...]:
    """Weights w[k] (k = -width//2 .. width//2) with sum w[k] x[i+k] = the `order`-th derivative
    at i of the least-squares polynomial of degree `order` through the window."""
    offsets = np.arange(width) - width // 2
    design = offsets[:, None].astype(np.float64) ** np.arange(order + 1)[None, :]
    return tuple(np.linalg.pinv(design)[order] * math.factorial(order))
