"""Split a trajectory's thinking into segments.

Strategies (:data:`STRATEGIES`):

``paragraphs``
    Blocks separated by blank lines.
``sentences``
    Sentences: a boundary follows ``.``, ``!`` or ``?`` (and any closing quotes or brackets) when
    whitespace and then an upper-case letter, a digit, a quote or a bracket come next; every line
    break is a boundary too. This rule is ours, not NLTK's punkt: it keeps decimals ("3.14") and
    lower-case continuations ("e.g. this") together, but splits after an abbreviation followed by
    a capital ("Dr. Smith").
``cues`` (default)
    Thinking-pattern shifts, as the community splits reasoning traces (DTO-style): a new segment
    starts at a paragraph break, or at a sentence that opens with a transition cue (:data:`CUES`:
    "Wait", "Alternatively", "Hmm", "But", "So", …). Segments shorter than ``min_chars`` are
    merged into the one before.

Every span is in :attr:`Trajectory.raw` coordinates and trimmed of surrounding whitespace.

Whitespace here is ASCII whitespace only (space, tab, newline, carriage return, form feed,
vertical tab: ``\\s`` under ``re.ASCII``); other Unicode spaces (U+00A0, U+2009, U+3000, ...) are
ordinary characters, and cues match case-insensitively for ASCII letters and as whole words in the
ASCII sense. These byte-level definitions let the columnar engine
(:mod:`workbench.analysis.corpus`) reproduce the segments exactly.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from workbench.segment import Segment
from workbench.trajectory import Trajectory

__all__ = [
    "ASCII_WHITESPACE",
    "CUES",
    "DEFAULT_STRATEGY",
    "STRATEGIES",
    "cue_pattern",
    "segment",
    "segment_text",
    "sentence_spans",
]

STRATEGIES: tuple[str, ...] = ("paragraphs", "sentences", "cues")
DEFAULT_STRATEGY = "cues"

CUES: tuple[str, ...] = (
    "wait",
    "alternatively",
    "hmm",
    "but",
    "however",
    "so",
    "actually",
    "hold on",
    "oh",
    "okay",
    "ok",
    "alright",
    "now",
    "let me",
    "let's",
    "another",
    "maybe",
    "first",
    "next",
    "then",
    "finally",
    "therefore",
    "thus",
)
"""Transition cues that open a new segment (matched case-insensitively at a sentence start, as a
whole word). The first five follow DTO's description and community practice; the rest are ours."""

DEFAULT_MIN_CHARS = 24
"""Segments shorter than this (in characters) are merged into the previous one."""

ASCII_WHITESPACE = " \t\n\r\x0b\x0c"
"""The whitespace segments are trimmed of and split at."""

_SENTENCE_END = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s+[\"'“‘(\[A-Z0-9])|\n+", re.ASCII)
_PARAGRAPH = re.compile(r"\n[ \t]*\n\s*", re.ASCII)


def _trim(text: str, start: int, end: int) -> tuple[int, int] | None:
    while start < end and text[start] in ASCII_WHITESPACE:
        start += 1
    while end > start and text[end - 1] in ASCII_WHITESPACE:
        end -= 1
    return (start, end) if end > start else None


