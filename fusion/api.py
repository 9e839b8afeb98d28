"""The Python API: `emofuse.analyze(path, **choices) -> Timeline`."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from .runner import AnalysisOptions, Pipeline
from .types import Timeline

_pipelines: dict[str, Pipeline] = {}

_OPTION_NAMES = {f.name for f in dataclasses.fields(AnalysisOptions)}


def pipeline_for(options: AnalysisOptions) -> Pipeline:
    """A pipeline for these options, reused across calls (models load once per process)."""
    key = repr(options)
    if key not in _pipelines:
        _pipelines[key] = Pipeline(options)
    return _pipelines[key]


def analyze(path: str | Path, **choices: Any) -> Timeline:
    """Analyse one media file and return its fused emotion timeline.

    Choices are the fields of `AnalysisOptions`: `segment` (seconds, default 1), `fps` (faces
    sampled per second, default 4; None for every frame), `detect_fps` (full-frame face
    detections per second, default 1 with tracking in between; `math.inf` for every frame),
    `track` (False: no tracking), `persons` (False: the scene only, no persons or speakers),
    `min_speech` (share of a segment that must be speech for a voice verdict, default 0.2),
    `face_detector`, `visual_classifier`, `face_embedder`, `voice_activity`, `audio_features`,
    `audio_classifier`, `fusion` (component names; "auto" picks dlib / Silero where installed),
    `component_options` ({kind: {option: value}}), `video` / `audio` (False to ignore a modality).

        >>> timeline = emofuse.analyze("movie.mp4", fusion="product")
        >>> timeline.to_dataframe(by="person").head()   # a row per segment and person
        >>> timeline.to_dataframe().head()
    """
    unknown = set(choices) - _OPTION_NAMES
    if unknown:
        raise TypeError(f"unknown choices {sorted(unknown)}; valid: {', '.join(sorted(_OPTION_NAMES))}")
    return pipeline_for(AnalysisOptions(**choices)).analyze(path)
