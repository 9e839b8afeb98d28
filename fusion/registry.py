"""A registry of named component factories, one per kind."""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from .errors import EmofuseError, PluginError, RegistryError
from .option_check import OptionError, OptionInfo, check_options, describe_names, options_of


@dataclasses.dataclass(frozen=True)
class Entry:
    """One registered factory: its name, the plugin that provides it, and a one-line description."""

    name: str
    factory: Callable[..., Any]
    plugin: str
    description: str = ""


class Registry:
    """Named factories of one component kind. Unknown and duplicate names are clear errors."""

    def __init__(self, kind: str, human: str, protocol: type | None = None) -> None:
        self.kind, self.human, self.protocol = kind, human, protocol
        self._entries: dict[str, Entry] = {}

    def add(self, name: str, factory: Callable[..., Any], plugin: str, description: str = "") -> None:
        if not isinstance(name, str) or not name.strip():
            raise PluginError(f"plugin {plugin}: {self.human} name must be a non-empty string, got {name!r}")
        if not callable(factory):
            raise PluginError(f"plugin {plugin}: {self.human} {name!r} factory is not callable")
        if name in self._entries:
            other = self._entries[name].plugin
            raise RegistryError(f"{self.human} {name!r} is registered twice: by plugin {other} and by plugin {plugin}")
        self._entries[name] = Entry(name, factory, plugin, description)

    def get(self, name: str) -> Entry:
        try:
            return self._entries[name]
        except KeyError:
            available = ", ".join(sorted(self._entries)) or "none installed"
            raise RegistryError(f"unknown {self.human} {name!r}; available: {available}") from None

    def check(self, name: str, options: Mapping[str, Any]) -> dict[str, Any]:
        """`options` for the component `name`, checked against its factory's signature (names and
        annotated types) and coerced, without building it; PluginError naming the option otherwise."""
        entry = self.get(name)
        try:
            return check_options(entry.factory, options)
        except OptionError as exc:
            raise PluginError(f"{self._who(entry)}: {exc}") from None

    def create(self, name: str, **options: Any) -> Any:
        """Build the component `name` with keyword options; checks the options first and the
        result's methods after. Any failure is one PluginError line naming the component and plugin."""
        entry = self.get(name)
        options = self.check(name, options)
        try:
            component = entry.factory(**options)
        except EmofuseError as exc:  # meant for the user already: say which component it is about
            raise _prefixed(exc, self._who(entry)) from exc
        except (TypeError, ValueError) as exc:
            given = ", ".join(f"{k}={v!r}" for k, v in options.items())
            where = f"bad option{'s' if len(options) > 1 else ''} {given}: " if options else ""
            raise PluginError(f"{self._who(entry)}: {where}{_reason(exc)} "
                              f"({describe_names(options_of(entry.factory))})") from exc
        except Exception as exc:
            raise PluginError(f"{self._who(entry)} cannot be created: {_reason(exc)}") from exc
        if self.protocol is not None and not isinstance(component, self.protocol):
            raise PluginError(
                f"{self.human} {name!r} (plugin {entry.plugin}) returned a {type(component).__name__}, "
                f"which lacks the {self.protocol.__name__} methods"
            )
        return component

    def options(self, name: str) -> list[OptionInfo] | None:
        """The options of the component `name` (None: its factory takes any `**options`)."""
        return options_of(self.get(name).factory)

    def _who(self, entry: Entry) -> str:
        return f"{self.human} {entry.name!r} (plugin {entry.plugin})"

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __iter__(self) -> Iterator[Entry]:
        return iter(sorted(self._entries.values(), key=lambda e: e.name))

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __len__(self) -> int:
        return len(self._entries)


def _reason(exc: BaseException) -> str:
    """An exception as one line: its message (first line), with the type when that says more."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if isinstance(exc, (TypeError, ValueError)) and text:
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _prefixed(exc: EmofuseError, who: str) -> EmofuseError:
    """`exc` (same class when it can be) with `who: ` before its message."""
    message = f"{who}: {exc}"
    try:
        return type(exc)(message)
    except Exception:  # a subclass with another constructor
        return PluginError(message)
