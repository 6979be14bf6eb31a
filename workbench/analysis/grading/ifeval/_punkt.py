"""A Punkt-style English sentence splitter that needs no NLTK data.

IFEval counts sentences with NLTK's pre-trained English Punkt model (``punkt_tab``), which cannot be
downloaded here. This module re-implements Punkt's *decision procedure* as NLTK 3.9+ runs it
(candidate ends ``.``/``?``/``!`` followed by whitespace and a token or by closing punctuation;
first pass on token types; second pass with the orthographic, initial and ordinal heuristics;
realignment of closing quotes and brackets) and replaces the *learned parameters* with hand-written
ones:

- ``ABBREVIATIONS``: common English abbreviations (titles, Latin, months, companies, U.S. places).
  A period after one does not end a sentence unless a capitalized common word follows.
- ``COMMON_WORDS`` stands in for the learned orthographic context: a capitalized common word
  after an abbreviation, ellipsis, initial or number starts a sentence; any other capitalized
  word there is taken for a name (``J. K. Rowling``, ``Dr. Smith``); a lower-case word never
  starts one.

On typical English (abbreviations, decimals, ellipses, quotes, numbered lists) it splits as Punkt
does, e.g. ``"1. Apples."`` is two sentences (Punkt splits a list number followed by a capitalized
word) and a heading line without final punctuation joins the next sentence. It can differ from the
trained model on rare abbreviations and on words whose learned orthography is unusual.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["ABBREVIATIONS", "COMMON_WORDS", "sentence_spans"]

_ABBREVIATIONS_TEXT = """
    mr mrs ms messrs mme dr prof sr jr st rev gen col lt capt cmdr adm sgt gov sen rep pres
    inc ltd co corp bros llc plc dept univ assn ave blvd rd ft mt
    e.g i.e etc cf al vs viz approx
    a.m p.m u.s u.s.a u.k u.n d.c n.y l.a
    jan feb aug sept sep oct nov dec
    calif ariz colo conn fla ill mass mich minn tenn wash
    no nos vol pp fig ed eds est
"""
ABBREVIATIONS = frozenset(_ABBREVIATIONS_TEXT.split())
"""Abbreviations (lower case, without the final period) after which a period is not an end."""

_COMMON_WORDS_TEXT = """
    a an the this that these those it its he she we they you your our their his her my me us
    there here but and or so yet then thus hence however therefore also in on at for with from by
    to of as if when while after before since because although though unless until what which
    who whom whose why how where some many most all each every any no not one two three first
    second third finally next now today tomorrow yesterday let please remember note overall
    additionally moreover furthermore meanwhile instead still just even only both such other
    another more less do does did is are was were be been have has had can could will would
    should may might must once again yes well oh like make take use keep try consider imagine
    think see look start begin go get give find choose avoid always never sometimes often
"""
COMMON_WORDS = frozenset(_COMMON_WORDS_TEXT.split())
"""Stand-in for Punkt's orthographic context: words that are often seen in lower case."""

_SENT_STARTERS = COMMON_WORDS | {"i"}

_NON_WORD = r"[)\";}\]*:@'({\[\u2018\u2019\u201c\u201d\xab\xbb?!]"
_MULTI_CHAR = r"(?:-{2,}|\.{2,}|(?:\.\s){2,}\.)"
_WORD_START = r"[^(\"`{\[:;&#*@)}\]\-,]"
_WORD_RE = re.compile(
    rf"""(
        {_MULTI_CHAR}
        |
        (?={_WORD_START})\S+?
        (?=\s|$|{_NON_WORD}|{_MULTI_CHAR}|,(?=$|\s|{_NON_WORD}|{_MULTI_CHAR}))
        |
        \S
    )""",
    re.VERBOSE,
)
_CANDIDATE_RE = re.compile(rf"[.?!](?=(?P<after>{_NON_WORD}|\s+(?P<next>\S+)))")
_REALIGN_RE = re.compile(r"[\"')\]}\u2018\u2019\u201c\u201d\xab\xbb]+?(?:\s+|(?=--)|$)", re.M)
_NUMERIC_RE = re.compile(r"^-?[.,]?\d[\d,.-]*\.?$")
_INITIAL_RE = re.compile(r"[^\W\d]\.$")
_ELLIPSIS_RE = re.compile(r"\.\.+$")


