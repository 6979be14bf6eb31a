"""Real and complex numbers in answers, compared at the precision they are written with."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from workbench.analysis.grading._math_limits import (
    ABS_TOL,
    MAX_DECIMAL_EXPONENT,
    MAX_NUMBER_CHARS,
    MIN_SIG_FIGS,
    REL_TOL,
)

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
