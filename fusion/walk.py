"""One file's frame side and what it keeps for the persons at the end.

`FrameWalk.segments()` runs on the frame thread: decoded frames -> shot cuts, faces, tracks,
identity crops and mouth motion (emofuse.face_side, emofuse.speaker_side), one FaceSegment per
segment. `hear()` takes each segment's soundtrack (the speech envelope). `people()`, at the end,
clusters the tracks into persons, finds who speaks in each segment and builds the per-person rows
(emofuse.people).
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np

from .face_side import FaceSegment, TrackBook, segment_faces
from .media import MediaInfo, iter_frames
from .people import SegmentFaces, build_people, sightings, summarise_persons
from .tracks import MAX_GAP, TrackLinker
from .types import Person, SegmentResult, Sighting

if TYPE_CHECKING:
    from .runner import Pipeline

#: Mouth motion is measured on every MOUTH_EVERY-th frame (docs/speaking.md: every 2nd frame
#: names the speaker in 75 % of speech segments, the 4 analysed frames a second in 0-1 %).
MOUTH_EVERY = 2


class FrameWalk:
    """One file's frame side (run ahead on its own thread) and what it keeps for the persons."""

    def __init__(self, pipeline: Pipeline, info: MediaInfo, bounds: Sequence[tuple[float, float]],
                 speakers: bool = True) -> None:
        from .speaker_side import EnvelopeBook, MouthFeed
        from .speaking import MouthRecorder, SpeakerFinder

        self.pipeline, self.info, self.bounds = pipeline, info, bounds
        self.persons = pipeline.options.persons
        self.linker = TrackLinker(MAX_GAP)
        self.book = TrackBook(self._embed if self.persons else None, MAX_GAP)
        self.speakers = SpeakerFinder() if self.persons and speakers else None
        self.mouths = MouthFeed(MouthRecorder(self.speakers)) if self.speakers else None
        self.envelope = EnvelopeBook()

    def _embed(self, crops: Sequence[np.ndarray]) -> np.ndarray | None:
        """The crops' embeddings; None when the embedder failed (warned by _guard)."""
        return self.pipeline._guard("face_embedder", [], lambda: self.pipeline.face_embedder.embed(crops))

    def segments(self) -> Iterator[FaceSegment]:
        from .shots import ShotDetector

        p = self.pipeline
        # mouth motion wants about every 2nd frame (docs/speaking.md); faces are found at --fps
        mouths = {"between": self.mouths.between, "between_fps": (self.info.fps or 25.0) / MOUTH_EVERY} \
            if self.mouths else {}
        self.stream = iter_frames(self.info, p.options.fps, start=self.bounds[0][0], **mouths)
        frames, tracker = FrameCursor(self.stream), p.face_tracker()
        shots = ShotDetector() if self.persons else None
        try:
            yield from segment_faces(frames, self.bounds, lambda t, f, errors: p.find_faces(tracker, t, f, errors),
                                     self.linker, self.book, shots.is_cut if shots else None,
                                     self.mouths.analysed if self.mouths else None)
        finally:
            frames.close()

    def hear(self, start: float, samples: np.ndarray, rate: int) -> None:
        """The soundtrack of a segment, for the speaker finder."""
        if self.speakers is not None:
            self.envelope.add(start, samples, rate)

    def people(self, segments: list[SegmentResult], faces_of: list[SegmentFaces],
               fuse) -> tuple[list[SegmentResult], list[Person], list[Sighting]]:
        """The segments with their persons and speakers, the persons of the file, every face seen."""
        from .persons import TrackSummary, cluster_tracks

        summaries = [TrackSummary(t.key, t.first, t.last, t.frames,
                                  t.embeddings if t.embeddings is not None else np.zeros((0, 0)), t.shot)
                     for t in self.book.tracks.values()]
        same = float(getattr(self.pipeline.face_embedder, "same_person", 0.0))
        persons_of = cluster_tracks(summaries, same)
        times, envelope = self.envelope.series()
        speakers = []
        for segment, seen in zip(segments, faces_of):
            visible = [key for key in seen.tracks if key in persons_of]
            if seen.voice is None or not visible or self.speakers is None:
                speakers.append(None)
                continue
            speakers.append(self.speakers.speaker(times, envelope, segment.start, segment.end, visible)[0])
        segments = build_people(segments, faces_of, persons_of, speakers, fuse)
        pictures: dict[str, np.ndarray | None] = {}
        for track in sorted(self.book.tracks.values(), key=lambda t: -t.best_width):
            person = persons_of.get(track.key)
            if person is not None and person not in pictures:
                pictures[person] = track.best
        return (segments, summarise_persons(segments, [f.sampled for f in faces_of], pictures),
                sightings(faces_of, persons_of))


class FrameCursor:
    """Hands out the frames of each segment in turn from one forward-only frame iterator."""

    def __init__(self, frames: Iterator[tuple[float, np.ndarray]]) -> None:
        self._frames, self._next = frames, None

    def close(self) -> None:
        """Release the decoder now (the frame iterator's clean-up)."""
        close = getattr(self._frames, "close", None)
        if close is not None:
            close()

    def until(self, end: float) -> Iterator[tuple[float, np.ndarray]]:
        """The frames before `end`, one at a time (each is handled before the next is decoded)."""
        while True:
            if self._next is None:
                self._next = next(self._frames, False)
            if self._next is False or self._next[0] >= end - 1e-9:
                return
            frame, self._next = self._next, None
            yield frame
