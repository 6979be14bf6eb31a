"""The generate command."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from workbench.cli._common import CliError, print_json, store_arg


def add_parsers(sub: Any) -> None:
    """Add this module's commands to the ``workbench`` parser."""
    p = sub.add_parser("generate", help="generate trajectories with a model and record them")
    store_arg(p)
    p.add_argument(
        "--model", default=None, help="alias, local folder or hub id (default smollm2-135m)"
    )
    prompts = p.add_mutually_exclusive_group(required=True)
    prompts.add_argument("--prompt", help="one prompt")
    prompts.add_argument("--prompts", metavar="FILE.jsonl", help="one prompt per line: a JSON "
                         'string, or an object with "prompt" (or "messages") and optional "id"')  # fmt: skip
    p.add_argument("--n", type=int, default=1, help="samples per prompt")
    p.add_argument("--max-new-tokens", type=int, default=256)
    p.add_argument("--temperature", type=float, default=0.6)
    p.add_argument("--top-p", type=float, default=0.95)
    p.add_argument("--top-k", type=int, default=None)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--stop", action="append", default=[], help="stop string (repeatable)")
    p.add_argument("--logprobs", type=int, default=0, help="top alternatives per token (0-20)")
    p.add_argument(
        "--thinking-budget", type=int, help="force </think> after this many thinking tokens"
    )
    p.add_argument("--thinking-prefill", help='start of the assistant turn, e.g. "<think>\n"')
    thinking = p.add_mutually_exclusive_group()
    thinking.add_argument("--thinking", dest="enable_thinking", action="store_true", default=None,
                          help="enable_thinking=True for chat templates that read it (Qwen3)")  # fmt: skip
    thinking.add_argument("--no-thinking", dest="enable_thinking", action="store_false",
                          help="enable_thinking=False")  # fmt: skip
    p.add_argument("--recipe", choices=["auto", "none"], default="auto",
                   help="auto: the model's thinking recipe (one-shot example + prefill) if it has one")  # fmt: skip
    p.add_argument(
        "--backend", default="transformers", help="transformers (default), openai or vllm"
    )
    p.add_argument(
        "--base-url", help="server URL for --backend openai (e.g. http://127.0.0.1:8000/v1)"
    )
    p.add_argument("--device", help="transformers: cpu, cuda, cuda:1, mps")
    p.add_argument("--dtype", help="transformers: float32, bfloat16, float16")
    p.add_argument("--tag", action="append", default=[], help="tag every trajectory")
    p.add_argument("--json", action="store_true", help="print the trajectories' summaries as JSON")


def _read_prompts(args: argparse.Namespace) -> list[tuple[Any, dict[str, Any]]]:
    """Return ``(prompt or messages, metadata)`` pairs from --prompt or --prompts."""
    if args.prompt is not None:
        return [(args.prompt, {})]
    path = Path(args.prompts)
    if not path.exists():
        raise CliError(f"{path} does not exist: check the --prompts path")
    out: list[tuple[Any, dict[str, Any]]] = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CliError(f"{path.name} line {lineno}: invalid JSON ({exc.msg})") from None
        if isinstance(value, str):
            out.append((value, {}))
        elif isinstance(value, dict) and ("prompt" in value or "messages" in value):
            prompt = value.get("messages") or value["prompt"]
            meta = {k: v for k, v in value.items() if k not in ("prompt", "messages")}
            out.append((prompt, meta))
        else:
            raise CliError(
                f'{path.name} line {lineno}: expected a JSON string or an object with "prompt"'
            )
    if not out:
        raise CliError(f"{path} holds no prompts")
    return out


def _cmd_generate(args: argparse.Namespace) -> int:
    from workbench.session import Session

    prompts = _read_prompts(args)
    options: dict[str, Any] = {}
    if args.base_url:
        options["base_url"] = args.base_url
    if args.device:
        options["device"] = args.device
    if args.dtype:
        options["dtype"] = args.dtype
    interactive = sys.stderr.isatty()
    sys.stderr.write(f"loading {args.model or 'smollm2-135m'} ({args.backend}) …\n")
    summaries: list[dict[str, Any]] = []
    with Session(
        args.model or "smollm2-135m", store=args.store, backend=args.backend, **options
    ) as session:
        for number, (prompt, meta) in enumerate(prompts, start=1):
            run = session.generate(
                prompt,
                n=args.n,
                max_new_tokens=args.max_new_tokens,
                temperature=args.temperature,
                top_p=args.top_p,
                top_k=args.top_k,
                seed=args.seed,
                stop=args.stop,
                logprobs=args.logprobs,
                enable_thinking=args.enable_thinking,
                thinking_prefill=args.thinking_prefill,
                thinking_budget=args.thinking_budget,
                tags=args.tag,
                metadata=meta,
                recipe=args.recipe,
            )
            while not run.done:
                run.wait(0.25)
                _progress_line(run, number, len(prompts), interactive)
            _progress_line(run, number, len(prompts), interactive, final=True)
            for t in run.trajectories():
                summaries.append(
                    {
                        "id": t.id,
                        "status": t.status,
                        "think_format": t.think_format,
                        "thinking_chars": len(t.thinking),
                        "answer_chars": len(t.answer),
                        "n_tokens": 0 if t.tokens is None else len(t.tokens),
                        "finish_reason": t.finish_reason,
                    }
                )
            if run.status == "error":
                raise CliError(f"generation failed: {run.error}")
        store_path = None if session.store is None else session.store.path
    if args.json:
        print_json(summaries)
    else:
        for row in summaries:
            print(
                f"{row['id']}  {row['status']:<9} {row['think_format']:<12} "
                f"thinking {row['thinking_chars']:>5}  answer {row['answer_chars']:>5}  "
                f"tokens {row['n_tokens']}"
            )
        print(f"recorded {len(summaries)} trajectories in {store_path}")
    return 0


def _progress_line(
    run: Any, number: int, total: int, interactive: bool, *, final: bool = False
) -> None:
    p = run.progress()
    line = (
        f"prompt {number}/{total}: {p['samples_done']}/{p['samples']} samples, {p['tokens']} tokens, "
        f"{p['tokens_per_s']:.1f} tok/s, {p['elapsed_s']:.1f} s"
    )
    if interactive:
        sys.stderr.write(f"\r{line}" + ("\n" if final else ""))
        sys.stderr.flush()
    elif final:
        sys.stderr.write(line + "\n")


COMMANDS = {"generate": _cmd_generate}
