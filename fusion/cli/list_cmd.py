"""`emofuse list [KIND]`: the components you can choose, by kind."""
from __future__ import annotations

import argparse

from emofuse.errors import EmofuseError

from .options import KIND_FLAGS

#: The kind names users type (`emofuse list KIND`, `--set KIND.OPTION=...`) and show in every listing.
KIND_NAMES = (*KIND_FLAGS, "exporter", "media-source")
_KIND_NAMES = {**KIND_FLAGS, "exporter": "exporter", "exporters": "exporter", "format": "exporter",
               "media-source": "media_source"}


def kind_name(kind: str) -> str:
    """The name users type for the registry key `kind` ('media_source' -> 'media-source')."""
    return next((name for name, k in _KIND_NAMES.items() if k == kind and name in KIND_NAMES),
                kind.replace("_", "-"))


def add_parser(sub) -> None:
    p = sub.add_parser("list", help="components you can choose, by kind, and their options",
                       description="List the components of one kind (or all): name, plugin, description. "
                                   "With --options, each component's options (set them with "
                                   "--set KIND.OPTION=VALUE): name, type, default and what it does.",
                       epilog="examples:\n  emofuse list\n  emofuse list face-detector --options\n"
                              "  emofuse list visual-classifier --options     the model= option takes a "
                              "model from `emofuse train face`",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("kind", nargs="?", metavar="KIND",
                   help=f"one of: {', '.join(KIND_NAMES)}")
    p.add_argument("--options", action="store_true", help="also list each component's options")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from emofuse.plugin_manager import get_components

    components = get_components()
    kinds = list(components.registries)
    if args.kind:
        kind = _KIND_NAMES.get(args.kind) or (args.kind if args.kind in components.registries else None)
        if kind is None:
            raise EmofuseError(f"unknown kind {args.kind!r}; kinds: {', '.join(KIND_NAMES)}")
        kinds = [kind]
    console = Console()
    for kind in kinds:
        registry = components[kind]
        human = registry.human
        plural = human[:-1] + "ies" if human.endswith("y") else human + "s"
        table = Table(title=f"{plural} ({kind_name(kind)})", title_justify="left")
        for column in ("name", "plugin", "description"):
            table.add_column(column)
        for entry in registry:
            table.add_row(entry.name, entry.plugin, entry.description)
        console.print(table)
        if args.options:
            for entry in registry:
                console.print(options_table(registry, entry.name, kind_name(kind)))
    return 0


def options_table(registry, name: str, flag: str):
    """One component's options as a rich renderable: a title line, then a table (option, type,
    default, help), or a line saying it has none or does not declare them."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    from emofuse.option_check import format_default

    known = registry.options(name)
    how = ("emofuse live --set camera.OPTION=VALUE or mic.OPTION=VALUE" if flag == "media-source"
           else f"--set {flag}.OPTION=VALUE")
    if known is None:
        return Text(f"{flag} {name}: any options (its factory takes **options; see its documentation)")
    if not known:
        return Text(f"{flag} {name}: no options")
    table = Table(show_edge=False)
    for column in ("option", "type", "default", "help"):
        table.add_column(column, overflow="fold")
    for option in known:
        table.add_row(option.name, option.type or "any", format_default(option), option.help)
    return Group(Text(f"\n{flag} {name} ({how}):", style="bold"), table)
