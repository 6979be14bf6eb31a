"""The ``workbench`` command line.

Commands
--------
``workbench import PATH... [--store DB] [--source S] [--map target=source ...] [--format F] [--layout L]``
    Import traces (JSONL, JSON, Parquet, CSV/TSV, Inspect ``.eval``, ``datasets`` folders,
    ``hf://org/name[:split]`` from the local Hugging Face cache); the public reasoning datasets'
    and evaluation tools' layouts are recognised (``docs/importing.md``); ``--sample`` imports the
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
``workbench analyze``, ``workbench grade``, ``workbench stats keywords``
    Segment and label thinking, grade answers, keyword statistics.
``workbench labeller train|score|agreement``
    Fine-tune the thinking-pattern labeller on a peer's labels (``--peer venhoff|pmllm
    --data FILE [--steps FILE]``) or a store's hand labels (``--store DB``), score it against a
    peer file (``--labeller DIR|rule --json``), or cross-validate it on the hand labels.
``workbench attention --id ID [--model M] [--constraint TEXT ...] [--segments]``
    Constraint attention of a trajectory (per token, layer and constraint), stored;
    ``--segments``: segment-to-segment attention and receiver heads.
``workbench importance --id ID [--samples M] [--preset P] [--backend B] [--json]``
    Counterfactual importance of each segment (resampling from every boundary, graded), stored
    as it is sampled and resumed where a killed run stopped; ``--estimate`` prints the cost first.
``workbench pairs --strategy S``, ``workbench export dpo|sft|kto|stepwise --out FILE``
    Make preference pairs (manual, correctness, length, grade, fcs, early_exit) and export
    training data in TRL's formats, with a dataset card.
``workbench export traces --out FILE.jsonl|FILE.parquet``
    The trajectories as a corpus file (layout ``workbench.traces/1``) that ``import`` reads back.
``workbench demo [--dir DIR] [--store DB] [--port N] [--no-browser]``, ``workbench demo --headless --out DIR``
    Start JupyterLab on the quickstart notebook with the default model and a local store, printing
    its URL; or run the quickstart pipeline without a browser and write the store, a static HTML
    trace and a DPO file (with its card) into DIR.

Errors exit with status 2 and one line that says what to do; ``import`` exits with status 1 when
some records were rejected (the valid ones are stored, the report lists the others).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from workbench._version import __version__
from workbench.cli import (
    analysis,
    attention,
    demo,
    generate,
    importance,
    labeller,
    store_commands,
    training,
)
from workbench.cli._common import CliError
from workbench.errors import WorkbenchError

__all__ = ["CliError", "main"]

_MODULES = (store_commands, generate, analysis, labeller, attention, importance, training, demo)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="workbench",
        description="Research workbench for reasoning models: import, generate, analyse traces.",
    )
    parser.add_argument("--version", action="version", version=f"workbench {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in _MODULES:
        module.add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = _parser().parse_args(argv)
    commands = {name: fn for module in _MODULES for name, fn in module.COMMANDS.items()}
    try:
        return commands[args.command](args)
    except (WorkbenchError, OSError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        sys.stderr.write(f"workbench: error: {message}\n")
        return 2
    except BrokenPipeError:  # `workbench ls | head`
        return 0
