"""Benchmark of constraint attention mass (:func:`workbench.attention.constraint_mass`).

Data (``../shared/data/external``, or ``$WORKBENCH_EXTERNAL_DATA``, or ``--data``)
----------------------------------------------------------------------------------
``pm_llm_benchmark_traces/traces.jsonl`` and ``questions.jsonl``: the trace with the longest
thinking is taken; its question is the prompt and its thinking (the text before ``</think>``,
without the ``<think>`` tag) follows it, both tokenised with the default model's tokenizer. When
that is shorter than the longest ``T``, the thinking of the next-longest traces is appended. The
sequence of length ``T`` is the first ``T`` tokens. The constraint tokens ``C`` are the first
``--constraint-tokens`` (default 64) tokens of the question. The data stays where it is (it is
read, never copied into the repository).

What is measured
----------------
For each ``T`` in ``--lengths`` (default 1024, 2048, 4096, 8192), on the default model
(``smollm2-135m``, float32, ``attn_implementation="sdpa"``), under ``torch.inference_mode()``:

``plain``
    ``model(input_ids, use_cache=False, logits_to_keep=1)`` with SDPA: the reference.
``ours``
    ``constraint_mass(model, input_ids, C)``: the same forward pass (the same ``logits_to_keep``,
    no cache) with the constraint-mass attention function, returning ``α[T, L]``.
``naive``
    Eager attention with ``output_attentions=True`` (every ``T × T`` attention matrix of every
    layer), then ``α`` = the sum over ``C`` averaged over heads. Skipped (``null``) when its
    estimated memory, ``(L + 3) · H · T² · 4`` bytes (all the returned attention matrices plus a
    layer's temporaries), exceeds ``--naive-max-gb`` (default 10).

Time: one fresh subprocess per ``T`` loads the model, warms both up on 64 tokens, then alternates
``plain`` and ``ours`` passes over the ``T`` tokens ``--repeats`` times (default 3; the order flips
every round); the reported times are the minimum wall-clock seconds of each (the machine may be
shared, and alternating exposes both to the same background load); all the times are in
``plain_times_s``/``ours_times_s``. ``naive_s`` is the single pass of its memory measurement.

Memory: one fresh subprocess per ``T`` and kind loads the model, does a 64-token warm-up pass of
that kind and then one pass over the ``T`` tokens. On CPU it is the *peak RSS of the pass*: right
before the pass the kernel's high-water mark is reset (``echo 5 > /proc/self/clear_refs``) and the baseline RSS is read; after the pass
``VmHWM`` (the peak since the reset) minus that baseline is the memory the pass needed on top of
the loaded model. (Without ``clear_refs``, ``ru_maxrss`` is used instead, which can only
over-state the pass.) The subprocesses run with ``MALLOC_MMAP_THRESHOLD_=65536``, so that every
tensor buffer is its own mapping, returned to the OS when freed: RSS then follows the live tensors
rather than what glibc's heap happens to retain from earlier passes, which otherwise varies by tens
of MB between identical runs. On CUDA it is ``torch.cuda.max_memory_allocated()`` minus the allocation
before the pass. ``peak_rss_ratio_vs_plain`` and ``time_ratio_vs_plain`` compare ``ours`` with
``plain``; ``max_abs_err_vs_naive`` is the largest absolute difference of ``α`` between ``ours``
and ``naive``.

Targets (for context): time <= 1.5x and peak memory <= 1.3x plain at every ``T``; ``T = 8192``
completes on a 24 GiB machine.

Usage
-----
``python benchmarks/attention.py --json`` prints one JSON object ``{"results": [{"T", ...}, ...],
...}`` on stdout; progress goes to stderr. ``--lengths 1024,2048`` picks the lengths, ``--device
cuda`` measures on a GPU, ``--repeats`` sets the alternated timed passes, ``--threads`` torch's
intra-op threads. On two CPU cores the whole run takes about 15 minutes, more on a busy machine
(the load average at the end is in the result: timings taken under load are noisy).
"""

from __future__ import annotations

import argparse
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
DEFAULT_LENGTHS = (1024, 2048, 4096, 8192)
WARMUP_TOKENS = 64
MMAP_THRESHOLD = 65536
TARGETS = {"time_ratio_vs_plain": "<= 1.5", "peak_rss_ratio_vs_plain": "<= 1.3"}


