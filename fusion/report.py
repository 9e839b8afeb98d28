"""The interactive report: one self-contained HTML file that plays the film beside its timeline.

No CDN, no server, no charting library: the page's own CSS and script (fusion/data/report.*)
are inlined, the timeline is drawn as plain SVG, the persons' faces are inline JPEGs, and the
video is referenced relative to the report (or, with `embed=True`, carried inside it).
"""
from __future__ import annotations

import base64
import html
import json
import os
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from urllib.parse import quote

import numpy as np

from .atomic import atomic_output
from .errors import EmofuseError
from .labels import LABELS
from .plot import COLORS
from .types import EmotionScores, Timeline

#: Largest video `embed=True` puts inside a report (bytes); base64 makes it a third larger.
EMBED_LIMIT = 64 * 1024 * 1024

#: Browser MIME type of a media file, by suffix (others are tried as video/mp4 or audio/mpeg).
MEDIA_TYPES = {
    ".mp4": "video/mp4", ".m4v": "video/mp4", ".mov": "video/mp4", ".webm": "video/webm", ".mkv": "video/webm",
    ".ogv": "video/ogg", ".avi": "video/x-msvideo",
    ".wav": "audio/wav", ".flac": "audio/flac", ".mp3": "audio/mpeg", ".m4a": "audio/mp4", ".aac": "audio/aac",
    ".ogg": "audio/ogg", ".opus": "audio/ogg",
}

#: Tallest face picture in the gallery (pixels).
FACE_PX = 160


def _scores(scores: EmotionScores | None) -> list[float] | None:
    return None if scores is None else [round(v, 3) for v in scores.values]


def _face_uri(face: np.ndarray | None) -> str | None:
    """An RGB crop as a small inline JPEG (data URI), or None."""
    if face is None or not np.size(face):
        return None
    import cv2

    face = np.asarray(face, dtype=np.uint8)
    if face.ndim == 2:
        face = np.repeat(face[..., None], 3, axis=2)
    if face.shape[0] > FACE_PX:
        face = cv2.resize(face, (max(1, round(face.shape[1] * FACE_PX / face.shape[0])), FACE_PX),
                          interpolation=cv2.INTER_AREA)
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(face, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 85])
    return "data:image/jpeg;base64," + base64.b64encode(data.tobytes()).decode() if ok else None


def _lanes(timeline: Timeline) -> list[dict]:
    """The rows of the timeline: faces, voice, a lane per person (fused, and when they speak), the scene."""
    segments = timeline.segments
    lanes = [{"name": "face", "kind": "face", "scores": [_scores(s.face) for s in segments]},
             {"name": "voice", "kind": "voice", "scores": [_scores(s.voice) for s in segments]}]
    for person in timeline.persons:
        ones = [next((one for one in s.people if one.person == person.id), None) for s in segments]
        lanes.append({"name": person.id, "kind": "person",
                      "scores": [_scores(one.fused) if one else None for one in ones],
                      "speaking": [int(bool(one and one.speaking)) for one in ones]})
    lanes.append({"name": "scene" if timeline.persons else "fused", "kind": "scene",
                  "scores": [_scores(s.fused) for s in segments]})
    return lanes


def _settings(timeline: Timeline, extra: Mapping[str, object] | None) -> dict[str, str]:
    segments = timeline.segments
    settings = {kind.replace("_", " "): str(name) for kind, name in timeline.components.items()}
    if segments:
        lengths = sorted(round(s.end - s.start, 3) for s in segments)
        settings["segment"] = f"{lengths[len(lengths) // 2]:g} s"
    settings.update({str(k): str(v) for k, v in (extra or {}).items()})
    return settings


def _media(video: str | Path | None, report: Path, embed: bool) -> dict | None:
    """Where the page finds the film: a path relative to the report, or the bytes themselves."""
    if video is None:
        return None
    from .media import probe

    video = Path(video)
    info = probe(video)
    kind = "video" if info.has_video else "audio"
    mime = MEDIA_TYPES.get(video.suffix.lower(), "video/mp4" if kind == "video" else "audio/mpeg")
    if embed:
        size = video.stat().st_size
        if size > EMBED_LIMIT:
            raise EmofuseError(f"{video}: {size / 2**20:.0f} MB is too big to embed in a report (at most "
                               f"{EMBED_LIMIT // 2**20} MB); drop --embed and keep the video beside the report")
        return {"kind": kind, "type": mime, "data": base64.b64encode(video.read_bytes()).decode()}
    try:
        where = os.path.relpath(video.resolve(), report.resolve().parent)
        src = quote(Path(where).as_posix())
    except ValueError:  # another drive (Windows): an absolute file URI
        src = video.resolve().as_uri()
    return {"kind": kind, "type": mime, "src": src}


def report_data(timeline: Timeline, target: str | Path, video: str | Path | None = None, embed: bool = False,
                settings: Mapping[str, object] | None = None) -> dict:
    """Everything the page shows, as plain JSON-able data (see `write_report`)."""
    segments = timeline.segments
    return {
        "title": Path(timeline.source).name,
        "duration": max([timeline.duration] + [s.end for s in segments]),
        "labels": list(LABELS),
        "colors": dict(COLORS),
        "segments": [[round(s.start, 3), round(s.end, 3)] for s in segments],
        "speaker": [s.speaker for s in segments],
        "errors": [list(s.errors) for s in segments],
        "lanes": _lanes(timeline),
        "summary": [[label, round(share, 3)] for label, share in timeline.summary()],
        "counts": {"segments": len(segments), "face": sum(s.face is not None for s in segments),
                   "voice": sum(s.voice is not None for s in segments)},
        "persons": [{"id": p.id, "first_seen": p.first_seen, "last_seen": p.last_seen,
                     "visible": p.seconds_visible, "speaking": p.seconds_speaking, "face": _face_uri(p.face),
                     "summary": [[label, round(share, 3)] for label, share in timeline.person_summary(p.id)[:3]]}
                    for p in timeline.persons],
        "settings": _settings(timeline, settings),
        "media": _media(video, Path(target), embed),
    }


def _asset(name: str) -> str:
    return resources.files("emofuse").joinpath("data", name).read_text(encoding="utf-8")


def _script_json(data: dict) -> str:
    """JSON that is safe inside a <script> element (no `</script>`, no `<!--`)."""
    text = json.dumps(data, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_report(data: dict) -> str:
    """The report page for `report_data(...)`."""
    page = _asset("report.html")
    return (page.replace("{{title}}", html.escape(data["title"]))
                .replace("{{style}}", _asset("report.css"))
                .replace("{{data}}", _script_json(data))
                .replace("{{script}}", _asset("report.js")))


def write_report(timeline: Timeline, target: str | Path, video: str | Path | None = ..., embed: bool = False,
                 settings: Mapping[str, object] | None = None) -> Path:
    """Write `target`, one HTML file that works offline: the film (`video`, by default the
    timeline's source; None for no player) beside a timeline per person, the voice and the fused
    scene, with a cursor that follows playback and a click that seeks; each person's face, the
    summary and the settings (the components, `settings` added). The video is referenced
    relative to the report; `embed=True` puts it inside (at most EMBED_LIMIT bytes). An
    audio-only source gets an audio player. Atomic: the file appears whole or not at all."""
    target = Path(target)
    if video is ...:
        video = timeline.source if Path(timeline.source).is_file() else None
    page = render_report(report_data(timeline, target, video, embed, settings))
    with atomic_output(target) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return target
