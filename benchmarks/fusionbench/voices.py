"""Voice renderings: how a RAVDESS utterance (16 kHz) reaches the microphone.

- `clean`: as recorded;
- `noise10`, `noise0`: pink noise, slowly swelling (+-3 dB at 0.2-0.5 Hz), at 10 and 0 dB SNR
  against the active speech level (25 ms frames within 30 dB of the loudest);
- `reverb`: convolved with a synthetic room impulse response (exponentially decaying noise,
  RT60 0.4-0.9 s, direct-to-reverberant ratio -3..+3 dB), peak level kept;
- `telephone`: resampled to 8 kHz, band-passed 300-3400 Hz (4th-order Butterworth), G.711
  mu-law companded, written at 8 kHz (the runner sees an 8 kHz source);
- `music`: no speech at all: synthetic music (chords, bass, melody, kick and hi-hat) as long as
  the utterance and at its active level. The voice must give nothing here, or weigh nothing.

Each clip's random choices come from its own seed.
"""
from __future__ import annotations

import numpy as np

VOICE_STYLES = ("clean", "noise10", "noise0", "reverb", "telephone", "music")
RATE = 16000
TELEPHONE_RATE = 8000


def render_voice(style: str, samples: np.ndarray, rate: int, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """(samples, sample rate) of the utterance `samples` (mono float, `rate` Hz) rendered in `style`."""
    x = np.asarray(samples, dtype=np.float64)
    if rate != RATE:
        raise ValueError(f"expected {RATE} Hz speech, got {rate}")
    if style == "clean":
        out = x
    elif style in ("noise10", "noise0"):
        out = add_noise(x, float(style[5:]), rng)
    elif style == "reverb":
        out = reverberate(x, rng)
    elif style == "telephone":
        return _safe(telephone(x)), TELEPHONE_RATE
    elif style == "music":
        music = synth_music(len(x), RATE, rng)
        out = music * (active_rms(x) / max(active_rms(music), 1e-9))  # as long as the utterance, as loud
    else:
        raise ValueError(f"unknown voice style {style!r}; styles: {', '.join(VOICE_STYLES)}")
    return _safe(out), RATE


def _safe(x: np.ndarray) -> np.ndarray:
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    return (x * (0.99 / peak) if peak > 0.99 else x).astype(np.float32)


def active_rms(x: np.ndarray, frame: int = 400, dynamic_db: float = 30.0) -> float:
    """RMS over the 25 ms frames within `dynamic_db` of the loudest one (the active speech level)."""
    n = max(1, len(x) // frame)
    frames = np.asarray(x[: n * frame], dtype=np.float64).reshape(n, -1)
    energy = np.mean(frames ** 2, axis=1)
    active = energy >= energy.max() * 10 ** (-dynamic_db / 10)
    return float(np.sqrt(energy[active].mean())) if active.any() else 0.0


def pink_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS pink (1/f power) noise."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(len(spectrum), dtype=np.float64)
    f[0] = 1.0
    noise = np.fft.irfft(spectrum / np.sqrt(f), n)
    return noise / (np.sqrt(np.mean(noise ** 2)) + 1e-12)


def add_noise(x: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """`x` plus slowly swelling pink noise at `snr_db` against its active level."""
    noise = pink_noise(len(x), rng)
    t = np.arange(len(x)) / RATE
    noise *= 10 ** (3 * np.sin(2 * np.pi * rng.uniform(0.2, 0.5) * t + rng.uniform(0, 6.3)) / 20)
    noise *= active_rms(x) / (np.sqrt(np.mean(noise ** 2)) * 10 ** (snr_db / 20))
    return x + noise


def room_impulse(rng: np.random.Generator, rate: int = RATE) -> np.ndarray:
    """A synthetic room impulse response: a direct path, then exponentially decaying noise."""
    rt60 = rng.uniform(0.4, 0.9)
    drr_db = rng.uniform(-3.0, 3.0)
    n = int(rt60 * rate)
    t = np.arange(n) / rate
    tail = rng.standard_normal(n) * np.exp(-6.91 * t / rt60)
    tail[: int(0.003 * rate)] = 0.0  # the first reflections arrive a few ms after the direct sound
    tail *= np.sqrt(10 ** (-drr_db / 10) / np.sum(tail ** 2))
    tail[0] = 1.0
    return tail


def reverberate(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    from scipy.signal import fftconvolve

    wet = fftconvolve(x, room_impulse(rng))[: len(x)]
    return wet * (np.max(np.abs(x)) / (np.max(np.abs(wet)) + 1e-12))


def telephone(x: np.ndarray) -> np.ndarray:
    """16 kHz speech -> an 8 kHz telephone channel: 300-3400 Hz, G.711 mu-law."""
    from scipy.signal import butter, resample_poly, sosfiltfilt

    narrow = resample_poly(x, 1, 2)
    narrow = sosfiltfilt(butter(4, (300, 3400), btype="bandpass", fs=TELEPHONE_RATE, output="sos"), narrow)
    peak = np.max(np.abs(narrow)) + 1e-12
    y = np.clip(narrow / peak, -1, 1)
    mu = 255.0
    code = np.round(np.sign(y) * np.log1p(mu * np.abs(y)) / np.log1p(mu) * 127) / 127  # 8-bit mu-law
    return np.sign(code) * np.expm1(np.abs(code) * np.log1p(mu)) / mu * peak


def synth_music(n: int, rate: int, rng: np.random.Generator) -> np.ndarray:
    """`n` samples of instrumental music: a chord progression, bass, a melody, kick and hi-hat."""
    t = np.arange(n) / rate
    beat = 60.0 / rng.uniform(90, 130)
    root = 110.0 * 2 ** (rng.integers(0, 12) / 12)
    progression = [(0, 4, 7), (5, 9, 12), (7, 11, 14), (-3, 0, 4)]  # I IV V vi
    out = np.zeros(n)
    bar = 4 * beat
    for k in range(int(np.ceil(n / rate / bar)) + 1):
        chord = progression[k % len(progression)]
        a, b = int(k * bar * rate), min(n, int((k + 1) * bar * rate))
        if a >= n:
            break
        tt = t[a:b] - t[a]
        env = np.minimum(1.0, tt / 0.05) * np.exp(-tt / (1.5 * bar))
        for semitone in chord:  # pad: a few harmonics each
            f = root * 2 * 2 ** (semitone / 12)
            out[a:b] += env * sum(np.sin(2 * np.pi * f * h * tt) / h ** 1.5 for h in (1, 2, 3, 4)) * 0.25
        f_bass = root * 2 ** (chord[0] / 12) / 2
        out[a:b] += 0.5 * env * np.sin(2 * np.pi * f_bass * tt)
    scale = (0, 2, 4, 5, 7, 9, 11, 12)
    for k in range(int(n / rate / (beat / 2)) + 1):  # melody in eighth notes, kick and hat on the beat
        a = int(k * beat / 2 * rate)
        if a >= n:
            break
        b = min(n, a + int(beat / 2 * rate))
        tt = t[a:b] - t[a]
        f = root * 4 * 2 ** (scale[int(rng.integers(0, len(scale)))] / 12)
        out[a:b] += 0.3 * np.exp(-tt * 6) * (np.sin(2 * np.pi * f * tt) + 0.3 * np.sin(4 * np.pi * f * tt))
        out[a:b] += 0.08 * rng.standard_normal(b - a) * np.exp(-tt * 60)  # hi-hat
        if k % 2 == 0:
            out[a:b] += 0.8 * np.sin(2 * np.pi * (50 + 80 * np.exp(-tt * 30)) * tt) * np.exp(-tt * 12)  # kick
    return out
