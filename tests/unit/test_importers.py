from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import polars as pl
import pytest

import workbench as wb
from workbench import ImportFormatError, Store, import_file
from workbench.store.importers import detect_layout, parse_mapping

ROWS = [
    {
        "id": "a1",
        "prompt": "What is 2+2?",
        "response": "<think>\n2+2 is 4.\n</think>\n\n4",
        "model": "r1",
        "category": "math",
    },
    {
        "id": "a2",
        "prompt": "Name a prime.",
        "response": "Hmm, 7 is prime.\n</think>\n7",
        "model": "qwq",
        "category": "math",
    },
    {
        "id": "a3",
        "prompt": "Say hi.",
        "response": "<think>\n\n</think>\n\nhi",
        "model": "qwen3-nothink",
        "category": "chat",
    },
    {
        "id": "a4",
        "prompt": "Explain.",
        "response": "Because.",
        "model": "r1-zero",
        "category": "chat",
    },
]


def write_jsonl(path: Path, rows: list, extra_lines: list[str] | None = None) -> Path:
    lines = [json.dumps(r) for r in rows] + list(extra_lines or [])
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def by_source_id(store: Store) -> dict[str, dict]:
    return {r["source_id"]: r for r in store.list_trajectories().iter_rows(named=True)}


def test_jsonl_prompt_response_layout(tmp_path: Path, store: Store) -> None:
    report = import_file(store, write_jsonl(tmp_path / "t.jsonl", ROWS))
    assert report.ok and report.imported == 4
    assert report.layout == {
        "prompt": "prompt",
        "response": "response",
        "model": "model",
        "id": "id",
    }
    rows = by_source_id(store)
    assert {k: v["think_format"] for k, v in rows.items()} == {
        "a1": "tags",
        "a2": "close_only",
        "a3": "empty",
        "a4": "none",
    }
    assert json.loads(rows["a1"]["metadata"]) == {"category": "math"}
    t = store.get(rows["a1"]["id"])
    assert (t.thinking, t.answer, t.prompt_text, t.model, t.source) == (
        "2+2 is 4.",
        "4",
        "What is 2+2?",
        "r1",
        "t.jsonl".join([tmp_path.name + "/", ""]),
    )


def test_import_is_idempotent(tmp_path: Path, store: Store) -> None:
    path = write_jsonl(tmp_path / "t.jsonl", ROWS)
    import_file(store, path)
    again = import_file(store, path)
    assert again.imported == 0 and again.duplicates == 4
    assert len(store) == 4
    # records without ids are de-duplicated by content
    no_ids = write_jsonl(
        tmp_path / "noid.jsonl", [{k: v for k, v in r.items() if k != "id"} for r in ROWS]
    )
    import_file(store, no_ids)
    assert import_file(store, no_ids).duplicates == 4
    assert len(store) == 8


def test_malformed_lines_are_reported_and_valid_ones_kept(tmp_path: Path, store: Store) -> None:
    path = write_jsonl(
        tmp_path / "bad.jsonl",
        ROWS[:2],
        [
            '{"id": "x", "prompt": "broken',
            "[1, 2]",
            json.dumps({"id": "b5", "prompt": "q", "response": 5}),
            json.dumps({"id": "b6", "prompt": "q"}),
            json.dumps(ROWS[2]),
        ],
    )
    report = import_file(store, path)
    assert report.imported == 3
    assert [(e.location, e.reason.split(" (")[0]) for e in report.errors] == [
        ("line 3", "invalid JSON"),
        ("line 4", "expected a JSON object, got list"),
        ("line 5", "response must be text, got int"),
        ("line 6", "no field holds a model response"),
    ]
    assert len(store) == 3
    assert "line 3: invalid JSON" in report.summary()


def test_question_answer_model_layout_with_separate_reasoning(tmp_path: Path, store: Store) -> None:
    rows = [
        {
            "id": 1,
            "question": "Q?",
            "reasoning": "Let me think.",
            "answer": "A.",
            "model": "kimi",
            "correct_answer": "A",
        }
    ]
    report = import_file(store, write_jsonl(tmp_path / "qa.jsonl", rows))
    assert report.layout["thinking"] == "reasoning" and report.layout["gold"] == "correct_answer"
    t = store.get(store.list_trajectories()["id"][0])
    assert (t.think_format, t.thinking, t.answer, t.gold, t.source_id) == (
        "field",
        "Let me think.",
        "A.",
        "A",
        "1",
    )


