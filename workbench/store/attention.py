"""Attention results in the store: the ``attention`` and ``segment_attention`` tables.

Constraint attention is in ``attention`` (schema v3), segment-to-segment attention in
``segment_attention`` (schema v5). The store keeps the arrays, the constraint names and how the result was computed, as
:class:`~workbench.attention.ConstraintAttention` objects (the one record type of constraint
attention); token parts and texts are read off the trajectory again when a result is loaded.
:class:`~workbench.attention.SegmentAttention` keeps the lower triangle of ``[L, H, S, S]`` (the
rest is zero by causality) and its segments' ids, spans and labels.
"""

from __future__ import annotations

import json
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

import numpy as np
import polars as pl

from workbench.attention._record import ConstraintAttention
from workbench.attention._segment_record import SegmentAttention
from workbench.errors import NotFoundError
from workbench.trajectory import Trajectory

__all__ = ["AttentionStore"]


_COLUMNS = "id, trajectory_id, model, constraints, n_tokens, n_layers, meta, created_at"


class AttentionStore(ABC):
    """Mixin of :class:`~workbench.store.store.Store`: stored constraint-attention results.

    The three abstract methods are the store's connection handling and id resolution, which
    :class:`~workbench.store.store.Store` implements.
    """

    @abstractmethod
    def _write(self, *, durable: bool = True) -> AbstractContextManager[sqlite3.Connection]:
        """Return a write transaction on the store's connection."""

    @abstractmethod
    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a read-only query."""

    @abstractmethod
    def resolve_id(self, id_or_prefix: str) -> str:
        """Return the full id for an id or unique prefix."""

    @abstractmethod
    def get(self, id_or_prefix: str) -> Trajectory:
        """Return a stored trajectory."""

    def _list_rows(
        self, table: str, columns: str, trajectory_id: str | None
    ) -> list[tuple[Any, ...]]:
        """Return the rows of ``table`` (all, or one trajectory's), oldest first."""
        sql = f"SELECT {columns} FROM {table}"
        params: list[Any] = []
        if trajectory_id is not None:
            sql += " WHERE trajectory_id = ?"
            params.append(self.resolve_id(trajectory_id))
        return self._read(sql + " ORDER BY created_at", params)

    def _latest_row(
        self, table: str, columns: str, trajectory_id: str, model: str | None
    ) -> list[tuple[Any, ...]]:
        """Return the newest row of ``table`` for a resolved trajectory id (and model), if any."""
        sql = f"SELECT {columns} FROM {table} WHERE trajectory_id = ?"
        params: list[Any] = [trajectory_id]
        if model is not None:
            sql += " AND model = ?"
            params.append(model)
        return self._read(sql + " ORDER BY created_at DESC LIMIT 1", params)

    def add_attention(self, record: ConstraintAttention) -> str:
        """Store a result, replacing any earlier one for the same trajectory, model and constraints.

        Returns
        -------
        str
            The record's id.
        """
        tid = self.resolve_id(record.trajectory_id)
        names = json.dumps(record.constraints, ensure_ascii=False)
        with self._write() as conn:
            conn.execute(
                "DELETE FROM attention WHERE trajectory_id = ? AND model = ? AND constraints = ?",
                (tid, record.model, names),
            )
            conn.execute(
                "INSERT INTO attention (id, trajectory_id, model, constraints, n_tokens, n_layers,"
                " mass, offsets, meta, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.id,
                    tid,
                    record.model,
                    names,
                    int(record.mass.shape[0]),
                    int(record.mass.shape[1]),
                    record.mass.astype("<f4").tobytes(),
                    record.offsets.astype("<i4").tobytes(),
                    json.dumps(record.meta, ensure_ascii=False),
                    record.created_at,
                ),
            )
        return record.id

    def list_attention(self, trajectory_id: str | None = None) -> pl.DataFrame:
        """List stored results without their arrays.

        Returns
        -------
        polars.DataFrame
            ``id, trajectory_id, model, constraints`` (JSON), ``n_tokens, n_layers, meta`` (JSON),
            ``created_at``.
        """
        rows = self._list_rows("attention", _COLUMNS, trajectory_id)
        schema = {
            "id": pl.String,
            "trajectory_id": pl.String,
            "model": pl.String,
            "constraints": pl.String,
            "n_tokens": pl.Int64,
            "n_layers": pl.Int64,
            "meta": pl.String,
            "created_at": pl.Float64,
        }
        return pl.DataFrame(rows, schema=schema, orient="row")

    def get_attention(self, trajectory_id: str, *, model: str | None = None) -> ConstraintAttention:
        """Return the latest stored result for a trajectory (and model, when given).

        Raises
        ------
        NotFoundError
            When nothing is stored; the message says how to compute it.
        """
        tid = self.resolve_id(trajectory_id)
        rows = self._latest_row(
            "attention",
            "id, model, constraints, n_tokens, n_layers, mass, offsets, meta, created_at",
            tid,
            model,
        )
        if not rows:
            for_model = f" with model {model!r}" if model else ""
            raise NotFoundError(
                f"no constraint attention stored for {tid}{for_model}: compute it with "
                f"`workbench attention --id {tid} --save` or workbench.attention.constraint_attention"
            )
        rid, mdl, names, n, layers, mass, offsets, meta, created = rows[0]
        constraints = json.loads(names)
        return ConstraintAttention.of_trajectory(
            self.get(tid),
            id=rid,
            model=mdl,
            constraints=constraints,
            mass=np.frombuffer(mass, dtype="<f4").reshape(n, layers, len(constraints)),
            offsets=np.frombuffer(offsets, dtype="<i4").reshape(n, 2),
            meta=json.loads(meta),
            created_at=created,
        )

    # -- segment-to-segment attention ---------------------------------------------------------------
    def add_segment_attention(self, record: SegmentAttention) -> str:
        """Store a segment-attention result, replacing any earlier one for the trajectory and model.

        Returns
        -------
        str
            The record's id.
        """
        tid = self.resolve_id(record.trajectory_id)
        rows, cols = np.tril_indices(record.n_segments)
        packed = record.mass[:, :, rows, cols]  # [L, H, S(S+1)/2]
        segments = {
            "ids": record.segment_ids,
            "labels": record.labels,
            "char_spans": record.char_spans.tolist(),
            "token_spans": record.token_spans.tolist(),
        }
        with self._write() as conn:
            conn.execute(
                "DELETE FROM segment_attention WHERE trajectory_id = ? AND model = ?",
                (tid, record.model),
            )
            conn.execute(
                "INSERT INTO segment_attention (id, trajectory_id, model, n_segments, n_layers,"
                " n_heads, segments, mass, meta, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.id,
                    tid,
                    record.model,
                    record.n_segments,
                    record.n_layers,
                    record.n_heads,
                    json.dumps(segments, ensure_ascii=False),
                    packed.astype("<f4").tobytes(),
                    json.dumps(record.meta, ensure_ascii=False),
                    record.created_at,
                ),
            )
        return record.id

    def list_segment_attention(self, trajectory_id: str | None = None) -> pl.DataFrame:
        """List stored segment-attention results without their arrays.

        Returns
        -------
        polars.DataFrame
            ``id, trajectory_id, model, n_segments, n_layers, n_heads, meta`` (JSON),
            ``created_at``.
        """
        rows = self._list_rows(
            "segment_attention",
            "id, trajectory_id, model, n_segments, n_layers, n_heads, meta, created_at",
            trajectory_id,
        )
        schema = {
            "id": pl.String,
            "trajectory_id": pl.String,
            "model": pl.String,
            "n_segments": pl.Int64,
            "n_layers": pl.Int64,
            "n_heads": pl.Int64,
            "meta": pl.String,
            "created_at": pl.Float64,
        }
        return pl.DataFrame(rows, schema=schema, orient="row")

    def get_segment_attention(
        self, trajectory_id: str, *, model: str | None = None
    ) -> SegmentAttention:
        """Return the latest stored segment-attention result of a trajectory (and model).

        Raises
        ------
        NotFoundError
            When nothing is stored; the message says how to compute it.
        """
        tid = self.resolve_id(trajectory_id)
        rows = self._latest_row(
            "segment_attention",
            "id, model, n_segments, n_layers, n_heads, segments, mass, meta, created_at",
            tid,
            model,
        )
        if not rows:
            for_model = f" with model {model!r}" if model else ""
            raise NotFoundError(
                f"no segment attention stored for {tid}{for_model}: compute it with "
                f"`workbench attention --id {tid} --segments` or "
                "workbench.attention.segment_attention"
            )
        rid, mdl, n, layers, heads, segments, blob, meta, created = rows[0]
        rows_i, cols_i = np.tril_indices(n)
        mass = np.zeros((layers, heads, n, n), dtype=np.float32)
        mass[:, :, rows_i, cols_i] = np.frombuffer(blob, dtype="<f4").reshape(
            layers, heads, len(rows_i)
        )
        seg = json.loads(segments)
        return SegmentAttention(
            id=rid,
            trajectory_id=tid,
            model=mdl,
            mass=mass,
            segment_ids=seg["ids"],
            labels=seg["labels"],
            char_spans=np.asarray(seg["char_spans"], dtype=np.int32).reshape(-1, 2),
            token_spans=np.asarray(seg["token_spans"], dtype=np.int32).reshape(-1, 2),
            meta=json.loads(meta),
            created_at=created,
        )
