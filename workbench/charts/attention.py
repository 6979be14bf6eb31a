"""Charts of constraint attention: the figures of :class:`~workbench.widgets.ConstraintHeatmap`.

``attention_tokens_chart`` is the layer × token map (the mass each token's query puts on the
constraint tokens, per layer), with the thinking/answer boundary marked;
``attention_segments_chart`` is the segment × constraint map (the mean over a segment's tokens
and the layers), with each segment's pattern beside its row. Both are altair charts with axis
titles, a colour legend with its numeric scale and tooltips, ready for ``.save("fig.svg")``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl

from workbench.charts._palette import pattern_scale
from workbench.segment import Segment

__all__ = ["attention_segments_chart", "attention_tokens_chart", "token_columns"]

MASS_TITLE = "attention mass"
"""Legend title: the share of a query's attention that lands on the constraint tokens (0–1)."""


def _clip(text: str, n: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"


def token_columns(n_tokens: int, max_columns: int) -> tuple[int, int]:
    """Return ``(tokens per column, columns)`` so that ``n_tokens`` fit in ``max_columns``."""
    if max_columns < 1:
        raise ValueError("max_columns must be >= 1")
    per = max(1, math.ceil(n_tokens / max_columns)) if n_tokens else 1
    return per, (math.ceil(n_tokens / per) if n_tokens else 0)


def _boundary(attention: Any) -> int | None:
    parts = np.asarray(attention.parts).astype(str)
    answer = np.flatnonzero(parts == "answer")
    return int(answer[0]) if len(answer) else None


def attention_tokens_chart(
    attention: Any,
    *,
    constraint: int | str | None = None,
    max_columns: int = 400,
    title: str | None = None,
    width: int = 640,
) -> Any:
    """Draw the layer × token map of constraint attention.

    Parameters
    ----------
    attention
        A :class:`~workbench.attention.ConstraintAttention` (mass ``[tokens, layers,
        constraints]``).
    constraint
        One constraint (its index or its text); ``None`` sums over the constraints, as the
        widget's "all constraints (sum)".
    max_columns
        Long traces are drawn with several tokens per column (their mean), as in the widget.
    title, width
        Chart title (default: says which constraint) and width in pixels.

    Returns
    -------
    altair.LayerChart
        Rectangles per (token range, layer) coloured by mass (viridis, legend with the scale),
        and a rule where the answer begins.
    """
    import altair as alt

    mass = np.asarray(attention.mass, dtype=np.float64)
    g, n_layers, n_cons = mass.shape
    names = [str(c) for c in attention.constraints]
    if constraint is None:
        values = mass.sum(axis=2)
        which = "all constraints (sum)"
    else:
        k = names.index(constraint) if isinstance(constraint, str) else int(constraint)
        if not 0 <= k < n_cons:
            raise ValueError(f"constraint {constraint!r}: there are {n_cons} constraints")
        values = mass[:, :, k]
        which = f"“{_clip(names[k], 40)}”"
    per, cols = token_columns(g, max_columns)
    if per > 1:
        padded = np.full((cols * per, n_layers), np.nan)
        padded[:g] = values
        with np.errstate(invalid="ignore"):
            values = np.nanmean(padded.reshape(cols, per, n_layers), axis=1)
    texts = list(attention.token_text) if attention.token_text else [""] * g
    col = np.repeat(np.arange(cols), n_layers)
    frame = pl.DataFrame(
        {
            "token": col * per,
            "token_end": np.minimum((col + 1) * per, g),
            "layer": np.tile(np.arange(n_layers), cols),
            "mass": values.reshape(-1),
            "text": [_clip("".join(texts[c * per : (c + 1) * per]), 40) for c in col.tolist()],
        },
        nan_to_null=True,
    )
    unit = "token" if per == 1 else f"tokens ({per} per column, mean)"
    heat = (
        alt.Chart(alt.Data(values=frame.to_dicts()))
        .mark_rect()
        .encode(
            x=alt.X(
                "token:Q",
                title=f"{unit}, position in the generation",
                scale=alt.Scale(domain=[0, max(g, 1)], nice=False),
            ),
            x2="token_end:Q",
            y=alt.Y(
                "layer:O",
                title="layer",
                sort="descending",
                axis=alt.Axis(values=_layer_ticks(n_layers)),
            ),
            color=alt.Color("mass:Q", title=MASS_TITLE, scale=alt.Scale(scheme="viridis")),
            tooltip=[
                alt.Tooltip("token:Q", title="first token"),
                "layer:O",
                alt.Tooltip("mass:Q", format=".4f"),
                alt.Tooltip("text:N", title="text"),
            ],
        )
    )
    layers: list[Any] = [heat]
    boundary = _boundary(attention)
    if boundary is not None:
        rule = pl.DataFrame({"token": [boundary], "label": ["answer →"]})
        base = alt.Chart(alt.Data(values=rule.to_dicts()))
        layers.append(base.mark_rule(color="#d62728", strokeWidth=2).encode(x="token:Q"))
        layers.append(
            base.mark_text(align="left", dx=4, dy=-6, color="#d62728", baseline="bottom").encode(
                x="token:Q", y=alt.value(0), text="label:N"
            )
        )
    return alt.layer(*layers).properties(
        title=title or f"Constraint attention mass per layer and token ({which})",
        width=width,
        height=max(120, min(14 * n_layers, 360)),
    )


def _layer_ticks(n_layers: int) -> list[int]:
    step = max(1, math.ceil(n_layers / 12))
    return list(range(0, n_layers, step))


def attention_segments_chart(
    attention: Any,
    segments: Sequence[Segment],
    *,
    labels: Sequence[str] = (),
    title: str = "Mean constraint attention mass per segment and constraint",
    layers: Sequence[int] | None = None,
) -> Any:
    """Draw the segment × constraint map (mean mass over each segment's tokens and the layers).

    Parameters
    ----------
    attention
        A :class:`~workbench.attention.ConstraintAttention`.
    segments
        The trajectory's segments (their labels colour the strip beside the rows).
    labels
        The taxonomy's labels, in order (they fix the pattern colours, as in the widgets).
    title
        Chart title.
    layers
        Layers to average (default: all).

    Returns
    -------
    altair.HConcatChart
        A pattern strip (colour legend "pattern") and the map (colour legend with the mass
        scale); one row per segment, ``#index label``.
    """
    import altair as alt

    frame = attention.segments(segments, layers=layers)
    names = {str(c): _clip(str(c), 40) for c in attention.constraints}
    rows = [
        {
            "segment": f"#{r['index']} {r['label'] or ''}".strip(),
            "index": r["index"],
            "label": r["label"] or "unlabelled",
            "constraint": names[str(r["constraint"])],
            "mass": r["mass"],
            "tokens": r["tokens"],
        }
        for r in frame.iter_rows(named=True)
    ]
    order = [f"#{s.index} {s.labels[0] if s.labels else ''}".strip() for s in segments]
    height = max(120, min(14 * len(segments), 900))
    y = alt.Y(
        "segment:N", title="segment (# and pattern)", sort=order,
        axis=alt.Axis(labelOverlap="parity", labelLimit=180),
    )  # fmt: skip
    domain, colours = pattern_scale({r["label"] for r in rows}, list(labels))
    strip = (
        alt.Chart(alt.Data(values=rows))
        .mark_rect()
        .encode(
            x=alt.value(0),
            x2=alt.value(10),
            y=y,
            color=alt.Color(
                "label:N", title="pattern", scale=alt.Scale(domain=domain, range=colours)
            ),
            tooltip=["segment:N", "label:N", "tokens:Q"],
        )
        .properties(width=10, height=height)
    )
    heat = (
        alt.Chart(alt.Data(values=rows))
        .mark_rect()
        .encode(
            x=alt.X(
                "constraint:N",
                title="constraint",
                sort=list(names.values()),
                axis=alt.Axis(labelAngle=-30, labelLimit=160),
            ),
            y=alt.Y("segment:N", sort=order, axis=None),
            color=alt.Color("mass:Q", title=MASS_TITLE, scale=alt.Scale(scheme="viridis")),
            tooltip=["segment:N", "constraint:N", alt.Tooltip("mass:Q", format=".4f"), "tokens:Q"],
        )
        .properties(width=max(160, 60 * len(names)), height=height)
    )
    return (
        alt.hconcat(strip, heat, spacing=2)
        .resolve_scale(color="independent")
        .properties(title=title)
    )
