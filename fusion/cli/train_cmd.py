"""`emofuse train face|voice`: train a model on real data."""
from __future__ import annotations

import argparse
import importlib

#: What can be trained and evaluated -> module with add_train_arguments / run_train /
#: add_evaluate_arguments / run_evaluate and the one-line TRAIN_HELP / EVALUATE_HELP.
TRAINABLE = {
    "face": "emofuse.plugins.fer_cnn.commands",
    "voice": "emofuse.plugins.ravdess_cnn.commands",
}


def add_model_commands(sub, action: str, help: str, description: str) -> None:
    """`emofuse ACTION MODEL ...` for every trainable model; ACTION is 'train' or 'evaluate'."""
    parser = sub.add_parser(action, help=help, description=description)
    targets = parser.add_subparsers(dest="target", metavar="MODEL", required=True)
    for name, module_name in TRAINABLE.items():
        module = importlib.import_module(module_name)
        text = getattr(module, f"{action.upper()}_HELP")
        target = targets.add_parser(name, help=text, description=text,
                                    formatter_class=argparse.ArgumentDefaultsHelpFormatter)
        getattr(module, f"add_{action}_arguments")(target)
        target.set_defaults(run=getattr(module, f"run_{action}"))


def add_parser(sub) -> None:
    add_model_commands(sub, "train", "train a model (face: FER2013, voice: RAVDESS)",
                       "Train one of emofuse's models on real data.")
