"""Constraint attention mass (workbench.attention) against the naive eager computation.

The naive reference runs the model with eager attention and ``output_attentions=True``, sums the
attention probabilities over the constraint keys and (unless per head) averages over heads.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the transformers extra is not installed")
transformers = pytest.importorskip("transformers")

from workbench.attention import (  # noqa: E402
    ATTENTION_NAME,
    capture_constraint_mass,
    constraint_mass,
    normalize_positions,
)
from workbench.attention import _lse as kernels  # noqa: E402

TOL = 1e-4
VOCAB = 300
ARCHS = ("llama", "qwen2", "qwen3", "gemma3", "gpt2")


def build(arch: str, *, layers: int = 4, seed: int = 0, window: int = 24) -> Any:
    """A tiny random model; GQA (4 query heads, 2 key/value heads) where the arch has it."""
    common: dict[str, Any] = dict(
        vocab_size=VOCAB,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=1024,
    )
    alternating = ["sliding_attention", "full_attention"] * (layers // 2) + [
        "sliding_attention"
    ] * (layers % 2)
    configs = {
        "llama": lambda: transformers.LlamaConfig(**common),
        "qwen2": lambda: transformers.Qwen2Config(
            use_sliding_window=True, sliding_window=window, max_window_layers=1, **common
        ),
        "qwen3": lambda: transformers.Qwen3Config(head_dim=16, **common),
        "gemma3": lambda: transformers.Gemma3TextConfig(
            head_dim=16,
            sliding_window=window,
            layer_types=alternating,
            query_pre_attn_scalar=12,
            **common,
        ),
        "gemma2": lambda: transformers.Gemma2Config(
            head_dim=16,
            sliding_window=window,
            query_pre_attn_scalar=16,
            attn_logit_softcapping=5.0,
            **common,
        ),
        "gpt2": lambda: transformers.GPT2Config(
            vocab_size=VOCAB,
            n_embd=64,
            n_layer=layers,
            n_head=4,
            n_positions=1024,
            scale_attn_by_inverse_layer_idx=True,
            bos_token_id=0,
            eos_token_id=0,
        ),
    }
    torch.manual_seed(seed)
    impl = "eager" if arch == "gemma2" else "sdpa"  # Gemma 2 refuses sdpa (soft-capping)
    model = transformers.AutoModelForCausalLM.from_config(
        configs[arch](), dtype=torch.float32, attn_implementation=impl
    )
    return model.eval()


def tokens(n: int, seed: int = 1) -> Any:
    return torch.randint(0, VOCAB, (n,), generator=torch.Generator().manual_seed(seed))


def naive(model: Any, ids: Any, positions: list[int], *, per_head: bool = False) -> np.ndarray:
    """Eager attention, output_attentions=True, summed over C (and averaged over heads)."""
    previous = model.config._attn_implementation
    model.set_attn_implementation("eager")
    try:
        with torch.inference_mode():
            out = model(input_ids=ids.reshape(1, -1), output_attentions=True, use_cache=False)
    finally:
        model.set_attn_implementation(previous)
    alpha = torch.stack([a[0][:, :, positions].sum(-1) for a in out.attentions])  # [L, H, T]
    alpha = alpha.permute(2, 0, 1).float().numpy()
    return alpha if per_head else alpha.mean(-1)


@pytest.fixture(scope="module")
def models() -> dict[str, Any]:
    return {arch: build(arch) for arch in (*ARCHS, "gemma2")}


# -- exactness ------------------------------------------------------------------------------------
@pytest.mark.parametrize("arch", ARCHS)
def test_matches_naive_per_head_and_mean(models: dict[str, Any], arch: str) -> None:
    model = models[arch]
    ids = tokens(80)
    positions = [2, 3, 5, 40, 41, 79]
    per_head = constraint_mass(model, ids, positions, per_head=True)
    mean = constraint_mass(model, ids, positions)
    layers, heads = model.config.num_hidden_layers, model.config.num_attention_heads
    assert per_head.shape == (80, layers, heads) and per_head.dtype == np.float32
    assert mean.shape == (80, layers)
    np.testing.assert_allclose(per_head, naive(model, ids, positions, per_head=True), atol=TOL)
    np.testing.assert_allclose(mean, naive(model, ids, positions), atol=TOL)
    assert model.config._attn_implementation == "sdpa"  # restored


@pytest.mark.parametrize("arch", ["qwen3", "gemma3"])
def test_groups_give_one_mass_per_constraint_in_one_pass(models: dict[str, Any], arch: str) -> None:
    """Overlapping constraint groups: each equals the mass of its own positions alone."""
    model = models[arch]
    ids = tokens(60)
    groups = [[2, 3, 5], [5, 40], [41]]
    union = sorted({p for g in groups for p in g})
    got = constraint_mass(model, ids, union, groups=groups)
    assert got.shape == (60, model.config.num_hidden_layers, 3)
    for g, members in enumerate(groups):
        np.testing.assert_allclose(got[..., g], naive(model, ids, members), atol=TOL)
    heads = constraint_mass(model, ids, union, groups=groups, per_head=True, query_start=10)
    assert heads.shape == (50, model.config.num_hidden_layers, model.config.num_attention_heads, 3)
    np.testing.assert_allclose(heads.mean(axis=2), got[10:], atol=TOL)
    with pytest.raises(ValueError, match="outside constraint_positions"):
        constraint_mass(model, ids, [2, 3], groups=[[2, 4]])


def test_gqa_is_exercised(models: dict[str, Any]) -> None:
    for arch in ("llama", "qwen2", "qwen3", "gemma3"):
        config = models[arch].config
        assert config.num_key_value_heads < config.num_attention_heads


@pytest.mark.parametrize("arch", ["gemma3", "qwen2"])
def test_sliding_window_layers(models: dict[str, Any], arch: str) -> None:
    """Sliding layers give no mass to constraint tokens outside the window; full layers do."""
    model = models[arch]
    ids = tokens(90, seed=3)
    alpha = constraint_mass(model, ids, [0, 1, 2], per_head=True)
    np.testing.assert_allclose(alpha, naive(model, ids, [0, 1, 2], per_head=True), atol=TOL)
    types = model.config.layer_types
    sliding = [i for i, t in enumerate(types) if t == "sliding_attention"]
    full = [i for i, t in enumerate(types) if t == "full_attention"]
    assert sliding and full
    late = alpha[40:]  # window 24: constraint tokens 0..2 are out of reach
    assert np.all(late[:, sliding] == 0)
    assert np.all(late[:, full] > 0)


def test_softcapping_matches_eager(models: dict[str, Any]) -> None:
    model = models["gemma2"]
    assert model.config.attn_logit_softcapping
    ids = tokens(60)
    positions = [1, 7, 30]
    got = constraint_mass(model, ids, positions, per_head=True)
    np.testing.assert_allclose(got, naive(model, ids, positions, per_head=True), atol=TOL)
    assert model.config._attn_implementation == "eager"  # restored


@pytest.mark.parametrize("arch", ["llama", "gemma3", "gpt2"])
def test_blockwise_path_matches_naive(
    models: dict[str, Any], arch: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the fused kernel unavailable, the blockwise log-sum-exp gives the same result."""
    monkeypatch.setattr(kernels, "fused_lse_available", lambda *a: False)
    monkeypatch.setattr(kernels, "DEFAULT_BLOCK_ELEMENTS", 1000)  # many small blocks
    model = models[arch]
    ids = tokens(70)
    positions = [2, 3, 50]
    with torch.inference_mode(), capture_constraint_mass(model, positions, per_head=True) as cap:
        model(input_ids=ids[None], use_cache=False)
    assert cap.paths == {"blockwise"}
    np.testing.assert_allclose(cap.steps[0], naive(model, ids, positions, per_head=True), atol=TOL)
    chunked = constraint_mass(model, ids, positions, per_head=True, chunk_size=9)
    np.testing.assert_allclose(chunked, naive(model, ids, positions, per_head=True), atol=TOL)


