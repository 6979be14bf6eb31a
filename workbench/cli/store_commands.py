"""Commands over the store: import, index, ls, show, info."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from workbench.cli._common import CliError, print_json, selection_args, store_arg
from workbench.store._search import one_line
from workbench.store.importers import (
    FORMATS,
    LAYOUT_NAMES,
    ImportReport,
    import_file,
    is_hf_spec,
    parse_mapping,
)
from workbench.store.query import FILTERS
from workbench.store.store import Store

SAMPLE = "samples/traces.jsonl"
"""The sample shipped inside the package (written by the workbench developers)."""


def add_parsers(sub: Any) -> None:
    """Add this module's commands to the ``workbench`` parser."""
    p = sub.add_parser("import", help="import traces from files into the store")
    p.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="files, datasets folders, or hf://org/name[:split] (the local Hugging Face cache)",
    )
    store_arg(p)
    p.add_argument(
        "--sample", action="store_true", help="import the sample that ships with workbench"
    )
    p.add_argument(
        "--source", help="source name recorded on each trajectory (default: folder/file)"
    )
    p.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="TARGET=FIELD",
        help="use FIELD for TARGET (prompt, response, thinking, answer, model, gold, id, grade, "
        "messages, ...); meta.NAME=FIELD stores FIELD as metadata NAME; TARGET= turns detection "
        "of TARGET off; a near miss of a target (modle) is refused with 'did you mean'",
    )
    p.add_argument("--format", choices=FORMATS, help="override the format guessed from the name")
    p.add_argument(
        "--layout",
        choices=LAYOUT_NAMES,
        help="read every record with this layout instead of recognising one (see docs/importing.md)",
    )
    p.add_argument(
        "--hf",
        action="append",
        default=[],
        metavar="ORG/NAME[:SPLIT]",
        help="import a dataset from the local Hugging Face cache, offline (same as hf://ORG/NAME)",
    )
    p.add_argument("--model", help="model name for records that do not name one")
    p.add_argument("--tag", action="append", default=[], help="tag every imported trajectory")
    p.add_argument("--join", metavar="FILE", help="merge in the records of FILE that share --on")
    p.add_argument("--on", metavar="FIELD", help="the field to join on (e.g. prompt, question_id)")
    p.add_argument("--json", action="store_true", help="print the reports as JSON")
    p.add_argument(
        "--no-index",
        action="store_true",
        help="leave the imported trajectories out of the search index and the listing cache for "
        "now (searches and listings stay exact but slower; catch up later with 'workbench index')",
    )

    p = sub.add_parser(
        "index",
        help="bring the search index and the listing cache up to date (after adding many "
        "trajectories from Python)",
    )
    store_arg(p)
    p.add_argument(
        "--json", action="store_true", help="print {'indexed', 'listing_cached', 'seconds'} as JSON"
    )

    p = sub.add_parser("ls", help="list trajectories")
    store_arg(p)
    selection_args(p)
    p.add_argument("--status", action="append", help="complete, partial, cancelled or error")
    p.add_argument("--think-format", action="append", help="tags, close_only, none, empty, ...")
    p.add_argument("--tag", action="append", help="must carry this tag (repeatable: all of them)")
    p.add_argument(
        "--grade", help="grade score: exact (1) or an inclusive range (0.5:1, :0.5, 0.5:)"
    )
    p.add_argument("--correct", choices=["true", "false"], help="the grade's verdict")
    graded = p.add_mutually_exclusive_group()
    graded.add_argument("--graded", action="store_true", default=None, help="graded only")
    graded.add_argument("--ungraded", action="store_true", help="ungraded only")
    p.add_argument(
        "--meta",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="metadata equality (VALUE read as JSON when it parses, else as text)",
    )
    p.add_argument(
        "--search",
        help="literal text in the output or the prompt (ASCII case ignored); each row then shows "
        "a snippet around the first match (in --json: a 'snippet' object)",
    )
    p.add_argument("--limit", type=_count, help="at most this many rows")
    p.add_argument("--offset", type=_count, default=0, help="skip this many rows")
    p.add_argument(
        "--sort", default="created", choices=["created", "grade", "thinking_chars", "model", "id"]
    )
    p.add_argument("--desc", action="store_true", help="descending order")
    p.add_argument("--json", action="store_true", help="print a JSON array of objects")

    p = sub.add_parser("show", help="show one trajectory")
    p.add_argument("id", help="trajectory id or a unique prefix of one")
    store_arg(p)
    p.add_argument("--json", action="store_true", help="print the trajectory as JSON")

    p = sub.add_parser("info", help="summarise a store")
    store_arg(p)
    p.add_argument("--json", action="store_true", help="print the summary as JSON")


