"""Errors that emofuse reports to users as one clear line."""
from __future__ import annotations


class EmofuseError(Exception):
    """An error with a message meant for the user (no traceback needed)."""


class MediaError(EmofuseError):
    """A media file cannot be opened or decoded."""


class DatasetError(EmofuseError):
    """A training or evaluation dataset is missing or malformed."""


class PluginError(EmofuseError):
    """A plugin failed to load, register or run."""


class RegistryError(EmofuseError, LookupError):
    """An unknown or duplicate component name."""


class IncompatibleComponentsError(EmofuseError):
    """Two chosen components cannot work together (e.g. features a classifier was not trained on)."""


class DamagedMediaWarning(MediaError, UserWarning):
    """A stream of a file stopped before the file's end (truncated or damaged): the timeline has a
    hole. A warning by default; `warnings.simplefilter("error", DamagedMediaWarning)` (what
    `emofuse analyze --strict` does) makes it an error, raised as a MediaError."""


class OutputError(EmofuseError, OSError):
    """An output file cannot be written (no space, no permission, folder gone); still an OSError."""
