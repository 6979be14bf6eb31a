"""The attention command: constraint attention of a stored trajectory under a model."""

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
        help="constraint attention of a trajectory (teacher-forced through a transformers model)",
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
    p.add_argument("--no-save", dest="save", action="store_false", help="do not store the result")
    p.add_argument("--json", action="store_true", help="print the result summary as JSON")


def _attention(args: argparse.Namespace) -> int:
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
