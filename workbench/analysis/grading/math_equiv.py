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

import ctypes
import functools
import logging
import math
import random
import re
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any, TypeVar

from workbench.analysis.grading.math_extract import extract_boxed

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

T = TypeVar("T")

#: Default relative tolerance of numeric comparisons.
REL_TOL = 1e-4
#: Default absolute tolerance of numeric comparisons.
ABS_TOL = 1e-8
#: A number written with at least this many significant figures may be a rounding of the other.
MIN_SIG_FIGS = 3
#: Default time limit, in seconds, of one comparison.
TIME_LIMIT = 5.0
#: Answers longer than this many characters are not handed to sympy.
MAX_EXPR_CHARS = 4000
#: Answers with integer exponents above this are not given to sympy or math-verify: a huge power
#: is computed in C and cannot be interrupted by the time limit.
MAX_EXPONENT = 100
#: Longer answers are not read as numbers.
MAX_NUMBER_CHARS = 1000
#: Decimal literals with a larger power-of-ten exponent (``1e999999999``) are not numbers to us.
MAX_DECIMAL_EXPONENT = 1000
#: Number of random points at which two expressions are compared numerically.
SAMPLE_POINTS = 6

_LOG = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------
# Time limit


class ComparisonTimeout(BaseException):
    """A comparison ran past its time limit.

    A :class:`BaseException`, so that ``except Exception`` in sympy or math-verify cannot swallow it.
    """


#: How often the watchdog raises again while an interrupted call has not yet returned.
_REFIRE_S = 0.05


class _Interrupt(BaseException):
    """Raised asynchronously inside the thread whose call ran out of time."""


def _set_async_exc(thread_id: int, exc: type[BaseException] | None) -> None:
    """Schedule ``exc`` in thread ``thread_id`` (None clears a pending one)."""
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_id), ctypes.py_object(exc) if exc is not None else None
    )


def call_with_time_limit(func: Callable[[], T], *, seconds: float) -> T:
    """Call ``func()`` and interrupt it if it runs longer than ``seconds``.

    Unlike ``signal.alarm`` (which math-verify uses, and which only works in the main thread and
    would cancel pytest-timeout's alarm), this works in any thread: a watchdog timer raises an
    exception asynchronously in the calling thread, and raises it again every ``_REFIRE_S``
    seconds until the call returns (the interpreter swallows an exception that lands in a weakref
    callback). A call that returns after its limit counts as timed out. The interruption happens
    between Python bytecodes, so a single long C call (a huge integer power) is only interrupted
    when it returns; callers cap such inputs beforehand.

    Parameters
    ----------
    func : callable
        The work, called without arguments in the current thread.
    seconds : float
        The time limit; ``<= 0`` disables it.

    Returns
    -------
    object
        What ``func`` returned.

    Raises
    ------
    ComparisonTimeout
        If the limit was reached.

    Examples
    --------
    >>> call_with_time_limit(lambda: 1 + 1, seconds=1.0)
    2
    """
    if seconds <= 0:
        return func()
    thread_id = threading.get_ident()
    lock = threading.Lock()
    state: dict[str, Any] = {"done": False, "fired": False, "timer": None}

    def fire() -> None:
        # An asynchronous exception delivered inside a weakref callback or ``__del__`` is printed
        # and swallowed by the interpreter, so the watchdog keeps raising until the call returns.
        with lock:
            if state["done"]:
                return
            state["fired"] = True
            _set_async_exc(thread_id, _Interrupt)
            state["timer"] = threading.Timer(_REFIRE_S, fire)
            state["timer"].daemon = True
            state["timer"].start()

    def disarm() -> None:
        with lock:
            state["done"] = True
            state["timer"].cancel()
        if state["fired"]:  # an undelivered interrupt must not escape into the caller
            _set_async_exc(thread_id, None)

    with lock:
        state["timer"] = threading.Timer(seconds, fire)
        state["timer"].daemon = True
    try:
        try:
            state["timer"].start()
            result = func()
        finally:
            disarm()
    except _Interrupt:
        disarm()
        raise ComparisonTimeout(f"comparison exceeded {seconds} s") from None
    if state["fired"]:
        # The interrupt was raised but swallowed somewhere (C code that clears errors, a weakref
        # callback): whatever ``func`` returned after its time ran out is not trusted.
        raise ComparisonTimeout(f"comparison exceeded {seconds} s")
    return result


