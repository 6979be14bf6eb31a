"""Filters over trajectories, turned into SQL with bound parameters only."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

from workbench.errors import ValidationError
from workbench.store._search import search_clause

__all__ = ["FILTERS", "build_where"]

FILTERS: tuple[str, ...] = (
    "ids",
    "model",
    "source",
    "source_id",
    "status",
    "think_format",
    "prompt_key",
    "tags",
    "grade",
    "graded",
    "correct",
    "metadata",
    "search",
    "parent_id",
)
"""Keyword filters accepted by :meth:`Store.list_trajectories` and :meth:`Store.count`.

* ``model``, ``source``, ``source_id``, ``status``, ``think_format``, ``prompt_key``, ``parent_id``:
  a value or a list of values (any of them);
* ``ids``: a list of trajectory ids;
* ``tags``: a tag or a list of tags (all of them must be present);
* ``grade``: the grade's score: a number (exact), or a ``(low, high)`` pair, both inclusive,
  either may be ``None``;
* ``graded``: ``True`` for graded trajectories only, ``False`` for ungraded ones;
* ``correct``: ``True``/``False`` as the grade says (trajectories graded with a score only match
  neither);
* ``metadata``: ``{key: value}``; a list value means any of them, ``None`` means missing or null;
* ``search``: a literal substring of the raw output (thinking included) or of the prompt (its
  stored JSON), ASCII letters case-insensitive (SQLite's ``LIKE``); ``"``, ``*``, ``-``, ``AND``,
  ``%`` and ``_`` are plain text. Texts of three or more characters are looked up in the store's
  FTS5 trigram index first (fast at a million trajectories), then confirmed with ``LIKE``, so the
  results are exactly those of a scan; one- and two-character texts scan every row. See
  :mod:`workbench.store._search`.
"""


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        return [value]
    return list(value)


def _json_path(key: str) -> str:
    escaped = key.replace('"', '\\"')
    return f'$."{escaped}"'


def build_where(
    filters: Mapping[str, Any], *, indexed: bool = False
) -> tuple[str, list[Any], bool]:
    """Translate keyword filters into ``(where_sql, params, needs_body_join)``.

    ``indexed``: the store has the full-text index (``search`` then narrows rows through it).

    Raises
    ------
    ValidationError
        For an unknown filter name (with a suggestion) or a value of the wrong shape.
    """
    clauses: list[str] = []
    params: list[Any] = []
    needs_body = False
    for name, value in filters.items():
        if name not in FILTERS:
            close = difflib.get_close_matches(name, FILTERS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; filters are {list(FILTERS)}"
            raise ValidationError(f"filter.{name}", f"unknown filter{hint}")
        if value is None:
            continue
        if name in (
            "model",
            "source",
            "source_id",
            "status",
            "think_format",
            "prompt_key",
            "parent_id",
        ):
            values = _as_list(value)
            clauses.append(f"t.{name} IN ({','.join('?' * len(values))})")
            params.extend(values)
        elif name == "ids":
            values = _as_list(value)
            clauses.append(f"t.id IN ({','.join('?' * len(values))})")
            params.extend(values)
        elif name == "tags":
            for tag in _as_list(value):
                clauses.append("EXISTS (SELECT 1 FROM json_each(t.tags) WHERE json_each.value = ?)")
                params.append(tag)
        elif name == "grade":
            if isinstance(value, tuple | list):
                if len(value) != 2:
                    raise ValidationError("filter.grade", "expected a number or a (low, high) pair")
                low, high = value
                if low is not None:
                    clauses.append("t.grade >= ?")
                    params.append(low)
                if high is not None:
                    clauses.append("t.grade <= ?")
                    params.append(high)
            else:
                clauses.append("t.grade = ?")
                params.append(value)
        elif name == "graded":
            clauses.append("t.grader IS NOT NULL" if value else "t.grader IS NULL")
        elif name == "correct":
            clauses.append("t.correct = ?")
            params.append(1 if value else 0)
        elif name == "metadata":
            if not isinstance(value, Mapping):
                raise ValidationError("filter.metadata", "expected a {key: value} mapping")
            # rows written before non-finite numbers were refused may hold ``NaN`` text, which
            # SQLite's JSON functions reject for the whole query: such a row matches nothing
            meta = "(CASE WHEN json_valid(t.metadata) THEN t.metadata END)"
            for key, wanted in value.items():
                path = _json_path(str(key))
                if wanted is None:
                    clauses.append(f"json_extract({meta}, ?) IS NULL")
                    params.append(path)
                    continue
                options = [int(v) if isinstance(v, bool) else v for v in _as_list(wanted)]
                marks = ",".join("?" * len(options))
                clauses.append(f"json_extract({meta}, ?) IN ({marks})")
                params.append(path)
                params.extend(options)
        elif name == "search":
            needs_body = True
            clause, clause_params = search_clause(str(value), indexed=indexed)
            clauses.append(clause)
            params.extend(clause_params)
    where = " AND ".join(clauses) if clauses else "1"
    return where, params, needs_body
