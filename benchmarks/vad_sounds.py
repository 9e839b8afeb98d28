"""Synthetic sounds without speech for the voice-activity benchmark and tests (all offline).

Music (struck chords with drums, plucked strings, an organ pad under a sung-like lead),
coloured noise, door slams and laughter-like bursts, plus `mix_at_snr` to put speech in noise.
Every function takes `seconds`, `rate` and `seed` and returns mono float32; same seed, same sound.
"""
from __future__ import annotations

import numpy as np

RATE = 16000


def _level(x: np.ndarray, dbfs: float) -> np.ndarray:
    """`x` scaled to an RMS of `dbfs`, peaks kept under 0.99."""
    rms = float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) or 1.0
    y = x * (10 ** (dbfs / 20) / rms)
    peak = float(np.abs(y).max()) if y.size else 0.0
    return (y * (0.99 / peak) if peak > 0.99 else y).astype(np.float32)


def _add(out: np.ndarray, sound: np.ndarray, at: int) -> None:
    end = min(out.size, at + sound.size)
    if at < end:
        out[at:end] += sound[: end - at]


def _midi(note: float) -> float:
    return 440.0 * 2 ** ((note - 69) / 12)


# --------------------------------------------------------------------------- noise


def coloured_noise(seconds: float, rate: int = RATE, seed: int = 0, colour: str = "white",
                   dbfs: float = -25.0) -> np.ndarray:
    """White, pink (1/f) or brown (1/f^2) noise at `dbfs` RMS."""
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / rate)
    f[0] = f[1] if n > 1 else 1.0
    power = {"white": 0.0, "pink": 1.0, "brown": 2.0}[colour]
    shaped = np.fft.irfft(spectrum / f ** (power / 2), n)
    if colour != "white":  # no rumble under 20 Hz
        shaped = np.fft.irfft(np.fft.rfft(shaped) * (f >= 20), n)
    return _level(shaped, dbfs)


def mix_at_snr(speech: np.ndarray, noise: np.ndarray, snr_db: float, active: np.ndarray | None = None) -> np.ndarray:
    """`speech` plus `noise` scaled to `snr_db` against the speech power over `active` samples."""
    s = speech.astype(np.float64)
    mask = np.ones(s.size, bool) if active is None else active
    p_speech = float(np.mean(s[mask] ** 2)) if mask.any() else float(np.mean(s ** 2))
    nz = np.resize(noise.astype(np.float64), s.size)
    p_noise = float(np.mean(nz ** 2)) or 1.0
    y = s + nz * np.sqrt(p_speech / (p_noise * 10 ** (snr_db / 10)))
    peak = float(np.abs(y).max())
    return (y * (0.99 / peak) if peak > 0.99 else y).astype(np.float32)


# --------------------------------------------------------------------------- music


def _strike(freq: float, seconds: float, rate: int, rng: np.random.Generator) -> np.ndarray:
    """A piano-like note: 10 slightly inharmonic partials, the higher ones dying faster."""
    t = np.arange(int(seconds * rate)) / rate
    out = np.zeros_like(t)
    for k in range(1, 11):
        fk = freq * k * np.sqrt(1 + 0.0004 * k * k)
        if fk < rate / 2:
            out += np.sin(2 * np.pi * fk * t + rng.uniform(0, 6.3)) * np.exp(-t * (1.5 + 0.8 * k)) / k
    return out * np.minimum(1.0, t / 0.004)


