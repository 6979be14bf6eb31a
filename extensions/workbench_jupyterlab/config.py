"""Server-side configuration of the extension and the store it serves.

One store per server, named by the user's configuration only::

    # jupyter_server_config.py (or --WorkbenchExtension.store_path=... on the command line)
    c.WorkbenchExtension.store_path = "data/traces.db"

Otherwise ``$WORKBENCH_STORE``, otherwise ``workbench.db``; a relative path is taken from the
server's root directory (``ServerApp.root_dir``). No request can name another file: the endpoints
take no path at all.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from traitlets import Int, Unicode
from traitlets.config import LoggingConfigurable

from workbench.annotation import default_author
from workbench.errors import StoreError
from workbench.store.store import Store, resolve_store_path

__all__ = ["StoreAccess", "StoreMissingError", "WorkbenchExtension"]


class WorkbenchExtension(LoggingConfigurable):
    """Settings of the workbench server extension (``c.WorkbenchExtension.*``)."""

    store_path = Unicode(
        "",
        config=True,
        help="The store the trajectory browser serves. Empty: $WORKBENCH_STORE, else "
        "workbench.db. Relative paths are taken from the server's root directory.",
    )
    author = Unicode(
        "",
        config=True,
        help="Author recorded on annotations made in the browser. Empty: $JUPYTERHUB_USER, else "
        "the login name (as the Annotator widget records).",
    )
    taxonomy = Unicode(
        "dto",
        config=True,
        help="Pattern taxonomy of segments computed for unanalysed trajectories, and of the "
        "labels on the number keys.",
    )
    workers = Int(
        2,
        config=True,
        help="Threads that run store queries (off the server's event loop).",
    )

    def resolved_store_path(self, root_dir: str | os.PathLike[str]) -> Path:
        """Return the absolute store path (relative settings are taken from ``root_dir``)."""
        path = resolve_store_path(self.store_path or None)
        if not path.is_absolute():
            path = Path(root_dir).expanduser() / path
        return path.resolve()

    def resolved_author(self) -> str:
        """Return the author recorded on annotations."""
        return self.author or os.environ.get("JUPYTERHUB_USER") or default_author()


class StoreMissingError(StoreError):
    """The configured store file does not exist (yet)."""


class StoreAccess:
    """The configured store, opened lazily: read-only for reads, read-write for annotations.

    Each worker thread keeps its own read-only connection (so a long text search does not hold
    up the pages asked for meanwhile), reopened when the file is replaced; the one read-write
    connection is shared (the store serialises its own writes).

    Parameters
    ----------
    path
        The absolute store path.
    shown
        The path as the panel shows it (relative to the server root where it lies inside).
    workers
        Threads for store calls.
    """

    def __init__(self, path: Path, *, shown: str, workers: int = 2) -> None:
        self.path = path
        self.shown = shown
        self.executor = ThreadPoolExecutor(
            max_workers=max(1, workers), thread_name_prefix="workbench-store"
        )
        self._lock = threading.Lock()
        self._local = threading.local()
        self._opened: list[Store] = []
        self._writer: Store | None = None
        self._seen: tuple[int, int] | None = None

    def _identity(self) -> tuple[int, int]:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            raise StoreMissingError(
                f"no store at {self.shown}: import traces into it (workbench import FILE --store "
                f"{self.shown}) or point the server at one (c.WorkbenchExtension.store_path, or "
                "$WORKBENCH_STORE before starting JupyterLab)"
            ) from None
        return (st.st_dev, st.st_ino)

    def _follow(self, identity: tuple[int, int]) -> None:
        """Close every connection to a file that was replaced (call with the lock held).

        All of them, readers and writer, before any opens the new file: the last connection to
        the old file folds its write-ahead log back into it, so the new file never sees it.
        """
        if self._seen is not None and self._seen != identity:
            for store in [*self._opened, self._writer]:
                if store is not None:
                    store.close()
            self._opened = []
            self._writer = None
        self._seen = identity

    def reader(self) -> Store:
        """Return this thread's read-only store (opened, or reopened after the file changed)."""
        with self._lock:
            identity = self._identity()
            self._follow(identity)
            held: Store | None = getattr(self._local, "reader", None)
            if held is not None and held in self._opened:
                return held
            store = Store(self.path, readonly=True, create=False)
            self._opened.append(store)
        self._local.reader = store
        return store

    def writer(self) -> Store:
        """Return the read-write store (never creates the file).

        The store itself re-checks the file on every write: a write that a replacement
        overtakes raises :class:`~workbench.store.StoreReplacedError` (answered 409), never 201.
        """
        with self._lock:
            self._follow(self._identity())
            if self._writer is None:
                self._writer = Store(self.path, create=False)
            return self._writer

    def close(self) -> None:
        """Stop the worker threads and close the connections."""
        self.executor.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            for store in [*self._opened, self._writer]:
                if store is not None:
                    store.close()
            self._opened = []
            self._writer = None


def shown_path(path: Path, root_dir: str | os.PathLike[str]) -> str:
    """Return ``path`` relative to ``root_dir`` when it lies inside, else as it is."""
    try:
        return str(path.relative_to(Path(root_dir).expanduser().resolve()))
    except ValueError:
        return str(path)
