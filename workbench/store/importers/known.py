"""Named layouts: the public reasoning datasets' and evaluation tools' record shapes.

A *named layout* recognises a record by its shape (``recognise``) and turns it into one or more
trajectories (``convert``), without any ``--map``. The generic field detection of
:mod:`~workbench.store.importers.layout` stays the fallback (reported as ``columns``, ``messages``
or ``preference``). Each layout family lives in its own module; this one holds what they share.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.errors import ValidationError
from workbench.grade import Grade
from workbench.store.codec import source_key
from workbench.think import ThinkParse
from workbench.trajectory import Message, Trajectory

from .convert import Converted, RecordError, _content_hash, _jsonable

__all__ = [
    "GENERIC_LAYOUTS",
    "Context",
    "NamedLayout",
    "build",
    "grade_of",
    "register",
]

GENERIC_LAYOUTS: tuple[str, ...] = ("columns", "messages", "preference")
"""Names reported for records read by field detection (and accepted by ``--layout``)."""


@dataclass(slots=True)
class Context:
    """What a layout's converter knows besides the record.

    Attributes
    ----------
    source
        The source name recorded on each trajectory (part of the de-duplication key).
    path
        The file the record came from (``None`` for records not read from a file).
    model
        The model name given with ``--model``, for records that do not name one.
    tags
        Tags added to every trajectory.
    """

    source: str
    path: Path | None = None
    model: str | None = None
    tags: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class NamedLayout:
    """A record shape that is imported without ``--map``.

    Attributes
    ----------
    name
        The name shown in the report and accepted by ``--layout``.
    description
        One line: what the layout is and where it comes from.
    recognise
        ``record -> bool``: cheap test of the record's keys (and, where needed, its values).
    convert
        ``(record, context) -> Converted``; raises :class:`RecordError` with the reason.
    """

    name: str
    description: str
    recognise: Callable[[dict[str, Any]], bool]
    convert: Callable[[dict[str, Any], Context], Converted]


LAYOUTS: dict[str, NamedLayout] = {}
"""Every named layout, in the order they are tried."""


def register(layout: NamedLayout) -> NamedLayout:
    """Add ``layout`` to :data:`LAYOUTS` (tried in registration order)."""
    LAYOUTS[layout.name] = layout
    return layout


def grade_of(value: Any, *, grader: str) -> Grade | None:
    """Read a correctness value into a grade; ``None``, ``NaN`` and empty text give ``None``.

    Bools and ``yes``/``no``/``true``/``false``/``correct``/``incorrect`` words are correctness
    (score 1/0); other numbers are scores with correctness unknown.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        return Grade(correct=value, score=1.0 if value else 0.0, grader=grader)
    if isinstance(value, int | float):
        return Grade(score=float(value), grader=grader) if math.isfinite(value) else None
    text = str(value).strip().lower()
    if text in ("yes", "true", "correct", "c"):
        return Grade(correct=True, score=1.0, grader=grader)
    if text in ("no", "false", "incorrect", "wrong", "i"):
        return Grade(correct=False, score=0.0, grader=grader)
    if not text or text in ("nan", "none", "null"):
        return None
    try:
        return grade_of(float(text), grader=grader)
    except ValueError:
        raise RecordError(f"grade {value!r} is not a number or a yes/no verdict") from None


def text_of(value: Any, what: str) -> str:
    """Return ``value`` as text: a string, ``None`` (empty) or a list of strings (joined)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "\n\n".join(value)
    raise RecordError(f"{what} must be text, got {type(value).__name__}")


def build(
    parsed: ThinkParse,
    ctx: Context,
    *,
    prompt: list[Message],
    source_id: str | None,
    metadata: dict[str, Any],
    model: str | None = None,
    gold: Any = None,
    grade: Grade | None = None,
    finish_reason: str | None = None,
    status: str = "complete",
) -> tuple[Trajectory, str]:
    """Make one trajectory and its de-duplication key.

    The key is the source and ``source_id`` when the record has an id, else a hash of the source,
    the prompt, the text, the model and the metadata (so that re-importing adds nothing).
    """
    if finish_reason not in Trajectory.FINISH_REASONS:
        if finish_reason:
            metadata = {**metadata, "finish_reason": finish_reason}
        finish_reason = None
    try:
        traj = Trajectory(
            prompt=prompt,
            raw=parsed.raw,
            think_format=parsed.think_format,
            thinking_span=parsed.thinking_span,
            answer_span=parsed.answer_span,
            model=model if model not in (None, "") else ctx.model,
            gold=None if gold is None or gold == "" else str(_jsonable(gold)),
            grade=grade,
            finish_reason=finish_reason,
            status=status,
            source=ctx.source,
            source_id=source_id,
            tags=list(ctx.tags),
            metadata={k: _jsonable(v) for k, v in metadata.items()},
        )
    except ValidationError as exc:
        raise RecordError(str(exc)) from exc
    if source_id is not None:
        key = source_key(ctx.source, source_id)
    else:
        key = f"sha:{_content_hash(ctx.source, traj.prompt, traj.raw, traj.model, traj.metadata)}"
    return traj, key


def user_prompt(text: Any, what: str, system: Any = None) -> list[Message]:
    """Return ``[system?, user]`` messages for a prompt given as text."""
    out: list[Message] = []
    if system:
        out.append({"role": "system", "content": text_of(system, "system")})
    out.append({"role": "user", "content": text_of(text, what)})
    return out


def collect(pairs: list[tuple[Trajectory, str]]) -> Converted:
    """Gather ``(trajectory, key)`` pairs into a :class:`Converted`."""
    out = Converted()
    for traj, key in pairs:
        out.trajectories.append(traj)
        out.dedup_keys.append(key)
    return out
