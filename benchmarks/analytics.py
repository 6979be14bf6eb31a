"""Benchmark of the corpus engine (:func:`workbench.analysis.corpus.analyze_corpus`) at 1 GB.

What is measured
----------------
The thinking of the shared real traces (``../shared/data/external``, ``$WORKBENCH_EXTERNAL_DATA``
or ``--data``): ``pm_llm_benchmark_traces/traces.jsonl`` (``response``),
``steering_thinking_llms_annotated/annotated.jsonl`` (``response``) and
``from_thinking_to_output/traces.jsonl`` (``reasoning``), each parsed with
:func:`workbench.think.parse_think` (about 976 non-empty thinkings, 6.6 MB), is resampled with
replacement (seeded with ``--seed``) until the corpus has at least ``--traces`` traces (default
100,000) and ``--mb`` MB of UTF-8 thinking (default 1,074 MB, i.e. at least 1 GiB). Building it
is not timed.

``workbench_s``
    Wall time of :func:`analyze_corpus` on a polars frame with ``id`` and ``thinking`` columns:
    segmentation (``cues``), the rule labels of ``--taxonomy`` (default ``dto``) and the keyword
    statistics of ``--lexicon`` (default ``r1``), from the frame to the two result frames.
``baseline_s``
    Wall time of :func:`analyze_corpus_reference`, the straightforward per-trace pure-Python
    implementation on a list of strings: :func:`segment_text`, :func:`rule_label` on each
    segment, :func:`find_keywords`, :func:`count_words` and :func:`relative_positions`, as
    ``label_segments`` and ``keyword_stats`` use them.
``speedup``, ``mb_per_s``
    ``baseline_s / workbench_s`` and ``mb / workbench_s``.

Both results are asserted equal (every segment span, label and confidence, and every keyword
column) before anything is printed. Targets: speedup >= 20 and >= 100 MB/s on two cores.

Usage
-----
``python benchmarks/analytics.py --json`` prints exactly one JSON object
``{"traces", "mb", "workbench_s", "baseline_s", "speedup", "mb_per_s"}`` on stdout; progress and
the engine's stage timings go to stderr. The default run takes 10-20 minutes, nearly all of it the
baseline; ``--traces 2000 --mb 20`` gives a quick one. Memory stays under about 8 GB.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import sys
import time
from pathlib import Path

import polars as pl

from workbench.analysis.corpus import analyze_corpus, analyze_corpus_reference
from workbench.think import parse_think

REPO = Path(__file__).resolve().parents[1]
SOURCES = (
    ("pm_llm_benchmark_traces/traces.jsonl", "response"),
    ("steering_thinking_llms_annotated/annotated.jsonl", "response"),
    ("from_thinking_to_output/traces.jsonl", "reasoning"),
)
DEFAULT_TRACES = 100_000
DEFAULT_MB = 1074.0
DEFAULT_SEED = 0


def log(message: str) -> None:
    print(f"[bench-analytics] {message}", file=sys.stderr, flush=True)


def load_thinking(data: Path) -> list[str]:
    """The non-empty thinking of every trace in the shared files (see the module docstring)."""
    out: list[str] = []
    for rel, field in SOURCES:
        with (data / rel).open(encoding="utf-8") as f:
            for line in f:
                if not line.strip():
                    continue
                value = json.loads(line).get(field)
                if not isinstance(value, str):
                    continue
                parsed = (
                    parse_think("", reasoning=value) if field == "reasoning" else parse_think(value)
                )
                if parsed.thinking:
                    out.append(parsed.thinking)
    return out


def resample(texts: list[str], *, traces: int, mb: float, seed: int) -> list[str]:
    """Draw traces with replacement until there are ``traces`` of them and ``mb`` MB."""
    rng = random.Random(seed)
    sizes = [len(t.encode("utf-8")) for t in texts]
    out: list[str] = []
    total = 0
    while len(out) < traces or total < mb * 1e6:
        i = rng.randrange(len(texts))
        out.append(texts[i])
        total += sizes[i]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--traces", type=int, default=DEFAULT_TRACES)
    parser.add_argument("--mb", type=float, default=DEFAULT_MB, help="MB of thinking (UTF-8)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--data", type=Path, default=None, help="the external data folder")
    parser.add_argument("--taxonomy", default="dto")
    parser.add_argument("--lexicon", default="r1")
    args = parser.parse_args()
    env = os.environ.get("WORKBENCH_EXTERNAL_DATA")
    data = args.data or (Path(env) if env else REPO.parent / "shared" / "data" / "external")
    if not data.is_dir():
        sys.exit(f"external data not found at {data}: use --data or $WORKBENCH_EXTERNAL_DATA")

    real = load_thinking(data)
    log(f"{len(real)} real thinkings, {sum(len(t.encode()) for t in real) / 1e6:.1f} MB")
    texts = resample(real, traces=args.traces, mb=args.mb, seed=args.seed)
    ids = [f"t{i}" for i in range(len(texts))]
    frame = pl.DataFrame({"id": ids, "thinking": texts})
    mb = frame.get_column("thinking").str.len_bytes().sum() / 1e6
    log(f"corpus: {len(texts)} traces, {mb:.1f} MB")

    # compile the kernels and tables outside the timed region (numba caches them on disk)
    analyze_corpus(real[:20], taxonomy=args.taxonomy, lexicon=args.lexicon)
    gc.collect()
    t0 = time.perf_counter()
    fast = analyze_corpus(frame, taxonomy=args.taxonomy, lexicon=args.lexicon)
    workbench_s = time.perf_counter() - t0
    stages = {k: round(v, 3) for k, v in fast.timings.items()}
    log(f"workbench: {workbench_s:.2f} s ({mb / workbench_s:.0f} MB/s); stages {stages}")
    log(f"{fast.segments.height} segments")

    log("baseline: per-trace pure Python (this is the long part)")
    t0 = time.perf_counter()
    ref = analyze_corpus_reference(texts, ids=ids, taxonomy=args.taxonomy, lexicon=args.lexicon)
    baseline_s = time.perf_counter() - t0
    log(f"baseline: {baseline_s:.1f} s ({mb / baseline_s:.2f} MB/s)")

    segments = fast.segments.select(ref.segments.columns)
    assert segments.equals(ref.segments), "segments differ from the per-trace functions"
    keywords = fast.keywords.select(ref.keywords.columns)
    assert keywords.equals(ref.keywords), "keyword statistics differ from the per-trace functions"
    log("results are identical")

    out = {
        "traces": len(texts),
        "mb": round(mb, 1),
        "workbench_s": round(workbench_s, 2),
        "baseline_s": round(baseline_s, 1),
        "speedup": round(baseline_s / workbench_s, 1),
        "mb_per_s": round(mb / workbench_s, 1),
    }
    if args.json:
        print(json.dumps(out))
        return
    for key, value in out.items():
        print(f"{key:>12}: {value}")


if __name__ == "__main__":
    main()
