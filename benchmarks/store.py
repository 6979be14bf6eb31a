"""Benchmark of the SQLite store (:class:`workbench.store.Store`) at 100,000 trajectories.

What is measured
----------------
A synthetic store of ``--n`` (default 100,000) trajectories is built in a temporary directory
(removed at the end). Each trajectory has a prompt of 100–1,000 characters, 2,000–20,000
characters of thinking (uniformly random length) and an answer of 100–1,500 characters, cut at
random offsets from a few-MB pre-built corpus of random reasoning-like sentences (with the
occasional "Wait," and "Hmm,"); a model name out of six; ``source``/``source_id``; and metadata
``{"category", "question_id", "judge_grade"}``. The texts are generated outside the timed regions.

``ingest_traces_per_s``
    ``n`` divided by the wall time of constructing the :class:`~workbench.Trajectory` objects from
    their raw ``<think>…</think>`` strings (which parses and validates them) and storing them with
    :meth:`Store.add_trajectories` in batches of 2,000. Only construction and ``add_trajectories`` are timed.
    Adding does not index the text for search (the index is deferred; searches stay exact by
    scanning what is not indexed yet), so the indexing is timed on its own:
``index_traces_per_s`` (and ``index_s``, ``ingest_and_index_traces_per_s``)
    ``n`` divided by the wall time of :meth:`Store.index_search` right after ingest, which puts
    every trajectory in the FTS5 trigram index; the combined figure is ``n`` over ingest plus
    indexing (what a synchronous index would have cost).
``annotate_p99_ms`` (and ``annotate_p50_ms``)
    After ingest, a fresh :class:`Store` on the same file times 1,000 individual
    :meth:`Store.add_annotation` calls on random trajectories, mixing ``rating`` (1–5), ``label``,
    ``verdict`` (chosen/rejected) and ``note`` annotations. Each call is durable when it returns.
``search_ms`` (and ``search_queries``)
    With every store closed: a fresh :class:`Store` times :meth:`Store.search` for the first page
    (20 ids, each with a snippet) *with its total*, for each query of :data:`SEARCHES` (a word in
    almost every trace, a phrase in a few percent, a boxed answer in about 0.1%, a word in none,
    a phrase of common trigrams, and a two-character text, which no trigram index can answer and
    scans every row). Each query runs 3 times; the median is kept. ``search_ms`` is the slowest
    median of the indexed (three or more characters) queries; ``search_queries`` has every
    query's median, total, whether the total is exact, and the two-character scan.
``search_index_mb``
    The size of the FTS5 index (``dbstat``, when this SQLite has it).
``open_and_list_100k_s`` (and ``open_and_list_first_s``)
    With every store closed, after the listing cache was written (``cache_listing_s``): wall
    time of ``Store(path)`` plus ``store.list_trajectories()`` returning all rows
    as a polars DataFrame. Repeated 3 times; the median is reported, and the first run (the
    coldest, though the file is still in the OS page cache) separately.
``open_and_list_uncached_s``, ``polars_read_database_s`` and ``list_vs_polars``
    Before the listing cache is written: the same listing from a read-only store (rows through
    Python's ``sqlite3``), and what a researcher would write instead, ``pl.read_database`` of
    the same columns on an ``sqlite3`` connection. ``list_vs_polars`` is
    ``polars_read_database_s / open_and_list_100k_s``.
``cache_listing_s``
    Wall time of :meth:`Store.cache_listing` after indexing (what ``workbench index`` and
    ``workbench import`` do after an import): the listing's columns written as compressed Arrow
    chunks inside the file, which ``open_and_list`` then reads.
``open_and_first_page_s``
    What a browser of the store waits for: ``Store(path)``, the first 50 rows of
    ``list_trajectories(limit=50)`` and the exact total ``store.count()`` (median of 3).

Targets (for context; nothing here depends on them)
----------------------------------------------------
* ingest >= 5,000 traces/s;
* annotate p99 < 20 ms;
* open + list 100k < 1 s;
* search (first page with a total) < 200 ms; at 1M (``--million``): open + list < 1 s.

At ``--n 1000000`` (or ``--million``) the result also carries ``search_1m_ms``,
``open_and_list_1m_s`` and ``ingest_1m_traces_per_s`` (the same figures, named for the 1M target).

Usage
-----
``python benchmarks/store.py --json`` prints exactly one JSON object on stdout (progress goes to
stderr); without ``--json`` a short human-readable summary is printed. ``--n`` gives a smaller
store for quick runs (``--million`` a 1,000,000-trajectory one: about 14 GB of text in the
temporary directory, ``--tmp`` chooses where), ``--seed`` seeds the generator, and ``--profile`` prints a cProfile summary
of each timed phase to stderr (it slows the phases down, so the reported numbers then overstate
the cost).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import gc
import io
import json
import platform
import pstats
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

import workbench
from workbench import Store, Trajectory

BATCH = 2_000
N_ANNOTATIONS = 1_000
LIST_REPEATS = 3
CORPUS_CHARS = 4_000_000

TARGETS = {
    "ingest_traces_per_s": ">= 5000",
    "annotate_p99_ms": "< 20",
    "open_and_list_100k_s": "< 1",
    "search_ms": "< 200",
}
SEARCH_REPEATS = 3
SEARCH_PAGE = 20
SEARCHES: dict[str, str] = {
    "common_word": "wait",
    "phrase": "Hmm, maybe",
    "boxed_answer": "\\boxed{123}",
    "absent_word": "zebra",
    "common_trigrams": "the sum of the",
    "two_chars": "x^",
}
"""Queries timed by the search phase (name: text)."""

MODELS = (
    "DeepSeek-R1",
    "QwQ-32B",
    "Qwen3-8B",
    "Qwen3-32B",
    "DeepSeek-R1-Distill-Llama-8B",
    "gpt-oss-20b",
)
CATEGORIES = ("math", "code", "science", "logic", "instruction_following", "trivia")
LABELS = ("backtracking", "verification", "exploration", "subgoal", "hallucination", "restatement")
VERDICTS = ("chosen", "rejected")
SOURCE = "bench/synthetic.jsonl"

_WORD_TEXT = (
    "the a an we so then if it is are was be this that these those of to in on for with by from "
    "as at or and but not no yes all each every some any number value sum product equation term "
    "terms side sides angle triangle circle radius area length point points line lines function "
    "derivative integral limit root roots factor factors prime even odd integer integers real "
    "answer question problem case cases step steps condition constraint result results check "
    "compute calculate substitute simplify expand solve assume suppose consider notice note recall "
    "since because therefore thus hence so maybe perhaps actually right wrong correct incorrect "
    "first second third next last again also only just still now here there let me us our "
    "gives give got get need needs want means mean equal equals greater less than more fewer "
    "total count counted counting ways way possible impossible between within without into over "
    "under both either neither other another same different smaller larger minimum maximum "
    "divide divided multiply multiplied add added subtract subtracted times plus minus squared "
    "cube square modulo remainder pattern sequence series digit digits positive negative zero "
    "one two three four five six seven eight nine ten hundred thousand x y z n k m a_n f(x) "
    "probability expected string array list index loop code output input test tests edge"
)
_WORDS = tuple(_WORD_TEXT.split())
_OPENERS = ("Wait,", "Hmm,", "So", "Let me", "Okay,", "Alternatively,", "But", "Now", "Then")


def log(message: str) -> None:
    """Progress line on stderr (stdout is reserved for the result)."""
    print(f"[bench-store] {message}", file=sys.stderr, flush=True)


# -- synthetic data -----------------------------------------------------------------------------
def build_corpus(rng: random.Random, n_chars: int) -> str:
    """Return ``n_chars`` (or slightly more) of random reasoning-like prose."""
    parts: list[str] = []
    size = 0
    numbers = [str(i) for i in range(13)] + ["100", "2n", "x^2", "n+1", "1/2", "-1"]
    vocab = list(_WORDS) + numbers
    while size < n_chars:
        n_words = rng.randint(6, 22)
        words = rng.choices(vocab, k=n_words)
        r = rng.random()
        if r < 0.08:
            words.insert(0, rng.choice(("Wait,", "Hmm,")))
        elif r < 0.25:
            words.insert(0, rng.choice(_OPENERS))
        sentence = " ".join(words)
        sentence = sentence[0].upper() + sentence[1:] + rng.choice((".", ".", ".", "?", "!"))
        sep = "\n\n" if rng.random() < 0.12 else " "
        parts.append(sentence + sep)
        size += len(sentence) + len(sep)
    return "".join(parts)


@dataclass(slots=True)
class Record:
    """The raw material of one trajectory (everything but the object itself)."""

    prompt: str
    raw: str
    model: str
    source_id: str
    metadata: dict[str, Any]


class Generator:
    """Cheap synthetic texts: slices of one corpus at random offsets (aligned to sentences)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.corpus = build_corpus(self.rng, CORPUS_CHARS)
        self._prompt: tuple[int, str] = (-1, "")

    def text(self, length: int) -> str:
        corpus = self.corpus
        start = self.rng.randrange(0, len(corpus) - length - 200)
        dot = corpus.find(". ", start, start + 200)
        if dot >= 0:
            start = dot + 2
        return corpus[start : start + length].strip()

    def prompt(self, question: int) -> str:
        # Consecutive samples of one question share the prompt (n samples per prompt).
        if self._prompt[0] != question:
            self._prompt = (question, self.text(self.rng.randint(100, 1_000)).rstrip(".!?") + "?")
        return self._prompt[1]

    def record(self, i: int) -> Record:
        rng = self.rng
        question = i // 4
        thinking = self.text(rng.randint(2_000, 20_000))
        answer = self.text(rng.randint(100, 1_500)).rstrip(".!?") + "."
        answer += f" The answer is \\boxed{{{rng.randint(0, 999)}}}."
        return Record(
            prompt=self.prompt(question),
            raw=f"<think>\n{thinking}\n</think>\n\n{answer}",
            model=MODELS[rng.randrange(len(MODELS))],
            source_id=f"q{question:06d}-s{i % 4}",
            metadata={
                "category": CATEGORIES[question % len(CATEGORIES)],
                "question_id": f"q{question:06d}",
                "judge_grade": round(rng.random() * 10, 3),
            },
        )

    def annotation(self) -> tuple[str, Any]:
        rng = self.rng
        kind = rng.choice(("rating", "label", "verdict", "note"))
        if kind == "rating":
            return kind, rng.randint(1, 5)
        if kind == "label":
            return kind, rng.choice(LABELS)
        if kind == "verdict":
            return kind, rng.choice(VERDICTS)
        return kind, self.text(rng.randint(20, 120))


