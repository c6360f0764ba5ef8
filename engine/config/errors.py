"""The exception raised for a configuration value that cannot be accepted."""

from __future__ import annotations


class ConfigValueError(ValueError):
    """A configuration value that is invalid.

    `message` states what is wrong with the value and what would be accepted.
    `path` is the dotted location of the value relative to its zone
    (`variables.common`) when known, else None.
    """

    def __init__(self, message: str, path: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
