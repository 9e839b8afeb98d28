"""The one face preprocessing shared by training, evaluation and the `fer-cnn` plugin."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

FACE_SIZE = 48


def to_gray48(image: np.ndarray) -> np.ndarray:
    """One face crop (gray HxW, or RGB HxWx3, any size, any dtype) -> uint8 48x48 grayscale."""
    import cv2

    img = np.asarray(image)
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    if img.ndim == 3:
        if img.shape[2] == 4:
            img = img[:, :, :3]
        img = cv2.cvtColor(np.ascontiguousarray(img, dtype=np.uint8), cv2.COLOR_RGB2GRAY)
    if img.ndim != 2 or img.size == 0:
        raise ValueError(f"expected a grayscale or RGB image, got shape {np.shape(image)}")
    if img.dtype != np.uint8:
        img = np.clip(img, 0, 255).astype(np.uint8)
    if img.shape != (FACE_SIZE, FACE_SIZE):
        shrinking = img.shape[0] > FACE_SIZE or img.shape[1] > FACE_SIZE
        interp = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
        img = cv2.resize(img, (FACE_SIZE, FACE_SIZE), interpolation=interp)
    return img


def prepare_faces(crops: Sequence[np.ndarray] | np.ndarray) -> np.ndarray:
    """Face crops -> float32 batch (n, 48, 48, 1) scaled to [0, 1], ready for the model.

    A uint8 array already shaped (n, 48, 48) (a training set) is converted without a loop.
    """
    if isinstance(crops, np.ndarray) and crops.ndim == 3 and crops.shape[1:] == (FACE_SIZE, FACE_SIZE):
        gray = crops
    else:
        gray = np.stack([to_gray48(c) for c in crops]) if len(crops) else np.zeros((0, FACE_SIZE, FACE_SIZE))
    return (gray.astype(np.float32) / 255.0)[..., None]
