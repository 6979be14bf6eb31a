"""Constraint attention mass on the default model against the naive eager computation."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the transformers extra is not installed")
transformers = pytest.importorskip("transformers")
from tests.unit.test_attention_mass import TOL, naive  # noqa: E402
from workbench.attention import (  # noqa: E402
    constraint_mass,
)


# -- the real default model -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def smollm() -> Any:
    from workbench.backends.models import ModelNotAvailableError, resolve_model

    try:
        path = resolve_model("smollm2-135m")
    except ModelNotAvailableError as exc:
        pytest.skip(str(exc))
    return transformers.AutoModelForCausalLM.from_pretrained(
        path, dtype=torch.float32, attn_implementation="sdpa"
    ).eval()


def test_default_model_short_against_eager(smollm: Any) -> None:
    ids = torch.randint(100, 49000, (192,), generator=torch.Generator().manual_seed(8))
    positions = list(range(5, 37))
    ours = constraint_mass(smollm, ids, positions, chunk_size=100)
    np.testing.assert_allclose(ours, naive(smollm, ids, positions), atol=TOL)


@pytest.mark.slow
def test_default_model_against_eager(smollm: Any) -> None:
    ids = torch.randint(100, 49000, (1024,), generator=torch.Generator().manual_seed(7))
    positions = list(range(20, 84))
    started = time.perf_counter()
    ours = constraint_mass(smollm, ids, positions, per_head=True)
    elapsed = time.perf_counter() - started
    reference = naive(smollm, ids, positions, per_head=True)
    assert ours.shape == (1024, 30, 9)
    np.testing.assert_allclose(ours, reference, atol=TOL)
    assert elapsed < 120
