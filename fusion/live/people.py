"""Person ids over the faces in live mode: tracks linked frame to frame, each track given a person
(`emofuse.persons.OnlineGallery`) once it has been seen twice; its face is embedded only until then."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..face_side import grown_crop
from ..tracks import TrackLinker
from ..types import FaceBox


class LivePersons:
    """`ids(time, frame, boxes, errors)` -> the person id of each box ("" while not yet known)."""

    def __init__(self, pipeline) -> None:
        from ..persons import OnlineGallery

        self.pipeline = pipeline
        self.linker = TrackLinker()
        self.gallery = OnlineGallery(float(getattr(pipeline.face_embedder, "same_person", 0.0)))
        self._known: dict[int, str] = {}

    def ids(self, time: float, frame: np.ndarray, boxes: Sequence[FaceBox], errors: list[str]) -> list[str]:
        out, visible = [], set()
        for key, box in self.linker.link(time, boxes):
            embedding = None
            if key not in self._known:
                vectors = self.pipeline._guard("face_embedder", errors,
                                               lambda: self.pipeline.face_embedder.embed([grown_crop(frame, box)]))
                embedding = None if vectors is None else np.asarray(vectors)[0]
            person = self.gallery.assign(key, embedding, time, visible)
            if person:
                self._known[key] = person
                visible.add(person)
            out.append(person)
        return out
