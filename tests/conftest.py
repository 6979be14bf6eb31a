"""Shared fixtures: temporary stores and the third-party data in ../shared/data/external."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import workbench as wb

REPO = Path(__file__).resolve().parents[1]


def external_data_dir() -> Path | None:
    """The third-party reference data: $WORKBENCH_EXTERNAL_DATA, else ../shared/data/external."""
    env = os.environ.get("WORKBENCH_EXTERNAL_DATA")
    candidate = Path(env) if env else REPO.parent / "shared" / "data" / "external"
    return candidate if candidate.is_dir() else None


@pytest.fixture
def external() -> Path:
    path = external_data_dir()
    if path is None:
        pytest.skip(
            "third-party data not found: set WORKBENCH_EXTERNAL_DATA to shared/data/external"
        )
    return path


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "store.db"


@pytest.fixture
def store(store_path: Path):
    s = wb.Store(store_path)
    yield s
    s.close()


@pytest.fixture(autouse=True)
def _no_store_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never write to a store named by the developer's environment."""
    monkeypatch.delenv("WORKBENCH_STORE", raising=False)