def log(message: str) -> None:
    """Progress line on stderr (stdout is reserved for the result)."""
    print(f"[bench-attention] {message}", file=sys.stderr, flush=True)


# -- data -------------------------------------------------------------------------------------------
def thinking_of(response: str) -> str:
    """The thinking text of a raw response: before ``</think>``, without a leading ``<think>``."""
    head = response.split("</think>", 1)[0] if "</think>" in response else ""
    return head.replace("<think>", "", 1).strip()


def build_tokens(data: Path, tokenizer: Any, n_tokens: int, n_constraint: int) -> dict[str, Any]:
    """Token ids of the longest trace (question + thinking), extended with further thinking."""
    folder = data / "pm_llm_benchmark_traces"
    traces = [json.loads(line) for line in (folder / "traces.jsonl").open(encoding="utf-8")]
    questions = {
        q["question_id"]: q["question"]
        for q in map(json.loads, (folder / "questions.jsonl").open(encoding="utf-8"))
    }
    traces = [t for t in traces if thinking_of(t["response"])]
    traces.sort(key=lambda t: len(thinking_of(t["response"])), reverse=True)
    first = traces[0]
    question = questions.get(first["question_id"], "")
    prompt_ids = tokenizer.encode(question, add_special_tokens=False)
    ids = list(prompt_ids)
    used = []
    for trace in traces:
        if len(ids) >= n_tokens:
            break
        ids.extend(
            tokenizer.encode("\n\n" + thinking_of(trace["response"]), add_special_tokens=False)
        )
        used.append(trace["id"])
    if len(ids) < n_tokens:
        raise SystemExit(f"only {len(ids)} tokens of trace text, {n_tokens} needed")
    n_c = min(n_constraint, len(prompt_ids))
    return {
        "ids": ids[:n_tokens],
        "constraint": list(range(n_c)),
        "traces": used,
        "prompt_tokens": len(prompt_ids),
    }


# -- one measurement (a subprocess) -------------------------------------------------------------------
def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _hwm_bytes() -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _reset_hwm() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _load(args: argparse.Namespace) -> tuple[Any, Any]:
    import torch
    import transformers

    from workbench.backends.models import resolve_model

    transformers.utils.logging.disable_progress_bar()
    transformers.utils.logging.set_verbosity_error()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    model = transformers.AutoModelForCausalLM.from_pretrained(
        resolve_model(args.model), dtype=torch.float32, attn_implementation="sdpa"
    )
    return model.to(device).eval(), device


def _runner(model: Any, mode: str, constraint: list[int]) -> Any:
    """A function running one pass of ``mode`` over ``[1, T]`` ids (returning ``α`` or ``None``)."""
    import torch

    from workbench.attention import constraint_mass

    def run(tokens: torch.Tensor) -> np.ndarray | None:
        with torch.inference_mode():
            if mode == "plain":
                model(input_ids=tokens, use_cache=False, logits_to_keep=1)
                return None
            if mode == "ours":
                return constraint_mass(model, tokens, constraint)
            out = model(input_ids=tokens, use_cache=False, logits_to_keep=1, output_attentions=True)
            alpha = torch.stack([a[0][:, :, constraint].sum(-1).mean(0) for a in out.attentions])
            del out
            return alpha.T.float().cpu().numpy()

    return run


def _sync(device: Any) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize()


def worker_memory(args: argparse.Namespace) -> None:
    """Peak memory (and time) of one pass of ``args.worker``; write a JSON report and ``α``."""
    import gc

    import torch

    model, device = _load(args)
    if args.worker == "naive":
        model.set_attn_implementation("eager")
    spec = json.loads(Path(args.tokens).read_text())
    ids = torch.tensor([spec["ids"][: args.length]], device=device)
    run = _runner(model, args.worker, spec["constraint"])
    run(ids[:, :WARMUP_TOKENS])
    _sync(device)
    gc.collect()
    before_max = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
        method = "cuda_max_memory_allocated"
    else:
        before = _rss_bytes()
        method = "vmhwm_after_clear_refs" if _reset_hwm() else "ru_maxrss"
    start = time.perf_counter()
    alpha = run(ids)
    _sync(device)
    seconds = time.perf_counter() - start
    peak: int | None
    if device.type == "cuda":
        peak = torch.cuda.max_memory_allocated() - before
    elif method == "vmhwm_after_clear_refs":
        hwm = _hwm_bytes()
        peak = hwm - before if hwm is not None else None
    else:
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        peak = max(after, before_max) - before
    log(
        f"  {args.worker} T={args.length}: peak {_mb(peak)} MB over the loaded model, {seconds:.2f} s"
    )
    if alpha is not None:
        assert alpha.shape == (args.length, model.config.num_hidden_layers), alpha.shape
        np.save(args.out + ".npy", alpha)
    report = {
        "seconds": seconds,
        "peak_bytes": peak,
        "baseline_rss_bytes": before if device.type == "cpu" else None,
        "memory_method": method,
    }
    Path(args.out).write_text(json.dumps(report))


