"""Temporal smoothing of a Timeline: a post-processing step, pure (the input is never changed).

Emotions change over seconds, not from one 1 s segment to the next; per-segment scores are
noisy (a face missed by the detector in some frames, a voice window cut mid-word). Smoothing
averages each group's scores (face, voice, fused) over neighbouring segments:

- ``method="ema"``: exponential moving average over the segments so far (causal, so it also
  suits live use), span ``window`` segments: ``s_t = a * x_t + (1 - a) * s_{t-1}`` with
  ``a = 2 / (window + 1)``. ``window=1`` changes nothing.
- ``method="median"``: per-label median over the centred window of ``window`` segments (odd),
  renormalised to sum 1. Robust to one wild segment.

A modality that had nothing to say in a segment (no face, silence) stays absent: smoothing
never invents scores for a gap; it only uses the present neighbours (an EMA carries its state
across a gap). The fused label and confidence follow the smoothed fused scores.

    >>> from emofuse.smoothing import smooth_timeline
    >>> smooth_timeline(timeline, method="median", window=5).to_csv("smoothed.csv")
    >>> smooth_timeline(timeline, *parse_smoothing("ema:3"))  # from a `--smooth ema:3` option
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .types import EmotionScores, Timeline

METHODS = ("ema", "median")
GROUPS = ("face", "voice", "fused")


def smooth_timeline(timeline: Timeline, method: str = "ema", window: int = 3,
                    groups: Sequence[str] = GROUPS) -> Timeline:
    """A new Timeline whose `groups` scores are smoothed over neighbouring segments.

    `method` is "ema" (causal exponential moving average, span `window` segments) or "median"
    (centred window of `window` segments, odd). Absent scores stay absent. The result records
    ``components["smoothing"] = "<method>(window=<n>)"``.
    """
    if method not in METHODS:
        raise ValueError(f"unknown smoothing method {method!r}; expected one of {', '.join(METHODS)}")
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 1:
        raise ValueError(f"smoothing window must be a whole number of segments >= 1, got {window!r}")
    if method == "median" and window % 2 == 0:
        raise ValueError(f"the median window must be odd (centred on a segment), got {window}")
    unknown = set(groups) - set(GROUPS)
    if unknown:
        raise ValueError(f"unknown score groups {sorted(unknown)}; expected some of {', '.join(GROUPS)}")
    window = int(window)
    smoothed = {group: _smooth_group([getattr(s, group) for s in timeline.segments], method, window)
                for group in groups}
    import dataclasses

    segments = [dataclasses.replace(seg, **{g: smoothed[g][i] for g in groups})
                for i, seg in enumerate(timeline.segments)]
    components = {**timeline.components, "smoothing": f"{method}(window={window})"}
    return dataclasses.replace(timeline, segments=segments, components=components)  # persons kept


#: Window used when `parse_smoothing` gets a method without one.
DEFAULT_WINDOWS = {"ema": 3, "median": 5}


def parse_smoothing(text: str) -> tuple[str, int]:
    """'median:5' -> ("median", 5); 'ema' -> ("ema", 3). For a `--smooth METHOD[:WINDOW]` option.

    Raises ValueError with a message fit for the command line.
    """
    method, _, window = str(text).strip().partition(":")
    method = method.strip().lower()
    if method not in METHODS:
        raise ValueError(f"unknown smoothing {text!r}: use ema[:N] or median[:N], e.g. median:5")
    if not window.strip():
        return method, DEFAULT_WINDOWS[method]
    try:
        n = int(window)
    except ValueError:
        raise ValueError(f"bad smoothing window in {text!r}: a whole number of segments, e.g. {method}:3") from None
    if n < 1 or (method == "median" and n % 2 == 0):
        raise ValueError(f"bad smoothing window in {text!r}: >= 1" + (" and odd for median" if method == "median" else ""))
    return method, n


def _smooth_group(scores: list[EmotionScores | None], method: str, window: int) -> list[EmotionScores | None]:
    present = [i for i, s in enumerate(scores) if s is not None]
    if window == 1 or not present:
        return list(scores)
    values = np.array([scores[i].array for i in present])
    raw_keys = _common_raw_keys([scores[i] for i in present])
    raws = np.array([[scores[i].raw[k] for k in raw_keys] for i in present]) if raw_keys else None
    if method == "ema":
        out_values = _ema(values, 2.0 / (window + 1))
        out_raw = _ema(raws, 2.0 / (window + 1)) if raws is not None else None
    else:
        positions = np.asarray(present)
        out_values = _median(values, positions, window)
        out_raw = _median(raws, positions, window) if raws is not None else None
    result: list[EmotionScores | None] = [None] * len(scores)
    for j, i in enumerate(present):
        raw = dict(zip(raw_keys, _normalised(out_raw[j]).tolist())) if out_raw is not None else None
        result[i] = EmotionScores.from_array(_normalised(out_values[j]), raw=raw)
    return result


def _common_raw_keys(scores: list[EmotionScores]) -> tuple[str, ...] | None:
    """The raw score labels when every score carries the same ones, else None (raw is dropped)."""
    first = scores[0].raw
    if first is None:
        return None
    keys = tuple(first)
    if all(s.raw is not None and tuple(s.raw) == keys for s in scores):
        return keys
    return None


def _ema(values: np.ndarray, alpha: float) -> np.ndarray:
    out = np.empty_like(values, dtype=np.float64)
    state = values[0].astype(np.float64)
    for j, row in enumerate(values):
        state = row if j == 0 else alpha * row + (1 - alpha) * state
        out[j] = state
    return out


def _median(values: np.ndarray, positions: np.ndarray, window: int) -> np.ndarray:
    """Per-label median of the present values whose segment index is within window // 2 of each one."""
    half = window // 2
    out = np.empty_like(values, dtype=np.float64)
    for j, pos in enumerate(positions):
        near = np.abs(positions - pos) <= half
        out[j] = np.median(values[near], axis=0)
    return out


def _normalised(row: np.ndarray) -> np.ndarray:
    row = np.maximum(np.asarray(row, dtype=np.float64), 0.0)
    total = row.sum()
    if not total > 0:  # a median of sparse vectors can be all zeros: fall back to uniform
        return np.full(row.shape, 1.0 / row.size)
    return row / total