def _cmd_import(args: argparse.Namespace) -> int:
    paths: list[Path | str] = [p if is_hf_spec(p) else Path(p) for p in args.paths]
    paths += [h if is_hf_spec(h) else f"hf://{h}" for h in args.hf]
    if args.sample:
        paths.append(Path(str(resources.files("workbench").joinpath(SAMPLE))))
    if not paths:
        raise CliError("nothing to import: give a file (workbench import traces.jsonl) or --sample")
    mapping = parse_mapping(args.map)
    store = Store(args.store)
    reports: list[ImportReport] = []
    interactive = sys.stderr.isatty() and not args.json

    def progress(report: ImportReport) -> None:
        if interactive:
            sys.stderr.write(f"\r  {report.read} records read, {report.imported} imported ")
            sys.stderr.flush()

    with store:
        for path in paths:
            source = args.source or (
                "workbench/sample" if args.sample and path == paths[-1] else None
            )
            report = import_file(
                store,
                path,
                source=source,
                mapping=mapping,
                format=args.format,
                layout=args.layout,
                model=args.model,
                tags=args.tag,
                join=args.join,
                on=args.on,
                progress=progress,
            )
            if interactive:
                sys.stderr.write("\r")
            reports.append(report)
            if not args.json:
                print(report.summary())
        if not args.no_index:
            store.index_search(progress=None if interactive else False)
            store.cache_listing(progress=None if interactive else False)
    if args.json:
        print_json([r.to_dict() for r in reports])
    rejected = sum(len(r.errors) for r in reports)
    if rejected:
        sys.stderr.write(
            f"workbench: {rejected} record(s) rejected (listed above); the valid ones are stored. "
            "Fix them, or map fields with --map, and import again: stored records are skipped.\n"
        )
        return 1
    return 0


def _parse_grade(text: str) -> Any:
    try:
        if ":" in text:
            low, high = text.split(":", 1)
            return (float(low) if low else None, float(high) if high else None)
        return float(text)
    except ValueError:
        raise CliError(f"--grade {text!r}: expected a number or a range like 0.5:1") from None


