"""The canonical emotion label space and the mappings onto it."""
from __future__ import annotations

#: The 7 canonical labels, in FER2013 order. Every classifier speaks this space.
LABELS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")

#: RAVDESS emotion codes (the third part of a file name) -> RAVDESS label.
RAVDESS_CODES: dict[str, str] = {
    "01": "neutral",
    "02": "calm",
    "03": "happy",
    "04": "sad",
    "05": "angry",
    "06": "fearful",
    "07": "disgust",
    "08": "surprised",
}

#: The 8 RAVDESS labels in code order.
RAVDESS_LABELS: tuple[str, ...] = tuple(RAVDESS_CODES.values())

#: RAVDESS label -> canonical label.
RAVDESS_TO_CANONICAL: dict[str, str] = {
    "neutral": "neutral",
    "calm": "neutral",
    "happy": "happy",
    "sad": "sad",
    "angry": "angry",
    "fearful": "fear",
    "disgust": "disgust",
    "surprised": "surprise",
}