def test_fused_path_is_used_on_cpu(models: dict[str, Any]) -> None:
    with torch.inference_mode(), capture_constraint_mass(models["llama"], [1]) as cap:
        models["llama"](input_ids=tokens(20)[None], use_cache=False)
    assert cap.paths == {"fused"}


@pytest.mark.parametrize("arch", ["llama", "gemma3", "gpt2"])
def test_chunked_prefill_and_query_start(models: dict[str, Any], arch: str) -> None:
    model = models[arch]
    ids = tokens(75)
    positions = [0, 4, 5, 33]
    full = constraint_mass(model, ids, positions)
    for chunk in (1, 16, 30):
        np.testing.assert_allclose(
            constraint_mass(model, ids, positions, chunk_size=chunk), full, atol=1e-5
        )
    tail = constraint_mass(model, ids, positions, query_start=50, chunk_size=16)
    assert tail.shape == (25, model.config.num_hidden_layers)
    np.testing.assert_allclose(tail, full[50:], atol=1e-5)
    np.testing.assert_allclose(constraint_mass(model, ids, positions, query_start=10), full[10:])


def test_future_constraint_positions_get_no_mass(models: dict[str, Any]) -> None:
    ids = tokens(40)
    alpha = constraint_mass(models["llama"], ids, [30, 31], per_head=True)
    assert np.all(alpha[:30] == 0)
    assert np.all(alpha[30:] > 0)


