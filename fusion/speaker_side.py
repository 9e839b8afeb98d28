"""What the speaker finder (`emofuse.speaking`) is fed during a walk: each face's mouth motion
and the soundtrack's speech envelope, both kept as a few numbers per frame, never as pictures."""
from __future__ import annotations

import numpy as np

from .speaking import SpeakerFinder, mouth_motion, mouth_patch, speech_envelope
from .types import FaceBox

#: Envelope resolution (seconds per value).
ENVELOPE_HOP = 0.01


class MouthRecorder:
    """Feeds `finder` the mouth motion of each track between its consecutive analysed frames."""

    def __init__(self, finder: SpeakerFinder) -> None:
        self.finder = finder
        self._last: dict[int, np.ndarray] = {}

    def see(self, time: float, key: int, box: FaceBox, frame: np.ndarray) -> None:
        patch = mouth_patch(frame, box)
        previous = self._last.get(key)
        self._last[key] = patch
        if previous is not None:
            self.finder.add(key, time, mouth_motion(previous, patch))


class EnvelopeBook:
    """The speech envelope of a soundtrack, segment after segment, with the time of each value."""

    def __init__(self, hop: float = ENVELOPE_HOP) -> None:
        self.hop = hop
        self._times: list[np.ndarray] = []
        self._values: list[np.ndarray] = []

    def add(self, start: float, samples: np.ndarray, rate: int) -> None:
        values = np.asarray(speech_envelope(samples, rate, self.hop), dtype=np.float64)
        self._values.append(values)
        self._times.append(start + self.hop * np.arange(values.size))

    def series(self) -> tuple[np.ndarray, np.ndarray]:
        if not self._values:
            return np.zeros(0), np.zeros(0)
        return np.concatenate(self._times), np.concatenate(self._values)
