"""Segment tables and clip-level scores.

A *segment table* has one row per segment of every clip: ``clip, split, label`` (the clip's
true emotion), ``start, end`` and the group columns ``face_<label>``, ``voice_<label>`` (and
``fused_<label>`` once a strategy is applied), NaN where a modality had nothing to say. It is
what `emofuse analyze` writes per file, plus the three clip columns, so it round-trips as CSV.

The clip-level verdict of a group is the argmax of the mean of that group's scores over the
clip's segments where the group is present; a clip where the group is never present (no face
found by Haar, no voiced segment) has no verdict and counts as a miss.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from emofuse.calibration import softmax as softmax_rows
from emofuse.labels import LABELS, RAVDESS_LABELS, RAVDESS_TO_CANONICAL
from emofuse.types import EmotionScores

#: RAVDESS 8 -> canonical 7 (calm and neutral both neutral).
_TO_CANONICAL = np.zeros((len(RAVDESS_LABELS), len(LABELS)))
for _i, _label in enumerate(RAVDESS_LABELS):
    _TO_CANONICAL[_i, LABELS.index(RAVDESS_TO_CANONICAL[_label])] = 1.0


def cols(group: str) -> list[str]:
    return [f"{group}_{label}" for label in LABELS]


def face_scores_at(crops: Sequence[Sequence[float]], temperature: float) -> np.ndarray | None:
    """Segment face scores at `temperature` from the crops' temperature-1 probabilities (mean over crops)."""
    if not len(crops):
        return None
    logp = np.log(np.maximum(np.asarray(crops, dtype=np.float64), 1e-300))
    return softmax_rows(logp / temperature).mean(axis=0)


def voice_scores_at(raw: Sequence[float] | None, temperature: float, model_temperature: float = 1.0) -> np.ndarray | None:
    """Canonical voice scores at `temperature` from the probabilities the model gave at `model_temperature`.

    `raw` holds RAVDESS's 8 probabilities (mapped to the 7 canonical labels after the softmax:
    calm + neutral) or already the 7 canonical ones.
    """
    if raw is None:
        return None
    logits = np.log(np.maximum(np.asarray(raw, dtype=np.float64), 1e-300)) * model_temperature
    p = softmax_rows(logits / temperature)
    return p @ _TO_CANONICAL if p.shape[-1] == len(RAVDESS_LABELS) else p


def segment_table(records: Sequence[dict], face_temperature: float = 1.0, voice_temperature: float = 1.0,
                  voice_model_temperature: float = 1.0):
    """The segment table of recorded clips, with each modality at the given temperature."""
    import pandas as pd

    rows = []
    for rec in records:
        for seg in rec["segments"]:
            row = {"clip": rec["clip"], "split": rec["split"], "label": rec["label"], "actor": rec.get("actor"),
                   "start": seg["start"], "end": seg["end"], "faces": seg.get("faces", 0)}
            face = face_scores_at(seg["face_crops"], face_temperature)
            voice = voice_scores_at(seg["voice_raw"], voice_temperature, voice_model_temperature)
            for group, values in (("face", face), ("voice", voice)):
                for label, v in zip(LABELS, values if values is not None else [np.nan] * len(LABELS)):
                    row[f"{group}_{label}"] = v
            rows.append(row)
    return pd.DataFrame(rows)


def _scores(row: np.ndarray) -> EmotionScores | None:
    return None if np.isnan(row).any() else EmotionScores.from_array(row, normalize=True)


def add_fused(table, strategy, name: str = "fused"):
    """A copy of `table` with `<name>_<label>` columns: `strategy.fuse(face, voice)` row by row."""
    face, voice = table[cols("face")].to_numpy(float), table[cols("voice")].to_numpy(float)
    out = np.full(face.shape, np.nan)
    for i in range(len(table)):
        fused = strategy.fuse(_scores(face[i]), _scores(voice[i]))
        if fused is not None:
            out[i] = fused.array
    table = table.copy()
    table[cols(name)] = out
    return table


def clip_scores(table, group: str):
    """clip -> mean scores of `group` over the clip's segments where it is present (NaN row: never present).

    Also returns the true label of each clip; clips in table order of first appearance.
    """
    values = table[cols(group)].to_numpy(float)
    present = ~np.isnan(values).any(axis=1)
    clips = list(dict.fromkeys(table["clip"]))
    index = {c: i for i, c in enumerate(clips)}
    which = table["clip"].map(index).to_numpy()
    sums = np.zeros((len(clips), len(LABELS)))
    counts = np.zeros(len(clips))
    np.add.at(sums, which[present], values[present])
    np.add.at(counts, which[present], 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums / counts[:, None]
    truth = table.groupby("clip", sort=False)["label"].first().reindex(clips).to_numpy()
    return clips, means, truth


def clip_predictions(table, group: str) -> dict[str, str | None]:
    """clip -> predicted label (None: the group never spoke in that clip)."""
    clips, means, _ = clip_scores(table, group)
    return {c: (None if np.isnan(m).any() else LABELS[int(np.argmax(m))]) for c, m in zip(clips, means)}


def clip_accuracy(table, group: str) -> dict:
    """Clip-level accuracy of `group`: n clips, correct, missing (no verdict, counted wrong), accuracy."""
    clips, means, truth = clip_scores(table, group)
    missing = np.isnan(means).any(axis=1)
    pred = np.where(missing, -1, np.argmax(np.nan_to_num(means, nan=-1.0), axis=1))
    y = np.array([LABELS.index(t) for t in truth])
    correct = int(((pred == y) & ~missing).sum())
    n = len(clips)
    return {"n": n, "correct": correct, "missing": int(missing.sum()), "accuracy": correct / n if n else 0.0}


def per_class_recall(table, groups: Sequence[str]):
    """DataFrame: one row per label (clips, then clip-level recall of each group), plus an 'all' row."""
    import pandas as pd

    rows = {}
    for group in groups:
        clips, means, truth = clip_scores(table, group)
        missing = np.isnan(means).any(axis=1)
        pred = np.where(missing, -1, np.argmax(np.nan_to_num(means, nan=-1.0), axis=1))
        y = np.array([LABELS.index(t) for t in truth])
        rows[group] = [float(((pred == y) & (y == c)).sum() / max(1, (y == c).sum())) for c in range(len(LABELS))]
        rows[group].append(float((pred == y).mean()) if len(y) else 0.0)
        support = [int((y == c).sum()) for c in range(len(LABELS))] + [len(y)]
    frame = pd.DataFrame(rows, index=[*LABELS, "all"])
    frame.insert(0, "clips", support)
    return frame


def segment_agreement(table, group: str) -> dict:
    """Share of the segments where `group` is present whose label is the clip's label."""
    values = table[cols(group)].to_numpy(float)
    present = ~np.isnan(values).any(axis=1)
    pred = np.argmax(np.nan_to_num(values, nan=-1.0), axis=1)
    y = np.array([LABELS.index(t) for t in table["label"]])
    n = int(present.sum())
    return {"segments": n, "agree": int(((pred == y) & present).sum()),
            "agreement": float(((pred == y) & present).sum() / n) if n else 0.0}