# --------------------------------------------------------------------------------------------
# Normalisation

_WRAPPERS = (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]"), ("**", "**"), ("`", "`"))
_TEXT_CMD_RE = re.compile(r"\\(?:text|textbf|mathrm|mathbf|operatorname|mbox)\s*\{([^{}]*)\}")
_SPACING_RE = re.compile(r"\\[,;:! ]|\\q?quad|\\displaystyle|\\left|\\right|~")
_ASSIGNMENT_RE = re.compile(r"^\s*[A-Za-z][A-Za-z0-9_]*\s*(?:=|\\approx|≈)\s*")
_CURRENCY_RE = re.compile(r"^(?:\\\$|\$|€|£)\s*(?=[-+]?[\d.])")
_UNIT_SUFFIX_RE = re.compile(
    r"^([-+]?[\d.,]+(?:[eE][-+]?\d+)?%?)\s+([A-Za-z]{2,}(?:\s+[A-Za-z]{2,})*)$"
)
#: Words after a number that are mathematics, not units (``3 pi`` is not ``3``).
_NOT_UNITS = frozenset({"pi", "sqrt", "sin", "cos", "tan", "log", "ln", "exp", "times", "cdot"})


def normalize_answer(text: str) -> str:
    """Strip presentation from an answer: math delimiters, boxes, text commands, spacing, units.

    A currency sign before a number and unit words after it (``$18``, ``42 apples``) are dropped.

    Parameters
    ----------
    text : str
        An answer (extracted or gold).

    Returns
    -------
    str
        The normalised answer.

    Examples
    --------
    >>> normalize_answer(r"$\\boxed{\\dfrac{1}{2}}$.")
    '\\\\frac{1}{2}'
    >>> normalize_answer(r"\\(x = 3\\)")
    'x = 3'
    >>> normalize_answer("$18"), normalize_answer(r"42 \\text{ apples}"), normalize_answer("3 pi")
    ('18', '42', '3 pi')
    """
    s = text.strip().replace("\u2212", "-").replace("\u2013", "-")
    for _ in range(5):
        before = s
        boxed = extract_boxed(s)
        if boxed is not None:
            s = boxed.text
        s = _TEXT_CMD_RE.sub(r"\1", s)
        s = _SPACING_RE.sub(" ", s).strip()
        s = s.rstrip(".").strip()
        for left, right in _WRAPPERS:
            if len(s) > len(left) + len(right) and s.startswith(left) and s.endswith(right):
                s = s[len(left) : -len(right)].strip()
        if s.count("$") <= 1:
            s = _CURRENCY_RE.sub("", s)
        units = _UNIT_SUFFIX_RE.match(s)
        if units and not _NOT_UNITS.intersection(units.group(2).lower().split()):
            s = units.group(1)
        if s == before:
            break
    s = re.sub(r"\\[dt]frac", r"\\frac", s)
    return s


def _split_top_level(text: str, separators: str = ",;") -> list[str]:
    """Split at separators outside brackets."""
    parts: list[str] = []
    depth = 0
    current: list[str] = []
    for char in text:
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        if char in separators and depth == 0:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    parts.append("".join(current).strip())
    return parts


def _drop_assignment(text: str) -> str:
    """``x = 3`` → ``3``; ``(a) - (b) = 104 - 12i`` → ``104 - 12i`` (the last right-hand side)."""
    match = _ASSIGNMENT_RE.match(text)
    if match:
        return text[match.end() :].strip()
    if "=" in text:
        return text.rsplit("=", 1)[1].strip()
    return text


# --------------------------------------------------------------------------------------------
# Real numbers


