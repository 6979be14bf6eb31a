"""Exports: TRL formats, files, round trips, cards, token lengths, and TRL's own data utilities."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fixtures.qwen3_tokenizer import default_model_tokenizer, qwen3_tokenizer
from tests.fixtures.training_data import graded_store
from workbench import Store, ValidationError
from workbench.analysis._segment import segment
from workbench.export import (
    check_trl,
    export_dpo,
    export_kto,
    export_sft,
    export_stepwise,
    load_rows,
)
from workbench.export.card import CARD_MARKER
from workbench.pairs import make_pairs


@pytest.fixture
def paired(tmp_path: Path):
    store, ids = graded_store(tmp_path / "p.db")
    make_pairs(store, "correctness")
    make_pairs(store, "fcs")
    yield store, ids
    store.close()


def test_dpo_conversational_rows_keep_thinking_in_tags(paired) -> None:
    store, ids = paired
    export = export_dpo(store)
    assert len(export.rows) == store.list_pairs().height == 4
    row = next(r for r in export.rows if r["chosen_id"] == ids["short"])
    assert row["prompt"] == [{"role": "user", "content": "What is 6 * 7?"}]
    assert row["chosen"] == [
        {"role": "assistant", "content": "<think>\n6 * 7 = 42.\n</think>\n\nThe answer is 42."}
    ]
    assert row["rejected"][0]["content"].endswith("The answer is 48.")
    assert {"pair_id", "strategy", "rejected_id", "prompt_key"} <= set(row)
    assert export.counts == {"pairs": 4, "trajectories": 6}
    assert export.provenance["strategies"] == {"correctness": 3, "fcs": 1}
    assert export.provenance["parameters"]["fcs"]["selection"]["min_gap"] == 0.0


def test_other_styles(paired) -> None:
    store, _ = paired
    standard = export_dpo(store, style="standard", ids=False, strategies=["correctness"])
    assert set(standard.rows[0]) == {"prompt", "chosen", "rejected"}
    assert standard.rows[0]["prompt"] == "What is 6 * 7?"
    assert standard.rows[0]["chosen"].startswith("<think>\n")
    rc = export_dpo(store, think="reasoning_content")
    message = rc.rows[0]["chosen"][0]
    assert message["content"].startswith("The answer is") and message["reasoning_content"]
    dropped = export_dpo(store, think="drop")
    assert "<think>" not in json.dumps(dropped.rows)
    with pytest.raises(ValidationError, match="reasoning_content needs chat messages"):
        export_dpo(store, style="standard", think="reasoning_content")
    with pytest.raises(ValidationError, match="'chat'"):
        export_dpo(store, style="chat")
    with pytest.raises(ValidationError, match="correctness 3"):
        export_dpo(store, strategies=["grade"])


def test_sft_kto_and_stepwise(paired) -> None:
    store, ids = paired
    sft = export_sft(store)
    assert len(sft.rows) == 4  # distinct chosen trajectories of the 4 pairs
    assert set(sft.rows[0]) == {"prompt", "completion", "trajectory_id"}
    assert sft.rows[0]["completion"][0]["role"] == "assistant"
    messages = export_sft(store, rows_from="correct", format="messages", source="test")
    assert len(messages.rows) == 4  # short, long, right2 and the derived FCS trace
    assert messages.rows[0]["messages"][-1]["role"] == "assistant"
    text = export_sft(store, rows_from="all", format="messages", style="standard")
    assert len(text.rows) == 6 and "\n\n<think>" in text.rows[0]["text"]

    kto = export_kto(store)
    labels = {r["trajectory_id"]: r["label"] for r in kto.rows}
    assert labels[ids["short"]] is True and labels[ids["wrong"]] is False
    assert kto.counts["conflicting_left_out"] == 1  # "long": chosen vs wrong, rejected vs its FCS
    graded = export_kto(store, rows_from="graded", source="test")
    assert sorted(r["label"] for r in graded.rows) == [False, False, True, True, True, True]

    long = store.get(ids["long"])
    segments = segment(long, strategy="sentences")
    store.add_segments(long.id, segments)
    store.add_annotation(long.id, "verdict", "good", segment_id=segments[0].id)
    store.add_annotation(long.id, "verdict", "bad", segment_id=segments[2].id)
    with pytest.raises(ValidationError, match="unlabelled='good'"):
        export_stepwise(store)
    steps = export_stepwise(store, unlabelled="good")
    assert steps.rows == [
        {
            "prompt": "What is 6 * 7?",
            "completions": [s.text for s in segments[:3]],
            "labels": [True, True, False],
            "trajectory_id": long.id,
        }
    ]
    store.add_annotation(long.id, "verdict", "good", segment_id=segments[1].id)
    assert export_stepwise(store).counts == {
        "trajectories": 1, "unlabelled_gaps": 0, "steps": 3, "good": 2, "bad": 1
    }  # fmt: skip


@pytest.mark.parametrize("suffix", ["jsonl", "parquet"])
def test_round_trip_to_the_same_pairs(paired, tmp_path: Path, suffix: str) -> None:
    store, _ = paired
    export = export_dpo(store, think="reasoning_content")
    written = export.write(tmp_path / f"dpo.{suffix}")
    rows = load_rows(written.path, cache_dir=tmp_path / "hf")
    assert rows == export.rows
    stored = store.list_pairs()
    assert [(r["pair_id"], r["chosen_id"], r["rejected_id"], r["strategy"]) for r in rows] == list(
        zip(
            stored["id"],
            stored["chosen_id"],
            stored["rejected_id"],
            stored["strategy"],
            strict=True,
        )
    )
    for row in rows:
        chosen = store.get(row["chosen_id"])
        assert row["chosen"][0]["reasoning_content"] == chosen.thinking
        assert row["chosen"][0]["content"] == chosen.answer
    ds = export.to_dataset()
    assert ds.num_rows == len(rows) and set(ds.column_names) == set(rows[0])


def test_card_is_written_and_never_clobbers_a_readme(paired, tmp_path: Path) -> None:
    store, _ = paired
    export = export_dpo(store)
    first = export.write(tmp_path / "dpo.jsonl")
    assert first.card == tmp_path / "README.md"
    card = first.card.read_text()
    assert CARD_MARKER in card and "data_files: dpo.jsonl" in card
    assert "| correctness | 3 |" in card and "| fcs | 1 |" in card and "DPOTrainer" in card
    assert export.write(tmp_path / "dpo.jsonl").card == tmp_path / "README.md"  # its own card
    other = export_sft(store).write(tmp_path / "sft.parquet")
    assert other.card == tmp_path / "sft.README.md"
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "README.md").write_text("my notes")
    export.write(tmp_path / "mine" / "d.jsonl")
    assert (tmp_path / "mine" / "README.md").read_text() == "my notes"
    assert export.write(tmp_path / "x.jsonl", card=False).card is None
    with pytest.raises(ValidationError, match="jsonl or .parquet"):
        export.write(tmp_path / "x.csv")


def test_token_lengths_and_the_max_length_warning(paired) -> None:
    from tests.fixtures.tiny_models import tiny_tokenizer

    store, _ = paired
    tok = tiny_tokenizer()  # byte-level: one token per byte
    with pytest.warns(UserWarning, match="max_length=40"):
        export = export_dpo(store, tokenizer=tok, max_length=40)
    assert export.exact and len(export.lengths) == len(export.rows)
    first = export.lengths[0]
    assert first["total"] == first["prompt"] + max(first["chosen"], first["rejected"])
    prompt_text = tok.apply_chat_template(export.rows[0]["prompt"], tokenize=False,
                                          add_generation_prompt=True)  # fmt: skip
    assert first["prompt"] == len(tok.encode(prompt_text, add_special_tokens=False))
    summary = export.summary()
    assert summary["lengths"]["total"]["over_max_length"] >= 1 and summary["warnings"]
    assert export_dpo(store, tokenizer=tok, max_length=100_000).warnings == []
    with pytest.warns(UserWarning, match="ignores reasoning_content"):
        export_dpo(store, tokenizer=tok, think="reasoning_content", max_length=100_000)


@pytest.mark.parametrize("tokenizer", [qwen3_tokenizer, default_model_tokenizer])
def test_trl_accepts_every_export(paired, tmp_path: Path, tokenizer) -> None:
    pytest.importorskip("trl", reason="TRL is not installed")
    from trl.data_utils import is_conversational, maybe_apply_chat_template

    store, _ = paired
    tok = tokenizer()
    exports = [
        export_dpo(store),
        export_dpo(store, style="standard"),
        export_sft(store),
        export_sft(store, format="messages"),
        export_kto(store),
    ]
    if "reasoning_content" in str(tok.chat_template):
        exports.append(export_dpo(store, think="reasoning_content"))
    for i, export in enumerate(exports):
        path = export.write(tmp_path / f"e{i}.parquet", card=False).path
        rows = load_rows(path, cache_dir=tmp_path / "hf")
        result = check_trl(rows, tok)
        assert result["rows"] == len(rows) > 0
        assert result["conversational"] == (len(rows) if export.style == "conversational" else 0)
    # what TRL renders keeps the thinking, in the template's own tags
    row = load_rows(exports[0].write(tmp_path / "d.jsonl", card=False).path,
                    cache_dir=tmp_path / "hf")[0]  # fmt: skip
    assert is_conversational(row)
    rendered = maybe_apply_chat_template(row, tok)
    assert rendered["prompt"].endswith("<|im_start|>assistant\n")
    assert (
        rendered["chosen"].startswith("<think>\n")
        and "</think>\n\nThe answer" in rendered["chosen"]
    )


def test_qwen3_template_keeps_reasoning_content(paired) -> None:
    pytest.importorskip("trl", reason="TRL is not installed")
    from trl.data_utils import maybe_apply_chat_template

    store, _ = paired
    tok = qwen3_tokenizer()
    tags = maybe_apply_chat_template(export_dpo(store).rows[0], tok)
    rc = maybe_apply_chat_template(export_dpo(store, think="reasoning_content").rows[0], tok)
    assert tags["chosen"] == rc["chosen"] and tags["prompt"] == rc["prompt"]


def test_export_needs_prompts(tmp_path: Path) -> None:
    from workbench import Trajectory

    with Store(tmp_path / "n.db") as store:
        store.add(Trajectory(raw="<think>a</think>b", grade=True))
        with pytest.raises(ValidationError, match="--join"):
            export_sft(store, rows_from="all")
        with pytest.raises(ValidationError, match="workbench pairs"):
            export_dpo(store)
