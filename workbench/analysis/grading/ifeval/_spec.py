"""Checker specifications: declared keyword arguments, their validation, and bound arguments.

Every IFEval checker declares the keyword arguments it reads. :meth:`Checker.bind` validates a
``kwargs`` dict from ``input_data.jsonl`` against that declaration once, before any text is
checked: keys whose value is ``None`` count as absent (the Hugging Face copy of IFEval lists every
parameter of every instruction, unused ones as null), unknown keys and bad values raise
:class:`~workbench.errors.ValidationError` naming the kwarg. Where the official code would pick a
random value for a missing or out-of-range argument we raise instead, so that a grade never
depends on chance.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from workbench.errors import ValidationError

__all__ = ["RELATIONS", "Args", "Checker", "Param"]

RELATIONS = ("less than", "at least")
"""The two comparisons IFEval uses: ``actual < threshold`` and ``actual >= threshold``."""

Kind = Literal["count", "relation", "text", "words", "letter"]


@dataclass(frozen=True)
class Param:
    """One keyword argument a checker reads.

    Parameters
    ----------
    name
        The key in the IFEval ``kwargs`` dict.
    kind
        ``"count"`` (an int >= ``minimum``), ``"relation"`` (one of :data:`RELATIONS`),
        ``"text"`` (a string that is not blank), ``"words"`` (a non-empty list of strings) or
        ``"letter"`` (one character that is not whitespace, stored lower-cased).
    minimum
        Smallest accepted value of a ``"count"``.
    """

    name: str
    kind: Kind
    minimum: int = 0


class Args:
    """Validated keyword arguments of one instruction, with typed accessors."""

    def __init__(self, instruction_id: str, values: Mapping[str, Any]) -> None:
        self.instruction_id = instruction_id
        self._values = dict(values)

    def count(self, name: str) -> int:
        """Return the integer argument ``name``."""
        value = self._values[name]
        assert isinstance(value, int)
        return value

    def text(self, name: str) -> str:
        """Return the string argument ``name`` (a ``"text"``, ``"relation"`` or ``"letter"``)."""
        value = self._values[name]
        assert isinstance(value, str)
        return value

    def words(self, name: str) -> tuple[str, ...]:
        """Return the list-of-strings argument ``name``."""
        value = self._values[name]
        assert isinstance(value, tuple)
        return value

    def compare(self, actual: int, threshold: str, relation: str) -> bool:
        """``actual < threshold`` for ``"less than"``, ``actual >= threshold`` for ``"at least"``."""
        limit = self.count(threshold)
        return actual < limit if self.text(relation) == RELATIONS[0] else actual >= limit

    def as_dict(self) -> dict[str, Any]:
        """Return the validated values (lists as tuples)."""
        return dict(self._values)


@dataclass(frozen=True)
class Checker:
    """One IFEval instruction type.

    Parameters
    ----------
    instruction_id
        The official id, e.g. ``"punctuation:no_comma"``.
    func
        ``func(text, args) -> bool``: whether ``text`` follows the instruction (strict mode).
    params
        The keyword arguments it reads; all are required.
    summary
        One line: what is checked.
    differs
        ``None`` where the check follows the paper's reference code exactly, else one line on
        how ours differs.
    prompt_param
        The param that defaults to the ``prompt`` given to the grader (``prompt_to_repeat``).
    validate
        Optional cross-argument validation, run after each param is checked.
    """

    instruction_id: str
    func: Callable[[str, Args], bool]
    params: tuple[Param, ...]
    summary: str
    differs: str | None = None
    prompt_param: str | None = None
    validate: Callable[[Args], None] | None = None

    def bind(self, kwargs: Mapping[str, Any] | None, *, prompt: str | None = None) -> Args:
        """Validate ``kwargs`` against :attr:`params` and return them bound.

        Raises
        ------
        ValidationError
            A kwarg is unknown, missing or of the wrong type or value; the field names it.
        """
        if kwargs is None:
            kwargs = {}
        if not isinstance(kwargs, Mapping):
            raise ValidationError(
                "kwargs", f"expected a dict of keyword arguments, got {type(kwargs).__name__}"
            )
        given = {str(k): v for k, v in kwargs.items() if v is not None}
        names = [p.name for p in self.params]
        for key in given:
            if key not in names:
                close = difflib.get_close_matches(key, names, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else f"; it takes {names or 'none'}"
                raise ValidationError(
                    f"kwargs.{key}", f"{self.instruction_id} takes no argument {key!r}{hint}"
                )
        if self.prompt_param and self.prompt_param not in given and prompt is not None:
            given[self.prompt_param] = prompt
        values = {p.name: self._check(p, given.get(p.name)) for p in self.params}
        args = Args(self.instruction_id, values)
        if self.validate is not None:
            self.validate(args)
        return args

    def _check(self, param: Param, value: Any) -> Any:
        field = f"kwargs.{param.name}"
        where = f"{self.instruction_id} needs {param.name!r}"
        if value is None:
            raise ValidationError(field, f"{where} ({_KIND_TEXT[param.kind]}); it is missing")
        if param.kind == "count":
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValidationError(field, f"{where} as an int, got {value!r}")
            if value < param.minimum:
                raise ValidationError(field, f"{where} >= {param.minimum}, got {value}")
            return value
        if param.kind == "relation":
            if value not in RELATIONS:
                raise ValidationError(field, f"{where} in {list(RELATIONS)}, got {value!r}")
            return value
        if param.kind == "letter":
            if not (isinstance(value, str) and len(value) == 1 and value.strip()):
                raise ValidationError(field, f"{where} as one character, got {value!r}")
            return value.lower()
        if param.kind == "words":
            if isinstance(value, str) or not isinstance(value, list | tuple) or not value:
                raise ValidationError(field, f"{where} as a non-empty list of strings")
            if not all(isinstance(w, str) for w in value):
                raise ValidationError(field, f"{where} as a list of strings, got {value!r}")
            return tuple(value)
        if not isinstance(value, str) or not value.strip():
            raise ValidationError(field, f"{where} as a non-empty string, got {value!r}")
        return value


_KIND_TEXT: dict[str, str] = {
    "count": "an int",
    "relation": f"one of {list(RELATIONS)}",
    "text": "a string",
    "words": "a list of strings",
    "letter": "one character",
}
