"""A registry of named component factories, one per kind."""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

from .errors import PluginError, RegistryError


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

    def create(self, name: str, **options: Any) -> Any:
        """Build the component `name` with keyword options; checks it has the required methods."""
        entry = self.get(name)
        try:
            component = entry.factory(**options)
        except TypeError as exc:
            raise PluginError(f"{self.human} {name!r} (plugin {entry.plugin}): bad options {options}: {exc}") from exc
        if self.protocol is not None and not isinstance(component, self.protocol):
            raise PluginError(
                f"{self.human} {name!r} (plugin {entry.plugin}) returned a {type(component).__name__}, "
                f"which lacks the {self.protocol.__name__} methods"
            )
        return component

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __iter__(self) -> Iterator[Entry]:
        return iter(sorted(self._entries.values(), key=lambda e: e.name))

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __len__(self) -> int:
        return len(self._entries)
