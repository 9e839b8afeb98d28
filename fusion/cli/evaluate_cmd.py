"""`emofuse evaluate face|voice`: accuracy, macro-F1, per-class table and confusion matrix."""
from __future__ import annotations

import argparse
import importlib

from .train_cmd import TRAINABLE


def add_parser(sub) -> None:
    parser = sub.add_parser("evaluate", help="measure a model on held-out data",
                            description="Evaluate one of emofuse's models on labelled data it never trained on.")
    targets = parser.add_subparsers(dest="target", metavar="MODEL", required=True)
    for name, module_name in TRAINABLE.items():
        module = importlib.import_module(module_name)
        target = targets.add_parser(name, help=module.EVALUATE_HELP, description=module.EVALUATE_HELP,
                                    formatter_class=argparse.ArgumentDefaultsHelpFormatter)
        module.add_evaluate_arguments(target)
        target.set_defaults(run=module.run_evaluate)
