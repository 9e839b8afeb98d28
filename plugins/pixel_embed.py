"""Built-in `pixels` face embedder: a dependency-free fallback (numpy and OpenCV only).

It describes a face by its look, not by who it is: histograms of the face's local binary
patterns (uniform LBP, 8 neighbours) on a 3 x 3 grid of the grey face shrunk to SIDE pixels
(texture and shape, blind to light and contrast), plus a coarse hue-saturation histogram of the
face and hair (skin tone, hair colour). Enough to keep ids stable within a shot and to tell clearly different faces apart
(another skin tone, hair, clothes); not enough to recognise one person across a change of light,
pose or clothes: install dlib for that (see docs/persons.md).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .dlib_embed import inner_rect

#: The grey face is shrunk to SIDE x SIDE pixels and cut into GRID x GRID cells.
SIDE, GRID = 32, 3
#: Uniform LBP codes (at most two 0/1 transitions around the circle) get a bin each, the rest one.
_PATTERNS = 59
#: Hue and saturation bins of the colour histogram.
HUE_BINS, SAT_BINS = 12, 4
#: Share of the squared distance that comes from colour (the rest from the grey face).
COLOUR_WEIGHT = 0.35
#: Two crops of one person are closer than this (measured: see docs/persons.md).
SAME_PERSON = 0.55
#: Faces narrower than this (pixels, the inner face box) are not embedded: a row of NaN (under
#: 20 px one face's own distance to itself at full size jumps past SAME_PERSON: 0.83 at 16 px).
MIN_FACE = 20


class PixelEmbedder:
    """Unit-length vectors: LBP histograms of the grey face, then a hue-saturation histogram."""

    dimension = GRID * GRID * _PATTERNS + HUE_BINS * SAT_BINS

    def __init__(self, same_person: float = SAME_PERSON, colour_weight: float = COLOUR_WEIGHT,
                 min_face: int = MIN_FACE) -> None:
        if not 0.0 <= colour_weight <= 1.0:
            raise ValueError(f"colour_weight must be within 0..1, got {colour_weight}")
        self.same_person, self.colour_weight, self.min_face = float(same_person), float(colour_weight), int(min_face)

    def embed(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        """(len(crops), dimension) float64; a row of NaN for a crop whose face is under `min_face` pixels."""
        out = np.full((len(crops), self.dimension), np.nan)
        for i, crop in enumerate(crops):
            rgb = np.asarray(crop)
            if rgb.ndim == 2:
                rgb = np.repeat(rgb[:, :, None], 3, axis=2)
            left, top, right, bottom = inner_rect(*rgb.shape[:2])
            if right - left + 1 < self.min_face or bottom - top + 1 < self.min_face:
                continue
            texture = _patterns(rgb[top:bottom + 1, left:right + 1])
            colour = _colour(rgb[:bottom + 1, left:right + 1])  # the face and the hair above it
            out[i] = np.concatenate([np.sqrt(1 - self.colour_weight) * texture, np.sqrt(self.colour_weight) * colour])
        return out


def _uniform_table() -> np.ndarray:
    """LBP code (0..255) -> bin: the 58 uniform codes in order, every other code in bin 58."""
    table = np.full(256, _PATTERNS - 1, dtype=np.int64)
    uniform = [c for c in range(256) if sum(((c >> i) ^ (c >> (i + 1) % 8)) & 1 for i in range(8)) <= 2]
    table[uniform] = np.arange(len(uniform))
    return table


_UNIFORM = _uniform_table()
_NEIGHBOURS = ((-1, -1), (-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1))


def _patterns(face: np.ndarray) -> np.ndarray:
    """Square roots of the uniform-LBP histograms of the GRID x GRID cells of the grey face (unit length)."""
    import cv2

    grey = cv2.cvtColor(np.ascontiguousarray(face[:, :, :3], dtype=np.uint8), cv2.COLOR_RGB2GRAY)
    small = cv2.resize(grey, (SIDE, SIDE), interpolation=cv2.INTER_AREA).astype(np.int16)
    inner = SIDE - 2
    centre = small[1:-1, 1:-1]
    code = np.zeros((inner, inner), dtype=np.int64)
    for bit, (dy, dx) in enumerate(_NEIGHBOURS):
        code |= (small[1 + dy:1 + dy + inner, 1 + dx:1 + dx + inner] >= centre).astype(np.int64) << bit
    bins = _UNIFORM[code]
    cell = inner // GRID
    cells = bins[:cell * GRID, :cell * GRID].reshape(GRID, cell, GRID, cell).transpose(0, 2, 1, 3).reshape(GRID * GRID, -1)
    hist = np.stack([np.bincount(c, minlength=_PATTERNS) for c in cells]).astype(np.float64).ravel()
    return _unit(np.sqrt(hist))


def _colour(rgb: np.ndarray) -> np.ndarray:
    """Square roots of the hue-saturation histogram of the crop (unit length): Hellinger geometry."""
    import cv2

    small = cv2.resize(np.ascontiguousarray(rgb[:, :, :3], dtype=np.uint8), (32, 32), interpolation=cv2.INTER_AREA)
    hsv = cv2.cvtColor(small, cv2.COLOR_RGB2HSV)
    hist = cv2.calcHist([hsv], [0, 1], None, [HUE_BINS, SAT_BINS], [0, 180, 0, 256]).ravel().astype(np.float64)
    return _unit(np.sqrt(hist / max(hist.sum(), 1.0)))


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(vector)
    return vector / norm if norm > 1e-12 else np.zeros_like(vector)
