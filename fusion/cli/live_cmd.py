"""`emofuse live`: emotion from a camera and a microphone, as it happens (the loop is emofuse.live)."""
from __future__ import annotations

import argparse

from emofuse.runner import AnalysisOptions
from emofuse.voice_side import MIN_SPEECH

from .options import (add_component_arguments, add_detection_arguments, component_choices, parse_value, positive_float,
                      share_value)

EPILOG = """\
examples:
  emofuse live                                  camera 0 and the default microphone, in a window
  emofuse live -o live.csv --duration 60        one CSV row per second, for a minute
  emofuse live --list-devices                   the cameras and sound inputs found here
  emofuse live --camera 1 --mic "USB" --no-window
  emofuse live --camera rtsp://10.0.0.7/stream  a network camera (opened again when it drops)
  emofuse live --camera clip.mp4 --mic clip.mp4 a file standing in for the camera and the mic
  emofuse live --no-audio                       faces only (no sounddevice needed)
  emofuse live --set camera.width=1280 --set mic.sample_rate=16000

q, Esc or Ctrl-C stop it. The CSV has the columns of `emofuse analyze`, times in seconds since
the start, and is flushed after every row. The microphone needs: pip install "emofuse[live]".
Sources are plugins (`emofuse list media-source`); pick one with --camera-source/--mic-source.
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
    s.add_argument("--list-devices", action="store_true",
                   help="list the cameras OpenCV opens by index and the sound inputs, then exit")
    p.add_argument("-o", "--output", metavar="CSV", help="write the timeline here, one row per segment as it ends")
    p.add_argument("--segment", type=positive_float, default=1.0, metavar="SECONDS", help="row length (default 1)")
    p.add_argument("--duration", type=positive_float, default=None, metavar="SECONDS",
                   help="stop after this long (default: until q, Esc or Ctrl-C)")
    add_detection_arguments(p)
    p.add_argument("--min-speech", type=share_value, default=MIN_SPEECH, metavar="SHARE",
                   help=f"share of the last --segment seconds the voice-activity detector must hear as speech "
                        f"for a voice verdict (default {MIN_SPEECH:g})")
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


def list_devices(components=None) -> list[tuple[str, str, list[tuple[str, str]] | str]]:
    """(media source name, its media, [(device, description)] or why it cannot list) for every
    media source plugin with a `list_devices()`."""
    from emofuse.errors import EmofuseError
    from emofuse.plugin_manager import get_components

    components = components or get_components()
    found = []
    for entry in components["media_source"]:
        lister = getattr(entry.factory, "list_devices", None)
        if not callable(lister):
            continue
        try:
            devices = [(str(device), str(text)) for device, text in lister()]
        except EmofuseError as exc:
            devices = str(exc)
        except Exception as exc:  # a third-party plugin's failure is its own line, not a crash
            devices = f"{type(exc).__name__}: {exc}"
        found.append((entry.name, str(getattr(entry.factory, "media", "?")), devices))
    return found


def print_devices(found) -> None:
    """The table of `emofuse live --list-devices`, with the flag that picks each device."""
    for name, media, devices in found:
        flag = "--camera" if media == "video" else "--mic"
        pick = "" if name in ("camera", "microphone") else f" --{'camera' if media == 'video' else 'mic'}-source {name}"
        print(f"{name} ({media}): {flag} DEVICE{pick}")
        if isinstance(devices, str):
            print(f"  cannot list them: {devices}")
            continue
        if not devices:
            print("  none found" + ("; a video file or a stream URL (rtsp://, http://) works too" if media == "video" else ""))
        width = max((len(device) for device, _ in devices), default=0)
        for device, text in devices:
            print(f"  {device.ljust(width)}  {text}")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from emofuse.live import LiveOptions, choose_source, print_report, run_live
    from emofuse.runner import Pipeline

    if args.list_devices:
        print_devices(list_devices())
        return 0
    sources, rest = split_source_options(args.component_options)
    options = AnalysisOptions(
        segment=args.segment, fps=None, detect_fps=args.detect_fps, track=args.track, video=args.video, audio=args.audio,
        min_speech=args.min_speech, **component_choices(args, rest),
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
