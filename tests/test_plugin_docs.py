"""docs/plugins.md and the hook specs stay in sync; every hook is exercised by the suite."""
import inspect
import re
from pathlib import Path

from emofuse import hookspecs

from . import fakes

DOC = (Path(__file__).resolve().parents[1] / "docs" / "plugins.md").read_text()
HOOKS = sorted(hookspecs.HOOK_KINDS)


def test_hook_table_matches_the_specs():
    specs = sorted(name for name, f in vars(hookspecs).items()
                   if callable(f) and hasattr(f, "emofuse_spec"))
    assert specs == HOOKS


def test_every_hook_is_documented_with_its_exact_signature():
    documented = re.findall(r"^### `(\w+)\((.*?)\)`$", DOC, flags=re.M)
    assert sorted(name for name, _ in documented) == HOOKS
    for name, args in documented:
        signature = inspect.signature(getattr(hookspecs, name))
        assert args == ", ".join(signature.parameters), f"{name}: docs say ({args}), spec says {signature}"


def test_every_hook_is_exercised_by_the_fake_plugin():
    implemented = {name for name, f in vars(fakes.Plugin).items() if hasattr(f, "emofuse_impl")}
    assert implemented == set(HOOKS), f"not exercised: {set(HOOKS) - implemented}"
