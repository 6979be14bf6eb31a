"""The corpus engine: segments, rule labels and keyword statistics for many traces at once."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from workbench.analysis._segment import CUES, DEFAULT_MIN_CHARS, DEFAULT_STRATEGY, STRATEGIES
from workbench.analysis.corpus import kernels
from workbench.analysis.corpus._frames import (
    CARRIED_COLUMNS,
    CorpusAnalytics,
    _as_series,
    _cat,
    _Chunk,
    _chunk_bounds,
    _compact,
    _keyword_frame,
    _run_chunks,
)
from workbench.analysis.corpus._keywords_only import keywords_only
from workbench.analysis.corpus._scoring import (
    _NO_SCORING,
    _fallback_rules,
    _labels,
    _rounded_share,
    _Scoring,
)
from workbench.analysis.corpus.compile import (
    MatchTables,
    RuleTables,
    Tables,
    cue_tables,
    keyword_forms,
    match_tables,
    rule_tables,
)
from workbench.analysis.keywords import DEFAULT_LEXICON, Lexicon, get_lexicon
from workbench.analysis.patterns import Taxonomy, get_taxonomy

__all__ = ["CARRIED_COLUMNS", "CorpusAnalytics", "analyze_corpus"]

CHUNK_BYTES = 4_000_000
"""Traces are processed in chunks of about this many bytes (bounds the scratch memory: about
90 bytes per byte of text, allocated once)."""


KEYWORD_CHUNK_BYTES = 1_000_000
"""Chunk size of the keywords-only path: its output slots are spread over a chunk's bytes, and
smaller chunks keep them in memory that is already mapped (page faults cost more than the scan)."""

_STRATEGY_CODES = {"paragraphs": kernels.PARAGRAPHS, "sentences": kernels.SENTENCES,
                   "cues": kernels.CUES}  # fmt: skip


@dataclass
class _Scratch:
    """Kernel output buffers, allocated once and reused by every chunk.

    Fresh buffers per chunk cost more in page faults (system time, serialised in the OS) than
    the kernel spends on the text; reused ones are faulted in once.
    """

    seg_s: np.ndarray
    seg_e: np.ndarray
    seg_cs: np.ndarray
    seg_ce: np.ndarray
    seg_open: np.ndarray
    seg_counts: np.ndarray
    seg_label: np.ndarray
    seg_best: np.ndarray
    seg_total: np.ndarray
    seg_conf: np.ndarray
    hit_pos: np.ndarray
    hit_kw: np.ndarray
    hit_gap: np.ndarray
    hit_end: np.ndarray

    @classmethod
    def allocate(
        cls, seg_slots: int, hit_slots: int, n_rules: int, labels: bool, score: bool
    ) -> _Scratch:
        seg_slots = max(seg_slots, 1)
        hit_slots = max(hit_slots, 1)
        return cls(
            seg_s=np.empty(seg_slots, dtype=np.int64),
            seg_e=np.empty(seg_slots, dtype=np.int64),
            seg_cs=np.empty(seg_slots, dtype=np.int64),
            seg_ce=np.empty(seg_slots, dtype=np.int64),
            seg_open=np.empty(seg_slots if labels else 1, dtype=np.uint64),
            seg_counts=np.empty((seg_slots if n_rules else 1, max(n_rules, 1)), dtype=np.uint16),
            seg_label=np.empty(seg_slots if score else 1, dtype=np.int64),
            seg_best=np.empty(seg_slots if score else 1, dtype=np.float64),
            seg_total=np.empty(seg_slots if score else 1, dtype=np.float64),
            seg_conf=np.empty(seg_slots if score else 1, dtype=np.float64),
            hit_pos=np.empty(hit_slots, dtype=np.int64),
            hit_kw=np.empty(hit_slots, dtype=np.int32),
            hit_gap=np.empty(hit_slots, dtype=np.int64),
            hit_end=np.empty(hit_slots, dtype=np.int64),
        )


def _slots(lengths: np.ndarray, do_keywords: bool) -> tuple[np.ndarray, np.ndarray]:
    """Each trace's first segment and hit slot (capacities bounded by its byte length)."""
    n = len(lengths)
    seg_base = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths // 2 + 1, out=seg_base[1:])
    hit_base = np.zeros(n + 1, dtype=np.int64)
    if do_keywords:
        np.cumsum(lengths, out=hit_base[1:])
    return seg_base, hit_base


