"""Streaming overhead of the session: tokens/s through a Session vs the bare backend.

What is measured
----------------
The default model (``smollm2-135m``, transformers backend, CPU unless a GPU is present) generates
``--tokens`` (default 256) new tokens greedily from the same prompt, with end-of-sequence ignored so
that both ways produce exactly the same tokens (checked):

* ``bare_tok_s``: iterating :meth:`TransformersBackend.stream` directly;
* ``session_tok_s``: the same request through :meth:`Session.generate` (the session's background
  worker, the recorder checkpointing to a temporary SQLite store) with one subscriber attached (a
  counter, as a widget would be), timed from the call to the end of :meth:`Run.wait`;
* ``ratio``: ``session_tok_s / bare_tok_s``, the medians of all runs of each way (target >= 0.95);
* ``with_constraints_tok_s``: the bare backend with the prompt's two constraints located, so the
  attention mass of every generated token on each constraint is computed at every layer (exact,
  from the attention's log-sum-exp, see docs/constraint_attention.md) and streamed with the
  token; ``constraint_ratio``: ``with_constraints_tok_s / bare_tok_s`` (target >= 0.9). The
  tokens are the same as without constraints (checked: the attention output is unchanged).

The runs go in blocks ordered bare, session, constraints, constraints, session, bare so that a
drift of a shared machine's speed affects every way alike; ``block_ratios`` gives each block's
own session ratio, to show the noise.

``--repeats`` blocks run after one warm-up.
``python benchmarks/streaming.py --json`` prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

PROMPT = (
    "Write a long story about a lighthouse keeper who counts the waves every night. "
    "Use exactly three paragraphs and do not use any commas."
)
CONSTRAINTS = ("exactly three paragraphs", "do not use any commas")


def bare(backend: Any, request: Any) -> tuple[float, list[int]]:
    from workbench.backends import TokenEvent

    ids: list[int] = []
    masses = 0
    start = time.perf_counter()
    for event in backend.stream(request, cancel=threading.Event()):
        if isinstance(event, TokenEvent):
            ids.extend(event.token_ids)
            masses += event.constraint_mass is not None
    elapsed = time.perf_counter() - start
    if request.constraints:
        assert masses == len(ids), "every token carries its constraint mass"
    return len(ids) / elapsed, ids


def constrained(request: Any) -> Any:
    """The same request with the prompt's constraints located (mass recorded per token)."""
    import dataclasses

    from workbench.trajectory import Constraint

    constraints = []
    for phrase in CONSTRAINTS:
        at = PROMPT.index(phrase)
        constraints.append(Constraint(text=phrase, spans=[(at, at + len(phrase))]))
    return dataclasses.replace(request, constraints=constraints)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=4)
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from workbench.backends import GenerationRequest, SamplingParams
    from workbench.backends.hf import TransformersBackend
    from workbench.session import Session

    backend = TransformersBackend(args.model)
    request = GenerationRequest(
        messages=[{"role": "user", "content": PROMPT}],
        sampling=SamplingParams(temperature=0, max_new_tokens=args.tokens, ignore_eos=True),
    )
    with tempfile.TemporaryDirectory() as tmp:
        session = Session(backend, store=Path(tmp) / "bench.db")
        with_constraints = constrained(request)
        bare(backend, request)  # warm-up
        bare(backend, with_constraints)
        bare_rates, session_rates, constraint_rates, paired = [], [], [], []
        reference: list[int] | None = None
        for _ in range(args.repeats):
            # A-B-C-C-B-A order: a drift of the machine's speed within a block cancels out
            rates = {"bare": [], "session": [], "constraints": []}
            order = ("bare", "session", "constraints", "constraints", "session", "bare")
            for way in order:
                if way == "bare":
                    rate, ids = bare(backend, request)
                elif way == "constraints":
                    rate, ids = bare(backend, with_constraints)
                else:
                    rate, ids = through_session_same(session, request)
                reference = reference or ids
                assert ids == reference, f"the {way} run produced different tokens"
                rates[way].append(rate)
            bare_rates.extend(rates["bare"])
            session_rates.extend(rates["session"])
            constraint_rates.extend(rates["constraints"])
            paired.append(statistics.fmean(rates["session"]) / statistics.fmean(rates["bare"]))
        if session.store is not None:
            session.store.close()
    bare_tok_s = statistics.median(bare_rates)
    session_tok_s = statistics.median(session_rates)
    with_constraints_tok_s = statistics.median(constraint_rates)
    result = {
        "bare_tok_s": round(bare_tok_s, 3),
        "session_tok_s": round(session_tok_s, 3),
        "ratio": round(session_tok_s / bare_tok_s, 4),
        "with_constraints_tok_s": round(with_constraints_tok_s, 3),
        "constraint_ratio": round(with_constraints_tok_s / bare_tok_s, 4),
        "constraints": len(CONSTRAINTS),
        "block_ratios": [round(r, 4) for r in paired],
        "tokens": args.tokens,
        "repeats": args.repeats,
        "bare_runs_tok_s": [round(r, 3) for r in bare_rates],
        "session_runs_tok_s": [round(r, 3) for r in session_rates],
        "model": args.model,
        "device": str(backend.device),
        "dtype": str(backend.dtype),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"bare {bare_tok_s:.1f} tok/s, session {session_tok_s:.1f} tok/s, ratio {result['ratio']}"
        )


def through_session_same(session: Any, request: Any) -> tuple[float, list[int]]:
    """Run exactly ``request`` through :meth:`Session.generate` with one subscriber attached."""
    counter = {"events": 0}

    def subscriber(event: Any) -> None:
        counter["events"] += 1

    sampling = request.sampling
    start = time.perf_counter()
    run = session.generate(
        request.messages,
        n=sampling.n,
        max_new_tokens=sampling.max_new_tokens,
        temperature=sampling.temperature,
        ignore_eos=sampling.ignore_eos,
        recipe="none",
        subscribers=[subscriber],
    )
    trajectories = run.wait()
    elapsed = time.perf_counter() - start
    assert run.status == "complete", run.error
    tok = trajectories[0].tokens
    ids = [] if tok is None else tok.ids.tolist()
    assert counter["events"] >= len(ids)
    return len(ids) / elapsed, ids


if __name__ == "__main__":
    sys.exit(main())
