"""Session overhead on vLLM: tokens/s through a Session vs the engine or server called directly.

What is measured
----------------
The default model (``smollm2-135m``, bf16, the CPU build of vLLM unless a GPU is present) generates
``--tokens`` (default 64) tokens for each of ``n=4`` samples, greedily with end-of-sequence ignored,
so both ways produce the same tokens (checked):

* ``bare_tok_s``: iterating the in-process :class:`~workbench.backends.vllm_engine.VLLMBackend`'s
  ``stream`` directly; ``session_tok_s``: the same request through :meth:`Session.generate` (the
  recorder checkpointing to a temporary SQLite store, one subscriber attached); ``ratio``.
* ``server_bare_tok_s``, ``server_session_tok_s``, ``server_ratio``: the same against
  ``vllm serve`` on loopback through the ``openai`` backend (tokens counted from the per-token
  logprobs the server returns; the texts are compared).

Runs go in blocks ordered bare, session, session, bare after one warm-up; the figures are medians.
``python benchmarks/vllm.py --json`` prints one JSON object. Run it with ``make bench-vllm``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

PROMPT = "Write a long story about a lighthouse keeper who counts the waves every night."
REPO = Path(__file__).resolve().parents[1]


def _count(event: Any, server: bool) -> int:
    from workbench.backends import TokenEvent

    if not isinstance(event, TokenEvent) or event.forced:
        return 0
    if server:
        return len(event.logprobs or ())
    return len(event.token_ids)


def bare(backend: Any, request: Any, server: bool) -> tuple[float, list[str]]:
    from workbench.backends import TokenEvent

    texts = [""] * request.sampling.n  # sorted below: greedy samples are alike
    tokens = 0
    start = time.perf_counter()
    for event in backend.stream(request, cancel=threading.Event()):
        tokens += _count(event, server)
        if isinstance(event, TokenEvent):
            texts[event.sample] += event.text
    return tokens / (time.perf_counter() - start), sorted(texts)


def through_session(session: Any, request: Any, server: bool) -> tuple[float, list[str]]:
    counter = {"tokens": 0}

    def subscriber(event: Any) -> None:
        counter["tokens"] += _count(event, server)

    s = request.sampling
    start = time.perf_counter()
    run = session.generate(
        request.messages,
        n=s.n,
        max_new_tokens=s.max_new_tokens,
        temperature=s.temperature,
        ignore_eos=s.ignore_eos,
        recipe="none",
        analyze=False,
        subscribers=[subscriber],
    )
    trajectories = run.wait()
    elapsed = time.perf_counter() - start
    assert run.status == "complete", run.error
    return counter["tokens"] / elapsed, [
        t.raw for t in sorted(trajectories, key=lambda t: t.sample)
    ]


def measure(backend: Any, request: Any, repeats: int, server: bool) -> tuple[float, float]:
    from workbench.session import Session

    with tempfile.TemporaryDirectory() as tmp:
        session = Session(backend, store=Path(tmp) / "bench.db")
        bare(backend, request, server)  # warm-up
        rates: dict[str, list[float]] = {"bare": [], "session": []}
        reference: list[str] | None = None
        for _ in range(repeats):
            for way in ("bare", "session", "session", "bare"):
                fn = bare if way == "bare" else through_session
                rate, texts = fn(backend if way == "bare" else session, request, server)
                reference = reference or texts
                assert texts == reference, f"the {way} run produced different text"
                rates[way].append(rate)
        assert session.store is not None
        session.store.close()
    return statistics.median(rates["bare"]), statistics.median(rates["session"])


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "2")
    sys.path.insert(0, str(REPO))
    from tests.vllm.conftest import ENGINE_OPTIONS, MODEL, Server, kill_children
    from workbench.backends import GenerationRequest, SamplingParams
    from workbench.backends.openai_compat import OpenAIBackend
    from workbench.backends.vllm_engine import VLLMBackend

    request = GenerationRequest(
        messages=[{"role": "user", "content": PROMPT}],
        sampling=SamplingParams(n=4, temperature=0, max_new_tokens=args.tokens, ignore_eos=True),
    )
    result: dict[str, Any] = {}
    engine = VLLMBackend(MODEL, **ENGINE_OPTIONS)  # type: ignore[arg-type]
    try:
        b, s = measure(engine, request, args.repeats, server=False)
    finally:
        engine.close()
        kill_children()
    result.update(bare_tok_s=round(b, 3), session_tok_s=round(s, 3), ratio=round(s / b, 4))
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(Path(tmp) / "server.log", "--max-num-seqs", "8")
        try:
            server.wait_ready()
            client = OpenAIBackend(MODEL, base_url=server.base_url, timeout=120)
            b, s = measure(client, request, args.repeats, server=True)
            client.close()
        finally:
            server.stop()
    result.update(
        server_bare_tok_s=round(b, 3),
        server_session_tok_s=round(s, 3),
        server_ratio=round(s / b, 4),
    )
    result.update(
        tokens=args.tokens, n=4, repeats=args.repeats, model=MODEL, dtype="bfloat16",
        python=platform.python_version(), platform=platform.platform(),
    )  # fmt: skip
    if args.json:
        print(json.dumps(result))
    else:
        print(result)


if __name__ == "__main__":
    sys.exit(main())
