"""``change_case:*`` checks: capital-word frequency, all upper case, all lower case."""

from __future__ import annotations

from workbench.analysis.grading.ifeval._spec import Args, Checker, Param
from workbench.analysis.grading.ifeval.checks_language import detect_language
from workbench.analysis.grading.ifeval.text import word_tokens

__all__ = ["CHECKERS"]


def _capital_word_frequency(text: str, args: Args) -> bool:
    capitals = sum(1 for token in word_tokens(text) if token.isupper())
    return args.compare(capitals, "capital_frequency", "capital_relation")


def _english_capital(text: str, args: Args) -> bool:
    if not text.isupper():
        return False
    found = detect_language(text)
    return found is None or found == "en"


def _english_lowercase(text: str, args: Args) -> bool:
    if not text.islower():
        return False
    found = detect_language(text)
    return found is None or found == "en"


CHECKERS = (
    Checker(
        "change_case:capital_word_frequency",
        _capital_word_frequency,
        (Param("capital_frequency", "count"), Param("capital_relation", "relation")),
        "Number of all-capital word tokens (str.isupper) compared with `capital_frequency`.",
        differs="tokens by our port of NLTK's Treebank word rules, without the Punkt sentence"
        " split first (it does not change which tokens are upper case)",
    ),
    Checker(
        "change_case:english_capital",
        _english_capital,
        (),
        "The response is upper case (str.isupper) and langdetect says English (paper).",
    ),
    Checker(
        "change_case:english_lowercase",
        _english_lowercase,
        (),
        "The response is lower case (str.islower) and langdetect says English (paper).",
    ),
)
