"""Symbolic comparison with sympy: expansions, sample points and antiderivatives."""

from __future__ import annotations

import functools
import random
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from workbench.analysis.grading._math_limits import (
    MAX_DECIMAL_EXPONENT,
    MAX_EXPONENT,
    MAX_EXPR_CHARS,
    SAMPLE_POINTS,
)

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
