"""Figures for papers: the altair charts behind the canvas views and their SVG/PNG export."""

from __future__ import annotations

import numpy as np
import pytest

from tests.unit.test_widgets import RAW, SOURCE, random_attention
from workbench import TokenArrays, Trajectory
from workbench.charts.attention import (
    attention_segments_chart,
    attention_tokens_chart,
    token_columns,
)
from workbench.charts.tokens import token_curves_chart, token_curves_frame
from workbench.errors import ValidationError
from workbench.widgets import ConstraintHeatmap, LiveTrace
from workbench.widgets._protocol import validate_front_message, validate_kernel_message

vlc = pytest.importorskip(
    "vl_convert", reason="vl-convert renders the specs offline (a [charts] dependency)"
)


def _traced(n_tokens: int | None = None) -> Trajectory:
    offsets = np.array([[i, min(i + 5, len(RAW))] for i in range(0, len(RAW), 5)], np.int32)
    if n_tokens is not None:
        offsets = offsets[:n_tokens]
    rng = np.random.default_rng(1)
    n = len(offsets)
    logprobs = -rng.exponential(1.0, n).astype(np.float32)
    logprobs[3] = np.nan  # a token without a logprob must not break the curve
    return Trajectory(
        prompt="q", raw=RAW, model="m",
        tokens=TokenArrays(ids=np.arange(n), offsets=offsets, logprobs=logprobs,
                           entropies=rng.exponential(1.5, n).astype(np.float32)),
    )  # fmt: skip


def _texts(svg: str) -> str:
    return svg.replace("&lt;", "<").replace("&gt;", ">")


def test_token_map_bins_columns_and_renders_its_axes_and_scale() -> None:
    att = random_attention(SOURCE, 3000, layers=6, constraints=2)
    chart = attention_tokens_chart(att, max_columns=300)
    spec = chart.to_dict()
    heat = spec["layer"][0]
    values = heat["data"]["values"]
    per, cols = token_columns(3000, 300)
    assert (per, cols) == (10, 300) and len(values) == cols * 6
    first = next(v for v in values if v["token"] == 0 and v["layer"] == 2)
    assert first["mass"] == pytest.approx(float(att.mass[:10, 2, :].sum(axis=1).mean()), rel=1e-5)
    assert heat["encoding"]["color"]["title"] == "attention mass"
    one = attention_tokens_chart(att, constraint="constraint 1", max_columns=300).to_dict()
    v = next(x for x in one["layer"][0]["data"]["values"] if x["token"] == 10 and x["layer"] == 0)
    assert v["mass"] == pytest.approx(float(att.mass[10:20, 0, 1].mean()), rel=1e-5)
    svg = _texts(vlc.vegalite_to_svg(spec))
    for text in ("layer", "position in the generation", "attention mass", "answer →",
                 "all constraints (sum)"):  # fmt: skip
        assert text in svg, text
    with pytest.raises(ValueError, match="there are 2 constraints"):
        attention_tokens_chart(att, constraint=5)


def test_segment_map_has_one_row_per_segment_with_its_pattern() -> None:
    att = random_attention(SOURCE, 600, layers=3, constraints=3)
    hm = ConstraintHeatmap(att, trajectory=SOURCE, mode="segments")
    spec = hm.chart().to_dict()
    strip, heat = spec["hconcat"]
    assert len(heat["data"]["values"]) == 3 * len(hm.segments)
    assert strip["encoding"]["color"]["title"] == "pattern"
    svg = _texts(vlc.vegalite_to_svg(spec))
    for text in ("constraint 0", "segment (# and pattern)", "attention mass", "pattern"):
        assert text in svg, text
    assert attention_segments_chart(att, hm.segments).to_dict()["hconcat"]
    with pytest.raises(ValidationError, match="no segments"):
        ConstraintHeatmap(att).chart("segments")
    with pytest.raises(ValidationError, match="tokens"):
        hm.chart("words")


def test_token_curves_bin_mark_segments_hits_and_the_answer() -> None:
    t = _traced()
    frame = token_curves_frame(t.tokens, max_points=100)  # type: ignore[arg-type]
    n = len(t.tokens)  # type: ignore[arg-type]
    per = -(-n // 100)
    lp = frame.filter(frame["metric"] == "logprob")
    assert lp.height == -(-n // per) and lp["token"][1] == per
    expected = np.nanmean(np.asarray(t.tokens.logprobs)[:per])  # type: ignore[union-attr]
    assert lp["mean"][0] == pytest.approx(float(expected), rel=1e-5)
    trace = LiveTrace(t)
    spec = trace.chart(max_points=100).to_dict()
    assert len(spec["vconcat"]) == 2
    svg = _texts(vlc.vegalite_to_svg(spec))
    for text in ("log p (nats)", "entropy (nats)", "token (position in the generation)",
                 "segment start (pattern)", "the answer begins", "keyword hits"):  # fmt: skip
        assert text in svg, text
    bare = Trajectory(prompt="q", raw=RAW, tokens=TokenArrays(ids=np.arange(3)))
    with pytest.raises(ValidationError, match="no per-token"):
        LiveTrace(bare).chart()
    with pytest.raises(ValidationError, match="0..0"):
        trace.chart(sample=3)
    with pytest.raises(ValueError, match="no token arrays"):
        token_curves_chart(Trajectory(prompt="q", raw=RAW))


def test_export_request_answers_with_the_chart_spec_and_ships_vega_once() -> None:
    att = random_attention(SOURCE, 500, layers=4, constraints=2)
    hm = ConstraintHeatmap(att, trajectory=SOURCE)
    hm.sent = []
    assert hm._vega == ""  # no view loads vega before a figure is asked for
    request = {"type": "figure_request", "view": "v1", "request_id": 7, "sample": 0,
               "mode": "tokens", "constraint": 1}  # fmt: skip
    validate_front_message(request)
    hm.handle_message(request)
    assert not hm.errors, hm.errors
    ((msg, _),) = hm.sent
    validate_kernel_message(msg)
    assert msg["request_id"] == 7 and msg["name"] == "constraint_attention_tokens_constraint1"
    assert msg["spec"] == hm.chart("tokens", constraint=1).to_dict()
    assert len(hm._vega) > 100_000  # the bundled vega module, set with the first figure
    trace = LiveTrace(_traced(40))
    trace.sent = []
    trace.handle_message({**request, "mode": "curves", "constraint": -1})
    ((msg, _),) = trace.sent
    assert msg["name"] == "token_curves_sample0" and "vconcat" in msg["spec"]
    trace.handle_message({**request, "sample": 5})
    assert "0..0" in trace.error  # a bad request shows under the widget, nothing is sent
    assert len(trace.sent) == 1