@dataclass(frozen=True)
class RealNumber:
    """A real number as written.

    Parameters
    ----------
    value : Fraction
        The exact value of the literal.
    ulp : Fraction or None
        One unit in the last written place (``0.01`` for ``3.14``, ``1e6`` for ``8.45e+8``); None for
        fractions, whose value is exact.
    sig_figs : int
        Significant figures written (0 for zero and for fractions).
    ratio : tuple of int or None
        ``(numerator, denominator)`` as written, for a fraction of two integers.
    """

    value: Fraction
    ulp: Fraction | None
    sig_figs: int
    ratio: tuple[int, int] | None = None


_DECIMAL = r"(?:\d{1,3}(?:,\d{3})+(?:\.\d*)?|\d+(?:\.\d*)?|\.\d+)"
_TIMES = r"(?:\*|\\times|×|\\cdot|·|x)"
_SCI_RE = re.compile(
    rf"^([-+]?{_DECIMAL})(?:[eE]([-+]?\d+)|\s*{_TIMES}\s*10\s*(?:\^|\*\*)\s*\{{?\s*\(?([-+]?\d+)\)?\s*\}}?)?$"
)
_FRAC_RE = re.compile(r"^([-+]?)\\frac\s*\{\s*([-+]?[\d.]+)\s*\}\s*\{\s*([-+]?[\d.]+)\s*\}$")
_SLASH_RE = re.compile(rf"^([-+]?{_DECIMAL})\s*/\s*([-+]?{_DECIMAL})$")


def _decimal_literal(text: str) -> RealNumber | None:
    """Parse a decimal or scientific literal (None if ``text`` is not one)."""
    match = _SCI_RE.match(text)
    if match is None:
        return None
    mantissa, exp_e, exp_times = match.groups()
    exponent = exp_e if exp_e is not None else exp_times
    literal = mantissa.replace(",", "") + (f"e{exponent}" if exponent is not None else "")
    try:
        number = Decimal(literal)
    except InvalidOperation:
        return None
    _sign, digits, exp = number.as_tuple()
    if not isinstance(exp, int) or abs(number.adjusted()) > MAX_DECIMAL_EXPONENT:
        return None
    sig_figs = len("".join(map(str, digits)).lstrip("0"))
    return RealNumber(Fraction(number), Fraction(10) ** exp, sig_figs)


def parse_real(text: str) -> list[RealNumber]:
    """Parse a real number: decimal, scientific, thousands-separated, percentage or fraction.

    Parameters
    ----------
    text : str
        A normalised answer.

    Returns
    -------
    list of RealNumber
        The readings of the answer: empty if it is not a number, two for a percentage (``50%`` reads
        as ``50`` and as ``0.5``), else one.

    Examples
    --------
    >>> [float(r.value) for r in parse_real("1,234.5")]
    [1234.5]
    >>> parse_real("8.45e+8")[0].sig_figs
    3
    >>> [float(r.value) for r in parse_real(r"-\\frac{3}{4}")]
    [-0.75]
    >>> [float(r.value) for r in parse_real("12.5%")]
    [12.5, 0.125]
    >>> parse_real("x + 1")
    []
    """
    s = text.strip().replace("{,}", ",").replace("\\%", "%")
    if len(s) > MAX_NUMBER_CHARS:
        return []
    percent = s.endswith("%")
    if percent:
        s = s[:-1].strip()
    if s.startswith("(") and s.endswith(")"):
        s = s[1:-1].strip()
    number = _decimal_literal(s)
    if number is None:
        frac = _FRAC_RE.match(s)
        slash = _SLASH_RE.match(s)
        parts: tuple[str, str] | None = None
        sign = ""
        if frac is not None:
            sign, num, den = frac.groups()
            parts = (num, den)
        elif slash is not None:
            parts = (slash.group(1), slash.group(2))
        if parts is None:
            return []
        num_lit, den_lit = (_decimal_literal(p) for p in parts)
        if num_lit is None or den_lit is None or den_lit.value == 0:
            return []
        value = num_lit.value / den_lit.value * (-1 if sign == "-" else 1)
        integers = all(re.fullmatch(r"[-+]?\d+", part.strip()) for part in parts)
        ratio = (int(num_lit.value), int(den_lit.value)) if integers else None
        number = RealNumber(value, None, 0, ratio)
    if not percent:
        return [number]
    hundred = Fraction(100)
    scaled_ulp = number.ulp / hundred if number.ulp is not None else None
    return [number, RealNumber(number.value / hundred, scaled_ulp, number.sig_figs)]


