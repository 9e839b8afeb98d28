"""Who is speaking: each visible face's mouth motion against the speech envelope (audio-visual synchrony).

The mouth of a person who speaks moves when the loudness of the voice changes (syllables open and
close it). So, per face track: the grey mouth patch is sampled on a run of frames, its motion
between consecutive samples is kept as one number, and over a window around a segment that
motion is correlated (Pearson) with the change of the soundtrack's log energy over the same
intervals, at small audio-video lags and, for the chance level, at unrelated ones. The face
whose synchrony stands highest above its chance level speaks if it clears a threshold;
otherwise nobody visible does (the speaker is off-screen, or nobody speaks).
Measured on real talking faces (CREMA-D) in `docs/speaking.md` / `benchmarks/speaker_bench.py`.
"""
from __future__ import annotations

import bisect
from collections.abc import Collection

import numpy as np

from .types import FaceBox

#: The mouth region as fractions of a face box (left, top, right, bottom): Haar-style boxes end
#: near the chin, so their lower part, a little past the box, holds the lips and the jaw.
MOUTH_REGION = (0.22, 0.62, 0.78, 1.02)

#: Grey mouth patches are this size (width, height).
PATCH_SIZE = (32, 24)

#: Envelope floor (dB re full scale): silence is this, not -inf.
FLOOR_DB = -80.0

#: Offsets (seconds, either way) of audio and mouth that are unrelated: what a face scores at
#: these is its chance level; and their step.
FAR_LAGS, FAR_STEP = (0.5, 1.5), 0.05

#: The spread of chance-level correlations is taken as at least this (a floor for the score's
#: denominator when they hardly vary).
SPREAD_FLOOR = 0.1

#: A face box that moved or changed size by less than this share of its width is kept as it
#: was for the mouth patch: detector jitter (2-4 px) would otherwise read as mouth motion.
STEADY_TOLERANCE = 0.1


def mouth_patch(frame: np.ndarray, box: FaceBox, size: tuple[int, int] = PATCH_SIZE) -> np.ndarray:
    """The grey float32 mouth region of `box` in `frame` (H x W x 3 uint8, or grey), resized to
    `size` (width, height). Where the region leaves the frame, the frame's edge is repeated."""
    import cv2

    left, top, right, bottom = MOUTH_REGION
    x0, x1 = box.x + round(left * box.width), box.x + max(1, round(right * box.width))
    y0, y1 = box.y + round(top * box.height), box.y + max(1, round(bottom * box.height))
    h, w = frame.shape[:2]
    cx0, cy0, cx1, cy1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    if cx1 <= cx0 or cy1 <= cy0:  # wholly outside the frame: nothing to see, no motion
        return np.zeros((size[1], size[0]), np.float32)
    region = frame[cy0:cy1, cx0:cx1]
    if (cx0, cy0, cx1, cy1) != (x0, y0, x1, y1):
        region = cv2.copyMakeBorder(region, cy0 - y0, y1 - cy1, cx0 - x0, x1 - cx1, cv2.BORDER_REPLICATE)
    small = cv2.resize(region, size, interpolation=cv2.INTER_AREA)
    if small.ndim == 3:  # the mean of the channels: RGB and BGR frames give the same patch
        return small.mean(axis=2, dtype=np.float32)
    return small.astype(np.float32)


def mouth_motion(previous: np.ndarray, current: np.ndarray) -> float:
    """How much the mouth moved between two patches: their mean absolute grey difference."""
    return float(np.mean(np.abs(current - previous)))


def steady_box(previous: FaceBox | None, current: FaceBox, tolerance: float = STEADY_TOLERANCE) -> FaceBox:
    """`previous` while `current` is within `tolerance` x its width of it (position and size),
    else `current`: the box to cut mouth patches with, so detector jitter is not mouth motion."""
    if previous is None:
        return current
    limit = tolerance * previous.width
    if (abs(current.x - previous.x) <= limit and abs(current.y - previous.y) <= limit
            and abs(current.width - previous.width) <= limit and abs(current.height - previous.height) <= limit):
        return previous
    return current


