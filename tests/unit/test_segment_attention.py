"""Segment-to-segment attention: exactness against eager attention, receiver heads, store, CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the transformers extra is not installed")

from tests.fixtures.tiny_models import tiny_model  # noqa: E402
from workbench import ValidationError  # noqa: E402
from workbench.attention import (  # noqa: E402
    RECEIVER_PRESETS,
    ReceiverParams,
    SegmentAttention,
    head_kurtosis,
    segment_attention,
    segment_mass,
    segment_token_spans,
    vertical_scores,
)
from workbench.attention._segment_kernel import naive_segment_mass  # noqa: E402
from workbench.errors import NotFoundError  # noqa: E402
from workbench.segment import Segment  # noqa: E402
from workbench.store.store import Store  # noqa: E402
from workbench.trajectory import Trajectory  # noqa: E402

TOL = 1e-5
RAW = "<think>\nFirst, owls hunt. Then they rest. So they sleep.\n</think>\n\nOwls sleep by day."


def eager(model, ids) -> tuple:
    """Every layer's full attention matrix from eager attention (the reference)."""
    model.config._attn_implementation = "eager"
    try:
        with torch.inference_mode():
            out = model(input_ids=torch.as_tensor(ids)[None], output_attentions=True)
    finally:
        model.config._attn_implementation = "sdpa"
    return out.attentions


@pytest.fixture(scope="module")
def llama():
    return tiny_model("llama", layers=3)


@pytest.mark.parametrize("arch", ["llama", "qwen3"])
@pytest.mark.parametrize(("block", "chunk"), [(None, None), (37, None), (1000, 13)])
def test_equals_eager_attention_summed_over_segment_blocks(arch, block, chunk) -> None:
    model, _ = tiny_model(arch, layers=3)  # 4 query heads on 2 key/value heads (GQA)
    ids = torch.randint(0, 200, (97,), generator=torch.Generator().manual_seed(1))
    spans = np.array([[5, 20], [20, 21], [25, 60], [60, 97]])  # a 1-token segment, a gap
    expected = naive_segment_mass(eager(model, ids), spans)
    got = segment_mass(model, ids, spans, block_elements=block, chunk_size=chunk)
    assert got.shape == (3, 4, 4, 4) and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, atol=TOL, rtol=0)
    assert np.all(np.triu(got, k=1) == 0), "causal: no mass on later segments"
    # the rows cover every key of the segments up to the query: at most 1
    assert np.all(got.sum(-1) <= 1 + 1e-6)


def test_single_segment_and_whole_sequence(llama) -> None:
    model, _ = llama
    ids = torch.randint(0, 200, (50,), generator=torch.Generator().manual_seed(2))
    got = segment_mass(model, ids, [[0, 50]])
    assert got.shape == (3, 4, 1, 1)
    np.testing.assert_allclose(got, 1.0, atol=TOL)  # all the attention stays in the sequence
    one = segment_mass(model, ids, [[10, 30]])
    np.testing.assert_allclose(one, naive_segment_mass(eager(model, ids), np.array([[10, 30]])),
                               atol=TOL)  # fmt: skip


def test_bad_spans_say_what_to_do(llama) -> None:
    model, _ = llama
    ids = list(range(40))
    with pytest.raises(ValueError, match="empty token span.*drop segments without tokens"):
        segment_mass(model, ids, [[0, 5], [5, 5]])
    with pytest.raises(ValueError, match="overlaps"):
        segment_mass(model, ids, [[0, 5], [4, 9]])
    with pytest.raises(ValueError, match=r"in \[0, 40\]"):
        segment_mass(model, ids, [[0, 41]])


def test_segments_without_tokens_are_skipped_and_recorded() -> None:
    offsets = np.array([[0, 3], [3, 6], [6, 9]])
    segs = [Segment(trajectory_id="t", char_span=span) for span in ((0, 4), (4, 5), (5, 9))]
    kept, spans = segment_token_spans(segs, offsets, shift=10)
    assert kept == [0, 2] and spans.tolist() == [[10, 12], [12, 13]]