def numbers_close(
    pred: RealNumber,
    gold: RealNumber,
    *,
    rel_tol: float = REL_TOL,
    abs_tol: float = ABS_TOL,
    min_sig_figs: int = MIN_SIG_FIGS,
) -> bool:
    """Whether two written numbers agree, taking their written precision into account.

    The numbers agree when their difference is within any of:

    * half a unit in the last place of the less precise of the two, if that one has at least
      ``min_sig_figs`` significant figures: it is a rounding of the other (``8.45e+8`` for
      ``845317371.1``, ``-1.245`` for ``-1.2447``), even if that is looser than ``rel_tol``;
    * ``abs_tol``, but no more than ``rel_tol`` times the gold (unless the gold is zero), so that
      ``-1.11e-12`` does not equal ``1.1077e-12``;
    * ``rel_tol`` times the gold, but no more than half a unit in the last written place of the
      less precise one: written digits count (``8139577951`` is not ``8139577950``,
      ``2.208059406`` is not ``2.208059336``).

    Parameters
    ----------
    pred, gold : RealNumber
        The numbers (:func:`parse_real`).
    rel_tol : float
        Relative tolerance, relative to ``|gold|``.
    abs_tol : float
        Absolute tolerance.
    min_sig_figs : int
        Minimum significant figures of a number to be read as a rounding of the other.

    Returns
    -------
    bool
        Whether they agree.

    Examples
    --------
    >>> one = parse_real
    >>> numbers_close(one("8.45e+8")[0], one("845317371.1063745")[0])
    True
    >>> numbers_close(one("8.46e+8")[0], one("845317371.1063745")[0])
    False
    >>> numbers_close(one("0.333333")[0], one("1/3")[0])
    True
    >>> numbers_close(one("4.88004333714")[0], one("4.88004333694")[0])
    True
    """
    diff = abs(pred.value - gold.value)
    relative = Fraction(rel_tol) * abs(gold.value)
    absolute = min(Fraction(abs_tol), relative) if gold.value else Fraction(abs_tol)
    tolerance = max(absolute, relative)
    ulps = [u for u in (pred.ulp, gold.ulp) if u is not None]
    if ulps:
        coarse = pred if pred.ulp == max(ulps) else gold
        half_ulp = max(ulps) / 2
        rounding = half_ulp if coarse.sig_figs >= min_sig_figs else Fraction(0)
        tolerance = max(rounding, absolute, min(relative, half_ulp))
    # A tiny slack so that exact roundings survive binary floating point in the inputs.
    return diff <= tolerance * (1 + Fraction(1, 10**9))


def fraction_form_matches(pred: RealNumber, gold: RealNumber) -> bool:
    """Require lowest terms of a fraction when the gold fraction is in lowest terms.

    ``10767/11692`` equals ``291/316`` but does not answer "simplify the fraction".

    Parameters
    ----------
    pred, gold : RealNumber
        The numbers (:func:`parse_real`).

    Returns
    -------
    bool
        False only if both are written as integer fractions, the gold's is reduced and the
        prediction's is not.

    Examples
    --------
    >>> fraction_form_matches(parse_real("10767/11692")[0], parse_real("291/316")[0])
    False
    >>> fraction_form_matches(parse_real("0.5")[0], parse_real("1/2")[0])
    True
    """
    if pred.ratio is None or gold.ratio is None:
        return True
    return math.gcd(*gold.ratio) != 1 or math.gcd(*pred.ratio) == 1


# --------------------------------------------------------------------------------------------
# Complex numbers

_IMAG_TERM_RE = re.compile(rf"^([-+]?)\s*(?:({_DECIMAL})?\s*\*?\s*[ij]|[ij]\s*\*?\s*({_DECIMAL}))$")


