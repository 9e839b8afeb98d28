"""The `ravdess-cnn` audio classifier: the shipped voice model behind the AudioClassifier protocol."""
from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from emofuse.calibration import softmax
from emofuse.errors import EmofuseError, IncompatibleComponentsError
from emofuse.extras import require_tensorflow
from emofuse.labels import LABELS, RAVDESS_LABELS, RAVDESS_TO_CANONICAL
from emofuse.plugins.litert import LiteRTModel, choose_backend, litert_path
from emofuse.plugins.mfcc import specs_differ

from .features import normalize, split_windows
from .prosody import extractor_name, raw_columns

WEIGHTS = "ravdess_cnn.keras"

#: Inputs whose loudest (smoothed) mel band stays under this level (dB) in 90 % of frames are
#: silence. The runner already skips windows that `emofuse.audio.is_silent` calls silent; this
#: catches all-padding and near-zero inputs given to `classify` directly.
SILENCE_BAND_DB = -60.0

#: RAVDESS label -> index of its canonical label (calm and neutral both go to neutral).
_TO_CANONICAL = np.zeros((len(RAVDESS_LABELS), len(LABELS)), dtype=np.float64)
for _i, _label in enumerate(RAVDESS_LABELS):
    _TO_CANONICAL[_i, LABELS.index(RAVDESS_TO_CANONICAL[_label])] = 1.0


def read_metadata(model_path: Path) -> dict:
    """The `.json` written beside a trained model (feature spec, window, temperature, ...)."""
    meta_path = Path(model_path).with_suffix(".json")
    try:
        return json.loads(meta_path.read_text())
    except FileNotFoundError:
        raise EmofuseError(f"{meta_path}: missing (the model's feature spec is stored there)") from None
    except (OSError, ValueError) as exc:
        raise EmofuseError(f"{meta_path}: unreadable model metadata ({exc})") from None


def model_extractor_name(model: str | Path | None = None) -> str:
    """The extractor the model (the shipped one when None) was trained on, from its `.json`
    alone (nothing loaded); `mfcc` when that cannot be read (creating the classifier then says why)."""
    try:
        if model is None:
            with resources.as_file(resources.files("emofuse.plugins.ravdess_cnn") / WEIGHTS) as path:
                meta = read_metadata(path)
        else:
            meta = read_metadata(Path(model))
        return extractor_name(meta["feature_spec"])
    except (EmofuseError, KeyError, TypeError):
        return "mfcc"


def to_canonical(probabilities: np.ndarray) -> np.ndarray:
    """(..., 8) RAVDESS probabilities -> (..., 7) canonical ones (calm + neutral summed)."""
    return np.asarray(probabilities, dtype=np.float64) @ _TO_CANONICAL


def _load_keras_model(path: Path, threads: int | None):
    require_tensorflow("the Keras backend of ravdess-cnn (backend=keras, or LiteRT missing)")
    if threads:
        from .train import set_threads

        set_threads(threads)
    from .model import load_voice_model

    try:
        return load_voice_model(path)
    except Exception as exc:  # keras raises many types for a broken file
        raise EmofuseError(f"{path}: cannot load the voice model ({exc})") from None


class RavdessCnnClassifier:
    """Scores MFCC windows over the 7 canonical labels; `raw` keeps RAVDESS's 8 probabilities.

    Options: `model=PATH` (a `.keras` file with its `.json` beside it; default: the shipped
    weights), `threads=N` (cap the CPU threads), `backend` ("auto": LiteRT when installed and
    the model's `.tflite` export is up to date, else Keras; "litert"; "keras"; see
    `emofuse.plugins.litert`). Windows shorter than the training window are repeat-padded,
    longer ones split into overlapping windows whose logits are averaged, all in one call. Probabilities are temperature-scaled (temperature fitted
    on the validation actors). Silent or all-constant input gives None.
    """

    option_help = {
        "model": "a .keras voice model, e.g. one `emofuse train voice` wrote (its .json beside it); "
                 "default: the shipped weights",
        "threads": "cap the CPU threads the network uses (none: the library's choice)",
        "backend": "auto (LiteRT when its export is up to date, else Keras), litert or keras",
    }

    def __init__(self, model: str | Path | None = None, threads: int | None = None, backend: str = "auto") -> None:
        with contextlib.ExitStack() as stack:
            if model is None:
                ref = resources.files("emofuse.plugins.ravdess_cnn") / WEIGHTS
                path = stack.enter_context(resources.as_file(ref))
            else:
                path = Path(model)
            if not path.is_file():
                raise EmofuseError(f"{path}: voice model weights not found (train them with `emofuse train voice`)")
            self.meta = read_metadata(path)
            self.model_path = path
            self.backend = choose_backend(backend, path)
            if self.backend == "litert":
                self._model = LiteRTModel(litert_path(path), threads)
            else:
                self._model = _load_keras_model(path, threads)
        self.feature_spec: dict[str, Any] = dict(self.meta["feature_spec"])
        self.window_frames = int(self.meta["window_frames"])
        self.min_window = float(self.meta["min_window"])
        self.temperature = float(self.meta.get("temperature", 1.0))
        self.n_features = int(self.feature_spec["n_features"])

    def check_features(self, feature_spec: Mapping[str, Any]) -> None:
        differences = specs_differ(self.feature_spec, dict(feature_spec))
        if differences:
            raise IncompatibleComponentsError(
                "audio classifier 'ravdess-cnn' was trained on other features than the extractor gives ("
                + "; ".join(f"{d.replace(' != ', ' expected, got ')}" for d in differences)
                + f"); use the '{extractor_name(self.feature_spec)}' extractor with the options the model was "
                "trained with (audio-features=auto picks it)"
            )

    def classify(self, features: np.ndarray):
        from emofuse.types import EmotionScores

        x = np.asarray(features, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise IncompatibleComponentsError(
                f"ravdess-cnn expects features shaped (frames, {self.n_features}), got {x.shape}")
        if x.shape[0] == 0 or not np.all(np.isfinite(x)) or self.is_silent(x):
            return None
        windows = split_windows(normalize(x, raw_columns(self.feature_spec)), self.window_frames)
        logits = np.asarray(self._model.predict_on_batch(windows)).mean(axis=0)
        raw = softmax(logits)
        return EmotionScores.from_array(to_canonical(raw), raw=dict(zip(RAVDESS_LABELS, raw.tolist())),
                                        normalize=True)

    def is_silent(self, features: np.ndarray) -> bool:
        """True for constant (padding) input or input whose loudest mel band stays very quiet."""
        x = np.asarray(features, dtype=np.float64)
        if float(x.std(axis=0).max()) < 1e-4:
            return True
        spec = self.feature_spec
        if spec["kind"] == "logmel":
            mel = x
        else:
            from scipy.fft import idct

            mel = idct(x[:, : spec["n_mfcc"]], type=2, n=spec["n_mels"], norm="ortho", axis=1)
        return float(np.percentile(mel.max(axis=1), 90)) < SILENCE_BAND_DB
