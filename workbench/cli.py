"""The ``workbench`` command line.

Commands
--------
``workbench import PATH... [--store DB] [--source S] [--map target=source ...] [--format F]``
    Import traces (JSONL, JSON, Parquet, CSV/TSV, ``datasets`` folders); ``--sample`` imports the
    small sample that ships with the package.
``workbench generate --model M (--prompt TEXT | --prompts FILE.jsonl) --n K ...``
    Generate with a model (transformers, an OpenAI-compatible server, vLLM) and record the
    trajectories.
``workbench ls [--store DB] [filters] [--json]``
    List trajectories.
``workbench show ID [--store DB] [--json]``
    Show one trajectory: prompt, thinking, answer, metadata, annotations.
``workbench info [--store DB] [--json]``
    Summarise a store.

Errors exit with status 2 and one line that says what to do; ``import`` exits with status 1 when
some records were rejected (the valid ones are stored, the report lists the others).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from workbench._version import __version__
from workbench.errors import WorkbenchError
from workbench.store.importers import FORMATS, ImportReport, import_file, parse_mapping
from workbench.store.query import FILTERS
from workbench.store.store import STORE_ENV, Store

__all__ = ["main"]

SAMPLE = "samples/traces.jsonl"
"""The sample shipped inside the package (written by the workbench developers)."""


class CliError(WorkbenchError):
    """A usage error reported as one line with exit status 2."""


def _store_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--store",
        metavar="DB",
        help=f"store file (default: ${STORE_ENV}, else ./workbench.db)",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="workbench",
        description="Research workbench for reasoning models: import, list and inspect traces.",
    )
    parser.add_argument("--version", action="version", version=f"workbench {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("import", help="import traces from files into the store")
    p.add_argument("paths", nargs="*", metavar="PATH", help="files or datasets folders")
    _store_arg(p)
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
        "messages, ... or any metadata name); TARGET= turns detection of TARGET off",
    )
    p.add_argument("--format", choices=FORMATS, help="override the format guessed from the name")
    p.add_argument("--model", help="model name for records that do not name one")
    p.add_argument("--tag", action="append", default=[], help="tag every imported trajectory")
    p.add_argument("--json", action="store_true", help="print the reports as JSON")

    p = sub.add_parser("generate", help="generate trajectories with a model and record them")
    _store_arg(p)
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

    p = sub.add_parser("ls", help="list trajectories")
    _store_arg(p)
    p.add_argument("--model", action="append", help="only this model (repeatable)")
    p.add_argument("--source", action="append", help="only this source (repeatable)")
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
    p.add_argument("--search", help="case-insensitive text in the output or the prompt")
    p.add_argument("--limit", type=int, help="at most this many rows")
    p.add_argument("--offset", type=int, default=0, help="skip this many rows")
    p.add_argument(
        "--sort", default="created", choices=["created", "grade", "thinking_chars", "model", "id"]
    )
    p.add_argument("--desc", action="store_true", help="descending order")
    p.add_argument("--json", action="store_true", help="print a JSON array of objects")

    p = sub.add_parser("analyze", help="segment, label and find keywords; store the segments")
    _store_arg(p)
    p.add_argument(
        "--taxonomy", default="dto", help="dto (default), thought_anchors, venhoff, pmllm"
    )
    p.add_argument("--lexicon", default="r1", help="r1 (default), nowait, mi_peaks")
    p.add_argument("--strategy", default="cues", help="cues (default), paragraphs, sentences")
    p.add_argument("--model", action="append", help="only this model (repeatable)")
    p.add_argument("--source", action="append", help="only this source (repeatable)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")

    p = sub.add_parser("stats", help="corpus statistics")
    stats_sub = p.add_subparsers(dest="stats_command", required=True, metavar="WHAT")
    k = stats_sub.add_parser("keywords", help="reflection-keyword statistics by group")
    _store_arg(k)
    k.add_argument("--lexicon", default="r1", help="r1 (default), nowait, mi_peaks")
    k.add_argument("--keywords", help="a custom comma-separated list instead of a preset")
    k.add_argument(
        "--by",
        action="append",
        help="group by a column (model, source, status), 'correct', or a metadata key (repeatable)",
    )
    k.add_argument("--model", action="append", help="only this model (repeatable)")
    k.add_argument("--source", action="append", help="only this source (repeatable)")
    k.add_argument("--per-keyword", action="store_true", help="hits per keyword instead")
    k.add_argument("--json", action="store_true", help="print a JSON array of objects")

    p = sub.add_parser("show", help="show one trajectory")
    p.add_argument("id", help="trajectory id or a unique prefix of one")
    _store_arg(p)
    p.add_argument("--json", action="store_true", help="print the trajectory as JSON")

    p = sub.add_parser("info", help="summarise a store")
    _store_arg(p)
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    return parser


def _print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=None))
    sys.stdout.write("\n")


def _cmd_import(args: argparse.Namespace) -> int:
    paths = [Path(p) for p in args.paths]
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
                model=args.model,
                tags=args.tag,
                progress=progress,
            )
            if interactive:
                sys.stderr.write("\r")
            reports.append(report)
            if not args.json:
                print(report.summary())
    if args.json:
        _print_json([r.to_dict() for r in reports])
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
        frame = store.list(
            limit=args.limit,
            offset=args.offset,
            order_by=args.sort,
            descending=args.desc,
            **_ls_filters(args),
        )
    if args.json:
        rows = frame.to_dicts()
        for row in rows:
            row["metadata"] = json.loads(row["metadata"])
            score, correct, grader = row.pop("grade"), row.pop("correct"), row.pop("grader")
            row["grade"] = (
                None if grader is None else {"correct": correct, "score": score, "grader": grader}
            )
        _print_json(rows)
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
    for cells in lines:
        print("  ".join(cell.ljust(w) for cell, w in zip(cells, widths, strict=True)).rstrip())
    print(f"({frame.height} trajectories)")
    return 0


def _grade_cell(row: dict[str, Any]) -> str:
    if row["grader"] is None:
        return "-"
    if row["correct"] is not None:
        return "✓" if row["correct"] else "✗"
    return f"{row['grade']:g}"


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _cmd_show(args: argparse.Namespace) -> int:
    with Store(args.store, create=False) as store:
        traj = store.get(args.id)
        annotations = store.get_annotations(traj.id)
    if args.json:
        out = traj.to_dict()
        out["annotations"] = [a.to_dict() for a in annotations]
        _print_json(out)
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
        _print_json(info)
        return 0
    counts = info["counts"]
    print(
        f"store         {info['path']} ({info['size_bytes'] / 1e6:.1f} MB, schema v{info['schema_version']})"
    )
    print(
        f"trajectories  {counts['trajectories']}  (graded {info['graded']}); segments "
        f"{counts['segments']}; annotations {counts['annotations']}; pairs {counts['pairs']}"
    )
    for title, key in (("models", "models"), ("sources", "sources"), ("think formats", "think_formats"),
                       ("statuses", "statuses")):  # fmt: skip
        items = list(info[key].items())
        shown = ", ".join(f"{k} {v}" for k, v in items[:12])
        more = f", … {len(items) - 12} more" if len(items) > 12 else ""
        print(f"{title:<13} {shown}{more}")
    return 0


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
        _print_json(summaries)
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


def _cmd_analyze(args: argparse.Namespace) -> int:
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
                progress=progress,
                model=args.model,
                source=args.source,
            )
        except ValueError as exc:
            raise CliError(str(exc)) from None
    if args.json:
        _print_json(summary)
        return 0
    labels = ", ".join(f"{k} {v}" for k, v in summary["labels"].items())
    print(
        f"analysed {summary['trajectories']} trajectories: {summary['segments']} segments "
        f"({summary['strategy']}), {summary['keyword_hits']} keyword hits"
    )
    print(f"labels ({summary['taxonomy']}): {labels}")
    return 0


def _cmd_stats(args: argparse.Namespace) -> int:
    from workbench.analysis.keyword_stats import keyword_counts, keyword_stats, keyword_summary

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
        _print_json(frame.to_dicts())
        return 0
    with pl_config():
        print(frame)
    return 0


def pl_config() -> Any:
    """Polars display settings for the terminal: all rows, wide tables."""
    import polars as pl

    return pl.Config(tbl_rows=200, tbl_cols=20, tbl_width_chars=160, fmt_str_lengths=40)


_COMMANDS = {
    "import": _cmd_import,
    "generate": _cmd_generate,
    "analyze": _cmd_analyze,
    "stats": _cmd_stats,
    "ls": _cmd_ls,
    "show": _cmd_show,
    "info": _cmd_info,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = _parser().parse_args(argv)
    try:
        return _COMMANDS[args.command](args)
    except (WorkbenchError, OSError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        sys.stderr.write(f"workbench: error: {message}\n")
        return 2
    except BrokenPipeError:  # `workbench ls | head`
        return 0


if __name__ == "__main__":
    sys.exit(main())
