"""`emofuse train voice` and `emofuse evaluate voice` (imports nothing heavy until they run)."""
from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

from emofuse.errors import DatasetError, EmofuseError
from emofuse.extras import require_tensorflow

from .conditions import CONDITION_COPIES, CONDITIONS, STRENGTHS
from .robustness import parse_conditions

TRAIN_HELP = "train the ravdess-cnn voice model on RAVDESS speech (validation actors held out)"
EVALUATE_HELP = "8-class and 7-class accuracy, macro-F1 and confusion matrix of the voice model on RAVDESS"
TRAIN_EXAMPLES = """\
examples:
  emofuse train voice --data ravdess/ -o mine.keras
  emofuse analyze talk.mp4 --set audio-classifier.model=mine.keras     use the trained model
  emofuse train voice --data ravdess/ --combine a.keras b.keras -o ab.keras    one model of both ensembles

Training needs TensorFlow: pip install "emofuse[train]"."""
EVALUATE_EXAMPLES = """\
examples:
  emofuse evaluate voice --data ravdess/ --actors 19-20                the shipped model's held-out actors
  emofuse evaluate voice --data ravdess/ --model mine.keras --report out/
  emofuse evaluate voice --data ravdess/ --actors 17-20 --condition white5     under one recording condition
  emofuse evaluate voice --data ravdess/ --actors 17-20 --condition all        the robustness table"""

DEFAULT_OUTPUT = "ravdess_cnn.keras"


def add_train_arguments(parser) -> None:
    parser.add_argument("--data", required=True, metavar="DIR",
                        help="folder with RAVDESS audio files (searched recursively, any audio extension)")
    parser.add_argument("--val-actors", default="17-20", metavar="LIST",
                        help="actors held out for validation, e.g. 17-20 or 1,5,9 ('' for none)")
    parser.add_argument("--epochs", type=int, default=60, help="training epochs per ensemble member")
    parser.add_argument("--members", type=int, default=3, help="networks (different seeds) averaged into one model")
    parser.add_argument("--seed", type=int, default=7, help="random seed")
    parser.add_argument("--output", default=DEFAULT_OUTPUT, metavar="FILE",
                        help="where to write the .keras model (its .json metadata goes beside it)")
    parser.add_argument("--checkpoint-dir", metavar="D", help="per-epoch checkpoints; OUTPUT with .ckpt when not given")
    parser.add_argument("--resume", action="store_true", help="continue from the checkpoints in --checkpoint-dir")
    parser.add_argument("--no-augment", action="store_true", help="skip the offline speed/pitch/noise copies")
    parser.add_argument("--augment", choices=("default", "conditions", "none"), default=None,
                        help="offline copies: default (speed/pitch/noise20), conditions (random recording "
                             "conditions of the robustness table: noise, room, telephone, MP3/AAC, pitch, tempo), none")
    parser.add_argument("--condition-copies", type=int, default=None, metavar="N",
                        help=f"with --augment conditions: random-condition copies of every file "
                             f"(default {CONDITION_COPIES}; each is one more cached feature set)")
    parser.add_argument("--condition-strength", choices=tuple(STRENGTHS), default=None,
                        help="with --augment conditions: how hard the random-condition copies are: table (noise "
                             "5-25 dB SNR, pitch +-2.5, tempo 0.85-1.15, rooms RT60 0.3-0.8 s; the shipped "
                             "model's), hard (noise 0-20 dB, pitch +-3, tempo 0.8-1.2, rooms 0.3-1.2 s and wetter) or noisy "
                             "(the table's copies with the noise alone at 0-20 dB)")
    parser.add_argument("--features", choices=("mfcc", "mfcc+prosody"), default="mfcc",
                        help="mfcc, or mfcc+prosody (the shipped model's: pitch, voicing, relative energy and pitch "
                             "slope appended to every frame; `analyze` then picks the mfcc-prosody extractor by "
                             "itself)")
    parser.add_argument("--trim", choices=("energy", "vad"), default="energy",
                        help="how utterances are trimmed before their features: energy (edges 35 dB under "
                             "the loudest frame, the shipped model's) or vad (first to last speech of the "
                             "Silero detector, noise-only edges too); evaluation reads it from the model")
    parser.add_argument("--tiny", action="store_true", help="a tiny network and 1 s crops (smoke tests)")
    parser.add_argument("--width-scale", type=float, default=1.0, metavar="F",
                        help="every conv block's channels and the dense head F times as wide (default 1: the "
                             "shipped network, 64/96/128 channels, 128 units)")
    parser.add_argument("--vtlp", action="store_true",
                        help="two more offline copies of every file with the formants moved x0.9 and x1.1 "
                             "(vocal tract length perturbation: other speakers' vocal tracts, pitch kept)")
    parser.add_argument("--consistency", type=float, default=0.0, metavar="W",
                        help="train on pairs of each file's original and an augmented copy, W times the "
                             "Jensen-Shannon divergence of their predictions added to the loss, so the network "
                             "answers the same whatever the recording did (default 0: off; about 2x the time)")
    parser.add_argument("--threads", type=int, default=None, help="cap TensorFlow's CPU threads")
    parser.add_argument("--cache-dir", metavar="D", help="feature cache; $TMPDIR/emofuse-voice-cache when not given")
    parser.add_argument("--combine", nargs="+", metavar="MODEL",
                        help="do not train: put every network of these trained .keras models (same features, "
                             "trim and shape) into one model saved as --output, equal shares, the temperature "
                             "refitted on their validation actors under --data")


