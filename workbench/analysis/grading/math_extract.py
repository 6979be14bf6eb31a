"""Final-answer extraction for math grading.

A model's final output is searched with a sequence of named *strategies*; the first strategy that
finds something wins. Each strategy is a preset registered in :data:`STRATEGIES`:

``answer_tag``
    The content of the last ``<answer>…</answer>`` element (case-insensitive). An ``<answer>`` left
    open at the very end (a truncated output) does not count.
``boxed``
    The content of the last ``\\boxed{…}`` or ``\\fbox{…}``, with balanced braces.
``final_answer_phrase``
    The text after the last answer phrase (:data:`ANSWER_PHRASES`: "final answer is", "the answer
    is", "Answer:", …; case-insensitive) up to the end of the line or sentence.
``last_number``
    The last number in the text: signs, decimals, fractions ``a/b``, scientific notation and
    thousands separators included.

Examples
--------
>>> extract_answer("Thinking… <answer>42</answer>")
Extraction(text='42', strategy='answer_tag', span=(18, 20))
>>> extract_answer(r"so $\\boxed{\\frac{1}{2}}$.").text
'\\\\frac{1}{2}'
>>> extract_answer("The final answer is 7.").text
'7'
>>> extract_answer("it costs 1,250 dollars").text
'1,250'
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = [
    "ANSWER_PHRASES",
    "DEFAULT_STRATEGIES",
    "STRATEGIES",
    "Extraction",
    "extract_answer",
    "extract_answer_phrase",
    "extract_answer_tag",
    "extract_boxed",
    "extract_last_number",
]


@dataclass(frozen=True)
class Extraction:
    """An answer found in a model output.

    Parameters
    ----------
    text : str
        The extracted answer, stripped of surrounding whitespace.
    strategy : str
        Name of the strategy that found it (a key of :data:`STRATEGIES`).
    span : tuple of int
        ``(start, end)`` offsets of ``text`` in the searched string: ``source[start:end] == text``.
    """

    text: str
    strategy: str
    span: tuple[int, int]


#: Answer phrases for ``final_answer_phrase``, tried case-insensitively; the last occurrence of any
#: of them in the text is used. Longer phrases are listed first so that "final answer is" wins over
#: "answer is" at the same position.
ANSWER_PHRASES: tuple[str, ...] = (
    "the final answer is",
    "final answer is",
    "final answer:",
    "the answer is",
    "answer is",
    "answer:",
    "the result is",
    "the solution is",
)

#: Characters stripped from both ends of a phrase answer (markdown emphasis, colons, quotes, a
#: trailing full stop or comma).
PHRASE_STRIP_CHARS = " \t*:`'\",.;"

_ANSWER_TAG_RE = re.compile(r"<answer>(.*?)</answer>", re.IGNORECASE | re.DOTALL)
_BOXED_RE = re.compile(r"\\(?:boxed|fbox)\s*\{")
# A sentence ends at a full stop, "!" or "?" followed by whitespace or the end, or at a newline; a
# decimal point ("3.14") is not a sentence end.
_SENTENCE_END_RE = re.compile(r"(?<!\\)[.!?](?=\s|$)|\n")
_NUMBER_RE = re.compile(
    r"""
    (?<![\w.])                                   # not inside a word or a decimal
    [-+\u2212]?                                  # sign (ASCII or Unicode minus)
    (?:
        \d{1,3}(?:,\d{3})+(?:\.\d+)?             # thousands separators: 1,234,567.89
      | \d+(?:\.\d+)?(?:[eE][-+]?\d+)?            # 12, 3.5, 1.2e-5
      | \.\d+(?:[eE][-+]?\d+)?                    # .5
    )
    (?:\s*/\s*\d+(?:\.\d+)?)?                   # a fraction: 3/4
    (?![\w])
    """,
    re.VERBOSE,
)


def _stripped(text: str, start: int, end: int, chars: str | None = None) -> tuple[int, int]:
    """Shrink ``[start, end)`` so that it excludes leading/trailing ``chars`` (whitespace)."""
    while start < end and (text[start].isspace() if chars is None else text[start] in chars):
        start += 1
    while end > start and (text[end - 1].isspace() if chars is None else text[end - 1] in chars):
        end -= 1
    return start, end


def _make(text: str, start: int, end: int, strategy: str) -> Extraction | None:
    """Build the :class:`Extraction` of ``text[start:end]`` stripped (None if empty)."""
    start, end = _stripped(text, start, end)
    if start >= end:
        return None
    return Extraction(text=text[start:end], strategy=strategy, span=(start, end))


def extract_answer_tag(text: str) -> Extraction | None:
    """Extract the content of the last ``<answer>…</answer>`` element.

    Parameters
    ----------
    text : str
        The model output.

    Returns
    -------
    Extraction or None
        The stripped content of the last closed element with non-empty content, else None.

    Examples
    --------
    >>> extract_answer_tag("<answer>1</answer> then <ANSWER> 2 </ANSWER>").text
    '2'
    >>> extract_answer_tag("<answer>3") is None
    True
    """
    for match in reversed(list(_ANSWER_TAG_RE.finditer(text))):
        found = _make(text, match.start(1), match.end(1), "answer_tag")
        if found is not None:
            return found
    return None


def _balanced_end(text: str, open_index: int) -> int | None:
    """Index of the ``}`` that closes the ``{`` at ``open_index``, or None if unbalanced."""
    depth = 0
    index = open_index
    while index < len(text):
        char = text[index]
        if char == "\\":  # skip escaped braces such as \{ and \}
            index += 2
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return index
        index += 1
    return None


def extract_boxed(text: str) -> Extraction | None:
    """Extract the content of the last ``\\boxed{…}`` or ``\\fbox{…}`` (balanced braces).

    Parameters
    ----------
    text : str
        The model output.

    Returns
    -------
    Extraction or None
        The stripped content of the last complete box with non-empty content, else None.

    Examples
    --------
    >>> extract_boxed(r"\\boxed{1} and \\boxed{\\frac{a}{b}}").text
    '\\\\frac{a}{b}'
    >>> extract_boxed(r"\\boxed{\\frac{1}{2}") is None
    True
    """
    for match in reversed(list(_BOXED_RE.finditer(text))):
        open_index = match.end() - 1
        close_index = _balanced_end(text, open_index)
        if close_index is None:
            continue
        found = _make(text, open_index + 1, close_index, "boxed")
        if found is not None:
            return found
    return None


def extract_answer_phrase(
    text: str, *, phrases: Sequence[str] = ANSWER_PHRASES, strip_chars: str = PHRASE_STRIP_CHARS
) -> Extraction | None:
    """Extract the text after the last answer phrase, up to the end of its line or sentence.

    Parameters
    ----------
    text : str
        The model output.
    phrases : sequence of str
        Phrases that introduce the answer, matched case-insensitively (:data:`ANSWER_PHRASES`).
    strip_chars : str
        Characters stripped from both ends of the answer (:data:`PHRASE_STRIP_CHARS`).

    Returns
    -------
    Extraction or None
        The answer after the last occurrence of any phrase, else None.

    Examples
    --------
    >>> extract_answer_phrase("So the answer is 3.5. Done").text
    '3.5'
    >>> extract_answer_phrase("**Final Answer:** x = 2\\nmore").text
    'x = 2'
    """
    if not phrases:
        return None
    pattern = re.compile("|".join(re.escape(p) for p in phrases), re.IGNORECASE)
    best: re.Match[str] | None = None
    for match in pattern.finditer(text):
        if best is None or match.start() >= best.start():
            best = match
    if best is None:
        return None
    start = best.end()
    # The answer may start on the next line ("Final Answer:\n42"): skip leading blank space.
    while start < len(text) and text[start] in strip_chars + "\n\r":
        start += 1
    end_match = _SENTENCE_END_RE.search(text, start)
    end = end_match.start() if end_match else len(text)
    start, end = _stripped(text, start, end, strip_chars + "\n\r")
    if start >= end:
        return None
    return Extraction(text=text[start:end], strategy="final_answer_phrase", span=(start, end))


def extract_last_number(text: str) -> Extraction | None:
    """Extract the last number in the text.

    Signs (including the Unicode minus), decimals, scientific notation (``1.2e-5``), thousands
    separators (``1,234,567``) and simple fractions (``3/4``) are recognised.

    Parameters
    ----------
    text : str
        The model output.

    Returns
    -------
    Extraction or None
        The last number, else None.

    Examples
    --------
    >>> extract_last_number("from 3 apples we get -1,234.5 pies").text
    '-1,234.5'
    >>> extract_last_number("ratio 3/4.").text
    '3/4'
    """
    last: re.Match[str] | None = None
    for last in _NUMBER_RE.finditer(text):  # noqa: B007 - we want the last match
        pass
    if last is None:
        return None
    return Extraction(text=last.group(0), strategy="last_number", span=(last.start(), last.end()))


#: The named extraction presets, in the order of :data:`DEFAULT_STRATEGIES`.
STRATEGIES: dict[str, Callable[[str], Extraction | None]] = {
    "answer_tag": extract_answer_tag,
    "boxed": extract_boxed,
    "final_answer_phrase": extract_answer_phrase,
    "last_number": extract_last_number,
}

#: The default strategy order: explicit markup first, then phrases, then the last number.
DEFAULT_STRATEGIES: tuple[str, ...] = ("answer_tag", "boxed", "final_answer_phrase", "last_number")


def extract_answer(
    text: str, *, strategies: Sequence[str] = DEFAULT_STRATEGIES
) -> Extraction | None:
    """Extract the final answer of a model output.

    Parameters
    ----------
    text : str
        The model output (final answer text; the thinking may be included or not).
    strategies : sequence of str
        Names of strategies (keys of :data:`STRATEGIES`), tried in order; the first that finds a
        non-empty answer wins.

    Returns
    -------
    Extraction or None
        The answer with the strategy that found it and its span in ``text``, or None.

    Raises
    ------
    ValueError
        If a strategy name is unknown.

    Examples
    --------
    >>> extract_answer(r"\\boxed{2} <answer>3</answer>").strategy
    'answer_tag'
    >>> extract_answer(r"\\boxed{2} <answer>3</answer>", strategies=("boxed",)).text
    '2'
    >>> extract_answer("no digits here") is None
    True
    """
    unknown = [name for name in strategies if name not in STRATEGIES]
    if unknown:
        raise ValueError(f"unknown extraction strategies {unknown}; known: {sorted(STRATEGIES)}")
    if not text:
        return None
    for name in strategies:
        found = STRATEGIES[name](text)
        if found is not None:
            return found
    return None