def parse_complex(text: str) -> complex | None:
    """Parse ``a + bi`` (also ``a - bi``, ``bi``, ``i``, ``a + ib``, ``(a+bi)``, ``b*j``).

    Parameters
    ----------
    text : str
        A normalised answer.

    Returns
    -------
    complex or None
        The number, or None if ``text`` is not a complex number with an ``i``/``j`` part.

    Examples
    --------
    >>> parse_complex("-3.0 - 3.0i")
    (-3-3j)
    >>> parse_complex("(2 + i)")
    (2+1j)
    >>> parse_complex("4") is None
    True
    """
    s = text.strip().replace(" ", "").replace("\\cdot", "*")
    while s.startswith("(") and s.endswith(")"):
        s = s[1:-1]
    if not s or not re.search(r"[ij]", s):
        return None
    # Split before each sign that is not the sign of an exponent (1e-5) or a doubled sign.
    terms = [t for t in re.split(r"(?<=[^eE+\-])(?=[-+])", s) if t]
    total = complex(0, 0)
    for term in terms:
        imag = _IMAG_TERM_RE.match(term)
        if imag is not None:
            sign, before, after = imag.groups()
            digits = before or after
            magnitude = float(digits.replace(",", "")) if digits else 1.0
            total += complex(0, -magnitude if sign == "-" else magnitude)
            continue
        reals = parse_real(term)
        if len(reals) != 1:
            return None
        total += float(reals[0].value)
    return total


def complex_equivalent(
    pred: str, gold: str, *, rel_tol: float = REL_TOL, abs_tol: float = ABS_TOL
) -> bool | None:
    """Compare complex numbers part by part.

    Parameters
    ----------
    pred, gold : str
        Normalised answers.
    rel_tol, abs_tol : float
        Tolerances, relative to the gold's modulus and absolute.

    Returns
    -------
    bool or None
        None unless both parse as complex numbers and at least one has an ``i``/``j``.

    Examples
    --------
    >>> complex_equivalent("6 - 9j", "6.0 - 9.0i")
    True
    >>> complex_equivalent("6 + 9i", "6.0 - 9.0i")
    False
    """
    p = parse_complex(pred)
    g = parse_complex(gold)
    if p is None and g is None:
        return None
    if p is None:
        reals = parse_real(pred)
        p = complex(float(reals[0].value)) if len(reals) == 1 else None
    if g is None:
        reals = parse_real(gold)
        g = complex(float(reals[0].value)) if len(reals) == 1 else None
    if p is None or g is None:
        return None
    tolerance = max(abs_tol, rel_tol * abs(g))
    return abs(p.real - g.real) <= tolerance and abs(p.imag - g.imag) <= tolerance


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


# --------------------------------------------------------------------------------------------
# sympy

#: Names that sympy parses as functions or constants; every other identifier is a symbol.
_FUNCTIONS = frozenset(
    {
        *("sin", "cos", "tan", "cot", "sec", "csc", "asin", "acos", "atan", "acot", "asec", "acsc"),
        *("sinh", "cosh", "tanh", "coth", "asinh", "acosh", "atanh"),
        *("exp", "log", "sqrt", "Abs", "pi", "E"),
    }
)
_ALIASES = {"arcsin": "asin", "arccos": "acos", "arctan": "atan", "ln": "log", "abs": "Abs"}
_IDENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BIG_EXPONENT_RE = re.compile(r"(?:\*\*|\^)\s*\(?\s*\{?\s*[-+]?(\d+)")
_POWER_RE = re.compile(r"\*\*|\^")
_UNSAFE_RE = re.compile(r"__|\.\s*[A-Za-z_]|[\'\"`;:=\[\]@]|\b(?:lambda|import)\b")
_E_NOTATION_RE = re.compile(r"\d\.?\d*[eE][-+]?(\d+)")


def _exponent_group(rest: str) -> tuple[str, str]:
    """Split the text after a power operator into the exponent and what follows it."""
    rest = rest.lstrip()
    if rest[:1] in ("(", "{", "["):
        depth = 0
        for index, char in enumerate(rest):
            if char in "({[":
                depth += 1
            elif char in ")}]":
                depth -= 1
            if depth == 0:
                return rest[: index + 1], rest[index + 1 :]
        return rest, ""
    match = re.match(r"[-+]?[\w.]*", rest)
    end = match.end() if match else 0
    return rest[:end], rest[end:]


