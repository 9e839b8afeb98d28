"""Pins the built-in exporters' documented formats exactly: CSV columns, the JSON document (header,
`persons`, segments with `people`, `voice_raw`) and JSON Lines by segment and by person (issue 19)."""
import json

from emofuse.plugins.exporters import CsvExporter, JsonExporter, JsonLinesExporter

from .test_mutants_tables import PERSON_CSV, SEGMENT_CSV, table_timeline

# table_timeline's scores rounded to 6 decimals by hand (exact binary halves go to even):
# 0.4140625 -> 0.414062, 0.0078125 -> 0.007812, 0.9921875 -> 0.992188.
S6 = {"angry": 0.414062, "disgust": 0.25, "fear": 0.125, "happy": 0.0625, "sad": 0.03125,
      "surprise": 0.109375, "neutral": 0.007812}
V6 = {"angry": 0.007812, "disgust": 0.0, "fear": 0.0, "happy": 0.0, "sad": 0.0, "surprise": 0.0,
      "neutral": 0.992188}
P1 = {"person": "P1", "speaking": True, "box": {"x": 10, "y": 20, "width": 30, "height": 40},
      "label": "angry", "confidence": 0.414062, "faces": 3, "face": S6, "voice": V6, "fused": S6}
P2 = {"person": "P2", "speaking": False, "box": {"x": 50, "y": 60, "width": 70, "height": 80},
      "label": None, "confidence": None, "faces": 1, "face": S6, "voice": None, "fused": None}
SEG1 = {"start": 1.235, "end": 2.0, "label": "angry", "confidence": 0.414062, "faces": 2,
        "face": S6, "voice": V6, "voice_raw": {"neutral": 0.5, "calm": 0.4921875, "angry": 0.0078125},
        "fused": S6, "speaker": "P1", "voice_speech": 0.66666, "people": [P1, P2],
        "errors": ["face: x", "voice: y"]}
SEG2 = {"start": 2.0, "end": 3.0, "label": None, "confidence": None, "faces": 0, "face": None,
        "voice": None, "voice_raw": None, "fused": None, "speaker": None, "voice_speech": None,
        "people": [], "errors": []}
DOC = {
    "source": "clip.mp4", "duration": 3.0,
    "labels": ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"],
    "components": {"fusion": "evidence"},
    "emofuse": "9.9", "settings": {"fps": 4.0}, "models": {},
    "persons": [
        {"id": "P1", "first_seen": 1.235, "last_seen": 2.0, "seconds_visible": 0.7654, "seconds_speaking": 0.5,
         "emotions": {"angry": 1.0}},
        {"id": "P2", "first_seen": 1.5, "last_seen": 2.0, "seconds_visible": 0.5, "seconds_speaking": 0.0,
         "emotions": {}},
    ],
    "segments": [SEG1, SEG2],
}


def test_json_document_fields_values_and_layout(tmp_path):
    """Header (source, duration to 3 d.p., labels, components, provenance), persons and segments;
    probabilities to 6 d.p.; one-space indentation and a final newline."""
    path = tmp_path / "t.json"
    JsonExporter().write(table_timeline(), path)
    text = path.read_text()
    assert json.loads(text) == DOC
    assert text == json.dumps(DOC, indent=1) + "\n"


def test_timeline_to_json_writes_the_same_document(tmp_path):
    table_timeline().to_json(tmp_path / "t.json")
    assert (tmp_path / "t.json").read_text() == json.dumps(DOC, indent=1) + "\n"


def test_json_document_is_the_same_by_person(tmp_path):
    JsonExporter(by="person").write(table_timeline(), tmp_path / "t.json")
    assert json.loads((tmp_path / "t.json").read_text()) == DOC


def test_jsonl_by_segment_one_object_per_segment(tmp_path):
    path = tmp_path / "t.jsonl"
    JsonLinesExporter().write(table_timeline(), path)
    expected = [{"source": "clip.mp4", **SEG1}, {"source": "clip.mp4", **SEG2}]
    assert path.read_text() == "".join(json.dumps(line) + "\n" for line in expected)


def test_jsonl_by_person_one_object_per_segment_and_person(tmp_path):
    path = tmp_path / "t.jsonl"
    JsonLinesExporter(by="person").write(table_timeline(), path)
    expected = [{"source": "clip.mp4", "start": 1.235, "end": 2.0, **P1},
                {"source": "clip.mp4", "start": 1.235, "end": 2.0, **P2}]
    assert path.read_text() == "".join(json.dumps(line) + "\n" for line in expected)


def test_csv_exporter_writes_the_documented_columns_without_an_index(tmp_path):
    CsvExporter().write(table_timeline(), tmp_path / "t.csv")
    assert (tmp_path / "t.csv").read_text() == SEGMENT_CSV
    CsvExporter(by="person").write(table_timeline(), tmp_path / "p.csv")
    assert (tmp_path / "p.csv").read_text() == PERSON_CSV
