"""`emofuse live`: emotion from a camera and a microphone, as it happens (the loop is emofuse.live)."""
from __future__ import annotations

import argparse

from emofuse.runner import AnalysisOptions

from .options import add_component_arguments, add_detection_arguments, component_choices, parse_value, positive_float

EPILOG = """\
examples:
  emofuse live                                  camera 0 and the default microphone, in a window
  emofuse live -o live.csv --duration 60        one CSV row per second, for a minute
  emofuse live --camera 1 --mic "USB" --no-window
  emofuse live --camera clip.mp4 --mic clip.mp4 a file standing in for the camera and the mic
  emofuse live --no-audio                       faces only (no sounddevice needed)
  emofuse live --set camera.width=1280 --set mic.sample_rate=16000

q, Esc or Ctrl-C stop it. The CSV has the columns of `emofuse analyze`, times in seconds since
the start, and is flushed after every row. The microphone needs: pip install "emofuse[live]".
Sources are plugins (`emofuse list media_source`); pick one with --camera-source/--mic-source.
"""

#: --set prefixes that go to the media sources rather than to the pipeline components.
SOURCE_PREFIXES = ("camera", "mic")


def add_parser(sub) -> None:
    p = sub.add_parser(
        "live", help="live emotion from a camera and a microphone",
        description="Classify the faces of every frame the machine keeps up with and the voice of the "
                    "last seconds; show the fused verdict and optionally write a CSV timeline.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    s = p.add_argument_group("inputs")
    s.add_argument("--camera", default="0", metavar="INDEX|FILE",
                   help="camera index (default 0), /dev/video path or URL, or a video file played in real time")
    s.add_argument("--mic", default="default", metavar="DEVICE|FILE",
                   help="microphone index or name (default: the system's), or a sound file played in real time")
    s.add_argument("--camera-source", metavar="NAME", help="media source plugin for --camera (default: guessed)")
    s.add_argument("--mic-source", metavar="NAME", help="media source plugin for --mic (default: guessed)")
    s.add_argument("--no-video", dest="video", action="store_false", help="no camera (voice only)")
    s.add_argument("--no-audio", dest="audio", action="store_false", help="no microphone (faces only)")
    p.add_argument("-o", "--output", metavar="CSV", help="write the timeline here, one row per segment as it ends")
    p.add_argument("--segment", type=positive_float, default=1.0, metavar="SECONDS", help="row length (default 1)")
    p.add_argument("--duration", type=positive_float, default=None, metavar="SECONDS",
                   help="stop after this long (default: until q, Esc or Ctrl-C)")
    add_detection_arguments(p)
    p.add_argument("--no-window", dest="window", action="store_false",
                   help="no OpenCV window: a view in the terminal instead")
    add_component_arguments(p, "component option, repeatable; KIND may also be camera or mic "
                               "(options of the source)")
    p.add_argument("-q", "--quiet", action="store_true", help="no terminal view and no summary")
    p.set_defaults(run=run)


def split_source_options(items: list[str] | None) -> tuple[dict[str, dict[str, object]], list[str]]:
    """'camera.width=640' and 'mic.keep=5' -> source options; every other --set item is left as is."""
    sources: dict[str, dict[str, object]] = {prefix: {} for prefix in SOURCE_PREFIXES}
    rest = []
    for item in items or []:
        target, sep, value = item.partition("=")
        prefix, dot, key = target.partition(".")
        if sep and dot and key and prefix in SOURCE_PREFIXES:
            sources[prefix][key.replace("-", "_")] = parse_value(value)
        else:
            rest.append(item)
    return sources, rest


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from emofuse.live import LiveOptions, choose_source, print_report, run_live
    from emofuse.runner import Pipeline

    sources, rest = split_source_options(args.component_options)
    options = AnalysisOptions(
        segment=args.segment, fps=None, detect_fps=args.detect_fps, track=args.track, video=args.video, audio=args.audio,
        **component_choices(args, rest),
    )
    output = Path(args.output) if args.output else None
    live = LiveOptions(
        camera=choose_source("video", args.camera, args.camera_source, sources["camera"]) if args.video else None,
        mic=choose_source("audio", args.mic, args.mic_source, sources["mic"]) if args.audio else None,
        duration=args.duration, output=output, window=args.window, quiet=args.quiet,
    )
    report = run_live(Pipeline(options), live)
    if not args.quiet:
        print_report(report, output)
    return 1 if report.failures else 0
