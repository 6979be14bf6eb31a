"""Generation speed of the transformers backend vs ``model.generate()`` on the same model.

What is measured
----------------
The default model (``smollm2-135m``; CPU unless ``--device`` names a GPU) generates ``--tokens``
(default 128) new tokens for each of ``n`` samples (``--n``, default 1, 4 and 8) from the same
prompt, greedily with end-of-sequence ignored, so both ways produce the same tokens (checked):

* ``generate_tok_s``: ``model.generate(input_ids, max_new_tokens=T, min_new_tokens=T,
  do_sample=False)`` on the prompt repeated ``n`` times (what a researcher would call instead);
  plain ``generate`` returns no per-token scores, so it does less work than the backend;
* ``workbench_tok_s``: :meth:`TransformersBackend.stream` with logprobs, top-5 alternatives and
  entropies on (every token's log-probability and the entropy of its distribution), consumed as
  it streams;
* ``ratio``: ``workbench_tok_s / generate_tok_s``, medians of interleaved runs (target >= 1.0).

The runs go in blocks ordered generate, workbench, workbench, generate after one warm-up of each.
``python benchmarks/generation.py --json`` prints one JSON object ``{"rows": [{"n",
"generate_tok_s", "workbench_tok_s", "ratio"}, ...], ...}``.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import threading
import time
from typing import Any

PROMPT = "Write a long story about a lighthouse keeper who counts the waves every night."


def with_generate(backend: Any, ids: Any, tokens: int) -> tuple[float, list[list[int]]]:
    """Tokens/s of ``model.generate`` (greedy, EOS ignored) and the generated ids."""
    import torch

    start = time.perf_counter()
    with torch.inference_mode():
        out = backend.model.generate(
            ids,
            attention_mask=torch.ones_like(ids),
            max_new_tokens=tokens,
            min_new_tokens=tokens,
            do_sample=False,
            pad_token_id=backend.tokenizer.eos_token_id,
        )
    elapsed = time.perf_counter() - start
    new = out[:, ids.shape[1] :]
    return new.numel() / elapsed, new.tolist()


def with_workbench(backend: Any, request: Any) -> tuple[float, list[list[int]]]:
    """Tokens/s of the backend's stream (logprobs, top-k, entropies) and the generated ids."""
    from workbench.backends import TokenEvent

    got: list[list[int]] = [[] for _ in range(request.sampling.n)]
    scored = 0
    start = time.perf_counter()
    for event in backend.stream(request, cancel=threading.Event()):
        if isinstance(event, TokenEvent):
            got[event.sample].extend(event.token_ids)
            scored += len(event.entropies or ())
    elapsed = time.perf_counter() - start
    total = sum(len(g) for g in got)
    assert scored == total, "every token carries its entropy"
    return total / elapsed, got


def measure(backend: Any, n: int, tokens: int, repeats: int) -> dict[str, Any]:
    """One row: medians of interleaved runs of both ways for ``n`` samples."""
    from workbench.backends import GenerationRequest, SamplingParams
    from workbench.backends.hf import render_prompt

    request = GenerationRequest(
        messages=PROMPT,
        sampling=SamplingParams(
            n=n, temperature=0, max_new_tokens=tokens, ignore_eos=True, logprobs=5
        ),
    )
    text = render_prompt(backend.tokenizer, request)
    ids = backend.tokenizer(text, add_special_tokens=False, return_tensors="pt")["input_ids"]
    ids = ids.to(backend.device).repeat(n, 1)
    ways = {
        "generate": lambda: with_generate(backend, ids, tokens),
        "workbench": lambda: with_workbench(backend, request),
    }
    for fn in ways.values():
        fn()  # warm-up
    rates: dict[str, list[float]] = {way: [] for way in ways}
    for _ in range(repeats):
        reference = None
        for way in ("generate", "workbench", "workbench", "generate"):
            rate, got = ways[way]()
            reference = reference or got
            assert got == reference, f"{way} generated other tokens (n={n})"
            rates[way].append(rate)
    g, w = statistics.median(rates["generate"]), statistics.median(rates["workbench"])
    return {
        "n": n,
        "generate_tok_s": round(g, 2),
        "workbench_tok_s": round(w, 2),
        "ratio": round(w / g, 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--n", default="1,4,8", help="comma-separated sample counts")
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--device", default=None, help="cpu, cuda, ...; default: CUDA if present")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (CPU)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    import torch

    from workbench.backends.hf import TransformersBackend

    if args.threads:
        torch.set_num_threads(args.threads)
    backend = TransformersBackend("smollm2-135m", device=args.device)
    rows = []
    for n in [int(x) for x in args.n.split(",") if x.strip()]:
        rows.append(measure(backend, n, args.tokens, args.repeats))
        print(rows[-1], file=sys.stderr)
    result = {
        "rows": rows,
        "min_ratio": min(r["ratio"] for r in rows),
        "tokens": args.tokens,
        "repeats": args.repeats,
        "model": "smollm2-135m",
        "device": str(backend.device),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    print(json.dumps(result) if args.json else result)


if __name__ == "__main__":
    main()
