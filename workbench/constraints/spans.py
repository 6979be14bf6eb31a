"""Find an instruction's constraint phrases in a prompt, as :class:`~workbench.trajectory.Constraint`.

Where the spans come from, in order of preference (:func:`resolve_constraints`):

1. phrases or character spans the user gives (:func:`constraint_from_phrase`,
   :func:`constraint_from_span`);
2. constraints already recorded on the trajectory with their spans;
3. IFEval metadata (``instruction_id_list`` + ``kwargs``): each instruction's cue rules
   (:data:`~workbench.constraints.cues.CUES`) pick the prompt clause that states it
   (:func:`constraints_from_ifeval`);
4. the generic detector (:func:`find_constraints`) for prompts without metadata.

A *clause* is a sentence of the prompt (:func:`workbench.analysis._segment.sentence_spans`), cut
further at ``;`` and before a coordinating "and", "but" or "then": "Use all lowercase letters and
include the word story at least twice." holds two clauses, one per constraint.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from workbench.analysis._segment import sentence_spans
from workbench.constraints.cues import (
    CONSTRAINT_WORDING,
    CUES,
    KWARG_WEIGHT,
    LANGUAGE_NAMES,
    NUMBER_WORDS,
)
from workbench.errors import ValidationError
from workbench.think import trim_span
from workbench.trajectory import Constraint, Trajectory

__all__ = [
    "clause_spans",
    "constraint_from_phrase",
    "constraint_from_span",
    "constraints_from_ifeval",
    "find_constraints",
    "locate_constraint",
    "resolve_constraints",
]

_CLAUSE_BREAK = re.compile(r";\s*|,?\s+(?=(?:and|but|then)\s)", re.IGNORECASE)
_CONJUNCTION = re.compile(r"\s*(?:and|but|then)\s+", re.IGNORECASE)
_PLACEHOLDER = re.compile(r"\{([A-Za-z_]\w*)\}")


def clause_spans(text: str) -> list[tuple[int, int]]:
    """Return the clause spans of ``text`` (see the module docstring), trimmed, in order."""
    out: list[tuple[int, int]] = []
    for s_start, s_end in sentence_spans(text):
        start = s_start
        for m in _CLAUSE_BREAK.finditer(text, s_start, s_end):
            _add_clause(text, start, m.start(), out)
            start = m.end()
        _add_clause(text, start, s_end, out)
    return out


def _add_clause(text: str, start: int, end: int, out: list[tuple[int, int]]) -> None:
    lead = _CONJUNCTION.match(text, start, end)
    if lead:
        start = lead.end()
    span = trim_span(text, start, end)
    if span[1] > span[0]:
        out.append(span)


def _literal(value: str) -> str:
    body = r"\s+".join(re.escape(w) for w in value.split())
    if not body:
        return ""
    head = r"(?<!\w)" if re.match(r"\w", value.strip()) else ""
    tail = r"(?!\w)" if re.search(r"\w$", value.strip()) else ""
    return head + body + tail


def _kwarg_pattern(name: str, value: Any) -> str:
    if value is None or value == "" or value == []:
        return ""
    if name == "language" and isinstance(value, str):
        names = LANGUAGE_NAMES.get(value.lower(), value)
        return r"\b(?:" + names + r")\b"
    if isinstance(value, bool):
        return ""
    if isinstance(value, int | float) and float(value).is_integer():
        n = int(value)
        words = NUMBER_WORDS.get(n, ())
        return r"(?<!\d)" + str(n) + r"(?!\d)" + "".join("|" + _literal(w) for w in words)
    if isinstance(value, list | tuple):
        parts = [_literal(str(v)) for v in value if str(v).strip()]
        return "|".join(p for p in parts if p)
    return _literal(str(value))


@lru_cache(maxsize=256)
def _compiled(cue: str, kwargs_key: tuple[tuple[str, str], ...]) -> tuple[re.Pattern[str], float]:
    kwargs = {k: _thaw(v) for k, v in kwargs_key}
    names = _PLACEHOLDER.findall(cue)
    if not names:
        return re.compile(cue, re.IGNORECASE), 1.0
    body = cue
    for name in names:
        part = _kwarg_pattern(name, kwargs.get(name))
        if not part:
            return re.compile(r"(?!)"), 0.0
        body = body.replace("{" + name + "}", "(?:" + part + ")")
    return re.compile(body, re.IGNORECASE), KWARG_WEIGHT


def _freeze(kwargs: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, json.dumps(v, sort_keys=True)) for k, v in kwargs.items()))


def _thaw(value: str) -> Any:
    return json.loads(value)


def _score(
    text: str, span: tuple[int, int], rules: Sequence[tuple[re.Pattern[str], float]]
) -> float:
    clause = text[span[0] : span[1]]
    return sum(weight for pattern, weight in rules if weight and pattern.search(clause))


def locate_constraint(
    text: str,
    kind: str,
    kwargs: Mapping[str, Any] | None = None,
    *,
    cues: Mapping[str, Sequence[str]] = CUES,
) -> tuple[int, int] | None:
    """Return the span of the clause of ``text`` that states constraint ``kind``, or ``None``.

    Parameters
    ----------
    text
        The prompt (a message's content).
    kind
        An instruction id with cue rules in ``cues`` (IFEval ids in the default table).
    kwargs
        The instruction's parameters; they fill the cue placeholders.
    cues
        Cue rules per kind (:data:`~workbench.constraints.cues.CUES` by default).

    Returns
    -------
    tuple of int or None
        The best-scoring clause (ties: the earlier one); ``None`` when no cue matches.

    Examples
    --------
    >>> prompt = "Write a poem. Do not use any commas and make it at least 120 words long."
    >>> start, end = locate_constraint(prompt, "punctuation:no_comma")
    >>> prompt[start:end]
    'Do not use any commas'
    >>> start, end = locate_constraint(prompt, "length_constraints:number_words", {"num_words": 120})
    >>> prompt[start:end]
    'make it at least 120 words long.'
    """
    if kind not in cues:
        raise ValueError(f"no cue rules for constraint kind {kind!r}: pass cues= with rules for it")
    key = _freeze(kwargs or {})
    rules = [_compiled(cue, key) for cue in cues[kind]]
    clauses = clause_spans(text)
    scores = [_score(text, span, rules) for span in clauses]
    if not clauses or max(scores) <= 0:
        return None
    best = scores.index(max(scores))
    first = last = best
    # a constraint cut by a clause break ("the keywords "a" and "b"") takes in neighbouring
    # clauses of the same sentence that match its cues too
    while (
        first > 0
        and scores[first - 1] > 0
        and _same_sentence(text, clauses[first - 1], clauses[first])
    ):
        first -= 1
    while (
        last + 1 < len(clauses)
        and scores[last + 1] > 0
        and _same_sentence(text, clauses[last], clauses[last + 1])
    ):
        last += 1
    return clauses[first][0], clauses[last][1]


def _same_sentence(text: str, left: tuple[int, int], right: tuple[int, int]) -> bool:
    gap = text[left[1] : right[0]]
    return (
        ";" not in gap and not re.search(r"[.!?]\s*$", text[left[0] : left[1]]) and "\n" not in gap
    )


def constraint_from_span(
    text: str, start: int, end: int, *, kind: str | None = None, message: int = -1
) -> Constraint:
    """Return a constraint for the character span ``[start, end)`` of ``text``."""
    if not 0 <= start < end <= len(text):
        raise ValidationError(
            "Constraint.spans",
            f"[{start}, {end}) is not a non-empty span of a {len(text)}-char text",
        )
    return Constraint(text=text[start:end], kind=kind, spans=[(start, end)], message=message)


def constraint_from_phrase(
    text: str,
    phrase: str,
    *,
    kind: str | None = None,
    message: int = -1,
    all_occurrences: bool = False,
) -> Constraint:
    """Return a constraint for ``phrase`` found in ``text`` (case-insensitive, any whitespace).

    Raises
    ------
    ValidationError
        When the phrase does not occur in the text; the message quotes the start of the text.
    """
    pattern = r"\s+".join(re.escape(w) for w in phrase.split())
    if not pattern:
        raise ValidationError("Constraint.text", "the constraint phrase is empty")
    matches = list(re.finditer(pattern, text, re.IGNORECASE))
    if not matches:
        preview = text[:120] + ("…" if len(text) > 120 else "")
        raise ValidationError(
            "Constraint.text",
            f"the phrase {phrase!r} does not occur in the prompt ({preview!r}); "
            "copy it from the prompt exactly, or give a character span",
        )
    chosen = matches if all_occurrences else matches[:1]
    return Constraint(text=phrase, kind=kind, spans=[m.span() for m in chosen], message=message)


def constraints_from_ifeval(
    text: str,
    instruction_ids: Sequence[str],
    kwargs_list: Sequence[Mapping[str, Any] | None] | None = None,
    *,
    message: int = -1,
    cues: Mapping[str, Sequence[str]] = CUES,
) -> list[Constraint]:
    """Return one constraint per IFEval instruction, located in the prompt ``text``.

    An instruction whose wording cannot be located keeps its ``kind`` and ``kwargs`` with no spans
    (constraint attention then skips it and says so).
    """
    kwargs_seq = list(kwargs_list) if kwargs_list is not None else [None] * len(instruction_ids)
    if len(kwargs_seq) != len(instruction_ids):
        raise ValidationError(
            "kwargs",
            f"{len(instruction_ids)} instruction ids but {len(kwargs_seq)} kwargs entries",
        )
    out = []
    for kind, kwargs in zip(instruction_ids, kwargs_seq, strict=True):
        clean = {k: v for k, v in dict(kwargs or {}).items() if v is not None}
        span = locate_constraint(text, kind, clean, cues=cues) if kind in cues else None
        out.append(
            Constraint(
                text=text[span[0] : span[1]] if span else kind,
                kind=kind,
                kwargs=clean,
                spans=[span] if span else [],
                message=message,
            )
        )
    return out


def find_constraints(
    text: str,
    *,
    message: int = -1,
    wording: tuple[str, str] = CONSTRAINT_WORDING,
    cues: Mapping[str, Sequence[str]] = CUES,
) -> list[Constraint]:
    """Detect constraint clauses in a prompt that has no metadata.

    A clause is a constraint when it matches both patterns of ``wording`` (a requirement cue and a
    format cue). Its ``kind`` is the instruction id whose kwarg-free cue rules score highest on it
    (``None`` when none matches).

    Examples
    --------
    >>> [c.text for c in find_constraints("Tell me about owls. Answer in all lowercase letters.")]
    ['Answer in all lowercase letters.']
    """
    need, fmt = (re.compile(p, re.IGNORECASE) for p in wording)
    out = []
    for start, end in clause_spans(text):
        clause = text[start:end]
        if not (need.search(clause) and fmt.search(clause)):
            continue
        best_kind, best = None, 0.0
        for kind, rules in cues.items():
            score = _score(text, (start, end), [_compiled(c, ()) for c in rules])
            if score > best:
                best_kind, best = kind, score
        out.append(Constraint(text=clause, kind=best_kind, spans=[(start, end)], message=message))
    return out


def _message_text(trajectory: Trajectory, message: int) -> str:
    if not trajectory.prompt:
        raise ValidationError(
            "Trajectory.prompt", "the trajectory has no prompt to find constraints in"
        )
    try:
        return str(trajectory.prompt[message]["content"])
    except IndexError:
        raise ValidationError(
            "Constraint.message", f"the prompt has {len(trajectory.prompt)} messages, not {message}"
        ) from None


def _last_user(trajectory: Trajectory) -> int:
    for i in range(len(trajectory.prompt) - 1, -1, -1):
        if trajectory.prompt[i].get("role") == "user":
            return i - len(trajectory.prompt)
    return -1


def resolve_constraints(
    trajectory: Trajectory, phrases: Sequence[str] | None = None
) -> list[Constraint]:
    """Return the constraints of a trajectory with character spans, by the module's precedence.

    Parameters
    ----------
    trajectory
        The trajectory; constraints are looked for in its last user message.
    phrases
        Phrases to use instead of anything recorded (each must occur in that message).

    Returns
    -------
    list of Constraint
        Possibly empty (no metadata and nothing the generic detector recognises); constraints
        whose wording could not be located have no spans.
    """
    message = _last_user(trajectory)
    text = _message_text(trajectory, message)
    if phrases:
        return [constraint_from_phrase(text, p, message=message) for p in phrases]
    recorded = trajectory.constraints
    if recorded:
        out = []
        for c in recorded:
            if c.spans:
                out.append(c)
            elif c.kind in CUES:
                out.extend(constraints_from_ifeval(text, [c.kind], [c.kwargs], message=message))
            else:
                out.append(constraint_from_phrase(text, c.text, kind=c.kind, message=message))
        return out
    ids = trajectory.metadata.get("instruction_id_list")
    if isinstance(ids, list) and ids:
        kwargs = trajectory.metadata.get("kwargs")
        if not isinstance(kwargs, list) or len(kwargs) != len(ids):
            kwargs = [{} for _ in ids]
        return constraints_from_ifeval(text, [str(i) for i in ids], kwargs, message=message)
    return find_constraints(text, message=message)
