"""The Store: one SQLite file holding trajectories, segments, annotations and pairs.

Open it with :class:`Store` (or :func:`open_store`)::

    store = wb.Store()                      # ./workbench.db, or $WORKBENCH_STORE
    store.add(trajectory)
    df = store.list_trajectories(model="QwQ-32B", graded=False)
    store.add_annotation(df["id"][0], "rating", 4)

One verb set: ``add_*`` writes (:meth:`~Store.add`, :meth:`~Store.add_trajectories`,
:meth:`~Store.add_segments`, :meth:`~Store.add_annotation`, :meth:`~Store.add_pair`,
:meth:`~Store.add_attention`, :meth:`~Store.add_segment_attention`,
:meth:`~Store.add_importance_samples`), ``get_*`` returns objects
(:meth:`~Store.get`, :meth:`~Store.get_segments`, :meth:`~Store.get_annotations`,
:meth:`~Store.get_pair`, :meth:`~Store.get_attention`, :meth:`~Store.get_segment_attention`,
:meth:`~Store.get_importance_samples`),
``list_*`` returns polars frames (:meth:`~Store.list_trajectories`, :meth:`~Store.list_annotations`,
:meth:`~Store.list_pairs`, :meth:`~Store.list_attention`, :meth:`~Store.list_segment_attention`,
:meth:`~Store.list_importance_experiments`) and
``iter_*`` streams (:meth:`~Store.iter_trajectories`); :meth:`~Store.search` finds text (a page of
ids with a snippet around each match, and the total). ``save`` and ``update`` rewrite a stored
trajectory. The names of earlier releases (``list``, ``annotate``, ``segments``, …; see
:data:`DEPRECATED_NAMES`) still work for one release and warn.

Durability and concurrency: the file is in WAL mode with ``synchronous=FULL``, so a call that has
returned (an annotation acknowledged, a batch added) is on disk and survives the process being
killed, or the machine losing power. Several processes (several kernels, the JupyterLab server) can
read and write the same file at once; writers wait for each other (``busy_timeout``).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

from workbench.store._annotations import AnnotationTables
from workbench.store._connection import DEFAULT_STORE, STORE_ENV, resolve_store_path
from workbench.store._searching import SearchResult, TextSearch
from workbench.store._trajectories import LIST_SCHEMA, AddResult
from workbench.store.attention import AttentionStore
from workbench.store.importance import ImportanceStore

__all__ = [
    "DEFAULT_STORE",
    "DEPRECATED_NAMES",
    "LIST_SCHEMA",
    "STORE_ENV",
    "AddResult",
    "SearchResult",
    "Store",
    "open_store",
    "resolve_store_path",
]


class Store(TextSearch, AnnotationTables, AttentionStore, ImportanceStore):
    """A workbench store: one SQLite file.

    Parameters
    ----------
    path
        The file. Defaults to ``$WORKBENCH_STORE`` or ``./workbench.db``; created if missing.
    readonly
        Open without write access (no file is created; writes raise).
    create
        Create the file when it does not exist (``False``: raise :class:`StoreError` instead).
    migrations
        Schema migrations to apply (for tests of the migration machinery).

    Raises
    ------
    StoreError
        When the file is not a workbench store, was written by a newer workbench, or cannot be
        created.
    """

    # -- summary --------------------------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        """Return a summary: path, size, schema version, counts and breakdowns."""

        def breakdown(column: str) -> dict[str, int]:
            rows = self._read(
                f"SELECT coalesce({column}, '(none)'), count(*) FROM trajectories"
                f" GROUP BY 1 ORDER BY 2 DESC, 1"
            )
            return {str(k): int(v) for k, v in rows}

        size = sum(p.stat().st_size for p in (self.path, Path(f"{self.path}-wal")) if p.exists())
        counts = {
            table: int(self._read(f"SELECT count(*) FROM {table}")[0][0])
            for table in ("trajectories", "segments", "annotations", "pairs")
        }
        uncached, cached = counts["trajectories"], 0
        if self._listing_cached():
            with self._reading() as conn:
                uncached, cached = self._listing_cache(conn).uncovered(conn)
        return {
            "path": str(self.path),
            "size_bytes": size,
            "schema_version": self.schema_version,
            "counts": counts,
            "models": breakdown("model"),
            "sources": breakdown("source"),
            "think_formats": breakdown("think_format"),
            "statuses": breakdown("status"),
            "graded": int(
                self._read("SELECT count(*) FROM trajectories WHERE grade IS NOT NULL")[0][0]
            ),
            "search_indexed": self.has_search_index,
            "search_pending": self.search_pending,
            "listing_cached": cached,
            "listing_uncached": uncached,
        }


def _deprecated(old: str, new: str) -> Any:
    """Return a deprecated alias of ``Store.<new>`` under its old name (kept for one release)."""

    def alias(self: Store, *args: Any, **kwargs: Any) -> Any:
        warnings.warn(
            f"Store.{old}() is deprecated and will be removed in the next release: "
            f"use Store.{new}()",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(self, new)(*args, **kwargs)

    alias.__name__ = old
    alias.__doc__ = f"Deprecated alias of :meth:`{new}`."
    return alias


DEPRECATED_NAMES: dict[str, str] = {
    "add_many": "add_trajectories",
    "list": "list_trajectories",
    "put_segments": "add_segments",
    "segments": "get_segments",
    "annotate": "add_annotation",
    "annotations": "list_annotations",
    "pairs": "list_pairs",
    "put_attention": "add_attention",
    "attention_records": "list_attention",
}
"""Old method names of :class:`Store` and the verb that replaces each (one release of grace)."""

for _old, _new in DEPRECATED_NAMES.items():
    setattr(Store, _old, _deprecated(_old, _new))


def open_store(
    path: str | os.PathLike[str] | None = None, *, readonly: bool = False, create: bool = True
) -> Store:
    """Open (or create) a store; see :class:`Store`."""
    return Store(path, readonly=readonly, create=create)
