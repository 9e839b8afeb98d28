"""The last stage of an analysis: segment x person rows, built once the whole file is seen.

During the walk the runner keeps, per segment, each track's face scores and boxes (a few numbers,
never frames). At the end the tracks are clustered into persons (`emofuse.persons`), each segment
gets the person speaking in it (`emofuse.speaking`), and each person of each segment gets a
PersonResult: their own face evidence, the voice only while they speak, and the two fused.
"""
from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from .evidence import face_evidence
from .types import EmotionScores, FaceBox, FaceEvidence, Person, PersonResult, SegmentResult, Sighting, VoiceEvidence


@dataclasses.dataclass
class TrackFaces:
    """One track's faces in one segment: a score and a box per face, and the frame times."""

    scores: list[EmotionScores] = dataclasses.field(default_factory=list)
    boxes: list[FaceBox] = dataclasses.field(default_factory=list)
    times: list[float] = dataclasses.field(default_factory=list)

    def add(self, scores: EmotionScores, box: FaceBox, time: float) -> None:
        self.scores.append(scores)
        self.boxes.append(box)
        self.times.append(time)


@dataclasses.dataclass
class SegmentFaces:
    """What the people stage needs of one segment: analysed frames, each track's faces, the voice."""

    sampled: int
    tracks: dict[int, TrackFaces]
    voice: VoiceEvidence | None


Fuse = Callable[[FaceEvidence | None, VoiceEvidence | None, list[str]], EmotionScores | None]


def median_box(boxes: Sequence[FaceBox]) -> FaceBox:
    """The per-coordinate median of several boxes (the person's box in a segment)."""
    arr = np.array([(b.x, b.y, b.width, b.height) for b in boxes], dtype=np.float64)
    x, y, w, h = (int(round(v)) for v in np.median(arr, axis=0))
    return FaceBox(x, y, max(1, w), max(1, h), float(np.median([b.score for b in boxes])))


def build_people(segments: Sequence[SegmentResult], faces: Sequence[SegmentFaces], persons_of: Mapping[int, str],
                 speakers: Sequence[int | None], fuse: Fuse) -> list[SegmentResult]:
    """`segments` with their `people` and `speaker` filled in.

    `persons_of` maps track keys to person ids (tracks left out are not persons: too brief);
    `speakers[i]` is the track speaking in segment i (None: nobody visible). A person's voice
    evidence is the segment's voice while they speak, else None.
    """
    out = []
    for segment, seen, speaker_track in zip(segments, faces, speakers):
        by_person: dict[str, TrackFaces] = defaultdict(TrackFaces)
        for key, track in sorted(seen.tracks.items()):
            person = persons_of.get(key)
            if person is None:
                continue
            merged = by_person[person]
            for s, b, t in zip(track.scores, track.boxes, track.times):
                merged.add(s, b, t)
        speaker = persons_of.get(speaker_track) if speaker_track is not None else None
        errors = list(segment.errors)
        people = []
        for person in sorted(by_person, key=_person_order):
            track = by_person[person]
            frames = len(set(track.times))
            face = face_evidence(track.scores, track.boxes, frames, seen.sampled)
            speaking = person == speaker and seen.voice is not None
            voice = seen.voice if speaking else None
            fused = fuse(face, voice, errors)
            people.append(PersonResult(person, median_box(track.boxes), face.scores if face else None,
                                       voice.scores if voice else None, fused, speaking, frames))
        out.append(dataclasses.replace(segment, people=tuple(people), speaker=speaker,
                                       errors=tuple(dict.fromkeys(errors))))
    return out


def sightings(faces: Sequence[SegmentFaces], persons_of: Mapping[int, str]) -> list[Sighting]:
    """Every face of every analysed frame with its person (None for tracks that are nobody), by time."""
    out = [Sighting(t, b, persons_of.get(key), s) for seen in faces for key, track in seen.tracks.items()
           for s, b, t in zip(track.scores, track.boxes, track.times)]
    return sorted(out, key=lambda one: (one.time, one.box.x))


def summarise_persons(segments: Sequence[SegmentResult], sampled: Sequence[int],
                      pictures: Mapping[str, np.ndarray | None]) -> list[Person]:
    """One Person per id seen in `segments`, in id order: first and last seen (segment bounds),
    seconds visible (each segment's length times the share of its analysed frames showing them)
    and speaking, and their picture."""
    stats: dict[str, dict] = {}
    for segment, n in zip(segments, sampled):
        length = segment.end - segment.start
        for one in segment.people:
            s = stats.setdefault(one.person, {"first": segment.start, "last": segment.end,
                                              "visible": 0.0, "speaking": 0.0})
            s["last"] = segment.end
            s["visible"] += length * min(1.0, one.faces / n) if n else 0.0
            s["speaking"] += length if one.speaking else 0.0
    return [Person(pid, round(s["first"], 3), round(s["last"], 3), round(s["visible"], 3), round(s["speaking"], 3),
                   pictures.get(pid)) for pid, s in sorted(stats.items(), key=lambda kv: _person_order(kv[0]))]


def _person_order(person: str) -> tuple[int, str]:
    digits = person[1:]
    return (int(digits), person) if person[:1] == "P" and digits.isdigit() else (10**9, person)
