"""The Python API prints nothing of its own on stderr (issue 14, item 10)."""
from __future__ import annotations

import subprocess
import sys

from .conftest import REPO


def _stderr_of(code: str) -> str:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert result.returncode == 0, result.stderr
    return result.stderr


def test_quiet_native_stderr_drops_descriptor_2_only_inside_the_block():
    err = _stderr_of(
        "import os, sys\n"
        "from emofuse.quiet import quiet_native_stderr\n"
        "os.write(2, b'before\\n')\n"
        "with quiet_native_stderr():\n"
        "    os.write(2, b'native chatter\\n')\n"
        "print('python after', file=sys.stderr)\n"
        "os.write(2, b'after\\n')\n")
    assert err.splitlines() == ["before", "python after", "after"]


def test_a_litert_model_says_nothing_on_stderr():
    err = _stderr_of(
        "import numpy as np\n"
        "from emofuse.plugins.litert import LiteRTModel\n"
        f"m = LiteRTModel({str(REPO / 'plugins' / 'fer_cnn' / 'fer_cnn.tflite')!r})\n"
        "m(np.zeros((2, 48, 48, 1), np.float32)); m(np.zeros((3, 48, 48, 1), np.float32))\n")
    assert err == ""