def _split(text: str, boundary: re.Pattern[str], *, keep_boundary: bool) -> list[tuple[int, int]]:
    """Split at each match of ``boundary`` (kept at the end of the piece, or dropped); trim."""
    spans: list[tuple[int, int]] = []
    start = 0
    for m in boundary.finditer(text):
        span = _trim(text, start, m.end() if keep_boundary else m.start())
        if span:
            spans.append(span)
        start = m.end()
    tail = _trim(text, start, len(text))
    if tail:
        spans.append(tail)
    return spans


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Return the sentence spans of ``text`` (see the module's ``sentences`` rule)."""
    return _split(text, _SENTENCE_END, keep_boundary=True)


@lru_cache(maxsize=32)
def cue_pattern(cues: tuple[str, ...]) -> re.Pattern[str]:
    """Compile the cue matcher: optional quotes/markup, then a cue as a whole word.

    It is matched (``re.match``) at a sentence start on the whole text.
    """
    ordered = sorted(set(cues), key=lambda c: (-len(c), c))
    body = "|".join(r"\s+".join(re.escape(w) for w in c.split()) for c in ordered)
    return re.compile(r"[\"'“‘(*_#\-\s]*(?:" + body + r")(?!\w)", re.IGNORECASE | re.ASCII)


def segment_text(
    text: str,
    *,
    strategy: str = DEFAULT_STRATEGY,
    cues: Sequence[str] = CUES,
    min_chars: int = DEFAULT_MIN_CHARS,
) -> list[tuple[int, int]]:
    """Return segment spans of ``text`` (offsets into ``text``).

    Parameters
    ----------
    text
        Usually a trajectory's thinking.
    strategy
        One of :data:`STRATEGIES`.
    cues
        Transition cues for the ``cues`` strategy.
    min_chars
        Shorter segments are merged into the previous one (``cues`` and ``paragraphs``).
    """
    if strategy not in STRATEGIES:
        raise ValueError(
            f"unknown segmentation strategy {strategy!r}: use one of {list(STRATEGIES)}"
        )
    if strategy == "sentences":
        return sentence_spans(text)
    paragraphs = _split(text, _PARAGRAPH, keep_boundary=False)
    if strategy == "paragraphs":
        return _merge_short(paragraphs, min_chars)
    pattern = cue_pattern(tuple(c.lower() for c in cues))
    spans: list[tuple[int, int]] = []
    for p_start, p_end in paragraphs:
        seg_start = p_start
        for s_start, _s_end in sentence_spans(text[p_start:p_end]):
            abs_start = p_start + s_start
            if abs_start > seg_start and pattern.match(text, abs_start):
                span = _trim(text, seg_start, abs_start)
                if span:
                    spans.append(span)
                seg_start = abs_start
        span = _trim(text, seg_start, p_end)
        if span:
            spans.append(span)
    return _merge_short(spans, min_chars)


def _merge_short(spans: list[tuple[int, int]], min_chars: int) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and end - start < min_chars:
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    if len(merged) > 1 and merged[0][1] - merged[0][0] < min_chars:
        merged[1] = (merged[0][0], merged[1][1])
        merged.pop(0)
    return merged


def segment(
    trajectory: Trajectory,
    *,
    strategy: str = DEFAULT_STRATEGY,
    cues: Sequence[str] = CUES,
    min_chars: int = DEFAULT_MIN_CHARS,
) -> list[Segment]:
    """Segment a trajectory's thinking.

    Returns
    -------
    list of Segment
        Unlabelled segments with character spans in :attr:`Trajectory.raw` coordinates, their
        text, and token spans when the trajectory has per-token offsets.
    """
    offset = trajectory.thinking_span[0]
    thinking = trajectory.thinking
    spans = [
        (s + offset, e + offset)
        for s, e in segment_text(thinking, strategy=strategy, cues=cues, min_chars=min_chars)
    ]
    token_spans: list[tuple[int, int] | None] = [None] * len(spans)
    tokens = trajectory.tokens
    if tokens is not None and tokens.offsets is not None and len(tokens):
        ends = tokens.offsets[:, 1]
        starts = tokens.offsets[:, 0]
        for i, (s, e) in enumerate(spans):
            first = int(np.searchsorted(ends, s, side="right"))
            last = int(np.searchsorted(starts, e, side="left"))
            token_spans[i] = (first, max(first, last))
    return [
        Segment(
            trajectory_id=trajectory.id,
            char_span=span,
            index=i,
            text=trajectory.raw[span[0] : span[1]],
            token_span=token_spans[i],
            segmenter=strategy,
        )
        for i, span in enumerate(spans)
    ]
