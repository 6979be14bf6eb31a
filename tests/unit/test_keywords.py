from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from workbench import Store, TokenArrays, Trajectory, import_file
from workbench.analysis._keyword_stats import keyword_counts, keyword_stats, keyword_summary
from workbench.analysis.keywords import LEXICONS, find_keywords, get_lexicon
from workbench.cli import main


def kws(text: str, lexicon="nowait") -> list[str]:
    return [h.keyword for h in find_keywords(text, lexicon=lexicon)]


def test_matching_rules() -> None:
    assert kws("WAIT. Wait, wait!") == ["wait", "wait", "wait"]  # case-insensitive
    assert kws("awaiting waits await") == []  # whole words only
    assert kws("Let me double-check that. I check it.") == ["double-check", "check"]  # counted once
    assert kws("double-checking is not a keyword") == []
    assert kws("so, therefore\nhmm", lexicon="mi_peaks") == ["so", "therefore", "hmm"]
    assert kws("let   me\ncheck it, let me verify", lexicon=["let me check", "check", "verify"]) == [
        "let me check", "verify"]  # fmt: skip
    assert kws("anyway, any_thing any") == ["any"]  # underscores are word characters
    assert kws("Alternatively, another alternative") == ["alternatively", "another", "alternative"]


def test_positions_and_offset() -> None:
    text = "Okay. Wait, no."
    (hit,) = find_keywords(text, lexicon="r1", offset=100)
    assert (hit.start, hit.end, hit.keyword) == (106, 110, "wait")


def test_lexicon_presets_and_errors() -> None:
    assert len(LEXICONS["nowait"].keywords) == 17
    assert LEXICONS["r1"].keywords[0] == "wait" and LEXICONS["mi_peaks"].keywords == (
        "hmm",
        "wait",
        "therefore",
        "so",
    )
    assert get_lexicon([" Wait ", "wait", "Hmm"]).keywords == ("wait", "hmm")
    with pytest.raises(ValueError, match="unknown lexicon"):
        get_lexicon("r2")
    with pytest.raises(ValueError, match="at least one"):
        get_lexicon(["", " "])


def traj(thinking: str, answer: str = "ok", **kw) -> Trajectory:
    return Trajectory.from_parts(thinking=thinking, answer=answer, **kw)


def test_keyword_stats_per_trajectory() -> None:
    a = traj(
        "one two Wait three four five but six", model="m1", metadata={"category": "x"}, grade=1.0
    )
    b = traj("nothing here at all", model="m1", metadata={"category": "y"}, grade=0.0)
    stats = keyword_stats([a, b], lexicon="r1")
    row = stats.row(0, named=True)
    assert row["hits"] == 2 and row["words"] == 8 and row["per_1k_words"] == pytest.approx(250.0)
    assert row["keywords"] == ["wait", "but"] and row["gaps_words"] == [3]
    assert row["first_hit_rel_pos"] == pytest.approx(a.thinking.index("Wait") / len(a.thinking))
    assert row["tokens"] is None and row["per_1k_tokens"] is None
    assert stats.row(1, named=True)["first_hit_rel_pos"] is None


def test_thinking_tokens_come_from_offsets() -> None:
    raw = "<think>\nwait a b\n</think>\n\nanswer"
    start = raw.index("wait")
    offsets = [
        [start, start + 4],
        [start + 4, start + 6],
        [start + 6, start + 8],
        [raw.index("answer"), len(raw)],
    ]
    t = Trajectory(raw=raw, tokens=TokenArrays(ids=np.arange(4), offsets=offsets))
    row = keyword_stats([t]).row(0, named=True)
    assert row["tokens"] == 3 and row["per_1k_tokens"] == pytest.approx(1000 / 3)


def test_summary_by_model_metadata_and_correctness() -> None:
    ts = [
        traj("wait wait", model="m1", metadata={"category": "x"}, grade=1.0),
        traj("no hits", model="m1", metadata={"category": "y"}, grade=0.0),
        traj("but", model="m2", metadata={"category": "x"}),
    ]
    stats = keyword_stats(ts)
    by_model = keyword_summary(stats, by="model")
    m1 = by_model.filter(pl.col("model") == "m1").row(0, named=True)
    assert (m1["traces"], m1["hits"], m1["words"]) == (2, 2, 4)
    assert m1["per_1k_words"] == pytest.approx(500.0) and m1["share_with_hit"] == pytest.approx(0.5)
    by_cat = keyword_summary(stats, by="category")
    assert by_cat["category"].to_list() == ["x", "y"] and by_cat["hits"].to_list() == [3, 0]
    by_correct = keyword_summary(stats, by="correct")
    assert by_correct["correct"].to_list() == [False, True, None]
    overall = keyword_summary(stats, by=None)
    assert overall["traces"][0] == 3 and overall["hits"][0] == 3
    counts = keyword_counts(stats, by="model")
    assert counts.filter(pl.col("model") == "m1").rows() == [("m1", "wait", 2)]


def independent_count(text: str, keywords: tuple[str, ...]) -> int:
    """Count hits without regular expressions: longest keyword first, whole words, no overlaps."""
    norm = " ".join(text.split()).lower()
    taken = [False] * len(norm)

    def is_word(ch: str) -> bool:
        return ch.isalnum() or ch == "_"

    total = 0
    for kw in sorted(set(keywords), key=len, reverse=True):
        start = norm.find(kw)
        while start != -1:
            end = start + len(kw)
            before_ok = start == 0 or not is_word(norm[start - 1])
            after_ok = end == len(norm) or not is_word(norm[end])
            if before_ok and after_ok and not any(taken[start:end]):
                total += 1
                for i in range(start, end):
                    taken[i] = True
            start = norm.find(kw, start + 1)
    return total


@pytest.mark.external
@pytest.mark.parametrize("lexicon", ["r1", "nowait", "mi_peaks"])
def test_hits_per_model_equal_an_independent_count(
    external: Path, tmp_path: Path, lexicon: str
) -> None:
    with Store(tmp_path / "pm.db") as store:
        import_file(store, external / "pm_llm_benchmark_traces" / "traces.jsonl")
        trajectories = list(store.iter_trajectories())
    stats = keyword_stats(trajectories, lexicon=lexicon)
    ours = dict(keyword_summary(stats, by="model").select("model", "hits").iter_rows())
    keywords = LEXICONS[lexicon].keywords
    theirs: Counter[str] = Counter()
    for t in trajectories:
        theirs[t.model] += independent_count(t.thinking, keywords)
    assert ours == dict(theirs)
    assert sum(ours.values()) > 1000


def test_cli_stats_keywords_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "k.db"
    with Store(db) as s:
        s.add_trajectories(
            [
                traj("wait, but wait", model="m1", metadata={"category": "x"}),
                traj("fine", model="m2", metadata={"category": "y"}),
            ]
        )
    assert (
        main(
            [
                "stats",
                "keywords",
                "--store",
                str(db),
                "--lexicon",
                "r1",
                "--by",
                "category",
                "--json",
            ]
        )
        == 0
    )
    rows = json.loads(capsys.readouterr().out)
    assert [r["category"] for r in rows] == ["x", "y"]
    required = {
        "traces",
        "hits",
        "words",
        "per_1k_words",
        "share_with_hit",
        "first_hit_rel_pos_median",
    }
    assert required <= set(rows[0])
    assert (rows[0]["hits"], rows[0]["words"], rows[0]["share_with_hit"]) == (3, 3, 1.0)
    assert main(["stats", "keywords", "--store", str(db), "--lexicon", "nope"]) == 2
    assert "unknown lexicon" in capsys.readouterr().err
