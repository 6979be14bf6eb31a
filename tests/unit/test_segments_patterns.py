from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from workbench import Store, TokenArrays, Trajectory
from workbench.analysis._segment import segment, segment_text, sentence_spans
from workbench.analysis.patterns import TAXONOMIES, get_taxonomy, label_segments, rule_label
from workbench.analysis.pipeline import analyze_store, analyze_trajectory
from workbench.cli import main

THINKING = (
    "Okay, so the problem asks for 17 + 25. First, I add the tens: 10 + 20 = 30.\n\n"
    "Then the ones: 7 + 5 = 12. So 30 + 12 = 42. Wait, let me double-check that. "
    "Hmm, 17 + 25: 17 + 3 = 20 and 20 + 22 = 42. Alternatively, 25 + 17 = 42 too.\n\n"
    "Therefore the answer is 42."
)


def test_sentence_spans() -> None:
    text = 'It is 3.14 today. Dr. Who came! e.g. this stays. "Quoted." Next line\nnew line'
    got = [text[s:e] for s, e in sentence_spans(text)]
    assert got == [
        "It is 3.14 today.",
        "Dr.",
        "Who came! e.g. this stays.",
        '"Quoted."',
        "Next line",
        "new line",
    ]


def test_strategies() -> None:
    paragraphs = [THINKING[s:e] for s, e in segment_text(THINKING, strategy="paragraphs")]
    assert len(paragraphs) == 3 and paragraphs[-1] == "Therefore the answer is 42."
    cues = [THINKING[s:e] for s, e in segment_text(THINKING, strategy="cues", min_chars=10)]
    assert cues[0].startswith("Okay, so the problem") and cues[1].startswith("First,")
    assert any(c.startswith("Wait, let me double-check") for c in cues)
    assert any(c.startswith("Alternatively,") for c in cues)
    assert all(c == c.strip() and c for c in cues)
    # segments never overlap and keep the text's order
    spans = segment_text(THINKING)
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))
    with pytest.raises(ValueError, match="unknown segmentation strategy"):
        segment_text(THINKING, strategy="words")


def test_min_chars_merges_short_segments() -> None:
    text = "So. Wait. But this is a longer sentence that stands alone."
    assert len(segment_text(text, min_chars=1)) == 3
    assert len(segment_text(text, min_chars=24)) == 1


def test_segment_spans_are_raw_coordinates_with_token_spans() -> None:
    t = Trajectory.from_parts(thinking=THINKING, answer="42")
    segs = segment(t)
    for s in segs:
        assert t.raw[s.char_span[0] : s.char_span[1]] == s.text
        assert t.thinking_span[0] <= s.char_span[0] and s.char_span[1] <= t.thinking_span[1]
        assert s.id == f"{t.id}:{s.char_span[0]}-{s.char_span[1]}"
    # with per-token offsets, token spans cover the tokens inside each segment
    starts = np.arange(0, len(t.raw), 4)
    offsets = np.stack([starts, np.minimum(starts + 4, len(t.raw))], axis=1)
    tok = Trajectory(
        raw=t.raw,
        think_format=t.think_format,
        thinking_span=t.thinking_span,
        answer_span=t.answer_span,
        tokens=TokenArrays(ids=np.zeros(len(starts)), offsets=offsets),
    )
    for s in segment(tok):
        a, b = s.token_span
        assert offsets[a][1] > s.char_span[0] and offsets[b - 1][0] < s.char_span[1]


def test_rule_labels() -> None:
    assert rule_label("Wait, that is wrong.").label == "backtracking"
    assert rule_label("Let me double-check the sum.").label == "verification"
    assert rule_label("Alternatively, try another approach.").label == "exploration"
    assert rule_label("Therefore the answer is 42.").label == "conclusion"
    assert rule_label("17 + 25 = 42").label == "computation"
    empty = rule_label("zzz")
    assert (empty.label, empty.confidence) == ("computation", 0.0)
    assert rule_label("Wait, that is wrong.", taxonomy="venhoff").label == "backtracking"
    assert rule_label("For example, take n = 3.", taxonomy="venhoff").label == "example-testing"
    assert rule_label("Let me verify this.", taxonomy="thought_anchors").label == "self_checking"
    assert (
        rule_label("This raises a privacy and fairness concern.", taxonomy="pmllm").label
        == "Ethical or Moral Reasoning"
    )


def test_taxonomy_presets_and_editing() -> None:
    assert len(TAXONOMIES["thought_anchors"].labels) == 8
    assert len(TAXONOMIES["venhoff"].labels) == 6
    assert len(TAXONOMIES["pmllm"].labels) == 10
    edited = get_taxonomy("dto").with_rules("verification", opening=(r"looks (fine|good)",))
    assert rule_label("Looks fine to me.", taxonomy=edited).label == "verification"
    assert rule_label("Looks fine to me.").label != "verification"
    with pytest.raises(ValueError, match="no label"):
        get_taxonomy("dto").with_rules("nope")
    with pytest.raises(ValueError, match="unknown taxonomy"):
        get_taxonomy("dt0")


def test_label_segments_records_the_source() -> None:
    t = Trajectory.from_parts(thinking=THINKING, answer="42")
    labelled = label_segments(segment(t))
    assert all(s.label_source == "rule" and len(s.labels) == 1 for s in labelled)
    assert all(0.0 <= s.confidence <= 1.0 for s in labelled)


def test_analyze_trajectory_and_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    t = Trajectory.from_parts(thinking=THINKING, answer="42", model="m")
    segs = analyze_trajectory(t, lexicon="nowait")
    hits = [h for s in segs for h in s.keyword_hits]
    assert [h[2] for h in hits] == ["wait", "double-check", "hmm", "alternatively"]
    assert all(t.raw[a:b].lower() == k for a, b, k in hits)
    db = tmp_path / "a.db"
    with Store(db) as store:
        store.add(t)
        summary = analyze_store(store, lexicon="nowait")
        assert summary["trajectories"] == 1 and summary["segments"] == len(segs)
        stored = store.get_segments(t.id)
        assert [s.labels for s in stored] == [s.labels for s in segs]
        store.add_annotation(t.id, "label", "verification", segment_id=stored[2].id)
        analyze_store(
            store
        )  # re-analysis keeps the same segment ids, so the hand label still applies
        assert stored[2].id in {s.id for s in store.get_segments(t.id)}
    assert main(["analyze", "--store", str(db), "--taxonomy", "venhoff", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["taxonomy"] == "venhoff" and out["segments"] > 0
    assert main(["analyze", "--store", str(db), "--taxonomy", "nope"]) == 2
