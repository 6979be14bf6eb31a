"""Frames in and out of the corpus engine: input checks, Arrow buffers, chunks, keyword frames."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from workbench.analysis.corpus.compile import KeywordForms

__all__ = ["CARRIED_COLUMNS", "CorpusAnalytics"]

CARRIED_COLUMNS = ("model", "source", "status", "grade", "correct", "metadata")
"""Columns of an input frame that are copied into the keyword statistics when present."""


@dataclass
class CorpusAnalytics:
    """The result of :func:`analyze_corpus`.

    Attributes
    ----------
    segments
        One row per segment: ``trace`` (row of the input), ``id``, ``index`` (of the segment in
        its trace), ``start, end`` (character offsets into the thinking), ``label`` and
        ``confidence`` (rounded to 4 decimals, as :func:`label_segments` does). Without labels
        (``labels=False``) the last two columns are left out.
    keywords
        One row per trace, the text-derived columns of
        :func:`~workbench.analysis._keyword_stats.keyword_stats` (``thinking_chars, words, hits,
        per_1k_words, first_hit_rel_pos, hit_rel_positions, gaps_words, keywords``) with ``id``,
        ``tokens`` and ``per_1k_tokens`` (null: no token offsets here), and the
        :data:`CARRIED_COLUMNS` of the input, so that it can go to ``keyword_summary``.
    timings
        Seconds per stage.
    """

    segments: pl.DataFrame
    keywords: pl.DataFrame
    timings: dict[str, float] = field(default_factory=dict)


def _as_series(data: Any) -> tuple[pl.Series, pl.Series, pl.DataFrame | None]:
    """Return the thinking as a String series, the ids, and the input frame (if any)."""
    frame: pl.DataFrame | None = None
    if isinstance(data, pl.LazyFrame):
        data = data.collect()
    if isinstance(data, pl.DataFrame):
        if "thinking" not in data.columns:
            raise ValueError(
                f"the frame needs a 'thinking' column (and optionally 'id'); it has {data.columns}"
            )
        frame = data
        texts = data.get_column("thinking")
    elif isinstance(data, pl.Series):
        texts = data
    elif isinstance(data, str):
        raise TypeError("pass a list of strings or a frame, not one string")
    elif isinstance(data, Sequence):
        bad = next((type(t).__name__ for t in data if not isinstance(t, str)), None)
        if bad is not None:
            raise TypeError(f"every text must be a str, got {bad}")
        try:
            texts = pl.Series("thinking", data, dtype=pl.String)
        except Exception as exc:  # lone surrogates cannot be UTF-8
            raise ValueError(f"texts must be encodable as UTF-8: {exc}") from exc
    else:
        raise TypeError(
            "analyze_corpus takes a polars DataFrame with 'id' and 'thinking' columns, "
            f"a Series or a list of strings, not {type(data).__name__}"
        )
    if texts.dtype != pl.String:
        raise TypeError(f"the thinking column must be of type String, not {texts.dtype}")
    if texts.null_count():
        raise ValueError(f"the thinking column has {texts.null_count()} null values")
    if frame is not None and "id" in frame.columns:
        ids = frame.get_column("id").cast(pl.String)
    else:
        ids = pl.Series("id", np.arange(len(texts)), dtype=pl.Int64).cast(pl.String)
    return texts.rename("thinking"), ids.rename("id"), frame


def _buffers(texts: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """UTF-8 bytes and int64 offsets of a String series (one copy, into Arrow's layout)."""
    arr = texts.to_arrow()
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if arr.type != pa.large_string():
        arr = arr.cast(pa.large_string())
    bufs = arr.buffers()
    offsets = np.frombuffer(bufs[1], dtype=np.int64)[arr.offset : arr.offset + len(arr) + 1]
    data = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None else np.zeros(1, np.uint8)
    return data, offsets


@dataclass
class _Chunk:
    trace0: int
    n_segs: np.ndarray
    seg_s: np.ndarray
    seg_e: np.ndarray
    seg_open: np.ndarray
    seg_counts: np.ndarray
    seg_label: np.ndarray | None
    seg_best: np.ndarray | None
    seg_total: np.ndarray | None
    seg_conf: np.ndarray | None
    n_hits: np.ndarray
    hit_pos: np.ndarray
    hit_kw: np.ndarray
    hit_gap: np.ndarray
    words: np.ndarray
    chars: np.ndarray


def _compact(base: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Slot indices of ``counts[i]`` items starting at ``base[i]``, in order."""
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.repeat(base - (np.cumsum(counts) - counts), counts)
    return starts + np.arange(total, dtype=np.int64)


def _chunk_bounds(lengths: np.ndarray, chunk_bytes: int) -> list[tuple[int, int]]:
    cum = np.cumsum(lengths)
    bounds = []
    lo = 0
    n = len(lengths)
    while lo < n:
        base = cum[lo - 1] if lo else 0
        hi = int(np.searchsorted(cum, base + chunk_bytes, side="right"))
        hi = max(hi, lo + 1)
        bounds.append((lo, min(hi, n)))
        lo = hi
    return bounds


def _list_series(name: str, offsets: np.ndarray, values: pl.Series) -> pl.Series:
    arr = pa.LargeListArray.from_arrays(pa.array(offsets, type=pa.int64()), values.to_arrow())
    out = pl.Series(name, arr)
    return out


def _cat(parts: list[np.ndarray], dtype: Any) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)


def _keyword_frame(
    chunks: list[_Chunk], ids: pl.Series, frame: pl.DataFrame | None, forms: KeywordForms
) -> pl.DataFrame:
    words = _cat([c.words for c in chunks], np.int64)
    chars = _cat([c.chars for c in chunks], np.int64)
    hits = _cat([c.n_hits for c in chunks], np.int64)
    pos = _cat([c.hit_pos for c in chunks], np.int64)
    kws = _cat([c.hit_kw for c in chunks], np.int32)
    gaps = _cat([c.hit_gap for c in chunks], np.int64)
    hit_trace_chars = np.repeat(chars, hits)
    rel = np.minimum(1.0, np.maximum(0.0, pos / np.where(hit_trace_chars > 0, hit_trace_chars, 1)))
    hit_off = np.zeros(len(hits) + 1, dtype=np.int64)
    np.cumsum(hits, out=hit_off[1:])
    gap_counts = np.maximum(hits - 1, 0)
    gap_off = np.zeros(len(hits) + 1, dtype=np.int64)
    np.cumsum(gap_counts, out=gap_off[1:])
    first = np.full(len(hits), np.nan)
    has = hits > 0
    first[has] = rel[hit_off[:-1][has]]
    with np.errstate(divide="ignore", invalid="ignore"):
        per_1k = 1000.0 * hits / words
    keyword_names = pl.Series("keywords", list(forms.keywords), dtype=pl.String)
    cols: dict[str, Any] = {"id": ids}
    if frame is not None:
        for name in CARRIED_COLUMNS:
            if name in frame.columns:
                cols[name] = frame.get_column(name)
    cols.update(
        {
            "thinking_chars": chars,
            "words": words,
            "tokens": pl.Series("tokens", [None] * len(hits), dtype=pl.Int64),
            "hits": hits,
            "per_1k_words": pl.Series(
                "per_1k_words", np.where(words > 0, per_1k, np.nan), nan_to_null=True
            ),
            "per_1k_tokens": pl.Series("per_1k_tokens", [None] * len(hits), dtype=pl.Float64),
            "first_hit_rel_pos": pl.Series("first_hit_rel_pos", first, nan_to_null=True),
            "hit_rel_positions": _list_series(
                "hit_rel_positions", hit_off, pl.Series(rel, dtype=pl.Float64)
            ),
            "gaps_words": _list_series("gaps_words", gap_off, pl.Series(gaps, dtype=pl.Int64)),
            "keywords": _list_series("keywords", hit_off, keyword_names.gather(kws)),
        }
    )
    return pl.DataFrame(cols)


def _run_chunks(
    texts: pl.Series,
    lengths: np.ndarray,
    bounds: list[tuple[int, int]],
    run: Callable[[int, int, int, np.ndarray, np.ndarray], _Chunk],
    timings: dict[str, float],
    progress: bool,
) -> list[_Chunk]:
    """Run ``run(chunk index, lo, hi, bytes, offsets)`` on each chunk of ``texts``, in order.

    Adds ``convert_s`` (frame → Arrow buffers) and ``kernel_s`` to ``timings`` and prints the
    progress in MB to stderr when asked.
    """
    chunks: list[_Chunk] = []
    t_convert = t_kernel = 0.0
    total_bytes = int(lengths.sum())
    done = 0
    for i, (lo, hi) in enumerate(bounds):
        t1 = time.perf_counter()
        buf, offs = _buffers(texts.slice(lo, hi - lo))
        t2 = time.perf_counter()
        chunks.append(run(i, lo, hi, buf, offs))
        t_convert += t2 - t1
        t_kernel += time.perf_counter() - t2
        done += int(lengths[lo:hi].sum())
        if progress:
            print(f"[analyze_corpus] {done / 1e6:.0f}/{total_bytes / 1e6:.0f} MB", file=sys.stderr)
    timings["convert_s"] = t_convert
    timings["kernel_s"] = t_kernel
    return chunks
