"""The fine-tuned labeller, its training, scoring and CLI, on a tiny encoder built from a config."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from tests.fixtures.tiny_models import tiny_encoder_dir
from workbench.analysis._finetune_train import (
    FINETUNE_PRESETS,
    fit_temperature,
    split_groups,
)
from workbench.analysis._finetuned import FineTunedLabeller
from workbench.analysis._labeller_score import RuleScorer, score_traces, step_votes
from workbench.analysis._peer_data import PeerTrace, load_pmllm, load_venhoff
from workbench.segment import Segment

OPENERS = {
    "initializing": ["okay the problem asks for the sum", "alright we need the total"],
    "backtracking": ["wait that is wrong", "hmm no I made a mistake", "wait let me redo it"],
    "deduction": ["so the sum is seven", "then the total is ten", "therefore x is two"],
}
WORDS = sorted({w for texts in OPENERS.values() for t in texts for w in t.split()})
# a tiny, fast training run: every field a test relies on is explicit
TINY = {
    "max_length": 12,
    "context_hidden": 16,
    "epochs": 4,
    "patience": 4,
    "lr_encoder": 3e-3,
    "lr_head": 1e-2,
    "window": 6,
    "batch_segments": 24,
    "max_segments_per_epoch": 2000,
    "holdout": 0.25,
    "time_budget_s": 120.0,
}


def synthetic_trace(rng: random.Random, n: int = 8) -> tuple[list[str], list[str]]:
    """A trace whose first segment initialises, then deductions with some backtracking."""
    labels = ["initializing"] + [rng.choice(["deduction", "deduction", "backtracking"])
                                 for _ in range(n - 1)]  # fmt: skip
    return [rng.choice(OPENERS[c]) for c in labels], labels


@pytest.fixture(scope="module")
def encoder_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_encoder_dir(tmp_path_factory.mktemp("encoder"), WORDS)


@pytest.fixture(scope="module")
def trained(encoder_dir: Path) -> FineTunedLabeller:
    rng = random.Random(0)
    traces = []
    for q in range(12):
        for _ in range(3):
            texts, labels = synthetic_trace(rng)
            traces.append((texts, labels, f"q{q}"))
    return FineTunedLabeller.train(
        traces, taxonomy="venhoff", encoder=encoder_dir, progress=False, log=lambda m: None,
        source={"peer": "synthetic"}, **TINY,
    )  # fmt: skip


def test_fine_tuned_labeller_learns_and_calibrates(trained: FineTunedLabeller) -> None:
    rng = random.Random(1)
    y, pred = [], []
    for _ in range(20):
        texts, labels = synthetic_trace(rng)
        proba = trained.trace_proba(texts)
        assert proba.shape == (len(texts), 3)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
        y += labels
        pred += [trained.labels[i] for i in proba.argmax(axis=1)]
    accuracy = np.mean([a == b for a, b in zip(y, pred, strict=True)])
    assert accuracy > 0.9, accuracy
    history = trained.provenance["training"]
    assert trained.labels == ["backtracking", "deduction", "initializing"]
    assert 0.05 <= trained.temperature <= 20
    assert history["heldout_groups"] == 3 and history["epochs"][0]["heldout_kappa"] is not None
    assert history["heldout_nll_after"] <= history["heldout_nll_before"] + 1e-6
    # the lexical weight is the best of the grid on the held-out questions
    assert trained.lexical is not None and 0.0 <= trained.lexical_weight <= 1.0
    assert history["heldout_kappa_mixed"] == max(history["mixture_kappa"].values())
    assert (
        trained.provenance["groups"] == 12 and trained.provenance["source"]["peer"] == "synthetic"
    )


def test_label_segments_and_save_load_round_trip(
    trained: FineTunedLabeller, tmp_path: Path
) -> None:
    texts, _ = synthetic_trace(random.Random(2))
    segs = [Segment(trajectory_id="t", char_span=(i, i + 1), index=i, text=t)
            for i, t in enumerate(texts)]  # fmt: skip
    labelled = trained.label_segments(segs)
    assert all(s.label_source == "model" and 0 < (s.confidence or 0) <= 1 for s in labelled)
    folder = trained.save(tmp_path / "lab")
    assert {p.name for p in folder.iterdir()} >= {"labeller.json", "provenance.json", "head.pt",
                                                  "encoder", "lexical.pt"}  # fmt: skip
    meta = json.loads((folder / "labeller.json").read_text())
    assert meta["taxonomy"] == "venhoff" and meta["labels"] == trained.labels
    again = FineTunedLabeller.load(folder)
    np.testing.assert_allclose(again.trace_proba(texts), trained.trace_proba(texts), atol=1e-5)
    assert again.provenance["training"]["seconds"] == trained.provenance["training"]["seconds"]
    assert again.lexical_weight == trained.lexical_weight


def test_lexical_preset_trains_in_seconds_without_an_encoder(tmp_path: Path) -> None:
    rng = random.Random(4)
    traces = [(*synthetic_trace(rng), f"q{q}") for q in range(12) for _ in range(2)]
    labeller = FineTunedLabeller.train(traces, preset="lexical", progress=False)
    assert labeller.net is None and labeller.lexical_weight == 1.0
    assert labeller.provenance["base_encoder"] is None
    texts, labels = synthetic_trace(random.Random(5), n=30)
    pred = [labeller.labels[i] for i in labeller.trace_proba(texts).argmax(axis=1)]
    assert np.mean([a == b for a, b in zip(labels, pred, strict=True)]) > 0.9
    folder = labeller.save(tmp_path / "lex")
    assert not (folder / "encoder").exists() and (folder / "lexical.pt").is_file()
    again = FineTunedLabeller.load(folder)
    np.testing.assert_allclose(again.trace_proba(texts), labeller.trace_proba(texts), atol=1e-6)


def test_lexical_model_reads_the_cue_and_the_neighbours() -> None:
    from workbench.analysis._lexical import LexicalConfig, LexicalModel, words

    assert words("Wait, 2+2 isn't 5.", 100) == ["wait", ",", "2", "+", "2", "isn", "'", "t", "5",
                                                 "."]  # fmt: skip
    # "then" continues a check when it follows one, a deduction otherwise: only the
    # previous segment's opening tells them apart
    traces = []
    for k in range(40):
        traces.append((["let me check the sum", f"then it is {k}"], ["check", "check"]))
        traces.append((["we know the sum", f"then it is {k}"], ["deduce", "deduce"]))
    model = LexicalModel.fit(traces, ["check", "deduce"], LexicalConfig(min_df=2))
    for opener, label in (("let me check the sum", 0), ("we know the sum", 1)):
        logits = model.logits([opener, "then it is 99"])
        assert logits.argmax(dim=1).tolist() == [label, label]
    state = LexicalModel.from_state(model.state())
    assert torch.equal(state.logits(["we know"]), model.logits(["we know"]))
    with pytest.raises(ValueError, match="no labelled"):
        LexicalModel.fit([(["a"], [None])], ["x"])


def test_a_format_1_labeller_still_loads(trained: FineTunedLabeller, tmp_path: Path) -> None:
    folder = trained.save(tmp_path / "old")
    (folder / "lexical.pt").unlink()
    meta = json.loads((folder / "labeller.json").read_text())
    meta["format"] = "workbench.finetuned-labeller/1"
    del meta["lexical_weight"], meta["config"]["lexical"], meta["config"]["network"]
    (folder / "labeller.json").write_text(json.dumps(meta))
    old = FineTunedLabeller.load(folder)
    assert old.lexical is None and old.lexical_weight == 0.0 and old.config.network
    assert old.trace_proba(["wait that is wrong"]).shape == (1, 3)


def test_load_rejects_a_folder_that_is_not_a_labeller(tmp_path: Path) -> None:
    from workbench.errors import WorkbenchError

    with pytest.raises(WorkbenchError, match="labeller train"):
        FineTunedLabeller.load(tmp_path)


def test_presets_are_named_and_unknown_settings_raise(encoder_dir: Path) -> None:
    assert {"default", "quick", "lexical", "thorough"} <= set(FINETUNE_PRESETS)
    assert FINETUNE_PRESETS["default"].time_budget_s <= 15 * 60
    with pytest.raises(TypeError):
        FineTunedLabeller.train([(["a"], ["x"], 0)], encoder=encoder_dir, epochz=3)


def test_split_groups_keeps_questions_apart() -> None:
    groups = [i % 7 for i in range(70)]
    train, held = split_groups(groups, 0.3, seed=0)
    assert sorted(train + held) == list(range(70))
    assert not {groups[i] for i in train} & {groups[i] for i in held}
    assert len({groups[i] for i in held}) == 2
    assert split_groups(["a"], 0.2, seed=0) == ([0], [])
    train, held = split_groups(["a"] * 10, 0.2, seed=0)
    assert len(held) == 2 and len(train) == 8


def test_temperature_cools_overconfident_logits() -> None:
    torch.manual_seed(0)
    targets = torch.randint(0, 3, (400,))
    logits = torch.randn(400, 3)
    logits[torch.arange(400), targets] += 1.0  # informative, then made overconfident
    t = fit_temperature(logits * 5, targets)
    assert 3.0 < t < 8.0


def peer_trace(labels: list[str | None], steps: list[int | None], step_labels: list[str]) -> Any:
    segs = [Segment(trajectory_id="t", char_span=(i, i + 1), index=i, text=f"s{i}")
            for i in range(len(labels))]  # fmt: skip
    return PeerTrace("t", 0, segs, labels, steps, step_labels, len(step_labels),
                     [f"section {k}" for k in range(len(step_labels))], list(step_labels))  # fmt: skip


class FixedScorer:
    def __init__(self, rows: list[list[float]]) -> None:
        self.labels = ["a", "b"]
        self.rows = np.asarray(rows, dtype=np.float32)

    def trace_proba(self, texts: Any) -> np.ndarray:
        return self.rows[: len(texts)]


def test_scores_per_segment_and_per_step_vote() -> None:
    trace = peer_trace(["a", "a", "b", None], [0, 0, 1, None], ["a", "b"])
    scorer = FixedScorer([[0.9, 0.1], [0.4, 0.6], [0.2, 0.8], [1, 0]])
    assert step_votes(trace, scorer.rows, scorer.labels) == {0: "a", 1: "b"}
    report = score_traces(scorer, [trace])
    # the peer's two sections, labelled themselves (rows 0 and 1: a, b)
    assert report["unit"] == "peer section" and report["n"] == 2 and report["kappa"] == 1.0
    # our three labelled segments: a, b, b against a, a, b
    assert report["segment_n"] == 3
    assert report["segment_accuracy"] == pytest.approx(2 / 3, abs=1e-4)
    assert report["step_n"] == 2 and report["step_kappa"] == 1.0
    assert report["majority_kappa"] == 0.0 and report["majority_accuracy"] == 0.5
    assert "step_kappa" not in score_traces(scorer, [trace], steps=False)


def test_rule_scorer_gives_one_hot_rows() -> None:
    rule = RuleScorer("venhoff")
    proba = rule.trace_proba(["Wait, that is wrong.", "So x = 2."])
    assert proba.shape == (2, len(rule.labels)) and set(proba.sum(axis=1)) <= {0.0, 1.0}


VENHOFF_RECORD = {
    "id": "v1",
    "model": "deepseek-r1-distill-qwen-1.5b",
    "prompt_index": 3,
    "response": "<think>\nOkay, the problem asks for the sum of 2 and 3. So adding them, 2+3 = 5."
    " Wait, let me check that again: 5.\n</think>",
    "annotated_response": '["initializing"] Okay, the problem asks for the sum of 2 and 3. '
    '["end-section"]["deduction"] So adding them, 2+3 = 5. ["end-section"][backtracking] Wait, '
    "let me check that again: 5.[end-section]",
    "label_counts": {},
    "thinking_process": "",
}


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_venhoff_loader_reads_the_documented_layout(tmp_path: Path) -> None:
    baseline = {**VENHOFF_RECORD, "id": "v2", "model": "qwen2.5-14b-instruct",
                "response": "The answer is 5."}  # fmt: skip
    path = write_jsonl(tmp_path / "annotated.jsonl", [VENHOFF_RECORD, baseline])
    (trace,) = load_venhoff(path)
    assert trace.group == 3 and trace.sections == 3
    assert trace.step_labels == ["initializing", "deduction", "backtracking"]
    assert trace.section_labels == trace.step_labels
    assert trace.section_texts[2] == "Wait, let me check that again: 5."
    first = trace.labels[0]
    assert first == "initializing" and trace.labels[-1] == "backtracking"
    assert all(s is not None for s in trace.steps)


def test_pmllm_loader_joins_traces_and_steps(tmp_path: Path) -> None:
    traces = write_jsonl(tmp_path / "traces.jsonl", [
        {"id": "pmllm::m::q1", "model": "m", "question_id": "q1",
         "response": "<think>\nFirst list the events. Then the loop repeats.\n</think>\nA loop."},
        {"id": "pmllm::m::q2", "model": "m", "question_id": "q2", "response": "<think>\n</think>x"},
    ])  # fmt: skip
    steps = write_jsonl(tmp_path / "steps.jsonl", [
        {"id": "pmllm::m::q1", "steps": [
            {"Name": "Pattern Recognition - PE", "Text": "First list the events."},
            {"Name": "Inductive - IND", "Text": "Then the loop repeats."}]},
    ])  # fmt: skip
    (trace,) = load_pmllm(traces, steps)
    assert trace.group == "q1" and trace.step_labels == ["Pattern Recognition", "Inductive"]
    assert set(trace.labels) <= {"Pattern Recognition", "Inductive", None}


def test_cli_trains_and_scores_on_peer_files(
    tmp_path: Path, encoder_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from workbench.cli import main

    rng = random.Random(3)
    records = []
    for i in range(12):
        texts, labels = synthetic_trace(rng, n=5)
        body = " ".join(t.capitalize() + "." for t in texts)
        marked = "".join(f'["{c}"] {t.capitalize()}. ["end-section"]'
                         for t, c in zip(texts, labels, strict=True))  # fmt: skip
        records.append({**VENHOFF_RECORD, "id": f"v{i}", "prompt_index": i % 6,
                        "response": f"<think>\n{body}\n</think>", "annotated_response": marked})  # fmt: skip
    data = write_jsonl(tmp_path / "annotated.jsonl", records)
    out = tmp_path / "lab"
    tiny = ["--epochs", "2", "--time-budget", "60", "--no-progress", "--json"]
    assert main(["labeller", "train", "--peer", "venhoff", "--data", str(data), "--out", str(out),
                 "--encoder", str(encoder_dir), *tiny]) == 0  # fmt: skip
    summary = json.loads(capsys.readouterr().out)
    assert summary["traces"] == 12 and (out / "labeller.json").is_file()
    provenance = json.loads((out / "provenance.json").read_text())
    assert provenance["source"]["files"]["data"]["name"] == "annotated.jsonl"
    assert len(provenance["source"]["files"]["data"]["sha256"]) == 64
    for labeller in (str(out), "rule"):
        assert main(["labeller", "score", "--peer", "venhoff", "--data", str(data),
                     "--labeller", labeller, "--json"]) == 0  # fmt: skip
        lines = capsys.readouterr().out.strip().splitlines()
        assert len(lines) == 1
        report = json.loads(lines[0])
        assert {"n", "accuracy", "macro_f1", "kappa", "majority_kappa", "segment_kappa",
                "step_kappa"} <= set(report)  # fmt: skip
        assert report["n"] == 60 and -1 <= report["kappa"] <= 1  # 12 traces x 5 sections


def test_cli_explains_missing_inputs(capsys: pytest.CaptureFixture[str]) -> None:
    from workbench.cli import main

    assert main(["labeller", "train", "--out", "x"]) == 2
    assert "--peer venhoff|pmllm --data FILE, or --store DB" in capsys.readouterr().err
    assert main(["labeller", "score", "--peer", "pmllm", "--data", "nowhere.jsonl",
                 "--labeller", "rule"]) == 2  # fmt: skip
    assert "--steps" in capsys.readouterr().err
