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


def refuse_training_options(args: argparse.Namespace, add_arguments, names: tuple[str, ...], mode: str) -> None:
    """A one-line error naming the options of `names` given away from the default that
    `add_arguments` gives them: `mode` (e.g. --combine) trains no network, so they would be ignored."""
    from emofuse.errors import EmofuseError

    defaults = argparse.ArgumentParser(add_help=False)
    add_arguments(defaults)
    given = [f"--{name.replace('_', '-')}" for name in names
             if getattr(args, name, defaults.get_default(name)) != defaults.get_default(name)]
    if given:
        raise EmofuseError(f"{', '.join(given)}: no effect with {mode} (no network is trained); leave "
                           f"{'it' if len(given) == 1 else 'them'} out")


class _HelpWithDefaults(argparse.HelpFormatter):
    """Adds '(default: X)' to an option's help only when it has a default worth saying (not
    None or False, not a required option) and its help does not say it already ("(default ...");
    a text of several lines (the examples) keeps them."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if "\n" in text:
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if ("%(default)" in text or action.required or default in (None, False, argparse.SUPPRESS)
                or not action.option_strings or f"default {default}" in text or "(default" in text):
            return text
        return text + " (default: %(default)s)"


def add_model_commands(sub, action: str, help: str, description: str) -> None:
    """`emofuse ACTION MODEL ...` for every trainable model; ACTION is 'train' or 'evaluate'.
    A module's optional `TRAIN_EXAMPLES` / `EVALUATE_EXAMPLES` text becomes the epilog; the
    `emofuse ACTION` lines of all of them make the epilog of `emofuse ACTION --help`."""
    modules = {name: importlib.import_module(module_name) for name, module_name in TRAINABLE.items()}
    examples = {name: getattr(module, f"{action.upper()}_EXAMPLES", None) for name, module in modules.items()}
    parser = sub.add_parser(action, help=help, description=description, formatter_class=_HelpWithDefaults,
                            epilog=_overview(action, [text for text in examples.values() if text]))
    targets = parser.add_subparsers(dest="target", metavar="MODEL", required=True)
    for name, module in modules.items():
        text = getattr(module, f"{action.upper()}_HELP")
        target = targets.add_parser(name, help=text, description=text, epilog=examples[name],
                                    formatter_class=_HelpWithDefaults)
        getattr(module, f"add_{action}_arguments")(target)
        target.set_defaults(run=getattr(module, f"run_{action}"))


def _overview(action: str, examples: list[str]) -> str:
    """The `emofuse ACTION ...` example lines of every model, and where to read more."""
    lines = [line for text in examples for line in text.splitlines() if line.startswith(f"  emofuse {action} ")]
    notes = {line for text in examples for line in text.splitlines() if line.startswith("Training needs")}
    return "\n".join(["examples:", *lines, "", f"emofuse {action} MODEL --help: the options of one model.",
                      *sorted(notes)])


def add_parser(sub) -> None:
    add_model_commands(sub, "train", "train a model (face: FER2013, voice: RAVDESS)",
                       "Train one of emofuse's models on real data.")
