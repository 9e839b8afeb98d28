"""The segment x person stage: evidence, per-person rows, speakers, the person table and exports."""
import json

import numpy as np
import pytest

from emofuse import EmotionScores, FaceBox, SegmentResult, Timeline
from emofuse.evidence import face_evidence
from emofuse.people import SegmentFaces, TrackFaces, build_people, median_box, summarise_persons
from emofuse.table import COLUMNS, PERSON_COLUMNS
from emofuse.testing import sample_scores
from emofuse.types import FaceEvidence, VoiceEvidence
from emofuse.voice_side import VoiceSide, speech_fraction

HAPPY, SAD, ANGRY = sample_scores("happy", 0.9), sample_scores("sad", 0.95), sample_scores("angry", 0.8)


def test_face_evidence_measures_frames_size_score_and_agreement():
    boxes = [FaceBox(0, 0, w, w, score=s) for w, s in ((80, 3.0), (100, 5.0), (120, 9.0))]
    ev = face_evidence([HAPPY, HAPPY, SAD], boxes, frames=3, sampled=4)
    assert ev.label == "happy" and ev.size == 100 and ev.detector_score == 5.0
    assert ev.agreement == pytest.approx(2 / 3) and ev.coverage == 0.75
    assert face_evidence([], [], 0, 4) is None


def test_median_box():
    b = median_box([FaceBox(0, 10, 50, 50), FaceBox(10, 20, 60, 60), FaceBox(100, 30, 70, 70)])
    assert (b.x, b.y, b.width, b.height) == (10, 20, 60, 60)


def _faces(track_scores, voice=None, sampled=4):
    tracks = {}
    for key, (scores, x) in track_scores.items():
        t = TrackFaces()
        for i in range(2):
            t.add(scores, FaceBox(x, 50, 80, 80), i * 0.25)
        tracks[key] = t
    return SegmentFaces(sampled, tracks, voice)


def _fuse_product(face, voice, errors):
    present = [e.scores.array for e in (face, voice) if e is not None]
    if not present:
        return None
    return EmotionScores.from_array(np.prod(present, axis=0), normalize=True)


def test_two_people_side_by_side_keep_their_own_emotions():
    """The issue's case: one face happy (0.90), the other sad (0.95); neither vanishes."""
    seg = SegmentResult(0, 1, face=EmotionScores.mean([HAPPY, SAD]))
    out = build_people([seg], [_faces({1: (HAPPY, 100), 2: (SAD, 400)})], {1: "P1", 2: "P2"}, [None], _fuse_product)
    people = out[0].people
    assert [(p.person, p.label) for p in people] == [("P1", "happy"), ("P2", "sad")]
    assert people[0].box.x == 100 and people[1].box.x == 400 and all(p.faces == 2 for p in people)
    assert out[0].speaker is None and all(p.voice is None and not p.speaking for p in people)


def test_the_voice_belongs_to_the_speaker_only():
    voice = VoiceEvidence(ANGRY, speech=0.9)
    seg = SegmentResult(0, 1, voice=ANGRY)
    out = build_people([seg], [_faces({1: (HAPPY, 100), 2: (SAD, 400)}, voice)], {1: "P1", 2: "P2"}, [2],
                       _fuse_product)
    p1, p2 = out[0].people
    assert out[0].speaker == "P2"
    assert p2.speaking and p2.voice == ANGRY and not p1.speaking and p1.voice is None
    # P1's verdict is their face alone; P2's combines face and voice (both matter)
    assert p1.fused.array == pytest.approx(HAPPY.array)
    assert p2.fused.array == pytest.approx(_fuse_product(FaceEvidence(SAD), voice, []).array)
    assert p2.fused.array != pytest.approx(SAD.array)


def test_tracks_of_one_person_merge_and_brief_tracks_are_nobody():
    seg = SegmentResult(0, 1)
    out = build_people([seg], [_faces({1: (HAPPY, 100), 2: (HAPPY, 120), 3: (SAD, 400)})], {1: "P1", 2: "P1"},
                       [3], _fuse_product)
    assert [p.person for p in out[0].people] == ["P1"] and out[0].people[0].faces == 2
    assert out[0].speaker is None  # the speaking track is no person


def test_person_ids_sort_numerically():
    seg = SegmentResult(0, 1)
    out = build_people([seg], [_faces({1: (HAPPY, 0), 2: (SAD, 200)})], {1: "P10", 2: "P2"}, [None], _fuse_product)
    assert [p.person for p in out[0].people] == ["P2", "P10"]