def test_chat_messages_with_reasoning_content(tmp_path: Path, store: Store) -> None:
    rows = [
        {
            "messages": [
                {"role": "system", "content": "Be terse."},
                {"role": "user", "content": "2+2?"},
                {"role": "assistant", "content": "4", "reasoning_content": "Adding two and two."},
            ],
            "model": "qwen3",
        }
    ]
    import_file(store, write_jsonl(tmp_path / "chat.jsonl", rows))
    t = store.get(store.list_trajectories()["id"][0])
    assert t.think_format == "field" and t.thinking == "Adding two and two." and t.answer == "4"
    assert [m["role"] for m in t.prompt] == ["system", "user"]


def test_sharegpt_conversations_and_preference_pairs(tmp_path: Path, store: Store) -> None:
    rows = [
        {
            "conversations": [{"from": "human", "value": "Pick one"}],
            "chosen": {"from": "gpt", "value": "<think>ok</think>A"},
            "rejected": {"from": "gpt", "value": "B"},
        }
    ]
    path = tmp_path / "dpo.json"
    path.write_text(json.dumps(rows, indent=2))
    report = import_file(store, path)
    assert report.imported == 2 and report.pairs == 1
    pair = store.list_pairs().row(0, named=True)
    chosen, rejected = store.get(pair["chosen_id"]), store.get(pair["rejected_id"])
    assert (chosen.answer, chosen.thinking, rejected.answer) == ("A", "ok", "B")
    assert chosen.prompt == [{"role": "user", "content": "Pick one"}]
    again = import_file(store, path)
    assert again.imported == 0 and again.pairs == 0 and store.list_pairs().height == 1


def test_json_array_reports_line_numbers(tmp_path: Path, store: Store) -> None:
    path = tmp_path / "arr.json"
    path.write_text(
        '[\n  {"prompt": "a", "response": "x"},\n  "oops",\n  {"prompt": "b", "response": "y"}\n]\n'
    )
    report = import_file(store, path)
    assert report.imported == 2
    assert [(e.location, e.reason) for e in report.errors] == [
        ("line 3", "expected a JSON object, got str")
    ]


def test_json_object_with_records_list_and_jsonl_named_json(tmp_path: Path, store: Store) -> None:
    (tmp_path / "wrapped.json").write_text(json.dumps({"version": 1, "data": ROWS}))
    assert import_file(store, tmp_path / "wrapped.json").imported == 4
    (tmp_path / "lines.json").write_text("\n".join(json.dumps(r) for r in ROWS))
    assert import_file(store, tmp_path / "lines.json", source="lines").imported == 4


def test_parquet_csv_tsv_gzip(tmp_path: Path) -> None:
    pl.DataFrame(ROWS).write_parquet(tmp_path / "t.parquet")
    for name, delim in (("t.csv", ","), ("t.tsv", "\t")):
        with open(tmp_path / name, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(ROWS[0]), delimiter=delim)
            w.writeheader()
            w.writerows(ROWS)
    with gzip.open(tmp_path / "t.jsonl.gz", "wt") as fh:
        fh.write("\n".join(json.dumps(r) for r in ROWS))
    for name in ("t.parquet", "t.csv", "t.tsv", "t.jsonl.gz"):
        with Store(tmp_path / f"{name}.db") as s:
            report = import_file(s, tmp_path / name)
            assert report.ok and report.imported == 4, (name, report.errors)
            formats = sorted(s.list_trajectories()["think_format"].to_list())
            assert formats == ["close_only", "empty", "none", "tags"], name


def test_csv_line_numbers_count_multiline_cells(tmp_path: Path, store: Store) -> None:
    path = tmp_path / "m.csv"
    path.write_text('prompt,response,extra\n"q1","<think>a\nb</think>c",x\n"q2","ok",y,surplus\n')
    report = import_file(store, path)
    assert report.imported == 1
    assert report.errors[0].location == "line 4" and "more cells" in report.errors[0].reason


def test_datasets_save_to_disk_folder(tmp_path: Path, store: Store) -> None:
    datasets = pytest.importorskip("datasets", reason="the datasets extra is not installed")
    dd = datasets.DatasetDict(
        {
            "train": datasets.Dataset.from_list(ROWS[:3]),
            "test": datasets.Dataset.from_list(ROWS[3:]),
        }
    )
    dd.save_to_disk(str(tmp_path / "ds"))
    report = import_file(store, tmp_path / "ds")
    assert report.format == "datasets" and report.imported == 4
    splits = sorted(json.loads(m)["split"] for m in store.list_trajectories()["metadata"])
    assert splits == ["test", "train", "train", "train"]


