"""User-facing errors.

Anything raised as a :class:`KgrecError` is the user's to fix (a bad option, a bad file, a
dataset that lacks what a component needs). The CLI prints it as one line and exits with
code 2; every other exception is a bug in kgrec and keeps its traceback.
"""

from __future__ import annotations

from pathlib import Path


class KgrecError(Exception):
    """An error the user can fix; printed as one line, exit code 2."""

    exit_code = 2


class ConfigError(KgrecError):
    """A configuration key or value is unknown or has the wrong type."""


class DataError(KgrecError):
    """A dataset file is malformed. Names the file and, where there is one, the line."""

    def __init__(self, path: str | Path, message: str, line: int | None = None):
        self.path = str(path)
        self.line = line
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {message}")


class MissingDataError(KgrecError):
    """A component needs side data (a KG, a social graph, modalities) the dataset lacks."""


class PluginError(KgrecError):
    """A plugin is unknown, fails to load, or does not follow the interfaces."""
