"""The `emofuse` command line. Each sub-command lives in its own module."""
from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from emofuse import __version__
from emofuse.errors import EmofuseError

#: Sub-command name -> module under emofuse.cli that has `add_parser(subparsers)`.
COMMANDS = ("analyze", "live", "plugins", "list", "train", "evaluate")

DESCRIPTION = """\
Recognise emotion in video from the face and the voice.

  emofuse analyze movie.mp4 -o timeline.csv     fused emotion timeline of a film
  emofuse analyze a.mp4 b.mp4 -o out/           several files, one CSV each
  emofuse live -o live.csv                      camera and microphone, as it happens
  emofuse plugins                               installed plugins and what they provide
  emofuse train face --data fer2013.csv         train the face model
  emofuse evaluate voice --data ravdess/        held-out accuracy of the voice model

Run `emofuse COMMAND --help` for the options of each command.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="emofuse", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"emofuse {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the full traceback of errors (anywhere on the line)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"emofuse.cli.{name.replace('-', '_')}_cmd").add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `emofuse` console script; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    argv = [a for a in argv if a != "--debug"]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from .console import one_line_warnings, silence_native_stderr

    one_line_warnings()
    if not debug:
        silence_native_stderr()
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if not getattr(args, "run", None):
            parser.print_help()
            return 2
        args.debug = debug
        return int(args.run(args) or 0)
    except EmofuseError as exc:
        if debug:
            raise
        print(f"emofuse: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("emofuse: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
