"""Benchmark of segment-to-segment attention (:func:`workbench.attention.segment_mass`).

Inputs: synthetic token ids (a fixed seed, ids 100..40000 of the default model's vocabulary) of
length ``T`` for each ``T`` in ``--lengths`` (default 1024, 2048, 4096, 8192; SmolLM2-135M has
8192 positions); a 64-token "prompt" that is no segment, then segments of ``--segment-tokens``
(default 32, about a sentence) tokens to the end.

What is measured, on the default model (``smollm2-135m``, float32, SDPA), as in
``benchmarks/attention.py`` (whose measurement helpers this script reuses):

``plain``
    ``model(input_ids, use_cache=False, logits_to_keep=1)`` with SDPA, no attention outputs.
``ours``
    ``segment_mass(model, input_ids, spans)``: the same pass with the segment-mass attention
    function, returning ``M[L, H, S, S]``.
``naive``
    Eager attention, one layer at a time: a forward hook on each attention module takes that
    layer's ``[H, T, T]`` probabilities and sums them over the segment blocks before the next
    layer runs (so at most one layer's matrices exist). Skipped (``null`` with the reason) when
    ``3 · H · T² · 4`` bytes exceeds ``--naive-max-gb`` (default 12).

Time: one fresh subprocess per ``T`` alternates ``plain`` and ``ours`` ``--repeats`` times (the
order flips each round) and keeps the minimum of each. Memory: one fresh subprocess per ``T`` and
kind, the pass's peak RSS over the loaded model (``VmHWM`` after ``clear_refs``), with
``MALLOC_MMAP_THRESHOLD_=65536``. ``max_abs_err_vs_naive`` is the largest absolute difference of
``M`` between ``ours`` and ``naive``.

Usage: ``python benchmarks/segment_attention.py --json`` prints ``{"rows": [{"T",
"time_ratio_vs_plain", "peak_rss_ratio_vs_plain", "max_abs_err_vs_naive", ...}], ...}``; progress
goes to stderr. Targets: time <= 1.5x and peak memory <= 1.3x plain; error <= 1e-4.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location(
    "_constraint_bench", REPO / "benchmarks" / "attention.py"
)
assert _spec is not None and _spec.loader is not None
cb: Any = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cb)

DEFAULT_LENGTHS = (1024, 2048, 4096, 8192)
PROMPT_TOKENS = 64
WARMUP_TOKENS = 64
TARGETS = {
    "time_ratio_vs_plain": "<= 1.5",
    "peak_rss_ratio_vs_plain": "<= 1.3",
    "max_abs_err_vs_naive": "<= 1e-4",
}


def inputs(length: int, segment_tokens: int) -> tuple[np.ndarray, np.ndarray]:
    """Token ids ``[T]`` and segment spans ``[S, 2]`` (the first ``T`` ids of one fixed draw)."""
    ids = np.random.default_rng(0).integers(100, 40000, size=max((*DEFAULT_LENGTHS, length)))
    starts = np.arange(PROMPT_TOKENS, length, segment_tokens)
    spans = np.stack([starts, np.minimum(starts + segment_tokens, length)], 1)
    return ids[:length].astype(np.int64), spans


def _naive(model: Any, tokens: Any, spans: np.ndarray) -> np.ndarray:
    """Eager attention, reduced to segment blocks layer by layer inside forward hooks."""
    import torch

    n_tokens = tokens.shape[1]
    member = torch.zeros((len(spans), n_tokens), dtype=torch.float64)
    for i, (a, b) in enumerate(spans.tolist()):
        member[i, a:b] = 1.0 / (b - a)
    out: dict[int, np.ndarray] = {}

    def hook(module: Any, args: Any, output: Any) -> None:
        weights = output[1][0]  # [H, T, T] probabilities
        rows = torch.matmul(member.to(weights.dtype), weights).double()  # [H, S, T] row means
        cum = torch.nn.functional.pad(rows.cumsum(-1), (1, 0))
        edges = torch.as_tensor(spans)
        out[int(module.layer_idx)] = (cum[..., edges[:, 1]] - cum[..., edges[:, 0]]).numpy()

    handles = [layer.self_attn.register_forward_hook(hook) for layer in model.model.layers]
    try:
        model(input_ids=tokens, use_cache=False, logits_to_keep=1)
    finally:
        for h in handles:
            h.remove()
    return np.stack([out[i] for i in range(len(out))])


def _runner(model: Any, mode: str, spans: np.ndarray) -> Any:
    import torch

    from workbench.attention import segment_mass

    def run(tokens: Any) -> np.ndarray | None:
        with torch.inference_mode():
            if mode == "plain":
                model(input_ids=tokens, use_cache=False, logits_to_keep=1)
                return None
            n = tokens.shape[1]
            sub = spans[spans[:, 1] <= n] if n < spans[-1, 1] else spans
            if len(sub) == 0:
                sub = np.array([[0, n]])
            if mode == "ours":
                return segment_mass(model, tokens, sub)
            return _naive(model, tokens, sub)

    return run


def worker(args: argparse.Namespace) -> None:
    """One subprocess: memory of one kind, or the alternated timings."""
    import torch

    model, _device = cb._load(args)
    ids_np, spans = inputs(args.length, args.segment_tokens)
    ids = torch.tensor(ids_np[None])
    if args.worker == "timing":
        runs = {m: _runner(model, m, spans) for m in ("plain", "ours")}
        times: dict[str, list[float]] = {"plain": [], "ours": []}
        for run in runs.values():
            run(ids[:, :WARMUP_TOKENS])
        for i in range(args.repeats):
            for mode in ("plain", "ours") if i % 2 == 0 else ("ours", "plain"):
                start = time.perf_counter()
                runs[mode](ids)
                times[mode].append(time.perf_counter() - start)
                cb.log(f"  {mode} T={args.length} pass {i + 1}: {times[mode][-1]:.2f} s")
        Path(args.out).write_text(json.dumps(times))
        return
    if args.worker == "naive":
        model.set_attn_implementation("eager")
    run = _runner(model, args.worker, spans)
    run(ids[:, :WARMUP_TOKENS])
    gc.collect()
    before = cb._rss_bytes()
    before_max = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    method = "vmhwm_after_clear_refs" if cb._reset_hwm() else "ru_maxrss"
    start = time.perf_counter()
    with torch.inference_mode():
        result = run(ids)
    seconds = time.perf_counter() - start
    if method == "vmhwm_after_clear_refs":
        hwm = cb._hwm_bytes()
        peak = hwm - before if hwm is not None else None
    else:
        peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, before_max) - before
    cb.log(f"  {args.worker} T={args.length}: peak {cb._mb(peak)} MB, {seconds:.2f} s")
    if result is not None:
        np.save(args.out + ".npy", result)
    Path(args.out).write_text(
        json.dumps({"seconds": seconds, "peak_bytes": peak, "memory_method": method})
    )


def run_worker(kind: str, length: int, tmp: Path, args: argparse.Namespace) -> Any:
    out = tmp / f"{kind}-{length}.json"
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", kind, "--length",
           str(length), "--out", str(out), "--device", "cpu", "--model", args.model,
           "--repeats", str(args.repeats), "--threads", str(args.threads),
           "--segment-tokens", str(args.segment_tokens)]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    if kind != "timing":
        env.setdefault("MALLOC_MMAP_THRESHOLD_", str(cb.MMAP_THRESHOLD))
    if subprocess.run(cmd, env=env, check=False).returncode != 0:
        raise SystemExit(f"{kind} at T={length} failed")
    npy = Path(str(out) + ".npy")
    return json.loads(out.read_text()), (np.load(npy) if npy.exists() else None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--lengths", default=",".join(map(str, DEFAULT_LENGTHS)))
    parser.add_argument("--segment-tokens", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--naive-max-gb", type=float, default=12.0)
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--device", default="cpu", help=argparse.SUPPRESS)
    parser.add_argument("--worker", choices=("plain", "ours", "naive", "timing"))
    parser.add_argument("--length", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args)
        return 0
    rows = []
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        for length in [int(x) for x in args.lengths.split(",")]:
            cb.log(f"T={length}")
            times, _ = run_worker("timing", length, tmp, args)
            plain_mem, _ = run_worker("plain", length, tmp, args)
            ours_mem, ours = run_worker("ours", length, tmp, args)
            need_gb = 3 * 9 * length * length * 4 / 1e9
            err: float | None = None
            naive_s: float | None = None
            reason = None
            if need_gb <= args.naive_max_gb:
                naive_mem, naive = run_worker("naive", length, tmp, args)
                err = float(np.abs(ours.astype(np.float64) - naive).max())
                naive_s = naive_mem["seconds"]
            else:
                reason = f"eager needs ~{need_gb:.0f} GB per layer (--naive-max-gb)"
            plain_s, ours_s = min(times["plain"]), min(times["ours"])
            rows.append(
                {
                    "T": length,
                    "segments": int(inputs(length, args.segment_tokens)[1].shape[0]),
                    "time_ratio_vs_plain": round(ours_s / plain_s, 3),
                    "peak_rss_ratio_vs_plain": round(
                        (ours_mem["peak_bytes"] + 0.0) / plain_mem["peak_bytes"], 3
                    ),
                    "max_abs_err_vs_naive": err,
                    "naive_skipped": reason,
                    "plain_s": round(plain_s, 3),
                    "ours_s": round(ours_s, 3),
                    "naive_s": None if naive_s is None else round(naive_s, 3),
                    "plain_times_s": [round(t, 3) for t in times["plain"]],
                    "ours_times_s": [round(t, 3) for t in times["ours"]],
                    "plain_peak_mb": cb._mb(plain_mem["peak_bytes"]),
                    "ours_peak_mb": cb._mb(ours_mem["peak_bytes"]),
                }
            )
            cb.log(json.dumps(rows[-1]))
    result = {
        "rows": rows,
        "targets": TARGETS,
        "model": args.model,
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "load_average_end": [round(x, 2) for x in os.getloadavg()],
        },
    }
    print(json.dumps(result, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
