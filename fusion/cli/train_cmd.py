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


class _HelpWithDefaults(argparse.HelpFormatter):
    """Adds '(default: X)' to an option's help only when it has a default worth saying (not
    None or False, not a required option); a text of several lines (the examples) keeps them."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if "\n" in text:
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if ("%(default)" in text or action.required or default in (None, False, argparse.SUPPRESS)
                or not action.option_strings):
            return text
        return text + " (default: %(default)s)"


def add_model_commands(sub, action: str, help: str, description: str) -> None:
    """`emofuse ACTION MODEL ...` for every trainable model; ACTION is 'train' or 'evaluate'.
    A module's optional `TRAIN_EXAMPLES` / `EVALUATE_EXAMPLES` text becomes the epilog."""
    parser = sub.add_parser(action, help=help, description=description)
    targets = parser.add_subparsers(dest="target", metavar="MODEL", required=True)
    for name, module_name in TRAINABLE.items():
        module = importlib.import_module(module_name)
        text = getattr(module, f"{action.upper()}_HELP")
        target = targets.add_parser(name, help=text, description=text,
                                    epilog=getattr(module, f"{action.upper()}_EXAMPLES", None),
                                    formatter_class=_HelpWithDefaults)
        getattr(module, f"add_{action}_arguments")(target)
        target.set_defaults(run=getattr(module, f"run_{action}"))


def add_parser(sub) -> None:
    add_model_commands(sub, "train", "train a model (face: FER2013, voice: RAVDESS)",
                       "Train one of emofuse's models on real data.")
