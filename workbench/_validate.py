"""Small validation helpers shared by the domain objects.

They raise :class:`~workbench.errors.ValidationError` naming the field, and reject unknown keys
with a "did you mean" hint, so that a misspelt field is never silently ignored.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Mapping
from typing import Any

from workbench.errors import ValidationError

Span = tuple[int, int]


def reject_unknown(owner: str, data: Mapping[str, Any], known: Iterable[str]) -> None:
    """Raise if ``data`` has keys that are not in ``known``."""
    known_set = set(known)
    for key in data:
        if key not in known_set:
            close = difflib.get_close_matches(str(key), sorted(known_set), n=1)
            hint = (
                f"; did you mean {close[0]!r}?" if close else f"; known fields: {sorted(known_set)}"
            )
            raise ValidationError(f"{owner}.{key}", f"unknown field{hint}")


def check_str(field: str, value: Any, *, optional: bool = False, nonempty: bool = False) -> None:
    """Check that ``value`` is a string (or None when ``optional``)."""
    if value is None and optional:
        return
    if not isinstance(value, str):
        raise ValidationError(field, f"expected a string, got {type(value).__name__}")
    if nonempty and not value:
        raise ValidationError(field, "must not be empty")


def check_choice(field: str, value: Any, choices: Iterable[str], *, optional: bool = False) -> None:
    """Check that ``value`` is one of ``choices``."""
    if value is None and optional:
        return
    options = tuple(choices)
    if value not in options:
        close = difflib.get_close_matches(str(value), options, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValidationError(field, f"{value!r} is not one of {list(options)}{hint}")


def check_number(field: str, value: Any, *, optional: bool = False) -> None:
    """Check that ``value`` is a finite real number (bools are rejected)."""
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(field, f"expected a number, got {type(value).__name__}")
    if not math.isfinite(value):
        raise ValidationError(field, f"must be finite, got {value!r}")


def check_span(field: str, value: Any, length: int) -> Span:
    """Check that ``value`` is a ``(start, end)`` pair with ``0 <= start <= end <= length``."""
    if (
        not isinstance(value, list | tuple)
        or len(value) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        raise ValidationError(field, f"expected a (start, end) pair of integers, got {value!r}")
    start, end = int(value[0]), int(value[1])
    if not 0 <= start <= end <= length:
        raise ValidationError(
            field, f"span ({start}, {end}) is not within the text (0 <= start <= end <= {length})"
        )
    return (start, end)


def check_mapping(field: str, value: Any) -> None:
    """Check that ``value`` is a dict with string keys that JSON can hold."""
    if not isinstance(value, dict):
        raise ValidationError(field, f"expected an object (dict), got {type(value).__name__}")
    for key in value:
        if not isinstance(key, str):
            raise ValidationError(field, f"keys must be strings, got {key!r}")


def check_str_list(field: str, value: Any) -> None:
    """Check that ``value`` is a list (or tuple) of strings."""
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ValidationError(field, f"expected a list of strings, got {value!r}")
