"""`-` as an input: standard input spooled to a file first (decoders need to seek)."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import BinaryIO

#: The input name that means standard input.
STDIN = "-"

#: Leading bytes of still images -> suffix (emofuse.media reads images by their suffix).
_IMAGE_MAGIC = ((b"\x89PNG\r\n\x1a\n", ".png"), (b"\xff\xd8\xff", ".jpg"), (b"BM", ".bmp"),
                (b"II*\x00", ".tiff"), (b"MM\x00*", ".tiff"))


def image_suffix(head: bytes) -> str:
    """".png", ".jpg", ... when `head` (a file's first bytes) starts a still image; else ""."""
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return ".webp"
    return next((suffix for magic, suffix in _IMAGE_MAGIC if head.startswith(magic)), "")


def spool_stdin(stream: BinaryIO, folder: str | Path) -> Path:
    """Copy `stream` (standard input's bytes) into `folder` as `stdin` (with an image's suffix:
    `stdin.png`, ...) and return the file; its outputs are then named `stdin.csv`, ..."""
    head = stream.read(16)
    if not head:
        from .errors import MediaError

        raise MediaError("standard input (-) is empty: pipe a media file into it")
    path = Path(folder) / f"stdin{image_suffix(head)}"
    with open(path, "wb") as out:
        out.write(head)
        shutil.copyfileobj(stream, out, 1 << 20)
    return path
