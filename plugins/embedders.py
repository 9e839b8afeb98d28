"""Built-in face embedders (placeholder: filled in by the persons work)."""
from __future__ import annotations

from emofuse.hookspecs import hookimpl


@hookimpl
def register_face_embedders(register):
    pass
