"""`emofuse analyze`: the fused emotion timeline of one or more media files."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from emofuse.voice_side import MIN_SPEECH

from .options import (add_component_arguments, add_detection_arguments, component_choices, fps_value, positive_float,
                      share_value)

EPILOG = """\
examples:
  emofuse analyze movie.mp4                       writes movie.csv here
  emofuse analyze movie.mp4 -o out.json           format from the suffix
  emofuse analyze a.mp4 b.mkv -o results/         results/a.csv, results/b.csv
  emofuse analyze talk.mp4 --plot talk.png        also draw the timeline
  emofuse analyze clip.mp4 --fps all              classify faces on every frame
  emofuse analyze crowd.mp4 --detect-fps all      scan every analysed frame for new faces
  emofuse analyze film.mkv --smooth median:5      steadier labels (median over 5 segments)
  emofuse analyze clip.mp4 --fusion product --set fusion.face_weight=0.7
  emofuse analyze interview.wav                   voice only
  emofuse analyze portrait.jpg                    a still image: one segment, faces only
  emofuse analyze film.mkv --start 60 --end 90    only that half minute (times stay the film's)
  cat clip.mp4 | emofuse analyze -                standard input; writes stdin.csv
  emofuse analyze http://host/clip.mp4 -o out/    a URL (whatever ffmpeg opens: http, https, rtsp)
  emofuse analyze film.mp4 --annotate film.annotated.mp4 --html film.html
                                                  the film with boxes and labels, and a report to watch it in
  emofuse analyze film.mp4 --by person -o film.csv --persons film-persons.png
                                                  a row per person and segment, and who is who
  emofuse analyze season1/ -o out/ --jobs auto    every media file under season1/, in parallel;
                                                  out/ mirrors its tree; a rerun skips what is done
  emofuse analyze --from list.txt -o out/ --cluster tcp://head:8786
                                                  on a Dask cluster (docs/batch.md)

CSV columns (--by segment): start,end,label,confidence,faces, face_<label>, voice_<label>,
fused_<label> for the labels angry,disgust,fear,happy,sad,surprise,neutral, then speaker (the
person speaking: P1, P2, ... numbered by first appearance; empty when nobody visible speaks),
voice_speech (share of the segment with speech), errors. A modality with nothing to say (no
face, no speech) leaves its cells empty.
--by person: start,end,person,speaking,x,y,width,height,label,confidence,faces, face_*,
voice_*, fused_*, errors: one row per segment and person seen in it; a person's voice cells are
filled only while they speak. `emofuse list` shows the components.
"""


def add_parser(sub) -> None:
    p = sub.add_parser(
        "analyze", help="fused emotion timeline of video or audio files",
        description="Split each file into segments and say what the faces showed, what the voice "
                    "carried, and the fused verdict.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("inputs", nargs="*", metavar="FILE",
                   help="video (mp4, mkv, mov, avi, webm), audio (wav, flac, mp3) or a still image (png, jpg, bmp, webp, "
                        "tiff: one segment); a folder (searched "
                        "recursively) or a glob ('clips/**/*.mp4') for many")
    p.add_argument("-o", "--output", metavar="PATH",
                   help="output file, or a folder (one file per input; required form for several inputs). "
                        "Default: <input name>.<format> in the current folder")
    p.add_argument("-f", "--format", metavar="NAME",
                   help="csv (default), json, jsonl, or any installed exporter; default from the -o suffix")
    p.add_argument("--by", choices=("segment", "person"), default="segment",
                   help="a row per segment, the scene as a whole (default), or per segment and person")
    p.add_argument("--plot", metavar="PNG", help="also draw the timeline, a lane per person (a folder with several inputs)")
    p.add_argument("--persons", dest="persons_sheet", metavar="PNG",
                   help="also draw a contact sheet: each person's face and id (a folder with several inputs)")
    p.add_argument("--annotate", metavar="VIDEO",
                   help="also write the film with each face's box, person, label and confidence, the speaker and "
                        "the fused scores drawn on it (.mp4, .mov or .mkv; the soundtrack copied; a folder with "
                        "several inputs)")
    p.add_argument("--html", metavar="REPORT",
                   help="also write an interactive report: the film beside its timeline, persons, summary, "
                        "settings; one offline .html file that plays the video from beside it (a folder with "
                        "several inputs)")
    p.add_argument("--embed", action="store_true", help="put the video inside the --html report (small files)")
    g = p.add_argument_group("sampling")
    g.add_argument("--segment", type=positive_float, default=1.0, metavar="SECONDS", help="segment length (default 1)")
    g.add_argument("--fps", type=fps_value, default=4.0, metavar="N|all",
                   help="faces sampled per second (default 4); 'all' classifies every frame")
    add_detection_arguments(g)
    g.add_argument("--smooth", metavar="METHOD[:N]",
                   help="smooth scores over N segments: median:5 (centred) or ema:3 (causal); default off")
    g.add_argument("--start", type=_seconds, default=0.0, metavar="SECONDS",
                   help="analyse from this time on (default 0); segment times stay those of the file")
    g.add_argument("--end", type=_seconds, default=None, metavar="SECONDS",
                   help="analyse up to this time (default: the end of the file)")
    g.add_argument("--no-video", dest="video", action="store_false", help="ignore the picture (voice only)")
    g.add_argument("--no-audio", dest="audio", action="store_false", help="ignore the soundtrack (faces only)")
    g.add_argument("--no-persons", dest="persons", action="store_false",
                   help="no tracks, persons or speakers: the scene only (a little faster)")
    g.add_argument("--min-speech", type=share_value, default=MIN_SPEECH, metavar="SHARE",
                   help=f"share of a segment that must be speech for a voice verdict (default {MIN_SPEECH:g})")
    add_component_arguments(p, "component option, repeatable, e.g. fusion.face_weight=0.7 or "
                               "face-detector.min_neighbors=3")
    p.add_argument("--strict", action="store_true",
                   help="a file whose video or sound stops before its end (truncated, damaged) fails "
                        "instead of giving a timeline with a warning and empty segments")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar and no summary")
    from emofuse.batch.run import add_batch_arguments

    add_batch_arguments(p)
    p.set_defaults(run=run)


def _seconds(text: str) -> float:
    """A time in seconds >= 0 (for --start/--end)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected seconds >= 0, got {text}")
    return value


def run(args: argparse.Namespace) -> int:
    from emofuse.errors import EmofuseError
    from emofuse.stdin_input import STDIN

    if STDIN in args.inputs:  # standard input: spooled to a temporary file named stdin first
        import tempfile

        from emofuse.stdin_input import spool_stdin

        if args.inputs.count(STDIN) > 1:
            raise EmofuseError("standard input (-) can be read only once")
        with tempfile.TemporaryDirectory(prefix="emofuse-stdin-") as folder:
            spooled = str(spool_stdin(sys.stdin.buffer, folder))
            args.inputs = [spooled if source == STDIN else source for source in args.inputs]
            return _run(args)
    return _run(args)


def _run(args: argparse.Namespace) -> int:
    from emofuse.errors import EmofuseError
    from emofuse.runner import AnalysisOptions, Pipeline

    from .analyze_outputs import OutputPlan, write_outputs
    from .console import ProgressReporter, print_summary

    if args.smooth:
        from emofuse.smoothing import parse_smoothing

        try:
            parse_smoothing(args.smooth)
        except ValueError as exc:
            raise EmofuseError(f"--smooth: {exc}") from None
    options = AnalysisOptions(
        segment=args.segment, fps=args.fps, detect_fps=args.detect_fps, track=args.track, video=args.video, audio=args.audio,
        smooth=args.smooth, persons=args.persons, min_speech=args.min_speech, start=args.start, end=args.end,
        **component_choices(args, args.component_options),
    )
    if args.persons_sheet and not args.persons:
        raise EmofuseError("--persons draws the persons found: it cannot go with --no-persons")
    if args.by == "person" and not args.persons:
        raise EmofuseError("--by person needs persons: drop --no-persons")
    from emofuse.batch.run import run_batch, wants_batch

    if not args.inputs and not args.from_list:
        raise EmofuseError("nothing to analyse: give files, folders or globs, or --from LIST")
    if wants_batch(args):
        return run_batch(args, options)
    pipeline = Pipeline(options)
    plan = OutputPlan.make(args.inputs, args.output, args.format, args.plot, pipeline.components["exporter"],
                           by=args.by, sheet=args.persons_sheet, annotate=args.annotate, html=args.html,
                           embed=args.embed)
    if args.strict:  # emofuse.damage warns about streams that stop early: make that an error
        import warnings

        from emofuse.errors import DamagedMediaWarning

        warnings.simplefilter("error", DamagedMediaWarning)
    failed = 0
    reporter = ProgressReporter(quiet=args.quiet)
    for source in args.inputs:
        try:
            with reporter.track(Path(source).name) as on_segment:
                timeline = pipeline.analyze(source, on_segment=on_segment)
            written = write_outputs(timeline, plan, source, reporter=reporter)
        except EmofuseError as exc:
            failed += 1
            print(f"emofuse: error: {exc}", file=sys.stderr)
            if getattr(args, "debug", False):
                raise
            continue
        if not args.quiet:
            print_summary(timeline, written)
    if failed and len(args.inputs) > 1:
        print(f"emofuse: {failed} of {len(args.inputs)} files failed", file=sys.stderr)
    return 1 if failed else 0
