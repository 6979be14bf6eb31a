"""The Trajectory: one model response to one prompt, with everything needed to study it.

All character offsets in a trajectory (thinking and answer spans, token offsets, segment spans)
index into :attr:`Trajectory.raw`. Constraint spans index into the content of the prompt message
they belong to.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

from workbench._token_arrays import TokenArrays
from workbench._validate import (
    Span,
    check_choice,
    check_json,
    check_mapping,
    check_number,
    check_span,
    check_str,
    check_str_list,
    reject_unknown,
)
from workbench.errors import ValidationError
from workbench.grade import Grade
from workbench.think import THINK_FORMATS, parse_think

__all__ = [
    "ROLES",
    "SCHEMA_VERSION",
    "STATUSES",
    "Constraint",
    "Message",
    "TokenArrays",
    "Trajectory",
    "new_id",
    "prompt_key",
]

SCHEMA_VERSION = 1
"""Version of the serialised form of the domain objects (and of the store's schema)."""

STATUSES: tuple[str, ...] = ("complete", "partial", "cancelled", "error")
"""Lifecycle of a trajectory: finished, still streaming (or cut off by a crash), stopped, failed."""

ROLES: tuple[str, ...] = ("system", "user", "assistant", "tool", "developer")

Message = dict[str, Any]
"""A chat message: ``{"role": ..., "content": ...}`` plus optional fields such as
``reasoning_content``."""


def new_id() -> str:
    """Return a new random 16-hex-digit id (64 bits; unique in practice, short enough to type)."""
    return uuid.uuid4().hex[:16]


def prompt_key(prompt: list[Message] | str) -> str:
    """Return a short stable key for a prompt: equal for the same roles and contents.

    Trajectories with the same key answer "the same prompt" (used to group samples and build pairs).
    """
    messages = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else prompt
    canon = json.dumps(
        [[m.get("role"), m.get("content")] for m in messages],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha1(canon.encode("utf-8")).hexdigest()[:16]


def _check_messages(field_name: str, value: Any) -> list[Message]:
    if isinstance(value, str):
        check_str(f"{field_name}[0].content", value)
        return [{"role": "user", "content": value}]
    if not isinstance(value, list | tuple):
        raise ValidationError(
            field_name, f"expected a string or a list of messages, got {type(value).__name__}"
        )
    out: list[Message] = []
    for i, msg in enumerate(value):
        where = f"{field_name}[{i}]"
        if not isinstance(msg, dict):
            raise ValidationError(where, f"expected a message object, got {type(msg).__name__}")
        if "role" not in msg or "content" not in msg:
            raise ValidationError(where, "a message needs 'role' and 'content'")
        check_choice(f"{where}.role", msg["role"], ROLES)
        check_str(f"{where}.content", msg["content"])
        out.append(check_json(where, msg))
    return out


@dataclass(slots=True, kw_only=True)
class Constraint:
    """An instruction's constraint, e.g. "answer in all lowercase".

    Attributes
    ----------
    text
        The constraint as written (the phrase in the prompt).
    kind
        Optional machine name, e.g. an IFEval instruction id ``"change_case:english_lowercase"``.
    kwargs
        Parameters of the constraint (IFEval kwargs).
    spans
        Character spans of the phrase in the content of prompt message ``message``.
    message
        Index of the prompt message the spans refer to (default ``-1``: the last message).
    """

    text: str
    kind: str | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)
    spans: list[Span] = field(default_factory=list)
    message: int = -1

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-compatible dict."""
        return {
            "text": self.text,
            "kind": self.kind,
            "kwargs": self.kwargs,
            "spans": [list(s) for s in self.spans],
            "message": self.message,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, owner: str = "Constraint") -> Constraint:
        """Build a constraint from :meth:`to_dict` output, rejecting unknown fields."""
        if not isinstance(data, dict):
            raise ValidationError(owner, f"expected an object, got {type(data).__name__}")
        reject_unknown(owner, data, ("text", "kind", "kwargs", "spans", "message"))
        if "text" not in data:
            raise ValidationError(f"{owner}.text", "is required")
        return cls(
            text=data["text"],
            kind=data.get("kind"),
            kwargs=data.get("kwargs") or {},
            spans=[(s[0], s[1]) for s in data.get("spans") or []],
            message=data.get("message", -1),
        )

    def validate(self, owner: str = "Constraint") -> None:
        """Raise :class:`ValidationError` naming the first invalid field."""
        check_str(f"{owner}.text", self.text)
        check_str(f"{owner}.kind", self.kind, optional=True)
        check_mapping(f"{owner}.kwargs", self.kwargs)
        self.kwargs = check_json(f"{owner}.kwargs", self.kwargs)
        if not isinstance(self.message, int) or isinstance(self.message, bool):
            raise ValidationError(f"{owner}.message", "expected an integer message index")
        if not isinstance(self.spans, list):
            raise ValidationError(f"{owner}.spans", "expected a list of (start, end) pairs")
        for i, span in enumerate(self.spans):
            self.spans[i] = check_span(f"{owner}.spans[{i}]", span, 1 << 62)


@dataclass(slots=True, kw_only=True, eq=True)
class Trajectory:
    """One model response to one prompt.

    Construct it from the raw output; the thinking and answer are found with
    :func:`~workbench.think.parse_think` unless ``think_format`` and both spans are given::

        t = Trajectory(prompt="What is 2+2?", raw="<think>2+2=4</think>4", model="m")
        t.thinking, t.answer, t.think_format   # ('2+2=4', '4', 'tags')

    Use :meth:`from_parts` when the thinking arrived in a separate field.

    Attributes
    ----------
    prompt
        Chat messages sent to the model (a plain string becomes one user message).
    raw
        The full output text. All character offsets index into it.
    think_format, thinking_span, answer_span
        How the thinking was delimited and where thinking and answer lie in ``raw``.
    constraints
        Constraints of the instruction (for constraint attention and checking).
    model, backend
        Model name or path, and the backend that produced the text (``None`` when imported).
    sampling
        Sampling parameters (temperature, top_p, seed, max_new_tokens, …).
    tokens
        Optional per-token arrays.
    finish_reason
        ``"stop"``, ``"length"``, ``"cancelled"``, ``"error"`` or ``None`` when unknown.
    status
        One of :data:`STATUSES`.
    timings
        Seconds: e.g. ``{"first_token_s": 0.2, "total_s": 9.1}``.
    gold, grade
        Reference answer, and the :class:`~workbench.grade.Grade` (``correct``, ``score``,
        ``grader``, ``details``); ``None`` until graded. A bool or a number is accepted and turned
        into a grade.
    source, source_id
        Where an imported trajectory came from (file or dataset) and its id there.
    tags, metadata
        Free labels and free JSON metadata (dataset, question id, category, judge score, …).
    parent_id
        The trajectory this one was derived from (pruned, truncated), if any.
    id, created_at, schema_version
        Identity, creation time (epoch seconds) and serialisation version.
    """

    prompt: list[Message] = field(default_factory=list)
    raw: str = ""
    think_format: str | None = None
    thinking_span: Span = (0, 0)
    answer_span: Span = (0, 0)
    constraints: list[Constraint] = field(default_factory=list)
    model: str | None = None
    backend: str | None = None
    sampling: dict[str, Any] = field(default_factory=dict)
    tokens: TokenArrays | None = None
    finish_reason: str | None = None
    status: str = "complete"
    timings: dict[str, float] = field(default_factory=dict)
    gold: str | None = None
    grade: Grade | None = None
    source: str | None = None
    source_id: str | None = None
    tags: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    parent_id: str | None = None
    id: str = field(default_factory=new_id)
    created_at: float = field(default_factory=time.time)
    schema_version: int = SCHEMA_VERSION

    FINISH_REASONS: ClassVar[tuple[str, ...]] = ("stop", "length", "cancelled", "error")

    def __post_init__(self) -> None:
        self.grade = Grade.coerce(self.grade)
        check_str("Trajectory.raw", self.raw)
        if self.think_format is None:
            parsed = parse_think(self.raw)
            self.think_format = parsed.think_format
            self.thinking_span = parsed.thinking_span
            self.answer_span = parsed.answer_span
        self.validate()

    # -- derived text ---------------------------------------------------------------------------
    @property
    def thinking(self) -> str:
        """The thinking text (``""`` when the model did not think)."""
        return self.raw[self.thinking_span[0] : self.thinking_span[1]]

    @property
    def answer(self) -> str:
        """The answer text (``""`` when thinking never ended)."""
        return self.raw[self.answer_span[0] : self.answer_span[1]]

    @property
    def prompt_text(self) -> str:
        """Content of the last user message (``""`` when there is none)."""
        for msg in reversed(self.prompt):
            if msg["role"] == "user":
                return str(msg["content"])
        return ""

    # -- construction ---------------------------------------------------------------------------
    @classmethod
    def from_parts(cls, *, thinking: str, answer: str, **kwargs: Any) -> Trajectory:
        """Build a trajectory whose thinking came separately from the answer (format ``field``).

        Parameters
        ----------
        thinking
            The reasoning text (``reasoning`` / ``reasoning_content``). If it is empty the answer is
            parsed as a normal raw output instead.
        answer
            The final content.
        **kwargs
            Any other :class:`Trajectory` field.
        """
        parsed = parse_think(answer, reasoning=thinking)
        return cls(
            raw=parsed.raw,
            think_format=parsed.think_format,
            thinking_span=parsed.thinking_span,
            answer_span=parsed.answer_span,
            **kwargs,
        )

    # -- validation -----------------------------------------------------------------------------
    def validate(self) -> None:
        """Raise :class:`ValidationError` naming the first invalid field."""
        o = "Trajectory"
        self.prompt = _check_messages(f"{o}.prompt", self.prompt)
        check_str(f"{o}.raw", self.raw)
        check_choice(f"{o}.think_format", self.think_format, THINK_FORMATS)
        n = len(self.raw)
        self.thinking_span = check_span(f"{o}.thinking_span", self.thinking_span, n)
        self.answer_span = check_span(f"{o}.answer_span", self.answer_span, n)
        if (
            self.thinking_span[1] > self.answer_span[0]
            and self.answer_span[0] != self.answer_span[1]
        ):
            raise ValidationError(
                f"{o}.answer_span", "the answer must start after the thinking ends"
            )
        if not isinstance(self.constraints, list):
            raise ValidationError(f"{o}.constraints", "expected a list of Constraint")
        for i, c in enumerate(self.constraints):
            if not isinstance(c, Constraint):
                raise ValidationError(f"{o}.constraints[{i}]", "expected a Constraint")
            c.validate(f"{o}.constraints[{i}]")
            self._check_constraint_spans(i, c)
        for name in ("model", "backend", "gold", "source", "source_id", "parent_id"):
            check_str(f"{o}.{name}", getattr(self, name), optional=True)
        check_str(f"{o}.id", self.id, nonempty=True)
        check_mapping(f"{o}.sampling", self.sampling)
        self.sampling = check_json(f"{o}.sampling", self.sampling)
        check_mapping(f"{o}.timings", self.timings)
        for key, value in self.timings.items():
            check_number(f"{o}.timings.{key}", value)
        check_mapping(f"{o}.metadata", self.metadata)
        # the one strict JSON encoding: NaN/±Infinity become null, so every metadata filter,
        # ``ls --json`` and the extension can parse what is stored
        self.metadata = check_json(f"{o}.metadata", self.metadata)
        check_str_list(f"{o}.tags", self.tags)
        self.tags = list(self.tags)
        check_choice(f"{o}.status", self.status, STATUSES)
        check_choice(f"{o}.finish_reason", self.finish_reason, self.FINISH_REASONS, optional=True)
        self.grade = Grade.coerce(self.grade)
        check_number(f"{o}.created_at", self.created_at)
        if self.schema_version != SCHEMA_VERSION:
            raise ValidationError(
                f"{o}.schema_version",
                f"this workbench reads version {SCHEMA_VERSION}, got {self.schema_version!r}",
            )
        if self.tokens is not None:
            if not isinstance(self.tokens, TokenArrays):
                raise ValidationError(f"{o}.tokens", "expected TokenArrays or None")
            self.tokens.validate(f"{o}.tokens", text_length=n)

    def _check_constraint_spans(self, i: int, c: Constraint) -> None:
        where = f"Trajectory.constraints[{i}]"
        if not c.spans:
            return
        if not -len(self.prompt) <= c.message < len(self.prompt):
            raise ValidationError(
                f"{where}.message",
                f"no prompt message {c.message} (the prompt has {len(self.prompt)})",
            )
        content = str(self.prompt[c.message]["content"])
        for j, span in enumerate(c.spans):
            check_span(f"{where}.spans[{j}]", span, len(content))

    # -- serialisation --------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-compatible dict holding every field (lossless)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in ("thinking_span", "answer_span"):
                value = list(value)
            elif f.name == "constraints":
                value = [c.to_dict() for c in value]
            elif f.name in ("tokens", "grade"):
                value = None if value is None else value.to_dict()
            out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Trajectory:
        """Build a trajectory from :meth:`to_dict` output, rejecting unknown or invalid fields."""
        if not isinstance(data, dict):
            raise ValidationError("Trajectory", f"expected an object, got {type(data).__name__}")
        names = [f.name for f in fields(cls)]
        reject_unknown("Trajectory", data, names)
        kwargs = dict(data)
        for span in ("thinking_span", "answer_span"):
            if span in kwargs and isinstance(kwargs[span], list):
                kwargs[span] = tuple(kwargs[span])
        if "constraints" in kwargs:
            cons = kwargs["constraints"] or []
            if not isinstance(cons, list):
                raise ValidationError("Trajectory.constraints", "expected a list")
            kwargs["constraints"] = [
                Constraint.from_dict(c, owner=f"Trajectory.constraints[{i}]")
                for i, c in enumerate(cons)
            ]
        if kwargs.get("tokens") is not None:
            kwargs["tokens"] = TokenArrays.from_dict(kwargs["tokens"], owner="Trajectory.tokens")
        if "schema_version" in kwargs and kwargs["schema_version"] != SCHEMA_VERSION:
            raise ValidationError(
                "Trajectory.schema_version",
                f"this workbench reads version {SCHEMA_VERSION}, got {kwargs['schema_version']!r}",
            )
        return cls(**kwargs)

    def to_json(self) -> str:
        """Serialise to a JSON string (see :meth:`to_dict`)."""
        return json.dumps(self.to_dict(), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Trajectory:
        """Parse a JSON string written by :meth:`to_json`."""
        return cls.from_dict(json.loads(text))

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        """Display in Jupyter: a LiveTrace widget, escaped static HTML and the trajectory MIME type.

        What the bundle holds follows the active renderer (``wb.renderers``; see
        :mod:`workbench.display`).
        """
        from workbench.display import mimebundle

        return mimebundle(self, "trajectory")

    def __repr__(self) -> str:
        return (
            f"Trajectory(id={self.id!r}, model={self.model!r}, status={self.status!r}, "
            f"think_format={self.think_format!r}, thinking_chars={len(self.thinking)}, "
            f"answer_chars={len(self.answer)}, "
            f"grade={None if self.grade is None else self.grade.to_dict()!r})"
        )
