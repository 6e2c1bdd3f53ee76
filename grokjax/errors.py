"""Errors that cross layers: a wrong sweep file or setting is a ``SpecError``."""

from __future__ import annotations


class SpecError(ValueError):
    """A sweep file is wrong.  The message names the file, the key and what is allowed."""

    def __init__(self, source: str, key: str, message: str):
        self.source, self.key, self.message = source, key, message
        super().__init__(f"{source}: {key}: {message}" if key else f"{source}: {message}")


class PlanError(RuntimeError):
    """The sweep cannot be executed as asked (e.g. a memory budget below one run)."""
