"""Analysis commands: analyze, grade, stats."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from workbench.cli._common import CliError, print_json, selection_args, store_arg
from workbench.store.store import Store


def add_parsers(sub: Any) -> None:
    """Add this module's commands to the ``workbench`` parser."""
    p = sub.add_parser("analyze", help="segment, label and find keywords; store the segments")
    store_arg(p)
    p.add_argument(
        "--taxonomy", default="dto", help="dto (default), thought_anchors, venhoff, pmllm"
    )
    p.add_argument("--lexicon", default="r1", help="r1 (default), nowait, mi_peaks")
    p.add_argument("--strategy", default="cues", help="cues (default), paragraphs, sentences")
    p.add_argument("--labeller", metavar="MODEL.npz", help="label with a trained model labeller")
    selection_args(p)
    p.add_argument("--json", action="store_true", help="print the summary as JSON")

    p = sub.add_parser("train-labeller", help="train the model labeller on hand-labelled segments")
    store_arg(p)
    p.add_argument("--out", required=True, metavar="MODEL.npz", help="where to save the labeller")
    p.add_argument("--context", action="store_true", help="use neighbour and position features")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")

    p = sub.add_parser("grade", help="grade trajectories (math answers, IFEval instructions)")
    store_arg(p)
    p.add_argument("--grader", required=True, choices=["math", "ifeval"])
    p.add_argument("--target", default="answer", choices=["answer", "thinking"],
                   help="grade the answer (thinking removed, default) or the thinking")  # fmt: skip
    p.add_argument("--overwrite", action="store_true", help="re-grade graded trajectories")
    selection_args(p)
    p.add_argument("--json", action="store_true", help="print the summary as JSON")

    p = sub.add_parser("stats", help="corpus statistics")
    stats_sub = p.add_subparsers(dest="stats_command", required=True, metavar="WHAT")
    k = stats_sub.add_parser("keywords", help="reflection-keyword statistics by group")
    store_arg(k)
    k.add_argument("--lexicon", default="r1", help="r1 (default), nowait, mi_peaks")
    k.add_argument("--keywords", help="a custom comma-separated list instead of a preset")
    k.add_argument(
        "--by",
        action="append",
        help="group by a column (model, source, status), 'correct', or a metadata key (repeatable)",
    )
    selection_args(k)
    k.add_argument("--per-keyword", action="store_true", help="hits per keyword instead")
    k.add_argument("--json", action="store_true", help="print a JSON array of objects")
    o = stats_sub.add_parser("overthinking", help="first correct solution and redundancy by group")
    store_arg(o)
    o.add_argument("--by", action="append", help="group by a column or a metadata key (repeatable)")
    selection_args(o)
    o.add_argument("--internal", action="store_true", help="also internal redundancy (MiniLM)")
    o.add_argument("--json", action="store_true", help="print a JSON array of objects")


def _cmd_train_labeller(args: argparse.Namespace) -> int:
    from collections import Counter

    from workbench.analysis.labeller import ModelLabeller, labelled_segments_from_store

    with Store(args.store, create=False) as store:
        segments, labels = labelled_segments_from_store(store)
    if len(set(labels)) < 2:
        raise CliError(
            f"found {len(labels)} hand-labelled segments with {len(set(labels))} distinct labels: "
            "label segments of at least two kinds first (workbench analyze, then annotate)"
        )
    labeller = ModelLabeller(context=args.context).fit_segments(segments, labels)
    labeller.save(args.out)
    summary = {"segments": len(labels), "labels": dict(Counter(labels)), "out": args.out}
    if args.json:
        print_json(summary)
    else:
        print(f"trained on {len(labels)} segments ({len(set(labels))} labels); saved to {args.out}")
    return 0


def _cmd_analyze(args: argparse.Namespace) -> int:
    from workbench.analysis.labeller import ModelLabeller
    from workbench.analysis.pipeline import analyze_store

    interactive = sys.stderr.isatty() and not args.json

    def progress(done: int, total: int) -> None:
        if interactive and (done == total or done % 50 == 0):
            sys.stderr.write(f"\r  analysed {done}/{total}")
            sys.stderr.write("\n" if done == total else "")
            sys.stderr.flush()

    with Store(args.store, create=False) as store:
        try:
            summary = analyze_store(
                store,
                strategy=args.strategy,
                taxonomy=args.taxonomy,
                lexicon=args.lexicon,
                labeller=None if args.labeller is None else ModelLabeller.load(args.labeller),
                progress=progress,
                model=args.model,
                source=args.source,
            )
        except ValueError as exc:
            raise CliError(str(exc)) from None
    if args.json:
        print_json(summary)
        return 0
    labels = ", ".join(f"{k} {v}" for k, v in summary["labels"].items())
    print(
        f"analysed {summary['trajectories']} trajectories: {summary['segments']} segments "
        f"({summary['strategy']}), {summary['keyword_hits']} keyword hits"
    )
    print(f"labels ({summary['taxonomy']}): {labels}")
    return 0


def _cmd_grade(args: argparse.Namespace) -> int:
    from workbench.analysis.grading.pipeline import grade_store

    with Store(args.store, create=False) as store:
        summary = grade_store(
            store,
            grader=args.grader,
            target=args.target,
            overwrite=args.overwrite,
            model=args.model,
            source=args.source,
        )
    if args.json:
        print_json(summary)
        return 0
    accuracy = "-" if summary["accuracy"] is None else f"{summary['accuracy']:.3f}"
    print(
        f"graded {summary['graded']} of {summary['trajectories']} trajectories with "
        f"{args.grader} ({args.target}): {summary['correct']} correct, {summary['incorrect']} "
        f"incorrect, accuracy {accuracy}; {summary['not_applicable']} had nothing to grade "
        f"against, {summary['skipped_already_graded']} were already graded (--overwrite)"
    )
    return 0


def _cmd_stats(args: argparse.Namespace) -> int:
    if args.stats_command == "overthinking":
        return _overthinking(args)
    return _keywords(args)


def _overthinking(args: argparse.Namespace) -> int:
    from workbench.analysis._overthinking import overthinking_frame, overthinking_summary

    with Store(args.store, create=False) as store:
        frame = overthinking_frame(
            store.iter_trajectories(model=args.model, source=args.source), internal=args.internal
        )
    summary = overthinking_summary(frame, by=args.by or ["model"])
    if args.json:
        print_json(summary.to_dicts())
    else:
        with pl_config():
            print(summary)
    return 0


def _keywords(args: argparse.Namespace) -> int:
    from workbench.analysis._keyword_stats import keyword_counts, keyword_stats, keyword_summary

    lexicon: Any = args.lexicon
    if args.keywords:
        lexicon = [w for w in args.keywords.split(",") if w.strip()]
    by = args.by or ["model"]
    with Store(args.store, create=False) as store:
        try:
            stats = keyword_stats(
                store.iter_trajectories(model=args.model, source=args.source), lexicon=lexicon
            )
        except ValueError as exc:
            raise CliError(str(exc)) from None
    frame = keyword_counts(stats, by=by) if args.per_keyword else keyword_summary(stats, by=by)
    if args.json:
        print_json(frame.to_dicts())
        return 0
    with pl_config():
        print(frame)
    return 0


def pl_config() -> Any:
    """Polars display settings for the terminal: all rows, wide tables."""
    import polars as pl

    return pl.Config(tbl_rows=200, tbl_cols=20, tbl_width_chars=160, fmt_str_lengths=40)


COMMANDS = {
    "analyze": _cmd_analyze,
    "train-labeller": _cmd_train_labeller,
    "grade": _cmd_grade,
    "stats": _cmd_stats,
}
