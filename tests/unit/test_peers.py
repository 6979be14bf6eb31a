"""Peer annotations as labelled spans: parsing, normalised alignment, overlap labels."""

from __future__ import annotations

import json

import pytest

from workbench import Segment, Trajectory
from workbench.analysis._segment import segment
from workbench.analysis.peers import (
    align_sections,
    normalise,
    parse_steering_annotations,
    peer_labels_for_segments,
)


def _seg(start: int, end: int) -> Segment:
    return Segment(trajectory_id="t", char_span=(start, end))


# -- parsing -------------------------------------------------------------------------------------


def test_parse_steering_annotations() -> None:
    text = (
        '["initializing"] Okay, so the problem is x. ["end-section"]\n\n'
        '["deduction"]So x = 2.["end-section"] ["1. backtracking"] Wait, no. ["end-section"]'
        ' trailing text outside ["uncertainty-estimation"] Maybe 3'
    )
    assert parse_steering_annotations(text) == [
        ("initializing", "Okay, so the problem is x."),
        ("deduction", "So x = 2."),
        ("backtracking", "Wait, no."),
        ("uncertainty-estimation", "Maybe 3"),
    ]


def test_parse_steering_unquoted_markers() -> None:
    text = (
        "[initializing]Okay, fill in the [blank] here.[end-section]\n\n"
        '[1. deduction]So the vector is [1, 0, 0].["end-section"] [Noun1] ignored'
    )
    assert parse_steering_annotations(text) == [
        ("initializing", "Okay, fill in the [blank] here."),
        ("deduction", "So the vector is [1, 0, 0]."),
    ]
    # with labels=None any bracketed word is a marker
    assert parse_steering_annotations("[foo] a [end-section]", labels=None) == [("foo", "a")]
    assert parse_steering_annotations("[foo] a [end-section]") == []


def test_parse_steering_missing_end_and_empty_sections() -> None:
    text = '["deduction"] A. ["backtracking"] B. ["end-section"]["example-testing"] ["end-section"]'
    assert parse_steering_annotations(text) == [("deduction", "A."), ("backtracking", "B.")]
    assert parse_steering_annotations("no markers at all") == []


# -- normalisation and alignment -----------------------------------------------------------------


def test_normalise_keeps_index_map() -> None:
    norm, index = normalise("A-b  C'd")
    assert norm == "abcd" and index == [0, 2, 5, 7]
    assert normalise("") == ("", [])


def test_align_whole_sections_in_order() -> None:
    raw = "<think>Okay, so it's 2.\n\nWait — “no”: it is 3. So 3.</think>The answer is 3."
    sections = [("a", "okay so its 2"), ("b", "Wait no: it is 3."), ("c", "So 3")]
    spans = align_sections(raw, sections, start=7)
    assert [label for *_, label in spans] == ["a", "b", "c"]
    assert [raw[s:e] for s, e, _ in spans] == ["Okay, so it's 2", "Wait — “no”: it is 3", "So 3"]
    assert all(spans[i][1] <= spans[i + 1][0] for i in range(len(spans) - 1))


def test_align_is_order_preserving_with_repeated_text() -> None:
    raw = "So x. Then y. So x. Then z."
    spans = align_sections(raw, [("first", "Then y"), ("second", "So x")])
    # the second section must match the *later* "So x", after the first match
    assert spans == [(6, 12, "first"), (14, 18, "second")]


def test_align_skips_unmatched_and_goes_on() -> None:
    raw = "alpha beta gamma delta"
    spans = align_sections(raw, [("a", "alpha"), ("x", "omega"), ("g", "gamma"), ("e", "   ")])
    assert spans == [(0, 5, "a"), (11, 16, "g")]
    # a section that lies before the cursor does not match (order is kept)
    assert align_sections(raw, [("d", "delta"), ("b", "beta")]) == [(17, 22, "d")]


def test_align_start_offset() -> None:
    raw = "<think>note</think>note"
    assert align_sections(raw, [("n", "note")]) == [(7, 11, "n")]
    assert align_sections(raw, [("n", "note")], start=11) == [(19, 23, "n")]


