"""Synthetic RAVDESS-style audio for the voice tests (tiny files written with soundfile)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .conftest import SHARED_DATA

RAVDESS_DIR = SHARED_DATA / "ravdess"


def voice(seconds: float, rate: int, pitch: float = 140.0, seed: int = 0, level: float = 0.2) -> np.ndarray:
    """A voiced-sounding signal: a harmonic tone with vibrato and syllable-like loudness, plus a little noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    f0 = pitch * (1 + 0.05 * np.sin(2 * np.pi * 3 * t))
    phase = 2 * np.pi * np.cumsum(f0) / rate
    y = sum(np.sin(k * phase) / k for k in range(1, 8))
    envelope = 0.55 + 0.45 * np.sin(2 * np.pi * 4 * t) ** 2
    y = y * envelope + 0.02 * rng.normal(size=t.size)
    return (level * y / np.abs(y).max()).astype(np.float32)


def ravdess_name(emotion: int, actor: int, intensity: int = 1, statement: int = 1, repetition: int = 1) -> str:
    if emotion == 1:
        intensity = 1
    return f"03-01-{emotion:02d}-{intensity:02d}-{statement:02d}-{repetition:02d}-{actor:02d}"


def write_ravdess(root: Path, actors=(1, 2), emotions=range(1, 9), seconds: float = 1.2, rate: int = 16000,
                  suffix: str = ".flac", stereo_every: int = 0) -> list[Path]:
    """One file per (actor, emotion) in Actor_NN folders; every `stereo_every`-th file is stereo."""
    import soundfile as sf

    paths = []
    for actor in actors:
        folder = root / f"Actor_{actor:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        for emotion in emotions:
            y = voice(seconds, rate, pitch=100 + 25 * emotion, seed=actor * 10 + emotion)
            if stereo_every and len(paths) % stereo_every == 0:
                y = np.stack([y, 0.5 * y], axis=1)
            path = folder / (ravdess_name(emotion, actor) + suffix)
            sf.write(path, y, rate)
            paths.append(path)
    return paths
