"""Run the shipped networks with LiteRT (TensorFlow Lite) instead of TensorFlow.

The models are trained and saved by Keras (`NAME.keras`); `export_litert` also writes
`NAME.tflite`, the same network converted (float32: outputs equal to 1e-5; or with int8
weights, `quantize=True`), and records in `NAME.json` which `.keras` file it was made from
(its SHA-256). Importing TensorFlow and loading and compiling the Keras models cost ~5 s at the
start of every `emofuse analyze`; LiteRT starts in ~0.1 s. With `backend="auto"` a plugin uses LiteRT when the `ai-edge-litert` package is
installed and an up-to-date `.tflite` sits beside the `.keras`, else Keras.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from emofuse.atomic import atomic_output
from emofuse.errors import EmofuseError

#: `backend` values of the network plugins.
BACKENDS = ("auto", "litert", "keras")

#: Key of the export record in the model's .json metadata.
RECORD_KEY = "litert"


def litert_path(keras_path: str | Path) -> Path:
    """`NAME.keras` -> `NAME.tflite`."""
    return Path(keras_path).with_suffix(".tflite")


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def litert_available() -> bool:
    """True when the LiteRT interpreter (package `ai-edge-litert`) can be imported."""
    try:
        from ai_edge_litert.interpreter import Interpreter  # noqa: F401
    except ImportError:
        return False
    return True


def stale_reason(keras_path: str | Path) -> str | None:
    """Why the `.tflite` beside `keras_path` cannot stand in for it (None: it can)."""
    tflite = litert_path(keras_path)
    if not tflite.is_file():
        return f"{tflite.name} is missing"
    meta_path = Path(keras_path).with_suffix(".json")
    try:
        record = json.loads(meta_path.read_text()).get(RECORD_KEY) or {}
    except (OSError, ValueError):
        record = {}
    if record.get("keras_sha256") != file_sha256(keras_path):
        return f"{tflite.name} was not exported from this {Path(keras_path).name} (export it again)"
    return None


def choose_backend(backend: str, keras_path: str | Path) -> str:
    """"litert" or "keras" for `keras_path`; "auto" prefers LiteRT when it can be used."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if backend == "keras":
        return "keras"
    reason = None if litert_available() else "the ai-edge-litert package is not installed"
    reason = reason or stale_reason(keras_path)
    if reason is None:
        return "litert"
    if backend == "litert":
        raise EmofuseError(f"{keras_path}: cannot run with LiteRT: {reason}")
    return "keras"


def export_litert(keras_path: str | Path, model=None, quantize: bool = False) -> Path:
    """Convert the Keras model at `keras_path` (or the already loaded float32 `model`) to
    `NAME.tflite` and record the export in `NAME.json` (which must exist). TensorFlow is needed.

    `quantize`: dynamic-range quantisation (weights stored as int8, activations quantised on
    the fly): about 3x faster convolutions on CPUs; measure the accuracy it keeps.
    """
    import tensorflow as tf

    keras_path = Path(keras_path)
    meta_path = keras_path.with_suffix(".json")
    if not meta_path.is_file():
        raise EmofuseError(f"{meta_path}: missing; write the model's metadata before exporting it")
    if model is None:
        import keras

        model = keras.models.load_model(keras_path, compile=False)
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if quantize:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    blob = converter.convert()
    out = litert_path(keras_path)
    with atomic_output(out) as tmp:
        tmp.write_bytes(blob)
    metadata = json.loads(meta_path.read_text())
    metadata[RECORD_KEY] = {"file": out.name, "keras_sha256": file_sha256(keras_path),
                            "quantization": "dynamic-range (int8 weights)" if quantize else "none (float32)"}
    with atomic_output(meta_path) as tmp:
        tmp.write_text(json.dumps(metadata, indent=2) + "\n")
    return out


class LiteRTModel:
    """A `.tflite` network as a function of a float32 batch -> float32 outputs.

    Also answers `predict_on_batch(x)` and `output_shape` like the Keras model it replaces.
    The input may change size from call to call (batch, frames); the interpreter is resized
    only when it does. One object is not to be called from two threads at once.
    """

    def __init__(self, path: str | Path, threads: int | None = None) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self.path = Path(path)
        try:
            self._interpreter = Interpreter(model_path=str(self.path), num_threads=threads)
        except Exception as exc:  # the runtime raises ValueError/RuntimeError for a broken file
            raise EmofuseError(f"{self.path}: cannot load as a LiteRT model ({exc})") from None
        self._input = self._interpreter.get_input_details()[0]
        self._output = self._interpreter.get_output_details()[0]
        self.output_shape = tuple(None if d < 0 else int(d) for d in self._output["shape_signature"])
        self._shape: tuple[int, ...] | None = None
        from emofuse.quiet import quiet_native_stderr

        with quiet_native_stderr():  # the first allocation prints "INFO: Created ... XNNPACK delegate"
            self._interpreter.allocate_tensors()

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(x, dtype=np.float32)
        if x.shape != self._shape:
            self._interpreter.resize_tensor_input(self._input["index"], x.shape, strict=False)
            self._interpreter.allocate_tensors()
            self._shape = x.shape
        self._interpreter.set_tensor(self._input["index"], x)
        self._interpreter.invoke()
        return self._interpreter.get_tensor(self._output["index"]).copy()

    predict_on_batch = __call__

    def __repr__(self) -> str:
        return f"LiteRTModel({str(self.path)!r})"
