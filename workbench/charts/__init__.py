"""Altair chart factories over the analysis frames (polars in, ``alt.Chart`` out)."""

from workbench.charts.keywords import hit_positions, keyword_rate
from workbench.charts.patterns import pattern_mix, pattern_timeline

__all__ = ["hit_positions", "keyword_rate", "pattern_mix", "pattern_timeline"]