# -- the forward pass is unchanged --------------------------------------------------------------
@pytest.mark.parametrize("arch", ARCHS)
def test_logits_unchanged(models: dict[str, Any], arch: str) -> None:
    model = models[arch]
    ids = tokens(64)[None]
    with torch.inference_mode():
        plain = model(input_ids=ids, use_cache=False).logits
        with capture_constraint_mass(model, [1, 2, 3]):
            ours = model(input_ids=ids, use_cache=False).logits
    assert torch.equal(plain, ours)  # the same CPU kernel as SDPA: bit for bit


# -- incremental decoding -----------------------------------------------------------------------
@pytest.mark.parametrize("one_sequence", [False, True])
@pytest.mark.parametrize("arch", ["llama", "qwen3", "gemma3", "gpt2"])
def test_incremental_decoding_matches_teacher_forcing(
    models: dict[str, Any], arch: str, one_sequence: bool
) -> None:
    """A prefill then one token per call over a KV cache (sliding layers crop their cache).

    With ``one_sequence`` the constraint keys are gathered once per layer and reused.
    """
    model = models[arch]
    ids = tokens(60)[None]
    positions = [3, 4, 15]
    expected = constraint_mass(model, ids, positions, per_head=True)
    params = inspect.signature(model.forward).parameters
    cache_arg = "cache" if "cache" in params else "past_key_values"
    capture = capture_constraint_mass(model, positions, per_head=True, one_sequence=one_sequence)
    with torch.inference_mode(), capture as cap:
        cache = transformers.DynamicCache(config=model.config)
        model(input_ids=ids[:, :20], use_cache=True, **{cache_arg: cache})
        first = cap.pop()
        assert len(first) == 1 and first[0].shape[0] == 20
        for t in range(20, 60):
            model(input_ids=ids[:, t : t + 1], use_cache=True, **{cache_arg: cache})
    steps = cap.steps
    assert len(steps) == 40 and all(s.shape == (1, 4, 4) for s in steps)
    np.testing.assert_allclose(np.concatenate(first + steps), expected, atol=1e-5)
    assert bool(cap._key_cache) == one_sequence


def test_generate_under_capture(models: dict[str, Any]) -> None:
    model = models["gemma3"]
    prompt = tokens(30)[None]
    positions = [2, 3, 4]
    with torch.inference_mode():
        reference = model.generate(prompt, max_new_tokens=8, do_sample=False)
        with capture_constraint_mass(model, positions) as cap:
            generated = model.generate(prompt, max_new_tokens=8, do_sample=False)
    assert torch.equal(reference, generated)
    assert [s.shape[0] for s in cap.steps] == [30] + [1] * 7
    expected = constraint_mass(model, generated[0], positions)[:-1]
    np.testing.assert_allclose(cap.concatenate(), expected, atol=1e-5)


def test_left_padded_batch(models: dict[str, Any]) -> None:
    model = models["gemma3"]
    a, b = tokens(50, seed=4), tokens(40, seed=5)
    pa, pb = [1, 2, 30], [0, 5, 6]
    ids = torch.stack([a, torch.cat([torch.zeros(10, dtype=torch.long), b])])
    attention_mask = torch.ones_like(ids)
    attention_mask[1, :10] = 0
    with torch.inference_mode(), capture_constraint_mass(model, [pa, [p + 10 for p in pb]]) as cap:
        model(input_ids=ids, attention_mask=attention_mask, use_cache=False)
    (step,) = cap.steps
    assert step.shape == (2, 50, model.config.num_hidden_layers)
    np.testing.assert_allclose(step[0], constraint_mass(model, a, pa), atol=TOL)
    np.testing.assert_allclose(step[1, 10:], constraint_mass(model, b, pb), atol=TOL)


# -- the context manager and validation ---------------------------------------------------------
def test_restores_implementation_on_error(models: dict[str, Any]) -> None:
    model = models["qwen3"]
    with pytest.raises(RuntimeError, match="boom"), capture_constraint_mass(model, [0]):
        assert model.config._attn_implementation == ATTENTION_NAME
        raise RuntimeError("boom")
    assert model.config._attn_implementation == "sdpa"
    with torch.inference_mode():  # and the model still works as before
        model(input_ids=tokens(8)[None], use_cache=False)


def test_nested_capture_is_refused(models: dict[str, Any]) -> None:
    model = models["llama"]
    with capture_constraint_mass(model, [0]):
        with pytest.raises(RuntimeError, match="already active"):
            capture_constraint_mass(model, [1]).__enter__()
        assert model.config._attn_implementation == ATTENTION_NAME
    assert model.config._attn_implementation == "sdpa"


