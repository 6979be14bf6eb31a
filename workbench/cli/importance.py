"""The importance command: counterfactual importance of a stored trajectory's segments."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from workbench.cli._common import print_json, store_arg
from workbench.store.store import Store


def add_parsers(sub: Any) -> None:
    """Add this module's commands to the ``workbench`` parser."""
    p = sub.add_parser(
        "importance",
        help="which segments matter: resample from every segment boundary, grade the answers, "
        "report per segment the change in p(correct) and the answer KL (stored, resumable)",
    )
    store_arg(p)
    p.add_argument("--id", required=True, help="trajectory id (or a unique prefix)")
    p.add_argument("--samples", type=int, metavar="M", help="continuations per boundary")
    p.add_argument("--preset", default="quick",
                   help="thought_anchors, quick (default) or early_exit")  # fmt: skip
    p.add_argument("--mode", choices=("resample", "early_exit"), help="override the preset's mode")
    p.add_argument("--model", default=None, help="model (default smollm2-135m)")
    p.add_argument("--backend", default="transformers", help="transformers, openai or vllm")
    p.add_argument("--base-url", help="server URL for --backend openai")
    p.add_argument("--device", help="cpu, cuda, … (transformers)")
    p.add_argument("--thinking-tokens", type=int, help="new thinking tokens before the answer")
    p.add_argument("--answer-tokens", type=int, help="token budget of the answer")
    p.add_argument("--temperature", type=float)
    p.add_argument("--seed", type=int)
    p.add_argument("--segmenter", help="cues, paragraphs or sentences")
    p.add_argument("--concurrency", type=int, help="boundaries in flight (server backends)")
    p.add_argument("--segment", type=int, action="append", dest="segments", metavar="K",
                   help="measure only segment K (repeatable)")  # fmt: skip
    p.add_argument("--no-counterfactual", dest="counterfactual", action="store_false",
                   help="skip the embedding filter of counterfactual importance")  # fmt: skip
    p.add_argument("--estimate", action="store_true",
                   help="print what the run would sample and cost, sample nothing")  # fmt: skip
    p.add_argument("--json", action="store_true", help="print the result as JSON")


_OVERRIDES = (
    "samples", "mode", "thinking_tokens", "answer_tokens", "temperature", "seed", "segmenter",
    "concurrency",
)  # fmt: skip
"""The options that override a field of the preset's ImportanceConfig (same names)."""


def _importance(args: argparse.Namespace) -> int:
    from workbench.analysis.importance import estimate_importance, get_preset, segment_importance
    from workbench.backends.registry import create_backend

    overrides = {
        name: getattr(args, name) for name in _OVERRIDES if getattr(args, name) is not None
    }
    config = get_preset(args.preset).with_(**overrides)
    model = args.model or "smollm2-135m"
    with Store(args.store, create=False) as store:
        trajectory = store.get(args.id)
        options: dict[str, Any] = {}
        if args.base_url:
            options["base_url"] = args.base_url
        if args.device:
            options["device"] = args.device
        if args.estimate:
            # a backend reports the name it was loaded by: the estimate needs no model loaded
            found = estimate_importance(
                trajectory, model=model, config=config, store=store, segments=args.segments
            )
            print_json(found.to_dict()) if args.json else _print_estimate(found)
            return 0
        sys.stderr.write(f"loading {model} ({args.backend}) …\n")
        backend = create_backend(args.backend, model, **options)
        try:
            found = estimate_importance(
                trajectory, model=backend.model_name, config=config, store=store,
                segments=args.segments,
            )  # fmt: skip
            _print_estimate(found, out=sys.stderr)
            result = segment_importance(
                trajectory,
                backend,
                config=config,
                store=store,
                segments=args.segments,
                counterfactual=args.counterfactual,
                progress=sys.stderr.isatty(),
            )
        finally:
            backend.close()
    if args.json:
        print_json(result.to_dict())
        return 0
    out = sys.stdout
    out.write(f"{result.trajectory_id}  {result.model}  {result.n_samples} continuations "
              f"({result.n_new} new)\n")  # fmt: skip
    for s in result.segments:
        mark = "*" if s.significant else " "
        text = " ".join(s.text.split())[:60]
        out.write(f" {mark} #{s.index:<3} {s.label or '-':<14} Δp {s.delta:+.3f} "
                  f"[{s.ci[0]:+.3f}, {s.ci[1]:+.3f}]  {text}\n")  # fmt: skip
    out.write("  * the interval excludes 0\n")
    return 0


def _print_estimate(found: Any, out: Any = None) -> None:
    out = out or sys.stdout
    cost = f", about {found.seconds:.0f} s" if found.seconds else ""
    out.write(
        f"{found.segments} segments, {found.boundaries} boundaries: {found.to_sample} of "
        f"{found.continuations} continuations to sample ({found.stored} stored), at most "
        f"{found.max_new_tokens} tokens{cost}\n"
    )


COMMANDS = {"importance": _importance}
