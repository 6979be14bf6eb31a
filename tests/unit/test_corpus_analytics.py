"""The corpus engine against the per-trace functions: exactly the same results."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import external_data_dir
from workbench import Trajectory
from workbench.analysis import patterns
from workbench.analysis._keyword_stats import keyword_stats, keyword_summary
from workbench.analysis._segment import STRATEGIES
from workbench.analysis.corpus import analyze_corpus, analyze_corpus_reference
from workbench.analysis.corpus.regex_dfa import UnsupportedPatternError, build_dfa, unique_end
from workbench.analysis.keywords import LEXICONS
from workbench.analysis.patterns import TAXONOMIES, PatternLabel, Taxonomy, rule_label
from workbench.think import parse_think

CUSTOM_LEXICON = ("let me check", "double-check", "hmm", "wait", "é")

PIECES = [
    "Wait", "wait", "WAIT", "Hmm", "hmm", "But", "but", "So", "so", "Okay", "okay", "Alternatively",
    "Let me", "let me check", "Let's", "hold on", "Hold\non", "double-check", "check", "checking",
    "verify", "mistake", "error", "retry", "evaluate", "however", "wrong", "Therefore", "thus",
    "final answer", "\\boxed", "the problem", "we are asked", "given", "steps", "step 2",
    "3 + 4", "2×3", "4 ÷ 2", "x² = 9", "12.5", "e.g.", "Dr.", "maybe", "perhaps", "I think",
    "not sure", "miscalculated", "confusing", "plug it back", "another way", "In summary",
    "in conclusion", "What if", "suppose", "no,", "Actually", "oops", "First,", "Next,", "Then",
    "Now, I", "so the answer", "So, overall", "café", "naïve", "Ünïcode", "是的", "wait了", "了wait",
    "“Wait”", "‘So’", "(Hmm)", "**Wait**", "# Plan", "- step", "_so_", '"Okay,', "'but'",
    "calculate", "compute", "sum", "total", "equals", "instead", "alternative", "unclear",
    "that's not right", "doesn't work", "i'm not sure", "plan", "approach", "strategy",
]  # fmt: skip
SEPARATORS = [
    " ", " ", " ", "  ", ". ", ". ", "? ", "! ", ", ", ".\n", "\n", "\n\n", "\n \n", "\n\t\n ",
    ".) ", ".” ", "?' ", "\r\n", "\u00a0", "\u2009", "\u3000", "\x1c", "\x0b", "-", "_", "",
    ". (", '. "', ". “",
]  # fmt: skip

texts = st.lists(
    st.one_of(st.sampled_from(PIECES), st.sampled_from(SEPARATORS), st.text(max_size=4)),
    max_size=40,
).map("".join)


def _check(batch: list[str], **kwargs: object) -> None:
    fast = analyze_corpus(batch, **kwargs)  # type: ignore[arg-type]
    ref_kwargs = {k: v for k, v in kwargs.items() if k in ("strategy", "taxonomy", "lexicon")}
    ref = analyze_corpus_reference(batch, **ref_kwargs)  # type: ignore[arg-type]
    seg = fast.segments.select(ref.segments.columns)
    assert seg.equals(ref.segments), (batch, seg, ref.segments)
    kw = fast.keywords.select(ref.keywords.columns)
    assert kw.equals(ref.keywords), (batch, kw, ref.keywords)
    # the keywords-only path (no segmentation) gives the same keyword statistics
    kw_kwargs = {k: v for k, v in kwargs.items() if k in ("lexicon", "chunk_bytes")}
    only = analyze_corpus(batch, segments=False, **kw_kwargs)  # type: ignore[arg-type]
    assert only.segments.height == 0
    kw_only = only.keywords.select(ref.keywords.columns)
    assert kw_only.equals(ref.keywords), (batch, kw_only, ref.keywords)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(texts, min_size=1, max_size=6))
def test_equal_to_per_trace_functions_default(batch: list[str]) -> None:
    _check(batch)


@pytest.mark.parametrize("taxonomy", sorted(TAXONOMIES))
@pytest.mark.parametrize("lexicon", [*sorted(LEXICONS), "custom"])
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=st.lists(texts, min_size=1, max_size=5))
def test_equal_for_every_preset(batch: list[str], taxonomy: str, lexicon: str) -> None:
    lex = CUSTOM_LEXICON if lexicon == "custom" else lexicon
    _check(batch, taxonomy=taxonomy, lexicon=lex)


@pytest.mark.parametrize("strategy", STRATEGIES)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=st.lists(texts, min_size=1, max_size=5))
def test_equal_for_every_strategy(batch: list[str], strategy: str) -> None:
    _check(batch, strategy=strategy)


def test_fallback_rules_for_unsupported_syntax() -> None:
    # a backreference and a long lookahead cannot be a DFA: Python's re runs them
    tax = TAXONOMIES["dto"].with_rules(
        "backtracking", opening=[r"(?=no\b)no"], anywhere=[r"\b(\w)\1\b", r"wait(?= a)"]
    )
    batch = ["Wait a moment. No, aa is wrong.", "no way: wait a bit, bb and cc", ""]
    _check(batch, taxonomy=tax)
    with pytest.raises(UnsupportedPatternError):
        build_dfa([r"(\w)\1"])


def test_non_integral_weight_rounds_each_share(monkeypatch: pytest.MonkeyPatch) -> None:
    # with a non-integral opening weight there is no table of confidences: each distinct share
    # is rounded after the kernel, on the fast path and on the fallback path
    monkeypatch.setattr(patterns, "OPENING_WEIGHT", 2.5)
    batch = [
        "Okay, so the problem asks for 2 + 2.\n\nWait, let me check: it is 4. Therefore 4.",
        "Alternatively, compute 3 * 5 = 15. Hmm, that's not right. Let me verify the total.",
        "",
    ]
    _check(batch)
    fallback = TAXONOMIES["dto"].with_rules("backtracking", anywhere=[r"\b(\w)\1\b"])
    _check(batch, taxonomy=fallback)


def test_non_unique_end_rule_falls_back() -> None:
    # "sum" or "summary" from one start: leftmost-first needs backtracking order
    rule = r"\b(sum|summary)"
    assert not unique_end(build_dfa([rule]))
    tax = Taxonomy("t", (PatternLabel("a", "a", anywhere=(rule,)), PatternLabel("b", "b")), "b")
    _check(["In summary, the sum is 4. Summary: summary sum."], taxonomy=tax)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=st.lists(texts, min_size=2, max_size=8), chunk_bytes=st.integers(1, 200))
def test_chunks_reuse_buffers(batch: list[str], chunk_bytes: int) -> None:
    # many small chunks share one set of output buffers: nothing may leak from chunk to chunk
    _check(batch, chunk_bytes=chunk_bytes)
    _check(batch, chunk_bytes=chunk_bytes, taxonomy="thought_anchors", lexicon="mi_peaks")


_BOUNDS_SCRIPT = """
from workbench.analysis.corpus import analyze_corpus
from workbench.analysis.patterns import TAXONOMIES
fallback = TAXONOMIES["dto"].with_rules("backtracking", anywhere=[r"\\b(\\w)\\1\\b"])
batch = ["Wait a moment. No, aa is wrong.", "", "   ", "café naïve 是的 wait了. Hmm,\\n\\nSo 2+2=4.",
         "x" * 300, "Okay.\\n\\nAlternatively, let me check. " * 20]
