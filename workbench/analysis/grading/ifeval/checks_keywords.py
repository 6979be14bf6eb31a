"""``keywords:*`` checks: existence, forbidden words, keyword and letter frequency.

As in the official code, keywords are regular expressions searched case-insensitively, so
``"run"`` also matches inside ``"running"`` (only ``forbidden_words`` adds word boundaries).
"""

from __future__ import annotations

import re
from collections import Counter

from workbench.analysis.grading.ifeval._spec import Args, Checker, Param

__all__ = ["CHECKERS", "pattern"]


def pattern(keyword: str) -> str:
    """``keyword`` as a regular expression: itself when valid, else escaped (matched literally)."""
    try:
        re.compile(keyword)
    except re.error:
        return re.escape(keyword)
    return keyword


def _existence(text: str, args: Args) -> bool:
    return all(re.search(pattern(k), text, flags=re.IGNORECASE) for k in args.words("keywords"))


def _forbidden_words(text: str, args: Args) -> bool:
    return not any(
        re.search(r"\b" + pattern(word) + r"\b", text, flags=re.IGNORECASE)
        for word in args.words("forbidden_words")
    )


def _frequency(text: str, args: Args) -> bool:
    keyword = pattern(args.text("keyword").strip())
    found = len(re.findall(keyword, text, flags=re.IGNORECASE))
    return args.compare(found, "frequency", "relation")


def _letter_frequency(text: str, args: Args) -> bool:
    found = Counter(text.lower())[args.text("letter")]
    return args.compare(found, "let_frequency", "let_relation")


_LITERAL = (
    "a keyword that is not a valid regular expression is matched literally (official: raises)"
)

CHECKERS = (
    Checker(
        "keywords:existence",
        _existence,
        (Param("keywords", "words"),),
        "Every keyword occurs (case-insensitive regex search, substrings count) (paper).",
        differs=_LITERAL,
    ),
    Checker(
        "keywords:forbidden_words",
        _forbidden_words,
        (Param("forbidden_words", "words"),),
        "No forbidden word occurs as a whole word, ignoring case (paper).",
        differs=_LITERAL,
    ),
    Checker(
        "keywords:frequency",
        _frequency,
        (Param("keyword", "text"), Param("frequency", "count"), Param("relation", "relation")),
        "Case-insensitive occurrences of `keyword` (substrings count) compared with `frequency`"
        " (paper).",
        differs=_LITERAL,
    ),
    Checker(
        "keywords:letter_frequency",
        _letter_frequency,
        (
            Param("letter", "letter"),
            Param("let_frequency", "count"),
            Param("let_relation", "relation"),
        ),
        "Occurrences of `letter`, ignoring case, compared with `let_frequency` (paper).",
        differs="a `letter` that is not an ASCII letter (IFEval keys 1122 '#', 1129 '!') is"
        " counted as given; the official code swaps it for a random letter",
    ),
)
