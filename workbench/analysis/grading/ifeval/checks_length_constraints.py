r"""``length_constraints:*`` checks: paragraphs, sentences and words."""

from __future__ import annotations

import re

from workbench.analysis.grading.ifeval._spec import Args, Checker, Param
from workbench.analysis.grading.ifeval.text import count_sentences, count_words
from workbench.errors import ValidationError

__all__ = ["CHECKERS"]

_DIVIDER = re.compile(r"\s?\*\*\*\s?")
_FIRST_WORD_STOP = frozenset(".,?!'\"")


def _number_paragraphs(text: str, args: Args) -> bool:
    paragraphs = _DIVIDER.split(text)
    found = len(paragraphs)
    for index, paragraph in enumerate(paragraphs):
        if not paragraph.strip():
            if 0 < index < len(paragraphs) - 1:
                return False
            found -= 1
    return found == args.count("num_paragraphs")


def _nth_paragraph_first_word(text: str, args: Args) -> bool:
    paragraphs = re.split(r"\n\n", text)
    found = sum(1 for p in paragraphs if p.strip())
    nth = args.count("nth_paragraph")
    if nth > found:
        return False
    paragraph = paragraphs[nth - 1].strip()
    if not paragraph:
        return False
    word = paragraph.split()[0].strip().lstrip("'").lstrip('"')
    first = ""
    for char in word:
        if char in _FIRST_WORD_STOP:
            break
        first += char.lower()
    return found == args.count("num_paragraphs") and first == args.text("first_word").lower()


def _check_nth(args: Args) -> None:
    if args.count("nth_paragraph") > args.count("num_paragraphs"):
        raise ValidationError(
            "kwargs.nth_paragraph",
            f"{args.instruction_id} needs nth_paragraph <= num_paragraphs, got "
            f"{args.count('nth_paragraph')} > {args.count('num_paragraphs')}",
        )


def _number_sentences(text: str, args: Args) -> bool:
    return args.compare(count_sentences(text), "num_sentences", "relation")


def _number_words(text: str, args: Args) -> bool:
    return args.compare(count_words(text), "num_words", "relation")


CHECKERS = (
    Checker(
        "length_constraints:nth_paragraph_first_word",
        _nth_paragraph_first_word,
        (
            Param("num_paragraphs", "count", minimum=1),
            Param("nth_paragraph", "count", minimum=1),
            Param("first_word", "text"),
        ),
        "Exactly `num_paragraphs` non-blank '\\n\\n'-separated paragraphs, and paragraph"
        " `nth_paragraph` starts with `first_word`, ignoring case and leading quotes (paper).",
        validate=_check_nth,
    ),
    Checker(
        "length_constraints:number_paragraphs",
        _number_paragraphs,
        (Param("num_paragraphs", "count"),),
        "Exactly `num_paragraphs` paragraphs separated by the markdown divider *** (paper).",
    ),
    Checker(
        "length_constraints:number_sentences",
        _number_sentences,
        (Param("num_sentences", "count"), Param("relation", "relation")),
        "Number of sentences compared with `num_sentences`.",
        differs="sentences by our Punkt-style splitter with hand-written abbreviations, not"
        " NLTK's trained punkt_tab model (which needs a download)",
    ),
    Checker(
        "length_constraints:number_words",
        _number_words,
        (Param("num_words", "count"), Param("relation", "relation")),
        "Number of \\w+ words compared with `num_words` (paper).",
    ),
)