def speech_envelope(samples: np.ndarray, rate: int, hop: float = 0.01) -> np.ndarray:
    """Log energy (dB re full scale, floored at FLOOR_DB) of each `hop` seconds of `samples`:
    value i covers samples from i * hop to (i + 1) * hop seconds (a partial last hop is left out)."""
    n = max(1, int(round(hop * rate)))
    count = len(samples) // n
    if count == 0:
        return np.zeros(0, np.float32)
    frames = np.asarray(samples[: count * n], np.float64).reshape(count, n)
    power = np.mean(frames**2, axis=1)
    return np.maximum(10 * np.log10(np.maximum(power, 1e-12)), FLOOR_DB).astype(np.float32)


def _pearson_rows(rows: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of each row of `rows` with `b` (0 where either does not vary)."""
    rows = rows - rows.mean(axis=1, keepdims=True)
    b = b - b.mean()
    norm = np.sqrt(np.einsum("ij,ij->i", rows, rows) * np.dot(b, b))
    dots = rows @ b
    return np.divide(dots, norm, out=np.zeros_like(dots), where=norm > 1e-12)


class SpeakerFinder:
    """Collects each track's mouth motion over time and says who speaks in a window.

    `add(track, time, motion, span)`: the mouth of `track` moved by `motion` (`mouth_motion`)
    between the frames at `time - span` and `time`; without `span`, since this track's previous
    `add` (consecutive samples). `speaker(...)` scores each candidate over `window` seconds
    centred on the segment. r(lag): the Pearson correlation between its motions and the change
    of the (`smooth`-seconds smoothed) envelope over the same intervals shifted by `lag`. The
    score is how far the best r within `max_lag` either way stands above the r of unrelated
    offsets (`FAR_LAGS` seconds either way), in their standard deviations (at least
    `SPREAD_FLOOR`): a face moving more while anyone talks correlates at every offset, a speaking
    face at the right one only. Candidates with fewer than `min_samples` motions in the window
    get no score. The best scorer speaks if its score is at least `min_score`.
    """

    def __init__(self, window: float = 4.0, min_score: float = 4.0, max_lag: float = 0.1,
                 smooth: float = 0.05, min_samples: int = 10) -> None:
        if window <= 0 or max_lag < 0 or smooth < 0 or min_samples < 3:
            raise ValueError("SpeakerFinder needs window > 0, max_lag >= 0, smooth >= 0, min_samples >= 3")
        self.window, self.min_score, self.max_lag = float(window), float(min_score), float(max_lag)
        self.smooth, self.min_samples = float(smooth), int(min_samples)
        self._samples: dict[int, list[tuple[float, float, float]]] = {}  # track -> (time, span, motion)
        self._arrays: dict[int, np.ndarray] = {}
        self._last: dict[int, float] = {}  # track -> time of its latest add

    @property
    def reach(self) -> float:
        """Seconds of envelope needed beyond the window, each side."""
        return self.max_lag + FAR_LAGS[1]

    def add(self, track: int, time: float, motion: float, span: float | None = None) -> None:
        """`track`'s mouth moved by `motion` from `time - span` (default: its previous `add`) to
        `time`. Times of one track must not go back (ValueError); NaN motions are skipped."""
        last = self._last.get(track)
        if last is not None and time < last:
            raise ValueError(f"track {track}: mouth motion at {time:.3f} s after one at {last:.3f} s")
        self._last[track] = float(time)
        if span is None:
            if last is None:  # a track's first motion without a span: nothing to place it by
                return
            span = time - last
        if span <= 0 or not np.isfinite(motion):
            return
        samples = self._samples.setdefault(track, [])
        samples.append((float(time), float(span), float(motion)))
        self._arrays.pop(track, None)

    def forget(self, before: float) -> None:
        """Drops the motions older than `before` seconds (streaming: memory stays flat)."""
        for track, samples in list(self._samples.items()):
            keep = bisect.bisect_left(samples, (before, -np.inf, -np.inf))
            if keep:
                del samples[:keep]
                self._arrays.pop(track, None)

    def _motions(self, track: int) -> np.ndarray:
        if track not in self._arrays:
            self._arrays[track] = np.asarray(self._samples.get(track, []), np.float64).reshape(-1, 3)
        return self._arrays[track]

    def scores(self, envelope_times: np.ndarray, envelope: np.ndarray, start: float, end: float,
               candidates: Collection[int]) -> dict[int, float]:
        """The synchrony score of each candidate with enough mouth motions in the window (see the
        class); the envelope is needed `reach` seconds either side of the segment (silence is
        assumed where it has no values)."""
        middle = (start + end) / 2
        lo, hi = middle - self.window / 2, middle + self.window / 2
        times = np.asarray(envelope_times, np.float64)
        values = np.asarray(envelope, np.float64)
        margin = self.window / 2 + self.reach + self.smooth
        a, b = np.searchsorted(times, middle - margin), np.searchsorted(times, middle + margin)
        a, b = max(0, a - 1), b + 1  # one value more each side: the neighbours interpolated at the margin
        times, values = times[a:b], values[a:b]
        if times.size < 3:
            return {}
        hop = float(np.median(np.diff(times)))
        width = max(1, int(round(self.smooth / hop))) if hop > 0 else 1
        if width > 1:
            padded = np.pad(values, (width // 2, width - 1 - width // 2), mode="edge")
            values = np.convolve(padded, np.ones(width) / width, mode="valid")
        steps = int(round(self.max_lag / hop)) if hop > 0 else 0
        near = np.arange(-steps, steps + 1) * hop
        far = np.arange(FAR_LAGS[0], FAR_LAGS[1] + 1e-9, FAR_STEP)
        lags = np.concatenate([near, -far[::-1], far])[:, None]
        out: dict[int, float] = {}
        for track in candidates:
            m = self._motions(track)
            if not len(m):
                continue
            i, j = np.searchsorted(m[:, 0], lo), np.searchsorted(m[:, 0], hi, side="right")
            m = m[i:j]
            m = m[m[:, 0] - m[:, 1] >= lo - 1e-9]
            if len(m) < self.min_samples:
                continue
            ends, spans, motion = m[:, 0], m[:, 1], m[:, 2]
            change = np.abs(np.interp(ends + lags, times, values, FLOOR_DB, FLOOR_DB)
                            - np.interp(ends - spans + lags, times, values, FLOOR_DB, FLOOR_DB))
            r = _pearson_rows(change / spans, motion / spans)  # rates: spans may differ
            null = r[len(near):]
            out[track] = float((r[:len(near)].max() - np.median(null)) / max(float(np.std(null)), SPREAD_FLOOR))
        return out

    def speaker(self, envelope_times: np.ndarray, envelope: np.ndarray, start: float, end: float,
                candidates: Collection[int]) -> tuple[int | None, dict[int, float]]:
        """(the track speaking from `start` to `end`, or None when no candidate's score reaches
        `min_score`; every scored candidate's score). `envelope[i]` is `speech_envelope`'s value
        for the time `envelope_times[i]` (ascending)."""
        scores = self.scores(envelope_times, envelope, start, end, candidates)
        if not scores:
            return None, scores
        best = max(scores, key=lambda track: scores[track])
        return (best if scores[best] >= self.min_score else None), scores


class MouthRecorder:
    """Feeds `finder` each track's mouth motion between the frames it is shown (`see`), cut with
    a steady box (`steady_box`). `lost(track)`: the track was not found; no motion is measured
    across the gap."""

    def __init__(self, finder: SpeakerFinder, tolerance: float = STEADY_TOLERANCE) -> None:
        self.finder, self.tolerance = finder, tolerance
        self._boxes: dict[int, FaceBox] = {}
        self._last: dict[int, tuple[float, np.ndarray]] = {}

    def see(self, time: float, track: int, box: FaceBox, frame: np.ndarray) -> None:
        box = self._boxes[track] = steady_box(self._boxes.get(track), box, self.tolerance)
        patch = mouth_patch(frame, box)
        previous = self._last.get(track)
        self._last[track] = (time, patch)
        if previous is not None and time > previous[0]:
            self.finder.add(track, time, mouth_motion(previous[1], patch), span=time - previous[0])

    def lost(self, track: int) -> None:
        self._boxes.pop(track, None)
        self._last.pop(track, None)