# -- profiling ----------------------------------------------------------------------------------
class Profiler:
    """Optional cProfile around the timed phases; prints the top functions to stderr."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.profiles: dict[str, cProfile.Profile] = {}

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        if not self.enabled:
            yield
            return
        prof = self.profiles.setdefault(name, cProfile.Profile())
        prof.enable()
        try:
            yield
        finally:
            prof.disable()

    def report(self, top: int = 20) -> None:
        for name, prof in self.profiles.items():
            for sort in ("tottime", "cumulative"):
                buf = io.StringIO()
                pstats.Stats(prof, stream=buf).sort_stats(sort).print_stats(top)
                log(f"profile of {name} (by {sort}):\n{buf.getvalue()}")


# -- phases -------------------------------------------------------------------------------------
def bench_ingest(
    path: Path, n: int, gen: Generator, profiler: Profiler
) -> tuple[float, list[str], dict[str, float]]:
    """Return (timed seconds, stored ids, extra stats)."""
    ids: list[str] = []
    timed = 0.0
    generation = 0.0
    thinking_chars = 0
    raw_chars = 0
    store = Store(path)
    try:
        for start in range(0, n, BATCH):
            t0 = time.perf_counter()
            records = [gen.record(i) for i in range(start, min(start + BATCH, n))]
            generation += time.perf_counter() - t0

            t0 = time.perf_counter()
            with profiler.phase("ingest"):
                trajectories = [
                    Trajectory(
                        prompt=r.prompt,
                        raw=r.raw,
                        model=r.model,
                        source=SOURCE,
                        source_id=r.source_id,
                        metadata=r.metadata,
                    )
                    for r in records
                ]
                result = store.add_trajectories(trajectories)
            timed += time.perf_counter() - t0

            if result.duplicates:
                raise RuntimeError(f"unexpected duplicates: {result.duplicates[:3]}")
            ids.extend(result.inserted)
            thinking_chars += sum(len(t.thinking) for t in trajectories)
            raw_chars += sum(len(t.raw) for t in trajectories)
            done = start + len(records)
            if done % (BATCH * 10) == 0 or done == n:
                log(f"ingested {done:,}/{n:,} ({done / timed:,.0f} traces/s so far)")
    finally:
        store.close()
    extra = {
        "generation_s": generation,
        "mean_thinking_chars": thinking_chars / n,
        "mean_raw_chars": raw_chars / n,
    }
    return timed, ids, extra


def bench_index(path: Path, n: int) -> float:
    """Return the wall time of indexing every trajectory for search (``Store.index_search``)."""
    store = Store(path)
    try:
        t0 = time.perf_counter()
        indexed = store.index_search(progress=False)
        elapsed = time.perf_counter() - t0
        pending = store.search_pending
    finally:
        store.close()
    if indexed != n or pending:
        raise RuntimeError(f"indexed {indexed:,} of {n:,} trajectories ({pending:,} left)")
    return elapsed


def bench_uncached_list(path: Path, n: int) -> tuple[float, float]:
    """Return the wall times of listing every row without the listing cache, ours and polars'.

    Ours: ``Store(path, readonly=True).list_trajectories()`` before the cache is written (a
    read-only store never writes it), i.e. the rows through Python's ``sqlite3``. Polars':
    ``pl.read_database`` of the same columns on an ``sqlite3`` connection, what a researcher
    would write without the workbench.
    """
    gc.collect()
    t0 = time.perf_counter()
    store = Store(path, readonly=True)
    frame = store.list_trajectories()
    ours = time.perf_counter() - t0
    store.close()
    if frame.height != n:
        raise RuntimeError(f"list() returned {frame.height} rows, expected {n}")
    columns = ", ".join(c for c in frame.columns if c not in ("thinking_chars", "answer_chars"))
    del frame
    gc.collect()
    t0 = time.perf_counter()
    conn = sqlite3.connect(path)
    theirs = pl.read_database(
        f"SELECT {columns}, thinking_end - thinking_start AS thinking_chars,"
        " answer_end - answer_start AS answer_chars FROM trajectories",
        conn,
        infer_schema_length=None,
    )
    polars_s = time.perf_counter() - t0
    conn.close()
    if theirs.height != n:
        raise RuntimeError(f"pl.read_database returned {theirs.height} rows, expected {n}")
    return ours, polars_s


def bench_cache_listing(path: Path, n: int) -> float:
    """Return the wall time of writing the listing cache (``Store.cache_listing``)."""
    store = Store(path)
    try:
        t0 = time.perf_counter()
        written = store.cache_listing(progress=False)
        elapsed = time.perf_counter() - t0
    finally:
        store.close()
    if written != n:
        raise RuntimeError(f"cached {written:,} of {n:,} listing rows")
    return elapsed


def bench_annotate(path: Path, ids: list[str], gen: Generator, profiler: Profiler) -> list[float]:
    """Return the latency of each annotate call in milliseconds."""
    plan = [(gen.rng.choice(ids), *gen.annotation()) for _ in range(N_ANNOTATIONS)]
    latencies: list[float] = []
    store = Store(path)
    try:
        for tid, kind, value in plan:
            t0 = time.perf_counter()
            with profiler.phase("annotate"):
                store.add_annotation(tid, kind, value)
            latencies.append((time.perf_counter() - t0) * 1_000)
        stored = store.list_annotations().height
    finally:
        store.close()
    if stored != N_ANNOTATIONS:
        raise RuntimeError(f"expected {N_ANNOTATIONS} annotations, found {stored}")
    return latencies


def bench_open_and_list(path: Path, n: int, profiler: Profiler) -> list[float]:
    """Return the wall time of each ``Store(path)`` + ``list()`` run."""
    times: list[float] = []
    for _ in range(LIST_REPEATS):
        gc.collect()
        t0 = time.perf_counter()
        with profiler.phase("open_and_list"):
            store = Store(path)
            frame = store.list_trajectories()
        times.append(time.perf_counter() - t0)
        store.close()
        if frame.height != n:
            raise RuntimeError(f"list() returned {frame.height} rows, expected {n}")
        del frame
    return times


def bench_open_first_page(path: Path, n: int) -> list[float]:
    """Return the wall time of each ``Store(path)`` + first page of 50 rows + exact total."""
    times: list[float] = []
    for _ in range(LIST_REPEATS):
        gc.collect()
        t0 = time.perf_counter()
        store = Store(path)
        page = store.list_trajectories(limit=50)
        total = store.count()
        times.append(time.perf_counter() - t0)
        store.close()
        if page.height != min(50, n) or total != n:
            raise RuntimeError(f"first page {page.height} rows, total {total}, expected {n}")
    return times


def bench_search(path: Path) -> dict[str, dict[str, Any]]:
    """Return, per query of :data:`SEARCHES`, the median first-page time and the total."""
    out: dict[str, dict[str, Any]] = {}
    store = Store(path)
    try:
        for name, text in SEARCHES.items():
            times: list[float] = []
            for _ in range(SEARCH_REPEATS):
                t0 = time.perf_counter()
                result = store.search(text, limit=SEARCH_PAGE)
                times.append(time.perf_counter() - t0)
                if times[-1] > 5:  # a scan: once is enough to know it is slow
                    break
            if result.ids and any(s is None for s in result.snippets):
                raise RuntimeError(f"search {text!r}: a hit without a snippet")
            out[name] = {
                "query": text,
                "ms": round(statistics.median(times) * 1_000, 2),
                "first_ms": round(times[0] * 1_000, 2),
                "total": result.total,
                "total_exact": result.total_exact,
                "page": len(result.ids),
            }
            log(f"search {text!r}: {out[name]['ms']} ms, total {result.total}")
    finally:
        store.close()
    return out


def index_size_bytes(path: Path) -> int | None:
    """Bytes of the FTS5 index's shadow tables, or ``None`` without ``dbstat``."""
    conn = sqlite3.connect(path)
    try:
        (size,) = conn.execute(
            "SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'trajectory_fts%'"
        ).fetchone()
        return None if size is None else int(size)
    except sqlite3.Error:
        return None
    finally:
        conn.close()


