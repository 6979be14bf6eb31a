"""Factorisations, solution sets and math-verify."""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Callable

from workbench.analysis.grading._math_limits import MAX_EXPONENT
from workbench.analysis.grading._math_numbers import parse_real
from workbench.analysis.grading._math_text import _drop_assignment, _split_top_level

# --------------------------------------------------------------------------------------------
# Factorisations

_FACTOR_SPLIT_RE = re.compile(r"\s*(?:×|\\times|\\cdot|·|\*)\s*")
_FACTOR_RE = re.compile(r"^\(?(\d+)\)?(?:\s*\^\s*\{?\s*(\d+)\s*\}?)?$")


def parse_factorization(text: str, *, max_exponent: int = MAX_EXPONENT) -> Counter[int] | None:
    """Parse a product of integers such as ``2 × 3^2 × 5`` into the multiset of its factors.

    Parameters
    ----------
    text : str
        A normalised answer.
    max_exponent : int
        Larger exponents are refused.

    Returns
    -------
    collections.Counter or None
        Factor → multiplicity (factors of 1 are dropped), or None if ``text`` is not such a product.

    Examples
    --------
    >>> sorted(parse_factorization("2 * 3**2 * 5").elements())
    [2, 3, 3, 5]
    >>> parse_factorization("2x") is None
    True
    """
    s = text.replace("**", "^").strip()
    factors: Counter[int] = Counter()
    for part in _FACTOR_SPLIT_RE.split(s):
        match = _FACTOR_RE.match(part)
        if match is None:
            return None
        exponent = int(match.group(2) or 1)
        if exponent > max_exponent:
            return None
        base = int(match.group(1))
        if base != 1:
            factors[base] += exponent
    return factors


def factorizations_equivalent(pred: str, gold: str) -> bool | None:
    """Compare factorisations by their multisets of factors.

    Parameters
    ----------
    pred, gold : str
        Normalised answers.

    Returns
    -------
    bool or None
        None unless the gold is a product of at least two integer factors (or a power); then
        whether the prediction is a product with the same factors.

    Examples
    --------
    >>> factorizations_equivalent("2 * 3 * 5^2", "2 × 3 × 5 × 5")
    True
    >>> factorizations_equivalent("150", "2 × 3 × 5 × 5")
    False
    >>> factorizations_equivalent("2 × 75", "2 × 3 × 5 × 5")
    False
    """
    gold_factors = parse_factorization(gold)
    if gold_factors is None or (sum(gold_factors.values()) < 2):
        return None
    return parse_factorization(pred) == gold_factors


# --------------------------------------------------------------------------------------------
# Sets and lists


def sets_equivalent(pred: str, gold: str, *, same: Callable[[str, str], bool]) -> bool | None:
    """Compare comma- or semicolon-separated lists as sets (any order).

    A gold in parentheses or square brackets (a tuple, point, vector or interval) is ordered
    instead: the prediction needs the same brackets and the same elements in the same order.

    Parameters
    ----------
    pred, gold : str
        Normalised answers; braces around a set are ignored, as is an ``x =`` before an element.
    same : callable
        ``same(pred_element, gold_element)``: equivalence of two elements.

    Returns
    -------
    bool or None
        None unless one side has several elements; then whether every element of each side equals
        some element of the other.

    Examples
    --------
    >>> sets_equivalent("2, -1", "-1, 2", same=lambda a, b: float(a) == float(b))
    True
    >>> sets_equivalent("2", "-1, 2", same=lambda a, b: float(a) == float(b))
    False
    >>> sets_equivalent("(2, 1)", "(1, 2)", same=lambda a, b: float(a) == float(b))
    False
    """

    def elements(text: str) -> tuple[str, list[str]]:
        s = text.strip()
        if parse_real(s):  # 1,234 is a number
            return "", [s]
        brackets = ""
        if len(s) >= 2 and s[0] + s[-1] in ("{}", "[]", "()", "[)", "(]"):
            inner = s[1:-1]
            if len(_split_top_level(inner)) > 1:
                s, brackets = inner, text.strip()[0] + text.strip()[-1]
        items = [_drop_assignment(part) for part in _split_top_level(s)]
        return brackets, [item for item in items if item]

    (p_brackets, p_items), (g_brackets, g_items) = elements(pred), elements(gold)
    if len(p_items) < 2 and len(g_items) < 2:
        return None
    if not p_items or not g_items:
        return False
    if g_brackets not in ("", "{}"):  # a tuple, point or interval: ordered, same brackets
        return (
            p_brackets == g_brackets
            and len(p_items) == len(g_items)
            and all(same(p, g) for p, g in zip(p_items, g_items, strict=True))
        )
    pred_covered = all(any(same(p, g) for g in g_items) for p in p_items)
    return pred_covered and all(any(same(p, g) for p in p_items) for g in g_items)


# --------------------------------------------------------------------------------------------
# math-verify


class _DropTimeoutWarning(logging.Filter):
    """Drop math-verify's warning that its own (signal-based) timeout is disabled: ours is on."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Timeout is disabled")


for _name in ("math_verify.grader", "math_verify.parser"):
    logging.getLogger(_name).addFilter(_DropTimeoutWarning())


def math_verify_equivalent(pred: str, gold: str) -> bool:
    """Ask math-verify whether the LaTeX-wrapped answers are equivalent.

    math-verify's own timeout (``signal.alarm``) is disabled: it only works in the main thread; the
    caller's :func:`call_with_time_limit` bounds the time instead.

    Parameters
    ----------
    pred, gold : str
        Normalised answers.

    Returns
    -------
    bool
        True if math-verify parses both and finds them equal.
    """
    from math_verify import LatexExtractionConfig, parse, verify

    config = [LatexExtractionConfig()]
    gold_parsed = parse(f"${gold}$", extraction_config=config, parsing_timeout=None)
    pred_parsed = parse(f"${pred}$", extraction_config=config, parsing_timeout=None)
    if not gold_parsed or not pred_parsed:
        return False
    return bool(verify(gold_parsed, pred_parsed, timeout_seconds=None))
