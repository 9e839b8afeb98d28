"""A learned late fusion: multinomial logistic regression on the two score vectors (numpy only).

Features of a segment: ``log p_face`` (7, zeros when no face), ``log p_voice`` (7, zeros when
silent), a face-present flag, a voice-present flag, and a bias. The model predicts the clip's
label for each segment; a clip's verdict is the mean over its segments, as for every strategy.
Each clip weighs the same in training (its segments share weight 1).
"""
from __future__ import annotations

import numpy as np

from emofuse.labels import LABELS

from .scoring import cols, softmax_rows

LOG_FLOOR = 1e-4


def features(table) -> np.ndarray:
    """(n segments, 17) feature matrix from a segment table's face_* and voice_* columns."""
    parts = []
    flags = []
    for group in ("face", "voice"):
        p = table[cols(group)].to_numpy(float)
        present = ~np.isnan(p).any(axis=1)
        logp = np.where(present[:, None], np.log(np.maximum(np.nan_to_num(p, nan=1.0), LOG_FLOOR)), 0.0)
        parts.append(logp)
        flags.append(present.astype(float)[:, None])
    return np.hstack([*parts, *flags, np.ones((len(table), 1))])


def segment_weights(table) -> np.ndarray:
    counts = table.groupby("clip")["clip"].transform("size").to_numpy(float)
    return 1.0 / counts


def fit(x: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None, l2: float = 1e-2,
        steps: int = 3000, lr: float = 0.05) -> np.ndarray:
    """Weights W (features, classes) minimising the weighted cross-entropy + l2 * |W|^2 (bias not penalised).

    Full-batch Adam; the problem is convex, so it converges to the same optimum from zero.
    """
    n, d = x.shape
    k = len(LABELS)
    w_s = np.ones(n) if weights is None else np.asarray(weights, float)
    w_s = w_s / w_s.sum()
    onehot = np.eye(k)[np.asarray(y, int)]
    W = np.zeros((d, k))
    m = np.zeros_like(W)
    v = np.zeros_like(W)
    penalty = np.ones((d, 1))
    penalty[-1] = 0.0
    for t in range(1, steps + 1):
        p = softmax_rows(x @ W)
        grad = x.T @ ((p - onehot) * w_s[:, None]) + 2 * l2 * W * penalty
        m = 0.9 * m + 0.1 * grad
        v = 0.999 * v + 0.001 * grad * grad
        W -= lr * (m / (1 - 0.9 ** t)) / (np.sqrt(v / (1 - 0.999 ** t)) + 1e-8)
    return W


def predict(W: np.ndarray, x: np.ndarray) -> np.ndarray:
    return softmax_rows(x @ W)


def loss(W: np.ndarray, x: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None) -> float:
    p = predict(W, x)
    w_s = np.ones(len(y)) if weights is None else np.asarray(weights, float)
    return float(-(w_s * np.log(np.maximum(p[np.arange(len(y)), y], 1e-12))).sum() / w_s.sum())


def choose_l2(table, grid=(1e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1.0)) -> tuple[float, dict]:
    """The L2 strength with the best leave-one-actor-out log-loss inside `table` (the fit half)."""
    x, y, w = features(table), labels_of(table), segment_weights(table)
    actors = table["actor"].to_numpy()
    scores = {}
    for l2 in grid:
        losses = []
        for actor in np.unique(actors):
            train, held = actors != actor, actors == actor
            W = fit(x[train], y[train], w[train], l2)
            losses.append(loss(W, x[held], y[held], w[held]))
        scores[l2] = float(np.mean(losses))
    return min(scores, key=scores.get), scores


def labels_of(table) -> np.ndarray:
    return np.array([LABELS.index(t) for t in table["label"]])


def to_json(W: np.ndarray, l2: float, info: dict) -> dict:
    """The JSON that the `learned` fusion strategy loads."""
    return {"kind": "multinomial-logistic-regression", "labels": list(LABELS),
            "features": [f"log_face_{l}" for l in LABELS] + [f"log_voice_{l}" for l in LABELS]
            + ["face_present", "voice_present", "bias"],
            "log_floor": LOG_FLOOR, "l2": l2, "weights": np.round(W, 6).tolist(), **info}