def db_size_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*") if p.is_file())


# -- main ---------------------------------------------------------------------------------------
def run(n: int, seed: int, profile: bool, tmp_dir: str | None = None) -> dict[str, Any]:
    profiler = Profiler(profile)
    t_start = time.perf_counter()
    log(f"building a {CORPUS_CHARS / 1e6:.0f} MB corpus (seed {seed})")
    gen = Generator(seed)
    with tempfile.TemporaryDirectory(prefix="wb-bench-store-", dir=tmp_dir) as tmp:
        path = Path(tmp) / "bench.db"
        log(f"ingesting {n:,} trajectories into {path}")
        ingest_s, ids, ingest_extra = bench_ingest(path, n, gen, profiler)
        log(f"indexing {n:,} trajectories for search")
        index_s = bench_index(path, n)
        log("listing every row without the listing cache (ours, then pl.read_database)")
        uncached_s, polars_list_s = bench_uncached_list(path, n)
        log(f"writing the listing cache of {n:,} rows")
        cache_s = bench_cache_listing(path, n)
        size = db_size_bytes(path)

        log(f"timing {N_ANNOTATIONS:,} annotate calls")
        latencies = bench_annotate(path, ids, gen, profiler)

        log(f"timing open + list ({LIST_REPEATS} runs)")
        list_times = bench_open_and_list(path, n, profiler)
        page_times = bench_open_first_page(path, n)

        log("timing searches")
        searches = bench_search(path)
        index_size = index_size_bytes(path)

    lat = np.asarray(latencies)
    indexed = [q["ms"] for q in searches.values() if len(q["query"]) >= 3]
    result: dict[str, Any] = {
        "ingest_traces_per_s": round(n / ingest_s, 1),
        "index_traces_per_s": round(n / index_s, 1),
        "ingest_and_index_traces_per_s": round(n / (ingest_s + index_s), 1),
        "annotate_p99_ms": round(float(np.percentile(lat, 99)), 3),
        "open_and_list_100k_s": round(statistics.median(list_times), 4),
        "search_ms": max(indexed),
        "search_queries": searches,
        "search_index_mb": None if index_size is None else round(index_size / 1e6, 1),
        "n": n,
        "seed": seed,
        "batch_size": BATCH,
        "ingest_s": round(ingest_s, 3),
        "index_s": round(index_s, 3),
        "ingest_mb_per_s": round(ingest_extra["mean_raw_chars"] * n / ingest_s / 1e6, 2),
        "generation_s": round(ingest_extra["generation_s"], 3),
        "annotate_n": len(latencies),
        "annotate_p50_ms": round(float(np.percentile(lat, 50)), 3),
        "annotate_mean_ms": round(float(lat.mean()), 3),
        "annotate_max_ms": round(float(lat.max()), 3),
        "open_and_list_first_s": round(list_times[0], 4),
        "open_and_list_uncached_s": round(uncached_s, 4),
        "polars_read_database_s": round(polars_list_s, 4),
        "list_vs_polars": round(polars_list_s / statistics.median(list_times), 2),
        "cache_listing_s": round(cache_s, 3),
        "open_and_first_page_s": round(statistics.median(page_times), 4),
        "open_and_list_runs_s": [round(t, 4) for t in list_times],
        "db_size_mb": round(size / 1e6, 1),
        "mean_thinking_chars": round(ingest_extra["mean_thinking_chars"], 1),
        "mean_raw_chars": round(ingest_extra["mean_raw_chars"], 1),
        "targets": TARGETS,
        "profiled": profile,
        "total_s": round(time.perf_counter() - t_start, 1),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "polars": pl.__version__,
        "workbench": workbench.__version__,
        "platform": platform.platform(),
    }
    if n >= 1_000_000:
        result["search_1m_ms"] = result["search_ms"]
        result["open_and_list_1m_s"] = result["open_and_list_100k_s"]
        result["open_and_first_page_1m_s"] = result["open_and_first_page_s"]
        result["ingest_1m_traces_per_s"] = result["ingest_traces_per_s"]
    profiler.report()
    return result


