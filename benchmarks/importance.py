"""Benchmark of the importance engine (:func:`workbench.analysis.importance.segment_importance`).

Input: a 17 + 25 trajectory with four segments of thinking, prompted with the default model's
one-shot thinking recipe (the trajectory of ``tests/integration/test_importance.py``).

What is measured, on the same loaded backend (``--model``, default ``smollm2-135m`` through the
transformers backend, or ``--backend openai --base-url URL``):

``direct``
    What a user would write without the engine: for each boundary, one ``backend.stream`` request
    with the same prefill, sampling and budget forcing, collecting the texts (no grading, no
    store).
``engine``
    ``segment_importance(..., store=fresh store, counterfactual=False)``: the same requests,
    plus answer splitting, grading and one durable store write per continuation as it finishes.
    (The counterfactual filter embeds segments once after sampling; it is analysis, not sampling,
    and is left out of both.)

Rounds alternate the two (the order flips each round); the best of ``--repeats`` is kept. The
continuations are the same requests with the same seeds, so both generate the same tokens.

Usage: ``python benchmarks/importance.py --json`` prints ``{"continuations", "direct_s",
"engine_s", "direct_cont_per_s", "engine_cont_per_s", "ratio", ...}`` (``ratio`` =
engine / direct continuations per second). Target: ``ratio >= 0.9``.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

THINKING = (
    "I need to add 17 and 25.\n\nSo the tens give 10 + 20 = 30.\n\n"
    "Then 17 + 25 = 42.\n\nSo the answer is 42."
)


def _trajectory() -> Any:
    from workbench import Trajectory
    from workbench.backends.models import ONE_SHOT_THINK

    return Trajectory(
        prompt=ONE_SHOT_THINK.apply([{"role": "user", "content": "What is 17 + 25?"}]),
        raw=f"<think>\n{THINKING}\n</think>\n\nThe answer is 42.",
        gold="42",
    )


def _direct(backend: Any, trajectory: Any, cfg: Any) -> tuple[float, int]:
    from workbench.analysis.importance import plan_boundaries
    from workbench.backends.base import (
        BudgetForcing,
        FinishEvent,
        GenerationRequest,
        SamplingParams,
        TokenEvent,
    )

    _, bounds = plan_boundaries(trajectory, segmenter=cfg.segmenter)
    started = time.perf_counter()
    done = 0
    for b in bounds:
        request = GenerationRequest(
            messages=[dict(m) for m in trajectory.prompt],
            sampling=SamplingParams(
                n=cfg.samples,
                temperature=cfg.temperature,
                top_p=cfg.top_p,
                max_new_tokens=cfg.max_new_tokens,
                seed=cfg.seed + 7919 * b.position,
            ),
            thinking_prefill=cfg.open_text + b.kept,
            budget=BudgetForcing(max_thinking_tokens=cfg.thinking_tokens, end_text=cfg.exit_text),
        )
        texts = [""] * cfg.samples
        for event in backend.stream(request, cancel=threading.Event()):
            if isinstance(event, TokenEvent):
                texts[event.sample] += event.text
            elif isinstance(event, FinishEvent):
                done += 1
    return time.perf_counter() - started, done


def _engine(backend: Any, trajectory: Any, cfg: Any) -> tuple[float, int]:
    from workbench import Store
    from workbench.analysis.importance import segment_importance

    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "b.db") as store:
        store.add(trajectory)
        started = time.perf_counter()
        result = segment_importance(
            trajectory, backend, config=cfg, store=store, counterfactual=False, progress=False
        )
        return time.perf_counter() - started, result.n_new


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print the report."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="smollm2-135m")
    p.add_argument("--backend", default="transformers")
    p.add_argument("--base-url")
    p.add_argument("--samples", type=int, default=8, help="continuations per boundary")
    p.add_argument("--thinking-tokens", type=int, default=24)
    p.add_argument("--answer-tokens", type=int, default=12)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args(argv)

    from workbench.analysis.importance import get_preset
    from workbench.backends.registry import create_backend

    options = {"base_url": args.base_url} if args.base_url else {}
    backend = create_backend(args.backend, args.model, **options)
    cfg = get_preset("quick").with_(
        samples=args.samples, thinking_tokens=args.thinking_tokens,
        answer_tokens=args.answer_tokens, seed=0,
    )  # fmt: skip
    trajectory = _trajectory()
    _direct(backend, trajectory, cfg.with_(samples=1))  # warm-up
    best = {"direct": float("inf"), "engine": float("inf")}
    counts: dict[str, int] = {}
    for r in range(args.repeats):
        order = ("direct", "engine") if r % 2 == 0 else ("engine", "direct")
        for kind in order:
            fn = _direct if kind == "direct" else _engine
            seconds, n = fn(backend, trajectory, cfg)
            best[kind] = min(best[kind], seconds)
            counts[kind] = n
            print(f"round {r}: {kind} {seconds:.2f} s ({n} continuations)", file=sys.stderr)
    backend.close()
    if counts["direct"] != counts["engine"]:
        raise SystemExit(f"continuation counts differ: {counts}")
    n = counts["engine"]
    report = {
        "continuations": n,
        "direct_s": round(best["direct"], 3),
        "engine_s": round(best["engine"], 3),
        "direct_cont_per_s": round(n / best["direct"], 3),
        "engine_cont_per_s": round(n / best["engine"], 3),
        "ratio": round(best["direct"] / best["engine"], 3),
        "model": args.model,
        "backend": args.backend,
        "samples": args.samples,
        "repeats": args.repeats,
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}",
    }
    print(json.dumps(report) if args.json else json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
