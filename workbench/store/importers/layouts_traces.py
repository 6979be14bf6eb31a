"""The workbench's own corpus layout (``workbench_traces``): what ``export traces`` writes.

One row per trajectory, flat columns for analytics (``polars.scan_parquet``) and enough to rebuild
the trajectory field for field (its ``id`` included). In Parquet the nested columns (``prompt``,
``metadata``, ``sampling``, ``timings``, ``constraints``, ``grade_details``) are JSON text; in
JSONL they may be JSON values or JSON text. ``thinking``, ``answer``, ``prompt_text`` and the
``*_chars`` columns are derived (for reading without the workbench) and ignored on import.
Per-token arrays are not exported.
"""

from __future__ import annotations

import json
from typing import Any

from workbench.errors import ValidationError
from workbench.grade import Grade
from workbench.store.codec import source_key
from workbench.trajectory import Constraint, Trajectory

from .convert import Converted, RecordError
from .known import Context, NamedLayout, register

__all__ = ["JSON_COLUMNS", "TRACES_LAYOUT", "TRACE_COLUMNS", "trace_row", "trajectory_from_row"]

TRACES_LAYOUT = "workbench.traces/1"
"""The layout's name and version, written in each row's ``layout`` column."""

JSON_COLUMNS: tuple[str, ...] = (
    "prompt", "metadata", "sampling", "timings", "constraints", "grade_details",
)  # fmt: skip
"""Columns that hold nested values (JSON text in Parquet)."""

TRACE_COLUMNS: dict[str, str] = {
    "layout": "string",
    "id": "string",
    "source": "string",
    "source_id": "string",
    "model": "string",
    "backend": "string",
    "prompt": "json",
    "prompt_text": "string",
    "raw": "string",
    "think_format": "string",
    "thinking_start": "int64",
    "thinking_end": "int64",
    "answer_start": "int64",
    "answer_end": "int64",
    "thinking": "string",
    "answer": "string",
    "thinking_chars": "int64",
    "answer_chars": "int64",
    "gold": "string",
    "grade_correct": "bool",
    "grade_score": "float64",
    "grader": "string",
    "grade_details": "json",
    "status": "string",
    "finish_reason": "string",
    "tags": "list<string>",
    "metadata": "json",
    "sampling": "json",
    "timings": "json",
    "constraints": "json",
    "parent_id": "string",
    "created_at": "float64",
    "schema_version": "int64",
}
"""Every column of the layout and its type (``json``: a JSON value, text in Parquet)."""

_REQUIRED = {"id", "raw", "think_format", "thinking_start", "answer_start"}


def trace_row(t: Trajectory, *, json_text: bool = False) -> dict[str, Any]:
    """Return the row of ``t`` (nested columns as JSON text when ``json_text``)."""
    g = t.grade
    row: dict[str, Any] = {
        "layout": TRACES_LAYOUT,
        "id": t.id,
        "source": t.source,
        "source_id": t.source_id,
        "model": t.model,
        "backend": t.backend,
        "prompt": t.prompt,
        "prompt_text": t.prompt_text,
        "raw": t.raw,
        "think_format": t.think_format,
        "thinking_start": t.thinking_span[0],
        "thinking_end": t.thinking_span[1],
        "answer_start": t.answer_span[0],
        "answer_end": t.answer_span[1],
        "thinking": t.thinking,
        "answer": t.answer,
        "thinking_chars": len(t.thinking),
        "answer_chars": len(t.answer),
        "gold": t.gold,
        "grade_correct": None if g is None else g.correct,
        "grade_score": None if g is None else g.score,
        "grader": None if g is None else g.grader,
        "grade_details": None if g is None else g.details,
        "status": t.status,
        "finish_reason": t.finish_reason,
        "tags": list(t.tags),
        "metadata": t.metadata,
        "sampling": t.sampling,
        "timings": t.timings,
        "constraints": [c.to_dict() for c in t.constraints],
        "parent_id": t.parent_id,
        "created_at": t.created_at,
        "schema_version": t.schema_version,
    }
    if json_text:
        for key in JSON_COLUMNS:
            row[key] = json.dumps(row[key], ensure_ascii=False)
    return row


def _nested(row: dict[str, Any], key: str, default: Any) -> Any:
    value = row.get(key)
    if value is None:
        return default
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise RecordError(f"{key} is not valid JSON text ({exc.msg})") from exc
    return value


def trajectory_from_row(row: dict[str, Any]) -> Trajectory:
    """Rebuild the trajectory of a :func:`trace_row` row.

    Raises
    ------
    RecordError
        When a column is missing or invalid.
    """
    missing = _REQUIRED - row.keys()
    if missing:
        raise RecordError(f"missing column(s) {sorted(missing)} of the {TRACES_LAYOUT} layout")
    unknown = set(row) - set(TRACE_COLUMNS)
    if unknown:
        raise RecordError(f"unknown column(s) {sorted(unknown)} for the {TRACES_LAYOUT} layout")
    grade = None
    if row.get("grader") is not None:
        grade = Grade(
            correct=row.get("grade_correct"),
            score=row.get("grade_score"),
            grader=row["grader"],
            details=_nested(row, "grade_details", None),
        )
    try:
        kwargs: dict[str, Any] = {
            "prompt": _nested(row, "prompt", []),
            "raw": row["raw"],
            "think_format": row["think_format"],
            "thinking_span": (
                row["thinking_start"],
                row.get("thinking_end", row["thinking_start"]),
            ),
            "answer_span": (row["answer_start"], row.get("answer_end", row["answer_start"])),
            "constraints": [
                Constraint.from_dict(c, owner=f"constraints[{i}]")
                for i, c in enumerate(_nested(row, "constraints", []))
            ],
            "grade": grade,
            "tags": list(row.get("tags") or []),
            "metadata": _nested(row, "metadata", {}),
            "sampling": _nested(row, "sampling", {}),
            "timings": _nested(row, "timings", {}),
        }
        for key in ("id", "source", "source_id", "model", "backend", "gold", "finish_reason",
                    "parent_id", "created_at", "schema_version", "status"):  # fmt: skip
            if row.get(key) is not None:
                kwargs[key] = row[key]
        return Trajectory(**kwargs)
    except (ValidationError, TypeError) as exc:
        raise RecordError(str(exc)) from exc


def _is_traces(record: dict[str, Any]) -> bool:
    return record.keys() >= _REQUIRED


def _traces(record: dict[str, Any], ctx: Context) -> Converted:
    t = trajectory_from_row(record)
    if t.source is None:
        t.source = ctx.source
    t.tags = [*t.tags, *(tag for tag in ctx.tags if tag not in t.tags)]
    key = source_key(t.source, t.source_id) if t.source_id is not None else f"id:{t.id}"
    return Converted([t], [key], keep_ids=True)


register(
    NamedLayout(
        "workbench_traces",
        f"the workbench's own corpus layout ({TRACES_LAYOUT}), written by `workbench export "
        "traces`: one row per trajectory, read back field for field",
        _is_traces,
        _traces,
    )
)
