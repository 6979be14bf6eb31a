"""The widget protocol's own records (the messages are in :mod:`workbench.widgets._protocol`).

Records shared with the extension (segments, hits, bounds, trajectory headers) are declared in
:mod:`workbench.documents`.
"""

from __future__ import annotations

from typing import TypedDict

from workbench.documents import Bounds, HitInfo, SegmentInfo, TrajInfo

__all__ = [
    "AlignRow",
    "AlternativeRow",
    "BranchInfo",
    "CompareSide",
    "Counters",
    "ImportanceBar",
    "KeywordRow",
    "PatternRow",
    "SampleDelta",
    "SampleState",
    "TraceRow",
]


# -- records -------------------------------------------------------------------------------
class Counters(TypedDict):
    """Live counters of a run."""

    status: str
    tokens: int
    tokens_per_s: float
    elapsed_s: float
    keyword_hits: int


class BranchInfo(TypedDict):
    """Where a forked sample branched from its parent (``parent``: the parent's column, or -1).

    The fork's text ``[0, at_char)`` is the parent's, ``[at_char, prefix_chars)`` the forced
    replacement; ``at_end`` is where the replaced token ended in the parent.
    """

    parent: int
    parent_id: str
    at_token: int
    at_char: int
    at_end: int
    prefix_chars: int
    source: str
    note: str


class AlternativeRow(TypedDict):
    """One recorded alternative of a token (``id`` -1: the server sent its text only)."""

    text: str
    logprob: float | None
    id: int


class SampleState(TypedDict):
    """Everything a view needs to draw one sample from scratch (``branch``: a fork's origin)."""

    sample: int
    title: str
    status: str
    text: str
    bounds: Bounds
    segments: list[SegmentInfo]
    hits: list[HitInfo]
    tokens: int
    offsets: int | None
    logprobs: int | None
    entropies: int | None
    branch: BranchInfo | None


class SampleDelta(TypedDict):
    """What one sample gained since the last flush (``open_segment`` replaces the previous one)."""

    sample: int
    text: str
    bounds: Bounds | None
    segments: list[SegmentInfo]
    open_segment: SegmentInfo | None
    hits: list[HitInfo]
    tokens: int
    offsets: int | None
    logprobs: int | None
    entropies: int | None


class KeywordRow(TypedDict):
    """A bar of the keyword chart."""

    keyword: str
    hits: int
    traces: int


class PatternRow(TypedDict):
    """A bar of the pattern chart."""

    label: str
    segments: int
    traces: int


class TraceRow(TypedDict):
    """A row of the stats panel's trace list."""

    id: str
    title: str
    model: str
    hits: int
    per_1k_words: float | None
    correct: bool | None
    keywords: list[str]
    patterns: list[str]


class AlignRow(TypedDict):
    """One row of an aligned comparison: a segment index on each side (``None``: a gap)."""

    left: int | None
    right: int | None


class CompareSide(TypedDict):
    """One side of the compare view."""

    info: TrajInfo
    text: str
    bounds: Bounds
    segments: list[SegmentInfo]
    hits: list[HitInfo]


class ImportanceBar(TypedDict):
    """One segment's bar of an importance strip (raw-text span ``start..end``).

    ``value`` is the measure shown (``None``: not measured, e.g. too few different resamples),
    ``lo``/``hi`` its interval (``None`` for a KL), ``significant`` whether the Δp interval
    excludes 0; ``preview`` is the segment's text, clipped (plain text, escaped by the view).
    """

    index: int
    start: int
    end: int
    label: str | None
    value: float | None
    lo: float | None
    hi: float | None
    significant: bool
    p_keep: float
    p_drop: float
    n_keep: int
    n_drop: int
    preview: str
