"""``export_traces``: the store's trajectories as a corpus file that ``import`` reads back.

The layout (``workbench.traces/1``, columns in
:data:`~workbench.store.importers.layouts_traces.TRACE_COLUMNS`) is flat for analytics — e.g.
``polars.scan_parquet(path).group_by("model").agg(pl.col("thinking_chars").mean())`` — and holds
every field of a trajectory but its per-token arrays, so that ``workbench import`` rebuilds the
same trajectories (same ids) in another store.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.errors import ValidationError
from workbench.export.writers import file_format
from workbench.store.importers.layouts_traces import TRACE_COLUMNS, trace_row
from workbench.store.store import Store

__all__ = ["TracesWritten", "export_traces"]


@dataclass(frozen=True, slots=True)
class TracesWritten:
    """What :func:`export_traces` wrote: the file, its format and the number of rows."""

    path: Path
    format: str
    rows: int


def _arrow_schema() -> Any:
    import pyarrow as pa

    types = {
        "string": pa.string(),
        "json": pa.string(),
        "int64": pa.int64(),
        "float64": pa.float64(),
        "bool": pa.bool_(),
        "list<string>": pa.list_(pa.string()),
    }
    return pa.schema([(name, types[kind]) for name, kind in TRACE_COLUMNS.items()])


def export_traces(
    store: Store,
    path: str | os.PathLike[str],
    *,
    format: str | None = None,
    batch_size: int = 2000,
    **filters: Any,
) -> TracesWritten:
    """Write the store's trajectories (those matching ``filters``) as JSONL or Parquet.

    Parameters
    ----------
    store
        The store to read.
    path
        The file (``.jsonl`` or ``.parquet``); written atomically.
    format
        ``"jsonl"`` or ``"parquet"`` (default: from the suffix).
    batch_size
        Rows per Parquet row group.
    **filters
        The filters of :meth:`Store.list` (``model=``, ``source=``, ``tags=``, ...).

    Returns
    -------
    TracesWritten
        The path, the format and the number of rows.
    """
    out = Path(path)
    fmt = file_format(out, format)
    if not out.parent.exists():
        raise ValidationError("export.out", f"folder {out.parent} does not exist")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    tmp = Path(tmp_name)
    rows = 0
    try:
        if fmt == "jsonl":
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                for t in store.iter_trajectories(**filters):
                    fh.write(json.dumps(trace_row(t), ensure_ascii=False))
                    fh.write("\n")
                    rows += 1
        else:
            os.close(fd)
            rows = _write_parquet(store, tmp, batch_size, filters)
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o666 & ~umask)
        tmp.replace(out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return TracesWritten(out, fmt, rows)


def _write_parquet(store: Store, tmp: Path, batch_size: int, filters: dict[str, Any]) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = _arrow_schema()
    rows = 0
    batch: list[dict[str, Any]] = []
    with pq.ParquetWriter(tmp, schema) as writer:
        for t in store.iter_trajectories(**filters):
            batch.append(trace_row(t, json_text=True))
            if len(batch) >= batch_size:
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                rows += len(batch)
                batch.clear()
        if batch or rows == 0:
            writer.write_table(pa.Table.from_pylist(batch, schema=schema))
            rows += len(batch)
    return rows
