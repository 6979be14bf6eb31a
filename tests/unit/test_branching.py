"""Branching a trace from any token: recorded top-k alternatives (stream, JSON, store),
Session.branch (the kept prefix, the forced replacement, parent_id and the branch point, errors,
a recipe not applied twice) and LiveTrace's kernel side (token_request, branch, the fork's
column)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from workbench import Store, TokenArrays, Trajectory
from workbench.backends.base import TokenEvent
from workbench.errors import ValidationError
from workbench.session.stream import SampleStream
from workbench.store.codec import decode_tokens, encode_tokens


# -- recording -----------------------------------------------------------------------------------
def test_the_stream_records_alternatives_with_padding() -> None:
    s = SampleStream("t")
    s.on_event(TokenEvent(sample=0, text="<think>\n", forced=True))  # text without a token
    s.on_event(TokenEvent(sample=0, text="A", token_ids=(1,), logprobs=(-0.1,)))  # none yet
    alts = ((7, " the", -0.5), (8, " a", -1.5), (9, "\n", -2.0))
    s.on_event(
        TokenEvent(sample=0, text=" the", token_ids=(7,), logprobs=(-0.5,), alternatives=(alts,))
    )
    # a server's strings: ids unknown, texts from the top_logprobs keys; fewer than k: padded
    s.on_event(
        TokenEvent(
            sample=0,
            text="x",
            token_texts=("x",),
            logprobs=(-0.2,),
            top_logprobs=({"x": -0.2, "y": -3.0},),
        )
    )
    s.on_event(
        TokenEvent(sample=0, text="!", token_ids=(5,), logprobs=(-1.0,))
    )  # no alternatives: a padding row
    tok = s.token_arrays()
    assert tok is not None and len(tok) == 4 and tok.top_k == 3
    assert tok.alternatives(0) == []  # before the first alternatives: padding
    assert tok.alternatives(1) == [(" the", -0.5, 7), (" a", -1.5, 8), ("\n", -2.0, 9)]
    assert tok.alternatives(2) == [("x", pytest.approx(-0.2), -1), ("y", -3.0, -1)]
    assert tok.alternatives(3) == []
    assert tok.top_texts is not None and tok.top_texts[2] == ["x", "y", ""]
    assert math.isnan(float(tok.top_logprobs[2, 2]))  # type: ignore[index]
    _, start, end, lp, listed = s.token(1)
    assert (start, end, listed) == (9, 13, tok.alternatives(1)) and lp == pytest.approx(-0.5)
    with pytest.raises(ValidationError, match="not in 0..3"):
        tok.alternatives(4)


def test_alternatives_round_trip_through_json_and_the_store(store: Store) -> None:
    tok = TokenArrays(
        ids=[3, 4],
        offsets=[[0, 1], [1, 3]],
        logprobs=[-0.1, -0.2],
        top_ids=[[3, 9], [4, -1]],
        top_logprobs=[[-0.1, -2.5], [-0.2, math.nan]],
        top_texts=[["a", "<b>&"], ["bc", ""]],
    )
    t = Trajectory(prompt="q", raw="abc", tokens=tok, model="m")
    data = json.loads(t.to_json())  # strict JSON: padding is null, not NaN
    assert data["tokens"]["top_logprobs"][1] == [pytest.approx(-0.2), None]
    assert Trajectory.from_dict(data).tokens == tok
    store.add(t)
    assert store.get(t.id).tokens == tok
    # old stores and trajectories without alternatives keep loading
    plain = TokenArrays(ids=[1, 2], offsets=[[0, 1], [1, 2]])
    row = encode_tokens(plain)
    assert row[1] == np.asarray([1, 2], dtype="<i4").tobytes()  # the blob of every store so far
    assert decode_tokens(row) == plain and decode_tokens(row).top_k == 0
    assert TokenArrays.from_dict({"ids": [1], "offsets": [[0, 1]]}).top_ids is None
    with pytest.raises(ValidationError, match="together"):
        TokenArrays(ids=[1], top_ids=[[1]]).validate()
    with pytest.raises(ValidationError, match="top_texts"):
        TokenArrays.from_dict(
            {"ids": [1], "top_ids": [[1]], "top_logprobs": [[0.0]], "top_texts": [[]]}
        )


# -- Session.branch ------------------------------------------------------------------------------
def tiny_session(store_path: Path | bool, **backend: object):
    pytest.importorskip("torch", reason="the transformers extra is not installed")
    from tests.fixtures.tiny_models import tiny_model
    from workbench.backends.hf import TransformersBackend
    from workbench.session import Session

    return Session(
        TransformersBackend.from_objects(*tiny_model(), name="tiny", **backend),  # type: ignore[arg-type]
        store=store_path,
        analysis=None,
    )


def original(session, **kw) -> Trajectory:
    run = session.generate(
        "hello", max_new_tokens=24, temperature=1.0, seed=3, logprobs=3,
        thinking_prefill="<think>\n", thinking_budget=12, metadata={"question_id": "q1"}, **kw,
    )  # fmt: skip
    (t,) = run.wait(60)
    assert run.status == "complete" and t.tokens is not None and t.tokens.top_k == 3
    return t


def test_branch_keeps_the_prefix_forces_the_alternative_and_links_the_parent(
    store_path: Path,
) -> None:
    with tiny_session(store_path) as session:
        t = original(session)
        i = 4
        start, end = (int(v) for v in t.tokens.offsets[i])
        alt_text, alt_lp, alt_id = t.tokens.alternatives(i)[1]
        run = session.branch(t, at_token=i, alternative=1)
        (fork,) = run.wait(60)
        prefix = t.raw[:start] + alt_text
        assert fork.raw.startswith(prefix) and fork.parent_id == t.id
        assert fork.prompt == t.prompt and fork.sampling["thinking_prefill"] == prefix
        assert fork.metadata["forced_spans"][0] == [0, len(prefix)]
        assert fork.metadata["question_id"] == "q1"  # the prompt's metadata goes along
        assert fork.metadata["branch"] == {
            "parent_id": t.id, "at_token": i, "at_char": start, "replaced": t.raw[start:end],
            "replaced_id": int(t.tokens.ids[i]), "replaced_logprob": float(t.tokens.logprobs[i]),
            "text": alt_text, "source": "alternative", "alternative": 1, "alternative_id": alt_id,
            "alternative_logprob": alt_lp, "prefix_chars": len(prefix),
        }  # fmt: skip
        # the fork samples like the original, with what is left of its lengths
        assert fork.sampling["max_new_tokens"] == 24 - i and fork.sampling["logprobs"] == 3
        assert fork.sampling["budget"]["max_thinking_tokens"] == 12 - i
        assert fork.sampling["seed"] is None
        with Store(store_path, readonly=True) as store:
            stored = store.get(fork.id)
            assert stored.parent_id == t.id and store.get(t.id).tokens == t.tokens
            frame = store.list_trajectories(columns=["id", "parent_id"])
            assert dict(zip(frame["id"], frame["parent_id"], strict=True))[fork.id] == t.id
        # typed text, and a re-roll; generate options override the original's
        typed = session.branch(t, at_token=2, text="Wait, <b>", max_new_tokens=3).wait(60)[0]
        s2 = int(t.tokens.offsets[2][0])
        assert typed.raw.startswith(t.raw[:s2] + "Wait, <b>")
        assert (
            typed.metadata["branch"]["source"] == "text" and typed.sampling["max_new_tokens"] == 3
        )
        again = session.branch(t, at_token=2).wait(60)[0]
        assert again.metadata["branch"]["source"] == "resample" and again.raw.startswith(t.raw[:s2])
        # a fork of a fork: the prefix includes the first fork's forced text
        deeper = session.branch(fork, at_token=0, text="Z").wait(60)[0]
        z = int(fork.tokens.offsets[0][0])
        assert deeper.raw.startswith(fork.raw[:z] + "Z") and deeper.parent_id == fork.id


def test_a_recipe_is_not_applied_twice(store_path: Path) -> None:
    from workbench.backends.models import ONE_SHOT_THINK

    with tiny_session(False, recipe=ONE_SHOT_THINK) as session:
        run = session.generate("hello", max_new_tokens=16, temperature=1.0, seed=1, logprobs=2)
        (t,) = run.wait(60)
        assert len(t.prompt) > 1 and t.metadata["recipe"] == ONE_SHOT_THINK.name  # as sent
        fork = session.branch(t, at_token=1, alternative=0).wait(60)[0]
        assert fork.prompt == t.prompt  # the recorded messages, not the recipe on top of them
        assert fork.metadata["recipe"] == ONE_SHOT_THINK.name
        assert fork.raw.startswith(t.raw[: int(t.tokens.offsets[1][0])])


def test_branch_errors_say_what_is_wrong() -> None:
    with tiny_session(False) as session:
        t = original(session)
        n = len(t.tokens)
        for kwargs, match in [
            ({"at_token": n}, f"0..{n - 1}"),
            ({"at_token": -1}, "token index"),
            ({"at_token": True}, "token index"),
            ({"at_token": 1, "text": "x", "alternative": 0}, "not both"),
            ({"at_token": 1, "text": ""}, "non-empty"),
            ({"at_token": 1, "alternative": 3}, "3 recorded alternatives: use 0..2"),
            ({"at_token": 1, "prompt": "other"}, "set by the branch"),
        ]:
            with pytest.raises(ValidationError, match=match):
                session.branch(t, **kwargs)
        bare = Trajectory(
            prompt="q", raw="abc", tokens=TokenArrays(ids=[1, 2], offsets=[[0, 1], [1, 3]])
        )
        with pytest.raises(
            ValidationError, match="without alternatives: generate it with logprobs"
        ):
            session.branch(bare, at_token=0, alternative=0)
        with pytest.raises(ValidationError, match="no recorded tokens"):
            session.branch(Trajectory(prompt="q", raw="abc"), at_token=0, text="x")
        with pytest.raises(ValidationError, match="expected a Trajectory"):
            session.branch("abc", at_token=0)  # type: ignore[arg-type]


# -- LiveTrace -----------------------------------------------------------------------------------
def messages_of(trace, kind: str) -> list[dict]:
    from workbench.widgets._protocol import validate_kernel_message

    out = [m for m, _ in trace.sent or [] if m["type"] == kind]
    for m in out:
        validate_kernel_message(m)
    return out


def test_live_trace_shows_alternatives_and_streams_a_fork_in_a_new_column(store_path: Path) -> None:
    pytest.importorskip("anywidget")
    from workbench.widgets import LiveTrace
    from workbench.widgets._protocol import PROTOCOL_HASH

    with tiny_session(store_path) as session:
        t = original(session)
        trace = LiveTrace(t, session=session)  # a stored trajectory, with a session to fork it
        trace.sent = []
        trace.handle_message({"type": "ready", "view": "v", "protocol": PROTOCOL_HASH})
        trace.handle_message({"type": "token_request", "request_id": 1, "sample": 0, "token": 3})
        (info,) = messages_of(trace, "token_info")
        start, end = (int(v) for v in t.tokens.offsets[3])
        assert (info["request_id"], info["token"], info["start"], info["end"]) == (1, 3, start, end)
        assert info["text"] == t.raw[start:end] and info["can_branch"]
        assert [a["text"] for a in info["alternatives"]] == [a[0] for a in t.tokens.alternatives(3)]
        trace.handle_message(
            {
                "type": "branch",
                "request_id": 2,
                "sample": 0,
                "token": 3,
                "alternative": 2,
                "text": None,
            }
        )
        (ack,) = messages_of(trace, "ack")
        assert ack["ok"] and ack["request_id"] == 2, ack
        (added,) = messages_of(trace, "sample_added")
        col = added["sample"]
        assert col["sample"] == 1 and col["title"].startswith("branch of ")
        assert col["branch"]["parent"] == 0 and col["branch"]["at_char"] == start
        assert col["branch"]["source"] == "alternative" and "alternative 2" in col["branch"]["note"]
        (run,) = trace.branches
        (fork,) = run.wait(60)
        assert trace.wait(20) and not trace.errors, trace.errors
        finals = [m for m in messages_of(trace, "final") if m["sample"] == 1]
        assert finals and finals[-1]["status"] == "complete"
        streamed = "".join(
            s["text"] for m in messages_of(trace, "delta") for s in m["samples"] if s["sample"] == 1
        )
        assert streamed == fork.raw and fork.parent_id == t.id
        # a late view gets both columns, the fork with its branch point
        trace.sent = []
        trace.handle_message({"type": "ready", "view": "v2", "protocol": PROTOCOL_HASH})
        (snap,) = messages_of(trace, "snapshot")
        assert [s["branch"] is None for s in snap["samples"]] == [True, False]
        assert snap["samples"][1]["text"] == fork.raw
        # a bad choice answers in the popover instead of breaking the widget
        trace.sent = []
        trace.handle_message(
            {
                "type": "branch",
                "request_id": 3,
                "sample": 0,
                "token": 3,
                "alternative": 9,
                "text": None,
            }
        )
        (bad,) = messages_of(trace, "ack")
        assert not bad["ok"] and "use 0..2" in bad["message"] and not trace.errors
        # the fork's own tokens can be clicked (and forked again)
        trace.handle_message({"type": "token_request", "request_id": 4, "sample": 1, "token": 0})
        (again,) = messages_of(trace, "token_info")
        assert again["start"] == int(fork.tokens.offsets[0][0]) and again["alternatives"]
        trace.close()
        with Store(store_path, readonly=True) as store:
            assert store.get(fork.id).parent_id == t.id


def test_live_trace_of_a_run_forks_with_the_run_session_and_without_one_says_how() -> None:
    pytest.importorskip("anywidget")
    from workbench.widgets import LiveTrace

    with tiny_session(False) as session:
        run = session.generate("hi", max_new_tokens=8, temperature=1.0, seed=2, logprobs=2)
        run.wait(60)
        trace = LiveTrace(run)
        assert trace.wait(20)
        fork = trace.branch(0, at_token=1, text="Q")
        assert fork.session is session and fork.wait(60)[0].parent_id == run.trajectory_ids[0]
        assert trace.wait(20) and len(trace.samples) == 2 and not trace.errors
        trace.close()
        lone = LiveTrace(run.trajectories()[0])  # no session: the alternatives, and how to fork
        lone.sent = []
        lone.handle_message({"type": "token_request", "request_id": 1, "sample": 0, "token": 0})
        (info,) = messages_of(lone, "token_info")
        assert not info["can_branch"] and "session=" in info["reason"]
        lone.handle_message(
            {
                "type": "branch",
                "request_id": 2,
                "sample": 0,
                "token": 0,
                "alternative": 0,
                "text": None,
            }
        )
        (ack,) = messages_of(lone, "ack")
        assert not ack["ok"] and "session=" in ack["message"]
        lone.handle_message({"type": "token_request", "request_id": 3, "sample": 0, "token": 99})
        assert "no token 99" in lone.error
