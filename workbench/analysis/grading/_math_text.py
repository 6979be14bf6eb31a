"""Normalisation of math answers before they are compared."""

from __future__ import annotations

import re

from workbench.analysis.grading.math_extract import extract_boxed

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
