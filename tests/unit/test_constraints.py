"""Constraint spans in prompts and their token positions for teacher forcing."""

from __future__ import annotations

import json

import pytest

from tests.conftest import external_data_dir
from workbench import ValidationError
from workbench.constraints import (
    clause_spans,
    constraint_from_phrase,
    constraint_from_span,
    constraints_from_ifeval,
    find_constraints,
    locate_constraint,
    resolve_constraints,
)
from workbench.trajectory import Constraint, Trajectory

PROMPT = (
    "Write a 300+ word summary of the page. Do not use any commas and highlight at least 3 "
    "sections with markdown, for example *highlighted section*. Use all lowercase letters and "
    'include the keywords "owl" and "night".'
)


def located(kind: str, kwargs: dict | None = None, prompt: str = PROMPT) -> str:
    span = locate_constraint(prompt, kind, kwargs)
    assert span is not None, kind
    return prompt[span[0] : span[1]]


def test_clauses_split_at_semicolons_and_coordinated_requirements() -> None:
    text = "Answer briefly; use no commas and end with a question. Then stop."
    clauses = [text[s:e] for s, e in clause_spans(text)]
    assert clauses == ["Answer briefly", "use no commas", "end with a question.", "stop."]


@pytest.mark.parametrize(
    ("kind", "kwargs", "expected"),
    [
        ("punctuation:no_comma", {}, "Do not use any commas"),
        ("length_constraints:number_words", {"num_words": 300}, "Write a 300+ word summary"),
        (
            "detectable_format:number_highlighted_sections",
            {"num_highlights": 3},
            "highlight at least 3 sections",
        ),
        ("change_case:english_lowercase", {}, "Use all lowercase letters"),
        ("keywords:existence", {"keywords": ["owl", "night"]}, 'include the keywords "owl"'),
    ],
)
def test_ifeval_instruction_is_located_in_its_clause(kind, kwargs, expected) -> None:
    assert located(kind, kwargs).startswith(expected)


def test_a_keyword_list_cut_by_and_keeps_both_keywords() -> None:
    text = located("keywords:existence", {"keywords": ["owl", "night"]})
    assert '"owl"' in text and '"night"' in text
    assert "lowercase" not in text, "the neighbouring requirement is a different constraint"


def test_kwargs_choose_between_clauses_with_the_same_cue() -> None:
    prompt = "Write at least 2 sentences about cats. Then write at most 5 sentences about dogs."
    two = located("length_constraints:number_sentences", {"num_sentences": 2}, prompt)
    five = located("length_constraints:number_sentences", {"num_sentences": 5}, prompt)
    assert "cats" in two and "dogs" in five


def test_number_words_match_numbers() -> None:
    prompt = "Tell a story. It must have exactly three paragraphs."
    assert "three paragraphs" in located(
        "length_constraints:number_paragraphs", {"num_paragraphs": 3}, prompt
    )


def test_unlocatable_instruction_keeps_kind_without_spans() -> None:
    (c,) = constraints_from_ifeval("Tell me about owls.", ["punctuation:no_comma"], [{}])
    assert c.kind == "punctuation:no_comma" and c.spans == []


def test_unknown_kind_and_mismatched_kwargs_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="no cue rules"):
        locate_constraint(PROMPT, "made:up")
    with pytest.raises(ValidationError, match="2 instruction ids but 1 kwargs"):
        constraints_from_ifeval(PROMPT, ["punctuation:no_comma", "x:y"], [{}])


def test_phrase_and_span_constraints() -> None:
    c = constraint_from_phrase(PROMPT, "ALL   lowercase letters")
    (span,) = c.spans
    assert PROMPT[span[0] : span[1]] == "all lowercase letters"
    with pytest.raises(ValidationError, match="does not occur in the prompt"):
        constraint_from_phrase(PROMPT, "in French")
    with pytest.raises(ValidationError, match="not a non-empty span"):
        constraint_from_span(PROMPT, 10, 10)
    assert constraint_from_span(PROMPT, 0, 5).text == "Write"


def test_generic_finder_needs_requirement_and_format_wording() -> None:
    found = find_constraints(
        "Tell me about owls. Owls have many words for night. Answer in fewer than 50 words."
    )
    assert [c.text for c in found] == ["Answer in fewer than 50 words."]
    assert found[0].kind == "length_constraints:number_words"


def test_resolve_precedence() -> None:
    prompt = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Describe owls. Do not use any commas."},
    ]
    meta = {"instruction_id_list": ["punctuation:no_comma"], "kwargs": [{}]}
    t = Trajectory(prompt=prompt, raw="ok", metadata=meta)
    (c,) = resolve_constraints(t)
    assert c.kind == "punctuation:no_comma" and c.message == -1 and c.spans
    (p,) = resolve_constraints(t, phrases=["Describe owls"])
    assert p.spans == [(0, 13)]
    recorded = Trajectory(prompt=prompt, raw="ok", constraints=[Constraint(text="any commas")])
    (r,) = resolve_constraints(recorded)
    start = prompt[1]["content"].index("any commas")
    assert r.spans == [(start, start + 10)]
    bare = Trajectory(prompt=prompt, raw="ok")
    assert [c.text for c in resolve_constraints(bare)] == ["Do not use any commas."]


