"""Built-in fusion strategies: `weighted` (default), `product`, `max-confidence`.

Each uses whichever modality is present; with neither there is no fused verdict.
"""
from __future__ import annotations

import numpy as np

from emofuse.hookspecs import hookimpl
from emofuse.types import EmotionScores

#: Default weights of the `weighted` strategy (face, voice), measured on the audio-visual
#: benchmark (`python benchmarks/av_benchmark.py`, docs/models.md "Fusion: audio-visual
#: benchmark"): the best face weight of a 0-1 grid on the fit half (ties: lower clip NLL), the
#: same with the halves swapped. With the shipped models the voice is the better modality
#: wherever both are present; the face decides the silent segments (a zero weight never
#: hides the only modality present). `--set fusion.face_weight=0.5` restores equal weights.
DEFAULT_FACE_WEIGHT = 0.0
DEFAULT_VOICE_WEIGHT = 1.0

#: Default weights of the `product` strategy (face, voice): equal, its point being that both
#: must agree (the benchmark's best for it is face 0.05 / voice 0.95, no better than `weighted`).
PRODUCT_FACE_WEIGHT = 0.5
PRODUCT_VOICE_WEIGHT = 0.5


def _present(face, voice, face_weight, voice_weight):
    pairs = [(s, w) for s, w in ((face, face_weight), (voice, voice_weight)) if s is not None and w > 0]
    if not pairs and (face is not None or voice is not None):
        pairs = [(s, 1.0) for s in (face, voice) if s is not None]  # a zero weight never hides the only modality
    return pairs


class _Weighted:
    def __init__(self, face_weight: float = DEFAULT_FACE_WEIGHT, voice_weight: float = DEFAULT_VOICE_WEIGHT) -> None:
        if face_weight < 0 or voice_weight < 0 or face_weight + voice_weight <= 0:
            raise ValueError(f"weights must be >= 0 and not both 0, got face {face_weight}, voice {voice_weight}")
        self.face_weight, self.voice_weight = float(face_weight), float(voice_weight)


class WeightedFusion(_Weighted):
    """Weighted arithmetic mean of the present modalities' probabilities."""

    def fuse(self, face, voice):
        pairs = _present(face, voice, self.face_weight, self.voice_weight)
        if not pairs:
            return None
        total = sum(w for _, w in pairs)
        return EmotionScores.from_array(sum(s.array * w for s, w in pairs) / total, normalize=True)


class ProductFusion(_Weighted):
    """Weighted geometric mean (product of experts), renormalised; `floor` keeps one zero from vetoing."""

    def __init__(self, face_weight: float = PRODUCT_FACE_WEIGHT, voice_weight: float = PRODUCT_VOICE_WEIGHT,
                 floor: float = 1e-4) -> None:
        super().__init__(face_weight, voice_weight)
        self.floor = float(floor)

    def fuse(self, face, voice):
        pairs = _present(face, voice, self.face_weight, self.voice_weight)
        if not pairs:
            return None
        total = sum(w for _, w in pairs)
        log_mean = sum(np.log(np.maximum(s.array, self.floor)) * w for s, w in pairs) / total
        return EmotionScores.from_array(np.exp(log_mean - log_mean.max()), normalize=True)


class MaxConfidenceFusion:
    """Trust the modality whose top score is higher."""

    def fuse(self, face, voice):
        present = [s for s in (face, voice) if s is not None]
        if not present:
            return None
        return max(present, key=lambda s: s.confidence)


@hookimpl
def register_fusion_strategies(register):
    register("weighted", WeightedFusion, description="weighted mean of face and voice probabilities (default)")
    register("product", ProductFusion, description="weighted geometric mean: both must agree")
    register("max-confidence", MaxConfidenceFusion, description="the more confident modality wins")
