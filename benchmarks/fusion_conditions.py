"""Fusion across conditions: does the default fusion beat the better single modality whatever
the recording conditions, on data the models never trained on?

    python benchmarks/fusion_conditions.py                 # render, record (once), report
    python benchmarks/fusion_conditions.py record          # only render and record the evidence
    python benchmarks/fusion_conditions.py report          # score every strategy from the cache
    python benchmarks/fusion_conditions.py --clips 40      # a quick run
    python benchmarks/fusion_conditions.py --cache /tmp/fb-candidate \
        --set audio-classifier.model=runs/x/ravdess_cnn.keras   # a candidate model, in its own cache

Clips pair a FER2013 PublicTest face with a RAVDESS utterance of the same emotion by the voice
model's unseen actors (17-20), under the conditions of benchmarks/fusionbench/conditions.py,
plus the CREMA-D talking-face clips of ../shared/data/crema-d. The real pipeline analyses each
face style and each voice style once; the evidence it hands to the fusion hook is cached
(--cache, default /tmp/emofuse-fusionbench, never in the repository) and every strategy is
scored from it. Fitting: on one half of the clips (actor- and face-disjoint), reported on the
other, and the reverse; also leaving the reported condition out of the fit. See docs/models.md
"Fusion across conditions".
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from emofuse.cli.options import parse_component_options  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data"
DEFAULT_CACHE = Path("/tmp/emofuse-fusionbench")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def folder_of(args) -> Path:
    return Path(args.cache) / f"seed{args.seed}-clips{args.clips}"


def cmd_record(args) -> Path:
    from fusionbench.conditions import CONDITIONS, styles
    from fusionbench.record import Recorder, plan

    folder = folder_of(args)
    t0 = time.time()
    specs, faces = plan(Path(args.data), args.clips, args.seed)
    log(f"{len(specs)} clips (actors {sorted({s.actor for s in specs})}) into {folder}")
    recorder = Recorder(specs, faces, folder, force=args.force, log=log, component_options=args.component_options)
    face_styles, voice_styles = styles(CONDITIONS)
    for style in face_styles:
        recorder.evidence("face", style)
    for style in voice_styles:
        recorder.evidence("voice", style)
    crema = Path(args.data) / "crema-d"
    if crema.is_dir():
        recorder.crema(crema)
        log("  crema-d: recorded")
    log(f"recorded in {time.time() - t0:.0f} s")
    return folder


def cmd_report(args) -> dict:
    from fusionbench.record import results_folder
    from fusionbench.report import run_report

    t0 = time.time()
    results = results_folder(folder_of(args), args.component_options)
    result = run_report(results, log=log)
    log(f"scored in {time.time() - t0:.0f} s; report: {results / 'report.md'}")
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("step", nargs="?", default="all", choices=("all", "record", "report"))
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="folder with fer2013/, ravdess/, crema-d/")
    parser.add_argument("--cache", default=str(DEFAULT_CACHE), help="where media, evidence and reports go")
    parser.add_argument("--seed", type=int, default=5, help="seed of the clip plan (the audio-visual benchmark's)")
    parser.add_argument("--clips", type=int, default=160, help="clips per condition, spread over actors and emotions")
    parser.add_argument("--force", action="store_true", help="record again even if the cached evidence is current")
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="KIND.OPTION=VALUE",
                        help="record with this component option, as `emofuse analyze --set` (e.g. "
                             "audio-classifier.model=M to measure a candidate model before shipping it); "
                             "its evidence and report go to CACHE/<plan>/candidates/<tag>/, beside the shipped "
                             "models' (the rendered clips are shared)")
    args = parser.parse_args(argv)
    try:
        args.component_options = parse_component_options(args.sets)
    except argparse.ArgumentTypeError as exc:
        parser.error(str(exc))
    for kind, options in args.component_options.items():
        model = options.get("model")
        if isinstance(model, str) and not Path(model).is_file():
            parser.error(f"--set {kind.replace('_', '-')}.model={model}: no such file")
    if args.step in ("all", "record"):
        cmd_record(args)
    if args.step in ("all", "report"):
        cmd_report(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
