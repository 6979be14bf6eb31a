"""The StatsPanel's charts: keyword hits and thinking patterns as bars, one click selects a bar.

The same altair charts are drawn inside the widget (vega-embed, bundled) and returned to Python
by :meth:`workbench.widgets.StatsPanel.chart`, so the figure in a paper is the one on screen.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl

from workbench.charts._palette import pattern_scale

__all__ = ["SELECTION", "keyword_bars", "pattern_bars"]

SELECTION = "pick"
"""Name of the point selection on each chart: the front end listens to it to filter traces."""

KEYWORD_SCHEMA: dict[str, pl.DataType] = {
    "keyword": pl.String(),
    "hits": pl.Int64(),
    "traces": pl.Int64(),
}
PATTERN_SCHEMA: dict[str, pl.DataType] = {
    "label": pl.String(),
    "segments": pl.Int64(),
    "traces": pl.Int64(),
}


def _marked(
    frame: pl.DataFrame, schema: dict[str, pl.DataType], key: str, selected: str | None
) -> pl.DataFrame:
    """Keep the chart's columns and add ``selected``: whether the row is the selected bar.

    The selection is a data column, not a string in a vega expression: keywords and labels
    are data (model output, imported labels) and never become code.
    """
    out = frame.select(list(schema)).cast(pl.Schema(schema))
    mark = pl.lit(True) if selected is None else pl.col(key) == pl.lit(selected)
    return out.with_columns(selected=mark)


def _opacity() -> Any:
    import altair as alt

    return alt.condition("datum.selected", alt.value(1.0), alt.value(0.3))


def _bar_height(rows: int) -> int:
    return max(60, min(22 * rows, 440))


def keyword_bars(
    frame: pl.DataFrame,
    *,
    lexicon: str = "",
    selected: str | None = None,
    subtitle: str = "",
    width: int = 300,
) -> Any:
    """Horizontal bars of keyword hits, most frequent first.

    Parameters
    ----------
    frame
        One row per keyword: ``keyword``, ``hits``, ``traces`` (traces with at least one hit).
    lexicon
        The lexicon's name, for the title.
    selected
        The keyword shown as selected.
    subtitle
        What was counted (``"12 traces with keyword 'wait'"``).
    width
        Width of the plot in pixels.
    """
    import altair as alt

    frame = _marked(frame, KEYWORD_SCHEMA, "keyword", selected)
    pick = alt.selection_point(
        name=SELECTION, fields=["keyword"], on="click", clear="dblclick", toggle=False
    )
    title = f"Keyword hits ({lexicon})" if lexicon else "Keyword hits"
    return (
        alt.Chart(
            alt.Data(values=frame.to_dicts()),
            title=alt.TitleParams(title, subtitle=subtitle),
        )
        .mark_bar()
        .encode(
            y=alt.Y("keyword:N", sort="-x", title="keyword"),
            x=alt.X("hits:Q", title="hits (all traces)"),
            opacity=_opacity(),
            tooltip=[
                alt.Tooltip("keyword:N", title="keyword"),
                alt.Tooltip("hits:Q", title="hits"),
                alt.Tooltip("traces:Q", title="traces with a hit"),
            ],
        )
        .add_params(pick)
        .properties(width=width, height=_bar_height(frame.height))
    )


def pattern_bars(
    frame: pl.DataFrame,
    *,
    taxonomy: str = "",
    labels: Sequence[str] = (),
    selected: str | None = None,
    subtitle: str = "",
    width: int = 300,
) -> Any:
    """Horizontal bars of segments per thinking pattern, in taxonomy order, in the pattern colours.

    Parameters
    ----------
    frame
        One row per pattern: ``label``, ``segments``, ``traces``.
    taxonomy
        The taxonomy's name, for the title.
    labels
        The taxonomy's labels: their order and colours (the trace's colours).
    selected
        The pattern shown as selected.
    subtitle
        What was counted (``"12 traces with keyword 'wait'"``).
    width
        Width of the plot in pixels.
    """
    import altair as alt

    frame = _marked(frame, PATTERN_SCHEMA, "label", selected)
    domain, colours = pattern_scale(frame["label"].to_list(), labels)
    pick = alt.selection_point(
        name=SELECTION, fields=["label"], on="click", clear="dblclick", toggle=False
    )
    title = f"Thinking patterns ({taxonomy})" if taxonomy else "Thinking patterns"
    return (
        alt.Chart(
            alt.Data(values=frame.to_dicts()),
            title=alt.TitleParams(title, subtitle=subtitle),
        )
        .mark_bar()
        .encode(
            y=alt.Y("label:N", sort=domain, title="pattern"),
            x=alt.X("segments:Q", title="segments"),
            color=alt.Color("label:N", scale=alt.Scale(domain=domain, range=colours), legend=None),
            opacity=_opacity(),
            tooltip=[
                alt.Tooltip("label:N", title="pattern"),
                alt.Tooltip("segments:Q", title="segments"),
                alt.Tooltip("traces:Q", title="traces"),
            ],
        )
        .add_params(pick)
        .properties(width=width, height=_bar_height(frame.height))
    )
