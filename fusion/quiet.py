"""Keep native libraries' chatter off the terminal of a Python API user.

Some C++ runtimes write to file descriptor 2 directly (LiteRT: "INFO: Created TensorFlow Lite
XNNPACK delegate for CPU." on a model's first allocation), which no Python logging setting
reaches. `quiet_native_stderr()` points descriptor 2 at /dev/null for the few milliseconds of
such a call; Python's own `sys.stderr` writes in that window are flushed first and kept.
"""
from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """Descriptor 2 goes to /dev/null inside the block (process-wide: keep the block short)."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no descriptor 2 (embedded interpreters)
        yield
        return
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 2)
        finally:
            os.close(devnull)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