def _count(text: str) -> int:
    """Parse a non-negative integer option (``--limit``, ``--offset``)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number; give e.g. 20") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative; give 0 or more")
    return value


def _parse_meta(items: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise CliError(f"--meta {item!r}: expected KEY=VALUE, e.g. --meta category=math")
        key, value = item.split("=", 1)
        try:
            parsed: Any = json.loads(value)
        except json.JSONDecodeError:
            parsed = value
        if key in out:
            prev = out[key] if isinstance(out[key], list) else [out[key]]
            out[key] = [*prev, parsed]
        else:
            out[key] = parsed
    return out


def _ls_filters(args: argparse.Namespace) -> dict[str, Any]:
    filters: dict[str, Any] = {
        "model": args.model,
        "source": args.source,
        "status": args.status,
        "think_format": args.think_format,
        "tags": args.tag,
        "search": args.search,
    }
    if args.grade is not None:
        filters["grade"] = _parse_grade(args.grade)
    if args.correct is not None:
        filters["correct"] = args.correct == "true"
    if args.graded:
        filters["graded"] = True
    if args.ungraded:
        filters["graded"] = False
    if args.meta:
        filters["metadata"] = _parse_meta(args.meta)
    assert set(filters) <= set(FILTERS)
    return filters


def _cmd_ls(args: argparse.Namespace) -> int:
    with Store(args.store, create=False) as store:
        frame = store.list_trajectories(
            limit=args.limit,
            offset=args.offset,
            order_by=args.sort,
            descending=args.desc,
            **_ls_filters(args),
        )
        snippets = store.search_snippets(frame["id"].to_list(), args.search) if args.search else {}
    if args.json:
        rows = frame.to_dicts()
        for row in rows:
            if args.search:
                found = snippets.get(row["id"])
                row["snippet"] = None if found is None else found.to_dict()
            row["metadata"] = json.loads(row["metadata"])
            score, correct, grader = row.pop("grade"), row.pop("correct"), row.pop("grader")
            row["grade"] = (
                None if grader is None else {"correct": correct, "score": score, "grader": grader}
            )
        print_json(rows)
        return 0
    if frame.is_empty():
        print("no trajectories match")
        return 0
    header: tuple[str, ...] = (
        "id",
        "model",
        "status",
        "think",
        "thinking",
        "answer",
        "grade",
        "source_id",
    )
    lines = [header]
    for row in frame.iter_rows(named=True):
        lines.append(
            (
                row["id"],
                _clip(row["model"] or "-", 32),
                row["status"],
                row["think_format"],
                str(row["thinking_chars"]),
                str(row["answer_chars"]),
                _grade_cell(row),
                _clip(row["source_id"] or "-", 40),
            )
        )
    widths = [max(len(row[i]) for row in lines) for i in range(len(header))]
    ids = ["", *frame["id"].to_list()]
    for tid, cells in zip(ids, lines, strict=True):
        print("  ".join(cell.ljust(w) for cell, w in zip(cells, widths, strict=True)).rstrip())
        if tid in snippets:
            before, match, after = one_line(snippets[tid])
            print(
                f"    {snippets[tid].field}: {_printable(before)}[{_printable(match)}]{_printable(after)}"
            )
    print(f"({frame.height} trajectories)")
    return 0


def _grade_cell(row: dict[str, Any]) -> str:
    if row["grader"] is None:
        return "-"
    if row["correct"] is not None:
        return "✓" if row["correct"] else "✗"
    return f"{row['grade']:g}"


def _printable(text: str) -> str:
    """Text with control characters (escape sequences of untrusted output) shown as ``\\xNN``."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _cmd_show(args: argparse.Namespace) -> int:
    with Store(args.store, create=False) as store:
        traj = store.get(args.id)
        annotations = store.get_annotations(traj.id)
    if args.json:
        out = traj.to_dict()
        out["annotations"] = [a.to_dict() for a in annotations]
        print_json(out)
        return 0
    print(f"id          {traj.id}")
    print(f"model       {traj.model or '-'}")
    print(f"source      {traj.source or '-'}  {traj.source_id or ''}".rstrip())
    print(f"status      {traj.status}   think format: {traj.think_format}")
    g = traj.grade
    shown = "-" if g is None else f"correct={g.correct} score={g.score} ({g.grader})"
    print(f"grade       {shown}   gold: {traj.gold or '-'}")
    if traj.tags:
        print(f"tags        {', '.join(traj.tags)}")
    for msg in traj.prompt:
        print(f"\n── {msg['role']} ──\n{msg['content']}")
    print(f"\n── thinking ({len(traj.thinking)} chars) ──\n{traj.thinking}")
    print(f"\n── answer ({len(traj.answer)} chars) ──\n{traj.answer}")
    if traj.metadata:
        print("\n── metadata ──")
        for key, value in traj.metadata.items():
            shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            print(f"{key}: {_clip(str(shown), 200)}")
    if annotations:
        print("\n── annotations ──")
        for a in annotations:
            target = f" segment {a.segment_id}" if a.segment_id else ""
            print(f"#{a.id} {a.author} {a.kind}{target}: {json.dumps(a.value, ensure_ascii=False)}")
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    with Store(args.store, create=False) as store:
        info = store.info()
    if args.json:
        print_json(info)
        return 0
    counts = info["counts"]
    print(
        f"store         {info['path']} ({info['size_bytes'] / 1e6:.1f} MB, schema v{info['schema_version']})"
    )
    print(
        f"trajectories  {counts['trajectories']}  (graded {info['graded']}); segments "
        f"{counts['segments']}; annotations {counts['annotations']}; pairs {counts['pairs']}"
    )
    if info["search_pending"]:
        print(
            f"search index  {info['search_pending']:,} trajectories not indexed yet (searches "
            "scan them): workbench index"
        )
    for title, key in (("models", "models"), ("sources", "sources"), ("think formats", "think_formats"),
                       ("statuses", "statuses")):  # fmt: skip
        items = list(info[key].items())
        shown = ", ".join(f"{k} {v}" for k, v in items[:12])
        more = f", … {len(items) - 12} more" if len(items) > 12 else ""
        print(f"{title:<13} {shown}{more}")
    return 0


def _cmd_index(args: argparse.Namespace) -> int:
    with Store(args.store, create=False) as store:
        if not store.has_search_index:
            raise CliError(
                f"{store.path} has no search index: this Python's SQLite lacks FTS5 (searches "
                "scan every row); use a Python whose sqlite3 has FTS5 (SQLite >= 3.34)"
            )
        t0 = time.perf_counter()
        progress = None if sys.stderr.isatty() else False
        indexed = store.index_search(progress=progress)
        cached = store.cache_listing(progress=progress)
        seconds = time.perf_counter() - t0
    if args.json:
        print_json({"indexed": indexed, "listing_cached": cached, "seconds": round(seconds, 3)})
    elif indexed or cached:
        print(
            f"indexed {indexed:,} trajectories for search and cached {cached:,} listing rows "
            f"in {seconds:.1f} s"
        )
    else:
        print("the search index and the listing cache are up to date")
    return 0


COMMANDS = {
    "import": _cmd_import,
    "index": _cmd_index,
    "ls": _cmd_ls,
    "show": _cmd_show,
    "info": _cmd_info,
}
