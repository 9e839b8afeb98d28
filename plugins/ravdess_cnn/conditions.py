"""Recording conditions for the voice model: noise, rooms, telephone, lossy codecs, pitch, tempo.

One function per condition, `apply_condition(name, samples, rate, seed)` by name. Used by
`benchmarks/voice_robustness.py` (the robustness table) and, with randomised strengths, as
training augmentation (`emofuse train voice --augment conditions`). Input: mono float audio;
output: (samples, rate), the rate may change (the telephone channel returns 8 kHz).
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: The robustness table's conditions, in order.
CONDITIONS = (
    "clean", "white20", "white10", "white5", "pink20", "pink10", "pink5", "reverb", "telephone",
    "mp3-32k", "aac-32k", "pitch-2", "pitch+2", "speed0.9", "speed1.1",
)
TELEPHONE_RATE = 8000
#: Random-condition copies of every training file with `--augment conditions` (the shipped recipe).
CONDITION_COPIES = 6
#: The robustness table's rooms: RT60 (s) and direct-to-reverberant ratio (dB) ranges.
ROOM_RT60_S = (0.3, 0.8)
ROOM_DRR_DB = (-3.0, 3.0)


def noise(n: int, colour: str, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS white or pink (1/f power) noise."""
    if colour == "white":
        x = rng.standard_normal(n)
    elif colour == "pink":
        spectrum = np.fft.rfft(rng.standard_normal(n))
        f = np.arange(len(spectrum), dtype=np.float64)
        f[0] = 1.0
        x = np.fft.irfft(spectrum / np.sqrt(f), n)
    else:
        raise ValueError(f"unknown noise colour {colour!r}")
    return x / (np.sqrt(np.mean(x ** 2)) + 1e-12)


