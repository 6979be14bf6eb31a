"""Training-data commands: pairs, export."""

from __future__ import annotations

import argparse
import sys
import warnings
from typing import Any

from workbench.cli._common import CliError, print_json, selection_args, store_arg
from workbench.store.store import Store


def add_parsers(sub: Any) -> None:
    """Add this module's commands to the ``workbench`` parser."""
    from workbench.pair import PAIR_STRATEGIES

    makers = [s for s in PAIR_STRATEGIES if s != "imported"]
    p = sub.add_parser("pairs", help="make preference pairs (and summarise the stored ones)")
    store_arg(p)
    p.add_argument("--strategy", choices=makers, help="how to pair (omit with --summary)")
    p.add_argument("--field", default="grade",
                   help="grade strategy: 'grade' (the score) or a numeric metadata key")  # fmt: skip
    p.add_argument("--by", metavar="KEY", help="metadata key that names the prompt (question_id)")
    p.add_argument("--min-gap", type=float, default=0.0,
                   help="least value difference (grade) or characters saved (length, fcs, early_exit)")  # fmt: skip
    p.add_argument("--min-ratio", type=float, default=None,
                   help="length: least longer/shorter ratio (default 1.1)")  # fmt: skip
    p.add_argument("--min-chosen", type=float, help="required grade (or field value) of chosen")
    p.add_argument("--max-rejected", type=float, help="highest grade (or field value) of rejected")
    p.add_argument("--max-per-prompt", type=int, help="at most this many pairs per prompt")
    p.add_argument("--no-dedup", action="store_true", help="keep identical and repeated pairs")
    p.add_argument("--no-reuse", action="store_true", help="use each trajectory in one pair only")
    p.add_argument("--correct-threshold", type=float, default=None,
                   help="score from which a grade without a verdict counts as correct (0.99)")  # fmt: skip
    selection_args(p)
    p.add_argument("--tag", action="append", help="only trajectories with this tag (repeatable)")
    p.add_argument("--dry-run", action="store_true", help="make and count pairs, store nothing")
    probe = p.add_argument_group("early_exit probing")
    probe.add_argument("--probe-model", default=None, help="model that samples answers "
                       "(default smollm2-135m)")  # fmt: skip
    probe.add_argument("--backend", default="transformers", help="transformers, openai or vllm")
    probe.add_argument("--base-url", help="server URL for --backend openai")
    probe.add_argument("--samples", type=int, default=8, help="answers sampled per boundary (M)")
    probe.add_argument("--threshold", type=float, default=0.5, help="p(correct) to stop at (T)")
    probe.add_argument("--answer-tokens", type=int, default=64, help="token budget per answer")
    probe.add_argument("--temperature", type=float, default=0.6)
    probe.add_argument("--seed", type=int, default=0)
    probe.add_argument("--max-boundaries", type=int, default=16, help="boundaries per trace")
    probe.add_argument("--min-saved", type=float, default=0.1,
                       help="least share of the thinking the exit must save")  # fmt: skip
    probe.add_argument("--segmenter", default="cues", help="cues, paragraphs or sentences")
    probe.add_argument("--limit", type=int, help="probe at most this many trajectories")
    lengths = p.add_argument_group("summary")
    lengths.add_argument("--summary", action="store_true",
                         help="only summarise the stored pairs (counts, token lengths)")  # fmt: skip
    _length_args(lengths)
    p.add_argument("--json", action="store_true", help="print the report as JSON")

    e = sub.add_parser(
        "export", help="export training data (dpo, sft, kto, stepwise) for TRL, or the traces"
    )
    kinds = e.add_subparsers(dest="export_kind", required=True, metavar="KIND")
    for kind, text in (
        ("dpo", "preference pairs with an explicit prompt (DPOTrainer)"),
        ("sft", "traces for supervised fine-tuning (SFTTrainer)"),
        ("kto", "unpaired preference: label True/False (KTOTrainer)"),
        ("stepwise", "per-segment good/bad labels from annotations (PRM)"),
    ):
        k = kinds.add_parser(kind, help=text)
        store_arg(k)
        k.add_argument("--out", required=True, metavar="FILE", help="FILE.jsonl or FILE.parquet")
        k.add_argument("--format", choices=["jsonl", "parquet"], help="default: from --out")
        if kind != "stepwise":
            k.add_argument("--style", choices=["conversational", "standard"],
                           default="conversational", help="messages (default) or plain text")  # fmt: skip
            k.add_argument("--think", choices=["tags", "reasoning_content", "drop"], default="tags",
                           help="thinking as <think>…</think> in the content (default), as "
                           "reasoning_content, or dropped")  # fmt: skip
            k.add_argument("--strategy", action="append",
                           help="only pairs of this strategy (repeatable)")  # fmt: skip
        if kind == "sft":
            k.add_argument("--from", dest="rows_from", choices=["pairs", "correct", "all"],
                           default="pairs", help="chosen sides of pairs (default), correct "
                           "trajectories, or all")  # fmt: skip
            k.add_argument("--sft-format", choices=["prompt_completion", "messages"],
                           default="prompt_completion", help="prompt-completion or messages")  # fmt: skip
        if kind == "kto":
            k.add_argument("--from", dest="rows_from", choices=["pairs", "graded"],
                           default="pairs", help="pairs (default) or graded trajectories")  # fmt: skip
        if kind == "stepwise":
            k.add_argument("--unlabelled", choices=["skip", "good", "bad"], default="skip",
                           help="unlabelled segments: skip the trace (default) or label them")  # fmt: skip
        if kind in ("sft", "kto", "stepwise"):
            selection_args(k)
        k.add_argument("--no-ids", action="store_true", help="leave out the id columns")
        k.add_argument("--card", metavar="PATH", help="dataset card path (default README.md)")
        k.add_argument("--no-card", action="store_true", help="write no dataset card")
        _length_args(k)
        k.add_argument("--json", action="store_true", help="print the summary as JSON")
    k = kinds.add_parser(
        "traces", help="the trajectories as a corpus file (JSONL/Parquet) that import reads back"
    )
    store_arg(k)
    k.add_argument("--out", required=True, metavar="FILE", help="FILE.jsonl or FILE.parquet")
    k.add_argument("--format", choices=["jsonl", "parquet"], help="default: from --out")
    selection_args(k)
    k.add_argument("--tag", action="append", help="only trajectories with this tag (repeatable)")
    k.add_argument("--json", action="store_true", help="print the summary as JSON")