def trajectory_and_segments() -> tuple[Trajectory, list[Segment]]:
    t = Trajectory(prompt=[{"role": "user", "content": "Why do owls sleep by day?"}], raw=RAW)
    starts = [RAW.index(x) for x in ("First", "Then", "So", "Owls")]
    ends = [RAW.index(x) + len(x) for x in ("hunt.", "rest.", "sleep.", "day.")]
    segs = [
        Segment(trajectory_id=t.id, char_span=(s, e), index=i, labels=[f"l{i}"])
        for i, (s, e) in enumerate(zip(starts, ends, strict=True))
    ]
    return t, segs


def test_trajectory_result_matches_eager_and_reads_receivers(llama) -> None:
    model, tok = llama
    t, segs = trajectory_and_segments()
    result = segment_attention(t, segs, model, tok, model_name="tiny")
    from workbench.constraints.tokens import teacher_forcing

    tf = teacher_forcing(t, tok, [])
    expected = naive_segment_mass(eager(model, tf.ids), result.token_spans.astype(np.int64))
    np.testing.assert_allclose(result.mass, expected, atol=TOL, rtol=0)
    assert result.segment_ids == [s.id for s in segs] and result.labels == ["l0", "l1", "l2", "l3"]
    assert result.token_counts.tolist() == [len("First, owls hunt."), len("Then they rest."),
                                            len("So they sleep."), len("Owls sleep by day.")]  # fmt: skip
    assert result.meta["skipped"] == [] and result.meta["prompt_tokens"] == tf.prompt_len
    heads = result.receiver_heads(proximity_ignore=1)
    assert heads.height == 12 and heads["rank"].to_list()[:1] == [1]
    received = result.received(proximity_ignore=1)
    assert received.height == 4 and received["received"][3] is None  # nothing after the last
    summary = result.to_dict()
    assert len(summary["matrix"]) == 4 and summary["segments"][0]["label"] == "l0"
    with pytest.raises(ValidationError, match="no segments"):
        segment_attention(t, [], model, tok)


def test_vertical_scores_follow_the_proximity_band() -> None:
    m = np.tril(np.arange(1.0, 37.0).reshape(6, 6))
    v = vertical_scores(m, params=ReceiverParams(proximity_ignore=2, per_key_token=False))
    # column b: mean of rows a >= b + 2
    assert v[0] == pytest.approx(m[2:, 0].mean()) and v[3] == pytest.approx(m[5, 3])
    assert np.isnan(v[4]) and np.isnan(v[5])
    per_token = vertical_scores(m, params=ReceiverParams(proximity_ignore=2),
                                key_tokens=np.array([2, 1, 1, 1, 1, 1]))  # fmt: skip
    assert per_token[0] == pytest.approx(m[2:, 0].mean() / 2)
    ranked = vertical_scores(m, params=ReceiverParams(proximity_ignore=1, per_key_token=False,
                                                      control_depth=True))  # fmt: skip
    assert ranked[0] == pytest.approx(np.mean([1 / 1, 1 / 2, 1 / 3, 1 / 4, 1 / 5]))


def test_kurtosis_is_fishers_and_ignores_nan() -> None:
    x = np.array([1.0, 2.0, 3.0, 10.0, np.nan])
    d = x[:4] - x[:4].mean()
    expected = (d**4).mean() / (d**2).mean() ** 2 - 3
    assert head_kurtosis(x) == pytest.approx(expected)
    assert np.isnan(head_kurtosis(np.array([1.0, 1.0, 1.0])))


def constructed(n_seg: int = 10) -> SegmentAttention:
    """Every head spreads attention evenly, except layer 1 head 2, which piles it on segment 3."""
    rng = np.random.default_rng(0)
    mass = np.tril(rng.uniform(0.05, 0.1, (2, 3, n_seg, n_seg))).astype(np.float32)
    mass[1, 2] = np.tril(np.full((n_seg, n_seg), 0.01))
    mass[1, 2, 4:, 3] = 0.9
    spans = np.stack([np.arange(n_seg) * 5, np.arange(n_seg) * 5 + 5], 1)
    return SegmentAttention(
        trajectory_id="t", model="m", mass=mass, segment_ids=[f"s{i}" for i in range(n_seg)],
        char_spans=spans, token_spans=spans, labels=[None] * n_seg,
    )  # fmt: skip


