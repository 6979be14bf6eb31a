"""Reflection ("Aha") keywords in the thinking: lexicons, matching and statistics.

Matching rules (ours, stated so that counts can be reproduced independently):

* matching is on the thinking text only (:attr:`Trajectory.thinking`), case-insensitive for the
  ASCII letters A-Z (other letters match only themselves);
* a keyword matches only as a whole word: the characters just before and after it are not word
  characters, i.e. not ASCII letters, digits or underscore (so "wait了" counts: a CJK character
  or an accented letter next to a keyword does not make it part of a longer word);
* a multi-word or hyphenated keyword ("let me check", "double-check") counts once, and its parts
  ("check") are not counted again inside it: at each position the longest keyword wins and
  matches do not overlap; runs of whitespace inside a phrase match any run of ASCII whitespace
  (space, tab, newline, carriage return, form feed, vertical tab);
* words (:func:`count_words`) are the runs of characters between ASCII whitespace; other
  Unicode spaces (U+00A0, U+2009, U+3000, ...) are ordinary characters.

These are the semantics of ``re.ASCII | re.IGNORECASE``; they are byte-level definitions, so the
columnar engine (:mod:`workbench.analysis.corpus`) reproduces them exactly on UTF-8.

Lexicon presets (:data:`LEXICONS`) follow the papers named in their ``source``; ``custom`` lists
are plain tuples of keywords.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

__all__ = [
    "LEXICONS",
    "KeywordHit",
    "Lexicon",
    "count_words",
    "find_keywords",
    "get_lexicon",
    "keyword_form_pattern",
    "keyword_pattern",
    "normalize_keyword",
    "relative_positions",
]


@dataclass(frozen=True, slots=True)
class Lexicon:
    """A named list of reflection keywords.

    Attributes
    ----------
    name
        Preset name.
    keywords
        Lower-case keywords or phrases.
    source
        Where the list comes from.
    """

    name: str
    keywords: tuple[str, ...]
    source: str


LEXICONS: dict[str, Lexicon] = {
    "r1": Lexicon(
        "r1",
        (
            "wait",
            "mistake",
            "however",
            "but",
            "retry",
            "error",
            "verify",
            "wrong",
            "evaluate",
            "check",
        ),
        "DeepSeek-R1 (Nature, 2025): reflective terms counted over training",
    ),
    "nowait": Lexicon(
        "nowait",
        (
            "wait",
            "alternatively",
            "hmm",
            "but",
            "however",
            "alternative",
            "another",
            "check",
            "double-check",
            "oh",
            "maybe",
            "verify",
            "other",
            "again",
            "now",
            "ah",
            "any",
        ),
        "NoWait (arXiv 2506.08343): the 17 most frequent transition words in QwQ-32B outputs",
    ),
    "mi_peaks": Lexicon(
        "mi_peaks",
        ("hmm", "wait", "therefore", "so"),
        "MI peaks (arXiv 2506.02867): thinking tokens at mutual-information peaks",
    ),
}
"""Lexicon presets. ``r1`` is the default."""

DEFAULT_LEXICON = "r1"

FLAGS = re.IGNORECASE | re.ASCII
"""Regular-expression flags of keyword matching: ASCII word characters and case folding."""

ASCII_WHITESPACE = " \t\n\r\x0b\x0c"
"""The whitespace of word counts (and of ``\\s`` under :data:`FLAGS`)."""

_OTHER_SPACE = re.compile("[\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")
"""The characters ``str.split`` treats as whitespace besides :data:`ASCII_WHITESPACE`."""


@dataclass(frozen=True, slots=True)
class KeywordHit:
    """One match: ``text[start:end]`` is an occurrence of ``keyword`` (the lexicon's spelling)."""

    start: int
    end: int
    keyword: str


def get_lexicon(lexicon: str | Lexicon | Sequence[str]) -> Lexicon:
    """Return a :class:`Lexicon` from a preset name, a lexicon, or a custom list of keywords.

    Raises
    ------
    ValueError
        For an unknown preset name or an empty list.
    """
    if isinstance(lexicon, Lexicon):
        return lexicon
    if isinstance(lexicon, str):
        if lexicon not in LEXICONS:
            raise ValueError(
                f"unknown lexicon {lexicon!r}: use one of {sorted(LEXICONS)} or a list of keywords"
            )
        return LEXICONS[lexicon]
    words = tuple(dict.fromkeys(normalize_keyword(w).lower() for w in lexicon if w and w.strip()))
    if not words:
        raise ValueError("a custom lexicon needs at least one keyword")
    return Lexicon("custom", words, "user-defined")


def normalize_keyword(keyword: str) -> str:
    """Return ``keyword`` with its whitespace runs made single spaces and its ends stripped."""
    return " ".join(keyword.split())


def keyword_form_pattern(form: str) -> str:
    """Return the regular expression of one normalised keyword (whole word, any whitespace)."""
    return r"(?<!\w)(?:" + r"\s+".join(re.escape(piece) for piece in form.split()) + r")(?!\w)"


@lru_cache(maxsize=64)
def keyword_pattern(keywords: tuple[str, ...]) -> re.Pattern[str]:
    """Compile the matcher for ``keywords``: longest first, whole words, case-insensitive.

    Keywords are normalised (:func:`normalize_keyword`) first, so the longest keyword is also the
    longest match at a position.
    """
    ordered = sorted({normalize_keyword(k) for k in keywords}, key=lambda k: (-len(k), k))
    parts = [r"\s+".join(re.escape(piece) for piece in k.split()) for k in ordered]
    return re.compile(r"(?<!\w)(?:" + "|".join(parts) + r")(?!\w)", FLAGS)


def _canonical(keywords: tuple[str, ...]) -> dict[str, str]:
    return {" ".join(k.split()): k for k in keywords}


def find_keywords(
    text: str, *, lexicon: str | Lexicon | Sequence[str] = DEFAULT_LEXICON, offset: int = 0
) -> list[KeywordHit]:
    """Return the keyword matches in ``text`` (see the module's matching rules).

    Parameters
    ----------
    text
        The text to search (usually a trajectory's thinking).
    lexicon
        A preset name (:data:`LEXICONS`), a :class:`Lexicon`, or a list of keywords.
    offset
        Added to every position (pass ``trajectory.thinking_span[0]`` to get positions in the raw
        text).

    Examples
    --------
    >>> [h.keyword for h in find_keywords("Wait, let me double-check. But check again.",
    ...                                   lexicon="nowait")]
    ['wait', 'double-check', 'but', 'check', 'again']
    """
    lex = get_lexicon(lexicon)
    canon = _canonical(lex.keywords)
    pattern = keyword_pattern(lex.keywords)
    return [
        KeywordHit(
            m.start() + offset, m.end() + offset, canon[" ".join(m.group(0).lower().split())]
        )
        for m in pattern.finditer(text)
    ]


def count_words(text: str) -> int:
    """Return the number of words (the denominator of "hits per 1k words").

    A word is a maximal run of characters that are not ASCII whitespace (:data:`ASCII_WHITESPACE`).

    Examples
    --------
    >>> count_words("a b\\u00a0c\\n d")
    3
    """
    if _OTHER_SPACE.search(text) is not None:
        text = _OTHER_SPACE.sub("x", text)
    return len(text.split())


def relative_positions(hits: Iterable[KeywordHit], length: int, *, offset: int = 0) -> list[float]:
    """Positions of hits in ``[0, 1]``: 0 is the start of the text, 1 its end."""
    if length <= 0:
        return []
    return [min(1.0, max(0.0, (h.start - offset) / length)) for h in hits]
