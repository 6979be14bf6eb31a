"""Notebook tier: every notebook in ``notebooks/`` executes top to bottom (nbclient).

Run with ``WORKBENCH_QUICK=1 python -m pytest -m notebooks tests/notebooks`` (``make
test-notebooks``). Without ``-m notebooks`` (or ``WORKBENCH_NOTEBOOK_TESTS=1``) these tests are
skipped, so the default tier stays fast. Executed copies are kept under
``$WORKBENCH_ARTIFACTS/notebooks`` (default ``artifacts/notebooks``) with a ``timings.json``.
"""

from __future__ import annotations

import os

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "notebooks: executes the research notebooks (nbclient); run with -m notebooks"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    expr = config.option.markexpr or ""
    chosen = "notebooks" in expr and "not notebooks" not in expr
    skip = pytest.mark.skip(
        reason="notebook tier: run with `WORKBENCH_QUICK=1 python -m pytest -m notebooks "
        "tests/notebooks`"
    )
    for item in items:
        if "tests/notebooks/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.notebooks)
            if not chosen and not os.environ.get("WORKBENCH_NOTEBOOK_TESTS"):
                item.add_marker(skip)
