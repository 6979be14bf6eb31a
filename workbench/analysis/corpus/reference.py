"""The straightforward per-trace implementation :func:`analyze_corpus` must agree with."""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from typing import Any

import polars as pl

from workbench.analysis._segment import CUES, DEFAULT_MIN_CHARS, DEFAULT_STRATEGY, segment_text
from workbench.analysis.corpus.engine import CorpusAnalytics
from workbench.analysis.keywords import (
    DEFAULT_LEXICON,
    Lexicon,
    count_words,
    find_keywords,
    get_lexicon,
    relative_positions,
)
from workbench.analysis.patterns import Taxonomy, get_taxonomy, rule_label

__all__ = ["analyze_corpus_reference"]

_LIST_SCHEMA: dict[str, Any] = {
    "hit_rel_positions": pl.List(pl.Float64),
    "gaps_words": pl.List(pl.Int64),
    "keywords": pl.List(pl.String),
}


def analyze_corpus_reference(
    texts: Sequence[str],
    *,
    ids: Sequence[str] | None = None,
    strategy: str = DEFAULT_STRATEGY,
    taxonomy: str | Taxonomy = "dto",
    lexicon: str | Lexicon | Sequence[str] = DEFAULT_LEXICON,
    cues: Sequence[str] = CUES,
    min_chars: int = DEFAULT_MIN_CHARS,
) -> CorpusAnalytics:
    """Compute what :func:`analyze_corpus` does, one trace and one segment at a time.

    Each text is segmented with :func:`segment_text`, each segment labelled with
    :func:`rule_label` (confidence rounded to 4 decimals, as :func:`label_segments` does), and the
    keyword columns are computed as :func:`keyword_stats` computes them. The frames have the
    columns of :class:`CorpusAnalytics` (without the carried input columns).
    """
    tax = get_taxonomy(taxonomy)
    lex = get_lexicon(lexicon)
    id_list = [str(i) for i in range(len(texts))] if ids is None else [str(i) for i in ids]
    t0 = time.perf_counter()
    seg: dict[str, list[Any]] = {k: [] for k in ("trace", "id", "index", "start", "end")}
    seg["label"], seg["confidence"] = [], []
    kw: dict[str, list[Any]] = {
        k: []
        for k in ("id", "thinking_chars", "words", "hits", "per_1k_words", "first_hit_rel_pos",
                  "hit_rel_positions", "gaps_words", "keywords")
    }  # fmt: skip
    for row, text in enumerate(texts):
        spans = segment_text(text, strategy=strategy, cues=cues, min_chars=min_chars)
        for index, (start, end) in enumerate(spans):
            verdict = rule_label(text[start:end], taxonomy=tax)
            seg["trace"].append(row)
            seg["id"].append(id_list[row])
            seg["index"].append(index)
            seg["start"].append(start)
            seg["end"].append(end)
            seg["label"].append(verdict.label)
            seg["confidence"].append(round(verdict.confidence, 4))
        hits = find_keywords(text, lexicon=lex)
        words = count_words(text)
        positions = relative_positions(hits, len(text))
        kw["id"].append(id_list[row])
        kw["thinking_chars"].append(len(text))
        kw["words"].append(words)
        kw["hits"].append(len(hits))
        kw["per_1k_words"].append(1000.0 * len(hits) / words if words else None)
        kw["first_hit_rel_pos"].append(positions[0] if positions else None)
        kw["hit_rel_positions"].append(positions)
        kw["gaps_words"].append(
            [count_words(text[a.end : b.start]) for a, b in itertools.pairwise(hits)]
        )
        kw["keywords"].append([h.keyword for h in hits])
    segments = pl.DataFrame(
        seg,
        schema={"trace": pl.Int64, "id": pl.String, "index": pl.Int64, "start": pl.Int64,
                "end": pl.Int64, "label": pl.String, "confidence": pl.Float64},
    )  # fmt: skip
    keywords = pl.DataFrame(
        kw,
        schema={"id": pl.String, "thinking_chars": pl.Int64, "words": pl.Int64,
                "hits": pl.Int64, "per_1k_words": pl.Float64, "first_hit_rel_pos": pl.Float64,
                **_LIST_SCHEMA},
    )  # fmt: skip
    return CorpusAnalytics(segments, keywords, {"total_s": time.perf_counter() - t0})
