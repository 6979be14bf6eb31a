"""The 25 IFEval instruction types (Zhou et al. 2023) and their checkers.

Each checker re-implements ``instruction_following_eval/instructions.py`` of google-research.
:data:`CHECKERS` maps an instruction id to its :class:`~._spec.Checker`, whose ``summary`` says in
one line what is checked and whose ``differs`` says where ours departs from the reference code
(``None``: it follows it exactly). Use :func:`describe` for the table.
"""

from __future__ import annotations

import difflib

from workbench.analysis.grading.ifeval import (
    checks_change_case,
    checks_combination,
    checks_detectable_content,
    checks_detectable_format,
    checks_keywords,
    checks_language,
    checks_length_constraints,
    checks_punctuation,
    checks_startend,
)
from workbench.analysis.grading.ifeval._spec import Checker
from workbench.errors import ValidationError

__all__ = ["CHECKERS", "INSTRUCTIONS", "describe", "get_checker"]

CHECKERS: dict[str, Checker] = {
    checker.instruction_id: checker
    for module in (
        checks_change_case,
        checks_combination,
        checks_detectable_content,
        checks_detectable_format,
        checks_keywords,
        checks_language,
        checks_length_constraints,
        checks_punctuation,
        checks_startend,
    )
    for checker in module.CHECKERS
}

INSTRUCTIONS: tuple[str, ...] = tuple(sorted(CHECKERS))
"""The 25 official IFEval instruction ids, sorted."""


def get_checker(instruction_id: str) -> Checker:
    """Return the checker of ``instruction_id``.

    Raises
    ------
    ValidationError
        ``instruction_id`` is not one of :data:`INSTRUCTIONS`; the message suggests the closest.
    """
    checker = CHECKERS.get(instruction_id) if isinstance(instruction_id, str) else None
    if checker is not None:
        return checker
    name = str(instruction_id)
    suffix = [i for i in INSTRUCTIONS if i.split(":", 1)[1] == name.split(":")[-1]]
    close = suffix or difflib.get_close_matches(name, INSTRUCTIONS, n=1, cutoff=0.5)
    hint = f"; did you mean {close[0]!r}?" if close else f"; known: {list(INSTRUCTIONS)}"
    raise ValidationError("instruction_id", f"unknown IFEval instruction {name!r}{hint}")


def describe() -> list[dict[str, str]]:
    """One row per instruction: ``instruction_id``, ``params``, ``summary``, ``differs``.

    Examples
    --------
    >>> rows = describe()
    >>> len(rows), rows[0]["instruction_id"]
    (25, 'change_case:capital_word_frequency')
    """
    return [
        {
            "instruction_id": i,
            "params": ", ".join(p.name for p in CHECKERS[i].params),
            "summary": CHECKERS[i].summary,
            "differs": CHECKERS[i].differs or "",
        }
        for i in INSTRUCTIONS
    ]
