"""Annotation teaches the labeller: suggestions in the Annotator, accepting them, retraining."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.tiny_models import tiny_encoder_dir
from workbench import Store, Trajectory
from workbench.analysis._hand_labels import hand_label_agreement, store_traces
from workbench.segment import Segment
from workbench.widgets import Annotator
from workbench.widgets._protocol import PROTOCOL_HASH, validate_kernel_message

BODY = "So 17 + 25 = 42. Wait, let me check that again. Alternatively, 20 + 22 = 42. So it is 42."
RAW = f"<think>\nOkay, let me read the problem.\n\n{BODY}\n</think>\n\nThe answer is 42."


class Suggester:
    """Labels every segment 'deduction' with a confidence that falls along the trace."""

    def __init__(self, start: float = 0.9) -> None:
        self.start = start

    def label_segments(self, segments: list[Segment]) -> list[Segment]:
        from dataclasses import replace

        return [
            replace(s, labels=["deduction"], label_source="model",
                    confidence=round(self.start - 0.1 * i, 2))
            for i, s in enumerate(segments)
        ]  # fmt: skip


def sent(widget: Any) -> list[dict[str, Any]]:
    return [m for m, _ in widget.sent]


def test_annotator_shows_suggestions_and_accepts_one_with_a_key(store: Store) -> None:
    t = Trajectory(prompt="What is 17 + 25?", raw=RAW, model="m", metadata={"question_id": "q1"})
    store.add(t)
    ann = Annotator(store, [t.id], taxonomy="venhoff", author="tester", suggester=Suggester())
    ann.sent = []
    ann.handle_message({"type": "ready", "view": "v", "protocol": PROTOCOL_HASH})
    doc = sent(ann)[0]
    validate_kernel_message(doc)
    segs = doc["state"]["segments"]
    assert len(segs) >= 3
    assert segs[1]["suggestion"] == "deduction" and segs[1]["suggestion_confidence"] == 0.8
    ann.sent = []
    ann.handle_message({"type": "accept_suggestion", "request_id": 1, "segment_id": segs[1]["id"]})
    out = sent(ann)[-1]
    validate_kernel_message(out)
    assert out["ok"] and out["state"]["segments"][1]["human_label"] == "deduction"
    (entry,) = out["state"]["history"]
    assert entry["kind"] == "label" and entry["author"] == "tester"
    assert entry["source"] == "accepted Suggester suggestion (0.80)"
    (stored,) = store.get_annotations(t.id)
    assert stored.value == "deduction" and stored.author == "tester"
    assert stored.source == {"accepted_suggestion": {"label": "deduction", "label_source": "model",
                             "confidence": 0.8, "labeller": "Suggester"}}  # fmt: skip
    frame = store.list_annotations(t.id)
    assert json.loads(frame["source"][0])["accepted_suggestion"]["confidence"] == 0.8
    # an accepted suggestion is a hand label: it is training data
    ((texts, labels, group),) = store_traces(store)
    assert labels[1] == "deduction" and labels.count(None) == len(labels) - 1
    assert group == "question_id=q1" and texts[1] == segs_text(RAW, segs[1])
    # undo appends a clear
    ann.sent = []
    ann.handle_message({"type": "undo", "request_id": 2})
    assert sent(ann)[-1]["state"]["segments"][1]["human_label"] is None


def segs_text(raw: str, seg: dict[str, Any]) -> str:
    return raw[seg["start"] : seg["end"]]


def test_accepting_without_a_suggestion_is_refused(store: Store) -> None:
    t = Trajectory(prompt="q", raw=RAW, model="m")
    store.add(t)
    ann = Annotator(store, [t.id], author="tester")  # rule labels only: nothing to suggest
    ann.sent = []
    ann.handle_message({"type": "ready", "view": "v", "protocol": PROTOCOL_HASH})
    seg = sent(ann)[0]["state"]["segments"][0]
    assert seg["suggestion"] is None
    ann.sent = []
    ann.handle_message({"type": "accept_suggestion", "request_id": 1, "segment_id": seg["id"]})
    state = next(m for m in sent(ann) if m["type"] == "annotation_state")
    assert not state["ok"] and "no suggestion" in state["message"]
    assert store.get_annotations(t.id) == []


def test_stored_model_labels_are_suggestions_and_order_is_least_confident(store: Store) -> None:
    a = Trajectory(prompt="q1", raw=RAW, model="a")
    b = Trajectory(prompt="q2", raw=RAW + " ", model="b")
    store.add(a)
    store.add(b)
    from workbench.analysis._segment import segment

    for t, start in ((a, 0.9), (b, 0.5)):
        labelled = Suggester(start).label_segments(segment(t))
        store.add_segments(t.id, [replace(s, confidence=start) for s in labelled])
    ann = Annotator(store, [a.id, b.id], order="least_confident")
    assert ann.ids == [b.id, a.id]
    assert next(iter(ann.suggestions(b.id).values())) == ("deduction", 0.5)
    with pytest.raises(Exception, match="least_confident"):
        Annotator(store, [a.id], order="random")


def test_hand_label_agreement_is_cross_validated(tmp_path: Path, store: Store) -> None:
    words = [
        "okay",
        "let",
        "me",
        "read",
        "the",
        "problem",
        "so",
        "wait",
        "check",
        "that",
        "again",
        "alternatively",
        "it",
        "is",
    ]
    encoder = tiny_encoder_dir(tmp_path / "enc", words)
    for q in range(4):
        t = Trajectory(prompt=f"q{q}", raw=RAW + " " * q, model="m",
                       metadata={"question_id": f"q{q}"})  # fmt: skip
        store.add(t)
        from workbench.analysis._segment import segment

        segs = segment(t)
        store.add_segments(t.id, segs)
        for s in segs:
            label = "backtracking" if "Wait" in s.text else "deduction"
            store.add_annotation(t.id, "label", label, segment_id=s.id, author="me")
    report = hand_label_agreement(
        store, folds=2, encoder=encoder, epochs=2, max_length=12, context_hidden=8,
        time_budget_s=60.0,
    )  # fmt: skip
    assert report["folds"] == 2 and report["groups"] == 4 and report["trajectories"] == 4
    assert report["n"] == sum(report["labels"].values()) and -1 <= report["kappa"] <= 1
    with pytest.raises(Exception, match="at least 2 questions"):
        hand_label_agreement(Store(tmp_path / "empty.db"), encoder=encoder)
