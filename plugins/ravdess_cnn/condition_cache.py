"""Features of RAVDESS files under a recording condition, computed once and cached on disk.

The condition is applied to the file as recorded (silence included), then the usual pipeline
runs: silence (or non-speech) trimmed, extractor features (not normalised). `condition` is a name of
`conditions.CONDITIONS` or `random:N` (copy N of the training augmentation: a random condition
at a random strength per file, seeded by N and the file's position; `random-STRENGTH:N` the same
at another of `conditions.STRENGTHS`, see `copy_name`).
"""
from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from emofuse.atomic import atomic_output

from .cache import default_cache_dir, trim_key
from .conditions import STRENGTHS, apply_condition, random_condition
from .data import RavdessFile, load_audio
from .features import trim_utterance

log = logging.getLogger(__name__)


def copy_name(k: int, strength: str = "table") -> str:
    """The condition name of random-condition copy `k` at `strength`: `random:K` for the table's
    strengths (the shipped recipe's copies and cache entries), `random-STRENGTH:K` otherwise."""
    if strength not in STRENGTHS:
        raise ValueError(f"unknown condition strength {strength!r}; choose from {', '.join(STRENGTHS)}")
    return f"random:{k}" if strength == "table" else f"random-{strength}:{k}"


def is_copy(variant: str) -> bool:
    """Whether a training variant's name is a random-condition copy (`copy_name`)."""
    return variant.startswith("random") and ":" in variant


def condition_waveform(condition: str, y: np.ndarray, rate: int, position: int) -> tuple[np.ndarray, int]:
    """File number `position` under `condition` (a table name or a `copy_name`)."""
    if is_copy(condition):
        prefix, k = condition.split(":")
        strength = prefix[len("random-"):] or "table"
        return random_condition(y, rate, np.random.default_rng([int(k), position]), strength)
    return apply_condition(condition, y, rate, seed=position)


def condition_features(files: Sequence[RavdessFile], extractor, condition: str,
                       cache_dir: str | Path | None = None, trim: str = "energy") -> list[np.ndarray]:
    """One (frames, features) array per file under `condition`, in `files` order (cached),
    trimmed the `trim` way (`features.TRIMS`) after the condition is applied."""
    cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
    h = hashlib.sha256(json.dumps({"condition": condition, "spec": dict(extractor.feature_spec),
                                   **trim_key(trim)}, sort_keys=True).encode())
    for f in files:
        st = f.path.stat()
        h.update(f"{f.path.resolve()}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    path = cache_dir / f"cond-{condition.replace(':', '')}-{h.hexdigest()[:16]}.npz"
    if path.exists():
        try:
            with np.load(path) as npz:
                return list(np.split(npz["x"], npz["offsets"][1:-1]))
        except Exception:  # a broken cache entry is rebuilt
            log.warning("ignoring unreadable feature cache %s", path)
    started, feats = time.time(), []
    for i, f in enumerate(files):
        y, rate = load_audio(f.path)
        y, rate = condition_waveform(condition, y, rate, i)
        feats.append(extractor.extract(trim_utterance(y, rate, trim), rate))
        if (i + 1) % 200 == 0:
            log.info("features under %s: %d/%d files (%.0f s)", condition, i + 1, len(files), time.time() - started)
    cache_dir.mkdir(parents=True, exist_ok=True)
    with atomic_output(path) as tmp:   # a unique temp name: parallel runs may write the same entry
        np.savez(tmp, x=np.concatenate(feats), offsets=np.cumsum([0] + [len(x) for x in feats]))
    return feats
