"""Session overhead on vLLM: tokens/s through a Session vs the engine or server called directly.

What is measured
----------------
The default model (``smollm2-135m``, bf16, the CPU build of vLLM unless a GPU is present) generates
``--tokens`` (default 64) tokens for each of ``n=4`` samples with end-of-sequence ignored, so
every way produces the same tokens (checked):

* ``bare_tok_s``: vLLM's engine called directly, as a user of vLLM would: ``AsyncLLM.generate``
  on the same engine, greedy, four requests sent at once (vLLM refuses ``n > 1`` under greedy
  decoding), consumed as they stream;
  ``session_tok_s``: the same request through :meth:`Session.generate` (the ``vllm`` backend, the
  recorder checkpointing to a temporary SQLite store, one subscriber attached); ``ratio``.
* ``server_bare_tok_s``, ``server_session_tok_s``, ``server_ratio``: the same against
  ``vllm serve`` on loopback: the server called directly (the same ``/chat/completions`` body,
  streamed and read with httpx) vs a session over the ``openai`` backend (tokens counted from the
  per-token logprobs the server returns). The server samples at temperature 0.8 with a seed, in
  one request with ``n=4`` (its greedy decoding refuses ``n > 1``): the same seed gives the same
  tokens each way.
* ``backend_tok_s`` and ``server_backend_tok_s``: the workbench backend's ``stream`` without a
  session, to show where any cost lies.

Every way produces the same text (checked). The runs go in blocks ordered direct, session,
backend, backend, session, direct after one warm-up of each; the figures are medians.
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

# Run as a script, this file's folder comes first on sys.path, and this file is named like the
# package it measures: drop the folder so that `import vllm` finds vLLM.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

PROMPT = "Write a long story about a lighthouse keeper who counts the waves every night."
REPO = Path(__file__).resolve().parents[1]


def _count(event: Any, server: bool) -> int:
    from workbench.backends import TokenEvent

    if not isinstance(event, TokenEvent) or event.forced:
        return 0
    if server:
        return len(event.logprobs or ())
    return len(event.token_ids)


def _unwrap(raw: str) -> str:
    """The model's text of a recorded server sample: without the backend's think wrapper."""
    from workbench.backends.openai_compat import THINK_CLOSE, THINK_OPEN

    if raw.startswith(THINK_OPEN):
        raw = raw[len(THINK_OPEN) :].replace(THINK_CLOSE, "", 1)
    return raw


def direct_engine(backend: Any, request: Any) -> tuple[float, list[str]]:
    """vLLM's engine called directly: ``AsyncLLM.generate``, ``n`` greedy requests at once."""
    import uuid

    from workbench.backends.prompting import chat_prompt_text

    tokenizer = backend._tokenizer
    ids = tokenizer.encode(chat_prompt_text(tokenizer, request), add_special_tokens=False)
    s = request.sampling
    # vLLM refuses n > 1 under greedy decoding, so n greedy samples are n requests, sent at once
    params = backend._vllm_sampling_params(
        n=1,
        temperature=s.temperature,
        max_tokens=s.max_new_tokens,
        ignore_eos=s.ignore_eos,
        logprobs=s.logprobs,
        output_kind=backend._delta,
    )
    engine = backend._engine
    prompt = {"prompt_token_ids": [int(t) for t in ids]}

    async def one(i: int) -> tuple[int, str]:
        tokens, text = 0, ""
        async for output in engine.generate(prompt, params, f"direct-{i}-{uuid.uuid4().hex}"):
            for completion in output.outputs:
                tokens += len(completion.token_ids)
                text += completion.text
        return tokens, text

    async def consume() -> tuple[int, list[str]]:
        import asyncio

        done = await asyncio.gather(*(one(i) for i in range(s.n)))
        return sum(t for t, _ in done), [text for _, text in done]

    start = time.perf_counter()
    tokens, texts = backend._runner.submit(consume()).result()
    return tokens / (time.perf_counter() - start), sorted(texts)


