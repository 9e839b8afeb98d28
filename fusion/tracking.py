"""Which faces are where, frame after frame, without a full-frame detection on every frame.

A full-frame detection (the detector's `detect`) runs at most `detect_fps` times a second. On
the frames in between, each face found before is looked for again near where it was, by the
detector's optional `track(frame, boxes)` method (cheap: a small region at a small scale). A
face that is not found again is dropped until the next full-frame detection; a face that
appears is picked up by the next full-frame detection (within 1 / detect_fps seconds). While no
face is tracked there is nothing cheap to do, so every frame gets a full-frame detection (a
face that appears is then found at once; frames without faces cost what they did before
tracking). A full-frame detection also tracks the faces it had and missed, and keeps those
tracking found (detectors flicker from frame to frame).

`detect_fps=None` (the default) means: `DEFAULT_DETECT_FPS` when the faces are tracked, and a
full-frame detection on every frame when they are not (a detector without `track`, or
`track=False`), so that no box outlives its face. An explicit `detect_fps` without tracking
reuses the last boxes unchanged in between; `math.inf` detects on every frame.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # kept light: `emofuse --help` imports this module for its defaults
    from .types import FaceBox

#: Full-frame detections per second by default (`--detect-fps`); faces are tracked in between.
DEFAULT_DETECT_FPS = 1.0

#: Two boxes overlapping by more than this (intersection over union) are the same face.
MATCH_IOU = 0.3

Boxes = list["FaceBox"]


class FaceTracker:
    """Decides, frame by frame, between a full-frame detection, tracking, and reusing boxes.

    `can_track`: the detector has a `track` method; `track`: the user wants it used.
    """

    def __init__(self, detect_fps: float | None = None, track: bool = True, can_track: bool = True) -> None:
        self.track = track and can_track
        rate = detect_fps if detect_fps is not None else (DEFAULT_DETECT_FPS if self.track else math.inf)
        self.period = 1.0 / rate
        self.last_time: float = float("-inf")
        self.last: Boxes | None = None

    def boxes(self, time: float, detect: Callable[[], Boxes | None],
              track: Callable[[Boxes], Boxes | None] | None = None) -> Boxes | None:
        """The faces of the frame at `time` (seconds). `detect()` runs the full-frame detector,
        `track(boxes)` the detector's tracking; both return None when the component failed."""
        # when tracking and nothing is tracked, look at the whole frame; otherwise once a period
        nothing = self.last is None or (self.track and not self.last)
        due = nothing or not self.period or time - self.last_time >= self.period - 1e-9
        if due:
            found = detect()
            if found is None:
                return None
            if self.track and track is not None and self.last:
                # a face the full-frame detection missed this once (detectors flicker) but that is
                # still where it was is kept: tracking found it again
                missed = [box for box in self.last if all(iou(box, hit) <= MATCH_IOU for hit in found)]
                if missed:
                    found = distinct(list(found) + list(track(missed) or []), overlap=MATCH_IOU)
            self.last, self.last_time = found, time
            return found
        if not (self.track and track is not None and self.last):
            return self.last
        found = track(self.last)
        if found is None:  # tracking failed (recorded by the caller): keep the boxes we had
            return self.last
        self.last = found
        return found


def distinct(boxes: Sequence["FaceBox"], overlap: float = 0.5) -> Boxes:
    """`boxes` without those overlapping an earlier one by more than `overlap` (intersection over union)."""
    kept: Boxes = []
    for box in boxes:
        if all(iou(box, other) <= overlap for other in kept):
            kept.append(box)
    return kept


def iou(a: "FaceBox", b: "FaceBox") -> float:
    """Intersection over union of two boxes (0 when they do not touch)."""
    w = min(a.x + a.width, b.x + b.width) - max(a.x, b.x)
    h = min(a.y + a.height, b.y + b.height) - max(a.y, b.y)
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    return inter / (a.width * a.height + b.width * b.height - inter)
