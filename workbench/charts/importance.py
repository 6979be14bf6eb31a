"""Charts of "which thoughts matter": the importance strip, segment × segment attention, dependencies.

- :func:`importance_chart` — one bar per segment (coloured by its thinking pattern) with its
  confidence interval: how much keeping the segment changes p(correct)
  (:class:`~workbench.analysis.importance.ImportanceResult`).
- :func:`segment_attention_chart` — the lower-triangular segment × segment attention matrix
  (:class:`~workbench.attention.SegmentAttention`), averaged over the receiver heads or any
  layers and heads.
- :func:`dependency_chart` — the strongest segment → earlier-segment dependencies as arcs over the
  segments in order.

Every mark carries the segment index (``segment`` field, ``#k``), so a selection links back to the
trace.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from workbench.charts._palette import pattern_scale

__all__ = ["dependency_chart", "importance_chart", "segment_attention_chart"]

_MEASURES = {
    "delta": ("p(correct) change when kept", "ci"),
    "counterfactual_delta": ("p(correct) change vs different resamples", "counterfactual_ci"),
    "kl": ("answer KL (kept ‖ dropped), nats", None),
    "counterfactual_kl": ("answer KL vs different resamples, nats", None),
}


def _taxonomy_names() -> list[str]:
    from workbench.analysis.patterns import get_taxonomy

    return list(get_taxonomy("dto").names)


def _clip(text: str, n: int = 80) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"


def importance_chart(result: Any, *, measure: str = "delta", width: int = 640) -> Any:
    """Return the importance strip of an importance result as an altair chart.

    Parameters
    ----------
    result
        An :class:`~workbench.analysis.importance.ImportanceResult`.
    measure
        ``delta`` (p(correct) keeping − dropping, with its interval), ``counterfactual_delta``,
        ``kl`` or ``counterfactual_kl``.
    width
        Chart width in pixels.

    Raises
    ------
    ValueError
        For an unknown measure, or a result without segments.
    """
    import altair as alt

    if measure not in _MEASURES:
        raise ValueError(f"measure {measure!r} is not one of {sorted(_MEASURES)}")
    if not result.segments:
        raise ValueError("the result has no measured segment: run segment_importance first")
    title, ci_field = _MEASURES[measure]
    rows = []
    for s in result.segments:
        value = getattr(s, measure)
        ci = getattr(s, ci_field) if ci_field else None
        rows.append(
            {
                "segment": f"#{s.index}",
                "index": s.index,
                "label": s.label or "(unlabelled)",
                "value": value,
                "low": None if ci is None else ci[0],
                "high": None if ci is None else ci[1],
                "significant": "interval excludes 0" if s.significant else "interval includes 0",
                "p_keep": round(s.p_keep, 3),
                "p_drop": round(s.p_drop, 3),
                "n": f"{s.n_keep} kept / {s.n_drop} dropped",
                "text": _clip(s.text),
            }
        )
    domain, colours = pattern_scale({r["label"] for r in rows}, _taxonomy_names())
    x = alt.X(
        "segment:N", title="segment (in thinking order)", sort=[r["segment"] for r in rows],
        axis=alt.Axis(labelAngle=0, labelOverlap="parity"),
    )  # fmt: skip
    base = alt.Chart(alt.Data(values=rows))
    bars = base.mark_bar().encode(
        x=x,
        y=alt.Y("value:Q", title=title),
        color=alt.Color(
            "label:N", title="thinking pattern", scale=alt.Scale(domain=domain, range=colours)
        ),
        opacity=alt.Opacity(
            "significant:N",
            title="confidence interval",
            scale=alt.Scale(
                domain=["interval excludes 0", "interval includes 0"], range=[1.0, 0.45]
            ),
        ),
        tooltip=["segment:N", "label:N", "value:Q", "p_keep:Q", "p_drop:Q", "n:N", "text:N"],
    )
    layers = [bars]
    if ci_field:
        whisker = base.encode(x=x)
        layers.append(
            whisker.mark_rule(color="black").encode(y=alt.Y("low:Q", title=title), y2="high:Q")
        )
        for end in ("low", "high"):
            layers.append(
                whisker.mark_tick(color="black", thickness=1.5, size=14).encode(
                    y=alt.Y(f"{end}:Q", title=title)
                )
            )
    layers.append(
        alt.Chart(alt.Data(values=[{"zero": 0}])).mark_rule(color="#888").encode(y="zero:Q")
    )
    level = round(100 * float(result.config.get("confidence", 0.95)))
    mode = result.config.get("mode", "resample")
    return alt.layer(*layers).properties(
        width=width,
        height=220,
        title=alt.Title(
            f"Segment importance ({mode}, {result.model})",
            subtitle=f"bars: {title}; whiskers: {level}% interval; {result.n_samples} continuations",
        ),
    )


def _labels(record: Any) -> list[str]:
    return [lab or "(unlabelled)" for lab in record.labels]


def _matrix(
    record: Any, layers: Sequence[int] | None, heads: Sequence[int] | None, receivers: bool
) -> tuple[np.ndarray, str]:
    if receivers and layers is None and heads is None:
        picked = record.receiver_heads().filter(record.receiver_heads()["receiver"])
        pairs = list(zip(picked["layer"].to_list(), picked["head"].to_list(), strict=True))
        if pairs:
            m = np.mean([record.mass[layer, head] for layer, head in pairs], axis=0)
            return m, f"mean of {len(pairs)} receiver heads"
    return record.matrix(layers=layers, heads=heads), "mean of " + (
        "all layers" if layers is None else f"layers {list(layers)}"
    ) + (" and heads" if heads is None else f", heads {list(heads)}")


def segment_attention_chart(
    record: Any,
    *,
    layers: Sequence[int] | None = None,
    heads: Sequence[int] | None = None,
    receivers: bool = True,
    size: int = 420,
) -> Any:
    """Return the segment × segment attention heatmap of a :class:`~workbench.attention.SegmentAttention`.

    Rows are the attending (query) segments, columns the attended (key) segments, both in thinking
    order with the pattern colour strip beside them; cell colour is the attention mass.

    Parameters
    ----------
    record
        The stored or computed segment attention.
    layers, heads
        Average over these (default: the receiver heads when ``receivers``, else everything).
    receivers
        Average over the receiver heads (Thought Anchors' preset) when no layers/heads are given.
    size
        Width and height of the matrix in pixels.
    """
    import altair as alt

    m, how = _matrix(record, layers, heads, receivers)
    labels = _labels(record)
    n = m.shape[0]
    names = [f"#{i}" for i in range(n)]
    rows = [
        {"query": names[a], "key": names[b], "mass": float(m[a, b]), "query_label": labels[a],
         "key_label": labels[b]}
        for a in range(n) for b in range(a + 1)
    ]  # fmt: skip
    heat = (
        alt.Chart(alt.Data(values=rows))
        .mark_rect()
        .encode(
            x=alt.X(
                "key:N",
                title="attended segment (key)",
                sort=names,
                axis=alt.Axis(labelOverlap="parity", labelAngle=0),
            ),
            y=alt.Y(
                "query:N",
                title="attending segment (query)",
                sort=names,
                axis=alt.Axis(labelOverlap="parity"),
            ),
            color=alt.Color("mass:Q", title="attention mass", scale=alt.Scale(scheme="viridis")),
            tooltip=[
                "query:N",
                "query_label:N",
                "key:N",
                "key_label:N",
                alt.Tooltip("mass:Q", format=".4f"),
            ],
        )
        .properties(width=size, height=size)
    )
    domain, colours = pattern_scale(set(labels), _taxonomy_names())
    strip_rows = [{"segment": names[i], "label": labels[i]} for i in range(n)]
    strip = (
        alt.Chart(alt.Data(values=strip_rows))
        .mark_rect()
        .encode(
            y=alt.Y("segment:N", sort=names, axis=None),
            color=alt.Color(
                "label:N",
                title="thinking pattern",
                scale=alt.Scale(domain=domain, range=colours),
                legend=alt.Legend(orient="left"),
            ),
            tooltip=["segment:N", "label:N"],
        )
        .properties(width=10, height=size)
    )
    return (
        alt.hconcat(strip, heat, spacing=4)
        .resolve_scale(color="independent")
        .properties(
            title=alt.Title(
                f"Segment-to-segment attention ({record.model})",
                subtitle=f"{how}; each row sums the mass its tokens put on earlier segments",
            )
        )
    )


def dependency_chart(
    record: Any, *, top: int = 12, min_gap: int = 1, receivers: bool = True, width: int = 640
) -> Any:
    """Return the strongest dependencies between segments as arcs over the segments in order.

    Each arc joins a segment to an earlier segment it attends to; its thickness is the mass. The
    ``top`` strongest pairs at least ``min_gap`` segments apart are drawn (the diagonal and near
    neighbours dominate attention and say little).
    """
    import altair as alt

    m, how = _matrix(record, None, None, receivers)
    labels = _labels(record)
    n = m.shape[0]
    pairs = [(float(m[a, b]), a, b) for a in range(n) for b in range(a) if a - b >= min_gap]
    pairs.sort(reverse=True)
    edges = []
    for rank, (mass, a, b) in enumerate(pairs[:top]):
        mid = (a + b) / 2
        height = 0.25 + 0.75 * (a - b) / max(1, n - 1)
        for t, (x, y) in enumerate(((b, 0.0), (mid, height), (a, 0.0))):
            edges.append({"edge": rank, "x": x, "y": y, "order": t, "mass": mass,
                          "pair": f"#{a} → #{b}"})  # fmt: skip
    domain, colours = pattern_scale(set(labels), _taxonomy_names())
    nodes = [{"x": i, "y": 0.0, "segment": f"#{i}", "label": labels[i]} for i in range(n)]
    arcs = (
        alt.Chart(alt.Data(values=edges))
        .mark_line(interpolate="basis", color="#555")
        .encode(
            x=alt.X(
                "x:Q",
                title="segment (in thinking order)",
                scale=alt.Scale(domain=[-0.5, n - 0.5]),
                axis=alt.Axis(tickMinStep=1, format="d"),
            ),
            y=alt.Y("y:Q", axis=None, scale=alt.Scale(domain=[0, 1.0])),
            detail="edge:N",
            order="order:Q",
            strokeWidth=alt.StrokeWidth(
                "mass:Q",
                title="attention mass",
                scale=alt.Scale(range=[0.5, 5]),
                legend=alt.Legend(format=".3f"),
            ),
            tooltip=["pair:N", alt.Tooltip("mass:Q", format=".4f")],
        )
    )
    dots = (
        alt.Chart(alt.Data(values=nodes))
        .mark_circle(size=90, opacity=1)
        .encode(
            x="x:Q",
            y="y:Q",
            color=alt.Color(
                "label:N", title="thinking pattern", scale=alt.Scale(domain=domain, range=colours)
            ),
            tooltip=["segment:N", "label:N"],
        )
    )
    return alt.layer(arcs, dots).properties(
        width=width,
        height=200,
        title=alt.Title(
            f"Strongest dependencies ({record.model})",
            subtitle=f"top {min(top, len(pairs))} segment → earlier-segment attention pairs; {how}",
        ),
    )
