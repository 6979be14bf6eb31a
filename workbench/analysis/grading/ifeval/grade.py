"""Grade a response against IFEval instructions, strict or loose.

Strict mode (the default) checks the response as given. Loose mode is the official upper bound:
an instruction counts as followed when any of eight variants passes — the response, and the
response without its first line, its last line or both, each with and without every ``*``.
Following the official evaluation, a blank response (or variant) follows nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from workbench.analysis.grading.ifeval._spec import Args, Checker
from workbench.analysis.grading.ifeval.registry import get_checker
from workbench.errors import ValidationError

__all__ = ["check_instruction", "grade_ifeval", "loose_variants"]


def loose_variants(text: str) -> list[str]:
    """Return the eight texts loose mode tries, in the official order (the first is ``text`` itself).

    Examples
    --------
    >>> loose_variants("Sure!\\n**Body**\\nBye")[2:5]
    ['**Body**\\nBye', 'Sure!\\n**Body**', '**Body**']
    """
    lines = text.split("\n")
    without_first = "\n".join(lines[1:]).strip()
    without_last = "\n".join(lines[:-1]).strip()
    without_both = "\n".join(lines[1:-1]).strip()
    return [
        text,
        text.replace("*", ""),
        without_first,
        without_last,
        without_both,
        without_first.replace("*", ""),
        without_last.replace("*", ""),
        without_both.replace("*", ""),
    ]


def _follows(checker: Checker, args: Args, text: str, loose: bool) -> bool:
    variants = loose_variants(text) if loose else [text]
    return any(v.strip() and checker.func(v, args) for v in variants)


def _check_text(text: Any) -> None:
    if not isinstance(text, str):
        raise ValidationError(
            "text", f"expected the response as a string, got {type(text).__name__}"
        )


def check_instruction(
    instruction_id: str,
    text: str,
    *,
    kwargs: Mapping[str, Any] | None = None,
    prompt: str | None = None,
    loose: bool = False,
) -> bool:
    """Whether ``text`` follows one IFEval instruction.

    Parameters
    ----------
    instruction_id
        One of :data:`~workbench.analysis.grading.ifeval.INSTRUCTIONS`, e.g.
        ``"length_constraints:number_words"``.
    text
        The response (final answer, without the thinking).
    kwargs
        The instruction's arguments as in IFEval's ``input_data.jsonl``, e.g.
        ``{"num_words": 300, "relation": "at least"}``; keys with a None value count as absent.
    prompt
        The prompt; used only as ``prompt_to_repeat`` of ``combination:repeat_prompt`` when
        ``kwargs`` has none.
    loose
        Use the official loose criterion (see the module docstring).

    Returns
    -------
    bool
        True when the instruction is followed.

    Raises
    ------
    ValidationError
        Unknown ``instruction_id`` (with a did-you-mean), or a missing, unknown or bad kwarg (the
        field names it, e.g. ``kwargs.num_words``).

    Examples
    --------
    >>> check_instruction("punctuation:no_comma", "No commas here.")
    True
    >>> check_instruction("keywords:frequency", "Wait, wait.",
    ...                   kwargs={"keyword": "wait", "frequency": 3, "relation": "less than"})
    True
    """
    checker = get_checker(instruction_id)
    args = checker.bind(kwargs, prompt=prompt)
    _check_text(text)
    return _follows(checker, args, text, loose)


def grade_ifeval(
    text: str,
    instruction_id_list: Sequence[str],
    kwargs_list: Sequence[Mapping[str, Any] | None],
    *,
    prompt: str | None = None,
    loose: bool = False,
) -> dict[str, Any]:
    """Grade ``text`` against all the instructions of one IFEval prompt.

    Parameters
    ----------
    text
        The response.
    instruction_id_list, kwargs_list
        The prompt's ``instruction_id_list`` and ``kwargs`` from ``input_data.jsonl``, of the same
        length.
    prompt
        The prompt (see :func:`check_instruction`).
    loose
        Use the official loose criterion.

    Returns
    -------
    dict
        ``{"correct": bool, "score": float, "grader": "ifeval" | "ifeval-loose",
        "details": [{"instruction_id": str, "followed": bool}, ...]}``: ``correct`` is the
        prompt-level verdict (every instruction followed), ``score`` the share followed.

    Raises
    ------
    ValidationError
        The lists are empty or of different lengths, or an id or kwarg is bad (see
        :func:`check_instruction`); everything is validated before any check runs.

    Examples
    --------
    >>> grade_ifeval('"Hello there, friend."', ["startend:quotation", "punctuation:no_comma"],
    ...              [{}, {}])["score"]
    0.5
    """
    ids = list(instruction_id_list)
    kwargs_all = list(kwargs_list)
    if not ids:
        raise ValidationError("instruction_id_list", "needs at least one instruction")
    if len(kwargs_all) != len(ids):
        raise ValidationError(
            "kwargs_list", f"has {len(kwargs_all)} entries for {len(ids)} instructions"
        )
    bound = [(get_checker(i), kw) for i, kw in zip(ids, kwargs_all, strict=True)]
    bound_args = [checker.bind(kw, prompt=prompt) for checker, kw in bound]
    _check_text(text)
    details = [
        {"instruction_id": checker.instruction_id, "followed": _follows(checker, args, text, loose)}
        for (checker, _), args in zip(bound, bound_args, strict=True)
    ]
    followed = sum(1 for d in details if d["followed"])
    return {
        "correct": followed == len(details),
        "score": followed / len(details),
        "grader": "ifeval-loose" if loose else "ifeval",
        "details": details,
    }
