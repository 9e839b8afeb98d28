"""Person ids over the faces in live mode (emofuse.live.people)."""
import time

import numpy as np

from emofuse import FaceBox
from emofuse.live.people import EMBEDS_PER_TRACK, LivePersons
from emofuse.plugin_manager import collect_components
from emofuse.runner import AnalysisOptions, Pipeline

from .fakes import Plugin


def _frame():
    frame = np.zeros((120, 320, 3), np.uint8)
    frame[:, :160] = (200, 30, 30)   # left face red
    frame[:, 160:] = (30, 30, 200)   # right face blue
    return frame


def _ids_until_known(persons, frame, boxes, frames=40):
    ids = []
    for i in range(frames):
        ids = persons.ids(i * 0.04, frame, boxes, [])
        if all(ids):
            return ids, i
        time.sleep(0.01)
    return ids, frames


def test_two_faces_get_two_ids_once_embedded_and_keep_them():
    components = collect_components(extra_plugins={"fakes": Plugin()})
    pipeline = Pipeline(AnalysisOptions(face_embedder="mean-colour", audio=False), components)
    persons = LivePersons(pipeline)
    try:
        boxes = [FaceBox(40, 30, 60, 60), FaceBox(200, 30, 60, 60)]
        first = persons.ids(0.0, _frame(), boxes, [])
        assert first == ["", ""]  # not known on the first frame: embedding runs on the worker
        ids, last = _ids_until_known(persons, _frame(), boxes)
        assert ids == ["P1", "P2"]
        # listed the other way round a frame later: each box keeps its person
        assert persons.ids((last + 1) * 0.04, _frame(), boxes[::-1], []) == ["P2", "P1"]
        assert max(persons._asked.values()) <= EMBEDS_PER_TRACK
    finally:
        persons.close()


def test_auto_uses_the_cheap_embedder_live():
    pipeline = Pipeline(AnalysisOptions(audio=False))
    persons = LivePersons(pipeline)
    try:
        assert type(persons.embedder).__name__ != "DlibEmbedder"
    finally:
        persons.close()
