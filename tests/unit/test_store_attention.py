"""Constraint-attention results in the store."""

from __future__ import annotations

import numpy as np
import pytest

from workbench import ValidationError
from workbench.attention import ConstraintAttention
from workbench.errors import NotFoundError
from workbench.store.store import Store
from workbench.trajectory import Trajectory


@pytest.fixture
def store(tmp_path) -> Store:
    s = Store(tmp_path / "s.db")
    yield s
    s.close()


def record(tid: str, model: str = "m", value: float = 0.5, names=("a", "b")) -> ConstraintAttention:
    mass = np.full((4, 3, len(names)), value, dtype=np.float32)
    mass[1, 2, 0] = 0.125
    offsets = np.asarray([[0, 2], [2, 4], [4, 6], [6, 8]])
    return ConstraintAttention(
        trajectory_id=tid, model=model, constraints=list(names), mass=mass, offsets=offsets,
        parts=np.asarray(["thinking"] * 4), meta={"mode": "teacher_forced"},
    )  # fmt: skip


def test_round_trip_and_replace(store: Store) -> None:
    tid = store.add(Trajectory(prompt=[{"role": "user", "content": "q"}], raw="abcdefgh"))
    store.add_attention(record(tid))
    got = store.get_attention(tid[:8])
    assert got.mass.shape == (4, 3, 2) and got.mass[1, 2, 0] == np.float32(0.125)
    assert got.offsets.tolist() == [[0, 2], [2, 4], [4, 6], [6, 8]]
    assert got.constraints == ["a", "b"] and got.meta == {"mode": "teacher_forced"}
    assert isinstance(got, ConstraintAttention) and got.token_text == ["ab", "cd", "ef", "gh"]
    assert got.parts.tolist() == ["answer"] * 4  # read off the trajectory (no thinking in it)
    store.add_attention(record(tid, value=0.25))
    assert store.list_attention(tid).height == 1, "same trajectory, model, constraints: replaced"
    assert store.get_attention(tid).mass[0, 0, 0] == np.float32(0.25)
    store.add_attention(record(tid, model="other"))
    assert store.list_attention().height == 2
    assert store.get_attention(tid, model="m").model == "m"


def test_missing_result_says_how_to_compute_it(store: Store) -> None:
    tid = store.add(Trajectory(prompt=[{"role": "user", "content": "q"}], raw="x"))
    with pytest.raises(NotFoundError, match="workbench attention"):
        store.get_attention(tid)


def test_shapes_are_validated() -> None:
    with pytest.raises(ValidationError, match="3 spans for 4 tokens"):
        ConstraintAttention(
            trajectory_id="t", model="m", constraints=["a"], mass=np.zeros((4, 2, 1)),
            offsets=np.zeros((3, 2)), parts=np.asarray(["answer"] * 4),
        )  # fmt: skip
    with pytest.raises(ValidationError, match="2 names for 1 constraints"):
        ConstraintAttention(
            trajectory_id="t", model="m", constraints=["a", "b"], mass=np.zeros((4, 2, 1)),
            offsets=np.zeros((4, 2)), parts=np.asarray(["answer"] * 4),
        )  # fmt: skip


def test_old_stores_migrate_to_the_attention_table(tmp_path) -> None:
    from workbench.store.schema import MIGRATIONS

    path = tmp_path / "old.db"
    Store(path, migrations=MIGRATIONS[:2]).close()
    with Store(path) as s:
        assert s.schema_version == len(MIGRATIONS) >= 3
        assert s.list_attention().height == 0
