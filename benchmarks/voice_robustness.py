"""Robustness table of a voice model on RAVDESS: 8-class accuracy per recording condition.

Each file is put under the condition as recorded (silence included), then goes the evaluation's
way: trimmed as the model was trained (`trim` in its metadata: silence, or non-speech with "vad"),
the model's features, per-utterance normalisation, 2 s windows averaged. The shipped `ravdess-cnn`
(LiteRT export when up to date) on its held-out actors 17-20 by default:

    .venv/bin/python benchmarks/voice_robustness.py --data ../shared/data/ravdess --actors 17-20
    .venv/bin/python benchmarks/voice_robustness.py --data ... --model runs/x.keras --conditions clean,white5
    .venv/bin/python benchmarks/voice_robustness.py --trim vad     # another trim than the model's

Features per condition are cached beside the training features ($TMPDIR/emofuse-voice-cache;
they do not depend on the model). Prints accuracy and the drop from clean in points; --json for one object.
`emofuse evaluate voice --condition all` prints the same table (the model's own trim, its --threads).
"""
from __future__ import annotations

import argparse
import json
import sys
import time

from emofuse.plugins.ravdess_cnn.conditions import CONDITIONS
from emofuse.plugins.ravdess_cnn.robustness import format_robustness, parse_conditions, robustness_table


def main(argv=None) -> int:
    from emofuse.plugins.ravdess_cnn.data import parse_actors

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="../shared/data/ravdess")
    p.add_argument("--actors", default="17-20")
    p.add_argument("--model", help="a .keras model (the shipped one when not given)")
    p.add_argument("--backend", default="auto", choices=("auto", "litert", "keras"))
    p.add_argument("--conditions", default=",".join(CONDITIONS))
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--trim", choices=("energy", "vad"), help="trim utterances this way, not the model's")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    started = time.time()
    result = robustness_table(args.data, parse_actors(args.actors), args.model, parse_conditions(args.conditions),
                              args.threads, args.backend, trim=args.trim)
    result["wall_seconds"] = round(time.time() - started, 1)
    if args.json:
        print(json.dumps(result))
    else:
        print(format_robustness(result))
        print(f"wall time {result['wall_seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
