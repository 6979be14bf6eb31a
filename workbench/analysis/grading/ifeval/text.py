r"""Word, sentence and token splitting as IFEval counts them.

- :func:`count_words`: ``\w+`` runs, exactly as the official ``count_words`` (NLTK's
  ``RegexpTokenizer(r"\w+")``).
- :func:`split_sentences` / :func:`count_sentences`: a Punkt-style splitter with hand-written
  parameters (see :mod:`workbench.analysis.grading.ifeval._punkt`). The official code uses NLTK's
  trained English Punkt model, which needs the ``punkt_tab`` download; ours needs no data and
  agrees on typical English, but is not the trained model.
- :func:`word_tokens`: the tokens of NLTK's ``word_tokenize`` (the improved Treebank rules), used
  to count all-capital words. NLTK first splits sentences with Punkt; the Treebank rules only act
  differently at a sentence's final period, which never changes whether a token is upper case,
  so we tokenize the whole text at once.

Examples
--------
>>> count_words("It's a well-known fact.")
6
>>> split_sentences("Mr. Smith paid $3.50 for it. Was it worth it? Yes... He thinks so.")
['Mr. Smith paid $3.50 for it.', 'Was it worth it?', 'Yes...', 'He thinks so.']
>>> word_tokens("I'm SURE they can't.")
['I', "'m", 'SURE', 'they', 'ca', "n't", '.']
"""

from __future__ import annotations

import re

from workbench.analysis.grading.ifeval._punkt import sentence_spans

__all__ = ["count_sentences", "count_words", "split_sentences", "word_tokens"]

_WORD = re.compile(r"\w+")


def count_words(text: str) -> int:
    r"""Count the ``\w+`` runs in ``text`` (the official word count)."""
    return len(_WORD.findall(text))


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text`` as Punkt would split them (see the module docstring)."""
    return [text[start:end] for start, end in sentence_spans(text)]


def count_sentences(text: str) -> int:
    """Count the sentences of ``text`` (0 for blank text)."""
    return len(sentence_spans(text))


_Rule = tuple[re.Pattern[str], str]


def _rules(*pairs: tuple[str, str]) -> tuple[_Rule, ...]:
    return tuple((re.compile(pattern), repl) for pattern, repl in pairs)


# The order and the substitutions follow nltk.tokenize.NLTKWordTokenizer (NLTK 3.9+).
_STARTING_QUOTES = _rules(
    ("([«“‘„]|[`]+)", r" \1 "),
    (r'^"', r"``"),
    (r"(``)", r" \1 "),
    (r"([ (\[{<])(\"|'{2})", r"\1 `` "),
    (r"(?i)(?<!\w)(')(?!(?:re|ve|ll|m|t|s|d|n)\b)(?=\w)", r"\1 "),
)
_PUNCTUATION = _rules(
    (r"([^.])(\.)([\])}>\"'»”’ ]*+)\s*$", r"\1 \2 \3 "),
    (r"([:,])([^\d])", r" \1 \2"),
    (r"([:,])$", r" \1 "),
    (r"\.{2,}", r" \g<0> "),
    (r"[;@#$%&]", r" \g<0> "),
    ("[\u2012-\u2015]", r" \g<0> "),
    (r"([^.])(\.)([\])}>\"']*)\s*$", r"\1 \2\3 "),
    (r"[?!]", r" \g<0> "),
    (r"([^'])' ", r"\1 ' "),
    (r"[*]", r" \g<0> "),
    (r"[\][(){}<>]", r" \g<0> "),
    (r"--", r" -- "),
)
_ENDING_QUOTES = _rules(
    ("([»”’])", r" \1 "),
    (r"''", " '' "),
    (r'"', " '' "),
    (r"\s+", " "),
    (r"([^' ])('[sS]|'[mM]|'[dD]|') ", r"\1 \2 "),
    (r"([^' ])('ll|'LL|'re|'RE|'ve|'VE|n't|N'T) ", r"\1 \2 "),
)
_CONTRACTIONS = _rules(
    (r"(?i)\b(can)(not)\b", r" \1 \2 "),
    (r"(?i)\b(d)('ye)\b", r" \1 \2 "),
    (r"(?i)\b(gim)(me)\b", r" \1 \2 "),
    (r"(?i)\b(gon)(na)\b", r" \1 \2 "),
    (r"(?i)\b(got)(ta)\b", r" \1 \2 "),
    (r"(?i)\b(lem)(me)\b", r" \1 \2 "),
    (r"(?i)\b(more)('n)\b", r" \1 \2 "),
    (r"(?i)\b(wan)(na)(?=\s)", r" \1 \2 "),
    (r"(?i) ('t)(is)\b", r" \1 \2 "),
    (r"(?i) ('t)(was)\b", r" \1 \2 "),
)


def word_tokens(text: str) -> list[str]:
    """Tokens of ``text`` by NLTK's Treebank-style word rules (double quotes become `` and '')."""
    for pattern, repl in _STARTING_QUOTES + _PUNCTUATION:
        text = pattern.sub(repl, text)
    text = f" {text} "
    for pattern, repl in _ENDING_QUOTES + _CONTRACTIONS:
        text = pattern.sub(repl, text)
    return text.split()
