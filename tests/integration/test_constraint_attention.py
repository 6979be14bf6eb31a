"""`workbench attention` on the default model."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch", reason="the transformers extra is not installed")
from tests.unit.test_constraint_attention import trajectory  # noqa: E402
from workbench.store.store import Store  # noqa: E402


def test_cli_on_the_default_model(tmp_path, capsys) -> None:
    from workbench.cli import main

    path = tmp_path / "s.db"
    with Store(path) as store:
        tid = store.add(trajectory())
    code = main(["attention", "--store", str(path), "--id", tid[:8], "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["model"] == "smollm2-135m" and out["layers"] == 30
    assert len(out["constraints"]) == 2 and out["saved"]
    assert len(out["beta"]["thinking"]) == 30
    with Store(path) as store:
        assert store.get_attention(tid).mass.shape == (out["tokens"], 30, 2)
    code = main(["attention", "--store", str(path), "--id", tid, "--constraint", "in French"])
    assert code == 2
    assert "does not occur in the prompt" in capsys.readouterr().err
