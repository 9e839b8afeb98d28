"""Actor-disjoint cross-validation of the voice recipe on RAVDESS: 5 folds of 4 actors by default.

Each fold trains `emofuse train voice` on the other actors (same options for every fold) and is
measured on its 4 unseen actors with `emofuse evaluate voice`'s metrics: 8-class accuracy,
macro-F1, 7-class accuracy, and each member's accuracy alone. Folds are resumable (a finished
fold with enough members is reused; checkpoints continue with --resume), and a larger --members
run reuses the members a smaller one trained:

    .venv/bin/python benchmarks/voice_cv.py --data ../shared/data/ravdess --out runs/cv_mfcc \\
        --augment conditions --members 1 --jobs 2
    .venv/bin/python benchmarks/voice_cv.py --data ../shared/data/ravdess --out runs/cv_mfcc \\
        --augment conditions --members 3 --jobs 2          # members 1 and 2 added, member 0 reused

Features are computed once, before the folds start, for all files (the cache is shared by the
folds). Prints a markdown table and writes OUT/cv.json.
"""
from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from emofuse.plugins.ravdess_cnn.conditions import CONDITION_COPIES, STRENGTHS

DEFAULT_FOLDS = "1-4,5-8,9-12,13-16,17-20"


def fold_dir(out: Path, fold: str) -> Path:
    return out / f"fold_{fold}"


def train_command(args, fold: str) -> list[str]:
    """The `emofuse train voice` command line of one fold."""
    d = fold_dir(args.out, fold)
    cmd = [sys.executable, "-m", "emofuse", "train", "voice", "--data", str(args.data), "--val-actors", fold,
           "--epochs", str(args.epochs), "--members", str(args.members), "--seed", str(args.seed),
           "--augment", args.augment, "--features", args.features, "--trim", args.trim,
           "--output", str(d / "ravdess_cnn.keras"),
           "--checkpoint-dir", str(d / "ckpt"), "--resume", "--threads", str(args.threads),
           "--width-scale", str(args.width_scale)]
    if args.cache_dir:
        cmd += ["--cache-dir", str(args.cache_dir)]
    if args.augment == "conditions":
        cmd += ["--condition-copies", str(args.condition_copies)]
        cmd += ["--condition-strength", args.condition_strength] * (args.condition_strength != "table")
    cmd += ["--vtlp"] * args.vtlp
    if args.consistency:
        cmd += ["--consistency", f"{args.consistency:g}"]
    return cmd + ["--tiny"] * args.tiny


def finished(args, fold: str) -> bool:
    """A fold whose model was trained with these options and at least --members members."""
    meta_path = fold_dir(args.out, fold) / "ravdess_cnn.json"
    if not meta_path.exists():
        return False
    meta = json.loads(meta_path.read_text())
    return (meta.get("members") == args.members and meta.get("epochs") == args.epochs
            and meta.get("features", "mfcc") == args.features and meta.get("trim", "energy") == args.trim
            and meta.get("width_scale", 1.0) == args.width_scale and bool(meta.get("vtlp")) == args.vtlp
            and float(meta.get("consistency", 0.0)) == args.consistency
            and (args.augment != "conditions" or (meta.get("condition_copies", CONDITION_COPIES) == args.condition_copies
                                                  and (meta.get("condition_strength") or "table") == args.condition_strength)))


def run_fold(args, fold: str) -> float:
    d = fold_dir(args.out, fold)
    d.mkdir(parents=True, exist_ok=True)
    if finished(args, fold):
        return 0.0
    started = time.time()
    with open(d / "train.log", "a") as log:
        log.write(" ".join(train_command(args, fold)) + "\n")
        log.flush()
        rc = subprocess.call(train_command(args, fold), stdout=log, stderr=subprocess.STDOUT)
    if rc:
        raise SystemExit(f"fold {fold} failed (exit {rc}); see {d / 'train.log'}")
    return time.time() - started


def warm_features(args) -> None:
    """Fill the feature cache for all files before parallel folds would each compute it."""
    from emofuse.plugins.ravdess_cnn.data import find_ravdess
    from emofuse.plugins.ravdess_cnn.train import extractor_for_training, training_features

    index = find_ravdess(args.data)
    training_features(index.files, extractor_for_training(args.features), args.augment, args.condition_copies,
                      cache_dir=args.cache_dir, trim=args.trim, vtlp=args.vtlp, strength=args.condition_strength)


def measure(args, fold: str) -> dict:
    from emofuse.plugins.ravdess_cnn.data import parse_actors
    from emofuse.plugins.ravdess_cnn.evaluate import evaluate_voice_model

    d = fold_dir(args.out, fold)
    meta = json.loads((d / "ravdess_cnn.json").read_text())
    metrics = evaluate_voice_model(args.data, parse_actors(fold), d / "ravdess_cnn.keras", args.cache_dir,
                                   threads=args.threads)
    return {"fold": fold, "n": metrics["n"], "accuracy": metrics["accuracy"], "macro_f1": metrics["macro_f1"],
            "accuracy_7": metrics["accuracy_7"], "members": meta["member_val_accuracy"],
            "train_seconds": meta["wall_seconds"], "confusion": metrics["confusion"]}


