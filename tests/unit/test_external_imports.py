"""Every trace source in ../shared/data/external imports completely, with the right think formats."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import polars as pl
import pytest

from workbench import Store, import_file

pytestmark = pytest.mark.external

SOURCES = {
    "pm_llm_benchmark_traces/traces.jsonl": 365,
    "from_thinking_to_output/traces.jsonl": 256,
    "steering_thinking_llms_annotated/annotated.jsonl": 560,
    "reasoning_gym_eval_scored/scored_answers.jsonl": 3808,
    "ifeval_google/input_response_data_gpt4_20231107_145030.shared.jsonl": 433,
    "llamafactory_dpo_demo/kto_en_demo.json": 300,
}


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Store:
    from tests.conftest import external_data_dir

    root = external_data_dir()
    if root is None:
        pytest.skip(
            "third-party data not found: set WORKBENCH_EXTERNAL_DATA to shared/data/external"
        )
    store = Store(tmp_path_factory.mktemp("ext") / "ext.db")
    for rel, expected in SOURCES.items():
        report = import_file(store, root / rel)
        assert report.errors == [], (rel, report.errors[:3])
        assert report.read == expected and report.imported == expected, rel
    return store


def _formats(store: Store, **filters) -> Counter:
    return Counter(store.list_trajectories(**filters)["think_format"].to_list())


def test_pm_llm_benchmark_think_formats(imported: Store) -> None:
    src = "pm_llm_benchmark_traces/traces.jsonl"
    assert _formats(imported, source=src, model="QwenQwQ-32B") == {"close_only": 37}
    assert _formats(imported, source=src, model="Qwen-3-32B-nothink") == {"empty": 41}
    zero = _formats(imported, source=src, model="deepseekdeepseek-r1-zerofree")
    assert zero == {"tags": 37, "none": 4}
    # R1-Zero rows without any tag are exactly the ones the data marks as such
    raw = [json.loads(line) for line in imported_path(src).read_text().splitlines()]
    untagged = {r["id"] for r in raw if not r["has_think_open"] and not r["has_think_close"]}
    none_ids = set(
        imported.list_trajectories(source=src, think_format="none")["source_id"].to_list()
    )
    assert none_ids == untagged
    for model in ("deepseek-aiDeepSeek-R1", "QwenQwen3-32B", "phi4-reasoning"):
        assert _formats(imported, source=src, model=model) == {"tags": 41}


def test_pm_llm_thinking_and_answer_are_sane(imported: Store) -> None:
    frame = imported.list_trajectories(
        source="pm_llm_benchmark_traces/traces.jsonl", think_format=["tags", "close_only"]
    )
    assert frame.filter(pl.col("thinking_chars") == 0).is_empty()
    assert frame.filter(pl.col("answer_chars") == 0).height <= 2  # truncated generations
    t = imported.get(frame["id"][0])
    assert "<think>" not in t.thinking[:10] and "</think>" not in t.answer
    assert json.loads(frame["metadata"][0])["judge_grade"] is not None


def test_separate_reasoning_sources_are_field(imported: Store) -> None:
    assert _formats(imported, source="from_thinking_to_output/traces.jsonl") == {"field": 256}
    t = imported.get(
        imported.list_trajectories(
            source="from_thinking_to_output/traces.jsonl", model="Deepseek-R1", limit=1
        )["id"][0]
    )
    assert t.thinking and t.answer and t.gold and t.prompt_text


def test_steering_traces(imported: Store) -> None:
    src = "steering_thinking_llms_annotated/annotated.jsonl"
    assert _formats(
        imported, source=src, model=["qwen2.5-14b-instruct", "llama-3.1-8b-instruct"]
    ) == {"none": 160}
    assert _formats(imported, source=src, model="deepseek-r1-distill-qwen-14b") == {"tags": 80}
    # the thinking column duplicates the tagged text, so it is not kept twice
    meta = imported.list_trajectories(source=src, model="deepseek-r1-distill-qwen-14b")[
        "metadata"
    ].to_list()
    assert sum("thinking_process" in json.loads(m) for m in meta) == 0


def test_answer_only_sources(imported: Store) -> None:
    rg = imported.list_trajectories(source="reasoning_gym_eval_scored/scored_answers.jsonl")
    assert rg.height == 3808 and set(rg["think_format"]) == {"none"}
    assert rg["gold"].null_count() == 0
    assert rg.filter(pl.col("answer_chars") == 0).height == 251  # real empty responses are kept
    assert _formats(
        imported, source="ifeval_google/input_response_data_gpt4_20231107_145030.shared.jsonl"
    ) == {"none": 433}


def test_preference_demo_imports_as_pairs(external: Path, tmp_path: Path) -> None:
    with Store(tmp_path / "dpo.db") as store:
        report = import_file(store, external / "llamafactory_dpo_demo/dpo_en_demo.json")
        assert report.errors == [] and report.read == 300
        assert report.pairs == store.list_pairs().height == report.imported // 2
        assert (
            report.imported + report.duplicates == 600
        )  # repeated records in the file are stored once


def imported_path(rel: str) -> Path:
    from tests.conftest import external_data_dir

    root = external_data_dir()
    assert root is not None
    return root / rel
