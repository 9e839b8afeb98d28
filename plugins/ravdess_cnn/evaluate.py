"""Measure a `ravdess-cnn` model on RAVDESS files: 8-class metrics plus 7-class accuracy."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from emofuse.evaluation import evaluate_predictions
from emofuse.labels import LABELS, RAVDESS_LABELS, RAVDESS_TO_CANONICAL

from .cache import file_features
from .data import RavdessIndex, find_ravdess
from .features import normalize
from .prosody import extractor_from_spec, raw_columns


def evaluate_voice_model(data: str | Path, actors: Sequence[int] | None = None, model: str | Path | None = None,
                         cache_dir: str | Path | None = None, threads: int | None = None,
                         condition: str | None = None) -> dict:
    """Metrics of the model over every RAVDESS file under `data` (or only those of `actors`).

    Whole utterances are scored as in training (trimmed the model's way, windows averaged). With
    `condition` (a name of `conditions.CONDITIONS`) every file is first put under that recording
    condition, as the robustness table does. Returns evaluate_predictions' dict (accuracy,
    macro_f1, n, per_class, confusion, labels) plus `accuracy_7` (after mapping to the canonical
    labels, calm -> neutral), `confusion_7`, `actors`, `skipped` (non-RAVDESS audio names), the
    model's training actors, `trim` and `condition`.
    """
    from .classifier import RavdessCnnClassifier

    index = find_ravdess(data, actors)
    classifier = RavdessCnnClassifier(model=model, threads=threads)
    trim = classifier.meta.get("trim", "energy")
    metrics = score_files(classifier, index, condition, cache_dir, trim)
    metrics.update({
        "actors": index.actors,
        "skipped": index.skipped,
        "model": str(classifier.model_path),
        "model_train_actors": list(classifier.meta.get("train_actors", [])),
        "trim": trim,
        "condition": condition or "clean",
    })
    return metrics


def score_files(classifier, index: RavdessIndex, condition: str | None, cache_dir: str | Path | None,
                trim: str) -> dict:
    """8-class and 7-class metrics of `classifier` on `index`'s files, put under `condition` first
    (None: the files as they are, from the training feature cache), trimmed the `trim` way."""
    from emofuse.calibration import softmax

    from .classifier import to_canonical
    from .condition_cache import condition_features
    from .train import utterance_logits

    extractor = extractor_from_spec(classifier.feature_spec)
    classifier.check_features(extractor.feature_spec)
    raw = raw_columns(classifier.feature_spec)
    if condition is None:
        feats = file_features(index.files, extractor, ("orig",), cache_dir, trim)["orig"]
    else:
        feats = condition_features(index.files, extractor, condition, cache_dir, trim)
    probs = softmax(utterance_logits(classifier._model.predict_on_batch, [normalize(f, raw) for f in feats],
                                     classifier.window_frames))
    y_true = index.labels
    metrics = evaluate_predictions(y_true, probs.argmax(axis=1), RAVDESS_LABELS)
    canonical = np.asarray([LABELS.index(RAVDESS_TO_CANONICAL[label]) for label in RAVDESS_LABELS])
    metrics_7 = evaluate_predictions(canonical[y_true], to_canonical(probs).argmax(axis=1), LABELS)
    metrics.update({
        "accuracy_7": metrics_7["accuracy"],
        "macro_f1_7": metrics_7["macro_f1"],
        "confusion_7": metrics_7["confusion"],
        "labels_7": list(LABELS),
    })
    return metrics
