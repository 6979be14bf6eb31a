"""Constraint-attention results in the store (the ``attention`` table, schema v3).

The store keeps the arrays, the constraint names and how the result was computed, as
:class:`~workbench.attention.ConstraintAttention` objects (the one record type of constraint
attention); token parts and texts are read off the trajectory again when a result is loaded.
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
        sql = f"SELECT {_COLUMNS} FROM attention"
        params: list[Any] = []
        if trajectory_id is not None:
            sql += " WHERE trajectory_id = ?"
            params.append(self.resolve_id(trajectory_id))
        rows = self._read(sql + " ORDER BY created_at", params)
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
        sql = (
            "SELECT id, model, constraints, n_tokens, n_layers, mass, offsets, meta, created_at"
            " FROM attention WHERE trajectory_id = ?"
        )
        params: list[Any] = [tid]
        if model is not None:
            sql += " AND model = ?"
            params.append(model)
        rows = self._read(sql + " ORDER BY created_at DESC LIMIT 1", params)
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
