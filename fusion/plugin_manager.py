"""Load built-in and third-party plugins and build one registry per component kind.

Third-party plugins arrive through the entry-point group `emofuse`. Environment switches:
`EMOFUSE_LOAD_PLUGINS=a,b` loads only these third-party plugins (empty: none),
`EMOFUSE_BLOCK_PLUGINS=a,b` skips these, `EMOFUSE_STRICT_PLUGINS=1` turns a broken plugin
into an error instead of a warning.
"""
from __future__ import annotations

import dataclasses
import importlib
import importlib.metadata as md
import os
import warnings
from collections.abc import Mapping

import pluggy

from . import hookspecs
from .components import KINDS
from .errors import EmofuseError, PluginError
from .registry import Registry

ENTRY_POINT_GROUP = "emofuse"


class PluginWarning(UserWarning):
    """A third-party plugin could not be loaded or registered; emofuse goes on without it."""


@dataclasses.dataclass(frozen=True)
class PluginInfo:
    """A loaded plugin: its name, the distribution and version it came from, and whether it is built in."""

    name: str
    distribution: str
    version: str
    builtin: bool


@dataclasses.dataclass
class Components:
    """Everything the plugins registered: a registry per kind, the plugins, and the failures."""

    registries: dict[str, Registry]
    plugins: list[PluginInfo]
    failures: list[str]

    def __getitem__(self, kind: str) -> Registry:
        return self.registries[kind]

    def provided_by(self, plugin: str) -> dict[str, list[str]]:
        """Kind -> component names that `plugin` registered."""
        out: dict[str, list[str]] = {}
        for kind, registry in self.registries.items():
            names = [e.name for e in registry if e.plugin == plugin]
            if names:
                out[kind] = names
        return out


def _split_env(name: str) -> set[str] | None:
    value = os.environ.get(name)
    if value is None:
        return None
    return {part.strip() for part in value.split(",") if part.strip()}


def _strict() -> bool:
    return os.environ.get("EMOFUSE_STRICT_PLUGINS", "").lower() in {"1", "true", "yes"}


class _Reported(PluginError):
    """A failure already worded for the user, raised in strict mode: passed on as it is."""


def _fail(message: str, failures: list[str]) -> None:
    if _strict():
        raise _Reported(message)
    failures.append(message)
    warnings.warn(message, PluginWarning, stacklevel=3)


def _one_line(exc: BaseException) -> str:
    """pluggy's validation errors span several lines: joined with '; '."""
    return "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())


def _builtin_modules() -> tuple[str, ...]:
    from emofuse.plugins import BUILTIN_PLUGIN_MODULES

    return BUILTIN_PLUGIN_MODULES


def make_plugin_manager(extra_plugins: Mapping[str, object] | None = None) -> tuple[pluggy.PluginManager, list[PluginInfo], list[str]]:
    """A plugin manager with the built-ins, the entry points allowed by the environment, and `extra_plugins`."""
    pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
    pm.add_hookspecs(hookspecs)
    infos: list[PluginInfo] = []
    failures: list[str] = []
    from emofuse import __version__

    for module_name in _builtin_modules():
        short = module_name.rsplit(".", 1)[-1]
        pm.register(importlib.import_module(module_name), name=short)
        infos.append(PluginInfo(short, "emofuse", __version__, builtin=True))

    only, blocked = _split_env("EMOFUSE_LOAD_PLUGINS"), _split_env("EMOFUSE_BLOCK_PLUGINS") or set()
    for ep in md.entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in blocked or (only is not None and ep.name not in only):
            continue
        dist = ep.dist.name if ep.dist else "?"
        version = ep.dist.version if ep.dist else "?"
        try:
            plugin = ep.load()
        except Exception as exc:  # a broken plugin must not take emofuse down
            _fail(f"plugin {ep.name} ({dist} {version}) failed to import: {type(exc).__name__}: {exc}", failures)
            continue
        if pm.get_plugin(ep.name) is not None or pm.is_registered(plugin):
            _fail(f"plugin {ep.name} ({dist}) is registered twice; the second copy is ignored", failures)
            continue
        try:
            pm.register(plugin, name=ep.name)
        except Exception as exc:
            _fail(f"plugin {ep.name} ({dist} {version}) is invalid: {_one_line(exc)}", failures)
            continue
        infos.append(PluginInfo(ep.name, dist, version, builtin=False))

    for name, plugin in (extra_plugins or {}).items():
        _refuse_taken(pm, name, plugin, infos)
        try:
            pm.register(plugin, name=name)
        except Exception as exc:  # pluggy's validation: a hook with the wrong arguments, ...
            raise PluginError(f"extra_plugins[{name!r}] is not a valid plugin: {_one_line(exc)}") from None
        infos.append(PluginInfo(name, "(registered in code)", "", builtin=False))
    installed = {ep.name for ep in md.entry_points(group=ENTRY_POINT_GROUP)}
    builtin = {info.name for info in infos if info.builtin}
    _say_unknown_names("EMOFUSE_LOAD_PLUGINS", only or set(), installed, builtin, failures)
    _say_unknown_names("EMOFUSE_BLOCK_PLUGINS", blocked, installed, builtin, failures)
    return pm, infos, failures


