"""Counterfactual importance in the store: ``importance_samples`` and ``importance_experiments``.

Every continuation the importance engine samples is stored as soon as it finishes (schema v6), under
its experiment's key, so a killed run resumes where it stopped and a run asking for more samples
adds to the earlier ones. :func:`workbench.analysis.importance.segment_importance` summarises them.
"""

from __future__ import annotations

import json
import sqlite3
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

import polars as pl

from workbench.analysis.importance._records import ImportanceSample

__all__ = ["ImportanceStore"]

_SAMPLE_COLUMNS = (
    "position, boundary, sample, seed, text, answer, answer_key, correct, first_segment,"
    " n_tokens, elapsed_s"
)


class ImportanceStore(ABC):
    """Mixin of :class:`~workbench.store.store.Store`: stored importance samples."""

    @abstractmethod
    def _write(self, *, durable: bool = True) -> AbstractContextManager[sqlite3.Connection]:
        """Return a write transaction on the store's connection."""

    @abstractmethod
    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a read-only query."""

    @abstractmethod
    def resolve_id(self, id_or_prefix: str) -> str:
        """Return the full id for an id or unique prefix."""

    def add_importance_experiment(
        self, trajectory_id: str, key: str, *, model: str, config: dict[str, Any]
    ) -> None:
        """Record an experiment's parameters (once per trajectory and key; later calls keep it)."""
        tid = self.resolve_id(trajectory_id)
        with self._write() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO importance_experiments"
                " (key, trajectory_id, model, config, created_at) VALUES (?, ?, ?, ?, ?)",
                (key, tid, model, json.dumps(config, ensure_ascii=False), time.time()),
            )

    def add_importance_samples(
        self, trajectory_id: str, key: str, samples: Sequence[ImportanceSample]
    ) -> int:
        """Store sampled continuations; a sample already stored (same position and index) is kept.

        Returns
        -------
        int
            How many were new.
        """
        tid = self.resolve_id(trajectory_id)
        now = time.time()
        rows = [
            (
                tid,
                key,
                s.position,
                s.boundary,
                s.sample,
                s.seed,
                s.text,
                s.answer,
                s.answer_key,
                int(bool(s.correct)),
                s.first_segment,
                int(s.n_tokens),
                float(s.elapsed_s),
                now,
            )
            for s in samples
        ]
        with self._write() as conn:
            before = conn.total_changes
            conn.executemany(
                "INSERT OR IGNORE INTO importance_samples (trajectory_id, key, position, boundary,"
                " sample, seed, text, answer, answer_key, correct, first_segment, n_tokens,"
                " elapsed_s, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            return int(conn.total_changes - before)

    def get_importance_samples(self, trajectory_id: str, key: str) -> list[ImportanceSample]:
        """Return an experiment's stored samples, by position and index."""
        rows = self._read(
            f"SELECT {_SAMPLE_COLUMNS} FROM importance_samples WHERE trajectory_id = ? AND key = ?"
            " ORDER BY position, sample",
            (self.resolve_id(trajectory_id), key),
        )
        return [
            ImportanceSample(
                position=int(r[0]),
                boundary=int(r[1]),
                sample=int(r[2]),
                seed=None if r[3] is None else int(r[3]),
                text=str(r[4]),
                answer=str(r[5]),
                answer_key=None if r[6] is None else str(r[6]),
                correct=bool(r[7]),
                first_segment=str(r[8]),
                n_tokens=int(r[9]),
                elapsed_s=float(r[10]),
            )
            for r in rows
        ]

    def list_importance_experiments(self, trajectory_id: str | None = None) -> pl.DataFrame:
        """List importance experiments with their sample counts.

        Returns
        -------
        polars.DataFrame
            ``trajectory_id, key, model, config`` (JSON), ``n_samples, n_tokens`` (generated
            tokens of the stored samples), ``created_at``.
        """
        sql = (
            "SELECT e.trajectory_id, e.key, e.model, e.config, count(s.id),"
            " coalesce(sum(s.n_tokens), 0), e.created_at"
            " FROM importance_experiments e LEFT JOIN importance_samples s"
            " ON s.trajectory_id = e.trajectory_id AND s.key = e.key"
        )
        params: list[Any] = []
        if trajectory_id is not None:
            sql += " WHERE e.trajectory_id = ?"
            params.append(self.resolve_id(trajectory_id))
        rows = self._read(sql + " GROUP BY e.trajectory_id, e.key ORDER BY e.created_at", params)
        schema = {
            "trajectory_id": pl.String,
            "key": pl.String,
            "model": pl.String,
            "config": pl.String,
            "n_samples": pl.Int64,
            "n_tokens": pl.Int64,
            "created_at": pl.Float64,
        }
        return pl.DataFrame(rows, schema=schema, orient="row")

    def get_importance_throughput(self, model: str) -> float | None:
        """Measured generated tokens per second of earlier importance requests with ``model``.

        Each request's time is shared by its samples, so the rate is ``Σ tokens / Σ (elapsed of
        each request)``, one elapsed per (experiment, position, seed). ``None`` when nothing was
        measured.
        """
        rows = self._read(
            "SELECT sum(t), sum(e) FROM (SELECT sum(s.n_tokens) AS t, max(s.elapsed_s) AS e"
            " FROM importance_samples s JOIN importance_experiments x"
            " ON x.trajectory_id = s.trajectory_id AND x.key = s.key WHERE x.model = ?"
            " GROUP BY s.trajectory_id, s.key, s.position, s.seed)",
            (model,),
        )
        tokens, elapsed = rows[0] if rows else (None, None)
        if not tokens or not elapsed:
            return None
        return float(tokens) / float(elapsed)
