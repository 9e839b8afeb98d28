"""`emofuse evaluate face|voice`: accuracy, macro-F1, per-class table and confusion matrix."""
from __future__ import annotations

from .train_cmd import add_model_commands


def add_parser(sub) -> None:
    add_model_commands(sub, "evaluate", "measure a model on held-out data",
                       "Evaluate one of emofuse's models on labelled data it never trained on.")
