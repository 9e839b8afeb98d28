"""Turn a Timeline into a flat table (the CSV schema), by segment or by segment and person."""
from __future__ import annotations

import numpy as np

from .labels import LABELS

GROUPS = ("face", "voice", "fused")
SCORE_COLUMNS: tuple[str, ...] = tuple(f"{group}_{label}" for group in GROUPS for label in LABELS)

#: `--by segment` (the default): one row per segment, the scene as a whole.
COLUMNS: tuple[str, ...] = (
    ("start", "end", "label", "confidence", "faces") + SCORE_COLUMNS + ("speaker", "voice_speech", "errors")
)

#: `--by person`: one row per segment and person seen in it; the box is the person's median
#: face box in the segment, in pixels of the displayed frame.
PERSON_COLUMNS: tuple[str, ...] = (
    ("start", "end", "person", "speaking", "x", "y", "width", "height", "label", "confidence", "faces")
    + SCORE_COLUMNS + ("errors",)
)

BY = ("segment", "person")


def _scores(row: dict, holder) -> None:
    for group in GROUPS:
        scores = getattr(holder, group)
        for i, label in enumerate(LABELS):
            row[f"{group}_{label}"] = round(scores.values[i], 5) if scores else np.nan


def segment_row(segment) -> dict:
    """One CSV row for one SegmentResult; an absent modality leaves its cells empty (NaN)."""
    row = {
        "start": round(segment.start, 3),
        "end": round(segment.end, 3),
        "label": segment.label or "",
        "confidence": round(segment.confidence, 4) if segment.fused else np.nan,
        "faces": segment.faces,
    }
    _scores(row, segment)
    row["speaker"] = segment.speaker or ""
    row["voice_speech"] = np.nan if segment.voice_speech is None else round(segment.voice_speech, 3)
    row["errors"] = "; ".join(segment.errors)
    return row


def person_row(segment, person) -> dict:
    """One CSV row for one person in one segment."""
    box = person.box
    row = {
        "start": round(segment.start, 3), "end": round(segment.end, 3), "person": person.person,
        "speaking": bool(person.speaking), "x": box.x, "y": box.y, "width": box.width, "height": box.height,
        "label": person.label or "",
        "confidence": round(person.confidence, 4) if person.fused else np.nan,
        "faces": person.faces,
    }
    _scores(row, person)
    row["errors"] = "; ".join(segment.errors)
    return row


def check_by(by: str) -> str:
    if by not in BY:
        raise ValueError(f"by must be one of {', '.join(BY)}, got {by!r}")
    return by


def timeline_to_dataframe(timeline, by: str = "segment"):
    import pandas as pd

    if check_by(by) == "person":
        rows = [person_row(s, p) for s in timeline.segments for p in s.people]
        return pd.DataFrame(rows, columns=list(PERSON_COLUMNS))
    return pd.DataFrame([segment_row(s) for s in timeline.segments], columns=list(COLUMNS))
