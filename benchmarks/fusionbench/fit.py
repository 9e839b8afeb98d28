"""Fit the `evidence` strategy's few parameters on some clips and conditions, for use on others.

Two stages, rules fixed before looking at any held-out figure:

1. each modality's temperature: the one minimising the segment-level NLL of its scores against
   the clip's label (every condition counting the same);
2. `face_weight` (voice weight = 1 - face weight), `confidence_power` and `narrowband_weight`:
   the grid point with the best mean clip accuracy over the conditions, ties broken by the
   lower mean clip NLL.

The other options (`face_size`, `quiet_db`, `loud_db`, `full_window`) stay at their stated
defaults: none of these clips has a face under 48 px, a voice near the silence threshold or a
window under the classifier's 2 s, so nothing here could fit them.
"""
from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from emofuse.calibration import minimise_log_t
from emofuse.plugins.fusion_strategies import EVIDENCE_DEFAULTS, EvidenceFusion, calibrate

from .table import Table, accuracy, clip_nll

#: Grids; each starts at its neutral value, which an exact tie keeps (e.g. `narrowband_weight`
#: when the fit data hold no narrowband voice at all: then nothing can say it should be lower).
FACE_WEIGHTS = tuple(float(round(w, 2)) for w in np.arange(0.1, 0.91, 0.05))
CONFIDENCE_POWERS = (0.0, 0.5, 1.0, 2.0)
NARROWBAND_WEIGHTS = (1.0, 0.75, 0.5, 0.25, 0.0)


def segment_nll(tables: Sequence[Table], modality: str, temperature: float) -> float:
    """Mean over tables of the segment NLL of `modality` at `temperature` (target: the clip's label)."""
    losses = []
    for t in tables:
        p = getattr(t, modality)["scores"]
        here = ~np.isnan(p).any(axis=1)
        if not here.any():
            continue
        q = calibrate(p[here], temperature)
        y = t.labels[t.row_clip[here]]
        losses.append(-np.mean(np.log(np.maximum(q[np.arange(len(y)), y], 1e-12))))
    return float(np.mean(losses)) if losses else 0.0


def fit_temperature(tables: Sequence[Table], modality: str) -> float:
    return round(minimise_log_t(lambda t: segment_nll(tables, modality, t), 0.2, 10.0), 3)


def score(tables: Sequence[Table], strategy: EvidenceFusion) -> tuple[float, float]:
    """(mean clip accuracy, mean clip NLL) over `tables`, with `fuse_many` (the same maths as `fuse`)."""
    accs, nlls = [], []
    for t in tables:
        fused = strategy.fuse_many(t.face, t.voice)
        accs.append(accuracy(t, fused))
        nlls.append(clip_nll(t, fused))
    return float(np.mean(accs)), float(np.mean(nlls))


def fit(tables: Sequence[Table]) -> dict:
    """The fitted options of `EvidenceFusion` (the rest at their defaults) and the grid's best scores."""
    fixed = {k: v for k, v in EVIDENCE_DEFAULTS.items()
             if k not in ("face_weight", "voice_weight", "face_temperature", "voice_temperature",
                          "confidence_power", "narrowband_weight")}
    temps = {"face_temperature": fit_temperature(tables, "face"), "voice_temperature": fit_temperature(tables, "voice")}
    best = None
    for fw, power, band in itertools.product(FACE_WEIGHTS, CONFIDENCE_POWERS, NARROWBAND_WEIGHTS):
        options = {**fixed, **temps, "face_weight": fw, "voice_weight": round(1 - fw, 2),
                   "confidence_power": power, "narrowband_weight": band}
        acc, nll = score(tables, EvidenceFusion(**options))
        key = (round(acc, 9), -nll)
        if best is None or key > best[0]:
            best = (key, options, acc, nll)
    _, options, acc, nll = best
    return {"options": options, "fit_accuracy": acc, "fit_nll": nll}
