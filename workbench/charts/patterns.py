"""Charts of thinking patterns."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl

from workbench.segment import Segment

__all__ = ["pattern_mix", "pattern_timeline", "segments_frame"]


def segments_frame(segments: Sequence[Segment]) -> pl.DataFrame:
    """Return one row per segment: ``trajectory_id, index, start, end, chars, label, confidence``."""
    return pl.DataFrame(
        {
            "trajectory_id": [s.trajectory_id for s in segments],
            "index": [s.index for s in segments],
            "start": [s.char_span[0] for s in segments],
            "end": [s.char_span[1] for s in segments],
            "chars": [s.char_span[1] - s.char_span[0] for s in segments],
            "label": [s.labels[0] if s.labels else None for s in segments],
            "confidence": [s.confidence for s in segments],
            "text": [s.text[:200] for s in segments],
        },
        schema={"trajectory_id": pl.String, "index": pl.Int64, "start": pl.Int64, "end": pl.Int64,
                "chars": pl.Int64, "label": pl.String, "confidence": pl.Float64, "text": pl.String},
    )  # fmt: skip


def pattern_timeline(
    segments: Sequence[Segment], *, title: str = "Thinking patterns along the trace"
) -> Any:
    """Draw a trace's segments as a strip coloured by pattern, positioned by character offset."""
    import altair as alt

    frame = segments_frame(segments)
    return (
        alt.Chart(alt.Data(values=frame.to_dicts()), title=title)
        .mark_bar(height=24)
        .encode(
            x=alt.X("start:Q", title="character offset"),
            x2="end:Q",
            color=alt.Color("label:N", title="pattern"),
            tooltip=["index:Q", "label:N", "confidence:Q", "chars:Q", "text:N"],
        )
        .properties(height=40)
    )


def pattern_mix(frame: pl.DataFrame, *, by: str = "correct", normalize: bool = True) -> Any:
    """Stacked bars of the pattern mix per group (e.g. correct vs incorrect traces).

    Parameters
    ----------
    frame
        One row per segment with a ``label`` column and the ``by`` column (join
        :func:`segments_frame` with the store's trajectory list).
    by
        Group column.
    normalize
        Show shares of segments (``True``) or counts.
    """
    import altair as alt

    counts = frame.group_by(pl.col(by).cast(pl.String), "label").len().rename({"len": "segments"})
    return (
        alt.Chart(alt.Data(values=counts.to_dicts()), title=f"Thinking-pattern mix by {by}")
        .mark_bar()
        .encode(
            y=alt.Y(f"{by}:N", title=by),
            x=alt.X("segments:Q", stack="normalize" if normalize else "zero",
                    title="share of segments" if normalize else "segments"),
            color=alt.Color("label:N", title="pattern"),
            tooltip=[f"{by}:N", "label:N", "segments:Q"],
        )
    )  # fmt: skip