def test_validation(models: dict[str, Any]) -> None:
    model = models["llama"]
    ids = tokens(10)
    with pytest.raises(ValueError, match="empty"):
        constraint_mass(model, ids, [])
    with pytest.raises(ValueError, match="out of range"):
        constraint_mass(model, ids, [3, 10])
    with pytest.raises(ValueError, match="negative"):
        constraint_mass(model, ids, [-1])
    with pytest.raises(ValueError, match="query_start"):
        constraint_mass(model, ids, [1], query_start=10)
    with pytest.raises(ValueError, match="chunk_size"):
        constraint_mass(model, ids, [1], chunk_size=0)
    with pytest.raises(ValueError, match="one sequence"):
        constraint_mass(model, torch.zeros(2, 5, dtype=torch.long), [1])
    with pytest.raises(ValueError, match="integer"):
        constraint_mass(model, [0.5, 1.0], [1])
    assert model.config._attn_implementation == "sdpa"


def test_normalize_positions() -> None:
    assert [p.tolist() for p in normalize_positions(np.array([4, 1, 4]))] == [[1, 4]]
    assert [p.tolist() for p in normalize_positions(np.array([True, False, True]))] == [[0, 2]]
    assert [p.tolist() for p in normalize_positions(torch.tensor([[0, 2], [1, 3]]))] == [
        [0, 2],
        [1, 3],
    ]
    with pytest.raises(ValueError, match="integer"):
        normalize_positions([0.5])


# -- kernels ------------------------------------------------------------------------------------
@pytest.mark.parametrize("masked", [False, True])
def test_kernels_against_dense(masked: bool) -> None:
    gen = torch.Generator().manual_seed(0)
    b, h, n_kv, q_len, kv_len, d = 2, 6, 3, 17, 29, 8
    query = torch.randn(b, h, q_len, d, generator=gen)
    key = torch.randn(b, n_kv, kv_len, d, generator=gen)
    value = torch.randn(b, n_kv, kv_len, d, generator=gen)
    rows = torch.arange(q_len)[:, None] + (kv_len - q_len)
    cols = torch.arange(kv_len)[None, :]
    visible = (cols <= rows) & (rows - cols < 10)
    mask = visible[None, None].expand(b, 1, q_len, kv_len) if masked else None
    if not masked:
        visible = cols <= rows
    scores = torch.tanh(query @ key.repeat_interleave(h // n_kv, 1).transpose(-1, -2) * 0.3 / 2) * 2
    scores = scores.masked_fill(~visible, float("-inf"))
    lse = kernels.blockwise_lse(
        query, key, scaling=0.3, mask=mask, is_causal=True, softcap=2.0, block_elements=50
    )
    torch.testing.assert_close(lse, scores.logsumexp(-1))
    out, lse2 = kernels.blockwise_attention(
        query, key, value, scaling=0.3, mask=mask, is_causal=True, softcap=2.0, block_elements=50
    )
    probs = scores.softmax(-1)
    torch.testing.assert_close(out, probs @ value.repeat_interleave(h // n_kv, 1))
    torch.testing.assert_close(lse2, lse)
    index = torch.tensor([[0, 3, 20, 28]])
    valid = torch.tensor([[True, True, True, False]])
    mass = kernels.constraint_mass_from_lse(
        query,
        key,
        lse,
        index,
        valid,
        scaling=0.3,
        mask=mask,
        is_causal=True,
        softcap=2.0,
        row_start=2,
        block_elements=40,
    )
    torch.testing.assert_close(mass, probs[:, :, 2:, [0, 3, 20]].sum(-1))


def test_fused_lse_cpu() -> None:
    gen = torch.Generator().manual_seed(0)
    query, key, value = (torch.randn(1, 4, 33, 16, generator=gen) for _ in range(3))
    key, value = key[:, :2], value[:, :2]
    fused = kernels.fused_attention_with_lse(query, key, value, scaling=0.25, is_causal=True)
    assert fused is not None
    expected = torch.nn.functional.scaled_dot_product_attention(
        query, key, value, is_causal=True, scale=0.25, enable_gqa=True
    )
    assert torch.equal(fused[0], expected)
    torch.testing.assert_close(
        fused[1], kernels.blockwise_lse(query, key, scaling=0.25, is_causal=True)
    )


def test_one_sequence_regathers_keys_for_a_new_prompt(models: dict[str, Any]) -> None:
    """A second prompt in the same block (a full forward) does not reuse the first one's keys."""
    model = models["llama"]
    a, b = tokens(30), torch.flip(tokens(30), dims=[0])
    positions = [2, 5, 9]
    with (
        torch.inference_mode(),
        capture_constraint_mass(model, positions, one_sequence=True) as cap,
    ):
        model(input_ids=a[None], use_cache=False)
        model(input_ids=b[None], use_cache=False)
    np.testing.assert_allclose(cap.steps[0], constraint_mass(model, a, positions), atol=1e-5)
    np.testing.assert_allclose(cap.steps[1], constraint_mass(model, b, positions), atol=1e-5)