def _export_traces(args: argparse.Namespace) -> int:
    from workbench.export.traces import export_traces

    filters = _filters(args)
    with Store(args.store, create=False) as store:
        written = export_traces(store, args.out, format=args.format, **filters)
    if args.json:
        print_json({"path": str(written.path), "format": written.format, "rows": written.rows})
    else:
        print(
            f"wrote {written.rows} trajectories to {written.path} ({written.format}, layout "
            "workbench.traces/1): `workbench import` reads it back"
        )
    return 0


def _length_args(p: Any) -> None:
    p.add_argument("--tokenizer", metavar="MODEL",
                   help="count tokens with this model's tokenizer (alias or folder)")  # fmt: skip
    p.add_argument("--max-length", type=int, default=1024,
                   help="warn about rows longer than this many tokens (TRL's default 1024)")  # fmt: skip


def _tokenizer(name: str | None) -> Any:
    if not name:
        return None
    from pathlib import Path

    from transformers import AutoTokenizer

    from workbench.backends.models import resolve_model

    folder = Path(name).expanduser()
    try:  # a folder with only tokenizer files is fine; anything else is resolved as a model
        return AutoTokenizer.from_pretrained(folder if folder.is_dir() else resolve_model(name))
    except OSError as exc:
        raise CliError(f"cannot load the tokenizer of {name!r}: {exc}") from None


