"""What made a timeline, so that it can be made again: the emofuse version, every setting, and
the file and SHA-256 of each model the components loaded."""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import math
from pathlib import Path
from typing import Any


@functools.lru_cache(maxsize=32)
def _sha256(path: str, size: int, mtime: float) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file (cached while its size and modification time stay the same)."""
    stat = Path(path).stat()
    return _sha256(str(path), stat.st_size, stat.st_mtime)


def _plain(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "all" if value > 0 else str(value)
    if isinstance(value, dict) or hasattr(value, "items"):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value if isinstance(value, (str, int, float, bool)) or value is None else str(value)


def settings_of(options) -> dict[str, Any]:
    """Every field of AnalysisOptions, JSON-ready (component names resolved: "auto" -> what ran)."""
    out = {f.name: _plain(getattr(options, f.name)) for f in dataclasses.fields(options)}
    for kind in ("face_embedder", "voice_activity"):
        out[kind] = options.name_of(kind)
    return out


def models_of(components: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Kind -> {"file", "sha256"} for each built component that says which model file it loaded
    (a `model_path` attribute)."""
    out = {}
    for kind, component in components.items():
        path = getattr(component, "model_path", None)
        if path and Path(path).is_file():
            out[kind] = {"file": Path(path).name, "sha256": file_sha256(path)}
    return out


def provenance(options, components: dict[str, Any]) -> dict[str, Any]:
    from emofuse import __version__

    return {"emofuse": __version__, "settings": settings_of(options), "models": models_of(components)}
