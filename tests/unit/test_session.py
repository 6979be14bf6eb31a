"""The session manager: background runs, subscribers, checkpoints, cancel, errors, SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from workbench import Store, Trajectory, ValidationError
from workbench.backends import Backend, FinishEvent, ReplayBackend, TokenEvent
from workbench.session import RunEnd, Session

REPO = Path(__file__).resolve().parents[2]
SOURCE = Trajectory(
    prompt="q",
    raw="<think>\n" + " ".join(f"step{i}" for i in range(60)) + "\n</think>\n\nThe answer.",
    model="src-model",
)


def replay(tokens_per_s: float | None = 200.0) -> ReplayBackend:
    return ReplayBackend(SOURCE, tokens_per_s=tokens_per_s)


def test_generate_returns_at_once_and_records(store_path: Path) -> None:
    session = Session(replay(tokens_per_s=100), store=store_path, checkpoint_s=0.1)
    events: list = []
    start = time.perf_counter()
    run = session.generate(
        "q",
        n=2,
        max_new_tokens=1000,
        subscribers=[events.append],
        tags=["t1"],
        metadata={"question_id": "q7"},
    )
    assert time.perf_counter() - start < 0.3 and not run.done
    time.sleep(0.35)
    with Store(store_path) as s:
        partial = s.list_trajectories()
        assert partial.height == 2 and set(partial["status"]) == {"partial"}
        assert partial["thinking_chars"].max() > 0
    trajectories = run.wait(30)
    assert run.status == "complete" and run.done
    assert [t.raw for t in trajectories] == [SOURCE.raw, SOURCE.raw]
    assert isinstance(events[-1], RunEnd) and events[-1].status == "complete"
    assert sum(isinstance(e, FinishEvent) for e in events) == 2
    with Store(store_path) as s:
        stored = [s.get(t.id) for t in trajectories]
    for t in stored:
        assert (t.status, t.finish_reason, t.think_format) == ("complete", "stop", "tags")
        assert t.model == "replay:src-model" and t.backend == "replay"
        assert (
            t.tags == ["t1"]
            and t.metadata["question_id"] == "q7"
            and t.metadata["run_id"] == run.id
        )
        assert t.timings["first_token_s"] >= 0 and t.sampling["n"] == 2
    p = run.progress()
    assert p["samples_done"] == 2 and p["tokens"] == 0  # replay of an untokenised text has no ids


def test_recorded_token_offsets_slice_the_text(store_path: Path) -> None:
    pytest.importorskip("torch", reason="the transformers extra is not installed")
    from tests.fixtures.tiny_models import tiny_model
    from workbench.backends.hf import TransformersBackend

    backend = TransformersBackend.from_objects(*tiny_model(), name="tiny")
    with Session(backend, store=store_path) as session:
        run = session.generate(
            "hello",
            n=2,
            max_new_tokens=30,
            temperature=1.0,
            seed=5,
            thinking_prefill="<think>\n",
            thinking_budget=5,
            logprobs=2,
        )
        trajectories = run.wait(60)
        assert run.status == "complete"
        for t in trajectories:
            assert t.tokens is not None and len(t.tokens) > 5
            assert t.tokens.logprobs is not None and t.tokens.entropies is not None
            spans = t.tokens.offsets
            assert spans[0][0] == len("<think>\n")  # the prefill is text without a token
            assert all(spans[i][1] <= spans[i + 1][0] for i in range(len(spans) - 1))
            forced = t.metadata["forced_spans"]
            assert t.raw[slice(*forced[0])] == "<think>\n"
            # a random byte-level model may leave an incomplete UTF-8 byte that is shown (as U+FFFD)
            # together with the next, forced, token
            assert t.raw[slice(*forced[1])].lstrip("\ufffd") == "\n</think>\n\n"
            assert t.think_format == "tags"
        with Store(store_path) as s:
            assert s.get(trajectories[0].id).tokens == trajectories[0].tokens


def test_cancel_while_tokens_flow(store_path: Path) -> None:
    session = Session(replay(tokens_per_s=50), store=store_path)
    run = session.generate("q", max_new_tokens=1000)
    time.sleep(0.3)
    run.cancel()
    (t,) = run.wait(5)
    assert run.status == "cancelled" and t.status == "cancelled" and t.finish_reason == "cancelled"
    assert 0 < len(t.raw) < len(SOURCE.raw)
    with Store(store_path) as s:
        assert s.get(t.id).status == "cancelled"


class Exploding(Backend):
    name = "exploding"

    def __init__(self, after: int) -> None:
        self.after = after
        self.closed = False

    @property
    def model_name(self) -> str:
        return "boom"

    def stream(self, request, *, cancel, control=None):
        for i in range(self.after):
            yield TokenEvent(sample=0, text=f"t{i} ")
        raise RuntimeError("device fell over")

    def close(self) -> None:
        self.closed = True


def test_backend_errors_end_the_run_and_the_session_stays_usable(store_path: Path) -> None:
    session = Session(Exploding(after=3), store=store_path)
    run = session.generate("q")
    (t,) = run.wait(5)
    assert run.status == "error" and "device fell over" in (run.error or "")
    assert (
        t.status == "error" and t.raw == "t0 t1 t2 " and "device fell over" in t.metadata["error"]
    )
    first = session.backend
    session.load(replay(tokens_per_s=None))
    assert first.closed  # switching unloads the previous model
    run2 = session.generate("q")
    assert run2.wait(5)[0].status == "complete"
    with Store(store_path) as s:
        assert sorted(s.list_trajectories()["status"].to_list()) == ["complete", "error"]


def test_broken_subscriber_does_not_stop_the_run(store_path: Path) -> None:
    def bad(event):
        raise ValueError("widget bug")

    session = Session(replay(tokens_per_s=None), store=store_path)
    with pytest.warns(RuntimeWarning, match="widget bug"):
        run = session.generate("q", subscribers=[bad])
        run.wait(5)
    assert run.status == "complete"


def test_session_arguments_are_checked(tmp_path: Path) -> None:
    session = Session(store=False)
    with pytest.raises(ValidationError, match="no model loaded"):
        session.generate("q")
    session.load(replay())
    with pytest.raises(ValidationError, match="not both"):
        session.generate("q", thinking_budget=5, budget=object())  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="recipe"):
        session.generate("q", recipe="always")
    with pytest.raises(ValidationError, match="SamplingParams.n"):
        session.generate("q", n=0)
    with pytest.raises(ValidationError, match="did you mean 'openai'"):
        Session("m", store=False, backend="opena")
    run = session.generate("q")
    assert run.wait(10)[0].raw == SOURCE.raw  # store=False: nothing recorded, still works
    session.unload()
    assert session.backend is None


KILLED_WRITER = """
import sys
sys.path.insert(0, sys.argv[2])
from tests.fixtures.tiny_models import tiny_model
from workbench.backends.hf import TransformersBackend
from workbench.session import Session
backend = TransformersBackend.from_objects(*tiny_model(), name="tiny")
session = Session(backend, store=sys.argv[1], checkpoint_s=0.2)
run = session.generate("tell me everything", max_new_tokens=1_000_000, temperature=1.0, seed=1)
print(run.trajectory_ids[0], flush=True)
run.wait()
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="SIGKILL is POSIX-only")
def test_sigkill_mid_generation_leaves_the_partial_trajectory(store_path: Path) -> None:
    pytest.importorskip("torch", reason="the transformers extra is not installed")
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(store_path), str(REPO)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    tid = proc.stdout.readline().strip()
    assert tid, proc.stderr.read() if proc.stderr else ""
    deadline = time.monotonic() + 60
    seen = 0
    while time.monotonic() < deadline:
        time.sleep(0.2)
        with Store(store_path) as s:
            if tid in s:
                seen = len(s.get(tid).raw)
        if seen > 200:
            break
    os.kill(proc.pid, signal.SIGKILL)  # mid-generation
    proc.wait(30)
    assert proc.returncode == -signal.SIGKILL
    with Store(store_path) as s:
        t = s.get(tid)
    assert t.status == "partial" and t.finish_reason is None
    assert len(t.raw) >= seen > 200
    assert t.tokens is not None and len(t.tokens) > 0