def _run_chunk(
    data: np.ndarray,
    offs: np.ndarray,
    trace0: int,
    *,
    strategy: int,
    min_chars: int,
    cue: Tables,
    rules: RuleTables | None,
    match: MatchTables,
    do_keywords: bool,
    scratch: _Scratch,
    slots: tuple[np.ndarray, np.ndarray],
    scoring: _Scoring | None,
) -> _Chunk:
    n = len(offs) - 1
    seg_base, hit_base = slots
    n_rules = rules.n_fast if rules is not None else 0
    seg_s, seg_e, seg_cs, seg_ce = scratch.seg_s, scratch.seg_e, scratch.seg_cs, scratch.seg_ce
    seg_open, seg_counts = scratch.seg_open, scratch.seg_counts
    hit_pos, hit_kw, hit_gap = scratch.hit_pos, scratch.hit_kw, scratch.hit_gap
    n_segs = np.zeros(n, dtype=np.int64)
    n_hits = np.zeros(n, dtype=np.int64)
    words = np.zeros(n, dtype=np.int64)
    chars = np.zeros(n, dtype=np.int64)
    op = rules.opening if rules is not None else Tables.empty()
    op_masks = rules.opening_masks if rules is not None else np.zeros(1, np.uint64)
    m = match.dfa
    sc = scoring if scoring is not None else _NO_SCORING
    kernels.analyze_chunk(
        data, offs, strategy, min_chars,
        cue.next_state, cue.accept, cue.accept_end, cue.start,
        rules is not None,
        op.next_state, op.accept, op.accept_end, op.start, op_masks,
        match.trans, m.accept_end, match.pre, m.start, match.shift, match.pre2,
        match.start_index, match.byte_class, match.rule_mask, match.kw_form, n_rules,
        do_keywords,
        scoring is not None, sc.order_ptr, sc.order_cols, sc.weight, sc.cap, sc.n_labels,
        sc.conf_table, sc.conf_width,
        seg_base, hit_base,
        seg_s, seg_e, seg_cs, seg_ce, seg_open, seg_counts,
        scratch.seg_label, scratch.seg_best, scratch.seg_total, scratch.seg_conf,
        hit_pos, hit_kw, hit_gap, scratch.hit_end,
        n_segs, n_hits, words, chars,
    )  # fmt: skip
    si = _compact(seg_base[:-1], n_segs)
    hi = _compact(hit_base[:-1], n_hits)
    gi = _compact(hit_base[:-1], np.maximum(n_hits - 1, 0))
    return _Chunk(
        trace0=trace0,
        n_segs=n_segs,
        seg_s=seg_cs[si],
        seg_e=seg_ce[si],
        seg_open=seg_open[si] if rules is not None and scoring is None else seg_open[:0],
        seg_counts=(
            seg_counts[si] if n_rules and scoring is None else np.zeros((len(si), 0), np.uint16)
        ),
        seg_label=scratch.seg_label[si] if scoring is not None else None,
        seg_best=scratch.seg_best[si] if scoring is not None and not scoring.conf_width else None,
        seg_total=(
            scratch.seg_total[si] if scoring is not None and not scoring.conf_width else None
        ),
        seg_conf=scratch.seg_conf[si] if scoring is not None and scoring.conf_width else None,
        n_hits=n_hits,
        hit_pos=hit_pos[hi],
        hit_kw=hit_kw[hi],
        hit_gap=hit_gap[gi],
        words=words,
        chars=chars,
    )


