"""``export traces`` -> ``import`` round trips, the Hugging Face cache lookup, files of the named
layouts generated at test time (contents the fixtures do not have), and the CLI.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import polars as pl
import pytest

from workbench import ImportFormatError, Store, Trajectory, import_file
from workbench.cli import main
from workbench.export import export_traces
from workbench.store.importers import parse_hf_spec, resolve_hf

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "importing"
REAL = {
    "pm_llm_benchmark_traces/traces.jsonl": 365,
    "from_thinking_to_output/traces.jsonl": 256,
    "llamafactory_dpo_demo/dpo_en_demo.json": 300,
}


def same(a: Trajectory, b: Trajectory) -> None:
    da, db = a.to_dict(), b.to_dict()
    da.pop("tokens"), db.pop("tokens")
    assert da == db


def a_store(path: Path) -> Store:
    store = Store(path)
    for name in ("openr1_math.jsonl", "inspect_log.json", "s1k_1.1.jsonl", "trl_preference.jsonl"):
        import_file(store, FIXTURES / name)
    first = next(iter(store.iter_trajectories()))
    store.update(first.id, tags=["kept"], metadata={"note": "ünïcode", "n": [1, 2.5, None]})
    return store


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_export_traces_round_trips_field_for_field(fmt: str, tmp_path: Path) -> None:
    src = a_store(tmp_path / "a.db")
    out = export_traces(src, tmp_path / f"traces.{fmt}")
    assert out.rows == len(src) and out.format == fmt
    dst = Store(tmp_path / "b.db")
    report = import_file(dst, out.path)
    assert report.errors == [] and report.layout_name == "workbench_traces"
    assert report.imported == len(src)
    for t in src.iter_trajectories():
        same(t, dst.get(t.id))
    again = import_file(dst, out.path)
    assert (again.imported, again.duplicates) == (0, len(src))
    # into the store it came from: nothing new either
    assert import_file(src, out.path).imported == 0


def test_parquet_export_is_a_flat_corpus(tmp_path: Path) -> None:
    src = a_store(tmp_path / "a.db")
    out = export_traces(src, tmp_path / "t.parquet")
    frame = pl.scan_parquet(out.path).group_by("model").agg(pl.len()).collect()
    assert frame["len"].sum() == len(src)
    df = pl.read_parquet(out.path)
    assert df.schema["thinking_chars"] == pl.Int64 and df.schema["tags"] == pl.List(pl.String)
    row = df.filter(pl.col("grader") == "math_verify").row(0, named=True)
    assert row["grade_correct"] is True and json.loads(row["prompt"])[0]["role"] == "user"


def test_empty_store_exports_an_empty_readable_file(tmp_path: Path) -> None:
    out = export_traces(Store(tmp_path / "e.db"), tmp_path / "e.parquet")
    assert out.rows == 0 and pl.read_parquet(out.path).height == 0


def test_shared_real_traces_round_trip(external: Path, tmp_path: Path) -> None:
    src = Store(tmp_path / "real.db")
    for rel, n in REAL.items():
        report = import_file(src, external / rel)
        assert report.errors == [] and report.read == n, rel
    for fmt in ("jsonl", "parquet"):
        out = export_traces(src, tmp_path / f"real.{fmt}")
        dst = Store(tmp_path / f"back-{fmt}.db")
        report = import_file(dst, out.path)
        assert report.errors == [] and report.imported == len(src) == len(dst)
        for t in src.iter_trajectories():
            same(t, dst.get(t.id))


# -- files of the layouts with contents the fixtures do not have --------------------------------
def _generated(rng: random.Random, n: int) -> tuple[dict[str, list[dict]], list[dict]]:
    """Write records of several layouts from random values; return them and the expected fields."""
    files: dict[str, list[dict]] = {
        "r1.jsonl": [],
        "s1k.jsonl": [],
        "chat.jsonl": [],
        "ot.jsonl": [],
    }
    expected: list[dict] = []
    words = ["alpha", "beta", "gamma", "delta", "wait", "so", "7", "x^2", "é", "数"]

    def text() -> str:
        return " ".join(rng.choice(words) for _ in range(rng.randint(1, 12)))

    for i in range(n):
        q, gold = f"{text()} #{i}?", text()
        gens = [(text(), text(), rng.random() < 0.5) for _ in range(rng.randint(1, 3))]
        files["r1.jsonl"].append(
            {"problem": q, "answer": gold, "uuid": f"u{i}", "solution": text(),
             "generations": [f"<think>\n{t}\n</think>\n\n{a}" for t, a, _ in gens],
             "correctness_math_verify": [c for _, _, c in gens]}
        )  # fmt: skip
        expected += [
            {"source": "r1.jsonl", "prompt": q, "thinking": t, "answer": a, "gold": gold,
             "correct": c, "model": None}
            for t, a, c in gens
        ]  # fmt: skip
        t, a, m = text(), text(), rng.choice(["deepseek", "gemini"])
        files["s1k.jsonl"].append(
            {"question": q, "solution": gold, f"{m}_thinking_trajectory": t, f"{m}_attempt": a,
             f"{m}_grade": rng.choice(["Yes", "No"])}
        )  # fmt: skip
        expected.append({"source": "s1k.jsonl", "prompt": q, "thinking": t, "answer": a,
                         "gold": gold, "model": {"deepseek": "deepseek-r1"}.get(m, "gemini-2.0-flash-thinking"),
                         "correct": files["s1k.jsonl"][-1][f"{m}_grade"] == "Yes"})  # fmt: skip
        t, a = text(), text()
        key = rng.choice(["reasoning", "reasoning_content"])
        files["chat.jsonl"].append(
            {"id": f"c{i}", "model": f"m{i % 3}",
             "choices": [{"index": 0, "message": {"role": "assistant", "content": a, key: t}}]}
        )  # fmt: skip
        expected.append({"source": "chat.jsonl", "prompt": "", "thinking": t, "answer": a,
                         "gold": None, "model": f"m{i % 3}", "correct": None})  # fmt: skip
        t, a = text(), text()
        files["ot.jsonl"].append(
            {"system": "s", "conversations": [
                {"from": "human", "value": q},
                {"from": "gpt", "value": f"<|begin_of_thought|>\n{t}\n<|end_of_thought|>\n\n"
                                         f"<|begin_of_solution|>\n{a}\n<|end_of_solution|>"}]}
        )  # fmt: skip
        expected.append({"source": "ot.jsonl", "prompt": q, "thinking": t, "answer": a,
                         "gold": None, "model": None, "correct": None})  # fmt: skip
    return files, expected


@pytest.mark.parametrize("seed", [1, 2])
def test_generated_files_of_the_layouts_import_every_field(
    seed: int, tmp_path: Path, store: Store
) -> None:
    files, expected = _generated(random.Random(seed), 25)
    for name, records in files.items():
        path = tmp_path / name
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
        report = import_file(store, path, source=name)
        assert report.errors == [] and report.read == len(records)
    got = [
        {"source": t.source, "prompt": t.prompt_text, "thinking": t.thinking, "answer": t.answer,
         "gold": t.gold, "model": t.model, "correct": None if t.grade is None else t.grade.correct}
        for t in store.iter_trajectories()
    ]  # fmt: skip
    key = lambda d: json.dumps(d, sort_keys=True)  # noqa: E731
    assert sorted(got, key=key) == sorted(expected, key=key)


# -- the local Hugging Face cache ----------------------------------------------------------------
def test_hf_spec_parsing() -> None:
    assert parse_hf_spec("hf://open-r1/OpenR1-Math-220k:train") == (
        "open-r1/OpenR1-Math-220k",
        "train",
    )
    assert parse_hf_spec("org/name") == ("org/name", None)
    with pytest.raises(ImportFormatError, match="expected hf://org/name"):
        parse_hf_spec("hf://")


def test_hf_hub_cache_is_read_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    snap = tmp_path / "hf" / "hub" / "datasets--me--r1mini" / "snapshots" / "abc123"
    (snap / "data").mkdir(parents=True)
    (tmp_path / "hf" / "hub" / "datasets--me--r1mini" / "refs").mkdir()
    (tmp_path / "hf" / "hub" / "datasets--me--r1mini" / "refs" / "main").write_text("abc123")
    lines = (FIXTURES / "openr1_math.jsonl").read_text().splitlines()
    pl.DataFrame([json.loads(lines[0])]).write_parquet(
        snap / "data" / "train-00000-of-00001.parquet"
    )
    (snap / "data" / "test.jsonl").write_text(lines[1] + "\n")
    (snap / "README.md").write_text("card")
    files, source = resolve_hf("hf://me/r1mini")
    assert source == "hf:me/r1mini" and sorted(s for _, s in files) == ["test", "train"]
    with Store(tmp_path / "s.db") as store:
        report = import_file(store, "hf://me/r1mini:train")
        assert report.errors == [] and report.layout_name == "openr1_math" and report.imported == 3
        t = next(iter(store.iter_trajectories()))
        assert t.source == "hf:me/r1mini:train" and t.metadata["split"] == "train"
        assert import_file(store, "hf://me/r1mini:train").imported == 0
    with pytest.raises(ImportFormatError, match="no split 'dev'.*test, train"):
        resolve_hf("hf://me/r1mini:dev")


def test_hf_datasets_cache_arrow_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pyarrow as pa

    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    folder = tmp_path / "hf" / "datasets" / "me___s1k-mini" / "default" / "0.0.0" / "f00"
    folder.mkdir(parents=True)
    table = pa.Table.from_pylist(
        [json.loads(x) for x in (FIXTURES / "s1k_1.1.jsonl").read_text().splitlines()]
    )
    with (
        pa.OSFile(str(folder / "s1k-mini-train.arrow"), "wb") as sink,
        pa.ipc.new_stream(sink, table.schema) as w,
    ):
        w.write_table(table)
    with Store(tmp_path / "s.db") as store:
        report = import_file(store, "hf://me/s1k-mini")
        assert report.errors == [] and report.layout_name == "s1k" and report.imported == 4


def test_hf_not_cached_says_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty"))
    with pytest.raises(ImportFormatError, match="not in the local cache.*huggingface-cli download"):
        import_file(Store(tmp_path / "s.db"), "hf://nobody/nothing")


def test_hf_save_to_disk_folder(tmp_path: Path, store: Store) -> None:
    datasets = pytest.importorskip("datasets")
    rows = [json.loads(x) for x in (FIXTURES / "trl_preference.jsonl").read_text().splitlines()]
    datasets.Dataset.from_list(rows).save_to_disk(str(tmp_path / "prefs"))
    report = import_file(store, tmp_path / "prefs")
    assert report.errors == [] and report.pairs == 2 and report.layout_name == "trl_preference"


# -- the CLI -------------------------------------------------------------------------------------
def test_cli_import_layouts_and_export_traces(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db = str(tmp_path / "cli.db")
    assert main(["import", str(FIXTURES / "openr1_math.jsonl"), str(FIXTURES / "chat_stream.jsonl"),
                 "--store", db]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "layout: openr1_math" in out and "layout: chat_completion_chunks" in out
    assert "think formats: tags 3, unterminated 1" in out and "models: Qwen/Qwen3-8B 2" in out
    assert (
        main(["import", str(FIXTURES / "s1k.jsonl"), "--layout", "s1k", "--store", db, "--json"])
        == 0
    )
    report = json.loads(capsys.readouterr().out)[0]
    assert report["layout_name"] == "s1k" and report["models"] == {"gemini-2.0-flash-thinking": 2}
    target = tmp_path / "corpus.parquet"
    assert main(["export", "traces", "--store", db, "--out", str(target)]) == 0
    assert "wrote 8 trajectories" in capsys.readouterr().out
    db2 = str(tmp_path / "cli2.db")
    assert main(["import", str(target), "--store", db2]) == 0
    assert "layout: workbench_traces" in capsys.readouterr().out
    monkeypatch.setenv("HF_HOME", str(tmp_path / "nohf"))
    assert main(["import", "--hf", "org/missing", "--store", db2]) != 0
    assert "not in the local cache" in capsys.readouterr().err
