"""Small validation helpers shared by the domain objects.

They raise :class:`~workbench.errors.ValidationError` naming the field, and reject unknown keys
with a "did you mean" hint, so that a misspelt field is never silently ignored.
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

from workbench.errors import ValidationError

Span = tuple[int, int]

MAX_JSON_DEPTH = 64
"""Deepest nesting of lists and objects a free JSON field (metadata, sampling, …) may have."""

MAX_JSON_INT = (1 << 63) - 1
"""Largest integer magnitude a JSON field may hold (SQLite's 64-bit integers)."""


def surrogate_position(value: str) -> int | None:
    """Return the index of the first lone surrogate in ``value`` (``None`` when it is valid text)."""
    if value.isascii():
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        return int(exc.start)
    return None


def check_text(field: str, value: str) -> None:
    """Check that ``value`` can be stored as UTF-8 (no lone surrogates such as ``"\\ud800"``)."""
    pos = surrogate_position(value)
    if pos is not None:
        raise ValidationError(
            field,
            f"holds a lone surrogate {value[pos]!r} at character {pos}, which is not text: "
            "decode the source with errors='replace' (or fix the escape) and try again",
        )


def finite_json(value: Any) -> Any:
    """Return ``value`` with every non-finite float replaced by ``None`` (for strict JSON output).

    What is read back from older stores or computed (a NaN mean) is printed and served through
    this, so ``ls --json`` and the extension never emit ``NaN``, which JSON parsers reject.
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite_json(v) for v in value]
    return value


def strict_dumps(value: Any, *, compact: bool = False) -> str:
    """Serialise ``value`` as strict JSON (non-finite floats written as ``null``).

    Parameters
    ----------
    value
        Anything :mod:`json` can encode.
    compact
        No spaces after separators (what the store writes).
    """
    separators = (",", ":") if compact else None
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=separators)
    except ValueError:
        return json.dumps(
            finite_json(value), ensure_ascii=False, allow_nan=False, separators=separators
        )


def check_json(field: str, value: Any, *, _depth: int = 0) -> Any:
    """Return ``value`` as strict JSON, the one encoding every free JSON field is stored in.

    Non-finite floats (NaN, ±Infinity: JSON has no such numbers; pandas uses NaN for "missing")
    become ``None``; numpy scalars and arrays become Python numbers and lists; tuples become
    lists. Anything else JSON cannot hold raises.

    Raises
    ------
    ValidationError
        Naming the offending path (``Trajectory.metadata.a[2]``) for a non-string key, a string
        with a lone surrogate, an integer beyond 64 bits, nesting deeper than
        :data:`MAX_JSON_DEPTH`, or a value of another type.
    """
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        check_text(field, value)
        return value
    if isinstance(value, int):
        if abs(value) > MAX_JSON_INT:
            raise ValidationError(
                field, "an integer beyond 64 bits cannot be stored: store it as a string"
            )
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if _depth >= MAX_JSON_DEPTH:
        raise ValidationError(
            field, f"nested deeper than {MAX_JSON_DEPTH} levels: flatten it or store it as text"
        )
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValidationError(field, f"keys must be strings, got {key!r}")
            check_text(f"{field} key", key)
            out[key] = check_json(f"{field}.{key}", item, _depth=_depth + 1)
        return out
    if isinstance(value, list | tuple):
        return [check_json(f"{field}[{i}]", v, _depth=_depth + 1) for i, v in enumerate(value)]
    tolist = getattr(value, "tolist", None)  # numpy scalars and arrays, without importing numpy
    if callable(tolist) and type(value).__module__ == "numpy":
        return check_json(field, tolist(), _depth=_depth)
    raise ValidationError(
        field, f"{type(value).__name__} is not JSON: give numbers, strings, lists, objects or None"
    )


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
    check_text(field, value)


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
    try:
        finite = math.isfinite(value)
    except OverflowError:  # an int beyond float range
        finite = False
    if not finite:
        raise ValidationError(field, f"must be a finite number, got {_short(value)}")


def _short(value: Any) -> str:
    text = repr(value) if not isinstance(value, int) or abs(value) < 10**30 else "a huge integer"
    return text if len(text) <= 40 else text[:37] + "..."


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
    for i, v in enumerate(value):
        check_text(f"{field}[{i}]", v)