def too_complex(
    text: str, *, max_chars: int = MAX_EXPR_CHARS, max_exponent: int = MAX_EXPONENT
) -> bool:
    """Whether an answer is too long or has powers that could not be interrupted once started.

    Parameters
    ----------
    text : str
        A normalised answer.
    max_chars : int
        Longer answers are too complex.
    max_exponent : int
        Larger integer exponents are too complex.

    Returns
    -------
    bool
        True for long answers, integer exponents above ``max_exponent``, decimal exponents above
        :data:`MAX_DECIMAL_EXPONENT` (``1e999999999``), numeric power towers (``9**9**9``,
        ``2^{3^{4}}``), factorials, and ellipses.

    Examples
    --------
    >>> too_complex("x**2 + 3*x"), too_complex("9**9**9"), too_complex("E**(x**2)")
    (False, True, False)
    >>> too_complex("2^{3^{4}}"), too_complex("(x+1)**1000"), too_complex("(2**3)**4")
    (True, True, False)
    """
    if len(text) > max_chars or "..." in text or "\u2026" in text or "!" in text:
        return True
    if any(int(e) > max_exponent for e in _BIG_EXPONENT_RE.findall(text)):
        return True
    if any(int(e) > MAX_DECIMAL_EXPONENT for e in _E_NOTATION_RE.findall(text)):
        return True
    # A power whose exponent has no letters but contains, or is followed by, another power is a
    # numeric tower; (2**3)**4 is not one.
    for match in _POWER_RE.finditer(text):
        exponent, after = _exponent_group(text[match.end() :])
        if re.search(r"[A-Za-z]", exponent):
            continue
        if _POWER_RE.search(exponent) or _POWER_RE.match(after.lstrip()):
            return True
    return False


def _latex_to_sympy_syntax(text: str) -> str:
    """Rewrite the LaTeX that models use in plain answers into sympy syntax."""
    s = text
    for _ in range(10):  # nested \frac
        new = re.sub(r"\\frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}", r"((\1)/(\2))", s)
        new = re.sub(r"\\sqrt\s*\{([^{}]*)\}", r"sqrt(\1)", new)
        if new == s:
            break
        s = new
    s = re.sub(r"\\(?:times|cdot)|×|·", "*", s)
    s = re.sub(r"\\([A-Za-z]+)", r"\1", s)  # \sin -> sin, \pi -> pi
    s = s.replace("{", "(").replace("}", ")").replace("^", "**")
    return s


@functools.lru_cache(maxsize=512)
def _to_sympy(
    text: str, *, max_chars: int, max_exponent: int, allow_integral: bool = False
) -> Any | None:
    """Parse an answer with sympy, or None (too long, huge exponents, or not parseable).

    sympy's parser evaluates Python code, so anything beyond names, numbers, operators, commas and
    parentheses (attribute access, dunder names, strings, subscripts, ``lambda``) is refused.
    ``Integral(f, x)`` is understood only with ``allow_integral`` (gold answers that sympy could
    not integrate are written that way; a prediction that is still an integral is no answer).
    """
    s = _latex_to_sympy_syntax(text)
    if _UNSAFE_RE.search(s) or too_complex(s, max_chars=max_chars, max_exponent=max_exponent):
        return None
    import sympy
    from sympy.parsing.sympy_parser import (
        convert_xor,
        implicit_multiplication,
        parse_expr,
        standard_transformations,
    )

    local: dict[str, Any] = {}
    for name in set(_IDENT_RE.findall(s)):
        if name in _ALIASES:
            local[name] = getattr(sympy, _ALIASES[name])
        elif name == "Integral" and allow_integral:
            local[name] = sympy.Integral
        elif name not in _FUNCTIONS:
            local[name] = sympy.Symbol(name)  # case kept: X and x differ
    try:
        expr = parse_expr(
            s,
            local_dict=local,
            transformations=(*standard_transformations, implicit_multiplication, convert_xor),
        )
    except Exception:  # sympy raises many exception types on bad syntax
        return None
    return expr if isinstance(expr, sympy.Expr) else None


