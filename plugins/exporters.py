"""Built-in timeline exporters: `csv` (default), `json`, `jsonl`."""
from __future__ import annotations

import json
from pathlib import Path

from emofuse.hookspecs import hookimpl
from emofuse.labels import LABELS


def _scores(s):
    return None if s is None else {k: round(v, 6) for k, v in s.as_dict().items()}


def person_record(one) -> dict:
    """A JSON-ready dict of one person in one segment."""
    box = one.box
    return {
        "person": one.person, "speaking": one.speaking,
        "box": {"x": box.x, "y": box.y, "width": box.width, "height": box.height},
        "label": one.label, "confidence": None if one.fused is None else round(one.confidence, 6),
        "faces": one.faces, "face": _scores(one.face), "voice": _scores(one.voice), "fused": _scores(one.fused),
    }


def persons_record(timeline) -> list[dict]:
    """The persons of a timeline: id, first and last seen, seconds visible and speaking, and the
    share of each fused emotion over the segments they were seen in (dominant first)."""
    out = []
    for person in timeline.persons:
        out.append({"id": person.id, "first_seen": person.first_seen, "last_seen": person.last_seen,
                    "seconds_visible": person.seconds_visible, "seconds_speaking": person.seconds_speaking,
                    "emotions": dict(timeline.person_summary(person.id))})
    return out


def segment_record(segment) -> dict:
    """A JSON-ready dict of one segment; absent modalities are null; raw classifier scores kept."""
    scores = _scores
    return {
        "start": round(segment.start, 3),
        "end": round(segment.end, 3),
        "label": segment.label,
        "confidence": None if segment.fused is None else round(segment.confidence, 6),
        "faces": segment.faces,
        "face": scores(segment.face),
        "voice": scores(segment.voice),
        "voice_raw": None if segment.voice is None or segment.voice.raw is None else dict(segment.voice.raw),
        "fused": scores(segment.fused),
        "speaker": segment.speaker,
        "voice_speech": segment.voice_speech,
        "people": [person_record(one) for one in segment.people],
        "errors": list(segment.errors),
    }


def timeline_header(timeline) -> dict:
    return {
        "source": timeline.source,
        "duration": round(timeline.duration, 3),
        "labels": list(LABELS),
        "components": dict(timeline.components),
        **timeline.provenance,  # emofuse version, settings, model hashes: plain JSON values
    }


class _By:
    """`by="segment"` (default): a row per segment; `by="person"`: a row per segment and person."""

    def __init__(self, by: str = "segment") -> None:
        from emofuse.table import check_by

        self.by = check_by(by)


class CsvExporter(_By):
    """One row per segment (columns as in README), or with `by="person"` one per segment and person."""

    suffix = ".csv"

    def write(self, timeline, path: Path) -> None:
        timeline.to_dataframe(by=self.by).to_csv(path, index=False)


class JsonExporter(_By):
    """One JSON document: source, duration, labels, components, persons and the list of segments
    (each with its `people`); the same whatever `by`."""

    suffix = ".json"

    def write(self, timeline, path: Path) -> None:
        doc = {**timeline_header(timeline), "persons": persons_record(timeline),
               "segments": [segment_record(s) for s in timeline.segments]}
        Path(path).write_text(json.dumps(doc, indent=1) + "\n")


class JsonLinesExporter(_By):
    """One JSON object per line: per segment, or with `by="person"` per segment and person."""

    suffix = ".jsonl"

    def write(self, timeline, path: Path) -> None:
        with open(path, "w") as out:
            for segment in timeline.segments:
                if self.by == "person":
                    for one in segment.people:
                        line = {"source": timeline.source, "start": round(segment.start, 3),
                                "end": round(segment.end, 3), **person_record(one)}
                        out.write(json.dumps(line) + "\n")
                else:
                    out.write(json.dumps({"source": timeline.source, **segment_record(segment)}) + "\n")


@hookimpl
def register_exporters(register):
    register("csv", CsvExporter, description="CSV, one row per segment (opens in pandas and spreadsheets)")
    register("json", JsonExporter, description="one JSON document with the components and all segments")
    register("jsonl", JsonLinesExporter, description="JSON Lines, one segment per line")
