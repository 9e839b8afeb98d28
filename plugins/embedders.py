"""Built-in face embedders: `dlib` (dlib's face ResNet, when installed) and `pixels` (always there).

dlib itself is imported when a `dlib` embedder is created, never when the plugins are listed.
"""
from __future__ import annotations

import importlib.util

from emofuse.hookspecs import hookimpl

from .dlib_embed import DlibEmbedder
from .pixel_embed import PixelEmbedder


def default_embedder_name() -> str:
    """"dlib" when dlib and face-recognition-models are installed, else "pixels" (nothing is imported)."""
    installed = all(importlib.util.find_spec(name) is not None for name in ("dlib", "face_recognition_models"))
    return "dlib" if installed else "pixels"


@hookimpl
def register_face_embedders(register):
    register("dlib", DlibEmbedder,
             description="dlib's 128-d face ResNet, 5-point alignment (who a face is; ~77 ms a face)")
    register("pixels", PixelEmbedder,
             description="face texture (LBP) and colour, numpy/OpenCV only (fallback; ~0.7 ms a face)")