def analyze_corpus(
    data: pl.DataFrame | pl.Series | Sequence[str],
    *,
    strategy: str = DEFAULT_STRATEGY,
    taxonomy: str | Taxonomy = "dto",
    lexicon: str | Lexicon | Sequence[str] = DEFAULT_LEXICON,
    cues: Sequence[str] = CUES,
    min_chars: int = DEFAULT_MIN_CHARS,
    labels: bool | None = None,
    keywords: bool = True,
    segments: bool = True,
    chunk_bytes: int | None = None,
    progress: bool = False,
) -> CorpusAnalytics:
    """Segment, label and count keywords in many thinking texts at once.

    The results are exactly those of the per-trace functions:
    :func:`~workbench.analysis._segment.segment_text` (spans),
    :func:`~workbench.analysis.patterns.rule_label` on each segment's text (label, confidence
    rounded to 4 decimals) and the text-derived columns of
    :func:`~workbench.analysis._keyword_stats.keyword_stats`; see ``docs/corpus_analytics.md`` for
    how (one compiled pass per trace over its UTF-8 bytes, in parallel over traces) and for the
    rules that fall back to Python's ``re``.

    Parameters
    ----------
    data
        A polars DataFrame with a String column ``thinking`` (the thinking text, e.g.
        :attr:`Trajectory.thinking`) and optionally ``id`` (otherwise the row number is the id)
        and any of :data:`CARRIED_COLUMNS`; or a String Series; or a list of strings.
    strategy, cues, min_chars
        As for :func:`~workbench.analysis._segment.segment_text`.
    taxonomy
        A preset name or a :class:`~workbench.analysis.patterns.Taxonomy`.
    lexicon
        A preset name, a :class:`~workbench.analysis.keywords.Lexicon` or a list of keywords.
    labels, keywords
        Skip the rule labels or the keyword statistics. ``labels`` defaults to ``segments``.
    segments
        ``False`` gives the keywords-only path: no segmentation (``segments`` is an empty frame),
        hence no labels, and the keyword statistics in one pass over the bytes (the fastest way
        to count keywords with their positions; see ``docs/corpus_analytics.md``).
    chunk_bytes
        Bytes of text per chunk (memory use is a small multiple of it); default
        :data:`CHUNK_BYTES`, or :data:`KEYWORD_CHUNK_BYTES` for the keywords-only path.
    progress
        Print progress to stderr.

    Returns
    -------
    CorpusAnalytics
        The segments and keyword-statistics frames, and stage timings.

    Raises
    ------
    TypeError
        For input that is not text (e.g. a non-String ``thinking`` column).
    ValueError
        For null texts, an unknown strategy, taxonomy or lexicon, or ``labels=True`` with
        ``segments=False``.

    Examples
    --------
    >>> out = analyze_corpus(
    ...     ["Okay, so the problem asks for 2 + 2.\\n\\nWait, let me check that again: it is 4."]
    ... )
    >>> out.segments.select("start", "end", "label", "confidence").rows()
    [(0, 36, 'problem_understanding', 0.8333), (38, 77, 'backtracking', 0.8)]
    >>> out.keywords.select("words", "hits", "keywords").rows()
    [(18, 2, ['wait', 'check'])]
    >>> analyze_corpus(["Wait, let me check."], segments=False).keywords["hits"].to_list()
    [2]
    """
    if labels is None:
        labels = segments
    if labels and not segments:
        raise ValueError("labels need segments: pass segments=True, or labels=False")
    if not segments:
        return keywords_only(
            data, lexicon=lexicon, chunk_bytes=chunk_bytes or KEYWORD_CHUNK_BYTES, progress=progress
        )
    if chunk_bytes is None:
        chunk_bytes = CHUNK_BYTES
    if strategy not in STRATEGIES:
        raise ValueError(
            f"unknown segmentation strategy {strategy!r}: use one of {list(STRATEGIES)}"
        )
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    texts, ids, frame = _as_series(data)
    tax = get_taxonomy(taxonomy)
    lex = get_lexicon(lexicon)
    cue = cue_tables(tuple(c.lower() for c in cues))
    rules = rule_tables(tax) if labels else None
    forms = keyword_forms(lex)
    match = match_tables(rules.fast if rules else (), forms.forms if keywords else ())
    timings["compile_s"] = time.perf_counter() - t0

    lengths = texts.str.len_bytes().to_numpy().astype(np.int64, copy=False)
    bounds = _chunk_bounds(lengths, chunk_bytes)
    slots = [_slots(lengths[lo:hi], keywords) for lo, hi in bounds]
    seg_slots = max((int(seg_base[-1]) for seg_base, _ in slots), default=0)
    hit_slots = max((int(hit_base[-1]) for _, hit_base in slots), default=0)
    fallback = rules is not None and bool(rules.opening_fallback or rules.anywhere_fallback)
    scoring = _Scoring.of(rules) if rules is not None else None
    in_kernel = scoring if not fallback else None  # labels computed by the kernel
    scratch = _Scratch.allocate(
        seg_slots, hit_slots, rules.n_fast if rules is not None else 0, rules is not None,
        in_kernel is not None,
    )  # fmt: skip
    chunks = _run_chunks(
        texts, lengths, bounds,
        lambda i, lo, _hi, buf, offs: _run_chunk(
            buf, offs, lo, strategy=_STRATEGY_CODES[strategy], min_chars=min_chars,
            cue=cue, rules=rules, match=match, do_keywords=keywords, scratch=scratch,
            slots=slots[i], scoring=in_kernel,
        ),
        timings, progress,
    )  # fmt: skip

    t4 = time.perf_counter()
    n_segs = np.concatenate([c.n_segs for c in chunks]) if chunks else np.zeros(0, np.int64)
    seg_trace = np.repeat(np.arange(len(texts), dtype=np.int64), n_segs)
    seg_index = np.arange(len(seg_trace), dtype=np.int64) - np.repeat(
        np.cumsum(n_segs) - n_segs, n_segs
    )
    seg_start = _cat([c.seg_s for c in chunks], np.int64)
    seg_end = _cat([c.seg_e for c in chunks], np.int64)
    seg_cols: dict[str, Any] = {
        "trace": pl.Series("trace", seg_trace, dtype=pl.Int64),
        "id": ids.gather(seg_trace) if len(seg_trace) else ids.clear(),
        "index": seg_index,
        "start": seg_start,
        "end": seg_end,
    }
    if in_kernel is not None:
        label = _cat([c.seg_label for c in chunks if c.seg_label is not None], np.int64)
        if in_kernel.conf_width:
            conf = _cat([c.seg_conf for c in chunks if c.seg_conf is not None], np.float64)
        else:
            conf = _rounded_share(
                _cat([c.seg_best for c in chunks if c.seg_best is not None], np.float64),
                _cat([c.seg_total for c in chunks if c.seg_total is not None], np.float64),
                in_kernel,
            )
    elif rules is not None and scoring is not None:
        opened = _cat([c.seg_open for c in chunks], np.uint64)
        counts: np.ndarray = (
            np.concatenate([c.seg_counts for c in chunks])
            if chunks
            else np.zeros((0, rules.n_fast), np.uint16)
        )
        if rules.opening_fallback or rules.anywhere_fallback:
            counts = np.hstack(
                [counts.astype(np.int64), np.zeros((len(counts), len(rules.anywhere_fallback)),
                                                   np.int64)]
            )  # fmt: skip
            _fallback_rules(rules, texts, seg_trace, seg_start, seg_end, opened, counts)
        label, conf = _labels(scoring, opened, counts)
    if rules is not None:
        categories = [*rules.names, tax.default]
        names = pl.Series("label", categories, dtype=pl.String)
        seg_cols["label"] = names.gather(label)
        seg_cols["confidence"] = conf
    seg_frame = pl.DataFrame(seg_cols)
    timings["labels_s"] = time.perf_counter() - t4

    t5 = time.perf_counter()
    kw_frame = _keyword_frame(chunks, ids, frame, forms) if keywords else pl.DataFrame()
    timings["keyword_frame_s"] = time.perf_counter() - t5
    timings["total_s"] = time.perf_counter() - t0
    return CorpusAnalytics(seg_frame, kw_frame, timings)
