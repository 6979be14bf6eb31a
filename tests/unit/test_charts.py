from __future__ import annotations

import pytest

from workbench import Trajectory
from workbench.analysis._keyword_stats import keyword_stats, keyword_summary
from workbench.analysis.pipeline import analyze_trajectory
from workbench.charts import hit_positions, keyword_rate, pattern_mix, pattern_timeline
from workbench.charts.patterns import segments_frame

TRACES = [
    Trajectory.from_parts(
        thinking="Wait, 2 + 2 = 4. But let me check. Hmm, yes.", answer="4", model="m1", grade=True
    ),
    Trajectory.from_parts(
        thinking="So 3 * 3 = 9. Therefore 9.", answer="9", model="m2", grade=False
    ),
]


def test_keyword_charts_have_the_right_encodings() -> None:
    stats = keyword_stats(TRACES, lexicon="nowait")
    spec = keyword_rate(keyword_summary(stats, by="model")).to_dict()
    assert spec["mark"]["type"] == "bar" and spec["encoding"]["x"]["field"] == "per_1k_words"
    assert {row["model"] for row in spec["data"]["values"]} == {"m1", "m2"}
    spec = hit_positions(stats, by="model").to_dict()
    assert spec["encoding"]["x"]["bin"] and spec["encoding"]["row"]["field"] == "model"
    assert all(0 <= v["position"] <= 1 for v in spec["data"]["values"])
    with pytest.raises(ValueError, match="no column"):
        keyword_rate(keyword_summary(stats, by=None))


def test_pattern_charts() -> None:
    segs = analyze_trajectory(TRACES[0], min_chars=1)
    spec = pattern_timeline(segs).to_dict()
    assert spec["encoding"]["x2"]["field"] == "end" and len(spec["data"]["values"]) == len(segs)
    frame = segments_frame(segs).with_columns(correct=True)
    spec = pattern_mix(frame, by="correct").to_dict()
    assert spec["encoding"]["x"]["stack"] == "normalize"
    assert sum(v["segments"] for v in spec["data"]["values"]) == len(segs)