def _refuse_taken(pm: pluggy.PluginManager, name: str, plugin: object, infos: list[PluginInfo]) -> None:
    """One PluginError line when the plugin passed in code as `name` clashes with a registered one
    (the usual case: the plugin under development is also installed)."""
    by_name = {info.name: info for info in infos}
    holder = pm.get_name(plugin) if pm.is_registered(plugin) else None
    taken = holder or (name if pm.get_plugin(name) is not None else None)
    if taken is None:
        return
    info = by_name.get(taken)
    if info is not None and info.builtin:
        raise PluginError(f"extra_plugins[{name!r}]: {taken!r} is a built-in plugin; pass yours under another name")
    if info is not None and info.distribution != "(registered in code)":
        raise PluginError(f"extra_plugins[{name!r}]: plugin {taken!r} is also installed ({info.distribution} "
                          f"{info.version}); set EMOFUSE_BLOCK_PLUGINS={taken} to use the one passed in code, "
                          f"or leave it out of extra_plugins")
    raise PluginError(f"extra_plugins[{name!r}]: the same plugin is passed twice (also as {taken!r})")


def _say_unknown_names(variable: str, names: set[str], installed: set[str], builtin: set[str],
                       failures: list[str]) -> None:
    """A warning (an error when strict) for each name in EMOFUSE_LOAD/BLOCK_PLUGINS that selects nothing."""
    for name in sorted(names - installed):
        why = ("is a built-in plugin (built-ins are always loaded)" if name in builtin
               else "is not the name of an installed plugin")
        _fail(f"{variable} names {name!r}, which {why}; installed plugins: "
              f"{', '.join(sorted(installed)) or 'none'}", failures)


def collect_components(extra_plugins: Mapping[str, object] | None = None) -> Components:
    """Call every registration hook of every plugin, each in isolation, into fresh registries."""
    pm, infos, failures = make_plugin_manager(extra_plugins)
    registries = {kind: Registry(kind, human, protocol) for kind, (protocol, human) in KINDS.items()}
    builtin = {info.name for info in infos if info.builtin}
    for hook_name, kind in hookspecs.HOOK_KINDS.items():
        registry = registries[kind]
        for impl in getattr(pm.hook, hook_name).get_hookimpls():
            plugin_name = impl.plugin_name

            def register(name, factory, description="", _plugin=plugin_name, _hook=hook_name):
                # a refused name (a duplicate, a bad factory) is reported and the hook goes on: the
                # names it registers after that one are kept
                try:
                    registry.add(name, factory, _plugin, description)
                except EmofuseError as exc:
                    if _plugin in builtin:
                        raise
                    _fail(f"plugin {_plugin}: {_hook}: {exc}", failures)

            try:
                returned = impl.function(register=register)
                if returned is not None:
                    raise PluginError(f"hook {hook_name} returned {type(returned).__name__}; call register() instead")
            except _Reported:
                raise
            except Exception as exc:
                message = f"plugin {plugin_name}: {hook_name} failed: {exc}"
                if plugin_name in builtin:
                    raise PluginError(message) from exc
                _fail(message, failures)
    return Components(registries, infos, failures)


_cached: Components | None = None


def get_components(refresh: bool = False) -> Components:
    """The components of the installed plugins (computed once per process)."""
    global _cached
    if _cached is None or refresh:
        _cached = collect_components()
    return _cached
