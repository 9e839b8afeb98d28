"""`emofuse train face` and `emofuse evaluate face`.

Imported by `emofuse --help`: keep the top of this module free of TensorFlow, pandas and OpenCV.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
import sys
import time
from pathlib import Path

from emofuse.errors import EmofuseError
from emofuse.extras import require_tensorflow

from .distill import DISTILL_TEMPERATURE, DISTILL_WEIGHT

log = logging.getLogger(__name__)

TRAIN_HELP = "train the fer-cnn face model on FER2013 (Kaggle CSV, plain or .gz, or train/ and test/ image folders)"
EVALUATE_HELP = "evaluate the fer-cnn face model on a FER2013 split: accuracy, macro-F1, per-class table, confusion"
TRAIN_EXAMPLES = """\
examples:
  emofuse train face --data fer2013.csv.gz -o mine.keras
  emofuse train face --data fer2013.csv.gz -o mine.keras --resume      continue after a stop
  emofuse train face --data fer2013.csv.gz -o wide.keras --width-scale 1.5 --teacher plugins/fer_cnn/fer_cnn.keras
                                                    distil the shipped ensemble into one wider network
  emofuse analyze clip.mp4 --set visual-classifier.model=mine.keras    use the trained model

Training needs TensorFlow: pip install "emofuse[train]"."""
EVALUATE_EXAMPLES = """\
examples:
  emofuse evaluate face --data fer2013.csv.gz                          the shipped model, PublicTest
  emofuse evaluate face --data fer2013.csv.gz --model mine.keras --split PublicTest --report out/"""

#: Split names `evaluate face --split` accepts; `all` is every labelled face in PATH.
EVALUATE_SPLITS = ("PublicTest", "PrivateTest", "Training", "all")

#: The recipe of the shipped model (runs/face/run.py); the defaults of `emofuse train face`.
DEFAULTS = {"output": "fer_cnn.keras", "epochs": 36, "batch_size": 64, "learning_rate": 2e-3, "seed": 13}
DEFAULTS_DISTILL = {"distill_weight": DISTILL_WEIGHT, "distill_temperature": DISTILL_TEMPERATURE}

#: A network small enough to train an epoch on a few hundred faces in about a second (smoke tests).
TINY = {"widths": (8, 16), "dense": 16}


def network_shape(args: argparse.Namespace) -> dict:
    """The widths and dense units to train: the shipped network's (or --tiny's), times --width-scale."""
    from .model import DENSE, WIDTHS, scaled_shape

    base = TINY if args.tiny else {"widths": WIDTHS, "dense": DENSE}
    return scaled_shape(base["widths"], base["dense"], getattr(args, "width_scale", 1.0))


def _setup(verbose: bool = True) -> None:
    """Log our progress to stderr and keep TensorFlow's C++ start-up chatter down."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if not logging.getLogger().handlers:
        logging.basicConfig(stream=sys.stderr, format="%(asctime)s %(message)s")
    logging.getLogger("emofuse").setLevel(logging.INFO if verbose else logging.WARNING)


def _add_data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, metavar="PATH",
                        help="FER2013 as the Kaggle CSV (emotion,pixels,Usage; plain or .gz) "
                             "or a folder with train/<class>/ and test/<class>/ images")
    parser.add_argument("--skip-bad", action="store_true",
                        help="skip malformed rows or unreadable images (and count them) instead of failing")


# --- train ---------------------------------------------------------------------------------