@dataclass
class _Token:
    tok: str
    sentbreak: bool = False
    abbr: bool = False
    ellipsis: bool = False

    @property
    def type(self) -> str:
        return _NUMERIC_RE.sub("##number##", self.tok.lower())

    @property
    def type_no_period(self) -> str:
        typ = self.type
        return typ[:-1] if len(typ) > 1 and typ.endswith(".") else typ

    @property
    def type_no_sentperiod(self) -> str:
        return self.type_no_period if self.sentbreak else self.type


def _tokens(text: str) -> list[_Token]:
    """Punkt word tokens of ``text``, after the first (type-based) annotation pass."""
    out = []
    for line in text.split("\n"):
        for tok in _WORD_RE.findall(line):
            token = _Token(tok)
            if tok in ".?!":
                token.sentbreak = True
            elif _ELLIPSIS_RE.match(tok):
                token.ellipsis = True
            elif tok.endswith(".") and not tok.endswith(".."):
                base = tok[:-1].lower()
                if base in ABBREVIATIONS or base.split("-")[-1] in ABBREVIATIONS:
                    token.abbr = True
                else:
                    token.sentbreak = True
            out.append(token)
    return out


def _ortho(token: _Token) -> bool | None:
    """Tell whether ``token`` starts a sentence: True, False or None (unknown)."""
    if token.tok in ";:,.!?":
        return False
    if token.tok[0].isupper() and token.type_no_sentperiod in COMMON_WORDS:
        return True
    if token.tok[0].islower():
        return False
    return None


def _second_pass(tok: _Token, nxt: _Token) -> None:
    """Punkt's token-context reclassification of a period-final token."""
    if not tok.tok.endswith("."):
        return
    initial = bool(_INITIAL_RE.match(tok.tok))
    starter = _ortho(nxt) is True or (
        nxt.tok[0].isupper() and nxt.type_no_sentperiod in _SENT_STARTERS
    )
    if (tok.abbr or tok.ellipsis) and not initial and starter:
        tok.sentbreak = True
        return
    if initial or tok.type_no_period == "##number##":
        starts = _ortho(nxt)
        if starts is False or (
            starts is None
            and initial
            and nxt.tok[0].isupper()
            and nxt.type_no_sentperiod not in COMMON_WORDS
        ):
            tok.sentbreak = False
            tok.abbr = True


def _contains_break(context: str) -> bool:
    """Whether a token other than the last of ``context`` ends a sentence."""
    tokens = _tokens(context)
    for i, tok in enumerate(tokens[:-1]):
        _second_pass(tok, tokens[i + 1])
        if tok.sentbreak:
            return True
    return False


def _last_whitespace(text: str) -> int:
    for i in range(len(text) - 1, -1, -1):
        if text[i] in string.whitespace:
            return i
    return 0


def _end_contexts(text: str) -> Iterator[tuple[re.Match[str], str]]:
    """Candidate ends with their context (previous word, end, next token); overlaps merged."""
    prev_slice = slice(0, 0)
    prev_match: re.Match[str] | None = None
    for match in _CANDIDATE_RE.finditer(text):
        index = _last_whitespace(text[prev_slice.stop : match.start()])
        start = index + prev_slice.stop + 1 if index else prev_slice.start
        word_slice = slice(start, match.start())
        if prev_match is not None and prev_slice.stop <= word_slice.start:
            yield prev_match, text[prev_slice] + prev_match.group() + prev_match.group("after")
        prev_match, prev_slice = match, word_slice
    if prev_match is not None:
        yield prev_match, text[prev_slice] + prev_match.group() + prev_match.group("after")


def _slices(text: str) -> Iterator[slice]:
    last = 0
    for match, context in _end_contexts(text):
        if _contains_break(context):
            yield slice(last, match.end())
            last = match.start("next") if match.group("next") else match.end()
    yield slice(last, len(text.rstrip()))


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` offsets of the sentences of ``text``, closing quotes realigned."""
    spans: list[tuple[int, int]] = []
    slices = list(_slices(text))
    realign = 0
    for i, current in enumerate(slices):
        start = current.start + realign
        following = slices[i + 1] if i + 1 < len(slices) else None
        if following is None:
            if text[start : current.stop]:
                spans.append((start, current.stop))
            continue
        m = _REALIGN_RE.match(text[following])
        if m:
            spans.append((start, following.start + len(m.group(0).rstrip())))
            realign = m.end()
        else:
            realign = 0
            if text[start : current.stop]:
                spans.append((start, current.stop))
    return spans
