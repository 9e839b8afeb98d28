"""Turn a Timeline into a flat table (the CSV schema)."""
from __future__ import annotations

import numpy as np

from .labels import LABELS

GROUPS = ("face", "voice", "fused")
COLUMNS: tuple[str, ...] = (
    ("start", "end", "label", "confidence", "faces")
    + tuple(f"{group}_{label}" for group in GROUPS for label in LABELS)
    + ("errors",)
)


def segment_row(segment) -> dict:
    """One CSV row for one SegmentResult; an absent modality leaves its cells empty (NaN)."""
    row = {
        "start": round(segment.start, 3),
        "end": round(segment.end, 3),
        "label": segment.label or "",
        "confidence": round(segment.confidence, 4) if segment.fused else np.nan,
        "faces": segment.faces,
    }
    for group in GROUPS:
        scores = getattr(segment, group)
        for i, label in enumerate(LABELS):
            row[f"{group}_{label}"] = round(scores.values[i], 5) if scores else np.nan
    row["errors"] = "; ".join(segment.errors)
    return row


def timeline_to_dataframe(timeline):
    import pandas as pd

    return pd.DataFrame([segment_row(s) for s in timeline.segments], columns=list(COLUMNS))
