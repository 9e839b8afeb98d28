"""Audio-visual fusion benchmark: does fusing face and voice beat each alone, on data the models never saw?

    python benchmarks/av_benchmark.py                     # build (once), analyse, report
    python benchmarks/av_benchmark.py build               # only render the clips
    python benchmarks/av_benchmark.py record --face-model runs/x.keras
    python benchmarks/av_benchmark.py report [--learned-out plugins/learned_fusion/learned_fusion.json]

Clips: a FER2013 PublicTest face (48x48 upscaled ~5x into a 640x480 grey frame, drifting) shown
for the length of a RAVDESS utterance of the same emotion by an actor the voice model never
trained on (read from the voice model's metadata). Half the actors and half the faces make the
fit half (temperatures, weights, the learned fusion are fitted there); the rest is the held-out
half, where every reported figure comes from. Clips, records and reports go to --cache
(default /tmp/emofuse-avbench), never into the repository. See docs/models.md.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from avbench import clips as C  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data"
DEFAULT_CACHE = Path("/tmp/emofuse-avbench")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def cmd_build(args) -> Path:
    from emofuse.plugins.ravdess_cnn.data import find_ravdess

    index = find_ravdess(Path(args.data) / "ravdess")
    actors, source = C.held_out_voice_actors(args.voice_model, index.actors)
    if not actors:
        raise SystemExit(f"no RAVDESS actor in {args.data} is held out from the voice model ({source})")
    log(f"held-out voice actors {actors} ({source})")
    faces, labels = C.load_public_test(Path(args.data) / "fer2013" / "fer2013.csv.gz")
    specs = C.plan_clips(index.files, labels, actors, seed=args.seed)
    folder = Path(args.cache) / f"seed{args.seed}"
    log(f"rendering {len(specs)} clips into {folder}")
    manifest = C.build_clips(specs, faces, folder, log=log)
    log(f"manifest: {manifest}")
    return folder


def _model_tag(face_model, voice_model) -> str:
    from importlib.resources import files

    parts = []
    for given, package, name in ((face_model, "emofuse.plugins.fer_cnn", "fer_cnn.keras"),
                                 (voice_model, "emofuse.plugins.ravdess_cnn", "ravdess_cnn.keras")):
        path = Path(given) if given else Path(str(files(package) / name))
        stat = path.stat() if path.is_file() else None
        parts.append(f"{path}:{stat.st_size if stat else 0}:{stat.st_mtime_ns if stat else 0}")
    return hashlib.sha1("|".join(parts).encode()).hexdigest()[:10]


def cmd_record(args) -> Path:
    import numpy as np

    from avbench.record import record_clips

    folder = Path(args.cache) / f"seed{args.seed}"
    if not (folder / C.MANIFEST).is_file():
        cmd_build(args)
    manifest = C.read_manifest(folder)
    from emofuse.plugins.ravdess_cnn.data import find_ravdess

    held_out, source = C.held_out_voice_actors(args.voice_model, find_ravdess(Path(args.data) / "ravdess").actors)
    if not set(manifest["actor"]) <= set(held_out):
        log(f"the clips use actors {sorted(set(manifest['actor']))} but the voice model holds out {held_out} "
            f"({source}): rebuilding")
        cmd_build(args)
        manifest = C.read_manifest(folder)
    if args.limit:  # evenly spread over actors and emotions
        manifest = manifest.iloc[np.linspace(0, len(manifest) - 1, min(args.limit, len(manifest))).round().astype(int)]
    out = folder / f"records-{_model_tag(args.face_model, args.voice_model)}{'-limit' if args.limit else ''}.jsonl"
    if out.is_file() and not args.force:
        log(f"reusing {out} (--force to re-analyse)")
        return out
    log(f"analysing {len(manifest)} clips with the real pipeline")
    record_clips(manifest, out, args.face_model, args.voice_model, log=log)
    log(f"records: {out}")
    return out


def cmd_report(args, records_path: Path | None = None) -> dict:
    from avbench import learned as L
    from avbench.record import read_records
    from avbench.report import evaluate, jsonable, markdown, swap_halves

    folder = Path(args.cache) / f"seed{args.seed}"
    if records_path is None:
        candidates = sorted(folder.glob("records-*.jsonl"), key=lambda p: p.stat().st_mtime)
        if args.records:
            records_path = Path(args.records)
        elif candidates:
            records_path = candidates[-1]
        else:
            raise SystemExit(f"no records in {folder}: run `record` first")
    header, records = read_records(records_path)
    log(f"scoring {len(records)} clips from {records_path}")
    res = evaluate(records, header, use_fitted_temperatures=args.fitted_temperatures)
    swapped = evaluate(swap_halves(records), header, use_fitted_temperatures=args.fitted_temperatures)
    res["swapped"] = {k: swapped[k] for k in ("accuracy", "tuned", "calibration", "smoothing", "learned_ships")}
    text = markdown(res)
    print(text)
    (folder / "report.md").write_text(text + "\n")
    (folder / "results.json").write_text(json.dumps(jsonable({k: v for k, v in res.items() if k != "learned"}
                                                             | {"learned": {k: v for k, v in res["learned"].items()}}),
                                                    indent=1))
    lr = res["learned"]
    print(f"\nlearned fusion: l2 {lr['l2']}, ships: {res['learned_ships']}")
    if args.learned_out:
        out = Path(args.learned_out)
        payload = L.to_json(lr["W"], lr["l2"], {
            "fitted_on": f"avbench fit half ({res['counts']['fit']['clips']} clips, actors "
                         f"{res['counts']['fit']['actors']}), seed {args.seed}",
            "test_accuracy": res["accuracy"]["test"]["learned"]["accuracy"],
            "face_model": header.get("face_model"), "voice_model": header.get("voice_model")})
        out.write_text(json.dumps(payload, indent=1) + "\n")
        log(f"wrote {out}")
    log(f"wrote {folder / 'report.md'} and results.json")
    return res


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("step", nargs="?", default="all", choices=("all", "build", "record", "report"))
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="folder with fer2013/ and ravdess/ (default ../shared/data)")
    parser.add_argument("--cache", default=str(DEFAULT_CACHE), help="where clips, records and reports go")
    parser.add_argument("--seed", type=int, default=5, help="seed of the fit/held-out split and the face choice")
    parser.add_argument("--face-model", help="a fer-cnn .keras file (default: the shipped one)")
    parser.add_argument("--voice-model", help="a ravdess-cnn .keras file (default: the shipped one)")
    parser.add_argument("--limit", type=int, help="only this many clips (a dry run)")
    parser.add_argument("--force", action="store_true", help="re-analyse even if records for these models exist")
    parser.add_argument("--records", help="report on this records file (default: the newest)")
    parser.add_argument("--fitted-temperatures", action="store_true",
                        help="fuse scores at the temperatures fitted on the fit half instead of the shipped ones")
    parser.add_argument("--learned-out", help="write the learned fusion's weights (JSON) here")
    args = parser.parse_args(argv)
    if args.step == "build":
        cmd_build(args)
    elif args.step == "record":
        cmd_record(args)
    elif args.step == "report":
        cmd_report(args)
    else:
        cmd_report(args, cmd_record(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
