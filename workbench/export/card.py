"""The dataset card (README) written beside an export: provenance, strategies, counts, lengths."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from workbench._version import __version__

__all__ = ["CARD_MARKER", "card_path", "render_card"]

CARD_MARKER = "<!-- written by workbench export -->"
"""First line of the body of every card workbench writes (it never overwrites other READMEs)."""

_TRAINERS = {
    "dpo": ("DPOTrainer", "preference"),
    "sft": ("SFTTrainer", "prompt-completion or language modeling"),
    "kto": ("KTOTrainer", "unpaired preference"),
    "stepwise": ("PRMTrainer", "stepwise supervision"),
}


def card_path(data_file: Path) -> Path:
    """Return where the card of ``data_file`` goes.

    ``README.md`` in its folder when there is none yet or it is a workbench card of the same file;
    otherwise ``<stem>.README.md`` (an existing README is never overwritten).
    """
    readme = data_file.parent / "README.md"
    if not readme.exists():
        return readme
    text = readme.read_text(encoding="utf-8", errors="replace")
    if CARD_MARKER in text and f"data_files: {data_file.name}\n" in text:
        return readme
    return data_file.parent / f"{data_file.stem}.README.md"


def _cell(value: Any) -> str:
    return f"{value:.1f}" if isinstance(value, float) else str(value)


def _table(counts: dict[str, Any], head: tuple[str, str]) -> list[str]:
    lines = [f"| {head[0]} | {head[1]} |", "|---|---|"]
    lines += [f"| {k} | {_cell(v)} |" for k, v in counts.items()]
    return lines


def render_card(summary: dict[str, Any], *, data_file: str | None = None) -> str:
    """Return the card's Markdown for an export summary (see ``Export.summary``).

    Parameters
    ----------
    summary
        The export's summary: kind, style, think, counts, provenance and lengths.
    data_file
        The data file's name, listed in the YAML header so that ``datasets`` finds it.
    """
    kind = summary["kind"]
    trainer, layout = _TRAINERS.get(kind, ("", kind))
    header = ["---", "tags:", "- trl", f"- {kind}", "- reasoning", "- workbench"]
    header += ["task_categories:", "- text-generation"]
    if data_file:
        header += ["configs:", "- config_name: default", f"  data_files: {data_file}"]
    header.append("---")
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(summary.get("created_at", time.time())))
    body = [
        CARD_MARKER,
        f"# {kind.upper()} data exported by workbench",
        "",
        f"{summary['rows']} rows in TRL's **{layout}** format, **{summary['style']}** style, "
        f"thinking as **{summary['think']}**; for TRL's `{trainer}`. Exported {when} by workbench "
        f"{__version__} from the store `{summary.get('store')}`.",
        "",
        "## Counts",
        "",
        *_table(summary.get("counts", {}), ("what", "count")),
    ]
    provenance = summary.get("provenance") or {}
    if provenance.get("strategies"):
        body += [
            "",
            "## Pair strategies",
            "",
            *_table(provenance["strategies"], ("strategy", "pairs")),
        ]
    for name, params in (provenance.get("parameters") or {}).items():
        body += ["", f"Parameters of `{name}`:", "", "```json", json.dumps(params, indent=1), "```"]
    for what in ("models", "sources"):
        if provenance.get(what):
            body += [
                "",
                f"## Trajectory {what}",
                "",
                *_table(provenance[what], (what[:-1], "rows")),
            ]
    lengths = summary.get("lengths") or {}
    if lengths:
        unit = "tokens" if lengths.get("exact") else "tokens (estimated from characters)"
        body += ["", "## Lengths", "", f"Longest sequence per row, in {unit}"
                 + (f" ({lengths['tokenizer']})" if lengths.get("tokenizer") else "") + ":", ""]  # fmt: skip
        body += _table({k: v for k, v in lengths.get("total", {}).items()}, ("statistic", "value"))
    if summary.get("warnings"):
        body += ["", "## Warnings", "", *[f"- {w}" for w in summary["warnings"]]]
    columns = summary.get("columns") or []
    body += [
        "",
        "## Columns",
        "",
        ", ".join(f"`{c}`" for c in columns),
        "",
        "The id columns (`pair_id`, `chosen_id`, `rejected_id`, `trajectory_id`, …) point back to "
        "the store, where each pair's provenance (strategy, parameters, values compared, lengths, "
        "probe curves) is kept.",
        "",
        "## Use",
        "",
        "```python",
        "from datasets import load_dataset",
        f'ds = load_dataset("{"json" if (data_file or "").endswith(".jsonl") else "parquet"}", '
        f'data_files="{data_file or "FILE"}", split="train")',
        "```",
    ]
    return "\n".join([*header, "", *body]) + "\n"
