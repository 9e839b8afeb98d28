"""Built-in fusion strategies: `evidence` (the default), `weighted`, `product`, `max-confidence`.

Each receives the segment's `FaceEvidence` and `VoiceEvidence` (either may be None) and uses
whichever modality is present; with neither there is no fused verdict. `weighted`, `product`
and `max-confidence` read only the scores (they also accept bare `EmotionScores`); `evidence`
also weighs each modality by what its evidence says about how far to trust it here.
"""
from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from emofuse.hookspecs import hookimpl
from emofuse.labels import LABELS
from emofuse.types import EmotionScores, FaceEvidence, VoiceEvidence, scores_of

#: The strategy `emofuse analyze` uses unless told otherwise (docs/models.md "Fusion across conditions").
DEFAULT_FUSION = "evidence"

#: Default weights of the `weighted` strategy (face, voice), measured on the audio-visual
#: benchmark (`python benchmarks/av_benchmark.py`, docs/models.md "Fusion: audio-visual
#: benchmark"): the best face weight of a 0-1 grid on the fit half. On those clips (upscaled
#: 48-px faces, the voice model's own corpus) the voice is the better modality wherever both are
#: present; on real recordings it is not (docs/models.md "Fusion across conditions"), which is
#: why `evidence` is the default. A zero weight never hides the only modality present.
DEFAULT_FACE_WEIGHT = 0.0
DEFAULT_VOICE_WEIGHT = 1.0

#: Default weights of the `product` strategy (face, voice): equal, its point being that both must agree.
PRODUCT_FACE_WEIGHT = 0.5
PRODUCT_VOICE_WEIGHT = 0.5

#: Parameters of the `evidence` strategy fitted on the fusion-conditions benchmark
#: (`python benchmarks/fusion_conditions.py`, docs/models.md "Fusion across conditions"): all
#: its clips (FER2013 PublicTest faces, RAVDESS actors 17-20: neither model trained on them),
#: every condition counting the same; temperatures by segment NLL, then weights, confidence
#: power and narrowband weight by clip accuracy on a grid; refitted 2026-12-07 to the shipped
#: models (2-view face, five wide VTLP voice networks). Fitted on one half and reported on the
#: other, the same procedure beats the better single modality by 9.2 points on average.
#: `face_size`, `quiet_db`, `loud_db` and `full_window` are set by reasoning, not fitted: the
#: classifier's input width, the runner's silence threshold + 10 dB, the voice model's window.
EVIDENCE_DEFAULTS: dict[str, float] = {
    "face_weight": 0.60,
    "voice_weight": 0.40,
    "face_temperature": 1.30,
    "voice_temperature": 1.04,
    "confidence_power": 2.0,
    "narrowband_weight": 1.0,
    "face_size": 48.0,
    "quiet_db": -45.0,
    "loud_db": -35.0,
    "full_window": 2.0,
}

_FACE_FIELDS = ("coverage", "size", "detector_score", "agreement")
_VOICE_FIELDS = ("speech", "level_db", "window", "sample_rate")
#: The evidence a bare EmotionScores stands for: fully trusted (unknown size, level, window, rate).
_BARE_FACE = {"coverage": 1.0, "size": 0.0, "detector_score": 1.0, "agreement": 1.0}
_BARE_VOICE = {"speech": 1.0, "level_db": 0.0, "window": 0.0, "sample_rate": 0}
#: Below this a probability is this (log 0 would veto a label).
FLOOR = 1e-4
#: A source sampled below this many Hz lacks the upper band the voice model was trained on.
WIDEBAND_RATE = 16000


def _present(face, voice, face_weight, voice_weight):
    pairs = [(scores_of(s), w) for s, w in ((face, face_weight), (voice, voice_weight)) if s is not None and w > 0]
    if not pairs and (face is not None or voice is not None):
        pairs = [(scores_of(s), 1.0) for s in (face, voice) if s is not None]  # a zero weight never hides the only modality
    return pairs


