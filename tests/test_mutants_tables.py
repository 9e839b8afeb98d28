"""Pins the validated data types, the CSV table, atomic writes and provenance at their boundaries
(issue 19: mutation testing of emofuse.types, .table, .atomic, .provenance)."""
import dataclasses
import decimal
import errno
import hashlib
import math
import os
import tempfile
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pytest

from emofuse import EmotionScores, FaceBox, SegmentResult, Timeline
from emofuse.atomic import check_writable
from emofuse.errors import EmofuseError
from emofuse.provenance import file_sha256, provenance, settings_of
from emofuse.table import COLUMNS, PERSON_COLUMNS, check_by, timeline_to_dataframe
from emofuse.types import FaceEvidence, Person, PersonResult, Sighting, VoiceEvidence

LABEL_LIST = "angry, disgust, fear, happy, sad, surprise, neutral"


def one_hot(label, share=0.9):
    """Scores with `share` on `label` and the rest spread evenly."""
    labels = LABEL_LIST.split(", ")
    rest = (1.0 - share) / 6
    return EmotionScores.from_array([share if name == label else rest for name in labels])


# --- FaceBox -------------------------------------------------------------------------------------

def test_facebox_type_error_names_the_field_and_the_type_given():
    with pytest.raises(TypeError) as info:
        FaceBox(0, 0, 2.5, 3)
    assert str(info.value) == "FaceBox.width must be an int, got float"


def test_facebox_one_pixel_is_the_smallest_size():
    box = FaceBox(0, 0, 1, 1)
    assert (box.width, box.height) == (1, 1)
    with pytest.raises(ValueError) as info:
        FaceBox(0, 0, 1, 0)
    assert str(info.value) == "FaceBox needs a positive size, got 1x0"
    with pytest.raises(ValueError, match=r"^FaceBox needs a positive size, got 0x1$"):
        FaceBox(0, 0, 0, 1)


def test_facebox_score_must_be_finite_message():
    with pytest.raises(ValueError) as info:
        FaceBox(0, 0, 2, 2, score=float("nan"))
    assert str(info.value) == "FaceBox.score must be finite"


def test_facebox_crop_at_the_frame_corner_keeps_row_and_column_zero():
    frame = np.arange(16).reshape(4, 4)
    assert FaceBox(0, 0, 2, 2).crop(frame).tolist() == [[0, 1], [4, 5]]
    assert FaceBox(-1, -1, 2, 2).crop(frame).tolist() == [[0]]


# --- EmotionScores -------------------------------------------------------------------------------

def test_emotion_scores_length_message_lists_the_labels():
    with pytest.raises(ValueError) as info:
        EmotionScores((0.5, 0.5))
    assert str(info.value) == f"EmotionScores needs 7 values ({LABEL_LIST}), got 2"


def test_from_array_normalises_exact_numbers_such_as_decimals():
    """Values of any real type (Decimal from a parser) are read as floats before normalising."""
    scores = EmotionScores.from_array([decimal.Decimal(1)] + [decimal.Decimal(0)] * 5 + [decimal.Decimal(3)],
                                      normalize=True)
    assert scores.values == (0.25, 0.0, 0.0, 0.0, 0.0, 0.0, 0.75)
    assert all(type(v) is float for v in scores.values)


def test_from_array_zero_sum_message():
    with pytest.raises(ValueError) as info:
        EmotionScores.from_array([0] * 7, normalize=True)
    assert str(info.value) == "cannot normalise scores that sum to zero"


def test_from_mapping_does_not_normalise_by_default():
    scores = {label: 0.0 for label in LABEL_LIST.split(", ")}
    scores["sad"] = 2.0
    with pytest.raises(ValueError, match="sum to 1"):
        EmotionScores.from_mapping(scores)


def test_from_mapping_unknown_label_message():
    scores = {label: 0.0 for label in LABEL_LIST.split(", ")}
    scores["joy"] = 1.0
    with pytest.raises(ValueError) as info:
        EmotionScores.from_mapping(scores)
    assert str(info.value) == f"unknown labels ['joy']; expected {LABEL_LIST}"


# --- FaceEvidence / VoiceEvidence ----------------------------------------------------------------

def test_face_evidence_agreement_must_be_a_fraction():
    with pytest.raises(ValueError) as info:
        FaceEvidence(one_hot("happy"), agreement=1.5)
    assert str(info.value) == "FaceEvidence.agreement must be within 0..1, got 1.5"
    with pytest.raises(ValueError, match=r"^FaceEvidence\.agreement must be within 0\.\.1, got -0\.5$"):
        FaceEvidence(one_hot("happy"), agreement=-0.5)


