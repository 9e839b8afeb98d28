"""Knowledge distillation for face training: a teacher model's soft labels beside the true ones.

`emofuse train face --teacher MODEL` trains the new network on targets that mix each face's
one-hot label with the teacher's probabilities for that face (its default test-time views,
softened by `temperature`). The teacher (typically the shipped ensemble) is run once over the
training faces before training starts, so an epoch costs what it costs without it.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from emofuse.calibration import softmax

log = logging.getLogger(__name__)

#: Share of each training target that comes from the teacher (the rest: the one-hot label).
DISTILL_WEIGHT = 0.5

#: The teacher's logits are divided by this before the softmax: above 1 keeps the relations
#: between the wrong classes that a confident teacher's probabilities flatten to zero.
DISTILL_TEMPERATURE = 2.0


def mixed_targets(labels: np.ndarray, teacher_logits: np.ndarray | None, weight: float = DISTILL_WEIGHT,
                  temperature: float = DISTILL_TEMPERATURE, classes: int = 7) -> np.ndarray:
    """Training targets (n, classes): one-hot `labels`, or with `teacher_logits` (n, classes)
    `(1 - weight) * one_hot + weight * softmax(teacher_logits / temperature)`."""
    one_hot = np.eye(classes, dtype=np.float32)[np.asarray(labels)]
    if teacher_logits is None:
        return one_hot
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"the teacher's weight must be between 0 and 1, got {weight}")
    if temperature <= 0:
        raise ValueError(f"the distillation temperature must be above 0, got {temperature}")
    teacher = softmax(np.asarray(teacher_logits, dtype=np.float64), temperature).astype(np.float32)
    return (1.0 - weight) * one_hot + weight * teacher


def teacher_logits(teacher: str | Path, images: np.ndarray) -> np.ndarray:
    """The logits (n, 7) of the face model `teacher` on `images` (n, 48, 48 uint8), averaged over
    its default test-time views; computed in bfloat16 where the CPU has it natively."""
    from .artifacts import load_face_model
    from .predict import predict_logits

    model = load_face_model(teacher, precision="auto")
    log.info("teacher %s: scoring %d training faces", teacher, len(images))
    return predict_logits(model, images)
