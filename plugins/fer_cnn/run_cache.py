"""Arrays a training run computes once before its first epoch (a teacher's logits, runtime crops),
kept in its checkpoint folder so that `--resume` reads them instead of computing them again."""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import numpy as np


def content_key(*parts: np.ndarray | bytes) -> str:
    """A short hash of arrays and bytes: the same content, the same key."""
    digest = hashlib.sha1()
    for part in parts:
        digest.update(part if isinstance(part, bytes) else np.ascontiguousarray(part).tobytes())
    return digest.hexdigest()[:12]


def cached_arrays(folder: str | Path, name: str, key: str,
                  make: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The arrays kept as `folder/name-key.npz`, or `make()`'s, written there (temp file, then rename)."""
    path = Path(folder) / f"{name}-{key}.npz"
    if path.is_file():
        with np.load(path) as kept:
            return {k: kept[k] for k in kept.files}
    arrays = make()
    tmp = path.with_name(path.name + ".part.npz")
    np.savez_compressed(tmp, **arrays)
    tmp.replace(path)
    return arrays
