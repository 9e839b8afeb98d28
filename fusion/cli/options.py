"""Parsing helpers shared by the sub-commands: `KIND.KEY=VALUE` options, the fps switch."""
from __future__ import annotations

import argparse
import ast
import math

from emofuse.runner import PIPELINE_KINDS, AnalysisOptions

#: Command-line spelling of each pipeline kind (as in --face-detector) -> kind.
KIND_FLAGS = {
    "face-detector": "face_detector",
    "visual-classifier": "visual_classifier",
    "face-embedder": "face_embedder",
    "voice-activity": "voice_activity",
    "audio-features": "audio_features",
    "audio-classifier": "audio_classifier",
    "fusion": "fusion",
}
assert set(KIND_FLAGS.values()) == set(PIPELINE_KINDS)


def parse_value(text: str):
    """'0.7' -> 0.7, 'true' -> True, 'none' -> None, anything else stays a string."""
    lowered = text.strip().lower()
    if lowered in {"true", "yes", "on"}:
        return True
    if lowered in {"false", "no", "off"}:
        return False
    if lowered in {"none", "null"}:
        return None
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def parse_component_options(items: list[str] | None) -> dict[str, dict[str, object]]:
    """['fusion.face_weight=0.7', 'face-detector.min_neighbors=3'] -> {kind: {key: value}}."""
    out: dict[str, dict[str, object]] = {}
    for item in items or []:
        target, sep, value = item.partition("=")
        kind_flag, dot, key = target.partition(".")
        if not sep or not dot or not key:
            raise argparse.ArgumentTypeError(f"--set expects KIND.OPTION=VALUE, got {item!r}")
        kind = KIND_FLAGS.get(kind_flag) or (kind_flag if kind_flag in KIND_FLAGS.values() else None)
        if kind is None:
            raise argparse.ArgumentTypeError(
                f"--set {item!r}: unknown kind {kind_flag!r}; use one of {', '.join(KIND_FLAGS)}"
            )
        out.setdefault(kind, {})[key.replace("-", "_")] = parse_value(value)
    return out


def fps_value(text: str) -> float | None:
    """--fps (and --detect-fps): a positive number, or 'all' (None) for every frame. 0 is refused
    (it once meant every frame, silently): 'all' says that."""
    if text.strip().lower() in {"all", "every"}:
        return None
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected frames per second or 'all', got {text!r}") from None
    if not value > 0 or not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected frames per second > 0 or 'all', got {text}")
    return value


def detect_fps_value(text: str) -> float:
    """--detect-fps: a positive number, or 'all' (math.inf) for a full-frame detection on every frame."""
    value = fps_value(text)
    return math.inf if value is None else value


def add_detection_arguments(parser: argparse.ArgumentParser) -> None:
    """--detect-fps and --no-track (shared by analyze and live)."""
    from emofuse.tracking import DEFAULT_DETECT_FPS

    parser.add_argument(
        "--detect-fps", type=detect_fps_value, default=None, metavar="N|all",
        help=f"full-frame face detections per second (default {DEFAULT_DETECT_FPS:g} when the detector "
             "can track faces, as haar can, else 'all'); on the frames in between, each face is "
             "tracked: found again near where it was. 'all': a full-frame detection on every analysed "
             "frame (slowest; new faces are found at once)")
    parser.add_argument(
        "--no-track", dest="track", action="store_false",
        help="do not track faces: a full-frame detection on every analysed frame, or with --detect-fps N "
             "the last boxes reused in between (fastest, but a box can outlive its face)")


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text}")
    return value


def share_value(text: str) -> float:
    """A share between 0 and 1 (e.g. --min-speech 0.3)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a share between 0 and 1, got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a share between 0 and 1, got {text}")
    return value


#: What `auto` picks, per kind (emofuse.runner.AUTO).
AUTO_HELP = {"face_embedder": " (dlib where installed, else pixels)",
             "voice_activity": " (silero where installed, else energy)",
             "audio_features": " (what the audio classifier's model was trained on: mfcc or mfcc-prosody)"}


def add_component_arguments(parser: argparse.ArgumentParser, set_help: str) -> None:
    """--face-detector ... --fusion NAME (defaults from AnalysisOptions) and the repeatable --set."""
    group = parser.add_argument_group("components (see `emofuse list`)")
    for flag, kind in KIND_FLAGS.items():
        default = getattr(AnalysisOptions, kind)
        group.add_argument(f"--{flag}", dest=kind, default=default, metavar="NAME",
                           help=f"default: {default}" + AUTO_HELP.get(kind, "") if default == "auto" else f"default: {default}")
    group.add_argument("--set", dest="component_options", action="append", metavar="KIND.OPTION=VALUE",
                       help=set_help)


def component_choices(args: argparse.Namespace, option_items: list[str] | None) -> dict:
    """AnalysisOptions keyword arguments for the chosen components and their --set options."""
    from emofuse.errors import EmofuseError

    try:
        component_options = parse_component_options(option_items)
    except argparse.ArgumentTypeError as exc:
        raise EmofuseError(str(exc)) from None
    return {**{kind: getattr(args, kind) for kind in PIPELINE_KINDS}, "component_options": component_options}
