"""Find the inputs of a batch: files, folders (recursive), globs and list files; name each one's outputs.

Every input gets an output *name*: its path without suffix, relative to where it was found
("season1/ep1" for season1/ep1.mp4 found in the folder given), so the outputs under `-o DIR/`
mirror the input tree. A file named directly is named by its stem (a.mp4 -> DIR/a.csv).
"""
from __future__ import annotations

import dataclasses
import glob
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from emofuse.errors import EmofuseError

VIDEO_SUFFIXES = (".mp4", ".m4v", ".mkv", ".mov", ".avi", ".webm", ".flv", ".wmv", ".mpg", ".mpeg", ".ts", ".mts",
                  ".3gp")
AUDIO_SUFFIXES = (".wav", ".flac", ".mp3", ".m4a", ".aac", ".ogg", ".oga", ".opus", ".wma")
#: What a folder or a glob picks up (by extension, any case); other files are skipped and counted.
MEDIA_SUFFIXES = frozenset(VIDEO_SUFFIXES + AUDIO_SUFFIXES)

_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


@dataclasses.dataclass
class Found:
    """The inputs in order, without duplicates: absolute paths (or URLs), each with its output name."""

    sources: list[str] = dataclasses.field(default_factory=list)
    names: dict[str, str] = dataclasses.field(default_factory=dict)
    skipped: int = 0  # files in folders or glob matches that are not media

    def add(self, source: str, name: str) -> None:
        if source not in self.names:
            self.sources.append(source)
            self.names[source] = name


def is_url(text: str) -> bool:
    """True for `scheme://...` (http, https, s3, ...)."""
    return bool(_URL.match(text))


def is_media(path: str | os.PathLike) -> bool:
    return Path(path).suffix.lower() in MEDIA_SUFFIXES


def has_magic(text: str) -> bool:
    return any(c in text for c in "*?[")


def find_inputs(args: Sequence[str], from_list: str | None = None, exclude: Iterable[str | os.PathLike] = ()) -> Found:
    """The media files that `args` (files, folders, globs, URLs) and the list file `from_list` (one
    of those a line; blank lines and `#` comments skipped; relative to the list's folder) stand for.
    Files under `exclude` (the output folders) and hidden files and folders are left out.
    EmofuseError for a folder without media, a glob matching nothing, a list that cannot be read."""
    found = Found()
    skip = [Path(os.path.abspath(p)) for p in exclude]
    for arg in args:
        _add(found, arg, Path.cwd(), skip, listed=False)
    if from_list is not None:
        for line in _read_list(from_list):
            _add(found, line, Path(os.path.abspath(from_list)).parent, skip, listed=True)
    return found


def _read_list(path: str) -> list[str]:
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise EmofuseError(f"{path}: cannot read the list of inputs ({getattr(exc, 'strerror', None) or exc})") from None
    lines = [line.strip() for line in text.splitlines()]
    lines = [line for line in lines if line and not line.startswith("#")]
    if not lines:
        raise EmofuseError(f"{path}: the list of inputs is empty")
    return lines


def _add(found: Found, arg: str, here: Path, skip: list[Path], listed: bool) -> None:
    if is_url(arg):
        found.add(arg, _url_name(arg))
        return
    path = Path(os.path.expanduser(arg))
    path = Path(os.path.normpath(path if path.is_absolute() else here / path))
    if path.is_dir():
        before = len(found.sources)
        _walk(found, path, path, skip)
        if len(found.sources) == before and not any(_under(path, s) for s in skip):
            raise EmofuseError(f"{arg}: is a directory with no media files in it "
                               f"(looked for {', '.join(sorted(MEDIA_SUFFIXES))})")
        return
    if has_magic(arg) and not path.exists():
        _glob(found, arg, path, skip)
        return
    name = path.stem
    if listed and _under(path, here):
        name = PurePosixPath(*path.relative_to(here).with_suffix("").parts).as_posix()
    found.add(str(path), name)


def _glob(found: Found, arg: str, pattern: Path, skip: list[Path]) -> None:
    parts = pattern.parts
    fixed = next(i for i, part in enumerate(parts) if has_magic(part))
    base = Path(*parts[:fixed]) if fixed else Path(pattern.anchor or ".")
    matches = sorted(glob.glob(str(pattern), recursive=True))
    if not matches:
        raise EmofuseError(f"{arg}: matches no file")
    for match in map(Path, matches):
        if any(_under(match, s) for s in skip) or _hidden(match.relative_to(base)):
            continue
        if match.is_dir():
            _walk(found, match, base, skip)
        elif is_media(match):
            found.add(str(match), _name(match, base))
        else:
            found.skipped += 1


def _walk(found: Found, folder: Path, base: Path, skip: list[Path]) -> None:
    for root, dirs, files in os.walk(folder):
        top = Path(root)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not any(_under(top / d, s) for s in skip))
        for file in sorted(files):
            if file.startswith("."):
                continue
            path = top / file
            if is_media(path):
                found.add(str(path), _name(path, base))
            else:
                found.skipped += 1


def _name(path: Path, base: Path) -> str:
    return PurePosixPath(*path.relative_to(base).with_suffix("").parts).as_posix()


def _url_name(url: str) -> str:
    last = PurePosixPath(unquote(urlsplit(url).path)).name
    return Path(last).stem or urlsplit(url).hostname or "url"


def _under(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _hidden(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts)
