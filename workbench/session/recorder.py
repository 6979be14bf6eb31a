"""Turn a run's events into trajectories and checkpoint them to the store while they stream."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from workbench.backends.base import FinishEvent, GenerationRequest, TokenEvent
from workbench.store.attention import AttentionRecord
from workbench.store.store import Store
from workbench.think import parse_think
from workbench.trajectory import TokenArrays, Trajectory

__all__ = ["Recorder", "SampleRecord"]

_STATUS_BY_FINISH = {
    "stop": "complete",
    "length": "complete",
    "cancelled": "cancelled",
    "error": "error",
}


@dataclass(slots=True)
class SampleRecord:
    """Everything streamed so far for one sample."""

    trajectory_id: str
    chunks: list[str] = field(default_factory=list)
    length: int = 0
    ids: list[int] = field(default_factory=list)
    offsets: list[tuple[int, int]] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)
    entropies: list[float] = field(default_factory=list)
    has_logprobs: bool = True
    has_entropies: bool = True
    mass: list[np.ndarray] = field(default_factory=list)
    mass_rows: int = 0
    forced_spans: list[list[int]] = field(default_factory=list)
    first_token_s: float | None = None
    finish_reason: str | None = None
    error: str | None = None

    @property
    def raw(self) -> str:
        """The text so far."""
        if len(self.chunks) > 1:
            self.chunks[:] = ["".join(self.chunks)]
        return self.chunks[0] if self.chunks else ""

    @property
    def n_tokens(self) -> int:
        """Tokens received so far."""
        return len(self.ids)


class Recorder:
    """Accumulate events per sample; build trajectories; save them at most every ``interval_s``.

    Parameters
    ----------
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
    """

    def __init__(
        self,
        request: GenerationRequest,
        *,
        model: str,
        backend: str,
        store: Store | None,
        run_id: str,
        trajectory_ids: list[str],
        interval_s: float = 0.5,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self.request = request
        self.model = model
        self.backend = backend
        self.store = store
        self.run_id = run_id
        self.interval_s = interval_s
        self.tags = list(tags or [])
        self.metadata = dict(metadata or {})
        self.samples = [SampleRecord(trajectory_id=tid) for tid in trajectory_ids]
        self.started = time.perf_counter()
        self.created_at = time.time()
        self._last_save = 0.0
        self._dirty = True

    def on_event(self, event: TokenEvent | FinishEvent) -> None:
        """Record one backend event (called on the run's thread)."""
        rec = self.samples[event.sample]
        self._dirty = True
        if isinstance(event, FinishEvent):
            rec.finish_reason = event.finish_reason
            rec.error = event.error
            return
        if rec.first_token_s is None:
            rec.first_token_s = time.perf_counter() - self.started
        start = rec.length
        rec.chunks.append(event.text)
        rec.length += len(event.text)
        if event.forced and event.text:
            if rec.forced_spans and rec.forced_spans[-1][1] == start:
                rec.forced_spans[-1][1] = rec.length  # one span for consecutive forced tokens
            else:
                rec.forced_spans.append([start, rec.length])
        k = len(event.token_ids)
        if not k:
            return
        rec.ids.extend(event.token_ids)
        rec.offsets.append((start, rec.length))
        rec.offsets.extend((rec.length, rec.length) for _ in range(k - 1))
        if event.logprobs is not None and len(event.logprobs) == k and rec.has_logprobs:
            rec.logprobs.extend(event.logprobs)
        else:
            rec.has_logprobs = False
        if event.entropies is not None and len(event.entropies) == k and rec.has_entropies:
            rec.entropies.extend(event.entropies)
        else:
            rec.has_entropies = False
        mass = event.constraint_mass
        if mass is not None and len(mass) == k:
            rec.mass.append(np.asarray(mass, dtype=np.float32))
            rec.mass_rows += k

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
            if rec.finish_reason is None:
                rec.finish_reason = reason
                rec.error = error

    def attention_records(self) -> list[AttentionRecord]:
        """Constraint attention recorded live, one record per sample that has it for every token.

        The third axis follows the request's constraints that have spans, in order.
        """
        names = [c.text for c in self.request.constraints if c.spans]
        out = []
        for i, rec in enumerate(self.samples):
            if not rec.mass or rec.mass_rows != len(rec.ids):
                continue
            mass = np.concatenate(rec.mass, axis=0)
            if mass.ndim != 3 or mass.shape[2] != len(names):
                continue
            out.append(
                AttentionRecord(
                    trajectory_id=rec.trajectory_id,
                    model=self.model,
                    constraints=names,
                    mass=mass,
                    offsets=np.asarray(rec.offsets, dtype=np.int32),
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
            self.store.put_attention(record)
        return len(records)

    def trajectory(self, i: int) -> Trajectory:
        """Build sample ``i``'s trajectory as it stands."""
        rec = self.samples[i]
        raw = rec.raw
        parsed = parse_think(raw)
        elapsed = time.perf_counter() - self.started
        timings: dict[str, float] = {"elapsed_s": round(elapsed, 4)}
        if rec.first_token_s is not None:
            timings["first_token_s"] = round(rec.first_token_s, 4)
        if rec.n_tokens and elapsed > 0:
            timings["tokens_per_s"] = round(rec.n_tokens / elapsed, 3)
        tokens = None
        if rec.ids:
            tokens = TokenArrays(
                ids=np.asarray(rec.ids, dtype=np.int32),
                offsets=np.asarray(rec.offsets, dtype=np.int32),
                logprobs=np.asarray(rec.logprobs, dtype=np.float32) if rec.has_logprobs else None,
                entropies=np.asarray(rec.entropies, dtype=np.float32)
                if rec.has_entropies
                else None,
            )
        metadata = {**self.metadata, "run_id": self.run_id, "sample": i}
        if rec.forced_spans:
            metadata["forced_spans"] = rec.forced_spans
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
        status = (
            "partial"
            if rec.finish_reason is None
            else _STATUS_BY_FINISH.get(rec.finish_reason, "error")
        )
        return Trajectory(
            id=rec.trajectory_id,
            prompt=self.request.messages,
            raw=raw,
            think_format=parsed.think_format,
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
            created_at=self.created_at,
        )
