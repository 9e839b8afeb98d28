"""Subtitle exporters for emofuse: `srt` and `vtt`.

Consecutive segments with the same fused label become one cue, e.g.
"happy 82% (face happy, voice neutral)". Play the video with the file beside it to watch
the emotions as subtitles. Segments with no verdict (no face, silence) get no cue.
"""
from __future__ import annotations

from pathlib import Path

import emofuse

__version__ = "1.0.0"


def cues(timeline: emofuse.Timeline) -> list[tuple[float, float, str]]:
    """(start, end, text) for each run of segments with the same fused label."""
    out: list[tuple[float, float, str]] = []
    run: list[emofuse.SegmentResult] = []

    def flush():
        if run:
            confidence = sum(s.confidence for s in run) / len(run)
            parts = [f"{run[0].label} {confidence:.0%}"]
            face = emofuse.EmotionScores.mean([s.face for s in run if s.face])
            voice = emofuse.EmotionScores.mean([s.voice for s in run if s.voice])
            detail = ", ".join(f"{name} {scores.label}" for name, scores in (("face", face), ("voice", voice)) if scores)
            out.append((run[0].start, run[-1].end, parts[0] + (f" ({detail})" if detail else "")))
            run.clear()

    for segment in timeline.segments:
        if run and (segment.label != run[-1].label or segment.start > run[-1].end + 1e-6):
            flush()
        if segment.label:
            run.append(segment)
    flush()
    return out


def _stamp(seconds: float, separator: str) -> str:
    ms = round(seconds * 1000)
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{separator}{ms:03d}"


class SrtExporter:
    """SubRip subtitles (.srt)."""

    suffix = ".srt"

    def write(self, timeline: emofuse.Timeline, path: Path) -> None:
        blocks = [
            f"{i}\n{_stamp(a, ',')} --> {_stamp(b, ',')}\n{text}\n"
            for i, (a, b, text) in enumerate(cues(timeline), start=1)
        ]
        Path(path).write_text("\n".join(blocks), encoding="utf-8")


class VttExporter:
    """WebVTT subtitles (.vtt), for HTML5 video players."""

    suffix = ".vtt"

    def write(self, timeline: emofuse.Timeline, path: Path) -> None:
        blocks = [f"{_stamp(a, '.')} --> {_stamp(b, '.')}\n{text}\n" for a, b, text in cues(timeline)]
        Path(path).write_text("WEBVTT\n\n" + "\n".join(blocks), encoding="utf-8")


@emofuse.hookimpl
def register_exporters(register):
    register("srt", SrtExporter, description="SubRip subtitles: the fused emotion as captions")
    register("vtt", VttExporter, description="WebVTT subtitles: the fused emotion as captions")