def worker_timing(args: argparse.Namespace) -> None:
    """Alternate plain and ours passes ``args.repeats`` times; write the times of each."""
    import torch

    model, device = _load(args)
    spec = json.loads(Path(args.tokens).read_text())
    ids = torch.tensor([spec["ids"][: args.length]], device=device)
    runs = {mode: _runner(model, mode, spec["constraint"]) for mode in ("plain", "ours")}
    times: dict[str, list[float]] = {"plain": [], "ours": []}
    for run in runs.values():
        run(ids[:, :WARMUP_TOKENS])
    _sync(device)
    for i in range(args.repeats):
        order = ("plain", "ours") if i % 2 == 0 else ("ours", "plain")
        for mode in order:
            start = time.perf_counter()
            runs[mode](ids)
            _sync(device)
            times[mode].append(time.perf_counter() - start)
            log(f"  {mode} T={args.length} pass {i + 1}: {times[mode][-1]:.2f} s")
    Path(args.out).write_text(json.dumps(times))


def run_worker(
    kind: str, length: int, tokens: Path, tmp: Path, args: argparse.Namespace
) -> tuple[Any, np.ndarray | None]:
    """Run one measurement in a fresh subprocess; return its report and ``α`` (or ``None``)."""
    out = tmp / f"{kind}-{length}.json"
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        kind,
        "--length",
        str(length),
        "--tokens",
        str(tokens),
        "--out",
        str(out),
        "--device",
        args.device,
        "--model",
        args.model,
        "--repeats",
        str(args.repeats),
        "--threads",
        str(args.threads),
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    if kind != "timing":
        # A fixed mmap threshold: every allocation above 64 KiB is its own mapping, returned to
        # the OS when freed, so RSS follows the live tensors rather than glibc's heap retention.
        env.setdefault("MALLOC_MMAP_THRESHOLD_", str(MMAP_THRESHOLD))
    proc = subprocess.run(cmd, env=env, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{kind} at T={length} failed (exit {proc.returncode})")
    alpha_path = Path(str(out) + ".npy")
    alpha = np.load(alpha_path) if alpha_path.exists() else None
    return json.loads(out.read_text()), alpha


def naive_estimate_gb(length: int, n_layers: int, n_heads: int) -> float:
    """Estimated memory of the naive pass: every attention matrix plus a layer's temporaries."""
    return (n_layers + 3) * n_heads * length * length * 4 / 1e9


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--data", type=Path, default=None, help="the external data folder")
    parser.add_argument(
        "--lengths",
        default=",".join(map(str, DEFAULT_LENGTHS)),
        help="comma-separated sequence lengths T",
    )
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    parser.add_argument("--model", default="smollm2-135m", help="model alias, folder or hub id")
    parser.add_argument("--naive-max-gb", type=float, default=10.0, help="memory budget of naive")
    parser.add_argument("--constraint-tokens", type=int, default=64, help="|C|")
    parser.add_argument(
        "--repeats", type=int, default=3, help="timed passes of plain and of ours, alternated"
    )
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument(
        "--worker", choices=("plain", "ours", "naive", "timing"), help=argparse.SUPPRESS
    )
    parser.add_argument("--length", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--tokens", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker == "timing":
        worker_timing(args)
        return 0
    if args.worker:
        worker_memory(args)
        return 0

    lengths = sorted({int(x) for x in args.lengths.split(",") if x.strip()})
    env = os.environ.get("WORKBENCH_EXTERNAL_DATA")
    data = args.data or (Path(env) if env else REPO.parent / "shared" / "data" / "external")
    if not (data / "pm_llm_benchmark_traces" / "traces.jsonl").exists():
        sys.exit(f"external data not found at {data}: use --data or $WORKBENCH_EXTERNAL_DATA")

    import transformers

    from workbench.backends.models import resolve_model

    path = resolve_model(args.model)
    tokenizer = transformers.AutoTokenizer.from_pretrained(path)
    config = transformers.AutoConfig.from_pretrained(path)
    n_layers, n_heads = config.num_hidden_layers, config.num_attention_heads
    spec = build_tokens(data, tokenizer, max(lengths), args.constraint_tokens)
    log(
        f"{len(spec['ids'])} tokens from {len(spec['traces'])} trace(s); prompt "
        f"{spec['prompt_tokens']} tokens; |C| = {len(spec['constraint'])}"
    )
    started = time.perf_counter()
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-attention-") as tmpdir:
        tmp = Path(tmpdir)
        tokens = tmp / "tokens.json"
        tokens.write_text(json.dumps(spec))
        for length in lengths:
            log(f"T={length}")
            times, _ = run_worker("timing", length, tokens, tmp, args)
            plain, _ = run_worker("plain", length, tokens, tmp, args)
            ours, alpha = run_worker("ours", length, tokens, tmp, args)
            plain_s, ours_s = min(times["plain"]), min(times["ours"])
            naive_s = err = naive_peak = None
            estimate = naive_estimate_gb(length, n_layers, n_heads)
            if estimate <= args.naive_max_gb:
                naive, reference = run_worker("naive", length, tokens, tmp, args)
                naive_s, naive_peak = naive["seconds"], naive["peak_bytes"]
                if alpha is not None and reference is not None:
                    err = float(np.max(np.abs(alpha - reference)))
            else:
                log(f"  naive skipped: needs ~{estimate:.1f} GB > {args.naive_max_gb} GB")
            ratio_mem = (
                ours["peak_bytes"] / plain["peak_bytes"]
                if ours["peak_bytes"] and plain["peak_bytes"]
                else None
            )
            results.append(
                {
                    "T": length,
                    "plain_forward_s": round(plain_s, 3),
                    "ours_s": round(ours_s, 3),
                    "naive_s": round(naive_s, 3) if naive_s is not None else None,
                    "time_ratio_vs_plain": round(ours_s / plain_s, 3),
                    "peak_rss_ratio_vs_plain": round(ratio_mem, 3) if ratio_mem else None,
                    "max_abs_err_vs_naive": err,
                    "plain_peak_mb": _mb(plain["peak_bytes"]),
                    "ours_peak_mb": _mb(ours["peak_bytes"]),
                    "naive_peak_mb": _mb(naive_peak),
                    "naive_estimate_gb": round(estimate, 2),
                    "baseline_rss_mb": _mb(plain["baseline_rss_bytes"]),
                    "memory_method": plain["memory_method"],
                    "plain_times_s": [round(t, 3) for t in times["plain"]],
                    "ours_times_s": [round(t, 3) for t in times["ours"]],
                }
            )
            log(f"  {json.dumps(results[-1])}")
    import torch

    result = {
        "benchmark": "attention_constraint_mass",
        "model": args.model,
        "device": args.device,
        "dtype": "float32",
        "constraint_tokens": len(spec["constraint"]),
        "repeats": args.repeats,
        "results": results,
        "targets": TARGETS,
        "seconds": round(time.perf_counter() - started, 1),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "threads": args.threads or torch.get_num_threads(),
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"{'T':>6} {'plain s':>9} {'ours s':>9} {'naive s':>9} {'time x':>7} {'mem x':>7} {'err':>9}"
        )
        for r in results:
            print(
                f"{r['T']:>6} {r['plain_forward_s']:>9} {r['ours_s']:>9} {r['naive_s']!s:>9} "
                f"{r['time_ratio_vs_plain']:>7} {r['peak_rss_ratio_vs_plain']!s:>7} "
                f"{r['max_abs_err_vs_naive']!s:>9}"
            )
    return 0


def _mb(value: int | None) -> float | None:
    return round(value / 2**20, 1) if value is not None else None


if __name__ == "__main__":
    raise SystemExit(main())