def test_cancel_from_another_thread_is_prompt() -> None:
    session = Session(replay(tokens_per_s=20), store=False)
    run = session.generate("q", max_new_tokens=1000)
    threading.Timer(0.2, run.cancel).start()
    start = time.perf_counter()
    run.wait(5)
    assert time.perf_counter() - start < 1.0 and run.status == "cancelled"


def test_a_run_analyses_and_stores_its_segments_without_any_widget(store_path: Path) -> None:
    # analysis is a session step: segments are stored when the run ends, displayed or not
    session = Session(replay(tokens_per_s=None), store=store_path)
    run = session.generate("q", n=2, max_new_tokens=1000)
    trajectories = run.wait(30)
    assert run.segments is not None and len(run.segments) == 2
    with Store(store_path) as s:
        for t, segments in zip(trajectories, run.segments, strict=True):
            stored = s.get_segments(t.id)
            assert stored and [x.id for x in stored] == [x.id for x in segments]
            assert all(x.labels and x.label_source == "rule" for x in stored)
    # and a run asked not to analyse leaves no segments
    quiet = session.generate("q", n=1, max_new_tokens=1000, analyze=False)
    (t,) = quiet.wait(30)
    assert quiet.segments is None
    with Store(store_path) as s:
        assert s.get_segments(t.id) == []
    session.close()


def test_the_stream_buffer_is_the_one_source_of_text_and_tokens(store_path: Path) -> None:
    from workbench.session.stream import SampleStream, status_of_finish

    stream = SampleStream("t")
    stream.on_event(TokenEvent(sample=0, text="<think>", token_ids=(1,), logprobs=(-0.1,)))
    stream.on_event(TokenEvent(sample=0, text="ab", token_ids=(2, 3), logprobs=(-1.0, -2.0)))
    stream.on_event(TokenEvent(sample=0, text="\n</think>", token_ids=(4,), forced=True))
    stream.on_event(TokenEvent(sample=0, text="\n\n", token_ids=(5,), forced=True))
    assert stream.raw == "<think>ab\n</think>\n\n" and stream.n_tokens == 5
    raw, tokens, forced = stream.snapshot()
    assert raw == stream.raw
    assert tokens is not None and tokens.offsets.tolist() == [
        [0, 7],
        [7, 9],
        [9, 9],
        [9, 18],
        [18, 20],
    ]
    assert tokens.logprobs is None  # a forced token without a logprob drops the column
    assert forced == [[9, 20]]  # consecutive forced text is one span
    new = stream.since(7, 1)
    assert new.text == "ab\n</think>\n\n" and new.tokens == 4
    assert stream.status == "partial"
    stream.on_event(FinishEvent(sample=0, finish_reason="length"))
    stream.on_event(FinishEvent(sample=0, finish_reason="error", error="late"))  # first wins
    assert (stream.finish_reason, stream.status) == ("length", "complete")
    assert status_of_finish("cancelled") == "cancelled" and status_of_finish("weird") == "error"