def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    _add_data_arguments(parser)
    parser.add_argument("--output", "-o", default=DEFAULTS["output"], metavar="FILE",
                        help="where to save the trained model (.keras); its metadata goes beside it as .json")
    parser.add_argument("--epochs", type=int, default=DEFAULTS["epochs"], metavar="N", help="training epochs")
    parser.add_argument("--batch-size", type=int, default=DEFAULTS["batch_size"], metavar="B", help="faces per step")
    parser.add_argument("--learning-rate", type=float, default=DEFAULTS["learning_rate"], metavar="LR",
                        help="peak learning rate (one warm-up epoch, then cosine decay)")
    parser.add_argument("--seed", type=int, default=DEFAULTS["seed"], metavar="S",
                        help="seed of the initial weights, the shuffling and the augmentation")
    parser.add_argument("--checkpoint-dir", metavar="D",
                        help="per-epoch checkpoint folder (default: OUTPUT with the suffix .ckpt)")
    parser.add_argument("--resume", action="store_true", help="continue from the checkpoint in --checkpoint-dir (with another --epochs "
                             "than the run began with, the rest follows the schedule of the new length)")
    parser.add_argument("--init-from", metavar="MODEL",
                        help="start from the weights of this .keras model (a warm restart that continues "
                             "a finished run with a new schedule) instead of random weights")
    parser.add_argument("--cutmix", type=float, default=0.0, metavar="P",
                        help="share of training faces (0-1) that get a box pasted from another face, "
                             "their label mixed by area (CutMix)")
    parser.add_argument("--runtime-crops", type=float, default=0.0, metavar="P",
                        help="share of training faces (0-1) shown, each epoch, as emofuse analyze crops them: "
                             "drawn into a frame at a camera's size, blur and JPEG, cropped where Haar finds "
                             "them (made once on every core, ~7 min of one core for FER2013, kept in the "
                             "checkpoint folder)")
    parser.add_argument("--teacher", metavar="MODEL",
                        help="distil this trained face model (e.g. the shipped ensemble, "
                             "plugins/fer_cnn/fer_cnn.keras) into the new network: each training target "
                             "mixes the true label with the teacher's probabilities for that face")
    parser.add_argument("--distill-weight", type=float, metavar="W",
                        help=f"with --teacher: share of each target taken from the teacher (0-1; "
                             f"default {DISTILL_WEIGHT:g})")
    parser.add_argument("--distill-temperature", type=float, metavar="T",
                        help="with --teacher: the teacher's logits are divided by T before the softmax "
                             "(above 1: softer targets that keep which wrong classes look alike; "
                             f"default {DISTILL_TEMPERATURE:g})")
    parser.add_argument("--mixed-precision", action=argparse.BooleanOptionalAction, default=None,
                        help="train in bfloat16 mixed precision; default: on where it is fast (a GPU, or a "
                             "CPU with AMX or AVX512-BF16), off elsewhere (emulated bfloat16 is many "
                             "times slower than float32)")
    parser.add_argument("--width-scale", type=float, default=1.0, metavar="F",
                        help="every conv block and the dense head F times as wide (default 1: the shipped "
                             "32/64/128/256 channels; 1.5 has about 2.2x the parameters and takes 1.6x the time an epoch)")
    parser.add_argument("--limit", type=int, metavar="N", help="train on the first N training faces only")
    parser.add_argument("--tiny", action="store_true", help="a tiny network (smoke tests; seconds per epoch)")
    parser.add_argument("--combine", nargs="+", metavar="MODEL",
                        help="do not train: average the logits of these trained .keras models in one "
                             "model saved as --output (an ensemble), then calibrate it on PublicTest; "
                             "an ensemble given here adds each of its networks (add a network to the "
                             "shipped model: --combine plugins/fer_cnn/fer_cnn.keras NEW.keras)")
    parser.add_argument("--calibrate-only", action="store_true",
                        help="do not train: fit the temperature of the existing --output model on "
                             "PublicTest and (re)write its metadata")


