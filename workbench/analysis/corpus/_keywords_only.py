"""The keywords-only path of :func:`~workbench.analysis.corpus.analyze_corpus` (``segments=False``)."""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
import polars as pl

from workbench.analysis.corpus._frames import (
    CorpusAnalytics,
    _as_series,
    _Chunk,
    _chunk_bounds,
    _compact,
    _keyword_frame,
    _run_chunks,
)
from workbench.analysis.corpus._keyword_kernel import keywords_chunk
from workbench.analysis.corpus.compile import keyword_forms, match_tables
from workbench.analysis.keywords import Lexicon, get_lexicon

__all__ = ["keywords_only"]


def keywords_only(
    data: pl.DataFrame | pl.Series | Sequence[str],
    *,
    lexicon: str | Lexicon | Sequence[str],
    chunk_bytes: int,
    progress: bool,
) -> CorpusAnalytics:
    """:func:`analyze_corpus` with ``segments=False`` (one :func:`keywords_chunk` per chunk)."""
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    texts, ids, frame = _as_series(data)
    forms = keyword_forms(get_lexicon(lexicon))
    match = match_tables((), forms.forms)
    timings["compile_s"] = time.perf_counter() - t0
    lengths = texts.str.len_bytes().to_numpy().astype(np.int64, copy=False)
    bounds = _chunk_bounds(lengths, chunk_bytes)
    hit_slots = max((int(lengths[lo:hi].sum()) for lo, hi in bounds), default=0) + 1
    hit_pos = np.empty(hit_slots, dtype=np.int64)
    hit_kw = np.empty(hit_slots, dtype=np.int32)
    hit_gap = np.empty(hit_slots, dtype=np.int64)
    hit_end = np.empty(hit_slots, dtype=np.int64)
    pre2 = match.pre2.reshape(-1).view(np.uint8)
    empty_i = np.zeros(0, dtype=np.int64)

    def run(_i: int, lo: int, hi: int, buf: np.ndarray, offs: np.ndarray) -> _Chunk:
        n = hi - lo
        hit_base = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(lengths[lo:hi], out=hit_base[1:])
        n_hits = np.zeros(n, dtype=np.int64)
        words = np.zeros(n, dtype=np.int64)
        chars = np.zeros(n, dtype=np.int64)
        keywords_chunk(
            buf, offs, match.trans, match.dfa.accept_end, match.pre, match.dfa.start,
            match.shift, pre2, match.start_index, match.byte_class, match.kw_form, hit_base,
            hit_pos, hit_kw, hit_gap, hit_end, n_hits, words, chars,
        )  # fmt: skip
        hi_idx = _compact(hit_base[:-1], n_hits)
        gap_idx = _compact(hit_base[:-1], np.maximum(n_hits - 1, 0))
        return _Chunk(
            trace0=lo,
            n_segs=np.zeros(n, np.int64),
            seg_s=empty_i,
            seg_e=empty_i,
            seg_open=np.zeros(0, np.uint64),
            seg_counts=np.zeros((0, 0), np.uint16),
            seg_label=None,
            seg_best=None,
            seg_total=None,
            seg_conf=None,
            n_hits=n_hits,
            hit_pos=hit_pos[hi_idx],
            hit_kw=hit_kw[hi_idx],
            hit_gap=hit_gap[gap_idx],
            words=words,
            chars=chars,
        )

    chunks = _run_chunks(texts, lengths, bounds, run, timings, progress)
    t5 = time.perf_counter()
    segments = pl.DataFrame(
        {"trace": [], "id": [], "index": [], "start": [], "end": []},
        schema={"trace": pl.Int64, "id": pl.String, "index": pl.Int64, "start": pl.Int64,
                "end": pl.Int64},
    )  # fmt: skip
    kw_frame = _keyword_frame(chunks, ids, frame, forms)
    timings["keyword_frame_s"] = time.perf_counter() - t5
    timings["total_s"] = time.perf_counter() - t0
    return CorpusAnalytics(segments, kw_frame, timings)