def test_face_evidence_agreement_is_stored_as_a_float():
    evidence = FaceEvidence(one_hot("happy"), agreement=np.float32(0.5))
    assert type(evidence.agreement) is float and evidence.agreement == 0.5
    assert type(FaceEvidence(one_hot("happy"), agreement=1).agreement) is float


def test_face_evidence_scores_type_message():
    with pytest.raises(TypeError) as info:
        FaceEvidence({"happy": 1.0})
    assert str(info.value) == "FaceEvidence.scores must be EmotionScores, got dict"


@pytest.mark.parametrize("evidence, kwargs, text", [
    (FaceEvidence, {"frames": -1, "sampled": 2}, "FaceEvidence.frames and .sampled must be >= 0"),
    (FaceEvidence, {"frames": 2, "sampled": -1}, "FaceEvidence.frames and .sampled must be >= 0"),
    (VoiceEvidence, {"window": -1.0, "sample_rate": 16000}, "VoiceEvidence.window and .sample_rate must be >= 0"),
    (VoiceEvidence, {"window": 2.0, "sample_rate": -1}, "VoiceEvidence.window and .sample_rate must be >= 0"),
])
def test_evidence_counts_each_must_be_non_negative(evidence, kwargs, text):
    with pytest.raises(ValueError) as info:
        evidence(one_hot("happy"), **kwargs)
    assert str(info.value) == text


def test_face_evidence_of_no_frames_has_no_coverage():
    assert FaceEvidence(one_hot("happy"), frames=0, sampled=0).coverage == 0.0


def test_face_evidence_size_must_be_non_negative():
    with pytest.raises(ValueError) as info:
        FaceEvidence(one_hot("happy"), size=-1.0)
    assert str(info.value) == "FaceEvidence.size must be >= 0 pixels, got -1.0"
    assert FaceEvidence(one_hot("happy"), size=0.0).size == 0.0


def test_voice_evidence_speech_must_be_a_fraction_stored_as_float():
    with pytest.raises(ValueError) as info:
        VoiceEvidence(one_hot("sad"), speech=1.5)
    assert str(info.value) == "VoiceEvidence.speech must be within 0..1, got 1.5"
    assert type(VoiceEvidence(one_hot("sad"), speech=1).speech) is float


def test_voice_evidence_scores_type_message():
    with pytest.raises(TypeError) as info:
        VoiceEvidence([0.5, 0.5])
    assert str(info.value) == "VoiceEvidence.scores must be EmotionScores, got list"


# --- SegmentResult / Timeline --------------------------------------------------------------------

def test_segment_result_stores_people_and_errors_as_tuples():
    person = PersonResult("P1", FaceBox(0, 0, 2, 2))
    seg = SegmentResult(0.0, 1.0, people=[person], errors=["face: boom"])
    assert seg.people == (person,) and seg.errors == ("face: boom",)


def test_segment_result_times_must_be_finite_and_ordered():
    for start, end in ((0.0, math.inf), (math.nan, 1.0), (2.0, 1.0), (-1.0, 1.0)):
        with pytest.raises(ValueError) as info:
            SegmentResult(start, end)
        assert str(info.value) == f"SegmentResult needs 0 <= start <= end, got {start}..{end}"
    assert SegmentResult(1.0, 1.0).end == 1.0  # an empty segment is allowed


def test_segment_result_scores_type_and_faces_messages():
    with pytest.raises(TypeError) as info:
        SegmentResult(0.0, 1.0, voice={"sad": 1.0})
    assert str(info.value) == "SegmentResult.voice must be EmotionScores or None, got dict"
    with pytest.raises(ValueError) as info:
        SegmentResult(0.0, 1.0, faces=-1)
    assert str(info.value) == "SegmentResult.faces must be >= 0"


def test_timeline_stores_sequences_as_tuples_and_mappings_read_only():
    seg = SegmentResult(0.0, 1.0)
    person = Person("P1", 0.0, 1.0)
    sighting = Sighting(0.5, FaceBox(0, 0, 2, 2), "P1", one_hot("happy"))
    timeline = Timeline("a.mp4", [seg], persons=[person], sightings=[sighting],
                        provenance={"emofuse": "x"}, components={"fusion": "evidence"})
    assert timeline.segments == (seg,)
    assert timeline.persons == (person,)
    assert timeline.sightings == (sighting,)
    assert isinstance(timeline.provenance, MappingProxyType)
    assert isinstance(timeline.components, MappingProxyType)
    with pytest.raises(TypeError):
        timeline.provenance["emofuse"] = "y"
    assert Timeline("a.mp4", []).sightings == ()


