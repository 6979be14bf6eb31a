from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.think import THINK_FORMATS, compose_raw, parse_think


@pytest.mark.parametrize(
    ("raw", "fmt", "thinking", "answer"),
    [
        (
            "<think>\nLet me add.\n</think>\n\nThe answer is 4.",
            "tags",
            "Let me add.",
            "The answer is 4.",
        ),
        ("Okay, so 2+2.\n</think>\n\n4", "close_only", "Okay, so 2+2.", "4"),
        ("To solve this, add. \\boxed{4}", "none", "", "To solve this, add. \\boxed{4}"),
        ("<think>\n\n</think>\n\n# Heading\nbody", "empty", "", "# Heading\nbody"),
        (
            "<think>\nI keep going and the budget runs o",
            "unterminated",
            "I keep going and the budget runs o",
            "",
        ),
        ("  \n<think>a</think>b  \n", "tags", "a", "b"),
        ("</think>answer", "empty", "", "answer"),
        ("", "none", "", ""),
        ("<think>", "unterminated", "", ""),
        # several blocks: thinking runs to the last closing tag, the answer follows it
        (
            "<think>one</think> mid <think>two</think> final",
            "tags",
            "one</think> mid <think>two",
            "final",
        ),
        # an opening tag that appears only after the close is part of close-only thinking's answer
        ("reason</think>ans <think>", "close_only", "reason", "ans <think>"),
    ],
)
def test_formats(raw: str, fmt: str, thinking: str, answer: str) -> None:
    p = parse_think(raw)
    assert (p.think_format, p.thinking, p.answer) == (fmt, thinking, answer)
    assert raw[slice(*p.thinking_span)] == thinking
    assert raw[slice(*p.answer_span)] == answer


def test_multiple_blocks_counted() -> None:
    assert parse_think("<think>a</think>x<think>b</think>y").n_blocks == 2
    assert parse_think("plain").n_blocks == 0


def test_reasoning_field_composes_raw() -> None:
    p = parse_think("  The answer is 4.", reasoning="\n2+2=4\n")
    assert p.think_format == "field"
    assert p.thinking == "2+2=4"
    assert p.answer == "The answer is 4."
    assert p.raw.startswith("<think>\n2+2=4\n</think>")
    # re-parsing the composed text finds the same parts
    again = parse_think(p.raw)
    assert (again.think_format, again.thinking, again.answer) == ("tags", p.thinking, p.answer)


def test_empty_reasoning_field_falls_back_to_text() -> None:
    assert parse_think("<think>x</think>y", reasoning="  ").think_format == "tags"
    assert parse_think("just text", reasoning="").think_format == "none"


def test_custom_tags() -> None:
    p = parse_think("<thinking>plan</thinking>done", open_tag="<thinking>", close_tag="</thinking>")
    assert (p.think_format, p.thinking, p.answer) == ("tags", "plan", "done")


def test_rejects_non_text() -> None:
    with pytest.raises(TypeError):
        parse_think(None)  # type: ignore[arg-type]


pieces = st.sampled_from(
    ["<think>", "</think>", "\n", " ", "\n\n", "Wait,", "x", "</thi", "think>", "é"]
)
texts = st.lists(st.one_of(pieces, st.text(max_size=8)), max_size=30).map("".join)


@settings(max_examples=400, deadline=None)
@given(texts)
def test_spans_always_slice_the_raw_text(raw: str) -> None:
    p = parse_think(raw)
    assert p.think_format in THINK_FORMATS
    ts, te = p.thinking_span
    as_, ae = p.answer_span
    assert 0 <= ts <= te <= len(raw) and 0 <= as_ <= ae <= len(raw)
    assert raw[ts:te] == p.thinking and raw[as_:ae] == p.answer
    assert p.thinking == p.thinking.strip() and p.answer == p.answer.strip()
    if p.answer:
        assert te <= as_
    if p.think_format == "none":
        assert "<think>" not in raw and "</think>" not in raw and p.answer == raw.strip()
    if p.think_format in ("tags", "close_only", "empty"):
        assert "</think>" in raw and "</think>" not in p.answer
    if p.think_format == "unterminated":
        assert "</think>" not in raw and p.answer == ""


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40), st.text(max_size=40))
def test_compose_round_trip(thinking: str, answer: str) -> None:
    p = compose_raw(thinking, answer)
    assert p.thinking == thinking.strip() and p.answer == answer.strip()
    assert p.raw[slice(*p.thinking_span)] == p.thinking
    assert p.raw[slice(*p.answer_span)] == p.answer


@given(
    st.lists(
        st.sampled_from(["<think>", "</think>", " ", "\n", "a", "<", "think", ">", "</"]),
        max_size=30,
    ),
    st.lists(st.integers(min_value=1, max_value=9), min_size=1, max_size=30),
)
def test_think_scanner_does_not_depend_on_how_the_text_is_cut(
    parts: list[str], cuts: list[int]
) -> None:
    from workbench.think import ThinkScanner

    text = "".join(parts)
    whole = ThinkScanner()
    whole.feed(text)
    pieces = ThinkScanner()
    pos, i = 0, 0
    while pos < len(text):
        step = cuts[i % len(cuts)]
        pieces.feed(text[pos : pos + step])
        pos, i = pos + step, i + 1
    assert (pieces.think_start, pieces.think_end, pieces.answer_start) == (
        whole.think_start,
        whole.think_end,
        whole.answer_start,
    )
    if whole.think_end is not None:  # the live end is the first closing tag after the start
        assert text[whole.think_end :].startswith("</think>")
        assert "</think>" not in text[whole.think_start : whole.think_end + len("</think>") - 1]


def test_thinking_open_and_the_format_constants() -> None:
    from workbench.think import CLOSE_TAG, END_THINKING, OPEN_TAG, THINKING_PREFILL, thinking_open

    assert THINKING_PREFILL == OPEN_TAG + "\n" and END_THINKING == "\n" + CLOSE_TAG + "\n\n"
    assert thinking_open("x<think>a") and not thinking_open("<think>a</think>b")
    assert not thinking_open("no tags") and thinking_open("no tags", untagged=True)
    assert not thinking_open("</think> then <think> then </think>")
