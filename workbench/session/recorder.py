"""Build a run's trajectories from its stream buffers and checkpoint them while they stream.

The text and tokens come from the run's :class:`~workbench.session.stream.SampleStream` objects
(the one place events are turned into text, offsets and per-token columns); the recorder adds the
request, the model and the timings, and saves.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from workbench.attention._record import ConstraintAttention
from workbench.backends.base import GenerationRequest
from workbench.session.stream import SampleStream, status_of_finish
from workbench.store.store import Store
from workbench.think import parse_think
from workbench.trajectory import Trajectory

__all__ = ["Recorder"]


class Recorder:
    """Build trajectories from the samples' stream buffers; save them at most every ``interval_s``.

    Parameters
    ----------
    streams
        The run's stream buffers, one per sample (the run feeds them; the recorder only reads).
    request
        The run's request (prompt, sampling, interventions) recorded on each trajectory.
    model, backend
        Names recorded on each trajectory.
    store
        Where to checkpoint (``None``: keep in memory only).
    run_id
        Recorded in each trajectory's metadata, with the sample index.
    interval_s
        Checkpoint period while streaming (the store always holds a ``partial`` trajectory no older
        than this).
    tags, metadata
        Added to every trajectory.
    parent_id
        Recorded as every trajectory's ``parent_id`` (a fork's original).
    """

    def __init__(
        self,
        streams: Sequence[SampleStream],
        request: GenerationRequest,
        *,
        model: str,
        backend: str,
        store: Store | None,
        run_id: str,
        interval_s: float = 0.5,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        parent_id: str | None = None,
    ) -> None:
        self.request = request
        self.parent_id = parent_id
        self.model = model
        self.backend = backend
        self.store = store
        self.run_id = run_id
        self.interval_s = interval_s
        self.tags = list(tags or [])
        self.metadata = dict(metadata or {})
        self.samples = list(streams)
        self.started = self.samples[0].started if self.samples else time.perf_counter()
        self.created_at = time.time()
        self._last_save = 0.0
        self._dirty = True

    def on_event(self) -> None:
        """Note that a sample's stream buffer changed (the next checkpoint saves it)."""
        self._dirty = True

    def maybe_checkpoint(self) -> bool:
        """Save if the last save is older than ``interval_s``; return whether it saved."""
        now = time.perf_counter()
        if self.store is None or not self._dirty or now - self._last_save < self.interval_s:
            return False
        self.checkpoint(durable=False)
        return True

    def checkpoint(self, *, durable: bool = True) -> None:
        """Save every sample's trajectory now.

        Periodic checkpoints are not ``durable`` (they survive a killed process, not a power loss,
        and cost no disk flush); the first and the final save are.
        """
        if self.store is None:
            return
        for i in range(len(self.samples)):
            self.store.save(self.trajectory(i), durable=durable)
        self._last_save = time.perf_counter()
        self._dirty = False

    def finish_open(self, reason: str, error: str | None = None) -> None:
        """Mark samples the backend left open (it crashed, or the run was stopped) as finished."""
        for rec in self.samples:
            rec.finish(reason, error)
        self._dirty = True

    def attention_records(self) -> list[ConstraintAttention]:
        """Constraint attention recorded live, one record per sample that has it for every token.

        The third axis follows the request's constraints that have spans, in order.
        """
        names = [c.text for c in self.request.constraints if c.spans]
        out = []
        for i, rec in enumerate(self.samples):
            mass = rec.constraint_mass()
            if mass is None or mass.ndim != 3 or mass.shape[2] != len(names):
                continue
            out.append(
                ConstraintAttention.of_trajectory(
                    self.trajectory(i),
                    model=self.model,
                    constraints=names,
                    mass=mass,
                    offsets=np.frombuffer(rec.offsets, dtype=np.int32).reshape(-1, 2).copy(),
                    meta={
                        "mode": "live",
                        "sample": i,
                        "kinds": [c.kind for c in self.request.constraints if c.spans],
                        "query": "the step that produced each token",
                    },
                )
            )
        return out

    def save_attention(self) -> int:
        """Store the live constraint attention (after the final checkpoint); return how many."""
        if self.store is None:
            return 0
        records = self.attention_records()
        for record in records:
            self.store.add_attention(record)
        return len(records)

    def trajectory(self, i: int) -> Trajectory:
        """Build sample ``i``'s trajectory as it stands."""
        rec = self.samples[i]
        raw, tokens, forced_spans = rec.snapshot()
        parsed = parse_think(raw)
        think_format = parsed.think_format
        if rec.reasoning_field and think_format == "tags":
            think_format = "field"  # the server split the reasoning; the backend wrote the tags
        elapsed = time.perf_counter() - self.started
        timings: dict[str, float] = {"elapsed_s": round(elapsed, 4)}
        if rec.first_token_s is not None:
            timings["first_token_s"] = round(rec.first_token_s, 4)
        if rec.n_tokens and elapsed > 0:
            timings["tokens_per_s"] = round(rec.n_tokens / elapsed, 3)
        metadata = {**self.metadata, "run_id": self.run_id, "sample": i}
        if forced_spans:
            metadata["forced_spans"] = forced_spans
        if rec.error:
            metadata["error"] = rec.error
        sampling = self.request.sampling.to_dict()
        sampling["enable_thinking"] = self.request.enable_thinking
        sampling["thinking_prefill"] = self.request.thinking_prefill
        budget = self.request.budget
        if budget is not None:
            sampling["budget"] = {
                "max_thinking_tokens": budget.max_thinking_tokens,
                "end_text": budget.end_text,
                "min_thinking_tokens": budget.min_thinking_tokens,
                "continue_text": budget.continue_text,
                "max_continues": budget.max_continues,
            }
        status = status_of_finish(rec.finish_reason)
        return Trajectory(
            id=rec.trajectory_id,
            prompt=self.request.messages,
            raw=raw,
            think_format=think_format,
            thinking_span=parsed.thinking_span,
            answer_span=parsed.answer_span,
            constraints=list(self.request.constraints),
            model=self.model,
            backend=self.backend,
            sampling=sampling,
            tokens=tokens,
            finish_reason=rec.finish_reason
            if rec.finish_reason in Trajectory.FINISH_REASONS
            else None,
            status=status,
            timings=timings,
            tags=self.tags,
            metadata=metadata,
            parent_id=self.parent_id,
            created_at=self.created_at,
        )
