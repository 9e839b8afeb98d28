"""`emofuse plugins`: the installed plugins and the components each provides."""
from __future__ import annotations

import argparse
import json


def add_parser(sub) -> None:
    p = sub.add_parser(
        "plugins", help="installed plugins and what they provide",
        description="List the plugins emofuse loaded (built-ins and third-party, from the entry-point "
                    "group 'emofuse') and the components each provides. EMOFUSE_LOAD_PLUGINS=a,b loads "
                    "only these third-party plugins; EMOFUSE_BLOCK_PLUGINS=a,b skips these.",
    )
    p.add_argument("--all", action="store_true", help="also list plugins that failed to load")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from emofuse.plugin_manager import get_components

    from .console import stderr_console
    from .list_cmd import kind_name

    components = get_components()
    rows = [
        {"name": info.name, "distribution": info.distribution, "version": info.version,
         "builtin": info.builtin, "provides": components.provided_by(info.name)}
        for info in components.plugins
    ]
    if args.json:
        doc = {"plugins": rows}
        if args.all:
            doc["failures"] = components.failures
        print(json.dumps(doc, indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title="emofuse plugins")
    for column in ("plugin", "from", "version", "provides"):
        table.add_column(column)
    for row in rows:
        provides = "\n".join(f"{kind_name(kind)}: {', '.join(names)}" for kind, names in row["provides"].items())
        origin = "built-in" if row["builtin"] else row["distribution"]
        table.add_row(row["name"], origin, row["version"], provides or "(nothing)")
    Console().print(table)
    if args.all and components.failures:
        console = stderr_console()
        for failure in components.failures:
            console.print(f"[red]failed:[/] {failure}")
    return 0
