"""Shot cuts on the analysed frames: a small colour histogram per frame, compared with the last one.

Each frame is shrunk to `WIDTH` pixels wide and described by two histograms of its lit pixels
(value >= `DARK`): hue x saturation, and value divided by the frame's mean value. Both ignore
the overall brightness, so a fade to or from black changes neither; dark frames (fewer than
`MIN_LIT` of their pixels lit: black shots, the bottom of a fade) are never cuts and are not
compared with: the first lit frame after them is compared with the last lit frame before them.
A frame is a cut when the total-variation distance of its histograms to that reference is
above `threshold`. About 0.1 ms a frame. See docs/persons.md for how the threshold was chosen.
"""
from __future__ import annotations

import numpy as np

#: Frames are shrunk to this width (the height keeps the aspect ratio) before the histograms.
WIDTH = 64
#: Pixels with an HSV value under this (0..255) are dark: their hue and saturation are noise.
DARK = 32
#: A frame with fewer lit pixels than this share is dark.
MIN_LIT = 0.05
#: Histogram bins: hue, saturation, and relative value (value / mean value, 0..`VALUE_RANGE`).
HUE_BINS, SAT_BINS, VALUE_BINS = 12, 4, 8
VALUE_RANGE = 3.0
#: Default cut threshold on the distance (0 = same histograms, 1 = nothing in common).
THRESHOLD = 0.5


class ShotDetector:
    """Says which analysed frames start a new shot. Feed it every analysed frame, in order."""

    def __init__(self, threshold: float = THRESHOLD) -> None:
        if not 0.0 < threshold < 1.0:
            raise ValueError(f"threshold must be within (0, 1), got {threshold}")
        self.threshold = float(threshold)
        self._reference: np.ndarray | None = None

    def is_cut(self, frame: np.ndarray) -> bool:
        """True when `frame` (RGB uint8) starts a new shot. The first lit frame is not a cut."""
        signature = frame_signature(frame)
        if signature is None:
            return False
        previous, self._reference = self._reference, signature
        return previous is not None and distance(previous, signature) > self.threshold

    def reset(self) -> None:
        """Forget the frames seen (a new file)."""
        self._reference = None


def frame_signature(frame: np.ndarray) -> np.ndarray | None:
    """The histograms of a frame, concatenated (each sums to 0.5), or None for a dark frame."""
    import cv2

    rgb = np.asarray(frame)
    if rgb.ndim == 2:
        rgb = np.repeat(rgb[:, :, None], 3, axis=2)
    height, width = rgb.shape[:2]
    if height == 0 or width == 0:
        return None
    size = (WIDTH, max(1, round(height * WIDTH / width))) if width > WIDTH else (width, height)
    small = cv2.resize(np.ascontiguousarray(rgb[:, :, :3], dtype=np.uint8), size, interpolation=cv2.INTER_AREA)
    hsv = cv2.cvtColor(small, cv2.COLOR_RGB2HSV).reshape(-1, 3)
    lit = hsv[hsv[:, 2] >= DARK]
    if len(lit) < MIN_LIT * len(hsv):
        return None
    hue = np.minimum(lit[:, 0].astype(np.int32) * HUE_BINS // 180, HUE_BINS - 1)
    sat = np.minimum(lit[:, 1].astype(np.int32) * SAT_BINS // 256, SAT_BINS - 1)
    colour = np.bincount(hue * SAT_BINS + sat, minlength=HUE_BINS * SAT_BINS).astype(np.float64)
    value = lit[:, 2].astype(np.float64)
    relative = np.minimum((value / value.mean() * VALUE_BINS / VALUE_RANGE).astype(np.int32), VALUE_BINS - 1)
    light = np.bincount(relative, minlength=VALUE_BINS).astype(np.float64)
    return np.concatenate([colour, light]) / (2.0 * len(lit))


def distance(a: np.ndarray, b: np.ndarray) -> float:
    """Total-variation distance between two signatures: 0 (same) to 1 (disjoint)."""
    return float(np.abs(a - b).sum() / 2.0)
