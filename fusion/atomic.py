"""Write outputs atomically: to a temp file beside the target, renamed only on success."""
from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temp path in the target's folder; rename it to `path` on success, delete it on error.
    A file-system failure (no space, no permission...) is an OutputError naming `path`, in one line."""
    from .errors import OutputError

    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part" + target.suffix, dir=target.parent)
    except OSError as exc:
        raise OutputError(f"{target}: cannot write it ({exc.strerror or exc})") from exc
    os.close(fd)
    tmp = Path(tmp_name)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; outputs get the usual permissions
    try:
        yield tmp
        os.replace(tmp, target)
    except OutputError:
        raise
    except OSError as exc:
        if exc.filename is not None and Path(exc.filename) not in (tmp, target):
            raise  # about another file (an input read while writing): not ours to rename
        raise OutputError(f"{target}: cannot write it ({exc.strerror or exc})") from exc
    finally:
        if tmp.exists():
            tmp.unlink()


def check_writable(path: str | os.PathLike) -> None:
    """Raise EmofuseError (one line) unless `atomic_output(path)` can write there: `path` is not a
    folder, the nearest folder that exists on its way accepts new files, and none of its parents
    is a file. Creates nothing that stays (it tries a temp file). Call it before long work."""
    from .errors import EmofuseError

    target = Path(path)
    if target.is_dir():
        raise EmofuseError(f"{target}: is a folder; give a file name")
    parent = target.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise EmofuseError(f"{target}: {parent} is a file, not a folder")
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".check", dir=parent)
    except OSError as exc:
        reason = "it takes no new files" if exc.errno == errno.ENOENT else exc.strerror or str(exc)
        raise EmofuseError(f"{target}: cannot write in {parent} ({reason})") from None
    os.close(fd)
    os.unlink(probe)
