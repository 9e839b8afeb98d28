"""What the speaker finder (`emofuse.speaking`) is fed during a walk: each face's mouth motion
and the soundtrack's speech envelope, both kept as a few numbers per frame, never as pictures."""
from __future__ import annotations

import numpy as np

from .speaking import MouthRecorder, speech_envelope
from .types import FaceBox

#: Envelope resolution (seconds per value).
ENVELOPE_HOP = 0.01


class MouthFeed:
    """Feeds a `MouthRecorder` the faces of each analysed frame and, between them, the same faces'
    boxes on the frames in between (mouth motion needs ~12 frames a second; faces are found 4 times)."""

    def __init__(self, recorder: MouthRecorder) -> None:
        self.recorder = recorder
        self._current: list[tuple[int, FaceBox]] = []

    def analysed(self, time: float, linked: list[tuple[int, FaceBox]], frame: np.ndarray) -> None:
        """An analysed frame and its faces (track key, box); tracks not on it are lost."""
        keys = {key for key, _ in linked}
        for key, _ in self._current:
            if key not in keys:
                self.recorder.lost(key)
        self._current = list(linked)
        for key, box in linked:
            self.recorder.see(time, key, box, frame)

    def between(self, time: float, frame: np.ndarray) -> None:
        """A frame between analysed ones (BGR or RGB: the patch averages the channels)."""
        for key, box in self._current:
            self.recorder.see(time, key, box, frame)


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
