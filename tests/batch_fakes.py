"""Fakes for the batch tests: a face detector that is slow, hangs, or kills its process, by colour.

White frames: one face in the middle (like fakes.CenterFace), after `delay` seconds. A green
picture hangs (a stuck component); a red or blue one kills the process (a crashing plugin: a
"poison" file). `python -m tests.batch_fakes ARGS` runs `emofuse analyze ARGS` with these and
the fakes of tests.fakes installed (for runs in a subprocess, e.g. killed with SIGKILL).
"""
from __future__ import annotations

import os
import signal
import sys
import time

import numpy as np

from emofuse import hookimpl

from .fakes import FAKE_FLAGS, CenterFace
from .fakes import Plugin as FakesPlugin

BATCH_FLAGS = [*FAKE_FLAGS, "--face-detector", "probe"]


class ProbeDetector(CenterFace):
    """CenterFace after `delay` s; hangs on green, kills its process on red or blue."""

    def __init__(self, delay: float = 0.0) -> None:
        super().__init__()
        self.delay = delay

    def detect(self, frame):
        r, g, b = np.asarray(frame, dtype=np.float64).reshape(-1, 3).mean(axis=0)
        if g > 150 and r < 80 and b < 80:
            time.sleep(3600)
        if max(r, b) > 150 and g < 80:
            os.kill(os.getpid(), signal.SIGKILL)
        if self.delay:
            time.sleep(self.delay)
        return super().detect(frame)


class Plugin:
    @hookimpl
    def register_face_detectors(self, register):
        register("probe", ProbeDetector, description="fake: slow, hangs on green, dies on red")


def components():
    """Built-ins, tests.fakes and the probe detector."""
    from emofuse import plugin_manager

    return plugin_manager.collect_components(extra_plugins={"fakes": FakesPlugin(), "batch-fakes": Plugin()})


def main(argv: list[str]) -> int:
    from emofuse import plugin_manager
    from emofuse.cli import main as cli

    from tests import batch_fakes  # by its name, not __main__: what the workers import

    plugin_manager._cached = batch_fakes.components()
    return cli(["analyze", *argv, *BATCH_FLAGS])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