def _filters(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in ("model", "source", "tag"):
        value = getattr(args, name, None)
        if value:
            out["tags" if name == "tag" else name] = value
    return out


def _print_summary(summary: dict[str, Any]) -> None:
    total = summary["lengths"]["total"]
    unit = "tokens" if summary["exact"] else "tokens (estimated)"
    strategies = ", ".join(f"{k} {v}" for k, v in summary["strategies"].items())
    print(f"{summary['pairs']} pairs over {summary['prompts']} prompts: {strategies}")
    if total["count"]:
        print(
            f"longest sequence per pair, {unit}: median {total['median']:.0f}, p90 {total['p90']}, "
            f"max {total['max']}; {total['over_max_length']} over max_length "
            f"{summary['max_length']}"
        )


def _cmd_pairs(args: argparse.Namespace) -> int:
    from workbench.pairs import ProbeConfig, Selection, make_pairs, pair_summary
    from workbench.pairs.selection import DEFAULT_MIN_RATIO

    tokenizer = _tokenizer(args.tokenizer)
    with Store(args.store, create=False) as store:
        if args.summary:
            summary = pair_summary(
                store,
                strategies=None if args.strategy is None else [args.strategy],
                tokenizer=tokenizer,
                max_length=args.max_length,
            )
            if args.json:
                print_json(summary)
            else:
                _print_summary(summary)
            for w in summary["warnings"]:
                sys.stderr.write(f"workbench: warning: {w}\n")
            return 0
        if args.strategy is None:
            raise CliError("give --strategy (or --summary to summarise the stored pairs)")
        selection = Selection(
            min_gap=args.min_gap,
            min_ratio=DEFAULT_MIN_RATIO if args.min_ratio is None else args.min_ratio,
            min_chosen=args.min_chosen,
            max_rejected=args.max_rejected,
            max_per_prompt=args.max_per_prompt,
            dedup=not args.no_dedup,
            reuse=not args.no_reuse,
        )
        options: dict[str, Any] = {}
        if args.correct_threshold is not None:
            options["correct_threshold"] = args.correct_threshold
        backend = None
        if args.strategy == "early_exit":
            options["probe"] = ProbeConfig(
                samples=args.samples,
                threshold=args.threshold,
                max_new_tokens=args.answer_tokens,
                temperature=args.temperature,
                seed=args.seed,
                max_boundaries=args.max_boundaries,
                min_saved_fraction=args.min_saved,
                segmenter=args.segmenter,
            )
            options["limit"] = args.limit
            options["tokenizer"] = tokenizer
            backend = _backend(args)
            options["progress"] = _progress
        try:
            report = make_pairs(
                store,
                args.strategy,
                field=args.field,
                by=args.by,
                selection=selection,
                backend=backend,
                dry_run=args.dry_run,
                **options,
                **_filters(args),
            )
        finally:
            if backend is not None:
                backend.close()
        made: dict[str, Any] | None = (
            pair_summary(
                store,
                pair_ids=report.pair_ids,
                tokenizer=tokenizer,
                max_length=args.max_length,
            )
            if report.pair_ids and not args.dry_run
            else None
        )
    if args.json:
        print_json({**report.to_dict(), "summary": made})
    else:
        print(report)
        if made is not None:
            _print_summary(made)
    for w in [] if made is None else made["warnings"]:
        sys.stderr.write(f"workbench: warning: {w}\n")
    return 0


def _progress(done: int, total: int) -> None:
    if sys.stderr.isatty():
        sys.stderr.write(f"\r  probed {done}/{total}" + ("\n" if done == total else ""))
        sys.stderr.flush()


def _backend(args: argparse.Namespace) -> Any:
    from workbench.backends.registry import create_backend

    options: dict[str, Any] = {}
    if args.base_url:
        options["base_url"] = args.base_url
    model = args.probe_model or "smollm2-135m"
    sys.stderr.write(f"loading {model} ({args.backend}) for early-exit probing …\n")
    return create_backend(args.backend, model, **options)


def _cmd_export(args: argparse.Namespace) -> int:
    from workbench.export import export_dpo, export_kto, export_sft, export_stepwise

    if args.export_kind == "traces":
        return _export_traces(args)
    tokenizer = _tokenizer(args.tokenizer)
    common: dict[str, Any] = {
        "ids": not args.no_ids,
        "tokenizer": tokenizer,
        "max_length": args.max_length,
    }
    kind = args.export_kind
    with Store(args.store, create=False) as store, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # printed once below instead
        if kind == "stepwise":
            export = export_stepwise(store, unlabelled=args.unlabelled, **common, **_filters(args))
        else:
            common.update(style=args.style, think=args.think, strategies=args.strategy)
            if kind == "dpo":
                export = export_dpo(store, **common)
            elif kind == "sft":
                export = export_sft(
                    store,
                    rows_from=args.rows_from,
                    format=args.sft_format,
                    **common,
                    **_filters(args),
                )
            else:
                export = export_kto(store, rows_from=args.rows_from, **common, **_filters(args))
    card: Any = False if args.no_card else (args.card or True)
    written = export.write(args.out, format=args.format, card=card)
    summary = export.summary()
    if args.json:
        print_json(
            {
                **summary,
                "path": str(written.path),
                "card": None if written.card is None else str(written.card),
                "row_lengths": export.lengths,
            }
        )
    else:
        print(f"wrote {written.rows} rows to {written.path}: {export}")
        total = summary["lengths"].get("total") or {}
        if total.get("count"):
            unit = "tokens" if export.exact else "tokens (estimated)"
            print(
                f"longest sequence per row, {unit}: median {total['median']:.0f}, p90 "
                f"{total['p90']}, max {total['max']}; {total['over_max_length']} over max_length "
                f"{export.max_length}"
            )
        if written.card is not None:
            print(f"dataset card: {written.card}")
    for w in export.warnings:
        sys.stderr.write(f"workbench: warning: {w}\n")
    return 0


COMMANDS = {"pairs": _cmd_pairs, "export": _cmd_export}