def summary(result: dict[str, Any]) -> str:
    checks = (
        (
            "ingest",
            result["ingest_traces_per_s"],
            "traces/s",
            result["ingest_traces_per_s"] >= 5_000,
        ),
        ("annotate p99", result["annotate_p99_ms"], "ms", result["annotate_p99_ms"] < 20),
        ("open + list", result["open_and_list_100k_s"], "s", result["open_and_list_100k_s"] < 1),
        ("search", result["search_ms"], "ms", result["search_ms"] < 200),
    )
    lines = [
        f"store benchmark: n={result['n']:,}, db {result['db_size_mb']} MB, "
        f"mean thinking {result['mean_thinking_chars']:,.0f} chars, "
        f"python {result['python']}, sqlite {result['sqlite']}"
    ]
    for (name, value, unit, ok), target in zip(checks, TARGETS.values(), strict=True):
        lines.append(
            f"  {name:<13} {value:>12,.3f} {unit:<9} target {target:<7} {'ok' if ok else 'MISSED'}"
        )
    lines.append(
        f"  (annotate p50 {result['annotate_p50_ms']} ms; "
        f"first open + list {result['open_and_list_first_s']} s; open + first page "
        f"{result['open_and_first_page_s']} s; indexing {result['index_traces_per_s']:,.0f} "
        "traces/s)"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="trajectories (default 100000)")
    parser.add_argument(
        "--million", action="store_true", help="1,000,000 trajectories (the search target)"
    )
    parser.add_argument("--tmp", help="folder for the temporary store (default: the system's)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.add_argument(
        "--profile", action="store_true", help="cProfile the timed phases (summary on stderr)"
    )
    args = parser.parse_args(argv)
    if args.million:
        args.n = 1_000_000
    if args.n < 1:
        parser.error("--n must be positive")
    result = run(args.n, args.seed, args.profile, args.tmp)
    if args.json:
        print(json.dumps(result))
    else:
        print(summary(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
