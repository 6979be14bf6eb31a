"""Shared pieces of the command line."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from workbench._validate import strict_dumps
from workbench.errors import WorkbenchError
from workbench.store.store import STORE_ENV

__all__ = ["CliError", "print_json", "selection_args", "store_arg"]


class CliError(WorkbenchError):
    """A usage error reported as one line with exit status 2."""


def store_arg(p: argparse.ArgumentParser) -> None:
    """Add the ``--store`` option."""
    p.add_argument(
        "--store",
        metavar="DB",
        help=f"store file (default: ${STORE_ENV}, else ./workbench.db)",
    )


def selection_args(p: argparse.ArgumentParser) -> None:
    """Add the ``--model`` and ``--source`` options that select trajectories (repeatable)."""
    p.add_argument("--model", action="append", help="only this model (repeatable)")
    p.add_argument("--source", action="append", help="only this source (repeatable)")


def print_json(value: Any) -> None:
    """Print ``value`` as one line of strict JSON on stdout (NaN and ±Infinity as ``null``)."""
    sys.stdout.write(strict_dumps(value))
    sys.stdout.write("\n")