def test_receiver_heads_find_the_concentrating_head() -> None:
    rec = constructed()
    heads = rec.receiver_heads()  # the thought_anchors preset: proximity 4, top 20
    top = heads.row(0, named=True)
    assert (top["layer"], top["head"], top["rank"], top["layer_rank"]) == (1, 2, 1, 1)
    assert set(heads.columns) >= {"layer", "head", "kurtosis", "rank", "receiver"}
    received = rec.received(top_k=1)
    assert int(np.nanargmax(received["received"].fill_null(np.nan).to_numpy())) == 3
    assert RECEIVER_PRESETS["thought_anchors"].proximity_ignore == 4
    assert rec.receiver_heads("mass", top_k=2)["receiver"].sum() == 2
    with pytest.raises(ValueError, match="unknown receiver preset"):
        rec.receiver_heads("nope")


def test_record_shapes_are_validated() -> None:
    with pytest.raises(ValidationError, match="3 entries for 2 segments"):
        SegmentAttention(trajectory_id="t", model="m", mass=np.zeros((1, 1, 2, 2)),
                         segment_ids=["a", "b", "c"], char_spans=np.zeros((2, 2)),
                         token_spans=[[0, 1], [1, 2]])  # fmt: skip
    with pytest.raises(ValidationError, match="at least one token"):
        SegmentAttention(trajectory_id="t", model="m", mass=np.zeros((1, 1, 1, 1)),
                         segment_ids=["a"], char_spans=[[0, 1]], token_spans=[[3, 3]])  # fmt: skip


def test_store_round_trip(tmp_path) -> None:
    with Store(tmp_path / "s.db") as store:
        tid = store.add(Trajectory(prompt=[{"role": "user", "content": "q"}], raw="x" * 60))
        rec = constructed()
        rec.trajectory_id = tid
        store.add_segment_attention(rec)
        got = store.get_segment_attention(tid[:8])
        np.testing.assert_array_equal(got.mass, np.tril(rec.mass))
        assert got.segment_ids == rec.segment_ids and got.labels == rec.labels
        assert got.token_spans.tolist() == rec.token_spans.tolist() and got.id == rec.id
        store.add_segment_attention(SegmentAttention(**{**vars(constructed()), "trajectory_id": tid,
                                                        "id": "second"}))  # same trajectory and model  # fmt: skip
        listed = store.list_segment_attention(tid)
        assert listed.height == 1 and listed["id"][0] == "second", "replaced per trajectory+model"
        assert store.list_attention(tid).height == 0, "constraint attention is another table"
        with pytest.raises(NotFoundError, match="workbench attention --id .* --segments"):
            store.get_segment_attention(tid, model="other")


