"""Exceptions raised by workbench.

Every error a user can cause says what went wrong and what to do next. Validation errors name the
field that failed so that a bad record in a file of thousands can be found and fixed.
"""

from __future__ import annotations

__all__ = [
    "ImportFormatError",
    "NotFoundError",
    "SessionClosedError",
    "StoreError",
    "ValidationError",
    "WorkbenchError",
]


class WorkbenchError(Exception):
    """Base class of every error raised on purpose by workbench."""


class ValidationError(WorkbenchError, ValueError):
    """A domain object or record failed validation.

    Parameters
    ----------
    field
        Dotted name of the offending field, e.g. ``"Trajectory.thinking_span"`` or
        ``"Annotation.kind"``.
    message
        What is wrong and, where possible, what would be accepted.
    """

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


class StoreError(WorkbenchError):
    """The store cannot be opened, migrated or written."""


class NotFoundError(StoreError, KeyError):
    """No object with the given id (or id prefix) is in the store."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable.
        return str(self.args[0]) if self.args else "not found"


class ImportFormatError(WorkbenchError):
    """A source file cannot be read as a whole (unknown format, unreadable, wrong layout)."""


class SessionClosedError(WorkbenchError, RuntimeError):
    """A closed :class:`~workbench.Session` was asked to load a model or generate."""
