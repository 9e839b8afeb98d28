"""The `fer-cnn` visual classifier: face crops -> EmotionScores, all crops in one compiled call."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from emofuse.labels import LABELS
from emofuse.plugins.litert import RECORD_KEY, LiteRTModel, choose_backend, litert_path
from emofuse.types import EmotionScores

from .artifacts import load_face_model, read_metadata, resolve_model_path, resolve_precision
from .predict import ZOOM, checked_face_view, predict_probabilities


class FerCnnClassifier:
    """Scores face crops (RGB or gray uint8, any size) with the FER2013-trained CNN.

    `model`: a .keras file (default: the shipped model). `flip_average`: also score each mirrored
    crop; `zoom_average`: score the centre of each 48x48 crop enlarged back; `zoom`: the share
    of the crop that zoomed view keeps (0.95: 46 of 48 pixels); `face_view`: also score the crop
    as it is (default: only when `zoom_average` is off). The logits of the views are averaged in
    one call; the default 2 views (zoom and mirror) score PublicTest 70.5 %, the face and its
    mirror 68.7 %, those 4 views with a 0.9 zoom 70.2 % (docs/models.md). `temperature`: divides
    the logits before the softmax; None uses the temperature stored in the model's metadata
    (fitted on PublicTest), or 1.0 without one.
    `backend`: "auto" (LiteRT when installed and the model's `.tflite` export is up to date, else
    Keras), "litert" or "keras" (see `emofuse.plugins.litert`; LiteRT starts ~5 s sooner, and
    the shipped export's int8 weights run ~3x faster at the same PublicTest accuracy).
    `precision` (Keras only): "auto" (bfloat16 where the CPU computes it natively, else float32),
    "float32" or "bfloat16"; bfloat16 is about 1.5x faster and changes PublicTest accuracy by
    under 0.1 point.
    """

    option_help = {
        "model": "a .keras face model, e.g. one `emofuse train face` wrote (its .json beside it); "
                 "default: the shipped model",
        "flip_average": "also score each mirrored crop and average (more accurate, a little slower)",
        "temperature": "divides the logits before the softmax; none: the model's calibrated one",
        "precision": "Keras only: auto, float32 or bfloat16",
        "zoom_average": "also score a zoomed-in view of each crop and average",
        "zoom": "share of the crop the zoomed view keeps, 0.5 to under 1 (0.95: 46 of 48 pixels)",
        "face_view": "also score the crop as it is (default: only when zoom_average is off)",
        "backend": "auto (LiteRT when its export is up to date, else Keras), litert or keras",
    }

    def __init__(self, model: str | Path | None = None, flip_average: bool = True,
                 temperature: float | None = None, precision: str = "auto", zoom_average: bool = True,
                 backend: str = "auto", face_view: bool | None = None, zoom: float = ZOOM) -> None:
        face_view = checked_face_view(face_view, bool(zoom_average), float(zoom))
        path = resolve_model_path(model)
        metadata = read_metadata(path)
        labels = tuple(metadata.get("labels", LABELS))
        if labels != LABELS:
            raise ValueError(f"{path}: model labels {labels} are not the canonical {LABELS}")
        self.model_path = path
        self.flip_average, self.zoom_average = bool(flip_average), bool(zoom_average)
        self.face_view, self.zoom = bool(face_view), float(zoom)
        self.temperature = float(temperature if temperature is not None else metadata.get("temperature", 1.0))
        if not self.temperature > 0:
            raise ValueError(f"temperature must be positive, got {self.temperature}")
        self.backend = choose_backend(backend, path)
        if self.backend == "litert":
            quantized = "int8" in str(metadata.get(RECORD_KEY, {}).get("quantization", ""))
            self.precision = "int8 weights" if quantized else "float32"
            self.model = LiteRTModel(litert_path(path))
        else:
            self.precision = resolve_precision(precision)
            self.model = load_face_model(path, self.precision)

    def classify(self, crops: Sequence[np.ndarray]) -> list[EmotionScores]:
        """One EmotionScores per crop, in order; [] for no crops."""
        if len(crops) == 0:
            return []
        probabilities = predict_probabilities(self.model, crops, self.flip_average, self.temperature,
                                              zoom_average=self.zoom_average, face_view=self.face_view,
                                              zoom=self.zoom)
        return [EmotionScores.from_array(row, normalize=True) for row in probabilities]

    def __repr__(self) -> str:
        return f"FerCnnClassifier({str(self.model_path)!r}, flip_average={self.flip_average}, zoom_average={self.zoom_average}, face_view={self.face_view}, zoom={self.zoom}, temperature={self.temperature}, precision={self.precision!r}, backend={self.backend!r})"
