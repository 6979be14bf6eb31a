"""Opening a store file: path resolution, pragmas, migrations, read and write transactions."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self

from workbench.errors import StoreError
from workbench.store.schema import MIGRATIONS, Migration, migrate

__all__ = ["DEFAULT_STORE", "STORE_ENV", "StoreConnection", "resolve_store_path"]

STORE_ENV = "WORKBENCH_STORE"
"""Environment variable naming the store file when no path is given."""

DEFAULT_STORE = "workbench.db"
"""Store file used when neither an argument nor ``$WORKBENCH_STORE`` names one (in the cwd)."""

_BUSY_TIMEOUT_S = 60.0
_INSERT_TOKENS = (
    "INSERT INTO token_arrays (traj_rowid, n, ids, offsets, logprobs, entropies)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)
_SENTINEL: Any = object()


def resolve_store_path(path: str | os.PathLike[str] | None = None) -> Path:
    """Return the store path: ``path``, else ``$WORKBENCH_STORE``, else ``./workbench.db``."""
    if path is None or str(path) == "":
        path = os.environ.get(STORE_ENV) or DEFAULT_STORE
    return Path(path).expanduser()


class StoreConnection:
    """The connection half of :class:`~workbench.store.Store`: opening, migrating, transactions.

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
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        readonly: bool = False,
        create: bool = True,
        migrations: Sequence[Migration] = MIGRATIONS,
    ) -> None:
        self.path = resolve_store_path(path)
        self.readonly = readonly
        if not create and not self.path.exists():
            raise StoreError(
                f"no store at {self.path}: import traces first (workbench import FILE --store "
                f"{self.path}) or pass --store / set ${STORE_ENV}"
            )
        self._lock = threading.RLock()
        self._conn = self._connect(migrations)

    # -- connection -----------------------------------------------------------------------------
    def _connect(self, migrations: Sequence[Migration]) -> sqlite3.Connection:
        if self.readonly:
            if not self.path.exists():
                raise StoreError(
                    f"no store at {self.path}: check the path or create it by importing"
                )
            uri = f"file:{self.path.resolve()}?mode=ro"
            conn = sqlite3.connect(uri, uri=True, timeout=_BUSY_TIMEOUT_S, check_same_thread=False)
        else:
            if self.path.parent and not self.path.parent.exists():
                raise StoreError(
                    f"cannot create store {self.path}: folder {self.path.parent} does not exist"
                )
            conn = sqlite3.connect(
                self.path, timeout=_BUSY_TIMEOUT_S, check_same_thread=False, isolation_level=None
            )
        conn.isolation_level = None
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(_BUSY_TIMEOUT_S * 1000)}")
            if not self.readonly:
                conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA cache_size = -65536")
            (version,) = conn.execute("PRAGMA user_version").fetchone()
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise StoreError(
                f"{self.path} is not a workbench store ({exc}); pass another path or remove the file"
            ) from exc
        if version > len(migrations):
            conn.close()
            raise StoreError(
                f"{self.path} has schema version {version}, newer than this workbench "
                f"understands ({len(migrations)}): upgrade workbench (pip install -U thinking-workbench)"
            )
        if version < len(migrations):
            if self.readonly:
                conn.close()
                raise StoreError(
                    f"{self.path} needs a schema migration (version {version} -> {len(migrations)}): "
                    "open it once without readonly=True"
                )
            self._migrate(conn, migrations)
        return conn

    def _migrate(self, conn: sqlite3.Connection, migrations: Sequence[Migration]) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            (version,) = conn.execute("PRAGMA user_version").fetchone()
            if version == 0:
                tables = conn.execute(
                    "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
                ).fetchone()[0]
                if tables:
                    raise StoreError(
                        f"{self.path} is an SQLite database but not a workbench store; "
                        "pass another path"
                    )
            migrate(conn, migrations)
            conn.execute(
                "INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', ?)",
                (str(len(migrations)),),
            )
            if version == 0:
                conn.execute(
                    "INSERT OR REPLACE INTO meta(key, value) VALUES ('created_at', ?)",
                    (str(time.time()),),
                )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            conn.close()
            raise

    @contextmanager
    def _write(self, *, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """Run a write transaction.

        ``durable=False`` commits without waiting for the disk (``synchronous=NORMAL`` in WAL
        mode): the data survives the process being killed, not the machine losing power. Used for
        the frequent checkpoints of a streaming trajectory; the final save is durable.
        """
        if self.readonly:
            raise StoreError(f"{self.path} is open read-only")
        with self._lock:
            if not durable:
                self._conn.execute("PRAGMA synchronous = NORMAL")
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self._conn
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
                self._conn.execute("COMMIT")
            finally:
                if not durable:
                    self._conn.execute("PRAGMA synchronous = FULL")

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def close(self) -> None:
        """Close the connection (the file stays)."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    @property
    def schema_version(self) -> int:
        """The schema version of the open file."""
        return int(self._read("PRAGMA user_version")[0][0])