def test_align_edited_copy_uses_start_and_end_probes() -> None:
    body = "The first case has three events and the second case repeats them twice over. " * 2
    raw = "Intro. " + body + "End of trace."
    # the peer copy dropped a word in the middle: not found whole, found by its start and end
    edited = body.replace("second case", "case", 1)
    ((start, end, label),) = align_sections(raw, [("p", edited)], prefix_chars=20)
    assert label == "p" and start == 7 and end == len("Intro. " + body) - 2
    # the start was paraphrased: found by its end alone
    tail_only = "PARAPHRASED OPENING " + body[40:]
    ((start, end, _),) = align_sections(raw, [("p", tail_only)], prefix_chars=20)
    assert end == len("Intro. " + body) - 2 and 7 <= start < end


# -- overlap labels ------------------------------------------------------------------------------


def test_peer_labels_largest_overlap() -> None:
    spans = [(0, 10, "a"), (10, 30, "b"), (40, 50, "c")]
    segments = [_seg(0, 8), _seg(5, 25), _seg(28, 45), _seg(31, 39), _seg(60, 70)]
    assert peer_labels_for_segments(segments, spans) == ["a", "b", "c", None, None]


def test_peer_labels_ties_and_unsorted_spans() -> None:
    spans = [(10, 20, "late"), (0, 10, "early")]
    assert peer_labels_for_segments([_seg(5, 15)], spans) == ["early"]
    assert peer_labels_for_segments([], spans) == []
    assert peer_labels_for_segments([_seg(0, 5)], []) == [None]


def test_end_to_end_on_a_trajectory() -> None:
    annotated = (
        '["initializing"]Okay, so I need to add 2 and 3.["end-section"] '
        '["deduction"]So 2 + 3 = 5, since 2 + 3 makes five.["end-section"] '
        '["backtracking"]Wait, let me re-check: 2 + 3 is 5.["end-section"]'
    )
    thinking = (
        "Okay, so I need to add 2 and 3. So 2 + 3 = 5, since 2 + 3 makes five.\n\n"
        "Wait, let me re-check: 2 + 3 is 5."
    )
    t = Trajectory(prompt="2+3?", raw=f"<think>{thinking}</think>5", model="m")
    spans = align_sections(t.raw, parse_steering_annotations(annotated), start=t.thinking_span[0])
    assert len(spans) == 3
    labels = peer_labels_for_segments(segment(t), spans)
    assert labels == ["initializing", "deduction", "backtracking"]


# -- real data -----------------------------------------------------------------------------------


@pytest.mark.external
def test_steering_alignment_on_real_traces() -> None:
    from tests.conftest import external_data_dir

    root = external_data_dir()
    if root is None:
        pytest.skip(
            "third-party data not found: set WORKBENCH_EXTERNAL_DATA to shared/data/external"
        )
    path = root / "steering_thinking_llms_annotated" / "annotated.jsonl"
    if not path.exists():
        pytest.skip(f"{path} is missing")
    records = []
    with path.open(encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            if r["model"] not in ("qwen2.5-14b-instruct", "llama-3.1-8b-instruct"):
                records.append(r)
            if len(records) == 20:
                break
    sections = aligned = n_segments = labelled = 0
    for r in records:
        t = Trajectory(prompt="", raw=r["response"], model=r["model"])
        secs = parse_steering_annotations(r["annotated_response"])
        spans = align_sections(t.raw, secs, start=t.thinking_span[0])
        assert all(spans[i][1] <= spans[i + 1][0] for i in range(len(spans) - 1))
        assert all(t.thinking_span[0] <= s < e <= t.thinking_span[1] for s, e, _ in spans)
        segs = segment(t)
        labels = peer_labels_for_segments(segs, spans)
        sections += len(secs)
        aligned += len(spans)
        n_segments += len(segs)
        labelled += sum(label is not None for label in labels)
    assert sections > 200
    assert aligned / sections >= 0.9
    assert labelled / n_segments >= 0.9
