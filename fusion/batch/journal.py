"""What a batch has done: a journal of finished inputs, the fingerprint of the settings and models
that made them, a lock against two runs writing one folder, and the clean-up after a killed run.

The journal (`DIR/.emofuse/done.jsonl`) gets one JSON line per input whose outputs were all
written, appended (and flushed to disk) as each finishes; a run killed mid-line leaves a torn
last line, which is ignored. An input is complete when its latest record has the fingerprint of
the current settings, the input has the size and time it had then, and every output it plans
now exists with the recorded size.
"""
from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
import os
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from emofuse.errors import EmofuseError

STATE_DIR = ".emofuse"
JOURNAL = "done.jsonl"
#: Files beside a component's module that are its weights or their metadata (hashed into the fingerprint).
MODEL_SUFFIXES = frozenset({".tflite", ".keras", ".onnx", ".pt", ".pth", ".h5", ".dat", ".npz", ".npy", ".bin", ".pb",
                            ".json", ".xml"})


def file_digest(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def model_hashes(pipeline, kinds: Iterable[str]) -> dict[str, str]:
    """Kind -> a hash of the chosen component: its plugin and version, the model files in its
    module's package folder, and any file an option names (`--set visual-classifier.model=x.keras`)."""
    infos = {info.name: info for info in pipeline.components.plugins}
    out = {}
    for kind in kinds:
        name = pipeline.options.name_of(kind)
        entry = pipeline.components[kind].get(name)
        digest = hashlib.sha256()
        info = infos.get(entry.plugin)
        digest.update(f"{entry.plugin} {info.version if info else ''} {name}\n".encode())
        for path in _model_files(entry.factory):
            digest.update(f"{path.name} {file_digest(path)}\n".encode())
        for key, value in sorted(pipeline.options.component_options.get(kind, {}).items()):
            if isinstance(value, (str, os.PathLike)) and os.path.isfile(value):
                digest.update(f"{key} {file_digest(value)}\n".encode())
        out[kind] = digest.hexdigest()[:16]
    return out


def _model_files(factory) -> list[Path]:
    module = sys.modules.get(getattr(factory, "__module__", "") or "")
    if module is None:
        with contextlib.suppress(Exception):
            module = importlib.import_module(factory.__module__)
    file = getattr(module, "__file__", None)
    if not file or not getattr(module, "__package__", None):  # a top-level module: its folder is not its own
        return []
    folder = Path(file).parent
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in MODEL_SUFFIXES and p.is_file())


def fingerprint(settings: Mapping[str, Any]) -> str:
    """A short hash of `settings` (JSON-able: options, formats, component names, model hashes)."""
    text = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def input_state(source: str) -> list[int] | None:
    """[size, mtime_ns] of a local input; None for a URL or a file that is not there."""
    try:
        st = os.stat(source)
    except (OSError, ValueError):
        return None
    return [st.st_size, st.st_mtime_ns]


def output_sizes(paths: Iterable[str]) -> dict[str, int] | None:
    """Path -> size of each output; None when one is missing."""
    sizes = {}
    for path in paths:
        try:
            sizes[path] = os.stat(path).st_size
        except OSError:
            return None
    return sizes


class Journal:
    """The finished inputs of the batch writing into `folder`."""

    def __init__(self, folder: str | os.PathLike) -> None:
        self.folder = Path(folder) / STATE_DIR
        self.path = self.folder / JOURNAL
        self._file = None

    def load(self) -> dict[str, dict]:
        """Source -> its latest record (lines that do not parse, e.g. torn by a kill, are ignored)."""
        records: dict[str, dict] = {}
        try:
            text = self.path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return records
        for line in text.splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and isinstance(record.get("source"), str):
                records[record["source"]] = record
        return records

    def rewrite(self, records: Iterable[dict]) -> None:
        """Replace the journal by `records` (drops superseded and torn lines), atomically."""
        from emofuse.atomic import atomic_output

        self.folder.mkdir(parents=True, exist_ok=True)
        with atomic_output(self.path) as tmp:
            tmp.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in records), encoding="utf-8")

    def append(self, record: dict) -> None:
        """Add one record; on disk (flushed and synced) when this returns."""
        if self._file is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "a", encoding="utf-8")
        self._file.write(json.dumps(record, sort_keys=True) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def make_record(source: str, fp: str, state: list[int] | None, outputs: Iterable[str], row: dict) -> dict | None:
    """The journal record of a finished input; None when an output has gone missing meanwhile."""
    sizes = output_sizes(outputs)
    if sizes is None:
        return None
    return {"source": source, "fingerprint": fp, "input": state, "outputs": sizes, "row": row}


def is_complete(record: dict | None, fp: str, state: list[int] | None, outputs: Iterable[str]) -> bool:
    """True when `record` says the input's planned `outputs` were made with these settings from this
    very input, and they are all still there with the recorded sizes."""
    if not record or record.get("fingerprint") != fp or record.get("input") != state:
        return False
    planned = sorted(outputs)
    recorded = record.get("outputs") or {}
    return sorted(recorded) == planned and output_sizes(planned) == recorded


@contextlib.contextmanager
def run_lock(folder: str | os.PathLike, wait_for_workers: float = 30.0) -> Iterator[Path]:
    """Hold `folder`'s batch lock for the block; EmofuseError if another run holds it. Waits (up to
    `wait_for_workers` s) for worker processes of a killed run to go, which hold `workers_lock`.
    Yields the path of that workers' lock. Without fcntl (Windows), no lock is taken."""
    state = Path(folder) / STATE_DIR
    state.mkdir(parents=True, exist_ok=True)
    workers = state / "workers.lock"
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield workers
        return
    with open(state / "run.lock", "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise EmofuseError(f"{folder}: another emofuse run is writing there; wait for it or use another -o") from None
        with open(workers, "a") as w:
            deadline = time.monotonic() + wait_for_workers
            while True:
                try:
                    fcntl.flock(w, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise EmofuseError(f"{folder}: worker processes of an earlier run are still "
                                           "writing there") from None
                    time.sleep(0.1)
            fcntl.flock(w, fcntl.LOCK_UN)
        yield workers


def hold_shared(path: str | os.PathLike | None):
    """In a worker: hold `path` (the workers' lock) shared for the life of the process."""
    if path is None:
        return None
    try:
        import fcntl

        f = open(path, "a")
        fcntl.flock(f, fcntl.LOCK_SH)
        return f
    except (ImportError, OSError):
        return None


def remove_stale_parts(outputs: Iterable[str | os.PathLike]) -> int:
    """Delete the temp files (`.NAME.XXXXXXXX.part.SUFFIX`, see emofuse.atomic) that a killed run left
    beside these outputs; each folder is listed once. Returns how many were removed."""
    by_folder: dict[Path, set[str]] = {}
    for out in outputs:
        out = Path(out)
        by_folder.setdefault(out.parent, set()).add(out.name)
    removed = 0
    for folder, names in by_folder.items():
        try:
            entries = os.listdir(folder)
        except OSError:
            continue
        for entry in entries:
            if not entry.startswith(".") or ".part" not in entry:
                continue
            head = entry[1:entry.rindex(".part")]  # NAME.XXXXXXXX
            if head[:-9] in names and head[-9:-8] == ".":
                with contextlib.suppress(OSError):
                    os.unlink(folder / entry)
                    removed += 1
    return removed
