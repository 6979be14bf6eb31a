"""The stream buffer of one sample: the one rule that turns token events into text and tokens.

A :class:`~workbench.session.Run` owns one :class:`SampleStream` per sample and feeds it every
event before anyone else sees the event. The recorder builds trajectories from it, the live
widgets read what is new since their last flush (:meth:`SampleStream.since`), and progress
counters read its token count: nobody rebuilds the text, offsets, logprobs, entropies or forced
spans from the events a second time.

Rules, in one place:

* ``raw`` is the concatenation of every event's ``text``, forced text included.
* A token event with ``k`` token ids covers the characters it added: the first id gets the span
  ``[start, end)`` of the event's text, the other ``k - 1`` ids the empty span ``[end, end)``.
* Logprobs (entropies) are kept while every token event carries one per token id; the first event
  without them drops the column for the sample (a partial column would misalign).
* Consecutive forced events make one forced span ``[start, end)`` in ``raw``.
* Constraint mass rows (``[k, layers, constraints]``) are kept per event with ``k`` rows.
* Top-``k`` alternatives (``logprobs=k``) are kept from the first event that has them, ``k`` wide
  (the first row's width): an event's ``alternatives`` (ids, texts, logprobs), else its
  ``top_logprobs`` keys as texts with id ``-1``; tokens without them get an empty (padding) row.
* A finish reason maps to a trajectory status through :func:`status_of_finish`.

Appends happen on the run's thread and reads on others; one lock per sample keeps a reader's view
consistent (text, offsets and the per-token columns always describe the same tokens).
"""

from __future__ import annotations

import threading
import time
from array import array
from dataclasses import dataclass

import numpy as np

from workbench._token_arrays import Alternative
from workbench.backends.base import FinishEvent, TokenEvent
from workbench.trajectory import TokenArrays, Trajectory

__all__ = ["STATUS_BY_FINISH", "SampleStream", "StreamSlice", "status_of_finish"]

STATUS_BY_FINISH: dict[str, str] = {
    "stop": "complete",
    "length": "complete",
    "cancelled": "cancelled",
    "error": "error",
}
"""Trajectory status of each backend finish reason (anything else is an ``error``)."""


def status_of_finish(reason: str | None) -> str:
    """Return the trajectory status for a finish reason (``None``: still ``partial``)."""
    if reason is None:
        return "partial"
    return STATUS_BY_FINISH.get(reason, "error")


@dataclass(frozen=True, slots=True)
class StreamSlice:
    """What a sample streamed after a reader's cursor (see :meth:`SampleStream.since`).

    Attributes
    ----------
    text
        The characters after the cursor.
    start
        Character offset of ``text`` in ``raw``.
    offsets
        Flat ``int32`` pairs ``[s0, e0, s1, e1, …]`` of the new tokens, in ``raw`` coordinates.
    logprobs, entropies
        One ``float32`` per new token, or ``None`` when the sample has no such column.
    tokens
        Number of new tokens.
    """

    text: str
    start: int
    offsets: array
    logprobs: array | None
    entropies: array | None
    tokens: int


