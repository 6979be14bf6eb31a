"""Math final-answer grading: extract the answer of a model output and compare it with the gold.

:func:`grade_math` combines :func:`extract_answer` (named extraction strategies, see
:mod:`workbench.analysis.grading.math_extract`) with :func:`answers_equivalent` (math-verify plus
our own rules for numbers, fractions, complex numbers, solution sets, factorisations, symbolic
expressions and antiderivatives, see :mod:`workbench.analysis.grading.math_equiv`).

Examples
--------
>>> result = grade_math("The roots are <answer>2, -1</answer>", "-1, 2")
>>> result["correct"], result["details"]["method"], result["details"]["strategy"]
(True, 'set', 'answer_tag')
>>> grade_math("I am not sure.", "4")["correct"]
False
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from workbench.analysis.grading.math_equiv import (
    ABS_TOL,
    MIN_SIG_FIGS,
    REL_TOL,
    TIME_LIMIT,
    Equivalence,
    answers_equivalent,
    match_answers,
)
from workbench.analysis.grading.math_extract import (
    ANSWER_PHRASES,
    DEFAULT_STRATEGIES,
    STRATEGIES,
    Extraction,
    extract_answer,
)

__all__ = [
    "ANSWER_PHRASES",
    "DEFAULT_STRATEGIES",
    "STRATEGIES",
    "Equivalence",
    "Extraction",
    "answers_equivalent",
    "extract_answer",
    "grade_math",
    "match_answers",
]


def grade_math(
    text: str,
    gold: str | None,
    *,
    strategies: Sequence[str] = DEFAULT_STRATEGIES,
    rel_tol: float = REL_TOL,
    abs_tol: float = ABS_TOL,
    min_sig_figs: int = MIN_SIG_FIGS,
    time_limit: float = TIME_LIMIT,
) -> dict[str, Any]:
    """Grade a model's final output against a gold math answer.

    Parameters
    ----------
    text : str
        The model output (the final answer, with or without the thinking).
    gold : str or None
        The gold answer.
    strategies : sequence of str
        Extraction strategies, in order (see :data:`DEFAULT_STRATEGIES`).
    rel_tol : float
        Relative tolerance of numeric comparisons.
    abs_tol : float
        Absolute tolerance of numeric comparisons.
    min_sig_figs : int
        A number with at least this many significant figures may be a rounding of the other.
    time_limit : float
        Seconds allowed for the comparison (``<= 0``: no limit); works off the main thread.

    Returns
    -------
    dict
        ``{"correct", "score", "grader": "math", "details"}``. ``correct`` is None (score None) only
        when the gold is empty or None, False (score 0.0) when no answer can be extracted.
        ``details`` holds ``extracted``, ``strategy``, ``span`` (``[start, end]`` in ``text``),
        ``gold`` and ``method`` (the deciding equivalence rule; ``"no_gold"`` or
        ``"no_extraction"`` when there was nothing to compare).

    Examples
    --------
    >>> grade_math(r"so \\boxed{\\dfrac{4}{5}}", "$4/5$")["score"]
    1.0
    >>> grade_math("<answer>7</answer>", "")["correct"] is None
    True
    """
    if gold is None or not str(gold).strip():
        return _result(None, None, None, gold, "no_gold")
    found = extract_answer(text or "", strategies=strategies)
    if found is None:
        return _result(False, 0.0, None, gold, "no_extraction")
    outcome = match_answers(
        found.text,
        gold,
        rel_tol=rel_tol,
        abs_tol=abs_tol,
        min_sig_figs=min_sig_figs,
        time_limit=time_limit,
    )
    return _result(outcome.equal, 1.0 if outcome.equal else 0.0, found, gold, outcome.method)


def _result(
    correct: bool | None,
    score: float | None,
    found: Extraction | None,
    gold: str | None,
    method: str,
) -> dict[str, Any]:
    """Build the grade dictionary."""
    return {
        "correct": correct,
        "score": score,
        "grader": "math",
        "details": {
            "extracted": found.text if found else None,
            "strategy": found.strategy if found else None,
            "span": list(found.span) if found else None,
            "gold": gold,
            "method": method,
        },
    }
