"""`emofuse train face|voice`: train a model on real data."""
from __future__ import annotations

import argparse
import importlib

#: What can be trained -> module with add_train_arguments(parser) and run_train(args).
TRAINABLE = {
    "face": "emofuse.plugins.fer_cnn.commands",
    "voice": "emofuse.plugins.ravdess_cnn.commands",
}


def add_parser(sub) -> None:
    parser = sub.add_parser("train", help="train a model (face: FER2013, voice: RAVDESS)",
                            description="Train one of emofuse's models on real data.")
    targets = parser.add_subparsers(dest="target", metavar="MODEL", required=True)
    for name, module_name in TRAINABLE.items():
        module = importlib.import_module(module_name)
        target = targets.add_parser(name, help=module.TRAIN_HELP, description=module.TRAIN_HELP,
                                    formatter_class=argparse.ArgumentDefaultsHelpFormatter)
        module.add_train_arguments(target)
        target.set_defaults(run=module.run_train)
