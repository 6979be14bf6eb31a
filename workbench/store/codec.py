"""Conversion between domain objects and store rows."""

from __future__ import annotations

import json
import struct
from typing import Any

import numpy as np

from workbench._validate import strict_dumps
from workbench.grade import Grade
from workbench.trajectory import Constraint, TokenArrays, Trajectory, prompt_key

__all__ = [
    "SUMMARY_COLUMNS",
    "decode_tokens",
    "dumps",
    "encode_tokens",
    "source_key",
    "trajectory_from_rows",
    "trajectory_rows",
]

SUMMARY_COLUMNS = (
    "id, dedup_key, prompt_key, source, source_id, model, backend, status, finish_reason, "
    "think_format, thinking_start, thinking_end, answer_start, answer_end, n_tokens, gold, grade, "
    "tags, metadata, parent_id, created_at, updated_at, correct, grader, grade_details"
)
N_SUMMARY_COLUMNS = SUMMARY_COLUMNS.count(",") + 1


def source_key(source: str | None, source_id: str) -> str:
    """Return the de-duplication key of a record with an id in its source (importers, ``add``)."""
    return f"src:{source or ''}\x1f{source_id}"


def dumps(value: Any) -> str:
    """Compact strict JSON that keeps non-ASCII text readable (and searchable) in the database.

    The one encoding of every JSON column: a non-finite float (which validation already turned
    into ``None``) is written as ``null``, never as ``NaN`` text that SQLite's JSON functions
    reject.
    """
    if not value and isinstance(value, list | dict):  # the common empty case, without the encoder
        return "[]" if isinstance(value, list) else "{}"
    return strict_dumps(value, compact=True)


def trajectory_rows(
    t: Trajectory, dedup_key: str, now: float
) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """Return the ``trajectories`` row and the ``trajectory_bodies`` row (without rowid)."""
    g = t.grade
    summary = (
        t.id,
        dedup_key,
        prompt_key(t.prompt),
        t.source,
        t.source_id,
        t.model,
        t.backend,
        t.status,
        t.finish_reason,
        t.think_format,
        t.thinking_span[0],
        t.thinking_span[1],
        t.answer_span[0],
        t.answer_span[1],
        None if t.tokens is None else len(t.tokens),
        t.gold,
        None if g is None else g.score,
        dumps(t.tags),
        dumps(t.metadata),
        t.parent_id,
        t.created_at,
        now,
        None if g is None or g.correct is None else int(g.correct),
        None if g is None else g.grader,
        None if g is None or g.details is None else dumps(g.details),
    )
    body = (
        dumps(t.prompt),
        t.raw,
        dumps([c.to_dict() for c in t.constraints]),
        dumps(t.sampling),
        dumps(t.timings),
    )
    return summary, body


_TOP_MAGIC = b"WBTOPK1\0"
"""Marks the recorded alternatives after the ids in the ``ids`` blob (no schema change: the first
``4 n`` bytes are the ids, as in every store; an older store simply has nothing after them)."""
_TOP_HEADER = struct.Struct("<II")  # k, bytes of the texts' JSON


def _encode_top(tokens: TokenArrays) -> bytes:
    if tokens.top_ids is None or tokens.top_logprobs is None:
        return b""
    texts = json.dumps(tokens.top_texts or [], ensure_ascii=False, separators=(",", ":")).encode()
    return b"".join(
        (
            _TOP_MAGIC,
            _TOP_HEADER.pack(tokens.top_k, len(texts)),
            np.ascontiguousarray(tokens.top_ids, dtype="<i4").tobytes(),
            np.ascontiguousarray(tokens.top_logprobs, dtype="<f4").tobytes(),
            texts,
        )
    )


def _decode_top(n: int, tail: bytes) -> tuple[Any, Any, Any]:
    if not tail:
        return None, None, None
    head = len(_TOP_MAGIC) + _TOP_HEADER.size
    if not tail.startswith(_TOP_MAGIC) or len(tail) < head:
        raise ValueError("the token ids blob holds unknown data after the ids")
    k, n_texts = _TOP_HEADER.unpack_from(tail, len(_TOP_MAGIC))
    cells = 4 * n * k
    ids = np.frombuffer(tail, "<i4", n * k, head).reshape(n, k).astype(np.int32)
    lps = np.frombuffer(tail, "<f4", n * k, head + cells).reshape(n, k).astype(np.float32)
    texts = json.loads(tail[head + 2 * cells : head + 2 * cells + n_texts].decode())
    return ids, lps, texts


def encode_tokens(tokens: TokenArrays) -> tuple[Any, ...]:
    """Return ``(n, ids, offsets, logprobs, entropies)`` with arrays as little-endian bytes.

    Recorded alternatives (``top_ids``, ``top_logprobs``, ``top_texts``) follow the ids in the
    ``ids`` blob, behind a marker.
    """

    def blob(arr: np.ndarray | None, dtype: str) -> bytes | None:
        return None if arr is None else np.ascontiguousarray(arr, dtype=dtype).tobytes()

    ids = np.ascontiguousarray(tokens.ids, dtype="<i4").tobytes() + _encode_top(tokens)
    return (
        len(tokens),
        ids,
        blob(tokens.offsets, "<i4"),
        blob(tokens.logprobs, "<f4"),
        blob(tokens.entropies, "<f4"),
    )


def decode_tokens(row: tuple[Any, ...]) -> TokenArrays:
    """Inverse of :func:`encode_tokens`."""
    n, ids, offsets, logprobs, entropies = row
    top_ids, top_lps, top_texts = _decode_top(n, bytes(ids[4 * n :]))
    return TokenArrays(
        ids=np.frombuffer(ids, dtype="<i4", count=n).astype(np.int32),
        offsets=None
        if offsets is None
        else np.frombuffer(offsets, "<i4").reshape(n, 2).astype(np.int32),
        logprobs=None if logprobs is None else np.frombuffer(logprobs, "<f4").astype(np.float32),
        entropies=None if entropies is None else np.frombuffer(entropies, "<f4").astype(np.float32),
        top_ids=top_ids,
        top_logprobs=top_lps,
        top_texts=top_texts,
    )


def trajectory_from_rows(
    summary: tuple[Any, ...], body: tuple[Any, ...], tokens: TokenArrays | None
) -> Trajectory:
    """Rebuild a trajectory from its rows (``SUMMARY_COLUMNS`` order, then the body)."""
    (
        tid, _dedup, _pkey, source, source_id, model, backend, status, finish_reason,
        think_format, ts, te, as_, ae, _n, gold, score, tags, metadata, parent_id,
        created_at, _updated, correct, grader, grade_details,
    ) = summary  # fmt: skip
    grade = None
    if grader is not None:
        grade = Grade(
            correct=None if correct is None else bool(correct),
            score=score,
            grader=grader,
            details=None if grade_details is None else json.loads(grade_details),
        )
    prompt, raw, constraints, sampling, timings = body
    return Trajectory(
        id=tid,
        prompt=json.loads(prompt),
        raw=raw,
        think_format=think_format,
        thinking_span=(ts, te),
        answer_span=(as_, ae),
        constraints=[Constraint.from_dict(c) for c in json.loads(constraints)],
        model=model,
        backend=backend,
        sampling=json.loads(sampling),
        tokens=tokens,
        finish_reason=finish_reason,
        status=status,
        timings=json.loads(timings),
        gold=gold,
        grade=grade,
        source=source,
        source_id=source_id,
        tags=json.loads(tags),
        metadata=json.loads(metadata),
        parent_id=parent_id,
        created_at=created_at,
    )
