"""The voice side of an analysis: a segment's soundtrack -> speech presence -> voice evidence.

Silence (under `silence_db`) costs nothing more; otherwise the voice-activity detector says
which share of the segment is speech. Only a segment with at least `min_speech` of speech is
classified (music, noise, a door slam get no voice emotion), on a window of the classifier's
`min_window` seconds centred on the segment.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .audio import is_silent, rms_db
from .types import EmotionScores, VoiceEvidence

#: Share of a segment that must be speech (per the voice-activity detector) for a voice verdict.
MIN_SPEECH = 0.2
#: A hop of the detector counts as speech at this probability.
SPEECH_PROBABILITY = 0.5


def _takes_start(method) -> bool:
    import inspect

    try:
        return "start" in inspect.signature(method).parameters
    except (TypeError, ValueError):
        return False


def speech_fraction(probabilities: np.ndarray) -> float:
    """The share of a detector's hops that are speech (0 for no hops)."""
    p = np.asarray(probabilities, dtype=np.float64).ravel()
    return float((p >= SPEECH_PROBABILITY).mean()) if p.size else 0.0


class VoiceSide:
    """Voice evidence segment after segment from one soundtrack (`window(a, b)` -> mono samples).

    `vad` is a voice-activity detector or None (then any non-silent segment is speech);
    `classify(samples, rate, errors)` runs features + classifier; `guard(kind, errors, call)`
    records a component's failure in the segment instead of raising.
    """

    def __init__(self, window: Callable[[float, float], np.ndarray], sample_rate: int, duration: float,
                 min_window: float, vad: Any, classify: Callable[[np.ndarray, int, list[str]], EmotionScores | None],
                 guard: Callable[..., Any], silence_db: float, min_speech: float = MIN_SPEECH,
                 source_rate: int = 0) -> None:
        self.window, self.rate, self.duration = window, sample_rate, duration
        self.min_window, self.vad, self.classify, self.guard = min_window, vad, classify, guard
        self.silence_db, self.min_speech, self.source_rate = silence_db, min_speech, source_rate
        self._streams = vad is not None and _takes_start(vad.speech)

    def evidence(self, start: float, end: float, errors: list[str]) -> tuple[VoiceEvidence | None, float, np.ndarray]:
        """(voice evidence or None, speech share of the segment, the segment's own samples)."""
        length = max(end - start, self.min_window)
        a = max(0.0, (start + end) / 2 - length / 2)
        b = min(self.duration, a + length)
        a = max(0.0, b - length)
        samples = self.window(a, b)
        own = samples[int((start - a) * self.rate): int((end - a) * self.rate)]
        speech = self.speech(own, errors, start)
        if speech is None or speech < self.min_speech:
            return None, speech or 0.0, own
        scores = self.classify(samples, self.rate, errors)
        if scores is None:
            return None, speech, own
        level = rms_db(own)
        return VoiceEvidence(scores, speech=speech, level_db=round(level, 2) if np.isfinite(level) else -120.0,
                             window=round(b - a, 3), sample_rate=self.source_rate), speech, own

    def speech(self, own: np.ndarray, errors: list[str], start: float | None = None) -> float | None:
        """The speech share of a segment's samples (starting at `start` s); 0 for silence; None when
        the detector failed. A detector whose `speech` takes `start` keeps its state across
        contiguous segments (Silero's speech fraction in noise halves when restarted every second)."""
        if own.size == 0 or is_silent(own, self.silence_db):
            return 0.0
        if self.vad is None:
            return 1.0
        extra = {"start": start} if self._streams and start is not None else {}
        probabilities = self.guard("voice_activity", errors, lambda: self.vad.speech(own, self.rate, **extra))
        return None if probabilities is None else speech_fraction(probabilities)