def active_power(x: np.ndarray, rate: int, dynamic_db: float = 30.0) -> float:
    """Mean power over the 25 ms frames within `dynamic_db` of the loudest (the speech level)."""
    frame = max(1, int(0.025 * rate))
    n = max(1, len(x) // frame)
    energy = np.mean(np.asarray(x[: n * frame], dtype=np.float64).reshape(n, -1) ** 2, axis=1)
    active = energy >= energy.max() * 10 ** (-dynamic_db / 10)
    return float(energy[active].mean()) if active.any() and energy.max() > 0 else 0.0


def add_noise(x: np.ndarray, rate: int, snr_db: float, colour: str, rng: np.random.Generator) -> np.ndarray:
    """`x` plus white/pink noise at `snr_db` against the active speech power."""
    nz = noise(len(x), colour, rng)
    return x + nz * np.sqrt(active_power(x, rate) / 10 ** (snr_db / 10))


def room_impulse(rate: int, rng: np.random.Generator, rt60_range: tuple[float, float] = ROOM_RT60_S,
                 drr_range: tuple[float, float] = ROOM_DRR_DB) -> np.ndarray:
    """Synthetic room impulse response: direct path, then exponentially decaying noise (RT60 drawn
    from `rt60_range` s, direct-to-reverberant ratio from `drr_range` dB)."""
    rt60 = rng.uniform(*rt60_range)
    drr_db = rng.uniform(*drr_range)
    n = int(rt60 * rate)
    t = np.arange(n) / rate
    tail = rng.standard_normal(n) * np.exp(-6.91 * t / rt60)
    tail[: int(0.003 * rate)] = 0.0
    tail *= np.sqrt(10 ** (-drr_db / 10) / np.sum(tail ** 2))
    tail[0] = 1.0
    return tail


def reverberate(x: np.ndarray, rate: int, rng: np.random.Generator, rt60_range: tuple[float, float] = ROOM_RT60_S,
                drr_range: tuple[float, float] = ROOM_DRR_DB) -> np.ndarray:
    """`x` in a room drawn by `room_impulse` (the table's rooms unless ranges are given), peak level kept."""
    from scipy.signal import fftconvolve

    wet = fftconvolve(x, room_impulse(rate, rng, rt60_range, drr_range))[: len(x)]
    return wet * (np.max(np.abs(x)) / (np.max(np.abs(wet)) + 1e-12))


def telephone(x: np.ndarray, rate: int) -> np.ndarray:
    """Resample to 8 kHz and band-pass 300-3400 Hz (4th-order Butterworth); returns 8 kHz audio."""
    from scipy.signal import butter, resample_poly, sosfiltfilt

    narrow = resample_poly(x, TELEPHONE_RATE, rate) if rate != TELEPHONE_RATE else np.asarray(x, np.float64)
    return sosfiltfilt(butter(4, (300, 3400), btype="bandpass", fs=TELEPHONE_RATE, output="sos"), narrow)


def ffmpeg_exe() -> str:
    found = shutil.which("ffmpeg")
    if found:
        return found
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def codec_roundtrip(x: np.ndarray, rate: int, codec: str, bitrate: str = "32k") -> np.ndarray:
    """Encode with ffmpeg (`mp3`: libmp3lame, `aac`: native AAC) at `bitrate`, decode back to `rate`."""
    import soundfile as sf

    encoder, ext = {"mp3": ("libmp3lame", "mp3"), "aac": ("aac", "m4a")}[codec]
    with tempfile.TemporaryDirectory() as tmp:
        src, enc, dec = Path(tmp) / "in.wav", Path(tmp) / f"enc.{ext}", Path(tmp) / "out.wav"
        sf.write(src, np.clip(x, -1, 1).astype(np.float32), rate, subtype="PCM_16")
        run = [ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-y"]
        subprocess.run(run + ["-i", str(src), "-c:a", encoder, "-b:a", bitrate, str(enc)], check=True)
        subprocess.run(run + ["-i", str(enc), "-ar", str(rate), "-ac", "1", str(dec)], check=True)
        y, _ = sf.read(dec, dtype="float32")
    return y


def pitch_shift(x: np.ndarray, rate: int, semitones: float) -> np.ndarray:
    import librosa

    return librosa.effects.pitch_shift(np.asarray(x, np.float32), sr=rate, n_steps=semitones, res_type="soxr_hq")


def change_speed(x: np.ndarray, speed: float) -> np.ndarray:
    """Tempo change by `speed` (1.1: 10 % faster) with the pitch kept (phase vocoder)."""
    import librosa

    return librosa.effects.time_stretch(np.asarray(x, np.float32), rate=speed)


def apply_condition(name: str, samples: np.ndarray, rate: int, seed: int = 0) -> tuple[np.ndarray, int]:
    """(samples, rate) of mono `samples` under condition `name` (see CONDITIONS); peaks kept under 1."""
    x = np.asarray(samples, dtype=np.float64)
    rng = np.random.default_rng(seed)
    if name == "clean":
        out = x
    elif name.startswith(("white", "pink")):
        colour = "white" if name.startswith("white") else "pink"
        out = add_noise(x, rate, float(name[len(colour):]), colour, rng)
    elif name == "reverb":
        out = reverberate(x, rate, rng)
    elif name == "telephone":
        out, rate = telephone(x, rate), TELEPHONE_RATE
    elif name in ("mp3-32k", "aac-32k"):
        out = codec_roundtrip(x, rate, name[:3], name[4:])
    elif name.startswith("pitch"):
        out = pitch_shift(x, rate, float(name[5:]))
    elif name.startswith("speed"):
        out = change_speed(x, float(name[5:]))
    else:
        raise ValueError(f"unknown condition {name!r}; conditions: {', '.join(CONDITIONS)}")
    return _peak_safe(out), rate


def _peak_safe(out: np.ndarray) -> np.ndarray:
    """float32 audio with its peak brought under 1 (0.99) when it was over."""
    out = np.asarray(out, dtype=np.float64)
    peak = float(np.max(np.abs(out))) if out.size else 0.0
    return (out * (0.99 / peak) if peak > 0.99 else out).astype(np.float32)


@dataclass(frozen=True)
class Strength:
    """How hard the training copies' random conditions are (`random_condition`)."""
    snr_db: tuple[float, float]
    semitones: float
    speed: tuple[float, float]
    rt60: tuple[float, float]
    drr_db: tuple[float, float]


#: "table": around the robustness table's own strengths (the shipped recipe's copies); "hard": past
#: them (noise down to 0 dB, longer and wetter rooms, pitch +-3, tempo 0.8-1.2), so the table's
#: strongest conditions sit inside what training saw instead of at its edge; "noisy": the table's
#: copies with only the noise 5 dB harder (the same draws, so every other copy is the table's own).
STRENGTHS = {
    "table": Strength(snr_db=(5.0, 25.0), semitones=2.5, speed=(0.85, 1.15), rt60=ROOM_RT60_S, drr_db=ROOM_DRR_DB),
    "hard": Strength(snr_db=(0.0, 20.0), semitones=3.0, speed=(0.8, 1.2), rt60=(0.3, 1.2), drr_db=(-6.0, 3.0)),
    "noisy": Strength(snr_db=(0.0, 20.0), semitones=2.5, speed=(0.85, 1.15), rt60=ROOM_RT60_S, drr_db=ROOM_DRR_DB),
}


def random_condition(samples: np.ndarray, rate: int, rng: np.random.Generator,
                     strength: str = "table") -> tuple[np.ndarray, int]:
    """Training augmentation: one condition of the table at a random strength drawn from
    `STRENGTHS[strength]` (noise SNR, pitch, tempo, room); codecs and telephone as in the table."""
    s = STRENGTHS[strength]
    kind = ("noise", "reverb", "telephone", "codec", "pitch", "speed")[rng.integers(6)]
    seed = int(rng.integers(2 ** 31))
    if kind == "noise":
        colour = ("white", "pink")[rng.integers(2)]
        return apply_condition(f"{colour}{rng.uniform(*s.snr_db):.1f}", samples, rate, seed)
    if kind == "codec":
        return apply_condition(("mp3-32k", "aac-32k")[rng.integers(2)], samples, rate, seed)
    if kind == "pitch":
        return apply_condition(f"pitch{rng.uniform(-s.semitones, s.semitones):+.2f}", samples, rate, seed)
    if kind == "speed":
        return apply_condition(f"speed{rng.uniform(*s.speed):.3f}", samples, rate, seed)
    if kind == "reverb":   # seeded as apply_condition's "reverb", so "table" gives its rooms exactly
        x = np.asarray(samples, np.float64)
        return _peak_safe(reverberate(x, rate, np.random.default_rng(seed), s.rt60, s.drr_db)), rate
    return apply_condition(kind, samples, rate, seed)
