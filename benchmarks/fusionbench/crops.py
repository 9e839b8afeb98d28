"""The face model inside clips against the same faces as FER2013 crops.

For every clip of the fusion benchmark, the face's verdict in the clip (the mean of the face
scores of the segments where a face was found, as the runtime detected, tracked and cropped it)
is compared with the model's verdict on the 48x48 PublicTest crop the clip was rendered from.
What separates the two is the runtime's framing: detection misses, the detector's box instead of
FER2013's centring, and the rendering's scale, blur and compression.
"""
from __future__ import annotations

import numpy as np

from emofuse.labels import LABELS


def clip_verdicts(clips: np.ndarray, scores: np.ndarray, order: list[str]) -> np.ndarray:
    """Per clip in `order`, the class index of its mean face scores over the segments that had a
    face; -1 where no segment of the clip had one. `clips`/`scores` are the recorded segments."""
    out = np.full(len(order), -1)
    for i, clip in enumerate(order):
        rows = scores[(clips == clip) & ~np.isnan(scores).any(axis=1)]
        if len(rows):
            out[i] = int(np.argmax(rows.mean(axis=0)))
    return out


def compare(truth: np.ndarray, crop: np.ndarray, in_clip: np.ndarray) -> dict:
    """Counts and accuracies of the crop and in-clip verdicts (class indices; -1: no face found)."""
    found = in_clip >= 0
    n, n_found = len(truth), int(found.sum())
    crop_right, clip_right = crop == truth, in_clip == truth

    def share(mask, among):
        return float(mask[among].mean()) if among.any() else float("nan")

    return {
        "clips": n,
        "found": n_found,
        "crop_accuracy": float(crop_right.mean()) if n else float("nan"),
        "clip_accuracy": float(clip_right.mean()) if n else float("nan"),  # no face counts as wrong
        "crop_accuracy_found": share(crop_right, found),
        "clip_accuracy_found": share(clip_right, found),
        "agreement_found": share(crop == in_clip, found),
        "lost_to_detection": int((crop_right & ~found).sum()),
        "lost_to_framing": int((crop_right & found & ~clip_right).sum()),
        "gained_by_framing": int((~crop_right & clip_right).sum()),
    }


def crop_verdicts(classifier, faces48: np.ndarray) -> np.ndarray:
    """The class index the visual classifier gives each 48x48 crop."""
    scores = classifier.classify(list(faces48))
    return np.array([LABELS.index(s.label) for s in scores])


def markdown(rows: dict[str, dict]) -> str:
    """One table row per face style."""
    lines = [
        "| face style | clips | face found | crop accuracy | in-clip accuracy (no face = wrong) "
        "| crop / in-clip accuracy where found | in-clip = crop verdict | right on the crop, lost to: detection / framing "
        "| wrong on the crop, right in the clip |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for style, r in rows.items():
        lines.append(
            f"| {style} | {r['clips']} | {r['found']} | {100 * r['crop_accuracy']:.1f}% | {100 * r['clip_accuracy']:.1f}% "
            f"| {100 * r['crop_accuracy_found']:.1f}% / {100 * r['clip_accuracy_found']:.1f}% "
            f"| {100 * r['agreement_found']:.1f}% | {r['lost_to_detection']} / {r['lost_to_framing']} "
            f"| {r['gained_by_framing']} |"
        )
    return "\n".join(lines)