def _sample(expr: Any, symbols: list[Any], *, points: int, seed: int = 0) -> list[complex] | None:
    """Values of ``expr`` at random points in (0.1, 0.9); None if too few are finite."""
    rng = random.Random(seed)
    values: list[complex] = []
    for _ in range(points * 2):
        subs = {sym: Fraction(rng.randint(100, 900), 1000) for sym in symbols}
        try:
            value = complex(expr.evalf(30, subs=subs))
        except (TypeError, ValueError, ZeroDivisionError, OverflowError):
            continue
        if value == value and abs(value) != float("inf"):  # not NaN, not infinite
            values.append(value)
        if len(values) == points:
            return values
    return None


def _zero(expr: Any, scale: Any, symbols: list[Any], *, rel_tol: float, points: int) -> bool:
    """Whether ``expr`` is zero: exactly after expansion, else at random sample points."""
    import sympy

    if sympy.expand(expr) == 0:
        return True
    if not symbols:
        value = abs(complex(expr.evalf(30)))
        return bool(value <= rel_tol * max(1.0, abs(complex(scale.evalf(30)))))
    values = _sample(expr, symbols, points=points)
    scales = _sample(scale, symbols, points=points)
    if values is None or scales is None:
        return False
    return all(abs(v) <= rel_tol * max(1.0, abs(s)) for v, s in zip(values, scales, strict=True))


@dataclass(frozen=True)
class SympyOptions:
    """Options of the sympy rules.

    Parameters
    ----------
    rel_tol : float
        Relative tolerance of the numeric sampling test.
    max_chars : int
        Longer answers are not parsed.
    max_exponent : int
        Answers with larger integer exponents are not parsed.
    sample_points : int
        Number of random points of the numeric test.
    constant : str
        Name of the integration constant: when the gold has this symbol, the answers are
        antiderivatives and may differ by any constant (the prediction may omit it).
    """

    rel_tol: float = 1e-9
    max_chars: int = MAX_EXPR_CHARS
    max_exponent: int = MAX_EXPONENT
    sample_points: int = SAMPLE_POINTS
    constant: str = "C"


def _parse_pair(pred: str, gold: str, opts: SympyOptions) -> tuple[Any, Any] | None:
    """Both answers parsed by sympy, or None."""
    p = _to_sympy(pred, max_chars=opts.max_chars, max_exponent=opts.max_exponent)
    g = _to_sympy(
        gold, max_chars=opts.max_chars, max_exponent=opts.max_exponent, allow_integral=True
    )
    return None if p is None or g is None else (p, g)


def is_antiderivative_gold(gold: str, *, opts: SympyOptions = SympyOptions()) -> bool:
    """Whether the gold is an antiderivative (it contains the integration constant ``C``).

    Parameters
    ----------
    gold : str
        A normalised gold answer.
    opts : SympyOptions
        Parsing options and the name of the constant.

    Returns
    -------
    bool
        True if the gold parses and has the constant as a free symbol.

    Examples
    --------
    >>> is_antiderivative_gold("x**2/2 + C"), is_antiderivative_gold("x**2/2")
    (True, False)
    """
    import sympy

    g = _to_sympy(
        gold, max_chars=opts.max_chars, max_exponent=opts.max_exponent, allow_integral=True
    )
    return g is not None and sympy.Symbol(opts.constant) in g.free_symbols