def test_summarise_persons_counts_seconds_seen_and_speaking():
    voice = VoiceEvidence(ANGRY)
    segs = build_people(
        [SegmentResult(0, 1), SegmentResult(1, 2), SegmentResult(2, 2.5)],
        [_faces({1: (HAPPY, 0)}, voice, sampled=4), _faces({1: (HAPPY, 0)}, voice, sampled=2), _faces({})],
        {1: "P1"}, [1, None, None], _fuse_product)
    (p1,) = summarise_persons(segs, [4, 2, 2], {"P1": None})
    # seen in 2 of 4 frames of the first second, 2 of 2 of the next: 0.5 + 1.0 s
    assert (p1.first_seen, p1.last_seen, p1.seconds_visible, p1.seconds_speaking) == (0, 2, 1.5, 1.0)


def _timeline():
    voice = VoiceEvidence(ANGRY)
    segs = build_people([SegmentResult(0, 1, voice=ANGRY, voice_speech=0.8), SegmentResult(1, 2)],
                        [_faces({1: (HAPPY, 10), 2: (SAD, 300)}, voice), _faces({2: (SAD, 310)})],
                        {1: "P1", 2: "P2"}, [1, None], _fuse_product)
    return Timeline("x.mp4", segs, {}, 2.0, summarise_persons(segs, [4, 4], {}))


def test_table_by_person_has_the_documented_columns_and_one_row_per_person_and_segment():
    df = _timeline().to_dataframe(by="person")
    assert list(df.columns[:11]) == ["start", "end", "person", "speaking", "x", "y", "width", "height", "label",
                                     "confidence", "faces"]
    assert list(df.columns) == list(PERSON_COLUMNS) and df.columns[-1] == "errors"
    assert df[["start", "person", "speaking", "label"]].values.tolist() == [
        [0.0, "P1", True, "happy"], [0.0, "P2", False, "sad"], [1.0, "P2", False, "sad"]]
    assert df.loc[1, "voice_angry"] != df.loc[1, "voice_angry"]  # NaN: P2 did not speak


def test_segment_table_names_the_speaker_and_the_speech_share():
    df = _timeline().to_dataframe()
    assert list(df.columns) == list(COLUMNS)
    assert df["speaker"].tolist() == ["P1", ""] and df.loc[0, "voice_speech"] == 0.8
    with pytest.raises(ValueError, match="by must be"):
        _timeline().to_dataframe(by="people")


def test_person_rows_and_summary():
    tl = _timeline()
    assert [seg.start for seg, _ in tl.person_rows("P2")] == [0, 1]
    assert tl.person_summary("P2") == [("sad", 1.0)]
    with pytest.raises(KeyError, match="P1, P2"):
        tl.person_rows("P3")


def test_json_export_lists_persons_and_people(tmp_path):
    from emofuse.plugins.exporters import JsonExporter, JsonLinesExporter

    tl = _timeline()
    JsonExporter().write(tl, tmp_path / "t.json")
    doc = json.loads((tmp_path / "t.json").read_text())
    assert [p["id"] for p in doc["persons"]] == ["P1", "P2"]
    assert doc["persons"][0]["seconds_speaking"] == 1.0 and doc["persons"][1]["emotions"] == {"sad": 1.0}
    assert doc["segments"][0]["speaker"] == "P1"
    assert [p["person"] for p in doc["segments"][0]["people"]] == ["P1", "P2"]
    assert doc["segments"][0]["people"][0]["box"] == {"x": 10, "y": 50, "width": 80, "height": 80}
    JsonLinesExporter(by="person").write(tl, tmp_path / "t.jsonl")
    lines = [json.loads(line) for line in (tmp_path / "t.jsonl").read_text().splitlines()]
    assert [(r["start"], r["person"]) for r in lines] == [(0, "P1"), (0, "P2"), (1, "P2")]


class _Vad:
    hop = 0.01

    def __init__(self, share):
        self.share, self.calls = share, 0

    def speech(self, samples, rate):
        self.calls += 1
        n = len(samples) // int(rate * self.hop)
        return (np.arange(n) < self.share * n).astype(float)