#: Options that only shape a training run: --combine trains no network, so giving one is a mistake.
_TRAINING_ONLY = ("val_actors", "epochs", "members", "seed", "checkpoint_dir", "resume", "no_augment", "augment",
                  "condition_copies", "condition_strength", "features", "trim", "tiny", "width_scale", "vtlp",
                  "consistency")


def run_train(args) -> int:
    from emofuse.plugins.litert import export_litert

    from .data import format_actors
    from .model import load_voice_model

    require_tensorflow("emofuse train voice")
    _log_to_stderr()
    if args.epochs < 1 or args.members < 1:
        raise DatasetError("--epochs and --members must be at least 1")
    if not str(args.output).endswith(".keras"):
        raise EmofuseError(f"--output {args.output}: the model file name must end in .keras")
    if args.combine:
        from emofuse.cli.train_cmd import refuse_training_options

        from .combine import combine_voice_models

        refuse_training_options(args, add_train_arguments, _TRAINING_ONLY, "--combine")

        meta = combine_voice_models(args.combine, args.data, args.output, cache_dir=args.cache_dir)
    else:
        meta = _train(args)
    tflite = export_litert(args.output, load_voice_model(args.output))  # float32: the same numbers
    accuracy = meta["val_accuracy"]
    print(f"wrote {tflite} (LiteRT export) and {args.output} (trained on actors {format_actors(meta['train_actors'])}, "
          f"{meta['n_train']} files; {meta['members']} networks; validation actors "
          f"{format_actors(meta['val_actors']) or 'none'}: accuracy {'n/a' if accuracy is None else f'{accuracy:.3f}'}; "
          f"{meta['wall_seconds']:.0f} s)")
    return 0


def _train(args) -> dict:
    from .data import parse_actors
    from .train import train_voice_model

    return train_voice_model(
        args.data, args.output, val_actors=parse_actors(args.val_actors), epochs=args.epochs, seed=args.seed,
        members=args.members, checkpoint_dir=args.checkpoint_dir, resume=args.resume, tiny=args.tiny,
        augment=_augment_mode(args), cache_dir=args.cache_dir, threads=args.threads, features=args.features,
        trim=args.trim, condition_copies=_condition_copies(args), width_scale=args.width_scale, vtlp=args.vtlp,
        consistency=args.consistency, condition_strength=_condition_strength(args),
    )


