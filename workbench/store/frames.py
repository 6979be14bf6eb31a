"""Helpers over the polars frames the store returns."""

from __future__ import annotations

import polars as pl

__all__ = ["unnest_metadata", "with_metadata_columns"]


def unnest_metadata(frame: pl.DataFrame, *, prefix: str = "") -> pl.DataFrame:
    """Expand the JSON ``metadata`` column of :meth:`Store.list_trajectories` into one column per key.

    Parameters
    ----------
    frame
        A frame with a ``metadata`` column of JSON object strings.
    prefix
        Prepended to the new column names (use ``"meta_"`` if a key clashes with a column).

    Returns
    -------
    polars.DataFrame
        The frame without ``metadata`` and with a column per metadata key (null where missing).
    """
    if frame.is_empty() or "metadata" not in frame.columns:
        return frame.drop("metadata", strict=False)
    decoded = frame["metadata"].str.json_decode(infer_schema_length=None)
    if not isinstance(decoded.dtype, pl.Struct) or not decoded.dtype.fields:
        return frame.drop("metadata")
    expanded = decoded.struct.unnest()
    if prefix:
        expanded = expanded.rename({c: f"{prefix}{c}" for c in expanded.columns})
    clashes = set(expanded.columns) & (set(frame.columns) - {"metadata"})
    if clashes:
        raise ValueError(f"metadata keys {sorted(clashes)} clash with columns: pass prefix='meta_'")
    return pl.concat([frame.drop("metadata"), expanded], how="horizontal")


def with_metadata_columns(frame: pl.DataFrame, fields: list[str]) -> pl.DataFrame:
    """Add a column for each of ``fields`` that the frame lacks, read from its JSON ``metadata``.

    Values come out as strings (``null`` where the key is missing), ready for ``group_by``.
    """
    for field in fields:
        if field not in frame.columns:
            path = "$['" + field.replace("'", "\\'") + "']"
            frame = frame.with_columns(pl.col("metadata").str.json_path_match(path).alias(field))
    return frame