def test_map_overrides(tmp_path: Path, store: Store) -> None:
    rows = [
        {
            "uid": "u1",
            "input_text": "Q",
            "gen": "<think>t</think>a",
            "who": "m1",
            "level": 3,
            "ref": "a",
            "answer": "a",
        }
    ]
    path = write_jsonl(tmp_path / "odd.jsonl", rows)
    with pytest.raises(ImportFormatError, match="--map response=FIELD"):
        import_file(store, path, mapping={"answer": ""})
    mapping = parse_mapping(
        [
            "prompt=input_text",
            "response=gen",
            "model=who",
            "id=uid",
            "gold=ref",
            "difficulty=level",
            "answer=",
        ]
    )
    report = import_file(store, path, mapping=mapping)
    assert report.ok, report.errors
    t = store.get(store.list_trajectories()["id"][0])
    assert (t.prompt_text, t.thinking, t.answer, t.model, t.source_id, t.gold) == (
        "Q",
        "t",
        "a",
        "m1",
        "u1",
        "a",
    )
    assert t.metadata == {"difficulty": 3, "answer": "a"}


def test_map_errors_are_clear(tmp_path: Path, store: Store) -> None:
    path = write_jsonl(tmp_path / "t.jsonl", ROWS)
    with pytest.raises(ImportFormatError, match="no field 'nope'"):
        import_file(store, path, mapping={"response": "nope"})
    with pytest.raises(ImportFormatError, match="expected target=source"):
        parse_mapping(["response"])
    with pytest.raises(ImportFormatError, match="does not exist"):
        import_file(store, tmp_path / "missing.jsonl")
    (tmp_path / "x.txt").write_text("hello")
    with pytest.raises(ImportFormatError, match="--format"):
        import_file(store, tmp_path / "x.txt")


def test_detect_layout_prefers_raw_response_over_extracted_answer() -> None:
    layout = detect_layout(
        ["question", "full_model_response", "model_answer", "expected_answer", "model"]
    )
    assert layout.fields["response"] == "full_model_response"
    assert layout.fields["gold"] == "expected_answer"
    assert "answer" not in layout.fields


def test_thinking_column_copied_into_response_is_not_double_counted(
    tmp_path: Path, store: Store
) -> None:
    rows = [
        {"id": "r", "response": "<think>Okay so.</think>", "thinking_process": "Okay so."},
        {
            "id": "b",
            "response": "system\nuser\nQ\nassistant\nThe answer.",
            "thinking_process": "The answer.",
        },
        {"id": "d", "response": "<think>Okay so.</think>", "thinking_process": "Something else"},
    ]
    import_file(store, write_jsonl(tmp_path / "t.jsonl", rows))
    rows_by = by_source_id(store)
    assert rows_by["r"]["think_format"] == "tags" and json.loads(rows_by["r"]["metadata"]) == {}
    assert rows_by["b"]["think_format"] == "none"
    assert json.loads(rows_by["d"]["metadata"]) == {"thinking_process": "Something else"}


def test_tags_and_default_model(tmp_path: Path, store: Store) -> None:
    rows = [{"prompt": "p", "response": "r"}]
    import_file(store, write_jsonl(tmp_path / "t.jsonl", rows), model="my-model", tags=["batch1"])
    t = store.get(store.list_trajectories()["id"][0])
    assert t.model == "my-model" and t.tags == ["batch1"]
    assert wb.Store(store.path).list_trajectories(tags="batch1").height == 1


def test_join_brings_in_fields_by_key(tmp_path: Path, store: Store) -> None:
    traces = write_jsonl(
        tmp_path / "t.jsonl",
        [{"question_id": "q1", "response": "r1"}, {"question_id": "q9", "response": "r9"}],
    )
    questions = write_jsonl(
        tmp_path / "q.jsonl", [{"question_id": "q1", "question": "What?", "level": 2}]
    )
    report = import_file(store, traces, join=questions, on="question_id")
    assert report.imported == 2 and report.unjoined == 1
    rows = {
        json.loads(r["metadata"])["question_id"]: r["id"]
        for r in store.list_trajectories().iter_rows(named=True)
    }
    joined = store.get(rows["q1"])
    assert joined.prompt_text == "What?" and joined.metadata["level"] == 2
    assert store.get(rows["q9"]).prompt == []
    with pytest.raises(ImportFormatError, match="no field 'nope'"):
        import_file(store, traces, join=questions, on="nope")
    with pytest.raises(ImportFormatError, match="--on"):
        import_file(store, traces, join=questions)
