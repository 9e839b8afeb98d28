"""Optional parts of emofuse, and the one line that says how to install each.

Analysis runs the shipped networks with LiteRT and never needs TensorFlow, so the base install
leaves it out (about 2 GB). Training, and the Keras backend of the networks, need it: they call
`require_tensorflow` first and fail in one line that says what to install.
"""
from __future__ import annotations

import importlib.util

from .errors import EmofuseError

#: The command that installs TensorFlow and Keras for emofuse.
TRAIN_INSTALL = 'pip install "emofuse[train]"'


def has_tensorflow() -> bool:
    """True when TensorFlow and Keras can be imported (checked without importing them)."""
    return all(importlib.util.find_spec(name) is not None for name in ("tensorflow", "keras"))


def require_tensorflow(purpose: str) -> None:
    """EmofuseError (one line naming `purpose` and what to install) when TensorFlow is missing."""
    if not has_tensorflow():
        raise EmofuseError(f"{purpose} needs TensorFlow, which the base install leaves out: {TRAIN_INSTALL}")