def _train_command(args: argparse.Namespace) -> str:
    """The `emofuse train face` command line that reproduces this training run (or combination)."""
    parts = ["emofuse", "train", "face", "--data", str(args.data), "--output", str(args.output)]
    if getattr(args, "combine", None):
        parts += ["--combine", *map(str, args.combine)]
    else:
        parts += ["--epochs", str(args.epochs), "--batch-size", str(args.batch_size), "--seed", str(args.seed),
                  "--mixed-precision" if args.mixed_precision else "--no-mixed-precision"]
        if args.learning_rate != DEFAULTS["learning_rate"]:
            parts += ["--learning-rate", str(args.learning_rate)]
        if args.limit:
            parts += ["--limit", str(args.limit)]
        if getattr(args, "init_from", None):
            parts += ["--init-from", str(args.init_from)]
        if getattr(args, "cutmix", 0.0):
            parts += ["--cutmix", str(args.cutmix)]
        if getattr(args, "runtime_crops", 0.0):
            parts += ["--runtime-crops", f"{args.runtime_crops:g}"]
        if getattr(args, "width_scale", 1.0) != 1.0:
            parts += ["--width-scale", f"{args.width_scale:g}"]
        if getattr(args, "teacher", None):
            parts += ["--teacher", str(args.teacher), "--distill-weight", f"{args.distill_weight:g}",
                      "--distill-temperature", f"{args.distill_temperature:g}"]
    parts += [flag for flag, on in (("--tiny", args.tiny), ("--skip-bad", args.skip_bad)) if on]
    return shlex.join(parts)


#: Options that only shape a training run: with --combine or --calibrate-only no network is
#: trained, so giving one of them is a mistake worth saying.
_TRAINING_ONLY = ("epochs", "batch_size", "learning_rate", "seed", "init_from", "cutmix", "runtime_crops",
                  "width_scale", "limit",
                  "resume", "tiny", "mixed_precision", "teacher", "distill_weight", "distill_temperature")


def _refuse_training_options(args: argparse.Namespace) -> None:
    """A one-line error when --combine or --calibrate-only comes with options only training reads."""
    from emofuse.cli.train_cmd import refuse_training_options

    mode = "--combine" if getattr(args, "combine", None) else "--calibrate-only" if args.calibrate_only else None
    if mode:
        refuse_training_options(args, add_train_arguments, _TRAINING_ONLY, mode)


def _check_distillation(args: argparse.Namespace) -> None:
    """One-line errors for distillation options that cannot work, before any data is read."""
    teacher = getattr(args, "teacher", None)
    for name, default in DEFAULTS_DISTILL.items():
        if getattr(args, name, None) is None:
            setattr(args, name, default)
        elif teacher is None:
            raise EmofuseError(f"--{name.replace('_', '-')} needs --teacher MODEL")
    if teacher is None:
        return
    if not Path(teacher).is_file():
        raise EmofuseError(f"--teacher {teacher}: no such model file")
    if not 0.0 <= args.distill_weight <= 1.0:
        raise EmofuseError(f"--distill-weight must be between 0 and 1, got {args.distill_weight:g}")
    if args.distill_temperature <= 0:
        raise EmofuseError(f"--distill-temperature must be above 0, got {args.distill_temperature:g}")