def _voice_side(vad, min_speech=0.2, classified=None):
    rate = 16000
    loud = (0.3 * np.sin(np.arange(rate * 4) / 5)).astype(np.float32)

    def classify(samples, r, errors):
        if classified is not None:
            classified.append(len(samples) / r)
        return ANGRY

    return VoiceSide(lambda a, b: loud[int(a * rate): int(b * rate)], rate, 4.0, 2.0, vad, classify,
                     lambda kind, errors, call: call(), -45.0, min_speech, source_rate=44100)


def test_voice_needs_enough_speech_in_the_segment():
    heard = []
    ev, speech, own = _voice_side(_Vad(0.25), classified=heard).evidence(1, 2, [])
    assert speech == pytest.approx(0.25) and ev.speech == pytest.approx(0.25) and ev.label == "angry"
    assert ev.window == 2.0 and ev.sample_rate == 44100 and heard == [2.0] and own.size == 16000
    ev, speech, _ = _voice_side(_Vad(0.15)).evidence(1, 2, [])
    assert ev is None and speech == pytest.approx(0.15)


def test_silence_costs_no_voice_activity_call():
    vad = _Vad(1.0)
    side = VoiceSide(lambda a, b: np.zeros(int((b - a) * 16000), np.float32), 16000, 4.0, 1.0, vad,
                     lambda *a: ANGRY, lambda kind, errors, call: call(), -45.0)
    ev, speech, _ = side.evidence(0, 1, [])
    assert ev is None and speech == 0.0 and vad.calls == 0


def test_speech_fraction_threshold():
    assert speech_fraction(np.array([0.49, 0.5, 0.9, 0.1])) == 0.5
    assert speech_fraction(np.array([])) == 0.0


def test_smoothing_keeps_the_persons():
    from emofuse.smoothing import smooth_timeline

    tl = _timeline()
    smoothed = smooth_timeline(tl, "median", 3)
    assert smoothed.persons == tl.persons and [p.person for p in smoothed.segments[0].people] == ["P1", "P2"]


def test_sightings_name_the_person_of_each_face():
    from emofuse.people import sightings

    seen = sightings([_faces({1: (HAPPY, 10), 2: (SAD, 300)})], {1: "P1"})
    assert [(s.time, s.person, s.box.x, s.scores.label) for s in seen] == [
        (0.0, "P1", 10, "happy"), (0.0, None, 300, "sad"), (0.25, "P1", 10, "happy"), (0.25, None, 300, "sad")]


class _StreamingVad(_Vad):
    def __init__(self):
        super().__init__(1.0)
        self.starts = []

    def speech(self, samples, rate, start=None):
        self.starts.append(start)
        return super().speech(samples, rate)


def test_a_streaming_detector_is_told_where_each_segment_starts():
    vad = _StreamingVad()
    side = _voice_side(vad)
    side.evidence(0, 1, [])
    side.evidence(1, 2, [])
    assert vad.starts == [0, 1]
    plain = _Vad(1.0)
    _voice_side(plain).evidence(1, 2, [])  # a detector without `start` is called without it
    assert plain.calls == 1


class _Recorder:
    def __init__(self):
        self.calls = []

    def see(self, time, track, box, frame):
        self.calls.append(("see", time, track))

    def lost(self, track):
        self.calls.append(("lost", track))


def test_mouth_feed_sees_the_faces_between_analysed_frames_and_loses_those_that_go():
    from emofuse.speaker_side import MouthFeed

    recorder = _Recorder()
    feed = MouthFeed(recorder)
    frame = np.zeros((10, 10, 3), np.uint8)
    feed.analysed(0.0, [(1, FaceBox(0, 0, 5, 5)), (2, FaceBox(5, 0, 5, 5))], frame)
    feed.between(0.08, frame)
    feed.analysed(0.25, [(2, FaceBox(5, 0, 5, 5))], frame)
    feed.between(0.33, frame)
    assert recorder.calls == [("see", 0.0, 1), ("see", 0.0, 2), ("see", 0.08, 1), ("see", 0.08, 2),
                              ("lost", 1), ("see", 0.25, 2), ("see", 0.33, 2)]


def test_envelope_book_places_each_segment_at_its_start():
    from emofuse.speaker_side import EnvelopeBook

    book = EnvelopeBook(hop=0.01)
    book.add(0.0, np.zeros(16000, np.float32), 16000)
    book.add(1.0, np.ones(8000, np.float32) * 0.5, 16000)
    times, values = book.series()
    assert times.size == values.size == 150
    assert times[0] == 0 and times[100] == pytest.approx(1.0) and times[-1] == pytest.approx(1.49)
    assert values[100] > values[0]