def add_evaluate_arguments(parser) -> None:
    parser.add_argument("--data", required=True, metavar="DIR",
                        help="folder with RAVDESS audio files (searched recursively, any audio extension)")
    parser.add_argument("--actors", metavar="LIST", help="only these actors, e.g. 17-20; every file found when not given")
    parser.add_argument("--model", metavar="FILE", help="a .keras model with its .json beside it; the shipped one when not given")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the report")
    parser.add_argument("--report", metavar="DIR", help="also write the confusion matrix PNG, report and metrics")
    parser.add_argument("--threads", type=int, default=None, help="cap TensorFlow's CPU threads")
    parser.add_argument("--cache-dir", metavar="D", help="feature cache; $TMPDIR/emofuse-voice-cache when not given")
    parser.add_argument("--condition", metavar="NAME", default=None,
                        help=f"put every file under this recording condition first ({', '.join(CONDITIONS)}); "
                             "a comma list or 'all' prints the robustness table instead: accuracy, macro-F1 and "
                             "drop from clean per condition (--report then writes voice_robustness.csv)")


def run_evaluate(args) -> int:
    from .data import format_actors, parse_actors
    from .evaluate import evaluate_voice_model

    actors = parse_actors(args.actors)
    conditions = parse_conditions(args.condition) if args.condition is not None else ()
    if len(conditions) > 1:
        return _run_robustness(args, actors, conditions)
    condition = conditions[0] if conditions else None
    metrics = evaluate_voice_model(args.data, actors=actors, model=args.model,
                                   cache_dir=args.cache_dir, threads=args.threads, condition=condition)
    _warn_if_trained_on(metrics)
    if args.report:
        from emofuse.evaluation import write_report

        title = (f"ravdess-cnn, actors {format_actors(metrics['actors'])}{_under(condition)}: "
                 f"accuracy {metrics['accuracy']:.1%}")
        for path in write_report(metrics, args.report, "voice", title):
            print(f"wrote {path}", file=sys.stderr)
    if args.json:
        print(json.dumps(metrics))
    else:
        from emofuse.evaluation import format_report

        print(format_report(metrics, f"ravdess-cnn on {metrics['n']} files of actors "
                                     f"{format_actors(metrics['actors'])}{_under(condition)}"))
        print(f"\n7-class accuracy (calm -> neutral): {metrics['accuracy_7']:.3f}")
    return 0


def _run_robustness(args, actors, conditions) -> int:
    """`evaluate voice --condition LIST|all`: the robustness table (text, --json, --report CSV)."""
    from .robustness import format_robustness, robustness_table, write_robustness_csv

    if args.report:
        from emofuse.atomic import check_writable

        check_writable(Path(args.report) / "voice_robustness.csv")
    result = robustness_table(args.data, actors, args.model, conditions, threads=args.threads,
                              cache_dir=args.cache_dir)
    _warn_if_trained_on(result)
    if args.report:
        print(f"wrote {write_robustness_csv(result, Path(args.report) / 'voice_robustness.csv')}", file=sys.stderr)
    if args.json:
        print(json.dumps(result))
    else:
        print(format_robustness(result))
    return 0


def _warn_if_trained_on(result: dict) -> None:
    from .data import format_actors

    overlap = sorted(set(result["actors"]) & set(result["model_train_actors"]))
    if overlap:
        print(f"emofuse: warning: actors {format_actors(overlap)} were in the model's training set; "
              "their accuracy is not a held-out measure", file=sys.stderr)


def _under(condition: str | None) -> str:
    return f" under {condition}" if condition else ""


def _condition_copies(args) -> int:
    """--condition-copies, checked: at least 1, and only with --augment conditions."""
    copies = getattr(args, "condition_copies", None)
    if copies is None:
        return CONDITION_COPIES
    if _augment_mode(args) != "conditions":
        raise EmofuseError("--condition-copies needs --augment conditions")
    if copies < 1:
        raise EmofuseError(f"--condition-copies {copies}: must be at least 1")
    return copies


def _condition_strength(args) -> str:
    """--condition-strength, checked: only with --augment conditions ("table" when not given)."""
    strength = getattr(args, "condition_strength", None)
    if strength is None:
        return "table"
    if _augment_mode(args) != "conditions":
        raise EmofuseError(f"--condition-strength {strength} needs --augment conditions")
    return strength


def _augment_mode(args) -> str:
    if args.no_augment and args.augment not in (None, "none"):
        raise EmofuseError("--no-augment and --augment conflict")
    return "none" if args.no_augment else (args.augment or "default")


def _log_to_stderr() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)