def _number(owner: str, name: str, value, low: float | None = None, high: float | None = None,
            low_open: bool = False) -> float:
    """`value` as a finite float within the bounds, or a ValueError naming the option."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{owner}: {name} must be a number, got {value!r}") from None
    if isinstance(value, bool) or not math.isfinite(number):
        raise ValueError(f"{owner}: {name} must be a finite number, got {value!r}")
    if low is not None and (number <= low if low_open else number < low):
        raise ValueError(f"{owner}: {name} must be {'>' if low_open else '>='} {low:g}, got {number:g}")
    if high is not None and number > high:
        raise ValueError(f"{owner}: {name} must be <= {high:g}, got {number:g}")
    return number


class _Weighted:
    def __init__(self, face_weight: float = DEFAULT_FACE_WEIGHT, voice_weight: float = DEFAULT_VOICE_WEIGHT) -> None:
        owner = type(self).__name__
        self.face_weight = _number(owner, "face_weight", face_weight, 0.0)
        self.voice_weight = _number(owner, "voice_weight", voice_weight, 0.0)
        if self.face_weight + self.voice_weight <= 0:
            raise ValueError(f"{owner}: face_weight and voice_weight must not both be 0")


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
                 floor: float = FLOOR) -> None:
        super().__init__(face_weight, voice_weight)
        self.floor = _number(type(self).__name__, "floor", floor, 0.0, 0.1, low_open=True)

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
        present = [scores_of(s) for s in (face, voice) if s is not None]
        if not present:
            return None
        return max(present, key=lambda s: s.confidence)


# ------------------------------------------------------------------------------------ evidence


def calibrate(probabilities: np.ndarray, temperature: float, floor: float = FLOOR) -> np.ndarray:
    """Rows of probabilities at `temperature`: softmax(log p / T) (p floored at `floor`)."""
    logp = np.log(np.maximum(np.asarray(probabilities, dtype=np.float64), floor)) / temperature
    logp -= logp.max(axis=-1, keepdims=True)
    q = np.exp(logp)
    return q / q.sum(axis=-1, keepdims=True)


def certainty(probabilities: np.ndarray) -> np.ndarray:
    """1 - normalised entropy of each row: 0 for a uniform distribution, 1 for a certain one."""
    p = np.maximum(np.asarray(probabilities, dtype=np.float64), 1e-12)
    return np.clip(1.0 + (p * np.log(p)).sum(axis=-1) / math.log(p.shape[-1]), 0.0, 1.0)


def _ramp(x: np.ndarray, low: float, high: float) -> np.ndarray:
    return np.clip((np.asarray(x, dtype=np.float64) - low) / (high - low), 0.0, 1.0)


class EvidenceFusion:
    """Log-linear pooling of temperature-calibrated probabilities, each modality weighted per
    segment by its evidence; both modalities count whenever both are present.

    fused = softmax(a_f log q_f + a_v log q_v), q = softmax(log p / temperature), and
    a_m = W_m / (W_f + W_v) with W_m = weight_m x reliability_m:

    - face reliability = coverage x min(1, size / `face_size`) x detector score (clipped to 0..1)
      x agreement x certainty(q_f) ** `confidence_power`;
    - voice reliability = speech x level ramp (0 at `quiet_db`, 1 at `loud_db`) x
      min(1, window / `full_window`) x (`narrowband_weight` for a source sampled under 16 kHz)
      x certainty(q_v) ** `confidence_power`.

    A modality alone gives its calibrated scores; when every present modality's weight is 0 they
    count equally (a zero weight never hides the only modality present). Unknown evidence (bare
    `EmotionScores`, size 0, window 0, sample rate 0) counts as fully trusted. Defaults:
    `EVIDENCE_DEFAULTS`, fitted on the fusion-conditions benchmark.
    """

    def __init__(self, face_weight: float = EVIDENCE_DEFAULTS["face_weight"],
                 voice_weight: float = EVIDENCE_DEFAULTS["voice_weight"],
                 face_temperature: float = EVIDENCE_DEFAULTS["face_temperature"],
                 voice_temperature: float = EVIDENCE_DEFAULTS["voice_temperature"],
                 confidence_power: float = EVIDENCE_DEFAULTS["confidence_power"],
                 narrowband_weight: float = EVIDENCE_DEFAULTS["narrowband_weight"],
                 face_size: float = EVIDENCE_DEFAULTS["face_size"],
                 quiet_db: float = EVIDENCE_DEFAULTS["quiet_db"],
                 loud_db: float = EVIDENCE_DEFAULTS["loud_db"],
                 full_window: float = EVIDENCE_DEFAULTS["full_window"],
                 floor: float = FLOOR) -> None:
        owner = "evidence fusion"
        self.face_weight = _number(owner, "face_weight", face_weight, 0.0)
        self.voice_weight = _number(owner, "voice_weight", voice_weight, 0.0)
        if self.face_weight + self.voice_weight <= 0:
            raise ValueError(f"{owner}: face_weight and voice_weight must not both be 0")
        self.face_temperature = _number(owner, "face_temperature", face_temperature, 0.0, low_open=True)
        self.voice_temperature = _number(owner, "voice_temperature", voice_temperature, 0.0, low_open=True)
        self.confidence_power = _number(owner, "confidence_power", confidence_power, 0.0)
        self.narrowband_weight = _number(owner, "narrowband_weight", narrowband_weight, 0.0, 1.0)
        self.face_size = _number(owner, "face_size", face_size, 0.0, low_open=True)
        self.quiet_db = _number(owner, "quiet_db", quiet_db)
        self.loud_db = _number(owner, "loud_db", loud_db)
        if self.loud_db <= self.quiet_db:
            raise ValueError(f"{owner}: loud_db must be above quiet_db, got {self.loud_db:g} <= {self.quiet_db:g}")
        self.full_window = _number(owner, "full_window", full_window, 0.0, low_open=True)
        self.floor = _number(owner, "floor", floor, 0.0, 0.1, low_open=True)

    # -- reliability, row by row (arrays) ---------------------------------------------------------

    def face_reliability(self, q: np.ndarray, coverage, size, detector_score, agreement) -> np.ndarray:
        """Per-row face reliability (0..1) from calibrated scores `q` and the face evidence fields."""
        size = np.asarray(size, dtype=np.float64)
        size_factor = np.where(size > 0, np.minimum(1.0, size / self.face_size), 1.0)
        return (np.clip(coverage, 0.0, 1.0) * size_factor * np.clip(detector_score, 0.0, 1.0)
                * np.clip(agreement, 0.0, 1.0) * certainty(q) ** self.confidence_power)

    def voice_reliability(self, q: np.ndarray, speech, level_db, window, sample_rate) -> np.ndarray:
        """Per-row voice reliability (0..1) from calibrated scores `q` and the voice evidence fields."""
        window, rate = np.asarray(window, dtype=np.float64), np.asarray(sample_rate, dtype=np.float64)
        window_factor = np.where(window > 0, np.minimum(1.0, window / self.full_window), 1.0)
        band = np.where((rate > 0) & (rate < WIDEBAND_RATE), self.narrowband_weight, 1.0)
        return (np.clip(speech, 0.0, 1.0) * _ramp(level_db, self.quiet_db, self.loud_db) * window_factor * band
                * certainty(q) ** self.confidence_power)

    def fuse_many(self, face: Mapping[str, np.ndarray] | None, voice: Mapping[str, np.ndarray] | None) -> np.ndarray:
        """`fuse` for many segments at once: each mapping holds `scores` (n, 7), NaN rows where the
        modality is absent, and the evidence fields (face: coverage, size, detector_score,
        agreement; voice: speech, level_db, window, sample_rate) as length-n arrays. Returns
        (n, 7) fused probabilities, NaN rows where neither modality is present."""
        n = len(next(m for m in (face, voice) if m is not None)["scores"])
        logs, weights = [], []
        for given, weight, temperature, reliability, fields in (
                (face, self.face_weight, self.face_temperature, self.face_reliability, _FACE_FIELDS),
                (voice, self.voice_weight, self.voice_temperature, self.voice_reliability, _VOICE_FIELDS)):
            if given is None:
                continue
            p = np.asarray(given["scores"], dtype=np.float64).reshape(n, len(LABELS))
            here = ~np.isnan(p).any(axis=1)
            q = calibrate(np.where(here[:, None], p, 1.0), temperature, self.floor)
            w = weight * reliability(q, *(np.broadcast_to(np.asarray(given[f], dtype=np.float64), (n,)) for f in fields))
            logs.append(np.where(here[:, None], np.log(np.maximum(q, self.floor)), 0.0))
            weights.append(np.where(here, w, np.nan))
        W = np.stack(weights, axis=1)  # (n, modalities), NaN where absent
        present = ~np.isnan(W)
        W = np.nan_to_num(W)
        total = W.sum(axis=1, keepdims=True)
        alpha = np.where(total > 0, W / np.where(total > 0, total, 1.0), present / np.maximum(present.sum(1, keepdims=True), 1))
        pooled = sum(alpha[:, i:i + 1] * logs[i] for i in range(len(logs)))
        pooled = pooled - pooled.max(axis=1, keepdims=True)
        out = np.exp(pooled)
        out /= out.sum(axis=1, keepdims=True)
        out[~present.any(axis=1)] = np.nan
        return out

    def fuse(self, face: FaceEvidence | EmotionScores | None, voice: VoiceEvidence | EmotionScores | None
             ) -> EmotionScores | None:
        if face is None and voice is None:
            return None
        row = self.fuse_many(_one_row(face, _FACE_FIELDS, _BARE_FACE), _one_row(voice, _VOICE_FIELDS, _BARE_VOICE))[0]
        return EmotionScores.from_array(row, normalize=True)

    def __repr__(self) -> str:
        options = ", ".join(f"{k}={getattr(self, k):g}" for k in EVIDENCE_DEFAULTS)
        return f"EvidenceFusion({options})"


def _one_row(evidence, fields: tuple[str, ...], bare: dict) -> dict | None:
    """One segment's evidence (or bare EmotionScores) as the 1-row mapping of `fuse_many`."""
    if evidence is None:
        return None
    scores = scores_of(evidence)
    row = {"scores": np.asarray(scores.array, dtype=np.float64)[None, :]}
    for field in fields:
        row[field] = np.array([float(getattr(evidence, field, bare[field]) if evidence is not scores else bare[field])])
    return row


@hookimpl
def register_fusion_strategies(register):
    register("evidence", EvidenceFusion,
             description="log-linear pooling, each modality weighted per segment by its evidence (default)")
    register("weighted", WeightedFusion, description="weighted mean of face and voice probabilities")
    register("product", ProductFusion, description="weighted geometric mean: both must agree")
    register("max-confidence", MaxConfidenceFusion, description="the more confident modality wins")
