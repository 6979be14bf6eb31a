"""The attention command: constraint or segment-to-segment attention of a stored trajectory."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from workbench.cli._common import print_json, store_arg
from workbench.store.store import Store


def add_parsers(sub: Any) -> None:
    """Add this module's commands to the ``workbench`` parser."""
    p = sub.add_parser(
        "attention",
        help="constraint attention of a trajectory (teacher-forced through a transformers model); "
        "--segments: segment-to-segment attention and receiver heads",
    )
    store_arg(p)
    p.add_argument("--id", required=True, help="trajectory id (or a unique prefix)")
    p.add_argument(
        "--model", default=None, help="alias, local folder or hub id (default smollm2-135m)"
    )
    p.add_argument("--constraint", action="append", default=[], metavar="TEXT",
                   help="a phrase of the prompt to use as a constraint (repeatable); default: the "
                        "trajectory's constraints, its IFEval metadata, or the generic detector")  # fmt: skip
    p.add_argument("--device", help="cpu, cuda, cuda:1, mps")
    p.add_argument("--dtype", help="float32, bfloat16, float16")
    p.add_argument("--chunk-size", type=int, help="feed long traces in chunks of N tokens")
    p.add_argument("--segments", action="store_true",
                   help="segment-to-segment attention of the stored segments (Thought Anchors' "
                        "receiver heads) instead of constraint attention")  # fmt: skip
    p.add_argument("--preset", default="thought_anchors",
                   help="receiver-head constants with --segments: thought_anchors (default), mass")  # fmt: skip
    p.add_argument("--proximity-ignore", type=int, metavar="N",
                   help="with --segments: count only segments at least N below (preset's default)")  # fmt: skip
    p.add_argument("--top-k", type=int, metavar="K",
                   help="with --segments: how many receiver heads (preset's default)")  # fmt: skip
    p.add_argument("--no-save", dest="save", action="store_false", help="do not store the result")
    p.add_argument("--json", action="store_true", help="print the result summary as JSON")


def _segments(args: argparse.Namespace) -> int:
    from workbench.attention import RECEIVER_PRESETS, receiver_params, segment_attention
    from workbench.backends.hf import TransformersBackend
    from workbench.errors import ValidationError

    if args.preset not in RECEIVER_PRESETS:
        raise ValidationError(
            "--preset", f"unknown preset {args.preset!r}: one of {sorted(RECEIVER_PRESETS)}"
        )
    with Store(args.store, create=False) as store:
        trajectory = store.get(args.id)
        segments = store.get_segments(trajectory.id)
        if not segments:
            raise ValidationError(
                "--segments",
                f"{trajectory.id} has no stored segments: run `workbench analyze --store "
                f"{args.store}` first",
            )
        backend = TransformersBackend(args.model, device=args.device, dtype=args.dtype)
        try:
            result = segment_attention(
                trajectory,
                segments,
                backend.model,
                backend.tokenizer,
                model_name=backend.model_name,
                chunk_size=args.chunk_size,
            )
        finally:
            backend.close()
        saved = store.add_segment_attention(result) if args.save else None
    try:
        params = receiver_params(args.preset, proximity_ignore=args.proximity_ignore,
                                 top_k=args.top_k)  # fmt: skip
    except ValueError as exc:
        raise ValidationError("--proximity-ignore/--top-k", str(exc)) from None
    summary = result.to_dict(params)
    summary["preset"] = args.preset
    summary["receiver_params"] = vars(params)
    summary["saved"] = saved
    if args.json:
        print_json(summary)
        return 0
    out = sys.stdout
    out.write(f"{result.trajectory_id}  {result.model}  {result.n_segments} segments, "
              f"{result.n_layers} layers × {result.n_heads} heads\n")  # fmt: skip
    for head in summary["receiver_heads"][:5]:
        out.write(f"  receiver head L{head['layer']}H{head['head']}  kurtosis {head['kurtosis']}\n")
    ranked = sorted(
        (s for s in summary["segments"] if s["received"] is not None),
        key=lambda s: -s["received"],
    )
    for seg in ranked[:5]:
        out.write(f"  received {seg['received']:.4f}  segment {seg['index']} ({seg['label']})\n")
    if saved:
        out.write(f"saved as {saved} (store.get_segment_attention)\n")
    return 0


def _attention(args: argparse.Namespace) -> int:
    if args.segments:
        return _segments(args)
    from workbench.attention import constraint_attention, save_attention
    from workbench.backends.hf import TransformersBackend

    with Store(args.store, create=False) as store:
        trajectory = store.get(args.id)
        backend = TransformersBackend(args.model, device=args.device, dtype=args.dtype)
        try:
            result = constraint_attention(
                trajectory,
                backend.model,
                backend.tokenizer,
                phrases=args.constraint or None,
                model_name=backend.model_name,
                chunk_size=args.chunk_size,
            )
        finally:
            backend.close()
        saved = save_attention(store, result) if args.save else None
    summary = result.to_dict()
    summary["saved"] = saved
    if args.json:
        print_json(summary)
        return 0
    out = sys.stdout
    out.write(f"{result.trajectory_id}  {result.model}  {result.mass.shape[0]} generated tokens, "
              f"{result.n_layers} layers\n")  # fmt: skip
    for name, n in zip(result.constraints, result.meta["constraint_tokens"], strict=True):
        out.write(f"  constraint ({n} tokens): {name}\n")
    for part, beta in summary["beta"].items():
        peak = max(range(len(beta)), key=beta.__getitem__)
        mean = sum(beta) / len(beta)
        out.write(f"  {part:<9} mean mass {mean:.4f}  peak layer {peak} ({beta[peak]:.4f})\n")
    if saved:
        out.write(f"saved as {saved} (workbench.constraints.load_attention)\n")
    return 0


COMMANDS = {"attention": _attention}
