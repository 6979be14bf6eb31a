"""Constraint attention end to end: teacher-forced, live during generation, stored, CLI."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the transformers extra is not installed")

from tests.fixtures.tiny_models import tiny_model  # noqa: E402
from workbench import ValidationError  # noqa: E402
from workbench.attention import constraint_attention, load_attention, save_attention  # noqa: E402
from workbench.backends import GenerationRequest  # noqa: E402
from workbench.backends.hf import TransformersBackend, constraint_positions  # noqa: E402
from workbench.constraints import constraint_from_phrase, resolve_constraints  # noqa: E402
from workbench.constraints.tokens import teacher_forcing  # noqa: E402
from workbench.session import Session  # noqa: E402
from workbench.store.store import Store  # noqa: E402
from workbench.trajectory import Trajectory  # noqa: E402

TOL = 1e-4
PROMPT = "Describe owls. Do not use any commas. Answer in all lowercase letters."


@pytest.fixture(scope="module")
def tiny():
    model, tok = tiny_model("qwen3", layers=3)
    return model, tok


def naive(model, ids: np.ndarray, groups: list[np.ndarray], start: int) -> np.ndarray:
    """Eager attention with full weights: rows start-1 .. T-2 (the step producing each token)."""
    model.config._attn_implementation = "eager"
    try:
        with torch.inference_mode():
            out = model(input_ids=torch.as_tensor(ids)[None], output_attentions=True)
    finally:
        model.config._attn_implementation = "sdpa"
    rows = slice(start - 1, len(ids) - 1)
    per_layer = [a[0, :, rows, :].float().numpy() for a in out.attentions]  # [H, G, T]
    return np.stack(
        [np.stack([a[:, :, g].sum(-1).mean(0) for g in groups], -1) for a in per_layer], 1
    )


def trajectory() -> Trajectory:
    return Trajectory(
        prompt=[{"role": "user", "content": PROMPT}],
        raw="<think>\nowls hunt at night\n</think>\n\nowls hoot softly",
        metadata={
            "instruction_id_list": ["punctuation:no_comma", "change_case:english_lowercase"],
            "kwargs": [{}, {}],
        },
    )


def test_teacher_forced_equals_eager_attention(tiny) -> None:
    model, tok = tiny
    t = trajectory()
    result = constraint_attention(t, model, tok, model_name="tiny")
    constraints = resolve_constraints(t)
    tf = teacher_forcing(t, tok, constraints)
    expected = naive(model, tf.ids, tf.positions, tf.prompt_len)
    assert result.mass.shape == (tf.generated, 3, 2)
    np.testing.assert_allclose(result.mass, expected, atol=TOL)
    assert result.constraints == [c.text for c in constraints]
    assert result.meta["kinds"] == ["punctuation:no_comma", "change_case:english_lowercase"]
    assert "".join(result.token_text) == t.raw
    assert set(result.parts) == {"thinking", "answer", "other"}
    assert ((result.mass >= 0) & (result.mass <= 1 + 1e-6)).all()


def test_phrases_override_and_unlocatable_constraints_are_clear(tiny) -> None:
    model, tok = tiny
    t = trajectory()
    result = constraint_attention(t, model, tok, phrases=["Describe owls"])
    assert result.constraints == ["Describe owls"] and result.mass.shape[2] == 1
    bare = Trajectory(prompt=[{"role": "user", "content": "Tell me about owls."}], raw="ok")
    with pytest.raises(ValidationError, match="could be located"):
        constraint_attention(bare, model, tok)


def test_live_generation_records_the_same_mass_as_teacher_forcing(tiny, tmp_path) -> None:
    model, tok = tiny
    backend = TransformersBackend.from_objects(model, tok, name="tiny")
    c1 = constraint_from_phrase(PROMPT, "any commas")
    c2 = constraint_from_phrase(PROMPT, "all lowercase letters")
    with Session(backend, store=tmp_path / "s.db") as session:
        run = session.generate(
            PROMPT, n=2, max_new_tokens=12, temperature=1.0, seed=3, constraints=[c1, c2]
        )
        trajectories = run.wait()
        store = session.store
        assert store is not None
        for t in trajectories:
            record = store.get_attention(t.id)
            assert record.meta["mode"] == "live"
            assert record.mass.shape == (len(t.tokens), 3, 2)
            assert record.constraints == ["any commas", "all lowercase letters"]
            request = GenerationRequest(messages=t.prompt, constraints=[c1, c2])
            prompt_text = backend.tokenizer.apply_chat_template(
                t.prompt, tokenize=False, add_generation_prompt=True
            )
            _, groups = constraint_positions(tok, request, prompt_text)
            prompt_ids = tok(prompt_text, add_special_tokens=False)["input_ids"]
            ids = np.asarray([*prompt_ids, *t.tokens.ids.tolist()])
            expected = naive(model, ids, groups, len(prompt_ids))
            np.testing.assert_allclose(record.mass, expected, atol=TOL)


def test_store_round_trip(tiny, tmp_path) -> None:
    model, tok = tiny
    with Store(tmp_path / "s.db") as store:
        t = trajectory()
        store.add(t)
        result = constraint_attention(t, model, tok, model_name="tiny")
        save_attention(store, result)
        back = load_attention(store, t.id)
        np.testing.assert_array_equal(back.mass, result.mass)
        assert back.parts.tolist() == result.parts.tolist()
        assert back.layers().equals(result.layers())
