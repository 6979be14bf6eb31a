"""Labeller commands: ``workbench labeller train | score | agreement``.

``workbench labeller train --peer venhoff --data ANNOTATED.jsonl --out DIR``
    Fine-tune the labeller on Venhoff et al.'s annotated responses (their labelled sections).
``workbench labeller train --peer pmllm --data TRACES.jsonl --steps STEPS.jsonl --out DIR``
    Fine-tune it on the pm-llm-benchmark traces and their typed steps.
``workbench labeller train --store DB --out DIR``
    Fine-tune it on the hand labels of a store (the latest ``label`` annotation of each segment).
``workbench labeller score --peer venhoff|pmllm --data … [--steps …] --labeller DIR|rule --json``
    Score a labeller against a peer file it was not trained on: one JSON object
    ``{"n", "accuracy", "macro_f1", "kappa", "majority_kappa", …}`` on the peer's own sections,
    with ``segment_kappa`` (our segments) and ``step_kappa`` (sections by their segments' vote).
``workbench labeller agreement --store DB``
    Cross-validated agreement of a labeller trained on the store's hand labels with those labels.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from workbench.cli._common import CliError, print_json, store_arg


def add_parsers(sub: Any) -> None:
    """Add the ``labeller`` command group to the ``workbench`` parser."""
    p = sub.add_parser("labeller", help="train and score the fine-tuned thinking-pattern labeller")
    cmds = p.add_subparsers(dest="labeller_command", required=True, metavar="ACTION")

    t = cmds.add_parser("train", help="fine-tune the labeller on a peer file or hand labels")
    _peer_args(t, required=False)
    store_arg(t)
    t.add_argument("--out", required=True, metavar="DIR", help="directory to save it in")
    t.add_argument("--preset", default="default", help="default, quick or thorough")
    t.add_argument("--encoder", metavar="DIR",
                   help="encoder folder to start from (default: the packaged all-MiniLM-L6-v2)")  # fmt: skip
    t.add_argument("--epochs", type=int, help="override the preset's epochs")
    t.add_argument("--max-length", type=int, metavar="TOKENS",
                   help="override the preset's tokens read of each segment")  # fmt: skip
    t.add_argument("--max-segments-per-epoch", type=int, help="override the preset's sampling")
    t.add_argument("--time-budget", type=float, metavar="S", help="stop training after S seconds")
    t.add_argument("--seed", type=int, help="override the preset's seed (0)")
    t.add_argument("--limit", type=int, help="train on at most this many traces")
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    t.add_argument("--json", action="store_true", help="print the training summary as JSON")

    s = cmds.add_parser("score", help="score a labeller against a peer's labels")
    _peer_args(s, required=True)
    s.add_argument("--labeller", required=True, metavar="DIR|rule",
                   help="a trained labeller directory, or 'rule' for the rule labeller")  # fmt: skip
    s.add_argument("--limit", type=int, help="score at most this many traces")
    s.add_argument("--json", action="store_true", help="print one JSON object")

    a = cmds.add_parser("agreement", help="cross-validated agreement with the store's hand labels")
    store_arg(a)
    a.add_argument("--folds", type=int, default=5, help="folds, grouped by prompt (5)")
    a.add_argument("--preset", default="quick", help="training preset per fold (quick)")
    a.add_argument("--json", action="store_true", help="print one JSON object")


def _peer_args(p: argparse.ArgumentParser, *, required: bool) -> None:
    p.add_argument("--peer", choices=["venhoff", "pmllm"], required=required,
                   help="venhoff: annotated responses; pmllm: traces + --steps")  # fmt: skip
    p.add_argument("--data", metavar="FILE", help="the peer's file (annotated / traces)")
    p.add_argument("--steps", metavar="FILE", help="pmllm: the reasoning-steps file")


def _load(args: argparse.Namespace) -> list[Any]:
    from workbench.analysis._peer_data import load_peer

    if args.data is None:
        raise CliError(f"--peer {args.peer} needs --data FILE (the peer's data file)")
    return load_peer(args.peer, args.data, steps=args.steps, limit=args.limit)


def _cmd_train(args: argparse.Namespace) -> int:
    from workbench.analysis._finetuned import FineTunedLabeller, file_digest
    from workbench.analysis._hand_labels import store_traces
    from workbench.analysis._peer_data import PEERS

    overrides = {
        k: v
        for k, v in (
            ("epochs", args.epochs),
            ("max_length", args.max_length),
            ("max_segments_per_epoch", args.max_segments_per_epoch),
            ("time_budget_s", args.time_budget),
            ("seed", args.seed),
        )
        if v is not None
    }
    start = time.perf_counter()
    if args.peer is not None:
        peer_traces = _load(args)
        # the units the peer labelled (its sections, in order), not our segmentation of them
        rows = [(t.section_texts, t.section_labels, t.group) for t in peer_traces]
        files = {"data": args.data, **({"steps": args.steps} if args.steps else {})}
        source = {
            "peer": args.peer,
            "files": {
                k: {"name": Path(v).name, "sha256": file_digest(v)} for k, v in files.items()
            },
        }
        taxonomy = PEERS[args.peer]
    else:
        from workbench.store.store import Store

        with Store(args.store, create=False) as store:
            rows = store_traces(store)
            source = {"store": str(Path(store.path).name) if hasattr(store, "path") else None}
        labels = {c for _, ls, _ in rows for c in ls if c is not None}
        if len(labels) < 2:
            raise CliError(
                f"the store has {len(labels)} distinct hand labels on segments: label segments of "
                "at least two kinds first (workbench analyze, then annotate in the Annotator)"
            )
        taxonomy = "custom"
    try:
        labeller = FineTunedLabeller.train(
            rows,
            taxonomy=taxonomy,
            preset=args.preset,
            encoder=args.encoder,
            progress=not args.no_progress and sys.stderr.isatty(),
            source=source,
            **overrides,
        )
    except TypeError as exc:
        raise CliError(str(exc)) from None
    labeller.save(args.out)
    history = labeller.provenance["training"]
    summary = {
        "out": str(args.out),
        "taxonomy": taxonomy,
        "labels": labeller.labels,
        "traces": labeller.provenance["traces"],
        "labelled_segments": labeller.provenance["labelled_segments"],
        "epochs": len(history["epochs"]),
        "best_epoch": history["best_epoch"],
        "heldout_kappa": history.get("heldout_kappa_mixed"),
        "network_heldout_kappa": max(
            (e.get("heldout_kappa", float("nan")) for e in history["epochs"]), default=None
        ),
        "lexical_weight": labeller.lexical_weight,
        "temperature": labeller.temperature,
        "train_seconds": history["seconds"],
        "seconds": round(time.perf_counter() - start, 1),
    }
    if args.json:
        print_json(summary)
    else:
        print(
            f"trained on {summary['labelled_segments']} labelled segments of {summary['traces']} "
            f"traces in {summary['seconds']} s (held-out kappa {summary['heldout_kappa']}); "
            f"saved to {args.out}"
        )
    return 0


def _cmd_score(args: argparse.Namespace) -> int:
    from workbench.analysis._labeller_score import load_scorer, score_traces
    from workbench.analysis._peer_data import PEERS

    scorer = load_scorer(args.labeller, taxonomy=PEERS[args.peer])
    traces = _load(args)
    report = score_traces(scorer, traces)
    if args.json:
        print_json(report)
        return 0
    print(
        f"{args.labeller} on {args.peer}'s {report['n']} sections: accuracy "
        f"{report['accuracy']:.3f}, macro-F1 {report['macro_f1']:.3f}, kappa {report['kappa']:.3f}"
        f"; on our {report['segment_n']} segments kappa {report['segment_kappa']:.3f}"
        f"; per section by their vote kappa {report['step_kappa']:.3f}"
    )
    return 0


def _cmd_agreement(args: argparse.Namespace) -> int:
    from workbench.analysis._hand_labels import hand_label_agreement
    from workbench.store.store import Store

    with Store(args.store, create=False) as store:
        report = hand_label_agreement(store, folds=args.folds, preset=args.preset)
    if args.json:
        print_json(report)
        return 0
    print(
        f"{report['n']} hand-labelled segments, {report['folds']} folds: accuracy "
        f"{report['accuracy']:.3f}, macro-F1 {report['macro_f1']:.3f}, kappa {report['kappa']:.3f}"
    )
    return 0


def _cmd_labeller(args: argparse.Namespace) -> int:
    command = {"train": _cmd_train, "score": _cmd_score, "agreement": _cmd_agreement}
    if args.labeller_command == "train" and (args.peer is None) == (args.store is None):
        if args.peer is None:
            raise CliError("say what to train on: --peer venhoff|pmllm --data FILE, or --store DB")
        raise CliError("give --peer or --store, not both")
    return command[args.labeller_command](args)


COMMANDS = {"labeller": _cmd_labeller}
