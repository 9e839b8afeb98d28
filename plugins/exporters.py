"""Built-in timeline exporters: `csv` (default), `json`, `jsonl`."""
from __future__ import annotations

import json
from pathlib import Path

from emofuse.hookspecs import hookimpl
from emofuse.labels import LABELS


def segment_record(segment) -> dict:
    """A JSON-ready dict of one segment; absent modalities are null; raw classifier scores kept."""
    def scores(s):
        return None if s is None else {k: round(v, 6) for k, v in s.as_dict().items()}

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
        "errors": list(segment.errors),
    }


def timeline_header(timeline) -> dict:
    return {
        "source": timeline.source,
        "duration": round(timeline.duration, 3),
        "labels": list(LABELS),
        "components": dict(timeline.components),
    }


class CsvExporter:
    """One row per segment; columns start,end,label,confidence,faces, face_*, voice_*, fused_*, errors."""

    suffix = ".csv"

    def write(self, timeline, path: Path) -> None:
        timeline.to_dataframe().to_csv(path, index=False)


class JsonExporter:
    """One JSON document: source, duration, labels, components and the list of segments."""

    suffix = ".json"

    def write(self, timeline, path: Path) -> None:
        doc = {**timeline_header(timeline), "segments": [segment_record(s) for s in timeline.segments]}
        Path(path).write_text(json.dumps(doc, indent=1) + "\n")


class JsonLinesExporter:
    """One JSON object per line, one line per segment (streams well, appends well)."""

    suffix = ".jsonl"

    def write(self, timeline, path: Path) -> None:
        with open(path, "w") as out:
            for segment in timeline.segments:
                out.write(json.dumps({"source": timeline.source, **segment_record(segment)}) + "\n")


@hookimpl
def register_exporters(register):
    register("csv", CsvExporter, description="CSV, one row per segment (opens in pandas and spreadsheets)")
    register("json", JsonExporter, description="one JSON document with the components and all segments")
    register("jsonl", JsonLinesExporter, description="JSON Lines, one segment per line")
