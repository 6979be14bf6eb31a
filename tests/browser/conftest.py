"""Browser tier: the widgets' real front end in headless Chromium (harness and real JupyterLab).

Run with ``python -m pytest -m browser tests/browser``. Tests skip with a reason when Chromium,
playwright or JupyterLab are missing (``make test-browser`` installs them). Screenshots go to
``$WORKBENCH_ARTIFACTS`` (default ``artifacts/browser``).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "browser: drives headless Chromium (and JupyterLab); run with -m browser"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    chosen = "browser" in (config.option.markexpr or "") and "not browser" not in (
        config.option.markexpr or ""
    )
    skip = pytest.mark.skip(
        reason="browser tier: run with `python -m pytest -m browser tests/browser`"
    )
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)
            if not chosen and not os.environ.get("WORKBENCH_BROWSER_TESTS"):
                item.add_marker(skip)


@pytest.fixture(scope="session")
def chromium() -> str:
    if importlib.util.find_spec("playwright") is None:
        pytest.skip(
            "playwright is not installed: pip install 'thinking-workbench[browser]' (make test-browser)"
        )
    from workbench.widgets.testing import find_chromium

    path = find_chromium()
    if path is None:
        pytest.skip("no Chromium: apt-get install -y chromium (make test-browser does it)")
    return path


@pytest.fixture(scope="session")
def artifacts() -> Path:
    path = Path(os.environ.get("WORKBENCH_ARTIFACTS", REPO / "artifacts" / "browser"))
    path.mkdir(parents=True, exist_ok=True)
    return path
