"""Per-token curves: log-probability and entropy over a trace (the figure of LiveTrace's curves).

Tokens are grouped into at most ``max_points`` bins (mean per bin, with the bin's minimum and
maximum as a band), segment starts are rules coloured by pattern, keyword hits are ticks along
the top and the start of the answer is a red rule: the same marks as the widget's curve.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

from workbench.charts._palette import pattern_scale
from workbench.trajectory import TokenArrays, Trajectory

__all__ = ["token_curves_chart", "token_curves_frame"]

METRICS = {"logprob": ("log p (nats)", "log-probability of each sampled token"),
           "entropy": ("entropy (nats)", "entropy of the next-token distribution")}  # fmt: skip
"""The two curves: (axis title, panel title)."""


def token_curves_frame(tokens: TokenArrays, *, max_points: int = 600) -> pl.DataFrame:
    """Return one row per (bin, metric): ``token, token_end, metric, mean, low, high``.

    Parameters
    ----------
    tokens
        The trace's token arrays (``logprobs`` and/or ``entropies``).
    max_points
        Bins at most; a bin holds ``ceil(tokens / max_points)`` consecutive tokens.
    """
    if max_points < 1:
        raise ValueError("max_points must be >= 1")
    n = len(tokens)
    per = max(1, math.ceil(n / max_points)) if n else 1
    bins = math.ceil(n / per) if n else 0
    parts = []
    for metric, values in (("logprob", tokens.logprobs), ("entropy", tokens.entropies)):
        if values is None or n == 0:
            continue
        padded = np.full(bins * per, np.nan)
        padded[:n] = np.asarray(values, dtype=np.float64)
        padded[~np.isfinite(padded)] = np.nan
        grid = padded.reshape(bins, per)
        with warnings.catch_warnings():  # an all-NaN bin gives NaN (a null), not a warning
            warnings.simplefilter("ignore", RuntimeWarning)
            mean, low, high = np.nanmean(grid, 1), np.nanmin(grid, 1), np.nanmax(grid, 1)
        start = np.arange(bins) * per
        parts.append(
            pl.DataFrame(
                {
                    "token": start,
                    "token_end": np.minimum(start + per, n),
                    "metric": metric,
                    "mean": mean,
                    "low": low,
                    "high": high,
                },
                nan_to_null=True,
            )
        )
    if not parts:
        return pl.DataFrame(
            schema={"token": pl.Int64, "token_end": pl.Int64, "metric": pl.String,
                    "mean": pl.Float64, "low": pl.Float64, "high": pl.Float64}
        )  # fmt: skip
    return pl.concat(parts)


def _token_at(starts: np.ndarray, char: int) -> int:
    """Index of the first token that starts at or after ``char``."""
    return int(np.searchsorted(starts, char, side="left"))


def token_curves_chart(
    source: Trajectory | TokenArrays,
    *,
    segments: Sequence[Mapping[str, Any] | Any] = (),
    hits: Sequence[Mapping[str, Any]] = (),
    answer_start: int | None = None,
    labels: Sequence[str] = (),
    max_points: int = 600,
    title: str = "Per-token log-probability and entropy",
    width: int = 640,
) -> Any:
    """Draw log-probability and entropy over a trace, with its segments, hits and answer marked.

    Parameters
    ----------
    source
        A :class:`~workbench.Trajectory` with token arrays, or the arrays themselves.
    segments
        :class:`~workbench.segment.Segment` objects or records with ``start`` (a character
        offset in the raw text) and ``label``; each start is a rule coloured by its pattern.
    hits
        Keyword hits (records with ``start`` and ``keyword``), ticks along the top.
    answer_start
        Character offset where the answer begins (default: the trajectory's answer span).
    labels
        The taxonomy's labels in order (they fix the pattern colours, as in the widgets).
    max_points, title, width
        Bins at most, the title and the width in pixels.

    Returns
    -------
    altair.VConcatChart
        One panel per curve (mean line, min–max band), token position on a shared x axis.

    Raises
    ------
    ValueError
        When there are no token log-probabilities or entropies to draw.
    """
    import altair as alt

    if isinstance(source, Trajectory):
        if source.tokens is None:
            raise ValueError(f"trajectory {source.id} has no token arrays to draw")
        tokens = source.tokens
        if answer_start is None and source.answer_span[1] > source.answer_span[0]:
            answer_start = source.answer_span[0]
    else:
        tokens = source
    frame = token_curves_frame(tokens, max_points=max_points)
    if frame.is_empty():
        raise ValueError("no per-token log-probabilities or entropies were recorded")
    starts = (
        np.asarray(tokens.offsets)[:, 0] if tokens.offsets is not None else np.zeros(0, np.int64)
    )
    n = len(tokens)
    x_scale = alt.Scale(domain=[0, max(n, 1)], nice=False)
    seg_rows = []
    for s in segments:
        if isinstance(s, Mapping):
            start, label = s["start"], s.get("label")
        else:
            start, label = s.char_span[0], (s.labels[0] if s.labels else None)
        if len(starts):
            seg_rows.append(
                {"token": _token_at(starts, int(start)), "label": label or "unlabelled"}
            )
    hit_rows = [
        {"token": _token_at(starts, int(h["start"])), "keyword": str(h["keyword"])}
        for h in hits
        if len(starts)
    ]
    answer_token = (
        _token_at(starts, answer_start) if answer_start is not None and len(starts) else None
    )
    domain, colours = pattern_scale({str(r["label"]) for r in seg_rows}, list(labels))
    panels = []
    for i, metric in enumerate(m for m in METRICS if m in set(frame["metric"].to_list())):
        data = frame.filter(pl.col("metric") == metric)
        base = alt.Chart(alt.Data(values=data.to_dicts()))
        x = alt.X("token:Q", title="token (position in the generation)", scale=x_scale)
        band = base.mark_area(opacity=0.25).encode(x=x, y=alt.Y("low:Q", title=METRICS[metric][0]),
                                                    y2="high:Q")  # fmt: skip
        line = base.mark_line(strokeWidth=1.2).encode(
            x=x, y="mean:Q",
            tooltip=[alt.Tooltip("token:Q", title="first token"),
                     alt.Tooltip("token_end:Q", title="last token + 1"),
                     alt.Tooltip("mean:Q", format=".3f"), alt.Tooltip("low:Q", format=".3f"),
                     alt.Tooltip("high:Q", format=".3f")],
        )  # fmt: skip
        layer: list[Any] = [band, line]
        if seg_rows:
            layer.append(
                alt.Chart(alt.Data(values=seg_rows))
                .mark_rule(strokeWidth=1, opacity=0.55)
                .encode(
                    x=alt.X("token:Q", scale=x_scale),
                    color=alt.Color(
                        "label:N",
                        title="segment start (pattern)",
                        scale=alt.Scale(domain=domain, range=colours),
                    ),
                    tooltip=["label:N", alt.Tooltip("token:Q", title="segment starts at token")],
                )
            )
        if hit_rows and i == 0:
            layer.append(
                alt.Chart(alt.Data(values=hit_rows))
                .mark_tick(color="#111111", thickness=1, size=8)
                .encode(
                    x=alt.X("token:Q", scale=x_scale),
                    y=alt.value(-7),
                    tooltip=["keyword:N", "token:Q"],
                )
            )
        if answer_token is not None:
            layer.append(
                alt.Chart(alt.Data(values=[{"token": answer_token}]))
                .mark_rule(color="#d62728", strokeWidth=2)
                .encode(
                    x=alt.X("token:Q", scale=x_scale),
                    tooltip=[alt.Tooltip("token:Q", title="answer starts at token")],
                )
            )
        panels.append(
            alt.layer(*layer).properties(
                width=width, height=140, title=alt.TitleParams(METRICS[metric][1], fontSize=12)
            )
        )
    subtitle = []
    if hit_rows:
        subtitle.append("ticks above the first panel: keyword hits")
    if answer_token is not None:
        subtitle.append("red rule: the answer begins")
    return alt.vconcat(*panels, spacing=16).properties(
        title=alt.TitleParams(title, subtitle=" · ".join(subtitle)) if subtitle else title
    )
