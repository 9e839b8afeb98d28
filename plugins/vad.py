"""Built-in voice-activity detectors (placeholder: filled in by the VAD work)."""
from __future__ import annotations

from emofuse.hookspecs import hookimpl


@hookimpl
def register_voice_activity_detectors(register):
    pass