def test_cli_on_a_tiny_model(tmp_path, capsys, llama) -> None:
    from workbench.cli import main

    model, tok = llama
    folder = tmp_path / "tiny"
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    path = tmp_path / "s.db"
    t, segs = trajectory_and_segments()
    with Store(path) as store:
        tid = store.add(t)
        store.add_segments(tid, segs)
        bare = store.add(Trajectory(prompt=[{"role": "user", "content": "q"}], raw="no segs"))
    argv = ["attention", "--store", str(path), "--id", tid[:8], "--segments", "--model",
            str(folder), "--json"]  # fmt: skip
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["kind"] == "segments" and out["layers"] == 3 and out["heads"] == 4
    assert [s["label"] for s in out["segments"]] == ["l0", "l1", "l2", "l3"]
    assert np.asarray(out["matrix"]).shape == (4, 4)
    assert out["receiver_heads"] == [], "4 segments: none is 4 below another (proximity_ignore)"
    with Store(path) as store:
        assert store.get_segment_attention(tid).id == out["saved"]
    assert main([*argv, "--no-save", "--proximity-ignore", "1", "--top-k", "3"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [h["rank"] for h in out["receiver_heads"]] == [1, 2, 3] and out["saved"] is None
    assert out["receiver_params"]["proximity_ignore"] == 1
    assert sum(s["received"] is not None for s in out["segments"]) == 3
    assert main(["attention", "--store", str(path), "--id", bare, "--segments", "--model",
                 str(folder)]) == 2  # fmt: skip
    assert "no stored segments" in capsys.readouterr().err


def reference_attention(q, k, v, scaling, mask=None, softcap=None):
    """Eager attention with GQA (repeated keys): output and probabilities ``[H, Q, K]``."""
    rep = q.shape[1] // k.shape[1]
    s = torch.matmul(q, k.repeat_interleave(rep, 1).transpose(-1, -2)) * scaling
    if softcap is not None:
        s = torch.tanh(s / softcap) * softcap
    if mask is not None:
        s = s.masked_fill(~mask, float("-inf")) if mask.dtype == torch.bool else s + mask
    probs = torch.softmax(s, -1)
    return torch.matmul(probs, v.repeat_interleave(rep, 1)), probs[0]


@pytest.mark.parametrize("softcap", [None, 5.0])
@pytest.mark.parametrize("block", [None, 50, 333])
@pytest.mark.parametrize("additive", [False, True])
def test_fused_kernel_with_a_sliding_window_mask_softcap_and_odd_blocks(softcap, block, additive):
    from workbench.attention._segment_fused import fused_segment_attention

    g = torch.Generator().manual_seed(4)
    q, k, v = (torch.randn(1, n, 41, 8, generator=g) for n in (6, 2, 2))  # GQA: 3 per kv head
    i = torch.arange(41)
    mask = ((i[:, None] >= i[None, :]) & (i[:, None] - i[None, :] < 9))[None, None]
    if additive:
        mask = torch.zeros(mask.shape).masked_fill(~mask, torch.finfo(torch.float32).min)
    spans = np.array([[0, 7], [7, 20], [22, 41]])
    out, got = fused_segment_attention(q, k, v, spans, scaling=0.3, mask=mask, softcap=softcap,
                                       block_elements=block)  # fmt: skip
    ref_out, probs = reference_attention(q, k, v, 0.3, mask, softcap)
    expected = naive_segment_mass([probs[None]], spans)[0] * (spans[:, 1] - spans[:, 0])[:, None]
    np.testing.assert_allclose(got.numpy(), expected, atol=TOL)
    torch.testing.assert_close(out, ref_out, atol=1e-5, rtol=0)


@pytest.mark.parametrize("block", [None, 7])
def test_fused_kernel_on_a_chunk_after_a_cache(block) -> None:
    """Queries 30..44 against keys 0..44 (causal, lower-right aligned): the mass of those rows."""
    from workbench.attention._segment_fused import fused_segment_attention

    g = torch.Generator().manual_seed(5)
    q, k, v = (torch.randn(1, n, 45, 8, generator=g) for n in (4, 2, 2))
    spans = np.array([[3, 12], [12, 31], [33, 45]])
    out, got = fused_segment_attention(q[:, :, 30:], k, v, spans, scaling=0.4, is_causal=True,
                                       query_position=30, block_elements=block)  # fmt: skip
    i = torch.arange(45)
    causal = (i[:, None] >= i[None, :])[None, None]
    ref_out, probs = reference_attention(q, k, v, 0.4, causal)
    rows = np.clip(spans, 30, 45) - 30
    for a, (r0, r1) in enumerate(rows.tolist()):
        for b, (c0, c1) in enumerate(spans.tolist()):
            want = probs[:, 30 + r0 : 30 + r1, c0:c1].sum((-1, -2)).double().numpy()
            np.testing.assert_allclose(got[:, a, b].numpy(), want, atol=TOL)
    torch.testing.assert_close(out, ref_out[:, :, 30:], atol=1e-5, rtol=0)


def test_gemma2_sliding_window_and_softcap_equal_eager() -> None:
    import transformers

    from tests.fixtures.tiny_models import tiny_tokenizer

    config = transformers.Gemma2Config(
        vocab_size=len(tiny_tokenizer()), hidden_size=64, intermediate_size=128,
        num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, head_dim=16,
        sliding_window=8, attn_logit_softcapping=20.0, final_logit_softcapping=None,
        max_position_embeddings=256,
    )  # fmt: skip
    torch.manual_seed(0)
    model = transformers.AutoModelForCausalLM.from_config(config, dtype=torch.float32).eval()
    ids = torch.randint(0, 200, (40,), generator=torch.Generator().manual_seed(6))
    spans = np.array([[2, 11], [11, 25], [25, 40]])
    expected = naive_segment_mass(eager(model, ids), spans)
    for chunk in (None, 9):
        got = segment_mass(model, ids, spans, chunk_size=chunk, block_elements=37)
        np.testing.assert_allclose(got, expected, atol=TOL, rtol=0)