for strategy in ("paragraphs", "sentences", "cues"):
    for taxonomy in ("dto", fallback):
        for labels in (True, False):
            for keywords in (True, False):
                for chunk_bytes in (1, 50, 10**6):
                    analyze_corpus(batch, strategy=strategy, taxonomy=taxonomy, labels=labels,
                                   keywords=keywords, chunk_bytes=chunk_bytes)
for lexicon in ("r1", "nowait", ("let me check", "é", "double-check")):
    for chunk_bytes in (1, 50, 10**6):
        analyze_corpus(batch, segments=False, lexicon=lexicon, chunk_bytes=chunk_bytes)
print("in bounds")
"""


def test_kernels_stay_in_bounds(tmp_path: Path) -> None:
    # numba does not check indices, and an out-of-bounds write corrupts memory silently (crashes
    # come later, elsewhere): compile the kernels afresh with bounds checks and run every path
    env = {**os.environ, "NUMBA_BOUNDSCHECK": "1", "NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    proc = subprocess.run(
        [sys.executable, "-c", _BOUNDS_SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0 and "in bounds" in proc.stdout, proc.stderr[-3000:]


def test_input_forms_and_errors() -> None:
    batch = ["Okay, so the problem asks for 2 + 2.\n\nWait, let me check: it is 4.", "", "   "]
    frame = pl.DataFrame({"id": ["a", "b", "c"], "thinking": batch, "model": ["m", "m", "n"]})
    out = analyze_corpus(frame)
    assert out.segments.get_column("id").to_list() == ["a", "a"]
    assert out.keywords.get_column("id").to_list() == ["a", "b", "c"]
    summary = keyword_summary(out.keywords, by="model")
    assert summary.get_column("traces").to_list() == [2, 1]
    assert analyze_corpus(pl.Series(batch)).segments.height == 2
    with pytest.raises(TypeError, match="String"):
        analyze_corpus(pl.DataFrame({"id": [1], "thinking": [3]}))
    with pytest.raises(ValueError, match="null"):
        analyze_corpus(pl.DataFrame({"thinking": ["a", None]}))
    with pytest.raises(ValueError, match="'thinking' column"):
        analyze_corpus(pl.DataFrame({"text": ["a"]}))
    with pytest.raises(TypeError, match="str"):
        analyze_corpus(["a", 3])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="labels need segments"):
        analyze_corpus(batch, segments=False, labels=True)
    assert analyze_corpus([], segments=False).keywords.height == 0
    with pytest.raises(ValueError, match="unknown segmentation strategy"):
        analyze_corpus(batch, strategy="words")
    empty = analyze_corpus([])
    assert empty.segments.height == 0 and empty.keywords.height == 0


def test_matches_keyword_stats_on_trajectories() -> None:
    batch = ["Wait, but the error... let me verify. Hmm, wrong!", "No keywords here.", "check"]
    trajs = [Trajectory.from_parts(thinking=t, answer="x") for t in batch]
    stats = keyword_stats(trajs)
    out = analyze_corpus(pl.DataFrame({"id": [t.id for t in trajs], "thinking": batch}))
    cols = ["id", "thinking_chars", "words", "hits", "per_1k_words", "first_hit_rel_pos",
            "hit_rel_positions", "gaps_words", "keywords"]  # fmt: skip
    assert out.keywords.select(cols).equals(stats.select(cols))


def test_rules_are_ascii_and_reject_empty_matches() -> None:
    assert rule_label("wait了, something").label == "backtracking"
    assert rule_label("Étape: we need to go").scores["planning"] == 0.0
    with pytest.raises(ValueError, match="empty string"):
        PatternLabel("x", "x", anywhere=(r"(maybe)?",))
    with pytest.raises(ValueError, match="invalid"):
        PatternLabel("x", "x", opening=(r"(unclosed",))


def _real_traces() -> list[str]:
    data = external_data_dir()
    assert data is not None
    out = []
    for rel, field in (
        ("pm_llm_benchmark_traces/traces.jsonl", "response"),
        ("steering_thinking_llms_annotated/annotated.jsonl", "response"),
        ("from_thinking_to_output/traces.jsonl", "reasoning"),
    ):
        for line in (data / rel).read_text(encoding="utf-8").splitlines():
            if line.strip():
                value = json.loads(line).get(field)
                if isinstance(value, str):
                    p = (
                        parse_think("", reasoning=value)
                        if field == "reasoning"
                        else parse_think(value)
                    )
                    if p.thinking:
                        out.append(p.thinking)
    return out


@pytest.mark.external
def test_equal_on_real_traces(external: object) -> None:
    batch = _real_traces()
    assert len(batch) > 900
    _check(batch)
    # another taxonomy and lexicon on a sample
    sample = [batch[i] for i in np.random.default_rng(0).choice(len(batch), 150, replace=False)]
    _check(sample, taxonomy="venhoff", lexicon="nowait")