def test_timeline_segments_type_message():
    with pytest.raises(TypeError) as info:
        Timeline("a.mp4", [{"start": 0}])
    assert str(info.value) == "Timeline.segments must hold SegmentResult, got dict"


def test_person_rows_of_a_timeline_without_persons_says_none():
    with pytest.raises(KeyError) as info:
        Timeline("a.mp4", []).person_rows("P1")
    assert info.value.args[0] == "no person 'P1' in this timeline; persons: none"


def test_summary_most_frequent_first_ties_in_label_order():
    """Ties follow the canonical label order (sad before neutral), not the alphabet."""
    labels = ["neutral", "sad", "happy", "happy", "neutral", "sad", "happy"]
    segments = [SegmentResult(float(i), i + 1.0, fused=one_hot(label)) for i, label in enumerate(labels)]
    summary = Timeline("a.mp4", segments).summary()
    assert summary == [("happy", 3 / 7), ("sad", 2 / 7), ("neutral", 2 / 7)]


# --- the CSV table -------------------------------------------------------------------------------

# Dyadic probabilities, exact in binary, so that each rounding is fixed by hand:
# 0.4140625 = 53/128 -> 4 d.p. 0.4141, 5 d.p. 0.41406; 0.109375 -> 5 d.p. 0.10938 (half to even);
# 0.0078125 -> 5 d.p. 0.00781; 0.9921875 -> 5 d.p. 0.99219.
S = (0.4140625, 0.25, 0.125, 0.0625, 0.03125, 0.109375, 0.0078125)
S_CSV = "0.41406,0.25,0.125,0.0625,0.03125,0.10938,0.00781"
V = (0.0078125, 0.0, 0.0, 0.0, 0.0, 0.0, 0.9921875)
V_CSV = "0.00781,0.0,0.0,0.0,0.0,0.0,0.99219"
EMPTY7 = ",,,,,,"
SCORE_HEADER = ",".join(f"{g}_{label}" for g in ("face", "voice", "fused") for label in LABEL_LIST.split(", "))


def table_timeline():
    s, v = EmotionScores(S), EmotionScores(V, raw={"neutral": 0.5, "calm": 0.4921875, "angry": 0.0078125})
    p1 = PersonResult("P1", FaceBox(10, 20, 30, 40), face=s, voice=v, fused=s, speaking=True, faces=3)
    p2 = PersonResult("P2", FaceBox(50, 60, 70, 80), face=s, faces=1)
    seg1 = SegmentResult(1.23456, 2.0004, face=s, voice=v, fused=s, faces=2, errors=("face: x", "voice: y"),
                         people=(p1, p2), speaker="P1", voice_speech=0.66666)
    seg2 = SegmentResult(2.0004, 3.0)
    persons = (Person("P1", 1.235, 2.0, 0.7654, 0.5), Person("P2", 1.5, 2.0, 0.5, 0.0))
    return Timeline("clip.mp4", [seg1, seg2], components={"fusion": "evidence"}, duration=3.00049,
                    persons=persons, provenance={"emofuse": "9.9", "settings": {"fps": 4.0}, "models": {}})


SEGMENT_CSV = (
    f"start,end,label,confidence,faces,{SCORE_HEADER},speaker,voice_speech,errors\n"
    f"1.235,2.0,angry,0.4141,2,{S_CSV},{V_CSV},{S_CSV},P1,0.667,face: x; voice: y\n"
    f"2.0,3.0,,,0,{EMPTY7},{EMPTY7},{EMPTY7},,,\n"
)
PERSON_CSV = (
    f"start,end,person,speaking,x,y,width,height,label,confidence,faces,{SCORE_HEADER},errors\n"
    f"1.235,2.0,P1,True,10,20,30,40,angry,0.4141,3,{S_CSV},{V_CSV},{S_CSV},face: x; voice: y\n"
    f"1.235,2.0,P2,False,50,60,70,80,,,1,{S_CSV},{EMPTY7},{EMPTY7},face: x; voice: y\n"
)


def test_to_csv_by_segment_is_the_default_and_its_cells_are_rounded_as_documented(tmp_path):
    timeline = table_timeline()
    timeline.to_csv(tmp_path / "t.csv")
    assert (tmp_path / "t.csv").read_text() == SEGMENT_CSV


