"""Equivalence of a predicted math answer and a gold answer.

:func:`match_answers` normalises both answers (math delimiters, ``\\boxed``, ``\\text``, a leading
``x =`` or a chain ``… = value``) and then applies these rules in order; the first rule that
decides names the ``method``:

``exact``
    Equal strings after normalisation (whitespace ignored).
``factorization``
    The gold is a product of integers (``2 × 3 × 5 × 5``): the prediction must be a product with the
    same multiset of factors (``2 * 3 * 5^2``); an unfactored ``150`` is wrong.
``numeric``
    Both are real numbers (decimals, scientific notation, percentages, thousands separators,
    ``a/b`` and ``\\frac{a}{b}``), compared with :func:`numbers_close`, which honours the precision
    the numbers are written with.
``complex``
    Both are complex numbers (``-3.0 - 3.0i``, ``3i``, ``(a+bi)``, ``i`` or ``j``), compared part by
    part with the tolerances.
``set``
    Either side is a comma/semicolon-separated list: the same elements in any order, each compared
    with all these rules.
``form``
    Equal in value but not in the form the question asks for: a fraction not in lowest terms when
    the gold is (:func:`fraction_form_matches`), or a product of sums when the gold is an expanded
    polynomial (:func:`expanded_form_matches`).
``math_verify``
    `math-verify <https://github.com/huggingface/Math-Verify>`_ on the ``$…$``-wrapped answers
    (positive verdicts only; its negatives fall through to sympy).
``antiderivative``
    The gold has an integration constant ``C``: the derivatives must agree
    (:func:`antiderivatives_equivalent`).
``symbolic``
    sympy: the difference expands to zero, or vanishes at random sample points
    (:func:`symbolic_equivalent`).

``none`` means that no rule could read the answers, ``timeout`` that the time limit was reached.

Plain numbers never reach math-verify: it rounds floats to 6 decimals, which accepts wrong answers to
questions that ask for 10-12 significant digits and rejects correct 3-significant-figure answers.
Factorisations and forms are decided before it too, because it accepts an unfactored product.

Every comparison runs under a time limit (:func:`call_with_time_limit`) that works in any thread
(math-verify's own, ``signal.alarm``-based, timeout is switched off), and inputs that would make
sympy compute huge numbers in uninterruptible C code are refused first (:func:`too_complex`).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from workbench._time_limit import ComparisonTimeout, call_with_time_limit
from workbench.analysis.grading._math_limits import (
    ABS_TOL,
    MAX_EXPONENT,
    MAX_EXPR_CHARS,
    MIN_SIG_FIGS,
    REL_TOL,
    TIME_LIMIT,
)
from workbench.analysis.grading._math_numbers import (
    RealNumber,
    complex_equivalent,
    fraction_form_matches,
    numbers_close,
    parse_complex,
    parse_real,
)
from workbench.analysis.grading._math_sets import (
    factorizations_equivalent,
    math_verify_equivalent,
    parse_factorization,
    sets_equivalent,
)
from workbench.analysis.grading._math_symbolic import (
    SympyOptions,
    antiderivatives_equivalent,
    expanded_form_matches,
    is_antiderivative_gold,
    symbolic_equivalent,
    too_complex,
)
from workbench.analysis.grading._math_text import _drop_assignment, normalize_answer

_LOG = logging.getLogger(__name__)

__all__ = [
    "ComparisonTimeout",
    "Equivalence",
    "RealNumber",
    "SympyOptions",
    "answers_equivalent",
    "antiderivatives_equivalent",
    "call_with_time_limit",
    "complex_equivalent",
    "expanded_form_matches",
    "factorizations_equivalent",
    "fraction_form_matches",
    "is_antiderivative_gold",
    "match_answers",
    "math_verify_equivalent",
    "normalize_answer",
    "numbers_close",
    "parse_complex",
    "parse_factorization",
    "parse_real",
    "sets_equivalent",
    "symbolic_equivalent",
    "too_complex",
]

# --------------------------------------------------------------------------------------------
# The decision procedure


@dataclass(frozen=True)
class Equivalence:
    """The outcome of comparing two answers.

    Parameters
    ----------
    equal : bool
        Whether the answers are equivalent.
    method : str
        The rule that decided (see the module docstring), ``"none"`` when no rule applied and
        ``"timeout"`` when the time limit was reached.
    """

    equal: bool
    method: str


@dataclass(frozen=True)
class _Options:
    rel_tol: float
    abs_tol: float
    min_sig_figs: int
    sympy: SympyOptions


def _numeric(p_reals: list[RealNumber], g_reals: list[RealNumber], opts: _Options) -> Equivalence:
    """Apply the numeric rule, with the lowest-terms check of fractions."""
    for a in p_reals:
        for b in g_reals:
            close = numbers_close(
                a, b, rel_tol=opts.rel_tol, abs_tol=opts.abs_tol, min_sig_figs=opts.min_sig_figs
            )
            if close and not fraction_form_matches(a, b):
                return Equivalence(False, "form")
            if close:
                return Equivalence(True, "numeric")
    return Equivalence(False, "numeric")


def _match(pred: str, gold: str, opts: _Options) -> Equivalence:
    """Apply the rules in order (see the module docstring)."""
    p, g = normalize_answer(pred), normalize_answer(gold)
    if "=" in p and "=" not in g:
        p = _drop_assignment(p)
    if not p:
        return Equivalence(False, "none")
    if re.sub(r"\s+", "", p) == re.sub(r"\s+", "", g):
        return Equivalence(True, "exact")

    decided = factorizations_equivalent(p, g)
    if decided is not None:
        return Equivalence(decided, "factorization")

    p_reals, g_reals = parse_real(p), parse_real(g)
    if p_reals and g_reals:
        return _numeric(p_reals, g_reals, opts)

    decided = complex_equivalent(p, g, rel_tol=opts.rel_tol, abs_tol=opts.abs_tol)
    if decided is not None:
        return Equivalence(decided, "complex")

    decided = sets_equivalent(p, g, same=lambda a, b: _match(a, b, opts).equal)
    if decided is not None:
        return Equivalence(decided, "set")

    if expanded_form_matches(p, g, opts=opts.sympy) is False:
        return Equivalence(False, "form")

    limits = {"max_chars": opts.sympy.max_chars, "max_exponent": opts.sympy.max_exponent}
    simple = not too_complex(p, **limits) and not too_complex(g, **limits)
    if simple and math_verify_equivalent(p, g):
        return Equivalence(True, "math_verify")

    if is_antiderivative_gold(g, opts=opts.sympy):
        decided = antiderivatives_equivalent(p, g, opts=opts.sympy)
        method = "antiderivative"
    else:
        decided = symbolic_equivalent(p, g, opts=opts.sympy)
        method = "symbolic"
    if decided is not None:
        return Equivalence(decided, method)
    return Equivalence(False, "none")


def match_answers(
    pred: str,
    gold: str,
    *,
    rel_tol: float = REL_TOL,
    abs_tol: float = ABS_TOL,
    min_sig_figs: int = MIN_SIG_FIGS,
    time_limit: float = TIME_LIMIT,
    max_chars: int = MAX_EXPR_CHARS,
    max_exponent: int = MAX_EXPONENT,
) -> Equivalence:
    """Compare a predicted answer with the gold answer and say which rule decided.

    Parameters
    ----------
    pred : str
        The predicted (extracted) answer.
    gold : str
        The gold answer.
    rel_tol : float
        Relative tolerance of numeric comparisons (see :func:`numbers_close`).
    abs_tol : float
        Absolute tolerance of numeric comparisons.
    min_sig_figs : int
        A number with at least this many significant figures may be a rounding of the other.
    time_limit : float
        Seconds allowed for the whole comparison (``<= 0``: no limit); works off the main thread.
    max_chars : int
        Answers longer than this are not given to sympy.
    max_exponent : int
        Answers with larger integer exponents are not given to sympy.

    Returns
    -------
    Equivalence
        Whether they are equivalent and the deciding rule.

    Examples
    --------
    >>> match_answers("2, -1", "-1, 2")
    Equivalence(equal=True, method='set')
    >>> match_answers("r = 92.0", "92")
    Equivalence(equal=True, method='numeric')
    """
    sympy_opts = SympyOptions(max_chars=max_chars, max_exponent=max_exponent)
    opts = _Options(rel_tol, abs_tol, min_sig_figs, sympy_opts)
    try:
        return call_with_time_limit(lambda: _match(pred, gold, opts), seconds=time_limit)
    except ComparisonTimeout:
        _LOG.warning("math answer comparison timed out after %s s", time_limit)
        return Equivalence(False, "timeout")


def answers_equivalent(
    pred: str,
    gold: str,
    *,
    rel_tol: float = REL_TOL,
    abs_tol: float = ABS_TOL,
    min_sig_figs: int = MIN_SIG_FIGS,
    time_limit: float = TIME_LIMIT,
) -> bool:
    """Whether a predicted answer is equivalent to the gold answer (``match_answers(...).equal``).

    Parameters
    ----------
    pred, gold, rel_tol, abs_tol, min_sig_figs, time_limit
        As for :func:`match_answers`.

    Returns
    -------
    bool
        See :func:`match_answers` for the rules.

    Examples
    --------
    >>> answers_equivalent(r"\\dfrac{4}{5}", "4/5")
    True
    >>> answers_equivalent("-3.0 - 3.0i", "-3 - 3j")
    True
    """
    return match_answers(
        pred,
        gold,
        rel_tol=rel_tol,
        abs_tol=abs_tol,
        min_sig_figs=min_sig_figs,
        time_limit=time_limit,
    ).equal
