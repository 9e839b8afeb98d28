"""Build the evidence that crosses the fusion hook from what the stages measured."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .types import EmotionScores, FaceBox, FaceEvidence


def face_evidence(scores: Sequence[EmotionScores], boxes: Sequence[FaceBox], frames: int,
                  sampled: int) -> FaceEvidence | None:
    """The mean of a segment's face scores (one per face crop, `boxes` alike) with what says how far
    to trust it: `frames` analysed frames with the face(s) out of `sampled`, the median face width
    and detector score, and the share of crops whose own top label is the mean's. None without faces."""
    if not scores:
        return None
    mean = EmotionScores.mean(list(scores))
    top = mean.label
    agreement = sum(s.label == top for s in scores) / len(scores)
    size = float(np.median([b.width for b in boxes])) if boxes else 0.0
    detector = float(np.median([b.score for b in boxes])) if boxes else 1.0
    return FaceEvidence(mean, frames=frames, sampled=max(sampled, frames), size=size,
                        detector_score=detector, agreement=agreement)
