"""The pluggy hooks of emofuse. Every hook receives `register(name, factory, description="")`.

A factory is any callable (usually a class) that takes keyword options and returns a component
(see `emofuse.components`). Factories must load heavy things (TensorFlow, weights) when called,
never at import time, so that `emofuse --help` and `emofuse plugins` stay fast.
"""
from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("emofuse")
hookimpl = pluggy.HookimplMarker("emofuse")


@hookspec
def register_face_detectors(register):
    """Register face detectors: objects with `detect(frame) -> list[FaceBox]` (optional:
    `track(frame, boxes)`, `new_stream()`; see docs/plugins.md)."""


@hookspec
def register_visual_classifiers(register):
    """Register visual classifiers: objects with `classify(crops) -> list[EmotionScores]`."""


@hookspec
def register_audio_feature_extractors(register):
    """Register audio feature extractors: `feature_spec` and `extract(samples, sample_rate)`."""


@hookspec
def register_audio_classifiers(register):
    """Register audio classifiers: `min_window`, `check_features(spec)`, `classify(features)`."""


@hookspec
def register_face_embedders(register):
    """Register face embedders: `embed(crops) -> (n, d) array` and `same_person` (a distance threshold)."""


@hookspec
def register_voice_activity_detectors(register):
    """Register voice-activity detectors: `hop` (seconds) and `speech(samples, sample_rate) -> per-hop probabilities`."""


@hookspec
def register_fusion_strategies(register):
    """Register fusion strategies: objects with `fuse(face, voice) -> EmotionScores | None`, where
    `face` is a FaceEvidence and `voice` a VoiceEvidence (either may be None)."""


@hookspec
def register_exporters(register):
    """Register timeline exporters: objects with `suffix` and `write(timeline, path)`."""


@hookspec
def register_media_sources(register):
    """Register live inputs for `emofuse live`: cameras, microphones (see `emofuse.components.MediaSource`)."""


#: Hook name -> component kind it fills.
HOOK_KINDS: dict[str, str] = {
    "register_face_detectors": "face_detector",
    "register_visual_classifiers": "visual_classifier",
    "register_audio_feature_extractors": "audio_features",
    "register_audio_classifiers": "audio_classifier",
    "register_face_embedders": "face_embedder",
    "register_voice_activity_detectors": "voice_activity",
    "register_fusion_strategies": "fusion",
    "register_exporters": "exporter",
    "register_media_sources": "media_source",
}