def run_train(args: argparse.Namespace) -> int:
    require_tensorflow("emofuse train face")
    _setup()
    _refuse_training_options(args)
    for name in ("epochs", "batch_size", "limit"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise EmofuseError(f"--{name.replace('_', '-')} must be at least 1, got {value}")
    for name in ("cutmix", "runtime_crops"):
        if not 0.0 <= getattr(args, name, 0.0) <= 1.0:
            raise EmofuseError(f"--{name.replace('_', '-')} must be between 0 and 1, got {getattr(args, name)}")
    _check_distillation(args)
    width_scale = getattr(args, "width_scale", 1.0)
    if width_scale <= 0:
        raise EmofuseError(f"--width-scale must be above 0, got {width_scale:g}")
    if width_scale != 1.0 and getattr(args, "init_from", None):
        raise EmofuseError("--width-scale cannot be used with --init-from: the network's shape comes from "
                           f"{args.init_from}")
    if getattr(args, "mixed_precision", False) is None and not (args.combine or args.calibrate_only):
        from .precision import bfloat16_is_fast

        args.mixed_precision = bfloat16_is_fast()
        log.info("bfloat16 mixed precision %s (this machine %s fast bfloat16; --[no-]mixed-precision decides)",
                 "on" if args.mixed_precision else "off", "has" if args.mixed_precision else "lacks")
    if args.combine:
        from .train import combine_models

        combine_models(args.combine, args.output)
        log.info("ensemble of %d models saved to %s", len(args.combine), args.output)
        history = {}
    elif not args.calibrate_only:
        from .train import train_face_model

        started = time.time()
        history = train_face_model(
            args.data, args.output, epochs=args.epochs, batch_size=args.batch_size,
            learning_rate=args.learning_rate, seed=args.seed, checkpoint_dir=args.checkpoint_dir,
            resume=args.resume, mixed_precision=args.mixed_precision, limit=args.limit,
            skip_bad=args.skip_bad, init_from=args.init_from,
            cutmix_probability=args.cutmix, runtime_crops=args.runtime_crops, teacher=args.teacher,
            distill_weight=args.distill_weight, distill_temperature=args.distill_temperature, **network_shape(args),
        )
        log.info("trained in %.0f s; model saved to %s", time.time() - started, args.output)
    else:  # the history of the run that made the model, when its checkpoint is still there
        state = Path(args.checkpoint_dir or Path(args.output).with_suffix(".ckpt")) / "state.json"
        history = json.loads(state.read_text()).get("history", {}) if state.is_file() else {}
    members = member_records(args.combine) if args.combine else None
    metadata = calibrate(args.output, args.data, _train_command(args), skip_bad=args.skip_bad,
                         history=history, members=members)
    log.info("temperature %.3f; metadata saved to %s", metadata["temperature"],
             Path(args.output).with_suffix(".json"))
    export_face_litert(args.output, args.data, skip_bad=args.skip_bad)
    return 0


def export_face_litert(model_path: str | Path, data: str | Path | None = None, skip_bad: bool = False) -> dict:
    """Write the LiteRT export of a face model (int8 weights, `emofuse.plugins.litert`) and, with
    `data` holding PublicTest faces, record its PublicTest accuracy (default views) beside the Keras one."""
    from emofuse.plugins.litert import RECORD_KEY, LiteRTModel, export_litert, litert_available

    from .artifacts import load_face_model, read_metadata, write_metadata
    from .predict import predict_logits

    out = export_litert(model_path, load_face_model(model_path, "float32"), quantize=True)
    metadata = read_metadata(model_path)
    test = None
    if data is not None:
        from .data import load_fer2013

        test = load_fer2013(data, skip_bad=skip_bad).splits.get("PublicTest")
    if test is not None:
        if litert_available():
            logits = predict_logits(LiteRTModel(out), test.images)
            accuracy = round(float((logits.argmax(axis=1) == test.labels).mean()), 4)
            metadata[RECORD_KEY]["public_test_accuracy"] = accuracy
            write_metadata(model_path, metadata)
            log.info("LiteRT export %s: PublicTest accuracy %.4f (default views)", out, accuracy)
        else:
            log.warning("LiteRT export %s not scored: the ai-edge-litert package is not installed", out)
    else:
        log.info("LiteRT export %s", out)
    return metadata


def member_records(paths) -> list[dict]:
    """Provenance of the networks combined into an ensemble: each file's name, the training
    record and the PublicTest accuracy of the metadata beside it (when it has one); an ensemble
    among `paths` contributes the records of its networks."""
    from .artifacts import read_metadata

    records = []
    for path in paths:
        meta = read_metadata(path)
        nested = meta.get("training", {}).get("members")
        if nested:  # an ensemble: the records of its own networks, in the order they are combined
            records.extend(nested)
            continue
        record = {"file": str(path), "training": meta.get("training", {})}
        if "public_test" in meta:
            record["public_test_accuracy"] = meta["public_test"].get("accuracy")
        records.append(record)
    return records


def calibrate(model_path: str | Path, data: str | Path, command: str, skip_bad: bool = False,
              history: dict | None = None, members: list[dict] | None = None) -> dict:
    """Fit the model's temperature on the PublicTest faces of `data` and write its metadata.

    Without PublicTest faces the temperature stays 1.0 (uncalibrated). `history` is the Keras
    training history (for the epoch count and the final training accuracy); `members`, for an
    ensemble, the provenance of its networks (`member_records`).
    """
    from emofuse.evaluation import evaluate_predictions
    from emofuse.labels import LABELS

    from .artifacts import load_face_model, write_metadata
    from .data import load_fer2013
    from .predict import (ZOOM, checked_face_view, describe_views, fit_temperature, negative_log_likelihood,
                          predict_view_logits)
    from .preprocess import FACE_SIZE

    dataset = load_fer2013(data, skip_bad=skip_bad)
    model = load_face_model(model_path)
    metadata = {
        "name": "fer-cnn",
        "labels": list(LABELS),
        "input": {"height": FACE_SIZE, "width": FACE_SIZE, "channels": 1, "scale": "gray pixel / 255"},
        "outputs": "logits",
        "parameters": int(model.count_params()),
        "views": {"flip_average": True, "zoom_average": True, "face_view": checked_face_view(None, True),
                  "zoom": ZOOM},
        "temperature": 1.0,
        "training": {"command": command, "data": Path(data).name,
                     "training_faces": len(dataset.splits["Training"]) if "Training" in dataset.splits else 0},
    }
    if members:
        metadata["training"]["members"] = members
    if history:
        metadata["training"]["epochs_run"] = len(history.get("loss", []))
        metadata["training"]["final_train_accuracy"] = round(history["accuracy"][-1], 4) if history.get("accuracy") else None
    test = dataset.splits.get("PublicTest")
    if test is None:
        log.warning("%s has no PublicTest faces: the temperature stays 1.0 (uncalibrated)", data)
    else:
        each = predict_view_logits(model, test.images, face_view=True)  # face, zoom, mirrored face, mirrored zoom
        views = each[[1, 3]].mean(axis=0)  # the plugin's default: the zoom and its mirror
        flipped = each[[0, 2]].mean(axis=0)
        plain = each[0]
        temperature = fit_temperature(views, test.labels)
        scores = evaluate_predictions(test.labels, views.argmax(axis=1), LABELS)
        metadata["temperature"] = temperature
        metadata["temperature_fitted_on"] = (f"PublicTest, logits averaged over the default "
                                             f"{describe_views(True, True)} (minimum NLL)")
        metadata["public_test"] = {
            "n": len(test),
            "accuracy": round(scores["accuracy"], 4),
            "accuracy_flip_only": round(float((flipped.argmax(axis=1) == test.labels).mean()), 4),
            "accuracy_single_view": round(float((plain.argmax(axis=1) == test.labels).mean()), 4),
            "macro_f1": round(scores["macro_f1"], 4),
            "nll_uncalibrated": round(negative_log_likelihood(views, test.labels), 4),
            "nll_calibrated": round(negative_log_likelihood(views, test.labels, temperature), 4),
        }
        log.info("PublicTest: accuracy %.4f (face + mirror %.4f, face only %.4f), macro-F1 %.4f, temperature %.3f",
                 scores["accuracy"], metadata["public_test"]["accuracy_flip_only"],
                 metadata["public_test"]["accuracy_single_view"], scores["macro_f1"], temperature)
    write_metadata(model_path, metadata)
    return metadata


# --- evaluate ------------------------------------------------------------------------------

def add_evaluate_arguments(parser: argparse.ArgumentParser) -> None:
    _add_data_arguments(parser)
    parser.add_argument("--split", choices=EVALUATE_SPLITS, default="PublicTest",
                        help="which faces to score; `all` is every labelled face in PATH, Training rows "
                             "included (meant for a dataset the model never trained on)")
    parser.add_argument("--model", metavar="FILE", help="a .keras face model (default: the shipped fer_cnn.keras)")
    parser.add_argument("--json", action="store_true", help="print one JSON object with all metrics on stdout")
    parser.add_argument("--report", metavar="DIR",
                        help="write the confusion heat map (PNG), the text report and the metrics JSON into DIR")
    parser.add_argument("--no-flip", action="store_true", help="do not average over the mirror images")
    parser.add_argument("--no-zoom", action="store_true",
                        help="no zoomed view: score the face as it is (and its mirror) instead")
    from .predict import ZOOM

    parser.add_argument("--zoom", type=float, default=ZOOM, metavar="SHARE",
                        help="share of each face the zoomed view keeps (default %(default)s: 46 of 48 pixels; "
                             "0.9: 44)")
    parser.add_argument("--face-view", action=argparse.BooleanOptionalAction, default=None,
                        help="also score the face as it is (default: only with --no-zoom; the plugin's "
                             "default views are the zoom and its mirror; --face-view --zoom 0.9 gives the "
                             "4 views shipped before 2026-12-06)")
    parser.add_argument("--precision", choices=("float32", "bfloat16", "auto"), default="float32",
                        help="arithmetic of the network (default float32; the plugin uses auto: bfloat16 "
                             "where the CPU computes it natively)")
    from emofuse.plugins.litert import BACKENDS

    parser.add_argument("--backend", choices=BACKENDS, default="auto",
                        help="run the network with LiteRT (the model's .tflite export, int8 weights) or "
                             "Keras (with --precision); auto, the plugin's default: LiteRT when installed "
                             "and the export is up to date")


def run_evaluate(args: argparse.Namespace) -> int:
    from .predict import ZOOM, checked_face_view, describe_views

    try:
        face_view = checked_face_view(args.face_view, not args.no_zoom, args.zoom)
    except ValueError as error:
        raise EmofuseError(f"--zoom/--no-zoom/--no-face-view: {error}") from None
    _setup(verbose=not args.json)
    from emofuse.evaluation import evaluate_predictions, format_report, write_report
    from emofuse.labels import LABELS

    from .artifacts import load_face_model, read_metadata, resolve_model_path, resolve_precision
    from .data import load_fer2013
    from .predict import expected_calibration_error, negative_log_likelihood, predict_logits, softmax

    model_path = resolve_model_path(args.model)
    dataset = load_fer2013(args.data, skip_bad=args.skip_bad)
    faces = dataset.split(args.split)
    if args.split in ("Training", "all") and "Training" in dataset.splits:
        log.warning("scoring the %d Training faces too (the model may have trained on them)",
                    len(dataset.splits["Training"]))
    temperature = float(read_metadata(model_path).get("temperature", 1.0))
    from emofuse.plugins.litert import LiteRTModel, choose_backend, litert_path

    backend = choose_backend(args.backend, model_path)
    if backend == "litert":
        model = LiteRTModel(litert_path(model_path))
        precision = "int8 weights (LiteRT)"
    else:
        model, precision = load_face_model(model_path, args.precision), resolve_precision(args.precision)
    started = time.time()
    logits = predict_logits(model, faces.images, flip_average=not args.no_flip, zoom_average=not args.no_zoom,
                            face_view=face_view, zoom=args.zoom)
    elapsed = time.time() - started
    metrics = evaluate_predictions(faces.labels, logits.argmax(axis=1), LABELS)
    metrics.update({
        "model": str(model_path),
        "data": str(args.data),
        "split": args.split,
        "flip_average": not args.no_flip,
        "zoom_average": not args.no_zoom,
        "zoom": args.zoom,
        "face_view": face_view,
        "backend": backend,
        "precision": precision,
        "skipped": dataset.skipped,
        "temperature": temperature,
        "nll": negative_log_likelihood(logits, faces.labels, temperature),
        "ece": expected_calibration_error(softmax(logits, temperature), faces.labels),
        "seconds": round(elapsed, 3),
    })
    views = describe_views(not args.no_flip, not args.no_zoom, face_view, args.zoom)
    title = f"fer-cnn on {Path(args.data).name} {args.split} ({metrics['n']} faces, {views})"
    if args.report:
        name = f"fer_cnn_{args.split}" + ("_noflip" if args.no_flip else "") + ("_nozoom" if args.no_zoom else "")
        name += "_face" if face_view and not args.no_zoom else ""
        name += f"_zoom{round(100 * args.zoom)}" if args.zoom != ZOOM else ""
        for path in write_report(metrics, args.report, name, title):
            log.info("wrote %s", path)
    if args.json:
        print(json.dumps(metrics))
    else:
        print(format_report(metrics, title))
        print(f"\nskipped entries: {dataset.skipped}   temperature {temperature:.3f}   "
              f"NLL {metrics['nll']:.4f}   ECE {metrics['ece']:.4f}   {len(faces) / max(elapsed, 1e-9):.0f} faces/s")
    return 0
