"""`emofuse list [KIND]`: the components you can choose, by kind."""
from __future__ import annotations

import argparse

from emofuse.errors import EmofuseError

from .options import KIND_FLAGS

_KIND_NAMES = {**KIND_FLAGS, "exporter": "exporter", "exporters": "exporter", "format": "exporter"}


def add_parser(sub) -> None:
    p = sub.add_parser("list", help="components you can choose, by kind",
                       description="List the components of one kind (or all): name, plugin, description.")
    p.add_argument("kind", nargs="?", metavar="KIND",
                   help=f"one of: {', '.join(list(KIND_FLAGS) + ['exporter'])}")
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
            raise EmofuseError(f"unknown kind {args.kind!r}; kinds: {', '.join(list(KIND_FLAGS) + ['exporter'])}")
        kinds = [kind]
    console = Console()
    for kind in kinds:
        registry = components[kind]
        human = registry.human
        table = Table(title=human[:-1] + "ies" if human.endswith("y") else human + "s", title_justify="left")
        for column in ("name", "plugin", "description"):
            table.add_column(column)
        for entry in registry:
            table.add_row(entry.name, entry.plugin, entry.description)
        console.print(table)
    return 0
