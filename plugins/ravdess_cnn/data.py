"""Find and read RAVDESS audio files (`MM-VV-EE-II-SS-RR-AA.<audio extension>`) in a folder tree."""
from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from emofuse.errors import DatasetError
from emofuse.labels import RAVDESS_CODES, RAVDESS_LABELS

log = logging.getLogger(__name__)

#: Extensions read as audio (soundfile/libsndfile decodes all of them, mp3 included).
AUDIO_SUFFIXES = {".wav", ".flac", ".mp3", ".ogg", ".oga", ".opus", ".aif", ".aiff", ".aifc", ".au", ".w64", ".caf"}

_NAME = re.compile(r"^(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})$")


@dataclasses.dataclass(frozen=True)
class RavdessFile:
    """One RAVDESS file and what its name says: emotion, intensity, statement, repetition, actor."""

    path: Path
    emotion: str
    intensity: int
    statement: int
    repetition: int
    actor: int
    vocal_channel: int = 1

    @property
    def label(self) -> int:
        """Index of the emotion in RAVDESS_LABELS (the model's 8 outputs)."""
        return RAVDESS_LABELS.index(self.emotion)


def parse_name(path: str | Path) -> RavdessFile | None:
    """Parse `MM-VV-EE-II-SS-RR-AA.ext`; None when the name does not follow the RAVDESS scheme."""
    path = Path(path)
    match = _NAME.match(path.stem)
    if not match or path.suffix.lower() not in AUDIO_SUFFIXES:
        return None
    modality, channel, _, intensity, statement, repetition, actor = (int(g) for g in match.groups())
    code = match.group(3)
    if (modality not in (1, 3) or channel not in (1, 2) or code not in RAVDESS_CODES or intensity not in (1, 2)
            or statement not in (1, 2) or repetition not in (1, 2) or actor < 1):
        return None
    return RavdessFile(path, RAVDESS_CODES[code], intensity, statement, repetition, actor, channel)


@dataclasses.dataclass(frozen=True)
class RavdessIndex:
    """The RAVDESS files found under a folder; `skipped` counts audio files with other names."""

    files: tuple[RavdessFile, ...]
    skipped: int = 0

    def __len__(self) -> int:
        return len(self.files)

    @property
    def actors(self) -> list[int]:
        return sorted({f.actor for f in self.files})

    @property
    def labels(self) -> np.ndarray:
        return np.asarray([f.label for f in self.files], dtype=np.int64)

    def select(self, actors: Iterable[int] | None = None, exclude: Iterable[int] = ()) -> RavdessIndex:
        """The files of `actors` (all when None) minus those of `exclude`."""
        keep = None if actors is None else set(actors)
        drop = set(exclude)
        files = tuple(f for f in self.files if (keep is None or f.actor in keep) and f.actor not in drop)
        return RavdessIndex(files, self.skipped)


def find_ravdess(root: str | Path, actors: Iterable[int] | None = None) -> RavdessIndex:
    """All RAVDESS audio files under `root` (recursively), optionally only those of `actors`.

    Audio files whose names do not follow the RAVDESS scheme are skipped and counted (a warning
    names how many). Raises DatasetError when the folder is missing or holds no RAVDESS file.
    """
    root = Path(root)
    if not root.exists():
        raise DatasetError(f"{root}: no such file or directory")
    candidates = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    files, skipped = [], 0
    for path in candidates:
        if path.suffix.lower() not in AUDIO_SUFFIXES:
            continue
        parsed = parse_name(path)
        if parsed is None:
            skipped += 1
            continue
        files.append(parsed)
    if skipped:
        log.warning("%s: skipped %d audio file(s) whose names are not RAVDESS names (MM-VV-EE-II-SS-RR-AA)",
                    root, skipped)
    if not files:
        raise DatasetError(f"{root}: no RAVDESS audio files found (names like 03-01-05-01-02-01-12.wav)")
    index = RavdessIndex(tuple(files), skipped)
    if actors is not None:
        wanted = sorted(set(actors))
        index = index.select(wanted)
        if not index.files:
            raise DatasetError(f"{root}: no files of actor(s) {format_actors(wanted)} (found actors "
                               f"{format_actors(sorted({f.actor for f in files}))})")
    return index


def load_audio(path: str | Path) -> tuple[np.ndarray, int]:
    """Read one audio file -> (mono float32 samples, sample rate). DatasetError names a bad file."""
    import soundfile as sf

    from emofuse.audio import to_mono

    path = Path(path)
    try:
        samples, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:  # libsndfile raises several types for broken or unknown files
        raise DatasetError(f"{path}: cannot read audio ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None
    if samples.size == 0 or rate <= 0:
        raise DatasetError(f"{path}: the audio is empty")
    mono = to_mono(samples.T if samples.shape[1] > 1 else samples[:, 0])
    if not np.all(np.isfinite(mono)):
        raise DatasetError(f"{path}: the audio holds non-finite samples")
    return mono, int(rate)


def parse_actors(text: str | None) -> list[int] | None:
    """'17-20' or '1,3,5' or '17-20,22' -> [17, 18, 19, 20]; None/'' -> None."""
    if text is None or not str(text).strip():
        return None
    actors: set[int] = set()
    for part in str(text).split(","):
        part = part.strip()
        try:
            if "-" in part:
                lo, hi = (int(x) for x in part.split("-", 1))
                if lo > hi:
                    raise ValueError
                actors.update(range(lo, hi + 1))
            elif part:
                actors.add(int(part))
        except ValueError:
            raise DatasetError(f"bad actor list {text!r}: use numbers and ranges like 17-20 or 1,3,5") from None
    if not actors or min(actors) < 1:
        raise DatasetError(f"bad actor list {text!r}: actors are numbered from 1")
    return sorted(actors)


def format_actors(actors: Iterable[int]) -> str:
    """[17, 18, 19, 20, 22] -> '17-20,22'."""
    values = sorted(set(actors))
    runs: list[str] = []
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and values[j + 1] == values[j] + 1:
            j += 1
        runs.append(f"{values[i]}-{values[j]}" if j > i else f"{values[i]}")
        i = j + 1
    return ",".join(runs)
