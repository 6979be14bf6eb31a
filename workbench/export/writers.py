"""Write training rows as JSONL or Parquet, build a ``datasets.Dataset``, and read exports back."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from workbench._install import install_hint
from workbench.errors import ValidationError

__all__ = ["FILE_FORMATS", "file_format", "load_rows", "normalize_row", "to_dataset", "write_rows"]

FILE_FORMATS: tuple[str, ...] = ("jsonl", "parquet")


def file_format(path: str | os.PathLike[str], format: str | None = None) -> str:
    """Return the file format: ``format``, else guessed from the suffix (``.jsonl``, ``.parquet``)."""
    if format is not None:
        if format not in FILE_FORMATS:
            raise ValidationError("export.format", f"{format!r} is not one of {list(FILE_FORMATS)}")
        return format
    suffix = Path(path).suffix.lower()
    if suffix in (".jsonl", ".json", ".ndjson"):
        return "jsonl"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    raise ValidationError(
        "export.out",
        f"cannot tell the format of {Path(path).name!r}: name it .jsonl or .parquet, or pass "
        "--format jsonl|parquet",
    )


def write_rows(
    rows: Sequence[dict[str, Any]], path: str | os.PathLike[str], *, format: str | None = None
) -> Path:
    """Write rows to ``path`` atomically (a temporary file renamed into place).

    Parameters
    ----------
    rows
        JSON-compatible rows (all with the same keys).
    path
        The file; its folder must exist.
    format
        ``"jsonl"`` or ``"parquet"`` (default: from the suffix).

    Returns
    -------
    Path
        The path written.
    """
    out = Path(path)
    fmt = file_format(out, format)
    if not out.parent.exists():
        raise ValidationError("export.out", f"folder {out.parent} does not exist")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    tmp = Path(tmp_name)
    try:
        if fmt == "jsonl":
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                for row in rows:
                    fh.write(json.dumps(row, ensure_ascii=False))
                    fh.write("\n")
        else:
            os.close(fd)
            import pyarrow as pa
            import pyarrow.parquet as pq

            pq.write_table(pa.Table.from_pylist(list(rows)), tmp)
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o666 & ~umask)  # mkstemp makes it private; give it an ordinary file's mode
        tmp.replace(out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return out


def to_dataset(rows: Sequence[dict[str, Any]]) -> Any:
    """Return the rows as an in-memory ``datasets.Dataset`` (needs the ``datasets`` package)."""
    try:
        import datasets
    except ImportError as exc:  # pragma: no cover - datasets is an optional extra
        raise ValidationError(
            "export.dataset",
            f"the datasets package is not installed: {install_hint('datasets')}",
        ) from exc
    return datasets.Dataset.from_list(list(rows))


def normalize_row(row: dict[str, Any]) -> dict[str, Any]:
    """Drop the ``None`` fields ``datasets`` adds to messages that lacked them.

    Arrow gives every message in a column the union of the fields of all messages, so a prompt
    message read back has ``reasoning_content: None``. Top-level keys are kept.
    """

    def clean(value: Any) -> Any:
        if isinstance(value, list):
            return [clean(v) for v in value]
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items() if v is not None}
        return value

    return {k: clean(v) if isinstance(v, list) else v for k, v in row.items()}


def load_rows(
    path: str | os.PathLike[str],
    *,
    format: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> list[dict[str, Any]]:
    """Load an export with ``datasets.load_dataset`` and return its rows, normalised.

    Parameters
    ----------
    path
        A JSONL or Parquet file written by :func:`write_rows`.
    format
        Default: from the suffix.
    cache_dir
        Where ``datasets`` keeps its cache (default: its own).
    """
    import datasets

    fmt = file_format(path, format)
    builder = "json" if fmt == "jsonl" else "parquet"
    kwargs: dict[str, Any] = {}
    if cache_dir is not None:
        kwargs["cache_dir"] = str(cache_dir)
    ds = datasets.load_dataset(builder, data_files=str(path), split="train", **kwargs)
    return [normalize_row(dict(r)) for r in ds]
