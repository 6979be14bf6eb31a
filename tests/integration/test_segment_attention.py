"""`workbench attention --segments` on the default model, against eager attention."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the transformers extra is not installed")
from tests.unit.test_segment_attention import eager, trajectory_and_segments  # noqa: E402
from workbench.attention._segment_kernel import naive_segment_mass  # noqa: E402
from workbench.store.store import Store  # noqa: E402


def test_cli_on_the_default_model(tmp_path, capsys) -> None:
    from workbench.backends.hf import TransformersBackend
    from workbench.cli import main
    from workbench.constraints.tokens import teacher_forcing

    path = tmp_path / "s.db"
    t, segs = trajectory_and_segments()
    with Store(path) as store:
        tid = store.add(t)
        store.add_segments(tid, segs)
    argv = ["attention", "--store", str(path), "--id", tid[:8], "--segments", "--json",
            "--proximity-ignore", "1"]  # fmt: skip
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["model"] == "smollm2-135m" and out["layers"] == 30 and out["heads"] == 9
    assert len(out["segments"]) == 4 and len(out["receiver_heads"]) == 20
    with Store(path) as store:
        stored = store.get_segment_attention(tid)
    backend = TransformersBackend("smollm2-135m")
    try:
        tf = teacher_forcing(t, backend.tokenizer, [])
        expected = naive_segment_mass(eager(backend.model, tf.ids), stored.token_spans)
    finally:
        backend.close()
    np.testing.assert_allclose(stored.mass, expected, atol=1e-4, rtol=0)