@pytest.mark.external
def test_ifeval_prompts_are_located() -> None:
    data = external_data_dir()
    path = data / "ifeval_google" / "input_data.jsonl" if data else None
    if path is None or not path.exists():
        pytest.skip("the shared IFEval data is not available (set WORKBENCH_EXTERNAL_DATA)")
    total = found = 0
    for line in path.read_text().splitlines():
        row = json.loads(line)
        for c in constraints_from_ifeval(row["prompt"], row["instruction_id_list"], row["kwargs"]):
            total += 1
            found += bool(c.spans)
            for s, e in c.spans:
                assert row["prompt"][s:e] == c.text
    assert total == 834
    assert found / total >= 0.99, f"{found}/{total} instructions located"


# ---------------------------------------------------------------- token positions


torch = pytest.importorskip("torch", reason="the transformers extra is not installed")


def test_constraint_tokens_decode_to_the_phrase() -> None:
    from tests.fixtures.tiny_models import tiny_tokenizer
    from workbench.constraints.tokens import teacher_forcing

    tok = tiny_tokenizer()
    prompt = [{"role": "user", "content": "Describe owls. Do not use any commas."}]
    t = Trajectory(prompt=prompt, raw="<think>\nok\n</think>\n\nowls hoot")
    (c,) = resolve_constraints(t, phrases=["any commas"])
    tf = teacher_forcing(t, tok, [c])
    assert tok.decode(tf.ids[tf.positions[0]]) == "any commas"
    assert tok.decode(tf.ids[tf.prompt_len :]) == t.raw
    assert not tf.replayed
    for (s, e), token in zip(tf.offsets, tf.ids[tf.prompt_len :], strict=True):
        assert t.raw[s:e] == tok.decode([int(token)])


def test_recorded_tokens_are_replayed() -> None:
    import numpy as np

    from tests.fixtures.tiny_models import tiny_tokenizer
    from workbench.backends import GenerationRequest
    from workbench.backends.hf import render_prompt
    from workbench.constraints.tokens import teacher_forcing
    from workbench.trajectory import TokenArrays

    tok = tiny_tokenizer()
    prefill = "<think>\n"
    raw = prefill + "owls hoot\n</think>\n\nthey hoot"
    enc = tok(raw[len(prefill) :], add_special_tokens=False, return_offsets_mapping=True)
    # as recorded by a backend: the prefill was part of the prompt, the tokens start after it
    tokens = TokenArrays(
        ids=np.asarray(enc["input_ids"]),
        offsets=np.asarray(enc["offset_mapping"]) + len(prefill),
    )
    prompt = [{"role": "user", "content": "Describe owls. Do not use any commas."}]
    t = Trajectory(prompt=prompt, raw=raw, tokens=tokens)
    tf = teacher_forcing(t, tok, resolve_constraints(t, phrases=["any commas"]))
    assert tf.replayed
    assert tf.ids[tf.prompt_len :].tolist() == t.tokens.ids.tolist()
    assert tf.offsets.tolist() == t.tokens.offsets.tolist()
    request = GenerationRequest(messages=prompt, thinking_prefill=prefill)
    expected = tok(render_prompt(tok, request), add_special_tokens=False)["input_ids"]
    assert tf.ids[: tf.prompt_len].tolist() == expected, "the prefill is part of the prompt"
    assert tok.decode(tf.ids[tf.positions[0]]) == "any commas"


def test_undecodable_recording_is_retokenised() -> None:
    import numpy as np

    from tests.fixtures.tiny_models import tiny_tokenizer
    from workbench.constraints.tokens import teacher_forcing
    from workbench.trajectory import TokenArrays

    tok = tiny_tokenizer()
    raw = "owls hoot"
    wrong = TokenArrays(ids=np.asarray([5, 6, 7]), offsets=np.asarray([[0, 3], [3, 6], [6, 9]]))
    t = Trajectory(prompt=[{"role": "user", "content": "Owls?"}], raw=raw, tokens=wrong)
    tf = teacher_forcing(t, tok, [])
    assert not tf.replayed
    assert tok.decode(tf.ids[tf.prompt_len :]) == raw


def test_message_missing_from_the_template_is_a_clear_error() -> None:
    from tests.fixtures.tiny_models import tiny_tokenizer
    from workbench.constraints.tokens import teacher_forcing

    t = Trajectory(prompt=[{"role": "user", "content": "Owls."}], raw="x")
    bad = Constraint(text="Owls", spans=[(0, 4)], message=5)
    with pytest.raises(ValidationError, match="messages, not 5"):
        teacher_forcing(t, tiny_tokenizer(), [bad])