def format_table(rows: list[dict]) -> str:
    k = max(len(r["members"]) for r in rows)
    lines = [f"| held-out actors | member 0 alone | {k}-member ensemble | macro-F1 | 7-class accuracy |",
             "|---|--:|--:|--:|--:|"]
    for r in rows:
        lines.append(f"| {r['fold']} | {r['members'][0]:.1%} | {r['accuracy']:.1%} | {r['macro_f1']:.3f} "
                     f"| {r['accuracy_7']:.1%} |")
    mean = {key: sum(r[key] for r in rows) / len(rows) for key in ("accuracy", "macro_f1", "accuracy_7")}
    member0 = sum(r["members"][0] for r in rows) / len(rows)
    lines.append(f"| **mean** | **{member0:.1%}** | **{mean['accuracy']:.1%}** | **{mean['macro_f1']:.3f}** "
                 f"| **{mean['accuracy_7']:.1%}** |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="RAVDESS folder")
    parser.add_argument("--out", type=Path, required=True, help="folder for the fold models, logs and cv.json")
    parser.add_argument("--folds", default=DEFAULT_FOLDS, help=f"held-out actor groups (default {DEFAULT_FOLDS})")
    parser.add_argument("--members", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--augment", choices=("default", "conditions", "none"), default="conditions")
    parser.add_argument("--features", choices=("mfcc", "mfcc+prosody"), default="mfcc")
    parser.add_argument("--trim", choices=("energy", "vad"), default="energy")
    parser.add_argument("--condition-copies", type=int, default=CONDITION_COPIES,
                        help=f"random-condition copies per file with --augment conditions (default {CONDITION_COPIES})")
    parser.add_argument("--condition-strength", choices=tuple(STRENGTHS), default="table",
                        help="how hard the random-condition copies are (train voice --condition-strength)")
    parser.add_argument("--width-scale", type=float, default=1.0, metavar="F",
                        help="every conv block and the dense head F times as wide (default 1: the shipped shape)")
    parser.add_argument("--vtlp", action="store_true", help="train with the formant-warped copies (train voice --vtlp)")
    parser.add_argument("--consistency", type=float, default=0.0, metavar="W",
                        help="train on (original, copy) pairs with this agreement weight (train voice --consistency; "
                             "default 0: off)")
    parser.add_argument("--jobs", type=int, default=1, help="folds trained at once (one TensorFlow thread each)")
    parser.add_argument("--threads", type=int, default=1, help="TensorFlow threads per fold")
    parser.add_argument("--cache-dir", type=Path)
    parser.add_argument("--tiny", action="store_true", help="tiny networks (smoke tests)")
    parser.add_argument("--report-only", action="store_true", help="measure the finished folds, train nothing")
    args = parser.parse_args(argv)
    folds = [f.strip() for f in args.folds.split(",") if f.strip()]
    if not args.data.is_dir():
        parser.error(f"--data {args.data}: not a folder")
    if args.condition_copies < 1:
        parser.error(f"--condition-copies {args.condition_copies}: must be at least 1")
    if args.condition_strength != "table" and args.augment != "conditions":
        parser.error(f"--condition-strength {args.condition_strength} needs --augment conditions")
    if args.consistency < 0:
        parser.error(f"--consistency {args.consistency:g}: must be 0 (off) or above")
    if args.consistency and args.augment == "none":
        parser.error("--consistency pairs files with their augmented copies: it cannot go with --augment none")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    started = time.time()
    if not args.report_only:
        print(f"features for all files ({args.features}, {args.augment}) ...", file=sys.stderr, flush=True)
        warm_features(args)
        print(f"  ready after {time.time() - started:.0f} s", file=sys.stderr, flush=True)
        with ThreadPoolExecutor(max(1, args.jobs)) as pool:
            for fold, seconds in zip(folds, pool.map(lambda f: run_fold(args, f), folds)):
                print(f"  fold {fold}: trained in {seconds:.0f} s", file=sys.stderr, flush=True)
    rows = [measure(args, fold) for fold in folds]
    result = {"options": {k: str(v) for k, v in vars(args).items()}, "rows": rows,
              "mean_accuracy": sum(r["accuracy"] for r in rows) / len(rows),
              "wall_seconds": round(time.time() - started, 1)}
    (args.out / "cv.json").write_text(json.dumps(result, indent=2) + "\n")
    print(format_table(rows))
    print(f"\n8-class accuracy, mean over {len(rows)} folds: {result['mean_accuracy']:.1%} "
          f"({result['wall_seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