class SampleStream:
    """Everything one sample has streamed so far (see the module docstring).

    Parameters
    ----------
    trajectory_id
        Id of the trajectory this sample records.
    started
        ``time.perf_counter()`` of the run's start (for the first-token time).
    """

    def __init__(self, trajectory_id: str, *, started: float | None = None) -> None:
        self.trajectory_id = trajectory_id
        self.started = time.perf_counter() if started is None else started
        self._lock = threading.Lock()
        self._chunks: list[str] = []
        self.length = 0
        self.ids = array("i")
        self.offsets = array("i")
        self.logprobs: array | None = array("f")
        self.entropies: array | None = array("f")
        self.mass: list[np.ndarray] = []
        self.top_k = 0
        """Width of the recorded alternatives (``0``: none recorded)."""
        self.top_ids = array("i")
        self.top_logprobs = array("f")
        self.top_texts: list[str] = []
        self.mass_rows = 0
        self.forced_spans: list[list[int]] = []
        self.first_token_s: float | None = None
        self.finish_reason: str | None = None
        self.error: str | None = None
        self.reasoning_field = False
        """Whether the server sent the thinking in a reasoning field (``think_format="field"``)."""
        self.events = 0
        """Token events received (a token count for backends that send no token ids)."""

    # -- intake (the run's thread) ---------------------------------------------------------------
    def on_event(self, event: TokenEvent | FinishEvent) -> None:
        """Take one backend event of this sample."""
        if isinstance(event, FinishEvent):
            self.reasoning_field = self.reasoning_field or event.reasoning_field
            self.finish(event.finish_reason, event.error)
            return
        with self._lock:
            self._add(event)

    def _add(self, event: TokenEvent) -> None:
        if self.first_token_s is None:
            self.first_token_s = time.perf_counter() - self.started
        start = self.length
        ids = event.token_ids
        texts = event.token_texts if not ids else None
        k = len(ids) if ids else len(texts or ())
        if event.text:
            self._chunks.append(event.text)
            self.length += len(event.text)
            self.events += max(1, k)
            if event.forced:
                if self.forced_spans and self.forced_spans[-1][1] == start:
                    self.forced_spans[-1][1] = self.length  # one span for consecutive forced text
                else:
                    self.forced_spans.append([start, self.length])
        elif k:
            self.events += k
        if not k:
            return
        if texts is not None:
            # Token strings without ids (OpenAI-compatible servers): id -1, spans from the strings
            self.ids.extend([-1] * k)
            at = start
            for piece in texts:
                end = min(at + len(piece), self.length)
                self.offsets.extend((at, end))
                at = end
            if at < self.length:  # strings shorter than the text (normalised bytes): widen the last
                self.offsets[-1] = self.length
        else:
            self.ids.extend(ids)
            self.offsets.extend((start, self.length))
            for _ in range(k - 1):
                self.offsets.extend((self.length, self.length))
        if self.logprobs is not None:
            if event.logprobs is not None and len(event.logprobs) == k:
                self.logprobs.extend(event.logprobs)
            else:
                self.logprobs = None
        if self.entropies is not None:
            if event.entropies is not None and len(event.entropies) == k:
                self.entropies.extend(event.entropies)
            else:
                self.entropies = None
        self._add_alternatives(event, k)
        mass = event.constraint_mass
        if mass is not None and len(mass) == k:
            self.mass.append(np.asarray(mass, dtype=np.float32))
            self.mass_rows += k

    def _add_alternatives(self, event: TokenEvent, k: int) -> None:
        rows: list[list[tuple[int, str, float]]] | None = None
        if event.alternatives is not None and len(event.alternatives) == k:
            rows = [list(r) for r in event.alternatives]
        elif event.top_logprobs is not None and len(event.top_logprobs) == k:
            rows = [[(-1, str(t), float(v)) for t, v in d.items()] for d in event.top_logprobs]
        if rows is None:
            if self.top_k:
                self._pad_alternatives(k)
            return
        if not self.top_k:
            width = max((len(r) for r in rows), default=0)
            if not width:
                return
            before = len(self.ids) - k
            self.top_k = width
            self._pad_alternatives(before)  # tokens before the first row with alternatives
        for row in rows:
            row = row[: self.top_k]
            pad = self.top_k - len(row)
            self.top_ids.extend([int(i) for i, _, _ in row] + [-1] * pad)
            self.top_logprobs.extend([float(v) for _, _, v in row] + [float("nan")] * pad)
            self.top_texts.extend([str(t) for _, t, _ in row] + [""] * pad)

    def _pad_alternatives(self, rows: int) -> None:
        cells = rows * self.top_k
        self.top_ids.extend([-1] * cells)
        self.top_logprobs.extend([float("nan")] * cells)
        self.top_texts.extend([""] * cells)

    def finish(self, reason: str, error: str | None = None) -> None:
        """End the sample (the first finish wins)."""
        with self._lock:
            if self.finish_reason is None:
                self.finish_reason = reason
                self.error = error

    # -- reading (any thread) --------------------------------------------------------------------
    @property
    def raw(self) -> str:
        """The text so far."""
        with self._lock:
            return self._raw()

    def _raw(self) -> str:
        if len(self._chunks) > 1:
            self._chunks[:] = ["".join(self._chunks)]
        return self._chunks[0] if self._chunks else ""

    @property
    def n_tokens(self) -> int:
        """Tokens received so far."""
        return len(self.ids)

    @property
    def finished(self) -> bool:
        """Whether the sample has a finish reason."""
        return self.finish_reason is not None

    @property
    def status(self) -> str:
        """The trajectory status the sample has now."""
        return status_of_finish(self.finish_reason)

    def since(
        self,
        chars: int,
        tokens: int,
        *,
        chars_end: int | None = None,
        tokens_end: int | None = None,
    ) -> StreamSlice:
        """Return what streamed after ``chars`` characters and ``tokens`` tokens.

        ``chars_end`` / ``tokens_end`` stop the slice there (a reader's own cursor), else it runs
        to what has arrived.
        """
        with self._lock:
            raw = self._raw()
            n = len(self.ids) if tokens_end is None else tokens_end
            return StreamSlice(
                text=raw[chars:chars_end],
                start=chars,
                offsets=self.offsets[2 * tokens : 2 * n],
                logprobs=None if self.logprobs is None else self.logprobs[tokens:n],
                entropies=None if self.entropies is None else self.entropies[tokens:n],
                tokens=n - tokens,
            )

    @classmethod
    def from_trajectory(cls, t: Trajectory) -> SampleStream:
        """Return a finished stream holding a recorded trajectory's text and tokens."""
        stream = cls(t.id)
        if t.raw:
            stream._chunks.append(t.raw)
            stream.length = len(t.raw)
        tok = t.tokens
        if tok is not None and tok.offsets is not None:
            stream.ids.extend(int(i) for i in tok.ids)
            stream.offsets.extend(int(v) for v in np.asarray(tok.offsets).reshape(-1))
            stream.logprobs = None if tok.logprobs is None else array("f", tok.logprobs.tolist())
            stream.entropies = None if tok.entropies is None else array("f", tok.entropies.tolist())
            stream.events = len(tok.ids)
            if tok.top_k and tok.top_ids is not None and tok.top_logprobs is not None:
                stream.top_k = tok.top_k
                stream.top_ids.extend(int(v) for v in tok.top_ids.reshape(-1))
                stream.top_logprobs.extend(float(v) for v in tok.top_logprobs.reshape(-1))
                stream.top_texts.extend(s for row in tok.top_texts or [] for s in row)
        else:
            stream.logprobs = stream.entropies = None
        stream.finish_reason = t.finish_reason or {"cancelled": "cancelled", "error": "error"}.get(
            t.status, "stop"
        )
        return stream

    def snapshot(self) -> tuple[str, TokenArrays | None, list[list[int]]]:
        """Return ``(raw, token arrays, forced spans)`` as one consistent view (all index ``raw``)."""
        with self._lock:
            return self._raw(), self._token_arrays(), [list(s) for s in self.forced_spans]

    def token_arrays(self) -> TokenArrays | None:
        """Return the per-token arrays so far (``None`` before the first token id)."""
        with self._lock:
            return self._token_arrays()

    def token(self, i: int) -> tuple[int, int, int, float | None, list[Alternative]]:
        """Return token ``i`` as ``(id, start, end, logprob, alternatives)`` (one consistent view).

        ``alternatives`` are the recorded ``(text, logprob, id)``, most likely first (``[]`` when
        none were recorded).
        """
        with self._lock:
            lp = None if self.logprobs is None else float(self.logprobs[i])
            alts: list[Alternative] = []
            k = self.top_k
            for j in range(i * k, (i + 1) * k if k else 0):
                tid, text, v = self.top_ids[j], self.top_texts[j], self.top_logprobs[j]
                if not (tid < 0 and not text and v != v):  # not padding
                    alts.append((text, float(v), int(tid)))
            return int(self.ids[i]), self.offsets[2 * i], self.offsets[2 * i + 1], lp, alts

    def _token_arrays(self) -> TokenArrays | None:
        if not self.ids:
            return None
        top: dict[str, object] = {}
        if self.top_k:
            k = self.top_k
            top = {
                "top_ids": np.frombuffer(self.top_ids, dtype=np.int32).reshape(-1, k).copy(),
                "top_logprobs": np.frombuffer(self.top_logprobs, dtype=np.float32)
                .reshape(-1, k)
                .copy(),
                "top_texts": [self.top_texts[j : j + k] for j in range(0, len(self.top_texts), k)],
            }
        return TokenArrays(
            **top,  # type: ignore[arg-type]
            ids=np.frombuffer(self.ids, dtype=np.int32).copy(),
            offsets=np.frombuffer(self.offsets, dtype=np.int32).reshape(-1, 2).copy(),
            logprobs=None
            if self.logprobs is None
            else np.frombuffer(self.logprobs, dtype=np.float32).copy(),
            entropies=None
            if self.entropies is None
            else np.frombuffer(self.entropies, dtype=np.float32).copy(),
        )

    def constraint_mass(self) -> np.ndarray | None:
        """Return the live constraint mass ``[tokens, layers, constraints]`` when every token has it."""
        with self._lock:
            if not self.mass or self.mass_rows != len(self.ids):
                return None
            return np.concatenate(self.mass, axis=0)
