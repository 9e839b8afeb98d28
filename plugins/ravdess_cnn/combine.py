"""`emofuse train voice --combine`: the networks of trained voice models in one ensemble.

Every network of every model gets an equal share of the averaged logits; the models must agree
on what a network sees (feature spec, trim, window), on its shape and on the training and
validation actors (so the combined model's held-out actors stay held out). The softmax temperature is
refitted on their validation actors (recorded in the `.json`), found under `--data`.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from emofuse.calibration import fit_temperature
from emofuse.errors import DatasetError

from .data import find_ravdess, format_actors

log = logging.getLogger(__name__)

#: What the networks of combined models must share (their `.json` keys).
SHARED_KEYS = ("feature_spec", "trim", "window_frames", "config", "labels", "train_actors", "val_actors")
#: The keys of `config` that shape a network (the others, epochs or learning rate, may differ).
SHAPE_KEYS = ("widths", "dense", "dropout", "frames")


def combine_voice_models(models: Sequence[str | Path], data: str | Path, output: str | Path,
                         cache_dir: str | Path | None = None) -> dict:
    """Save one model averaging every network of `models` to `output` (+ `.json`); return its metadata."""
    import keras

    from .cache import file_features
    from .features import normalize
    from .prosody import extractor_from_spec, raw_columns
    from .train import TrainConfig, save_model, utterance_logits

    started = time.time()
    metas = [_metadata(path) for path in models]
    for path, meta in zip(models[1:], metas[1:]):
        differs = [key for key in SHARED_KEYS if _shared(meta, key) != _shared(metas[0], key)]
        if differs:
            raise DatasetError(f"--combine {path}: its {differs[0]} differs from {models[0]}'s; only models with "
                               "the same features, trim, window, network shape and actors can be combined")
    networks = [network for path in models for network in _networks(path)]
    if len(networks) < 2:
        raise DatasetError(f"--combine needs at least two networks, got {len(networks)} in "
                           f"{', '.join(map(str, models))}")
    first = metas[0]
    config = {key: tuple(value) if isinstance(value, list) else value for key, value in first["config"].items()}
    cfg = TrainConfig(**config)
    extractor = extractor_from_spec(first["feature_spec"])
    val = find_ravdess(data, first["val_actors"]) if first.get("val_actors") else None
    temperature, val_accuracy = 1.0, None
    if val is not None and val.files:
        raw = raw_columns(first["feature_spec"])
        feats = [normalize(f, raw) for f in file_features(val.files, extractor, ("orig",), cache_dir, first["trim"])["orig"]]
        # the ensemble's logits: the networks' mean (the networks of two models may share layer names,
        # so they are not wired into one Keras model until save_model rebuilds them)
        logits = np.mean([utterance_logits(network.predict_on_batch, feats, cfg.frames) for network in networks], axis=0)
        temperature = fit_temperature(logits, val.labels)
        val_accuracy = float(np.mean(logits.argmax(1) == val.labels))
    meta = {
        **first,
        "temperature": temperature,
        "val_accuracy": val_accuracy,
        "members": len(networks),
        "member_val_accuracy": [a for m in metas for a in m.get("member_val_accuracy", [None] * m.get("members", 1))],
        "combined_from": [{"model": str(path), **{k: m.get(k) for k in ("members", "seed", "epochs", "augmentations",
                                                                          "condition_copies", "condition_strength",
                                                                          "consistency",
                                                                          "val_accuracy")}}
                          for path, m in zip(models, metas)],
        "wall_seconds": round(time.time() - started, 1),
        "keras": keras.__version__,
    }
    save_model(networks, extractor.n_features, cfg, temperature, meta, output)
    log.info("saved %s: %d networks (validation actors %s: accuracy %s, temperature %.2f)", output, len(networks),
             format_actors(first.get("val_actors", [])) or "none",
             "n/a" if val_accuracy is None else f"{val_accuracy:.3f}", temperature)
    return meta


def _shared(meta: dict, key: str):
    """What of `meta[key]` combined models must agree on (of `config`, only the network's shape)."""
    value = meta.get(key)
    return {k: value.get(k) for k in SHAPE_KEYS} if key == "config" and isinstance(value, dict) else value


def _metadata(path: str | Path) -> dict:
    from .classifier import read_metadata

    if not Path(path).is_file():
        raise DatasetError(f"--combine {path}: no such model file")
    meta = {"trim": "energy", **read_metadata(Path(path))}     # models from before `--trim` were energy-trimmed
    missing = [key for key in SHARED_KEYS if key not in meta]
    if missing:
        raise DatasetError(f"--combine {path}: its .json has no {missing[0]} (not a ravdess-cnn training output)")
    return meta


def _networks(path: str | Path) -> list:
    """The networks inside the saved ensemble `path` (a clear error when it cannot be loaded)."""
    import keras

    from .model import load_voice_model

    try:
        model = load_voice_model(path)
    except (OSError, ValueError, KeyError) as exc:
        raise DatasetError(f"--combine {path}: cannot load the model ({exc})") from exc
    return [layer for layer in model.layers if isinstance(layer, keras.Model)] or [model]