def direct_server(client: Any, request: Any) -> tuple[float, list[str]]:
    """The server called directly: one streamed ``/chat/completions`` request read with httpx."""
    import httpx

    body = client.build_payload(request)  # the same body the backend sends
    texts = [""] * request.sampling.n
    tokens = 0
    start = time.perf_counter()
    with httpx.stream("POST", f"{client.base_url}/chat/completions", json=body, timeout=300) as r:
        r.raise_for_status()
        for line in r.iter_lines():
            if not line.startswith("data:") or line.strip() == "data: [DONE]":
                continue
            for choice in json.loads(line[5:]).get("choices", ()):
                delta = choice.get("delta") or {}
                for key in ("reasoning", "reasoning_content", "content"):
                    if isinstance(delta.get(key), str):
                        texts[choice["index"]] += delta[key]
                        break
                tokens += len((choice.get("logprobs") or {}).get("content") or ())
    return tokens / (time.perf_counter() - start), sorted(texts)


def bare(backend: Any, request: Any, server: bool) -> tuple[float, list[str]]:
    """The workbench backend's own stream, without a session (reported as ``*_backend_tok_s``)."""
    from workbench.backends import TokenEvent

    texts = [""] * request.sampling.n  # sorted below: greedy samples are alike
    tokens = 0
    start = time.perf_counter()
    for event in backend.stream(request, cancel=threading.Event()):
        tokens += _count(event, server)
        if isinstance(event, TokenEvent):
            texts[event.sample] += event.text
    texts = [_unwrap(t) for t in texts] if server else texts
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
        seed=s.seed,
        ignore_eos=s.ignore_eos,
        recipe="none",
        analyze=False,
        subscribers=[subscriber],
    )
    trajectories = run.wait()
    elapsed = time.perf_counter() - start
    assert run.status == "complete", run.error
    texts = [_unwrap(t.raw) if server else t.raw for t in trajectories]
    return counter["tokens"] / elapsed, sorted(texts)


def measure(backend: Any, request: Any, repeats: int, server: bool) -> dict[str, float]:
    """Median tokens/s of the direct call, the backend's stream and the session, interleaved."""
    from workbench.session import Session

    ways: dict[str, Any] = {
        "direct": (lambda: direct_server(backend, request))
        if server
        else (lambda: direct_engine(backend, request)),
        "backend": lambda: bare(backend, request, server),
    }
    with tempfile.TemporaryDirectory() as tmp:
        session = Session(backend, store=Path(tmp) / "bench.db")
        ways["session"] = lambda: through_session(session, request, server)
        for fn in ways.values():
            fn()  # warm-up
        rates: dict[str, list[float]] = {way: [] for way in ways}
        reference: list[str] | None = None
        for _ in range(repeats):
            for way in ("direct", "session", "backend", "backend", "session", "direct"):
                rate, texts = ways[way]()
                reference = reference or texts
                assert texts == reference, f"the {way} run produced different text"
                rates[way].append(rate)
        assert session.store is not None
        session.store.close()
    return {way: statistics.median(r) for way, r in rates.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
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
        r = measure(engine, request, args.repeats, server=False)
    finally:
        engine.close()
        kill_children()
    result.update(
        bare_tok_s=round(r["direct"], 3),
        backend_tok_s=round(r["backend"], 3),
        session_tok_s=round(r["session"], 3),
        ratio=round(r["session"] / r["direct"], 4),
    )
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(Path(tmp) / "server.log", "--max-num-seqs", "8")
        try:
            server.wait_ready()
            client = OpenAIBackend(MODEL, base_url=server.base_url, timeout=120)
            sampled = GenerationRequest(
                messages=request.messages,
                sampling=SamplingParams(
                    n=4, temperature=0.8, seed=1, max_new_tokens=args.tokens, ignore_eos=True
                ),
            )
            r = measure(client, sampled, args.repeats, server=True)
            client.close()
        finally:
            server.stop()
    result.update(
        server_bare_tok_s=round(r["direct"], 3),
        server_backend_tok_s=round(r["backend"], 3),
        server_session_tok_s=round(r["session"], 3),
        server_ratio=round(r["session"] / r["direct"], 4),
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
