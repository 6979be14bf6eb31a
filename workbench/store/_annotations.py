"""Segments, annotations and pairs in a store."""

from __future__ import annotations

import builtins
import json
from collections.abc import Sequence
from typing import Any

import polars as pl

from workbench.annotation import Annotation, default_author
from workbench.errors import NotFoundError, ValidationError
from workbench.pair import Pair
from workbench.segment import Segment
from workbench.store._trajectories import TrajectoryTables, _frame
from workbench.store.codec import (
    dumps,
)

__all__ = ["AnnotationTables"]

_ANNOTATION_SCHEMA: dict[str, Any] = {
    "id": pl.Int64,
    "trajectory_id": pl.String,
    "segment_id": pl.String,
    "kind": pl.String,
    "value": pl.String,
    "author": pl.String,
    "created_at": pl.Float64,
    "source": pl.String,
}
_PAIR_SCHEMA: dict[str, Any] = {
    "id": pl.String,
    "prompt_key": pl.String,
    "chosen_id": pl.String,
    "rejected_id": pl.String,
    "strategy": pl.String,
    "provenance": pl.String,
    "created_at": pl.Float64,
}


class AnnotationTables(TrajectoryTables):
    """Segments, annotations and pairs: the hand-made half of :class:`~workbench.store.Store`."""

    # -- segments -------------------------------------------------------------------------------
    def add_segments(self, trajectory_id: str, segments: Sequence[Segment]) -> None:
        """Replace the stored segments of a trajectory with ``segments``."""
        tid = self.resolve_id(trajectory_id)
        for s in segments:
            if s.trajectory_id != tid:
                raise ValidationError(
                    "Segment.trajectory_id", f"{s.trajectory_id!r} is not the trajectory {tid!r}"
                )
        rows = [
            (
                s.id,
                tid,
                s.index,
                s.char_span[0],
                s.char_span[1],
                None if s.token_span is None else s.token_span[0],
                None if s.token_span is None else s.token_span[1],
                dumps(s.labels),
                s.label_source,
                s.confidence,
                dumps([list(h) for h in s.keyword_hits]),
                s.segmenter,
                None if s.label_meta is None else dumps(s.label_meta),
            )
            for s in segments
        ]
        with self._write() as conn:
            conn.execute("DELETE FROM segments WHERE trajectory_id = ?", (tid,))
            conn.executemany(
                "INSERT INTO segments (id, trajectory_id, idx, char_start, char_end, token_start,"
                " token_end, labels, label_source, confidence, keyword_hits, segmenter, label_meta)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )

    def get_segments(self, trajectory_id: str) -> builtins.list[Segment]:
        """Return the stored segments of a trajectory in order, with their text filled in."""
        traj = self.get(trajectory_id)
        rows = self._read(
            "SELECT id, idx, char_start, char_end, token_start, token_end, labels, label_source,"
            " confidence, keyword_hits, segmenter, label_meta FROM segments"
            " WHERE trajectory_id = ? ORDER BY idx",
            (traj.id,),
        )
        return [
            Segment(
                id=r[0],
                trajectory_id=traj.id,
                index=r[1],
                char_span=(r[2], r[3]),
                text=traj.raw[r[2] : r[3]],
                token_span=None if r[4] is None else (r[4], r[5]),
                labels=json.loads(r[6]),
                label_source=r[7],
                confidence=r[8],
                keyword_hits=[(h[0], h[1], h[2]) for h in json.loads(r[9])],
                segmenter=r[10],
                label_meta=None if r[11] is None else json.loads(r[11]),
            )
            for r in rows
        ]

    # -- annotations ----------------------------------------------------------------------------
    def add_annotation(
        self,
        trajectory_id: str,
        kind: str,
        value: Any = None,
        *,
        segment_id: str | None = None,
        author: str | None = None,
        source: dict[str, Any] | None = None,
    ) -> Annotation:
        """Append an annotation; when this returns, it is on disk.

        Parameters
        ----------
        trajectory_id
            Id (or unique prefix) of the trajectory.
        kind
            ``"label"``, ``"rating"``, ``"verdict"`` or ``"note"``.
        value
            The label(s), rating, verdict (``"chosen"``, ``"rejected"``, ``"good"``, ``"bad"``) or
            note; ``None`` clears the previous one of this kind on this target.
        segment_id
            Annotate one segment instead of the whole trajectory.
        author
            Defaults to the login name.
        source
            Where the value came from (e.g. the model suggestion a person accepted), kept in the
            history; see :attr:`Annotation.source`.

        Returns
        -------
        Annotation
            With its sequence ``id`` set.
        """
        tid = self.resolve_id(trajectory_id)
        ann = Annotation(
            trajectory_id=tid,
            kind=kind,
            value=value,
            segment_id=segment_id,
            author=author or default_author(),
            source=source,
        )
        with self._write() as conn:
            cur = conn.execute(
                "INSERT INTO annotations (trajectory_id, segment_id, kind, value, author, created_at,"
                " source) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    tid,
                    segment_id,
                    kind,
                    None if value is None else dumps(value),
                    ann.author,
                    ann.created_at,
                    None if source is None else dumps(source),
                ),
            )
            ann.id = cur.lastrowid
        return ann

    def list_annotations(
        self,
        trajectory_id: str | None = None,
        *,
        segment_id: str | None = None,
        kind: str | None = None,
        author: str | None = None,
        history: bool = True,
    ) -> pl.DataFrame:
        """Return annotations as a DataFrame (``value`` is a JSON string).

        Parameters
        ----------
        trajectory_id, segment_id, kind, author
            Filters.
        history
            ``True``: every annotation in order. ``False``: only the latest one per
            (trajectory, segment, kind), and not those whose latest value cleared them.
        """
        clauses, params = [], []
        if trajectory_id is not None:
            clauses.append("a.trajectory_id = ?")
            params.append(self.resolve_id(trajectory_id))
        if segment_id is not None:
            clauses.append("a.segment_id = ?")
            params.append(segment_id)
        if kind is not None:
            clauses.append("a.kind = ?")
            params.append(kind)
        if author is not None:
            clauses.append("a.author = ?")
            params.append(author)
        where = " AND ".join(clauses) if clauses else "1"
        cols = (
            "a.id, a.trajectory_id, a.segment_id, a.kind, a.value, a.author, a.created_at, a.source"
        )
        if history:
            sql = f"SELECT {cols} FROM annotations a WHERE {where} ORDER BY a.id"
        else:
            sql = (
                f"SELECT {cols} FROM annotations a WHERE {where} AND a.id = ("
                " SELECT max(b.id) FROM annotations b WHERE b.trajectory_id = a.trajectory_id"
                " AND b.segment_id IS a.segment_id AND b.kind = a.kind)"
                " AND a.value IS NOT NULL ORDER BY a.id"
            )
        rows = self._read(sql, params)
        return _frame(rows, _ANNOTATION_SCHEMA)

    def get_annotations(
        self, trajectory_id: str, *, history: bool = True
    ) -> builtins.list[Annotation]:
        """Return a trajectory's annotations as :class:`Annotation` objects."""
        frame = self.list_annotations(trajectory_id, history=history)
        return [
            Annotation(
                id=r["id"],
                trajectory_id=r["trajectory_id"],
                segment_id=r["segment_id"],
                kind=r["kind"],
                value=None if r["value"] is None else json.loads(r["value"]),
                author=r["author"],
                created_at=r["created_at"],
                source=None if r["source"] is None else json.loads(r["source"]),
            )
            for r in frame.iter_rows(named=True)
        ]

    # -- pairs ----------------------------------------------------------------------------------
    def add_pair(self, pair: Pair) -> str:
        """Store a pair; return its id (the stored one if the same pair was already there)."""
        for role, tid in (("chosen_id", pair.chosen_id), ("rejected_id", pair.rejected_id)):
            if tid not in self:
                raise NotFoundError(f"Pair.{role}: no trajectory {tid!r} in {self.path}")
        with self._write() as conn:
            row = conn.execute(
                "SELECT id FROM pairs WHERE chosen_id = ? AND rejected_id = ? AND strategy = ?",
                (pair.chosen_id, pair.rejected_id, pair.strategy),
            ).fetchone()
            if row is not None:
                return str(row[0])
            conn.execute(
                "INSERT INTO pairs (id, prompt_key, chosen_id, rejected_id, strategy, provenance,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    pair.id,
                    pair.prompt_key,
                    pair.chosen_id,
                    pair.rejected_id,
                    pair.strategy,
                    dumps(pair.provenance),
                    pair.created_at,
                ),
            )
        return pair.id

    def list_pairs(self, *, strategy: str | None = None) -> pl.DataFrame:
        """Return stored pairs as a DataFrame (``provenance`` is a JSON string)."""
        sql = f"SELECT {', '.join(_PAIR_SCHEMA)} FROM pairs"
        params: list[Any] = []
        if strategy is not None:
            sql += " WHERE strategy = ?"
            params.append(strategy)
        rows = self._read(sql + " ORDER BY rowid", params)
        return _frame(rows, _PAIR_SCHEMA)

    def get_pair(self, pair_id: str) -> Pair:
        """Return one stored pair."""
        frame = self.list_pairs().filter(pl.col("id") == pair_id)
        if frame.is_empty():
            raise NotFoundError(f"no pair {pair_id!r} in {self.path}")
        row = frame.row(0, named=True)
        row["provenance"] = json.loads(row["provenance"])
        return Pair(**row)
