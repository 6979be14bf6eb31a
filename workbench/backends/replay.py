"""Replay a stored trajectory as if it were being generated: for demos and UI tests without a model."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator

from workbench.backends.base import (
    Backend,
    Event,
    FinishEvent,
    GenerationRequest,
    RunControl,
    TokenEvent,
)
from workbench.errors import ValidationError
from workbench.trajectory import Trajectory

__all__ = ["ReplayBackend", "replay_pieces"]

_PIECE = re.compile(r"\s*\S+|\s+")


def replay_pieces(
    trajectory: Trajectory,
) -> list[tuple[str, int | None, float | None, float | None]]:
    """Split a trajectory's raw text into the pieces a replay streams.

    With stored per-token offsets, the pieces are the real tokens (with their ids, logprobs and
    entropies); without, they are whitespace-led words. The pieces always join back to ``raw``.
    """
    raw = trajectory.raw
    tokens = trajectory.tokens
    if tokens is not None and tokens.offsets is not None and len(tokens):
        pieces: list[tuple[str, int | None, float | None, float | None]] = []
        pos = 0
        for i in range(len(tokens)):
            end = int(tokens.offsets[i, 1])
            lp = None if tokens.logprobs is None else float(tokens.logprobs[i])
            ent = None if tokens.entropies is None else float(tokens.entropies[i])
            pieces.append((raw[pos:end] if end > pos else "", int(tokens.ids[i]), lp, ent))
            pos = max(pos, end)
        if pos < len(raw):
            pieces.append((raw[pos:], None, None, None))
        return pieces
    return [(m.group(0), None, None, None) for m in _PIECE.finditer(raw)]


class ReplayBackend(Backend):
    """Stream stored trajectories' text at a chosen speed.

    Parameters
    ----------
    trajectories
        One trajectory per sample to replay (a request for ``n`` samples replays the first ``n``,
        cycling when there are fewer).
    tokens_per_s
        Replay speed; ``None`` streams as fast as possible.
    """

    name = "replay"

    def __init__(
        self, trajectories: Trajectory | list[Trajectory], *, tokens_per_s: float | None = 20.0
    ) -> None:
        self.trajectories = (
            [trajectories] if isinstance(trajectories, Trajectory) else list(trajectories)
        )
        if not self.trajectories:
            raise ValidationError("ReplayBackend.trajectories", "give at least one trajectory")
        if tokens_per_s is not None and tokens_per_s <= 0:
            raise ValidationError("ReplayBackend.tokens_per_s", "must be positive or None")
        self.tokens_per_s = tokens_per_s

    @property
    def model_name(self) -> str:
        """The replayed trajectory's model, marked as a replay."""
        return f"replay:{self.trajectories[0].model or 'unknown'}"

    def stream(
        self,
        request: GenerationRequest,
        *,
        cancel: threading.Event,
        control: RunControl | None = None,
    ) -> Iterator[Event]:
        """Yield the stored pieces of every sample in turn, one token per step, across samples.

        A replay cannot be steered: text queued on ``control`` is ignored.
        """
        n = request.sampling.n
        queues = [replay_pieces(self.trajectories[i % len(self.trajectories)]) for i in range(n)]
        limit = request.sampling.max_new_tokens
        positions = [0] * n
        done = [False] * n
        interval = 0.0 if self.tokens_per_s is None else 1.0 / self.tokens_per_s
        next_at = time.perf_counter()
        while not all(done):
            if cancel.is_set():
                for i in range(n):
                    if not done[i]:
                        done[i] = True
                        yield FinishEvent(sample=i, finish_reason="cancelled")
                return
            for i in range(n):
                if done[i]:
                    continue
                if positions[i] >= len(queues[i]) or positions[i] >= limit:
                    done[i] = True
                    reason = "stop" if positions[i] >= len(queues[i]) else "length"
                    yield FinishEvent(sample=i, finish_reason=reason)
                    continue
                text, tid, lp, ent = queues[i][positions[i]]
                positions[i] += 1
                yield TokenEvent(
                    sample=i,
                    text=text,
                    token_ids=() if tid is None else (tid,),
                    logprobs=None if lp is None else (lp,),
                    entropies=None if ent is None else (ent,),
                )
            if interval:
                next_at += interval
                delay = next_at - time.perf_counter()
                if delay > 0:
                    cancel.wait(delay)
