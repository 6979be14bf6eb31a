"""Branching on the default model: a token's recorded alternatives are real tokens of SmolLM2,
and a fork at one of them starts with the kept text and the alternative, then the model goes on."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("torch", reason="the default model needs torch (make setup)")

from workbench import Store
from workbench.session import Session


def test_a_fork_at_an_alternative_keeps_the_prefix_and_continues(tmp_path: Path) -> None:
    with Session("smollm2-135m", store=tmp_path / "s.db") as session:
        run = session.generate("What is 17 + 25?", max_new_tokens=32, temperature=0, logprobs=5)
        (t,) = run.wait(300)
        assert run.status == "complete" and t.tokens is not None and t.tokens.top_k == 5
        i = next(
            k for k in range(4, len(t.tokens))
            if int(t.tokens.offsets[k][0]) > t.thinking_span[0]
            and t.tokens.alternatives(k)[1][0].strip()
        )  # fmt: skip
        alts = t.tokens.alternatives(i)
        assert alts[0][1] >= alts[1][1] and all(tid >= 0 for _, _, tid in alts)
        start = int(t.tokens.offsets[i][0])
        fork = session.branch(t, at_token=i, alternative=1).wait(300)[0]
        prefix = t.raw[:start] + alts[1][0]
        assert fork.status == "complete" and fork.raw.startswith(prefix)
        assert len(fork.raw) > len(prefix) and fork.tokens is not None  # the model went on
        assert fork.parent_id == t.id and fork.prompt == t.prompt  # the recipe once, as sent
        with Store(tmp_path / "s.db", readonly=True) as store:
            assert store.get(fork.id).parent_id == t.id
            assert store.get(t.id).tokens == t.tokens  # alternatives included
