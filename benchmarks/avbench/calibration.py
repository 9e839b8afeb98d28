"""Calibration of each modality's segment scores against the clip's label: NLL, ECE, temperature."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from emofuse.calibration import expected_calibration_error, minimise_log_t
from emofuse.labels import LABELS

from .scoring import face_scores_at, voice_scores_at


def nll(probabilities: np.ndarray, labels: Sequence[int]) -> float:
    """Mean negative log-likelihood of integer `labels` under row probabilities."""
    p = np.asarray(probabilities, dtype=np.float64)
    y = np.asarray(labels, dtype=int)
    if len(y) == 0:
        return float("nan")
    return float(-np.mean(np.log(np.maximum(p[np.arange(len(y)), y], 1e-12))))


def ece(probabilities: np.ndarray, labels: Sequence[int], bins: int = 15) -> float:
    """Expected calibration error (the face model's own definition: 15 equal-width confidence bins)."""
    return expected_calibration_error(np.asarray(probabilities), np.asarray(labels), bins) if len(labels) else float("nan")


def modality_segments(records: Sequence[dict], modality: str, split: str | None = None):
    """(per-segment recorded inputs, clip labels) of the segments where `modality` spoke."""
    key = "face_crops" if modality == "face" else "voice_raw"
    inputs, labels = [], []
    for rec in records:
        if split is not None and rec["split"] != split:
            continue
        for seg in rec["segments"]:
            value = seg[key]
            if value is not None and len(value):
                inputs.append(value)
                labels.append(LABELS.index(rec["label"]))
    return inputs, np.asarray(labels, dtype=int)


def modality_probabilities(inputs, modality: str, temperature: float, voice_model_temperature: float = 1.0) -> np.ndarray:
    if not inputs:
        return np.zeros((0, len(LABELS)))
    if modality == "face":
        return np.stack([face_scores_at(x, temperature) for x in inputs])
    return np.stack([voice_scores_at(x, temperature, voice_model_temperature) for x in inputs])


def fit_modality_temperature(records, modality: str, split: str = "fit", voice_model_temperature: float = 1.0) -> float:
    """The temperature minimising the segment-level NLL of `modality` on `split`."""
    inputs, labels = modality_segments(records, modality, split)
    if not len(labels):
        return 1.0
    return minimise_log_t(lambda t: nll(modality_probabilities(inputs, modality, t, voice_model_temperature), labels))


def calibration_figures(records, modality: str, temperature: float, split: str,
                        voice_model_temperature: float = 1.0) -> dict:
    """Segment-level NLL, ECE and accuracy of `modality` at `temperature` on `split`."""
    inputs, labels = modality_segments(records, modality, split)
    p = modality_probabilities(inputs, modality, temperature, voice_model_temperature)
    return {"temperature": temperature, "segments": int(len(labels)), "nll": nll(p, labels), "ece": ece(p, labels),
            "accuracy": float((p.argmax(axis=1) == labels).mean()) if len(labels) else float("nan")}
