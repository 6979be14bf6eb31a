"""LiveTrace's importance strip, kernel side: what the message carries, re-sent to a late view,
and results of another trajectory (or another column) refused with what to do."""

from __future__ import annotations

import pytest

pytest.importorskip("anywidget")

from workbench import Trajectory
from workbench.analysis.importance import ImportanceResult, SegmentImportance
from workbench.analysis.pipeline import analyze_trajectory
from workbench.errors import ValidationError
from workbench.widgets import LiveTrace
from workbench.widgets._protocol import PROTOCOL_HASH, validate_kernel_message

XSS = "<img src=x onerror=alert(1)>"


OPENINGS = (
    "Wait, step {i}: {i} + {i} = {j}, that looks wrong.",
    "Let me verify step {i}: {i} + {i} = {j} is right.",
    "So step {i} gives {i} + {i} = {j}, and we carry on.",
    "Alternatively, step {i} could use {j} / 2 = {i}.",
    "Hmm, I am not sure step {i} is {j}.",
)


def importance_trajectory(n: int = 12) -> Trajectory:
    """A trajectory whose thinking has ``n`` steps of several patterns, step 3 an XSS payload."""
    steps = [
        OPENINGS[i % len(OPENINGS)].format(i=i, j=2 * i)
        if i != 3
        else f"Hmm, the model wrote {XSS} here, let me check it again."
        for i in range(n)
    ]
    raw = "<think>\nOkay, let me read the problem.\n\n" + "\n\n".join(steps)
    return Trajectory(prompt="What is 17 + 25?", raw=raw + "\n</think>\n\n42", model="m", gold="42")


def importance_result(t: Trajectory, *, every: int = 1) -> ImportanceResult:
    """An importance result of ``t``'s segments built by hand (no sampling): every third is
    significant, one has no counterfactual value; ``every`` keeps every k-th segment only."""
    segments = analyze_trajectory(t)
    items = []
    for k, s in enumerate(segments):
        if k % every:
            continue
        delta = [0.45, -0.1, 0.05, -0.4][k % 4]
        items.append(
            SegmentImportance(
                index=k,
                segment_id=s.id,
                label=s.labels[0] if s.labels else None,
                char_span=(int(s.char_span[0]), int(s.char_span[1])),
                text=s.text,
                p_keep=0.5 + delta / 2,
                n_keep=16,
                p_drop=0.5 - delta / 2,
                n_drop=16,
                delta=delta,
                ci=(delta - 0.2, delta + 0.2),
                significant=abs(delta) > 0.2,
                kl=abs(delta) * 2,
                counterfactual_delta=None if k == 1 else delta,
                counterfactual_ci=None if k == 1 else (delta - 0.3, delta + 0.3),
                counterfactual_n=0 if k == 1 else 8,
            )
        )
    return ImportanceResult(
        trajectory_id=t.id,
        model="tiny",
        key="k",
        grader="math",
        config={"mode": "resample", "confidence": 0.95},
        segments=items,
        n_samples=32 * len(items),
    )


def strips(trace: LiveTrace) -> list[dict]:
    assert trace.sent is not None
    return [m for m, _ in trace.sent if m["type"] == "importance"]


def test_show_importance_sends_one_bar_per_segment_in_trace_order() -> None:
    t = importance_trajectory()
    result = importance_result(t)
    result.segments.reverse()  # the strip is in thinking order whatever the result's order
    trace = LiveTrace(t)
    trace.sent = []
    trace.show_importance(result)
    (msg,) = strips(trace)
    validate_kernel_message(msg)
    bars = msg["bars"]
    assert [b["index"] for b in bars] == sorted(s.index for s in result.segments)
    assert msg["sample"] == 0 and msg["measure"] == "delta" and msg["axis"] == "Δ p(correct)"
    assert msg["interval"] == "95% interval" and "includes 0" in msg["faded"]
    assert msg["caption"] == f"resample · {result.n_samples} continuations · tiny"
    by_index = {s.index: s for s in result.segments}
    for b in bars:
        s = by_index[b["index"]]
        assert (b["start"], b["end"]) == s.char_span and t.raw[b["start"] : b["end"]] == s.text
        assert (b["value"], b["lo"], b["hi"]) == (s.delta, *s.ci)
        assert b["significant"] is s.significant and b["label"] == s.label
        assert (b["n_keep"], b["n_drop"]) == (16, 16)
    # the preview is the text as text (the view escapes it), whitespace folded, clipped
    (evil,) = [b for b in bars if XSS in b["preview"]]
    assert "\n" not in evil["preview"] and evil["preview"].startswith("Hmm, the model wrote")
    assert all(len(b["preview"]) <= 160 for b in bars)


def test_kl_and_counterfactual_measures() -> None:
    t = importance_trajectory()
    result = importance_result(t)
    trace = LiveTrace(t)
    trace.sent = []
    trace.show_importance(result, measure="kl")
    trace.show_importance(result, measure="counterfactual_delta")
    kl, cf = strips(trace)
    assert kl["axis"] == "answer KL (nats)" and kl["interval"] == ""
    assert all(b["lo"] is None and b["hi"] is None for b in kl["bars"])
    assert [b["value"] for b in kl["bars"]] == [s.kl for s in result.segments]
    assert cf["bars"][1]["value"] is None and cf["bars"][1]["lo"] is None  # not measured
    # faded by the counterfactual interval: 0.45 ± 0.3 excludes 0, -0.1 ± 0.3 does not
    assert cf["bars"][0]["significant"] and not cf["bars"][2]["significant"]
    with pytest.raises(ValidationError, match="not one of"):
        trace.show_importance(result, measure="p_keep")


def test_a_view_rendered_later_gets_the_strip_and_none_removes_it() -> None:
    t = importance_trajectory()
    trace = LiveTrace(t)
    trace.show_importance(importance_result(t, every=2))
    trace.sent = []
    trace.handle_message({"type": "ready", "view": "late", "protocol": PROTOCOL_HASH})
    assert [m["type"] for m, _ in trace.sent] == ["snapshot", "importance"]
    assert len(strips(trace)[0]["bars"]) == len(importance_result(t, every=2).segments)
    trace.show_importance(None)
    assert strips(trace)[-1]["bars"] == []
    trace.sent = []
    trace.handle_message({"type": "ready", "view": "later", "protocol": PROTOCOL_HASH})
    assert [m["type"] for m, _ in trace.sent] == ["snapshot"]
    assert not trace.errors


def test_a_result_of_another_trajectory_says_what_to_do() -> None:
    t, other = importance_trajectory(), importance_trajectory(8)
    trace = LiveTrace([t, other])
    with pytest.raises(ValidationError) as err:
        trace.show_importance(importance_result(other))  # sample 0 shows t
    assert "column 1, not 0: call show_importance(result, sample=1)" in str(err.value)
    trace.show_importance(importance_result(other), sample=1)  # the right column
    alone = LiveTrace(t)
    with pytest.raises(ValidationError) as err:
        alone.show_importance(importance_result(other))
    text = str(err.value)
    assert repr(other.id) in text and repr(t.id) in text
    assert "run segment_importance on" in text
    with pytest.raises(ValidationError, match="use 0..0"):
        alone.show_importance(importance_result(t), sample=2)
    empty = importance_result(t)
    empty.segments = []
    with pytest.raises(ValidationError, match="no measured segment"):
        alone.show_importance(empty)
    moved = importance_result(t)
    moved.segments[-1].char_span = (0, len(t.raw) + 5)
    with pytest.raises(ValidationError, match="another text"):
        alone.show_importance(moved)