def test_to_csv_by_person_cells(tmp_path):
    table_timeline().to_csv(tmp_path / "p.csv", by="person")
    assert (tmp_path / "p.csv").read_text() == PERSON_CSV


def test_to_csv_rejects_an_unknown_by(tmp_path):
    with pytest.raises(ValueError) as info:
        table_timeline().to_csv(tmp_path / "t.csv", by="row")
    assert str(info.value) == "by must be one of segment, person, got 'row'"
    assert not (tmp_path / "t.csv").exists()


def test_check_by_message():
    with pytest.raises(ValueError) as info:
        check_by("frame")
    assert str(info.value) == "by must be one of segment, person, got 'frame'"


def test_empty_timeline_still_has_the_documented_columns():
    empty = Timeline("a.mp4", [])
    assert list(timeline_to_dataframe(empty).columns) == list(COLUMNS)
    assert list(timeline_to_dataframe(empty, by="person").columns) == list(PERSON_COLUMNS)
    nobody = Timeline("a.mp4", [SegmentResult(0.0, 1.0)])
    assert list(nobody.to_dataframe(by="person").columns) == list(PERSON_COLUMNS)


# --- atomic: check_writable's reasons ------------------------------------------------------------

def _refuse(err):
    def mkstemp(*args, **kwargs):
        raise err
    return mkstemp


@pytest.mark.parametrize("error, reason", [
    (OSError(errno.ENOENT, "No such file or directory"), "it takes no new files"),
    (OSError(errno.EACCES, "Permission denied"), "Permission denied"),  # the system's reason
    (OSError("disk on fire"), "disk on fire"),  # no errno: the error's text
])
def test_check_writable_says_why_the_folder_takes_no_file(tmp_path, monkeypatch, error, reason):
    monkeypatch.setattr(tempfile, "mkstemp", _refuse(error))
    target = tmp_path / "out.csv"
    with pytest.raises(EmofuseError) as info:
        check_writable(target)
    assert str(info.value) == f"{target}: cannot write in {tmp_path} ({reason})"


# --- provenance ----------------------------------------------------------------------------------

@pytest.mark.parametrize("new_bytes, later_ns", [
    (b"longer", 0),  # a new size at the same mtime
    (b"two", 10**9),  # a new mtime at the same size
])
def test_file_sha256_cache_sees_a_new_size_or_mtime(tmp_path, new_bytes, later_ns):
    path = tmp_path / "model.bin"
    path.write_bytes(b"one")
    stamp = path.stat().st_mtime_ns
    first = file_sha256(path)
    path.write_bytes(new_bytes)
    os.utime(path, ns=(stamp + later_ns, stamp + later_ns))
    assert file_sha256(path) != first
    assert file_sha256(path) == hashlib.sha256(new_bytes).hexdigest()


@dataclasses.dataclass(frozen=True)
class _Options:
    fps: float = math.inf
    floor: float = -math.inf
    odd: float = math.nan
    where: Path = Path("models/x.tflite")
    nothing: object = None
    sizes: tuple = (1.0, math.inf)
    component_options: object = dataclasses.field(default_factory=lambda: MappingProxyType(
        {"face_detector": MappingProxyType({"scale": math.inf}), 3: "x"}))
    face_embedder: str = "auto"
    voice_activity: str = "auto"

    def name_of(self, kind):
        return {"face_embedder": "dlib", "voice_activity": "silero"}[kind]


def test_settings_are_plain_json_values():
    """inf reads "all", other non-finite floats their text, mappings dicts with text keys,
    sequences lists, other objects their text; "auto" components resolved."""
    assert settings_of(_Options()) == {
        "fps": "all", "floor": "-inf", "odd": "nan", "where": "models/x.tflite", "nothing": None,
        "sizes": [1.0, "all"], "component_options": {"face_detector": {"scale": "all"}, "3": "x"},
        "face_embedder": "dlib", "voice_activity": "silero",
    }


def test_provenance_has_version_settings_and_models(tmp_path):
    from emofuse import __version__

    model = tmp_path / "m.bin"
    model.write_bytes(b"weights")
    component = type("C", (), {"model_path": str(model)})()
    out = provenance(_Options(), {"visual_classifier": component, "fusion": object()})
    assert list(out) == ["emofuse", "settings", "models"]
    assert out["emofuse"] == __version__
    assert out["models"] == {"visual_classifier": {"file": "m.bin", "sha256": file_sha256(model)}}
