"""Bad values at the domain boundary: each class is refused with a ValidationError naming the
field, or normalised (non-finite numbers become null), and what is stored always reads back, filters
and prints as strict JSON (issue 14, defects 2, 3 and 5)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import workbench as wb
from workbench.backends import ReplayBackend, SamplingParams
from workbench.cli import main as cli_main
from workbench.errors import SessionClosedError, ValidationError

from .strategies import SURROGATES, json_values

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _has_non_finite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_has_non_finite(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_non_finite(v) for v in value)
    return False


@FAST
@given(value=json_values)
def test_metadata_is_strict_json_or_refused(
    tmp_path_factory: pytest.TempPathFactory, value: Any
) -> None:
    try:
        t = wb.Trajectory(prompt="q", raw="<think>a</think>b", metadata={"x": value, "k": 1})
    except ValidationError as exc:
        assert exc.field.startswith("Trajectory.metadata")
        return
    stored = json.dumps(t.metadata, allow_nan=False)  # strict: raises on NaN
    assert not _has_non_finite(t.metadata)
    path = tmp_path_factory.mktemp("m") / "s.db"
    with wb.Store(path) as store:
        store.add(t)
        assert store.get(t.id).metadata == json.loads(stored)
        # a metadata filter never fails for the whole store
        assert store.list_trajectories(metadata={"k": 1}).height == 1
        assert store.count(metadata={"x": None}) in (0, 1)


@pytest.mark.parametrize(
    ("metadata", "expect"),
    [
        ({"a": float("nan")}, {"a": None}),
        ({"a": [float("inf"), 1.5]}, {"a": [None, 1.5]}),
        ({"a": {"b": float("-inf")}}, {"a": {"b": None}}),
    ],
)
def test_non_finite_numbers_become_null(metadata: dict, expect: dict) -> None:
    assert wb.Trajectory(prompt="q", raw="x", metadata=metadata).metadata == expect


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"metadata": {"a": 10**30}}, "Trajectory.metadata.a"),
        ({"metadata": {"a": "x\ud800"}}, "Trajectory.metadata.a"),
        ({"raw": "ok \udcff"}, "Trajectory.raw"),
        ({"prompt": "hi \ud800"}, "Trajectory.prompt[0].content"),
        ({"grade": float("nan")}, "Trajectory.grade"),
        ({"grade": {"score": float("inf"), "grader": "g"}}, "Grade.score"),
        ({"tags": ["\ud800"]}, "Trajectory.tags"),
        ({"sampling": {"t": object()}}, "Trajectory.sampling.t"),
    ],
)
def test_each_bad_value_names_its_field(kwargs: dict, field: str) -> None:
    base: dict[str, Any] = {"prompt": "q", "raw": "x"}
    with pytest.raises(ValidationError) as info:
        wb.Trajectory(**{**base, **kwargs})
    assert info.value.field.startswith(field), info.value


def test_deep_nesting_is_refused_not_a_recursion_error() -> None:
    from .strategies import nested

    with pytest.raises(ValidationError, match="nested deeper"):
        wb.Trajectory(prompt="q", raw="x", metadata={"a": nested(5000)})


def test_old_nan_rows_do_not_break_filters_or_ls_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A store written before the fix holds ``NaN`` text; filters skip it, ``ls --json`` is valid."""
    path = tmp_path / "old.db"
    with wb.Store(path) as store:
        a = store.add(wb.Trajectory(prompt="q", raw="x", metadata={"k": 1}))
        store.add(wb.Trajectory(prompt="q2", raw="y", metadata={"k": 2}))
        with store._write() as conn:  # what an older workbench wrote
            conn.execute(
                'UPDATE trajectories SET metadata = \'{"k":1,"s":NaN}\' WHERE id = ?', (a,)
            )
        assert store.list_trajectories(metadata={"k": 2}).height == 1
        assert store.get(a).metadata == {"k": 1, "s": None}
    assert cli_main(["ls", "--store", str(path), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out, parse_constant=lambda c: pytest.fail(c))
    assert len(rows) == 2
    assert cli_main(["ls", "--store", str(path), "--meta", "k=2"]) == 0


# -- sampling parameters and sessions (defects 3 and 5) --------------------------------------
@FAST
@given(
    name=st.sampled_from(
        ["n", "temperature", "top_p", "top_k", "max_new_tokens", "seed", "logprobs"]
    ),
    value=st.one_of(
        st.booleans(),
        st.text(max_size=3),
        st.none(),
        st.floats(),
        st.integers(-5, 5),
        st.lists(st.integers(), max_size=2),
    ),
)
def test_sampling_params_refuse_or_accept_cleanly(name: str, value: Any) -> None:
    try:
        params = SamplingParams(**{name: value})
    except ValidationError as exc:
        assert exc.field == f"SamplingParams.{name}"
        return
    got = getattr(params, name)
    assert not isinstance(got, bool)
    assert got is None or (isinstance(got, int | float) and math.isfinite(got))


@pytest.mark.parametrize(
    "kwargs", [{"n": True}, {"temperature": float("nan")}, {"seed": "abc"}, {"top_p": float("inf")}]
)
def test_named_bad_sampling_values(kwargs: dict) -> None:
    with pytest.raises(ValidationError):
        SamplingParams(**kwargs)


def test_a_string_is_one_stop_string() -> None:
    assert SamplingParams(stop="Paris.").stop == ("Paris.",)


SOURCE = wb.Trajectory(prompt="hi", raw="<think>one two</think> three", model="m")


@FAST
@given(
    prompt=st.one_of(
        st.none(),
        st.integers(),
        SURROGATES,
        st.lists(
            st.fixed_dictionaries(
                {
                    "role": st.sampled_from(["user", "bogus", "", "system"]),
                    "content": st.one_of(st.text(max_size=5), st.none(), SURROGATES),
                }
            ),
            max_size=3,
        ),
    )
)
def test_a_session_is_never_wedged(tmp_path_factory: pytest.TempPathFactory, prompt: Any) -> None:
    path = tmp_path_factory.mktemp("s") / "s.db"
    session = wb.Session(ReplayBackend(SOURCE, tokens_per_s=None), store=path, analysis=None)
    try:
        try:
            run = session.generate(prompt, recipe="none", stop="three")
        except ValidationError:
            assert all(r.done for r in session.runs)
        else:
            run.wait(30)
            assert run.done and run.status in ("complete", "error")
        ok = session.generate("again", recipe="none").wait(30)
        assert ok[0].status == "complete"
        session.unload()
    finally:
        session.close()
    session.close()  # a second close is harmless
    with pytest.raises(SessionClosedError, match="closed"):
        session.load(ReplayBackend(SOURCE))
    with pytest.raises(SessionClosedError, match="closed"):
        session.generate("x")


def test_a_worker_failure_ends_the_run_with_error(tmp_path: Path) -> None:
    class Broken(ReplayBackend):
        def stream(self, request: Any, *, cancel: Any = None, control: Any = None) -> Any:
            yield from ()
            raise KeyError("boom")

    with wb.Session(Broken(SOURCE), store=tmp_path / "s.db", analysis=None) as session:
        run = session.generate("q", recipe="none")
        run.wait(30)
        assert run.status == "error" and "boom" in (run.error or "")
        assert (
            wb.Store(tmp_path / "s.db", readonly=True).get(run.trajectory_ids[0]).status == "error"
        )
