"""Where the `fer-cnn` weights live, how they load, and the metadata file beside them.

A model `NAME.keras` has its metadata in `NAME.json`: labels, input size, temperature,
the training command and the PublicTest figures. Nothing here imports TensorFlow at import time.
"""
from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path

from emofuse.atomic import atomic_output
from emofuse.errors import EmofuseError
from emofuse.extras import require_tensorflow

MODEL_FILE = "fer_cnn.keras"


def default_model_path() -> Path:
    """The model shipped inside the package: emofuse/plugins/fer_cnn/fer_cnn.keras."""
    return Path(str(files("emofuse.plugins.fer_cnn") / MODEL_FILE))


def metadata_path(model_path: str | Path) -> Path:
    """`NAME.keras` -> `NAME.json`."""
    return Path(model_path).with_suffix(".json")


def resolve_model_path(model: str | Path | None) -> Path:
    """The model file to load (the shipped one when `model` is None); a clear error if it is missing."""
    path = default_model_path() if model is None else Path(model)
    if not path.is_file():
        if model is None:
            raise EmofuseError(
                f"the face model is not installed ({path} is missing); train one with "
                "`emofuse train face --data fer2013.csv` and pass it with --model FILE"
            )
        raise EmofuseError(f"{path}: no such face model file")
    return path


#: `precision` values of the face model: "auto" is bfloat16 where the CPU computes it natively.
PRECISIONS = ("auto", "float32", "bfloat16")


def cpu_has_bfloat16() -> bool:
    """True when this CPU has native bfloat16 arithmetic (AVX512-BF16 or AMX; read on Linux)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return any(flag in flags for flag in (" avx512_bf16", " amx_bf16"))


def resolve_precision(precision: str) -> str:
    """"auto" -> "bfloat16" or "float32" for this machine; anything else is checked and returned."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if precision == "auto":
        return "bfloat16" if cpu_has_bfloat16() else "float32"
    return precision


def load_face_model(model: str | Path | None = None, precision: str = "float32"):
    """Load a `fer-cnn` Keras model (inference only, no optimizer); TensorFlow is imported here.

    `precision="bfloat16"` computes in bfloat16 with the float32 weights (about 1.5x faster on
    CPUs with native bfloat16; `resolve_precision("auto")` picks it there).
    """
    path = resolve_model_path(model)
    precision = resolve_precision(precision)
    require_tensorflow("the Keras backend of fer-cnn (backend=keras, or LiteRT missing)")
    import keras

    try:
        loaded = keras.models.load_model(path, compile=False)
    except Exception as exc:  # Keras raises many types for a corrupt or foreign file
        raise EmofuseError(f"{path}: cannot load as a Keras face model ({type(exc).__name__}: {exc})") from None
    if precision == "float32":
        return loaded
    from .model import rebuild

    return rebuild(loaded, "mixed_bfloat16")


def read_metadata(model_path: str | Path) -> dict:
    """The metadata beside `model_path`, or {} when there is none."""
    path = metadata_path(model_path)
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise EmofuseError(f"{path}: unreadable model metadata ({exc})") from None


def write_metadata(model_path: str | Path, metadata: dict) -> Path:
    """Write `metadata` as JSON beside `model_path`, atomically."""
    path = metadata_path(model_path)
    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps(metadata, indent=2) + "\n")
    return path
