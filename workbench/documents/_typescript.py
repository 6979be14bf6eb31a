"""TypeScript spellings of TypedDict declarations: one generator for every generated ``.ts`` file.

The widget protocol (``js/src/protocol.generated.ts``) and the JupyterLab extension's REST payloads
(``extensions/src/rest.generated.ts``) are both generated from Python TypedDicts with these two
functions, so the Python declaration is the only one anybody edits.
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Sequence
from typing import Any, Literal, NotRequired, Required, Union, get_args, get_origin

__all__ = ["ts_interfaces", "ts_type"]


def ts_type(tp: Any) -> str:
    """Return the TypeScript spelling of a Python annotation.

    Examples
    --------
    >>> ts_type(list[int | None])
    '(number | null)[]'
    >>> ts_type(dict[str, int]), ts_type(tuple[int, int]), ts_type(Any)
    ('Record<string, number>', '[number, number]', 'unknown')
    """
    origin = get_origin(tp)
    if tp is str:
        return "string"
    if tp is int or tp is float:
        return "number"
    if tp is bool:
        return "boolean"
    if tp is type(None):
        return "null"
    if tp is Any or tp is object:
        return "unknown"
    if origin in (NotRequired, Required):
        return ts_type(get_args(tp)[0])
    if origin is Literal:
        return " | ".join(json.dumps(a) for a in get_args(tp))
    if origin in (Union, types.UnionType):
        return " | ".join(ts_type(a) for a in get_args(tp))
    if origin is list:
        inner = ts_type(get_args(tp)[0])
        return f"({inner})[]" if " " in inner else f"{inner}[]"
    if origin is dict:
        key, value = get_args(tp)
        return f"Record<{ts_type(key)}, {ts_type(value)}>"
    if origin is tuple:
        return "[" + ", ".join(ts_type(a) for a in get_args(tp)) + "]"
    if typing.is_typeddict(tp):
        return str(tp.__name__)
    raise TypeError(f"no TypeScript spelling for {tp!r}")


def ts_interfaces(classes: Sequence[type]) -> list[str]:
    """Return ``export interface`` declarations of TypedDicts, one line per field.

    A key that is not required (``NotRequired``, or ``total=False``) is optional (``key?:``).
    """
    out: list[str] = []
    for cls in classes:
        hints = typing.get_type_hints(cls, include_extras=True)
        optional: frozenset[str] = getattr(cls, "__optional_keys__", frozenset())
        doc = (cls.__doc__ or "").strip().splitlines()
        if doc:
            out.append(f"/** {doc[0]} */")
        out.append(f"export interface {cls.__name__} {{")
        for key, tp in hints.items():
            # under ``from __future__ import annotations`` Python 3.11 leaves ``NotRequired`` keys
            # out of ``__optional_keys__``; the evaluated hint still says so
            not_required = typing.get_origin(tp) is typing.NotRequired
            mark = "?" if key in optional or not_required else ""
            out.append(f"  {key}{mark}: {ts_type(tp)};")
        out.append("}")
        out.append("")
    return out