def antiderivatives_equivalent(
    pred: str, gold: str, *, opts: SympyOptions = SympyOptions()
) -> bool | None:
    """Compare antiderivatives: equal derivatives, i.e. equal up to an additive constant.

    The gold may be an unevaluated ``Integral(f, x) + C`` (its derivative is ``f``).

    Parameters
    ----------
    pred, gold : str
        Normalised answers (the gold has the constant ``opts.constant``).
    opts : SympyOptions
        Parsing and sampling options.

    Returns
    -------
    bool or None
        None if either side cannot be parsed; else whether the derivatives agree in every variable.

    Examples
    --------
    >>> antiderivatives_equivalent("sin(x)**2 + 7 + C", "-cos(x)**2 + C")
    True
    >>> antiderivatives_equivalent("x**3*sin(x) + 3*x**2*cos(x) - 6*x*sin(x) - 6*cos(x)",
    ...                            "Integral(x**3*cos(x), x) + C")
    True
    >>> antiderivatives_equivalent("2*X**9 + C", "2*x**9 + C")
    False
    """
    import sympy

    pair = _parse_pair(pred, gold, opts)
    if pair is None:
        return None
    c = sympy.Symbol(opts.constant)
    p, g = (e.subs(c, 0) for e in pair)
    symbols = sorted(p.free_symbols | g.free_symbols, key=str)
    for var in symbols:
        dp, dg = sympy.diff(p, var), sympy.diff(g, var)
        scale = sympy.Abs(dp) + sympy.Abs(dg)
        if not _zero(dp - dg, scale, symbols, rel_tol=opts.rel_tol, points=opts.sample_points):
            return False
    return True


def expanded_form_matches(
    pred: str, gold: str, *, opts: SympyOptions = SympyOptions()
) -> bool | None:
    """Require the multiplication to be done when the gold is an expanded polynomial.

    For "multiply these polynomials" the gold is the expanded product; a prediction that is still a
    product of two or more sums restates the question rather than answering it, even though it is
    equal. A single sum factor (``2*(x + 1)`` for ``2*x + 2``) is accepted.

    Parameters
    ----------
    pred, gold : str
        Normalised answers.
    opts : SympyOptions
        Parsing options.

    Returns
    -------
    bool or None
        None unless the gold parses as an expanded, non-constant polynomial and the prediction
        parses; else False if the prediction is a product of at least two sums (counting powers),
        True otherwise (equality itself is not checked).

    Examples
    --------
    >>> expanded_form_matches("(x + 1)*(x - 1)", "x**2 - 1")
    False
    >>> expanded_form_matches("(x + 1)**2", "x**2 + 2*x + 1")
    False
    >>> expanded_form_matches("2*(x + 1)", "2*x + 2")
    True
    >>> expanded_form_matches("x*(x + 1)", "x*exp(x)") is None
    True
    """
    import sympy

    pair = _parse_pair(pred, gold, opts)
    if pair is None:
        return None
    p, g = pair
    symbols = sorted(g.free_symbols, key=str)
    if not symbols or sympy.Symbol(opts.constant) in g.free_symbols:
        return None
    if not g.is_polynomial(*symbols) or sympy.expand(g) != g:
        return None
    sums = 0
    for factor in sympy.Mul.make_args(p):
        base, exponent = factor.as_base_exp()
        if isinstance(base, sympy.Add):
            sums += int(exponent) if exponent.is_Integer and exponent > 0 else 1
    return sums < 2


def symbolic_equivalent(
    pred: str, gold: str, *, opts: SympyOptions = SympyOptions()
) -> bool | None:
    """Compare expressions with sympy: the difference expands to zero or vanishes numerically.

    ``**`` and ``^`` are powers, ``2x`` and ``3(x+1)`` are products (implicit multiplication, but
    ``xy`` stays one symbol), and variables keep their case (``X`` is not ``x``).

    Parameters
    ----------
    pred, gold : str
        Normalised answers.
    opts : SympyOptions
        Parsing and sampling options.

    Returns
    -------
    bool or None
        None if either side cannot be parsed; else whether they are equal.

    Examples
    --------
    >>> symbolic_equivalent("2x(x+1)", "2*x**2 + 2*x")
    True
    >>> symbolic_equivalent("2*X**9", "2*x**9")
    False
    >>> symbolic_equivalent("sin(x)**2 + cos(x)**2", "1")
    True
    """
    import sympy

    pair = _parse_pair(pred, gold, opts)
    if pair is None:
        return None
    p, g = pair
    symbols = sorted(p.free_symbols | g.free_symbols, key=str)
    scale = sympy.Abs(p) + sympy.Abs(g)
    return _zero(p - g, scale, symbols, rel_tol=opts.rel_tol, points=opts.sample_points)


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