def _pluck(freq: float, seconds: float, rate: int, rng: np.random.Generator) -> np.ndarray:
    """A plucked string (Karplus-Strong)."""
    period = max(2, int(rate / freq))
    n = int(seconds * rate)
    buf = rng.uniform(-1, 1, period)
    blocks = []
    for _ in range(n // period + 1):
        blocks.append(buf)
        buf = 0.996 * 0.5 * (buf + np.roll(buf, -1))
    return np.concatenate(blocks)[:n]


def _drum(kind: str, rate: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(0.3 * rate)) / rate
    if kind == "kick":
        f = 50 + 100 * np.exp(-t * 30)
        return np.sin(2 * np.pi * np.cumsum(f) / rate) * np.exp(-t * 12)
    noise = rng.standard_normal(t.size)
    if kind == "snare":
        return (0.6 * noise * np.exp(-t * 25) + 0.5 * np.sin(2 * np.pi * 190 * t) * np.exp(-t * 20))
    hat = np.diff(noise, prepend=0.0)  # high-passed
    return 0.3 * hat * np.exp(-t * 80)


_CHORDS = ((60, 64, 67), (55, 59, 62), (57, 60, 64), (53, 57, 60))  # C G Am F


def _beats(seconds: float, rate: int, bpm: float):
    beat = 60.0 / bpm
    return [(i, int(i * beat * rate)) for i in range(int(seconds / beat) + 1)], int(beat * rate)


def music_chords(seconds: float, rate: int = RATE, seed: int = 0, dbfs: float = -22.0) -> np.ndarray:
    """Struck chords (C G Am F, one per bar) with kick, snare and hi-hat."""
    rng = np.random.default_rng(seed)
    out = np.zeros(int(seconds * rate))
    beats, beat_len = _beats(seconds, rate, rng.uniform(90, 130))
    transpose = int(rng.integers(-3, 4))
    for i, at in beats:
        chord = _CHORDS[(i // 4) % 4]
        if i % 2 == 0:
            for note in chord:
                _add(out, 0.3 * _strike(_midi(note + transpose), 1.5, rate, rng), at)
            _add(out, 0.4 * _strike(_midi(chord[0] + transpose - 24), 1.5, rate, rng), at)
        _add(out, 0.9 * _drum("kick" if i % 2 == 0 else "snare", rate, rng), at)
        _add(out, _drum("hat", rate, rng), at)
        _add(out, _drum("hat", rate, rng), at + beat_len // 2)
    return _level(out, dbfs)


def music_strings(seconds: float, rate: int = RATE, seed: int = 0, dbfs: float = -22.0) -> np.ndarray:
    """Plucked-string arpeggios over a plucked bass line."""
    rng = np.random.default_rng(seed)
    out = np.zeros(int(seconds * rate))
    beats, beat_len = _beats(seconds, rate, rng.uniform(70, 110))
    for i, at in beats:
        chord = _CHORDS[(i // 4) % 4]
        if i % 4 == 0:
            _add(out, 0.8 * _pluck(_midi(chord[0] - 24), 2.0, rate, rng), at)
        for j in range(4):
            note = chord[(i + j) % 3] + 12 * (j // 3)
            _add(out, 0.4 * _pluck(_midi(note), 1.0, rate, rng), at + j * beat_len // 4)
    return _level(out, dbfs)


def music_pad_lead(seconds: float, rate: int = RATE, seed: int = 0, dbfs: float = -22.0) -> np.ndarray:
    """An organ pad under a lead melody with vibrato (the most voice-like of the three)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    t = np.arange(n) / rate
    bar = 4 * 60.0 / rng.uniform(70, 100)
    pad = np.zeros(n)
    for b in range(int(seconds / bar) + 1):
        a, e = int(b * bar * rate), min(n, int((b + 1) * bar * rate))
        for note in _CHORDS[b % 4]:
            for k, g in ((1, 1.0), (2, 0.5), (4, 0.25), (8, 0.12)):  # organ drawbars
                pad[a:e] += 0.15 * g * np.sin(2 * np.pi * _midi(note - 12) * k * t[a:e])
    scale = np.array([60, 62, 64, 65, 67, 69, 71, 72])
    f0 = np.zeros(n)
    env = np.zeros(n)
    pos = 0
    while pos < n:
        length = int(rng.choice([0.25, 0.5, 0.75, 1.0]) * bar / 2 * rate)
        f0[pos:pos + length] = _midi(rng.choice(scale) + 12)
        x = np.linspace(0, 1, min(length, n - pos))
        env[pos:pos + length] = np.minimum(1, x * 20) * np.minimum(1, (1 - x) * 10)
        pos += length
    f0 = f0 * (1 + 0.01 * np.sin(2 * np.pi * 5.5 * t))
    phase = 2 * np.pi * np.cumsum(f0) / rate
    lead = sum(np.sin(k * phase) / k ** 1.5 for k in range(1, 8)) * env
    return _level(pad + 0.5 * lead, dbfs)


# --------------------------------------------------------------------------- transients


def door_slams(seconds: float, rate: int = RATE, seed: int = 0, peak: float = 0.8) -> np.ndarray:
    """Door slams and knocks every 0.5-2 s over quiet room tone: a thump, a crack, a rattle."""
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    out = coloured_noise(seconds, rate, seed + 1, "pink", -60.0).astype(np.float64)
    at = int(rng.uniform(0.1, 0.5) * rate)
    t = np.arange(int(0.6 * rate)) / rate
    while at < n:
        thump = np.sin(2 * np.pi * rng.uniform(50, 110) * t) * np.exp(-t * rng.uniform(15, 30))
        crack = rng.standard_normal(t.size) * np.exp(-t * rng.uniform(60, 120))
        rattle = sum(np.sin(2 * np.pi * rng.uniform(200, 900) * t) * np.exp(-t * rng.uniform(8, 20))
                     for _ in range(4)) * 0.15
        slam = thump + 0.6 * crack + rattle
        _add(out, peak * rng.uniform(0.4, 1.0) * slam / np.abs(slam).max(), at)
        at += int(rng.uniform(0.5, 2.0) * rate)
    return np.clip(out, -0.99, 0.99).astype(np.float32)


def laughter(seconds: float, rate: int = RATE, seed: int = 0, dbfs: float = -24.0) -> np.ndarray:
    """Laughter-like bouts: 3-7 breathy "ha" pulses ~0.2 s apart, pitch 220-420 Hz falling."""
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    out = np.zeros(n)
    at = int(rng.uniform(0.05, 0.3) * rate)
    while at < n:
        f_start = rng.uniform(260, 420)
        for p in range(int(rng.integers(3, 8))):
            length = int(rng.uniform(0.07, 0.13) * rate)
            t = np.arange(length) / rate
            f0 = f_start * (1 - 0.05 * p) * (1 - 0.15 * t / t[-1])
            phase = 2 * np.pi * np.cumsum(f0) / rate
            voiced = sum(np.sin(k * phase) * np.exp(-0.5 * ((k * f0 - 800) / 300) ** 2) * 1.0
                         + np.sin(k * phase) * 0.4 * np.exp(-0.5 * ((k * f0 - 1300) / 300) ** 2)
                         for k in range(1, 12))
            breath = np.diff(rng.standard_normal(length), prepend=0.0) * 0.5
            env = np.abs(np.sin(np.pi * t / t[-1])) ** 0.7
            _add(out, (voiced + breath) * env, at)
            at += int(rng.uniform(0.17, 0.24) * rate)
        at += int(rng.uniform(0.4, 1.5) * rate)
    return _level(out, dbfs)


#: Non-speech conditions: name -> (what it is, function(seconds, rate, seed)).
NON_SPEECH = {
    "music: chords + drums": music_chords,
    "music: plucked strings": music_strings,
    "music: organ + sung-like lead": music_pad_lead,
    "white noise": lambda s, r=RATE, seed=0: coloured_noise(s, r, seed, "white"),
    "pink noise": lambda s, r=RATE, seed=0: coloured_noise(s, r, seed, "pink"),
    "brown noise": lambda s, r=RATE, seed=0: coloured_noise(s, r, seed, "brown"),
    "door slams, knocks": door_slams,
    "laughter-like bursts": laughter,
}
