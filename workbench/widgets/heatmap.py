"""ConstraintHeatmap: constraint attention as layer × token and segment × constraint maps.

::

    att = ...                                   # a workbench.attention.ConstraintAttention
    trace = LiveTrace(trajectory)
    ConstraintHeatmap(att, trajectory=trajectory, trace=trace)   # a click scrolls the trace
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import traitlets

from workbench.analysis.patterns import Taxonomy, get_taxonomy
from workbench.analysis.pipeline import analyze_trajectory
from workbench.attention import ConstraintAttention
from workbench.charts.attention import token_columns
from workbench.errors import ValidationError
from workbench.segment import Segment
from workbench.trajectory import Trajectory
from workbench.widgets._base import WorkbenchWidget
from workbench.widgets._protocol import HeatmapMsg
from workbench.widgets._records import segment_info

__all__ = ["ConstraintHeatmap"]


class ConstraintHeatmap(WorkbenchWidget):
    """Where a trace's attention to its constraints goes, per layer, token and segment.

    Parameters
    ----------
    attention
        A :class:`~workbench.attention.ConstraintAttention` (mass ``[tokens, layers,
        constraints]``).
    trajectory
        The trajectory measured: its segments are computed when ``segments`` is not given.
    segments
        Segments for the segment × constraint view.
    trace
        A :class:`~workbench.widgets.LiveTrace` to scroll when a cell is clicked.
    sample
        The sample of ``trace`` that shows this trajectory.
    max_columns
        Long traces are drawn with several tokens per column (their mean) beyond this many.
    mode
        ``"tokens"`` (layer × token) or ``"segments"`` (segment × constraint).
    height
        Height of the view in pixels.
    taxonomy
        The pattern taxonomy: segment labels and their colours (the same as in the trace).
    """

    _view = traitlets.Unicode("heatmap").tag(sync=True)
    mode = traitlets.Unicode("tokens").tag(sync=True)
    labels = traitlets.List(traitlets.Unicode()).tag(sync=True)

    def __init__(
        self,
        attention: ConstraintAttention,
        *,
        trajectory: Trajectory | None = None,
        segments: Sequence[Segment] | None = None,
        trace: Any = None,
        sample: int = 0,
        max_columns: int = 1200,
        mode: str = "tokens",
        height: int = 320,
        taxonomy: str | Taxonomy = "dto",
    ) -> None:
        if mode not in ("tokens", "segments"):
            raise ValidationError("ConstraintHeatmap.mode", "use 'tokens' or 'segments'")
        mass = np.asarray(attention.mass, dtype=np.float32)
        if mass.ndim != 3:
            raise ValidationError(
                "ConstraintHeatmap.attention", "mass must be [tokens, layers, constraints]"
            )
        if max_columns < 1:
            raise ValidationError("ConstraintHeatmap.max_columns", "must be >= 1")
        super().__init__(mode=mode, height=height, labels=list(get_taxonomy(taxonomy).names))
        self.attention = attention
        self.trace = trace
        self.sample = sample
        self.max_columns = max_columns
        if segments is None and trajectory is not None:
            segments = analyze_trajectory(trajectory, taxonomy=taxonomy)
        self.segments = list(segments or [])
        self.selected: tuple[int, int] | None = None
        """The last clicked ``(token, char)`` (token ``-1`` for a segment)."""
        self.selected_range: tuple[int, int] | None = None
        """The last brushed ``(first, last)`` token range."""
        self._callbacks: list[Callable[[int, int], None]] = []
        self._range_callbacks: list[Callable[[int, int], None]] = []

    def chart(self, mode: str | None = None, *, constraint: int | str | None = None) -> Any:
        """Return the view as an altair chart (for a paper: ``.save("heatmap.svg")``).

        Parameters
        ----------
        mode
            ``"tokens"`` (layer × token) or ``"segments"`` (segment × constraint); default:
            the widget's current view.
        constraint
            For the token view: one constraint (index or text), or ``None`` for the sum over
            the constraints (the widget's default).
        """
        from workbench.charts.attention import attention_segments_chart, attention_tokens_chart

        mode = mode or self.mode
        if mode == "segments":
            if not self.segments:
                raise ValidationError(
                    "ConstraintHeatmap.chart", "no segments: pass trajectory= or segments="
                )
            return attention_segments_chart(self.attention, self.segments, labels=self.labels)
        if mode != "tokens":
            raise ValidationError("ConstraintHeatmap.chart.mode", "use 'tokens' or 'segments'")
        try:
            return attention_tokens_chart(
                self.attention, constraint=constraint, max_columns=min(self.max_columns, 400)
            )
        except ValueError as exc:
            raise ValidationError("ConstraintHeatmap.chart.constraint", str(exc)) from exc

    def figure(self, request: dict[str, Any]) -> tuple[str, Any]:
        """Return the chart of an export button (the view's mode and constraint)."""
        c = int(request.get("constraint", -1))
        mode = str(request.get("mode") or self.mode)
        suffix = "" if mode == "segments" or c < 0 else f"_constraint{c}"
        chart = self.chart(mode, constraint=None if c < 0 else c)
        return f"constraint_attention_{mode}{suffix}", chart

    def on_select(self, fn: Callable[[int, int], None]) -> None:
        """Call ``fn(token, char)`` when a cell is clicked."""
        self._callbacks.append(fn)

    def message(self, view: str = "") -> tuple[HeatmapMsg, list[bytes]]:
        """Build the heatmap message and its buffers."""
        att = self.attention
        mass = np.asarray(att.mass, dtype=np.float32)
        g, n_layers, n_cons = mass.shape
        per, cols = token_columns(g, self.max_columns)
        if per > 1:
            pad = cols * per - g
            padded = np.concatenate([mass, np.full((pad, n_layers, n_cons), np.nan, np.float32)])
            binned = np.nanmean(padded.reshape(cols, per, n_layers, n_cons), axis=1)
        else:
            binned = mass
        offsets = np.asarray(att.offsets)
        texts = list(att.token_text) if att.token_text else [""] * g
        column_text = ["".join(texts[c * per : (c + 1) * per])[:80] for c in range(cols)]
        column_start = [int(offsets[c * per, 0]) if len(offsets) else 0 for c in range(cols)]
        column_end = [
            int(offsets[min(g, (c + 1) * per) - 1, 1]) if len(offsets) else 0 for c in range(cols)
        ]
        parts = np.asarray(att.parts).astype(str)
        answer = np.flatnonzero(parts == "answer")
        boundary = int(answer[0]) if len(answer) else None
        seg_frame = att.segments(self.segments) if self.segments else None
        seg_mass = np.full((len(self.segments), n_cons), np.nan, dtype=np.float32)
        if seg_frame is not None and not seg_frame.is_empty():
            index = {s.id: i for i, s in enumerate(self.segments)}
            cons = {c: k for k, c in enumerate(att.constraints)}
            for row in seg_frame.iter_rows(named=True):
                if row["mass"] is not None:
                    seg_mass[index[row["segment"]], cons[row["constraint"]]] = row["mass"]
        msg: HeatmapMsg = {
            "type": "heatmap",
            "view": view,
            "tokens": int(g),
            "columns": int(cols),
            "tokens_per_column": int(per),
            "layers": int(n_layers),
            "constraints": [str(c) for c in att.constraints],
            "column_text": column_text,
            "column_start": column_start,
            "column_end": column_end,
            "boundary": boundary,
            "mass": 0,
            "segments": [segment_info(s) for s in self.segments],
            "segment_mass": 1,
        }
        return msg, [np.ascontiguousarray(binned, np.float32).tobytes(), seg_mass.tobytes()]

    def _on_ready(self, msg: dict[str, Any]) -> None:
        out, buffers = self.message(msg["view"])
        self.send_message(out, buffers)

    def _on_select_range(self, msg: dict[str, Any]) -> None:
        self.selected_range = (msg["first"], msg["last"])
        if self.trace is not None:
            self.trace.scroll_to(msg["start"], sample=self.sample, end=msg["end"])
        for fn in self._range_callbacks:
            fn(msg["first"], msg["last"])

    def on_select_range(self, fn: Callable[[int, int], None]) -> None:
        """Call ``fn(first_token, last_token)`` when a token range is brushed."""
        self._range_callbacks.append(fn)

    def _on_select_token(self, msg: dict[str, Any]) -> None:
        self.selected = (msg["token"], msg["char"])
        if self.trace is not None:
            self.trace.scroll_to(msg["char"], sample=self.sample)
        for fn in self._callbacks:
            fn(msg["token"], msg["char"])
