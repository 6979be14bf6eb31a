"""Charts of early-exit probing: p(correct) at each boundary of the thinking."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import polars as pl

from workbench.pairs.probe import ProbeCurve

__all__ = ["probe_chart", "probe_frame", "stored_curves"]

PROBE_SCHEMA: dict[str, Any] = {
    "trajectory_id": pl.String,
    "index": pl.Int64,
    "boundary": pl.Int64,
    "thinking_chars": pl.Int64,
    "tokens": pl.Int64,
    "rel_pos": pl.Float64,
    "p": pl.Float64,
    "samples": pl.Int64,
    "threshold": pl.Float64,
    "exit": pl.Boolean,
}


def _as_curve(item: ProbeCurve | dict[str, Any]) -> ProbeCurve:
    if isinstance(item, ProbeCurve):
        return item
    data: dict[str, Any] = item.get("probe", item)  # a pair's provenance holds it under "probe"
    return ProbeCurve.from_dict(data)


def probe_frame(curves: Iterable[ProbeCurve | dict[str, Any]]) -> pl.DataFrame:
    """Return one row per probed boundary.

    Parameters
    ----------
    curves
        :class:`~workbench.pairs.probe.ProbeCurve` objects, their dicts, or pair provenances
        holding one under ``probe``.

    Returns
    -------
    polars.DataFrame
        ``trajectory_id, index, boundary, thinking_chars, tokens, rel_pos`` (share of the
        thinking kept), ``p, samples, threshold, exit`` (the termination point).
    """
    rows: dict[str, list[Any]] = {k: [] for k in PROBE_SCHEMA}
    for item in curves:
        curve = _as_curve(item)
        threshold = float(curve.config.get("threshold", 0.5))
        for k, point in enumerate(curve.points):
            values = {
                "trajectory_id": curve.trajectory_id,
                "index": point.index,
                "boundary": point.boundary,
                "thinking_chars": point.thinking_chars,
                "tokens": point.tokens,
                "rel_pos": point.thinking_chars / max(1, curve.thinking_chars),
                "p": point.p,
                "samples": len(point.correct),
                "threshold": threshold,
                "exit": k == curve.exit_index,
            }
            for name, value in values.items():
                rows[name].append(value)
    return pl.DataFrame(rows, schema=PROBE_SCHEMA)


def stored_curves(store: Any, *, pair_ids: Sequence[str] | None = None) -> list[ProbeCurve]:
    """Return the probe curves kept in the provenance of a store's ``early_exit`` pairs."""
    frame = store.list_pairs(strategy="early_exit")
    if pair_ids is not None:
        frame = frame.filter(pl.col("id").is_in(list(pair_ids)))
    return [
        ProbeCurve.from_dict(json.loads(p)["probe"])
        for p in frame["provenance"].to_list()
        if "probe" in json.loads(p)
    ]


def probe_chart(
    curves: Iterable[ProbeCurve | dict[str, Any]] | pl.DataFrame,
    *,
    x: str = "rel_pos",
    title: str = "Early-exit probing: p(correct) when thinking stops here",
) -> Any:
    """Line chart of p(correct) over the boundaries, one line per trajectory.

    Parameters
    ----------
    curves
        Curves (see :func:`probe_frame`) or a frame from it.
    x
        ``"rel_pos"`` (share of the thinking kept), ``"tokens"``, ``"thinking_chars"`` or
        ``"index"``.
    title
        Chart title.

    Returns
    -------
    altair.LayerChart
        The curves, the threshold as a dashed rule, and the termination points as large dots.
    """
    import altair as alt

    frame = curves if isinstance(curves, pl.DataFrame) else probe_frame(curves)
    if x not in frame.columns:
        raise ValueError(f"x must be one of {list(PROBE_SCHEMA)}, got {x!r}")
    data = alt.Data(values=frame.to_dicts())
    titles = {"rel_pos": "share of the thinking kept", "tokens": "thinking tokens kept",
              "thinking_chars": "thinking characters kept", "index": "segment"}  # fmt: skip
    base = alt.Chart(data, title=title)
    lines = base.mark_line(point=True).encode(
        x=alt.X(f"{x}:Q", title=titles.get(x, x)),
        y=alt.Y("p:Q", title="p(correct)", scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("trajectory_id:N", title="trajectory"),
        tooltip=["trajectory_id:N", "index:Q", "tokens:Q", "thinking_chars:Q", "p:Q", "samples:Q"],
    )
    rule = base.mark_rule(strokeDash=[4, 4], color="gray").encode(y="mean(threshold):Q")
    exits = (
        base.transform_filter("datum.exit")
        .mark_point(size=160, filled=True, shape="diamond")
        .encode(x=f"{x}:Q", y="p:Q", color="trajectory_id:N")
    )
    return alt.layer(lines, rule, exits)
