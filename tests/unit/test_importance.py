"""Counterfactual segment importance: statistics, both modes, resuming, estimates, errors."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import numpy as np
import pytest

from workbench import Store, Trajectory, ValidationError
from workbench.analysis.importance import (
    ImportanceConfig,
    answer_kl,
    estimate_importance,
    experiment_key,
    newcombe_interval,
    plan_boundaries,
    segment_importance,
    wilson_interval,
)
from workbench.backends.base import (
    Backend,
    Event,
    FinishEvent,
    GenerationRequest,
    RunControl,
    TokenEvent,
)
from workbench.pairs import ProbeConfig, probe_trajectory

THINKING = (
    "First I restate the question: seventeen plus twenty-five.\n\n"
    "Wait, I add the tens: 10 + 20 = 30.\n\n"
    "Then the ones: 7 + 5 = 12, so 17 + 25 = 42.\n\n"
    "Hmm, let me double-check by counting up from 25 by 17.\n\n"
    "So I am quite sure of the answer now."
)


class Scripted(Backend):
    """Answers 42 whenever the kept thinking has ``= 42``, else 42 for one sample in four.

    Resample mode (no closing tag in the prefill): it writes one sentence of thinking, closes and
    answers. ``fail_after`` raises after that many finished samples (a killed kernel).
    """

    name = "scripted"

    def __init__(self, *, fail_after: int | None = None) -> None:
        self.requests: list[GenerationRequest] = []
        self.finished = 0
        self.fail_after = fail_after

    @property
    def model_name(self) -> str:
        return "scripted"

    def stream(
        self,
        request: GenerationRequest,
        *,
        cancel: threading.Event,
        control: RunControl | None = None,
    ) -> Iterator[Event]:
        self.requests.append(request)
        prefill = request.thinking_prefill or ""
        knows = "= 42" in prefill
        closed = "</think>" in prefill
        for i in range(request.sampling.n):
            if self.fail_after is not None and self.finished >= self.fail_after:
                raise KeyboardInterrupt
            yield TokenEvent(sample=i, text=prefill, forced=True)
            right = knows or i % 4 == 0
            answer = f"The answer is {42 if right else 41}."
            text = answer if closed else f"Maybe I should count again {i}.\n</think>\n\n{answer}"
            yield TokenEvent(sample=i, text=text, token_ids=(1, 2, 3))
            self.finished += 1
            yield FinishEvent(sample=i, finish_reason="stop")


def trace() -> Trajectory:
    return Trajectory(
        prompt="What is 17 + 25?",
        raw=f"<think>\n{THINKING}\n</think>\n\nThe answer is 42.",
        gold="42",
        grade=True,
    )


def far(texts):  # every text its own direction: every resample is "different"
    out = np.zeros((len(texts), len(texts)), dtype=np.float32)
    np.fill_diagonal(out, 1.0)
    return out


def test_wilson_and_newcombe_match_published_values() -> None:
    # Newcombe (1998), Table II example (a): 56/70 vs 48/80 -> 0.0524 to 0.3339
    lo, hi = newcombe_interval(56, 70, 48, 80)
    assert (round(lo, 4), round(hi, 4)) == (0.0524, 0.3339)
    lo, hi = wilson_interval(81, 263)  # Wilson interval of 81/263: 0.2553 to 0.3662
    assert (round(lo, 4), round(hi, 4)) == (0.2553, 0.3662)
    assert newcombe_interval(0, 0, 3, 4) == (-1.0, 1.0)


def test_answer_kl_is_zero_for_equal_distributions_and_grows_with_the_shift() -> None:
    assert answer_kl(["a", "b"], ["b", "a"]) == 0.0
    small = answer_kl(["a"] * 3 + ["b"], ["a"] * 2 + ["b"] * 2)
    large = answer_kl(["a"] * 4, ["b"] * 4)
    assert 0 < small < large
    assert answer_kl([], ["a"]) is None


def test_boundaries_are_the_segment_starts_and_the_end_of_the_thinking() -> None:
    t = trace()
    segments, bounds = plan_boundaries(t, segmenter="cues")
    assert len(bounds) == len(segments) + 1
    assert [b.offset for b in bounds[:-1]] == [s.char_span[0] for s in segments]
    assert bounds[-1].offset == t.thinking_span[1]
    assert bounds[2].kept.endswith("10 + 20 = 30.\n\n") and bounds[2].dropped is segments[2]


def test_resample_mode_finds_the_segment_that_computes_the_answer() -> None:
    t = trace()
    backend = Scripted()
    result = segment_importance(t, backend, config="quick", samples=8, embed=far, progress=False)
    assert result.n_samples == result.n_new == 8 * (len(result.segments) + 1)
    by_index = {s.index: s for s in result.segments}
    key = next(s for s in result.segments if "= 42" in s.text)
    assert key.p_keep == 1.0 and key.p_drop == 0.25 and key.delta == 0.75
    assert key.significant and key.ci[0] > 0 and key.kl and key.kl > 0.5
    assert key.counterfactual_delta == 0.75 and key.counterfactual_n == 8
    others = [s for i, s in by_index.items() if i != key.index]
    assert others and not any(s.significant for s in others)
    assert result.top(1)[0].index == key.index
    frame = result.frame()
    assert frame.height == len(result.segments) and frame["significant"].sum() == 1
    assert all(s.label for s in result.segments)  # coloured by pattern in the strip
    # the model continued thinking from the kept prefix (no closing tag forced in the prefill)
    assert all("</think>" not in (r.thinking_prefill or "") for r in backend.requests)
    assert all(
        r.budget is not None and r.budget.max_thinking_tokens == 64 for r in backend.requests
    )


def test_counterfactual_importance_uses_only_the_dissimilar_resamples() -> None:
    def same(texts):  # every resample says the same thing as the dropped segment
        return np.ones((len(texts), 4), dtype=np.float32) / 2.0

    result = segment_importance(trace(), Scripted(), config="quick", embed=same, progress=False)
    assert all(s.counterfactual_n == 0 and s.counterfactual_delta is None for s in result.segments)


def test_early_exit_mode_is_the_probe_curve(tmp_path) -> None:
    t = trace()
    result = segment_importance(t, Scripted(), config="early_exit", samples=4, progress=False)
    curve = probe_trajectory(
        t, Scripted(), config=ProbeConfig(samples=4, stop_at_threshold=False, max_boundaries=None)
    )
    # probe boundary i (the end of segment i) is the engine's boundary i + 1
    engine = {b.position: b.p for b in result.boundaries}
    assert [p.p for p in curve.points] == [engine[i + 1] for i in range(len(curve.points))]
    key = next(s for s in result.segments if "= 42" in s.text)
    assert key.significant and key.delta == 0.75
    assert all(s.counterfactual_n == 0 for s in result.segments)  # no resampled segment here


def test_a_killed_run_resumes_without_redoing_stored_samples(tmp_path) -> None:
    store = Store(tmp_path / "wb.db")
    t = trace()
    cfg = ImportanceConfig(mode="resample", samples=4, thinking_tokens=16, answer_tokens=8)
    with pytest.raises(KeyboardInterrupt):
        segment_importance(
            t, Scripted(fail_after=10), config=cfg, store=store, embed=far, progress=False
        )
    key = experiment_key(cfg, model="scripted", grader="math")
    stored = store.get_importance_samples(t.id, key)
    assert len(stored) == 10  # every sample that finished before the kill was kept
    before = estimate_importance(t, model="scripted", config=cfg, store=store)
    assert before.stored == 10 and before.to_sample == before.continuations - 10

    again = Scripted()
    result = segment_importance(t, again, config=cfg, store=store, embed=far, progress=False)
    asked = sum(r.sampling.n for r in again.requests)
    assert asked == before.to_sample == result.n_new
    assert result.n_samples == before.continuations
    assert len(store.get_importance_samples(t.id, key)) == before.continuations
    # the interrupted boundary asked only for its missing samples
    assert sorted(r.sampling.n for r in again.requests)[0] == 2

    # a third run samples nothing; asking for more samples samples only the difference
    third = Scripted()
    same = segment_importance(t, third, config=cfg, store=store, embed=far, progress=False)
    assert third.requests == [] and same.n_new == 0
    assert [s.delta for s in same.segments] == [s.delta for s in result.segments]
    more = Scripted()
    segment_importance(t, more, config=cfg.with_(samples=6), store=store, embed=far, progress=False)
    assert all(r.sampling.n == 2 for r in more.requests)
    listed = store.list_importance_experiments(t.id)
    assert listed["n_samples"].to_list() == [6 * (len(result.segments) + 1)]
    estimate = estimate_importance(t, model="scripted", config=cfg.with_(samples=7), store=store)
    assert estimate.tokens_per_s and estimate.seconds is not None and estimate.to_sample > 0


def test_concurrent_boundaries_give_the_same_result(tmp_path) -> None:
    t = trace()
    one = segment_importance(t, Scripted(), config="quick", embed=far, progress=False)
    four = segment_importance(
        t, Scripted(), config="quick", concurrency=4, embed=far, progress=False,
        store=Store(tmp_path / "c.db"),
    )  # fmt: skip
    assert [s.delta for s in one.segments] == [s.delta for s in four.segments]


def test_only_some_segments_and_clear_errors() -> None:
    t = trace()
    backend = Scripted()
    result = segment_importance(t, backend, config="quick", segments=[2], embed=far, progress=False)
    assert [s.index for s in result.segments] == [2] and len(backend.requests) == 2
    with pytest.raises(ValidationError, match="segment index"):
        segment_importance(t, backend, segments=[99], progress=False)
    with pytest.raises(ValidationError, match="not one of"):
        segment_importance(t, backend, config="nope", progress=False)
    with pytest.raises(ValidationError, match="mode"):
        ImportanceConfig(mode="both")
    with pytest.raises(ValidationError, match="no thinking"):
        segment_importance(Trajectory(prompt="p", raw="just an answer", gold="1"), backend)
    with pytest.raises(ValidationError, match="no gold answer"):
        segment_importance(
            Trajectory(prompt="p", raw=f"<think>\n{THINKING}\n</think>\n\n42"), backend
        )


def test_an_importance_result_round_trips_to_json_and_draws() -> None:
    import json

    result = segment_importance(trace(), Scripted(), config="quick", embed=far, progress=False)
    data = json.loads(json.dumps(result.to_dict()))
    assert data["segments"][0]["ci"] and data["key"] == result.key
    spec = result.chart().to_dict()
    text = json.dumps(spec)
    assert "p(correct) change" in text and "thinking pattern" in text


def _record(n: int = 6):
    from workbench.attention import SegmentAttention

    rng = np.random.default_rng(0)
    mass = np.tril(rng.random((2, 3, n, n))).astype(np.float32)
    mass[1, 2, :, 1] = np.tril(np.ones((n, n)))[:, 1] * 5  # one head looks back at segment 1
    return SegmentAttention(
        trajectory_id="t",
        model="tiny",
        mass=mass,
        segment_ids=[f"s{i}" for i in range(n)],
        char_spans=[[10 * i, 10 * i + 9] for i in range(n)],
        token_spans=[[4 * i, 4 * i + 4] for i in range(n)],
        labels=["planning", "computation", None, "verification", "computation", "backtracking"],
    )


def test_segment_attention_and_dependency_charts_are_labelled_and_lower_triangular() -> None:
    import json

    from workbench.charts import dependency_chart, segment_attention_chart

    record = _record()
    spec = segment_attention_chart(record, layers=[1], heads=[2]).to_dict()
    text = json.dumps(spec)
    for title in ("attended segment (key)", "attending segment (query)", "attention mass",
                  "thinking pattern", "(unlabelled)"):  # fmt: skip
        assert title in text
    cells = next(c for c in spec["hconcat"] if c.get("mark", {}) in ("rect", {"type": "rect"})
                 and "x" in c["encoding"])  # fmt: skip
    values = cells["data"]["values"]
    assert len(values) == 6 * 7 // 2  # the lower triangle only
    assert all(int(v["key"][1:]) <= int(v["query"][1:]) for v in values)
    expected = record.matrix(layers=[1], heads=[2])
    assert all(
        abs(v["mass"] - expected[int(v["query"][1:]), int(v["key"][1:])]) < 1e-6 for v in values
    )

    deps = dependency_chart(record, top=3, min_gap=2, receivers=False).to_dict()
    edges = deps["layer"][0]["data"]["values"]
    pairs = {e["pair"] for e in edges}
    m = record.matrix()
    best = sorted(((m[a, b], a, b) for a in range(6) for b in range(a - 1)), reverse=True)[:3]
    assert pairs == {f"#{a} → #{b}" for _, a, b in best}
    assert len(edges) == 9  # three points per arc


def test_importance_chart_rejects_unknown_measures() -> None:
    from workbench.charts import importance_chart

    result = segment_importance(trace(), Scripted(), config="quick", embed=far, progress=False)
    with pytest.raises(ValueError, match="measure"):
        importance_chart(result, measure="size")
    assert "answer KL" in json_text(importance_chart(result, measure="kl"))


def json_text(chart) -> str:
    import json

    return json.dumps(chart.to_dict())
