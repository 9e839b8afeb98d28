"""Built-in `dlib` face embedder: dlib's 128-d face ResNet behind its 5-point aligner.

Both models (CC0) come from the `face-recognition-models` package and run through the `dlib-bin`
wheel (no compiler). The package's 68-point landmark model is not for commercial use and is never
loaded. About 77 ms per face on 2 cores (batching does not make it faster): embed a few crops
per track, not every frame.
"""
from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path

import numpy as np

#: Two crops of one person are closer than this (dlib's own threshold: 99.38 % on LFW).
SAME_PERSON = 0.6
#: Faces narrower than this (pixels, the inner face box) are not embedded: a row of NaN. Smaller
#: faces look alike to the network: the astronaut and Grace Hopper are 0.555 apart at 24 px (one
#: person, under SAME_PERSON), 0.631 at 32 px (benchmarks: docs/persons.md, "Limits").
MIN_FACE = 32
#: Crops are face boxes grown by this fraction of the box on each side (see the protocol).
GROWN = 0.25

ALIGNER = "shape_predictor_5_face_landmarks.dat"
NETWORK = "dlib_face_recognition_resnet_model_v1.dat"


def models_folder() -> Path:
    """Where `face-recognition-models` keeps its .dat files (without importing it: its
    `__init__` needs `pkg_resources`, gone from recent setuptools)."""
    from emofuse.errors import PluginError

    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise PluginError("the dlib face embedder needs the face-recognition-models package: "
                          "pip install face-recognition-models")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def inner_rect(height: int, width: int) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of the face box inside a crop grown by `GROWN` on each side."""
    margin = GROWN / (1 + 2 * GROWN)
    return (round(width * margin), round(height * margin),
            round(width * (1 - margin)) - 1, round(height * (1 - margin)) - 1)


class DlibEmbedder:
    """128-d identity vectors: 5-point alignment to a 150x150 chip, then dlib's face ResNet.

    `jitters` > 0 averages that many randomly jittered copies (slower, slightly steadier);
    `same_person` overrides the distance threshold.
    """

    dimension = 128

    def __init__(self, same_person: float = SAME_PERSON, jitters: int = 0, min_face: int = MIN_FACE) -> None:
        from emofuse.errors import PluginError

        if importlib.util.find_spec("dlib") is None:
            raise PluginError("the dlib face embedder needs dlib: pip install dlib-bin")
        folder = models_folder()
        missing = [name for name in (ALIGNER, NETWORK) if not (folder / name).is_file()]
        if missing:
            raise PluginError(f"face-recognition-models lacks {', '.join(missing)} in {folder}: reinstall it")
        import dlib

        self._dlib = dlib
        self._aligner = dlib.shape_predictor(str(folder / ALIGNER))
        self._network = dlib.face_recognition_model_v1(str(folder / NETWORK))
        self.same_person, self.jitters, self.min_face = float(same_person), int(jitters), int(min_face)

    def embed(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        """(len(crops), 128) float64; a row of NaN for a crop whose face is under `min_face` pixels."""
        out = np.full((len(crops), self.dimension), np.nan)
        chips, rows = [], []
        for i, crop in enumerate(crops):
            rgb = _rgb(crop)
            left, top, right, bottom = inner_rect(*rgb.shape[:2])
            if right - left + 1 < self.min_face or bottom - top + 1 < self.min_face:
                continue
            shape = self._aligner(rgb, self._dlib.rectangle(left, top, right, bottom))
            chips.append(self._dlib.get_face_chip(rgb, shape, 150, 0.25))
            rows.append(i)
        if chips:
            out[rows] = np.asarray(self._network.compute_face_descriptor(chips, self.jitters), dtype=np.float64)
        return out


def _rgb(crop: np.ndarray) -> np.ndarray:
    """A contiguous RGB uint8 copy (grey crops are repeated into three channels)."""
    array = np.asarray(crop)
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    return np.ascontiguousarray(array[:, :, :3], dtype=np.uint8)
