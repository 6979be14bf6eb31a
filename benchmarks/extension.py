"""Benchmark of the JupyterLab extension's trajectory browser over a 100,000-trajectory store.

What is measured
----------------
A synthetic store of ``--n`` (default 100,000) trajectories is built once and cached under
``--cache`` (default ``$TMPDIR/wb-bench-extension``; ``--rebuild`` makes a new one). The texts
come from ``benchmarks/store.py``'s generator (prompts of 100–1,000 characters, 2,000–20,000
characters of thinking, answers of 100–1,500), with six models, a status (90% complete), a grade
on two thirds of them and a few tags, so the filters have something to do.

A real Jupyter server is started on loopback with the extension (``jupyter server``, the store
configured with ``--WorkbenchExtension.store_path``) and every request goes over HTTP with the
server's token, through one keep-alive connection, as the panel's requests do:

``first_page_ms``
    The first ``GET /workbench/api/trajectories?limit=100&count=1`` the freshly started server
    answers: it opens the store, counts the 100k rows and returns the newest 100 with their
    prompt previews. This is what the panel waits for before it shows rows.
``next_page_ms`` (and ``next_page_p95_ms``, ``next_page_max_ms``)
    Median over ``--pages`` further pages (``offset=100, 200, ...``) as the list scrolls.
``deep_page_ms``
    The slowest of pages at 25%, 50%, 75% and the end of the list (a jump of the scrollbar).
``sorted_next_page_ms``, ``filtered_first_page_ms``, ``search_first_page_ms``, ``search_count_ms``
    A page sorted by thinking length (no index: SQLite sorts per page), the first page of a model
    filter (with its count), and of a text search; the panel asks for a search's count separately
    (``search_count_ms``: a scan of every prompt and output, the slowest query it makes) and shows
    the first page as soon as it arrives.
``info_ms``, ``open_trajectory_ms``, ``annotate_ms``
    The store summary, one trajectory's viewer document (segments computed when the store has
    none) and one annotation written (durably) through the POST endpoint.

Targets: first page < 1000 ms, each further page < 300 ms.

Usage
-----
``python benchmarks/extension.py --json`` prints exactly one JSON object on stdout (progress on
stderr). ``--n`` gives a smaller store for quick runs.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

import workbench
from workbench import Store, Trajectory
from workbench.grade import Grade
from workbench.store.schema import SCHEMA_VERSION

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "extensions"))

from workbench_jupyterlab.testing import JupyterServer  # noqa: E402

PAGE = 100
BATCH = 2_000
TARGETS = {"first_page_ms": "< 1000", "next_page_ms": "< 300"}
TAGS = ("math", "code", "long", "reviewed", "hard", "easy")


def log(message: str) -> None:
    print(f"[bench-extension] {message}", file=sys.stderr, flush=True)


def _store_bench() -> Any:
    spec = importlib.util.spec_from_file_location("wb_bench_store", HERE / "store.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def build_store(path: Path, n: int, seed: int) -> None:
    """Write ``n`` synthetic trajectories to ``path`` (through a temporary name)."""
    bench = _store_bench()
    gen = bench.Generator(seed)
    rng = random.Random(seed + 1)
    tmp = path.with_suffix(".building")
    for stale in path.parent.glob(tmp.name + "*"):
        stale.unlink()
    store = Store(tmp)
    t0 = time.perf_counter()
    try:
        for start in range(0, n, BATCH):
            items = []
            for i in range(start, min(start + BATCH, n)):
                r = gen.record(i)
                roll = rng.random()
                grade = None
                if roll < 0.66:
                    grade = Grade(score=round(rng.random(), 3), correct=roll < 0.4, grader="bench")
                items.append(
                    Trajectory(
                        prompt=r.prompt,
                        raw=r.raw,
                        model=r.model,
                        source=bench.SOURCE,
                        source_id=r.source_id,
                        metadata=r.metadata,
                        status="complete" if rng.random() < 0.9 else "partial",
                        grade=grade,
                        tags=rng.sample(TAGS, rng.randint(0, 2)),
                    )
                )
            store.add_trajectories(items)
            done = start + len(items)
            if done % 20_000 == 0 or done == n:
                log(f"built {done:,}/{n:,} ({done / (time.perf_counter() - t0):,.0f}/s)")
        log("indexing the texts for search (as `workbench import` does after an import)")
        store.index_search(progress=False)
    finally:
        store.close()
    tmp.rename(path)
    for extra in ("-wal", "-shm"):
        side = Path(str(tmp) + extra)
        if side.exists():
            side.unlink()


def cached_store(cache: Path, n: int, seed: int, rebuild: bool) -> Path:
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"store-n{n}-seed{seed}-schema{SCHEMA_VERSION}.db"
    if rebuild and path.exists():
        path.unlink()
    if not path.exists():
        log(f"building a {n:,}-trajectory store at {path} (cached for later runs)")
        build_store(path, n, seed)
    else:
        log(f"using the cached store {path}")
    return path


def timed(client: httpx.Client, method: str, url: str, **kwargs: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    r = client.request(method, url, **kwargs)
    ms = (time.perf_counter() - t0) * 1000
    if r.status_code >= 400:
        raise RuntimeError(f"{method} {url} -> {r.status_code}: {r.text[:500]}")
    return ms, r.json()


def run(n: int, seed: int, pages: int, cache: Path, rebuild: bool) -> dict[str, Any]:
    path = cached_store(cache, n, seed, rebuild)
    with (
        tempfile.TemporaryDirectory(prefix="wb-bench-ext-root-") as tmp,
        JupyterServer(tmp, store=path) as server,
        httpx.Client(headers=server.auth, timeout=120) as client,
    ):
        api = server.url("workbench/api/")
        client.get(server.url("api/status"))  # the connection is open; the store is not
        log("first page (cold: the server opens the store)")
        first_ms, page = timed(
            client, "GET", api + "trajectories", params={"limit": PAGE, "count": 1}
        )
        total = int(page["total"])
        if total != n or len(page["rows"]) != PAGE:
            raise RuntimeError(f"expected {n} rows in pages of {PAGE}, got {total}")
        info_ms, _ = timed(client, "GET", api + "info")
        log(f"{pages} further pages")
        next_ms = []
        for k in range(1, pages + 1):
            ms, more = timed(
                client, "GET", api + "trajectories", params={"limit": PAGE, "offset": k * PAGE}
            )
            assert len(more["rows"]) == PAGE
            next_ms.append(ms)
        deep = []
        for frac in (0.25, 0.5, 0.75, 1.0):
            offset = min(n - PAGE, int(n * frac))
            ms, _ = timed(
                client, "GET", api + "trajectories", params={"limit": PAGE, "offset": offset}
            )
            deep.append(ms)
        log("sorted, filtered and searched pages")
        sorted_ms = []
        for k in range(5):
            ms, _ = timed(
                client,
                "GET",
                api + "trajectories",
                params={"limit": PAGE, "offset": k * PAGE, "sort": "thinking_chars"},
            )
            sorted_ms.append(ms)
        filtered_ms, _ = timed(
            client,
            "GET",
            api + "trajectories",
            params={"limit": PAGE, "count": 1, "model": "QwQ-32B", "grade": "correct"},
        )
        search = {"limit": PAGE, "search": "Wait, so"}
        search_ms, _ = timed(client, "GET", api + "trajectories", params=search)
        count_ms, found = timed(
            client, "GET", api + "trajectories", params={**search, "limit": 1, "count": 1}
        )
        tid = page["rows"][0]["id"]
        open_ms, doc = timed(client, "GET", api + f"trajectories/{tid}")
        segment = doc["segments"][0]["id"] if doc["segments"] else None
        annotate_ms, _ = timed(
            client,
            "POST",
            api + f"trajectories/{tid}/annotations",
            json={"kind": "rating", "value": 4, "segment_id": None},
        )
    next_sorted = sorted(next_ms)
    result: dict[str, Any] = {
        "first_page_ms": round(first_ms, 1),
        "next_page_ms": round(statistics.median(next_ms), 1),
        "next_page_p95_ms": round(next_sorted[max(0, int(len(next_sorted) * 0.95) - 1)], 1),
        "next_page_max_ms": round(max(next_ms), 1),
        "deep_page_ms": round(max(deep), 1),
        "sorted_next_page_ms": round(statistics.median(sorted_ms[1:]), 1),
        "filtered_first_page_ms": round(filtered_ms, 1),
        "search_first_page_ms": round(search_ms, 1),
        "search_count_ms": round(count_ms, 1),
        "search_matches": found["total"],
        "info_ms": round(info_ms, 1),
        "open_trajectory_ms": round(open_ms, 1),
        "open_trajectory_segments": len(doc["segments"]),
        "annotate_ms": round(annotate_ms, 1),
        "n": n,
        "page_size": PAGE,
        "pages": pages,
        "targets": TARGETS,
        "ok": first_ms < 1000 and max(next_ms) < 300,
        "segment_checked": segment is not None,
        "store_mb": round(path.stat().st_size / 1e6, 1),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "workbench": workbench.__version__,
        "platform": platform.platform(),
    }
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--n", "--traces", type=int, default=100_000, help="trajectories (default 100000)"
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--pages", type=int, default=30, help="further pages timed (default 30)")
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path(tempfile.gettempdir()) / "wb-bench-extension",
        help="folder of the cached store",
    )
    parser.add_argument("--rebuild", action="store_true", help="build the store again")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    args = parser.parse_args(argv)
    if args.n < PAGE * 2:
        parser.error(f"--n must be at least {PAGE * 2}")
    args.pages = max(1, min(args.pages, args.n // PAGE - 1))
    result = run(args.n, args.seed, args.pages, args.cache, args.rebuild)
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"extension benchmark (n={result['n']:,}): first page {result['first_page_ms']} ms "
            f"(target < 1000), next page {result['next_page_ms']} ms median, "
            f"{result['next_page_max_ms']} ms max (target < 300); deep page "
            f"{result['deep_page_ms']} ms; search {result['search_first_page_ms']} ms"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
