"""Person ids over the faces in live mode: tracks linked frame to frame, each track given a person
(`emofuse.persons.OnlineGallery`) once it has been seen twice with its face embedded.

Embedding a face costs tens of milliseconds (dlib), more than a frame may: it runs on a worker
thread, one face at a time, and a track shows no id ("") until its embedding is back. Each track
is embedded at most `EMBEDS_PER_TRACK` times. dlib's network holds Python's lock while it runs, so
with `face_embedder="auto"` live mode uses the cheap `pixels` embedder (ids stable within a
shot and across short exits); name `dlib` to have it anyway."""
from __future__ import annotations

import concurrent.futures
from collections.abc import Sequence

import numpy as np

from ..face_side import grown_crop
from ..tracks import TrackLinker
from ..types import FaceBox

EMBEDS_PER_TRACK = 2
#: The embedder of `face_embedder="auto"` in live mode.
LIVE_AUTO_EMBEDDER = "pixels"


class LivePersons:
    """`ids(time, frame, boxes, errors)` -> the person id of each box ("" while not yet known)."""

    def __init__(self, pipeline) -> None:
        from ..persons import OnlineGallery

        from ..runner import AUTO

        self.pipeline = pipeline
        self.embedder = (pipeline.components["face_embedder"].create(LIVE_AUTO_EMBEDDER)
                         if pipeline.options.face_embedder == AUTO else pipeline.face_embedder)
        self.linker = TrackLinker()
        self.gallery = OnlineGallery(float(getattr(self.embedder, "same_person", 0.0)))
        self._known: dict[int, str] = {}
        self._asked: dict[int, int] = {}
        self._pending: dict[int, concurrent.futures.Future] = {}
        self._worker = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="emofuse-embed")

    def _embed(self, crop: np.ndarray) -> np.ndarray | None:
        vectors = self.pipeline._guard("face_embedder", [], lambda: self.embedder.embed([crop]))
        return None if vectors is None else np.asarray(vectors)[0]

    def ids(self, time: float, frame: np.ndarray, boxes: Sequence[FaceBox], errors: list[str]) -> list[str]:
        out, visible = [], set()
        for key, box in self.linker.link(time, boxes):
            embedding = None
            if key not in self._known:
                future = self._pending.get(key)
                if future is not None and future.done():
                    embedding = self._pending.pop(key).result()
                elif future is None and self._asked.get(key, 0) < EMBEDS_PER_TRACK:
                    self._asked[key] = self._asked.get(key, 0) + 1
                    self._pending[key] = self._worker.submit(self._embed, grown_crop(frame, box))
            person = self.gallery.assign(key, embedding, time, visible)
            if person:
                self._known[key] = person
                visible.add(person)
            out.append(person)
        return out

    def close(self) -> None:
        self._worker.shutdown(wait=False, cancel_futures=True)
