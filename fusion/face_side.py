"""The frame side of an analysis: decoded frames -> faces -> tracks, one segment at a time.

For each segment it hands over every face seen on its analysed frames (with the key of the track
it belongs to, its box and a copy of its crop: the frames themselves are not kept), how many
frames were analysed, and the detector's errors. On the way it detects shot cuts (tracks end
there), keeps a few crops of each track to tell persons apart later (`TrackBook`), and records
the motion of each face's mouth for the speaker finder. It runs on its own thread, ahead of the
classifiers (`emofuse.threads.RunAhead`).
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence

import numpy as np

from .persons import MIN_FRAMES
from .tracks import TrackLinker
from .types import FaceBox

#: Crops kept per track for its identity (embedded when the track ends), and their spacing.
EMBED_CROPS = 3
EMBED_SPACING = 0.5
#: Crops for the identity are the face box grown by this share of its size on each side.
EMBED_MARGIN = 0.25


@dataclasses.dataclass(frozen=True)
class SeenFace:
    """One face on one analysed frame."""

    time: float
    track: int
    box: FaceBox
    crop: np.ndarray


@dataclasses.dataclass
class FaceSegment:
    """What the frame side found in one segment."""

    faces: list[SeenFace]
    sampled: int = 0
    most: int = 0
    errors: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class TrackInfo:
    """One track: where and when it was seen, its shot, and (until embedded) a few identity crops."""

    key: int
    shot: int
    first: float
    last: float
    frames: int = 0
    crops: list[np.ndarray] = dataclasses.field(default_factory=list)
    crop_times: list[float] = dataclasses.field(default_factory=list)
    embeddings: np.ndarray | None = None
    best: np.ndarray | None = None  # the largest crop seen: the person's picture
    best_width: int = 0


#: A track's picture (the contact sheet, the report's gallery) is kept at most this many pixels
#: wide: every track keeps one, so a long film's tracks stay a few tens of kilobytes each.
PICTURE_WIDTH = 128


def thumbnail(crop: np.ndarray, width: int = PICTURE_WIDTH) -> np.ndarray:
    """`crop` shrunk to at most `width` pixels wide (a copy either way)."""
    if crop.shape[1] <= width:
        return crop.copy()
    import cv2

    height = max(1, round(crop.shape[0] * width / crop.shape[1]))
    return cv2.resize(crop, (width, height), interpolation=cv2.INTER_AREA)


def grown_crop(frame: np.ndarray, box: FaceBox, margin: float = EMBED_MARGIN) -> np.ndarray:
    """The face box grown by `margin` of its size on each side, clipped to the frame (a copy)."""
    h, w = frame.shape[:2]
    dx, dy = round(box.width * margin), round(box.height * margin)
    x0, y0 = max(0, box.x - dx), max(0, box.y - dy)
    x1, y1 = min(w, box.x + box.width + dx), min(h, box.y + box.height + dy)
    return frame[y0:y1, x0:x1].copy()


class TrackBook:
    """Every track of a file; a track's identity crops are embedded (and dropped) when it ends.

    `embed(crops) -> (n, d)` is the face embedder's method (returning None when it failed: the
    track stays without embeddings, a person of its own), or None when persons are not wanted.
    """

    def __init__(self, embed: Callable[[Sequence[np.ndarray]], np.ndarray | None] | None, max_gap: float) -> None:
        self.embed, self.max_gap = embed, max_gap
        self.tracks: dict[int, TrackInfo] = {}
        self._open: set[int] = set()
        self.shot = 0

    def cut(self) -> None:
        """A shot cut: the open tracks end (and are embedded); later tracks are of the next shot."""
        self.shot += 1
        self.finish()

    def see(self, time: float, key: int, box: FaceBox, frame: np.ndarray) -> None:
        track = self.tracks.get(key)
        if track is None:
            track = self.tracks[key] = TrackInfo(key, self.shot, time, time)
            self._open.add(key)
        track.last, track.frames = time, track.frames + 1
        wants_crop = self.embed is not None and len(track.crops) < EMBED_CROPS and (
            not track.crop_times or time - track.crop_times[-1] >= EMBED_SPACING - 1e-9)
        if wants_crop or box.width > track.best_width:
            crop = grown_crop(frame, box)
            if crop.size == 0:
                return
            if wants_crop:
                track.crops.append(crop)
                track.crop_times.append(time)
            if box.width > track.best_width:
                track.best, track.best_width = thumbnail(crop), box.width

    def close_before(self, time: float) -> None:
        """End (and embed) the open tracks last seen more than `max_gap` before `time`."""
        for key in sorted(self._open):
            track = self.tracks[key]
            if time - track.last > self.max_gap + 1e-9:
                self._open.discard(key)
                self._finish(track)

    def finish(self) -> None:
        self.close_before(float("inf"))

    def _finish(self, track: TrackInfo) -> None:
        # a track too brief to be a person (persons.MIN_FRAMES) is not worth ~75 ms a crop
        if self.embed is not None and track.crops and track.frames >= MIN_FRAMES:
            vectors = self.embed(track.crops)
            if vectors is not None:
                track.embeddings = np.asarray(vectors, dtype=np.float64).reshape(len(track.crops), -1)
        track.crops, track.crop_times = [], []


def segment_faces(frames, bounds: Sequence[tuple[float, float]],
                  find_faces: Callable[[float, np.ndarray, list[str]], list[FaceBox] | None],
                  linker: TrackLinker, book: TrackBook, is_cut: Callable[[np.ndarray], bool] | None,
                  on_frame: Callable[[float, list[tuple[int, FaceBox]], np.ndarray], None] | None = None,
                  ) -> Iterator[FaceSegment]:
    """For each segment of `bounds`: a FaceSegment. `frames` hands out the (time, frame) pairs of a
    segment by `frames.until(end)`; `find_faces(time, frame, errors)` gives a frame's boxes (None on
    failure); `is_cut(frame)` says whether a frame starts a new shot; `on_frame(time, faces, frame)`
    sees each analysed frame with its (track key, box) pairs (the speaker finder's mouth motion)."""
    for _, end in bounds:
        segment = FaceSegment([])
        for time, frame in frames.until(end):
            segment.sampled += 1
            if is_cut is not None and is_cut(frame):
                linker.cut()
                book.cut()
            book.close_before(time)
            boxes = find_faces(time, frame, segment.errors)
            linked = []
            for key, box in linker.link(time, boxes or []):
                crop = box.crop(frame)
                if not crop.size:
                    continue
                linked.append((key, box))
                segment.faces.append(SeenFace(time, key, box, crop.copy()))
                book.see(time, key, box, frame)
            if on_frame is not None:
                on_frame(time, linked, frame)
            segment.most = max(segment.most, len(linked))
        yield segment
    book.finish()
