"""Altair chart factories over the analysis frames (polars in, ``alt.Chart`` out).

The figures of the canvas widgets are here too: ``attention_tokens_chart`` and
``attention_segments_chart`` (:class:`~workbench.widgets.ConstraintHeatmap`'s two views) and
``token_curves_chart`` (:class:`~workbench.widgets.LiveTrace`'s per-token curves); each widget's
``.chart()`` and its SVG/PNG buttons give the same figure. "Which thoughts matter" has
``importance_chart`` (the segment importance strip), ``segment_attention_chart`` and
``dependency_chart``.
"""

from workbench.charts.attention import attention_segments_chart, attention_tokens_chart
from workbench.charts.importance import dependency_chart, importance_chart, segment_attention_chart
from workbench.charts.keywords import hit_positions, keyword_rate
from workbench.charts.patterns import pattern_mix, pattern_timeline
from workbench.charts.tokens import token_curves_chart

__all__ = [
    "attention_segments_chart",
    "attention_tokens_chart",
    "dependency_chart",
    "hit_positions",
    "importance_chart",
    "keyword_rate",
    "pattern_mix",
    "pattern_timeline",
    "segment_attention_chart",
    "token_curves_chart",
]
