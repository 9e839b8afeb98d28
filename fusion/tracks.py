"""Face tracks within a shot: which box of this frame is which face of the frames before.

`emofuse.tracking.FaceTracker` says *where* the faces are on each analysed frame; `TrackLinker`
says *which* face each box is, by giving it the key of the track it continues. A box continues
the track whose last box it overlaps most (intersection over union above `LINK_IOU`), or failing
that whose centre is nearest (within `LINK_DISTANCE` face widths, faces of similar size); every
track takes at most one box per frame, so two faces in one frame are never one track. A track not
seen for `max_gap` seconds ends (short detector gaps are bridged); a shot cut ends every track.
Keys are whole numbers, unique over the file, in order of first appearance.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from .tracking import iou
from .types import FaceBox

#: A box overlapping a track's last box by more than this continues it.
LINK_IOU = 0.3
#: ...or, failing that, a box whose centre is within this many face widths of the track's last
#: centre, and whose width is within `LINK_SIZE` times of it.
LINK_DISTANCE = 0.6
LINK_SIZE = 1.5
#: Seconds a track may go unseen (the detector flickers) before it ends.
MAX_GAP = 1.0


@dataclasses.dataclass
class _Open:
    key: int
    box: FaceBox
    last: float


class TrackLinker:
    """Gives each face box of consecutive analysed frames the key of the track it belongs to."""

    def __init__(self, max_gap: float = MAX_GAP) -> None:
        if not max_gap >= 0:
            raise ValueError(f"max_gap must be >= 0 seconds, got {max_gap}")
        self.max_gap = float(max_gap)
        self._open: list[_Open] = []
        self._next_key = 1

    def cut(self) -> None:
        """A shot cut: every open track ends (the next faces start new tracks)."""
        self._open = []

    def link(self, time: float, boxes: Sequence[FaceBox]) -> list[tuple[int, FaceBox]]:
        """(track key, box) for each box of the frame at `time` (seconds), in the order given."""
        self._open = [t for t in self._open if time - t.last <= self.max_gap + 1e-9]
        pairs = []  # (rank, cost, track index, box index): overlap first, then distance
        for ti, track in enumerate(self._open):
            for bi, box in enumerate(boxes):
                overlap = iou(track.box, box)
                if overlap > LINK_IOU:
                    pairs.append((0, -overlap, ti, bi))
                    continue
                distance = _centre_distance(track.box, box) / max(track.box.width, 1)
                ratio = max(box.width, track.box.width) / max(1, min(box.width, track.box.width))
                if distance <= LINK_DISTANCE and ratio <= LINK_SIZE:
                    pairs.append((1, distance, ti, bi))
        taken_tracks: set[int] = set()
        keys: dict[int, int] = {}
        for _, _, ti, bi in sorted(pairs):
            if ti in taken_tracks or bi in keys:
                continue
            taken_tracks.add(ti)
            keys[bi] = self._open[ti].key
            self._open[ti].box, self._open[ti].last = boxes[bi], time
        # new tracks are numbered left to right (then top to bottom), whatever order the detector
        # listed the boxes in (OpenCV's parallel scan does not keep one), so ids are reproducible
        for bi in sorted((bi for bi in range(len(boxes)) if bi not in keys), key=lambda bi: (boxes[bi].x, boxes[bi].y)):
            keys[bi] = self._next_key
            self._open.append(_Open(self._next_key, boxes[bi], time))
            self._next_key += 1
        return [(keys[bi], box) for bi, box in enumerate(boxes)]


def _centre_distance(a: FaceBox, b: FaceBox) -> float:
    dx = (a.x + a.width / 2) - (b.x + b.width / 2)
    dy = (a.y + a.height / 2) - (b.y + b.height / 2)
    return (dx * dx + dy * dy) ** 0.5
