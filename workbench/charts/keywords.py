"""Charts of reflection-keyword statistics."""

from __future__ import annotations

from typing import Any

import polars as pl

__all__ = ["hit_positions", "keyword_rate"]


def keyword_rate(summary: pl.DataFrame, *, by: str = "model", title: str | None = None) -> Any:
    """Bar chart of keyword hits per 1k words by group.

    Parameters
    ----------
    summary
        :func:`workbench.analysis._keyword_stats.keyword_summary` output grouped by ``by``.
    by
        The group column.
    title
        Chart title.
    """
    import altair as alt

    if by not in summary.columns:
        raise ValueError(
            f"the summary has no column {by!r}: group it with keyword_summary(by={by!r})"
        )
    data = summary.select(
        pl.col(by).cast(pl.String), "per_1k_words", "share_with_hit", "traces", "hits"
    ).to_dicts()
    return (
        alt.Chart(alt.Data(values=data), title=title or f"Reflection keywords per 1k words by {by}")
        .mark_bar()
        .encode(
            x=alt.X("per_1k_words:Q", title="hits per 1k words"),
            y=alt.Y(f"{by}:N", sort="-x", title=by),
            tooltip=[f"{by}:N", "per_1k_words:Q", "share_with_hit:Q", "traces:Q", "hits:Q"],
        )
    )


def hit_positions(stats: pl.DataFrame, *, by: str = "model", bins: int = 20) -> Any:
    """Histogram of where keyword hits fall in the thinking (0 = start, 1 = end), by group.

    Parameters
    ----------
    stats
        :func:`workbench.analysis._keyword_stats.keyword_stats` output.
    by
        Column to colour and facet by (``model``, ``source``, ``correct``…).
    bins
        Number of bins.
    """
    import altair as alt

    long = stats.select(pl.col(by).cast(pl.String), "hit_rel_positions").explode(
        "hit_rel_positions"
    )
    long = long.drop_nulls("hit_rel_positions").rename({"hit_rel_positions": "position"})
    return (
        alt.Chart(alt.Data(values=long.to_dicts()), title="Where the keywords fall in the thinking")
        .mark_bar(opacity=0.8)
        .encode(
            x=alt.X("position:Q", bin=alt.Bin(maxbins=bins), title="relative position (0 = start)"),
            y=alt.Y("count():Q", stack=None, title="hits"),
            color=alt.Color(f"{by}:N"),
            row=alt.Row(f"{by}:N", title=None),
        )
        .properties(height=80)
    )
