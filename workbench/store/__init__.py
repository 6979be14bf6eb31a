"""The store: one SQLite file of trajectories, segments, annotations and pairs, and importers."""

from workbench.store._connection import StoreReplacedError
from workbench.store.frames import unnest_metadata
from workbench.store.importers import ImportReport, import_file
from workbench.store.store import (
    DEFAULT_STORE,
    STORE_ENV,
    AddResult,
    Store,
    open_store,
    resolve_store_path,
)

__all__ = [
    "DEFAULT_STORE",
    "STORE_ENV",
    "AddResult",
    "ImportReport",
    "Store",
    "StoreReplacedError",
    "import_file",
    "open_store",
    "resolve_store_path",
    "unnest_metadata",
]
