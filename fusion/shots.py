"""Shot cuts on the analysed frames: a small colour histogram per frame, compared with the last one.

Each frame is shrunk to `WIDTH` pixels wide, cut into GRID x GRID cells, and each cell is
described by two histograms of its lit pixels: hue x saturation (grey pixels in a bin of their
own), and value divided by the frame's mean value. Both ignore the overall brightness, so a
fade to or from black changes neither; dark frames (mean value under `DARK_FRAME`: black shots,
the bottom of a fade) are never cuts and are not compared with: the first lit frame after them
is compared with the last lit frame before them.
A frame is a cut when the total-variation distance of its histograms to that reference is
above `threshold`. About 0.1 ms a frame. See docs/persons.md for how the threshold was chosen.
"""
from __future__ import annotations

import numpy as np

#: Frames are shrunk to this width (the height keeps the aspect ratio) before the histograms.
WIDTH = 64
#: A frame whose mean HSV value (0..255) is under this is dark: never a cut, never a reference.
DARK_FRAME = 20
#: Pixels darker than this share of the frame's mean value are left out (their colour is noise).
DARK_PIXEL = 0.25
#: Pixels with a saturation under this (0..255) are grey: one bin, whatever their (noisy) hue.
GREY = 64
#: Histogram bins: hue x saturation of the coloured pixels (+1 grey bin), relative value.
HUE_BINS, SAT_BINS, VALUE_BINS = 12, 3, 8
#: Relative value (value / the frame's mean value) is binned over 0..VALUE_RANGE.
VALUE_RANGE = 3.0
#: Cells per side: the histograms are taken over GRID x GRID parts of the frame (where, not only what).
GRID = 2
#: Default cut threshold on the distance (0 = same histograms, 1 = nothing in common).
THRESHOLD = 0.25


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
    """The histograms of a frame's cells, concatenated (summing to 1), or None for a dark frame."""
    import cv2

    rgb = np.asarray(frame)
    if rgb.ndim == 2:
        rgb = np.repeat(rgb[:, :, None], 3, axis=2)
    height, width = rgb.shape[:2]
    if height < GRID or width < GRID:
        return None
    size = (WIDTH, max(GRID, round(height * WIDTH / width))) if width > WIDTH else (width, height)
    small = cv2.resize(np.ascontiguousarray(rgb[:, :, :3], dtype=np.uint8), size, interpolation=cv2.INTER_AREA)
    hsv = cv2.cvtColor(small, cv2.COLOR_RGB2HSV).astype(np.int32)
    mean = hsv[:, :, 2].mean()
    if mean < DARK_FRAME:
        return None
    hue = np.minimum(hsv[:, :, 0] * HUE_BINS // 180, HUE_BINS - 1)
    sat = np.minimum((hsv[:, :, 1] - GREY) * SAT_BINS // (256 - GREY), SAT_BINS - 1)
    colour = np.where(hsv[:, :, 1] < GREY, HUE_BINS * SAT_BINS, hue * SAT_BINS + sat)
    relative = np.minimum((hsv[:, :, 2] / mean * VALUE_BINS / VALUE_RANGE).astype(np.int32), VALUE_BINS - 1)
    colours, values = HUE_BINS * SAT_BINS + 1, VALUE_BINS
    lit = hsv[:, :, 2] >= DARK_PIXEL * mean
    rows = np.minimum(np.arange(size[1]) * GRID // size[1], GRID - 1)[:, None]
    cols = np.minimum(np.arange(size[0]) * GRID // size[0], GRID - 1)[None, :]
    cell = (rows * GRID + cols)[lit]
    signature = np.concatenate([
        np.bincount(cell * colours + colour[lit], minlength=GRID * GRID * colours),
        np.bincount(cell * values + relative[lit], minlength=GRID * GRID * values)]).astype(np.float64)
    return signature / max(signature.sum(), 1.0)


def distance(a: np.ndarray, b: np.ndarray) -> float:
    """Total-variation distance between two signatures: 0 (same) to 1 (disjoint)."""
    return float(np.abs(a - b).sum() / 2.0)
