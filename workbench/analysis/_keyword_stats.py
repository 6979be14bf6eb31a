"""Keyword statistics per trajectory and per group, as polars frames."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Sequence
from typing import Any

import polars as pl

from workbench.analysis.keywords import (
    DEFAULT_LEXICON,
    Lexicon,
    count_words,
    find_keywords,
    get_lexicon,
    relative_positions,
)
from workbench.analysis.tokens import thinking_token_ends
from workbench.store.frames import with_metadata_columns
from workbench.trajectory import Trajectory

__all__ = ["CORRECT_THRESHOLD", "keyword_counts", "keyword_stats", "keyword_summary"]

CORRECT_THRESHOLD = 0.99
"""For grades with a score but no verdict, a trajectory counts as correct (``correct`` column,
``by="correct"``) when its score is at least this."""

STATS_SCHEMA: dict[str, Any] = {
    "id": pl.String,
    "model": pl.String,
    "source": pl.String,
    "status": pl.String,
    "grade": pl.Float64,
    "correct": pl.Boolean,
    "metadata": pl.String,
    "thinking_chars": pl.Int64,
    "words": pl.Int64,
    "tokens": pl.Int64,
    "hits": pl.Int64,
    "per_1k_words": pl.Float64,
    "per_1k_tokens": pl.Float64,
    "first_hit_rel_pos": pl.Float64,
    "hit_rel_positions": pl.List(pl.Float64),
    "gaps_words": pl.List(pl.Int64),
    "keywords": pl.List(pl.String),
}


def _correct(t: Trajectory) -> bool | None:
    if t.grade is None:
        return None
    if t.grade.correct is not None:
        return t.grade.correct
    return None if t.grade.score is None else t.grade.score >= CORRECT_THRESHOLD


def keyword_stats(
    trajectories: Iterable[Trajectory], *, lexicon: str | Lexicon | Sequence[str] = DEFAULT_LEXICON
) -> pl.DataFrame:
    """Return one row of keyword statistics per trajectory (on its thinking).

    Parameters
    ----------
    trajectories
        Any iterable of trajectories, e.g. ``store.iter_trajectories(model="QwQ-32B")``.
    lexicon
        A preset name, a :class:`~workbench.analysis.keywords.Lexicon` or a list of keywords.

    Returns
    -------
    polars.DataFrame
        Columns: ``id, model, source, status, grade, metadata`` (JSON), ``thinking_chars, words,
        tokens`` (thinking tokens, when per-token offsets were recorded), ``hits, per_1k_words,
        per_1k_tokens, first_hit_rel_pos`` (0 = start of the thinking, 1 = end; null without
        hits), ``hit_rel_positions, gaps_words`` (words between consecutive hits) and
        ``keywords`` (the keyword of each hit, in order).
    """
    lex = get_lexicon(lexicon)
    rows: dict[str, list[Any]] = {name: [] for name in STATS_SCHEMA}
    for t in trajectories:
        thinking = t.thinking
        hits = find_keywords(thinking, lexicon=lex)
        words = count_words(thinking)
        ends = thinking_token_ends(t)
        tokens = None if ends is None else len(ends)
        positions = relative_positions(hits, len(thinking))
        gaps = [count_words(thinking[a.end : b.start]) for a, b in itertools.pairwise(hits)]
        values = {
            "id": t.id,
            "model": t.model,
            "source": t.source,
            "status": t.status,
            "grade": None if t.grade is None else t.grade.score,
            "correct": _correct(t),
            "metadata": json.dumps(t.metadata, ensure_ascii=False),
            "thinking_chars": len(thinking),
            "words": words,
            "tokens": tokens,
            "hits": len(hits),
            "per_1k_words": 1000.0 * len(hits) / words if words else None,
            "per_1k_tokens": 1000.0 * len(hits) / tokens if tokens else None,
            "first_hit_rel_pos": positions[0] if positions else None,
            "hit_rel_positions": positions,
            "gaps_words": gaps,
            "keywords": [h.keyword for h in hits],
        }
        for name, value in values.items():
            rows[name].append(value)
    return pl.DataFrame(rows, schema=STATS_SCHEMA)


def keyword_summary(
    stats: pl.DataFrame, *, by: str | Sequence[str] | None = "model"
) -> pl.DataFrame:
    """Aggregate :func:`keyword_stats` rows by group.

    Parameters
    ----------
    stats
        The output of :func:`keyword_stats`.
    by
        A column of the stats (``model``, ``source``, ``status``, ``correct``: the grade's
        verdict, or its score at least :data:`CORRECT_THRESHOLD`), any metadata key (``category``, ``question_id``…), a list of
        them, or ``None`` for the whole corpus.

    Returns
    -------
    polars.DataFrame
        One row per group: the group fields, ``traces, hits, words, per_1k_words`` (pooled: all
        hits over all words), ``share_with_hit, first_hit_rel_pos_median, hit_rel_pos_median,
        tokens, per_1k_tokens`` (null where no token counts were recorded) and
        ``mean_per_1k_words`` (the mean of the per-trace rates).
    """
    fields = [] if by is None else [by] if isinstance(by, str) else list(by)
    frame, keys = with_metadata_columns(stats, fields), fields
    aggs = [
        pl.len().alias("traces"),
        pl.col("hits").sum().alias("hits"),
        pl.col("words").sum().alias("words"),
        (pl.col("hits") > 0).mean().alias("share_with_hit"),
        pl.col("first_hit_rel_pos").median().alias("first_hit_rel_pos_median"),
        pl.col("hit_rel_positions").explode().median().alias("hit_rel_pos_median"),
        pl.col("tokens").sum().alias("tokens"),
        pl.col("tokens").is_not_null().all().alias("_all_tokens"),
        pl.col("per_1k_words").mean().alias("mean_per_1k_words"),
    ]
    out = frame.group_by(keys, maintain_order=True).agg(aggs) if keys else frame.select(aggs)
    out = out.with_columns(
        pl.when(pl.col("words") > 0)
        .then(1000.0 * pl.col("hits") / pl.col("words"))
        .alias("per_1k_words"),
        pl.when(pl.col("_all_tokens") & (pl.col("tokens") > 0))
        .then(1000.0 * pl.col("hits") / pl.col("tokens"))
        .alias("per_1k_tokens"),
        pl.when(pl.col("_all_tokens")).then(pl.col("tokens")).alias("tokens"),
    ).drop("_all_tokens")
    order = [*keys, "traces", "hits", "words", "per_1k_words", "share_with_hit",
             "first_hit_rel_pos_median", "hit_rel_pos_median", "tokens", "per_1k_tokens",
             "mean_per_1k_words"]  # fmt: skip
    out = out.select(order)
    return out.sort(keys, nulls_last=True) if keys else out


def keyword_counts(
    stats: pl.DataFrame, *, by: str | Sequence[str] | None = "model"
) -> pl.DataFrame:
    """Hits per keyword (long format): the group fields, ``keyword``, ``hits``."""
    fields = [] if by is None else [by] if isinstance(by, str) else list(by)
    frame, keys = with_metadata_columns(stats, fields), fields
    exploded = frame.select([*keys, "keywords"]).explode("keywords").drop_nulls("keywords")
    return (
        exploded.group_by([*keys, "keywords"])
        .len()
        .rename({"keywords": "keyword", "len": "hits"})
        .sort([*keys, "hits", "keyword"], descending=[False] * len(keys) + [True, False])
    )
