"""Probabilities from logits and their calibration: softmax with a temperature, NLL, ECE, and
fitting the temperature. Shared by the face and voice models and the fusion benchmark."""
from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np


def log_softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Log-softmax over the last axis of logits / temperature, in float64."""
    if not (temperature > 0 and math.isfinite(temperature)):
        raise ValueError(f"temperature must be a positive number, got {temperature}")
    z = np.asarray(logits, dtype=np.float64) / temperature
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Softmax over the last axis of logits / temperature, in float64."""
    return np.exp(log_softmax(logits, temperature))


def negative_log_likelihood(logits: np.ndarray, labels: np.ndarray, temperature: float = 1.0) -> float:
    """Mean cross-entropy of the integer `labels` under softmax(logits / temperature)."""
    labels = np.asarray(labels, dtype=int)
    return float(-np.mean(log_softmax(logits, temperature)[np.arange(len(labels)), labels]))


def fit_temperature(logits: np.ndarray, labels: np.ndarray, low: float = 0.05, high: float = 20.0,
                    tol: float = 1e-4) -> float:
    """The temperature in [low, high] that minimises the NLL of `labels` (golden-section search on log T).

    The NLL is convex in 1/T, hence unimodal in log T, so the search finds the global minimum.
    """
    if len(labels) == 0:
        raise ValueError("cannot fit a temperature on no examples")
    return minimise_log_t(lambda t: negative_log_likelihood(logits, labels, t), low, high, tol)


def minimise_log_t(loss: Callable[[float], float], low: float = 0.05, high: float = 20.0,
                   tol: float = 1e-4) -> float:
    """The temperature in [low, high] minimising a unimodal `loss(T)` (golden-section search on log T)."""
    a, b = math.log(low), math.log(high)
    ratio = (math.sqrt(5) - 1) / 2
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    fc, fd = loss(math.exp(c)), loss(math.exp(d))
    while b - a > tol:
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - ratio * (b - a)
            fc = loss(math.exp(c))
        else:
            a, c, fc = c, d, fd
            d = a + ratio * (b - a)
            fd = loss(math.exp(d))
    return round(math.exp((a + b) / 2), 4)


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, bins: int = 15) -> float:
    """ECE: the mean |accuracy - confidence| over equal-width confidence bins, weighted by bin size."""
    probabilities = np.asarray(probabilities)
    if len(probabilities) == 0:
        return 0.0
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == np.asarray(labels)
    which = np.minimum((confidence * bins).astype(int), bins - 1)
    error = 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            error += inside.mean() * abs(correct[inside].mean() - confidence[inside].mean())
    return float(error)
