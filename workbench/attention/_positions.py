"""Constraint positions: normalising the many ways to name them, and grouping them per constraint."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

__all__ = ["PositionsLike", "group_matrix", "normalize_positions"]

PositionsLike = Sequence[int] | Sequence[Sequence[int]] | np.ndarray | torch.Tensor
"""Constraint positions: a 1-D set of token indices (or a boolean mask over the tokens), shared by
all rows of a batch, or one set per batch row (a sequence of sequences, or a 2-D array)."""


def _as_index_array(values: Any, what: str) -> np.ndarray:
    arr = np.asarray(values.cpu() if isinstance(values, torch.Tensor) else values)
    if arr.dtype == np.bool_:
        arr = np.flatnonzero(arr)
    if arr.ndim != 1:
        raise ValueError(f"{what} must be one-dimensional, got shape {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        if not np.all(np.equal(np.mod(arr, 1), 0)):
            raise ValueError(f"{what} must be integer token indices, got {arr.dtype}")
        arr = arr.astype(np.int64)
    arr = np.unique(arr.astype(np.int64))
    if arr.size == 0:
        raise ValueError(f"{what} is empty: give at least one constraint token position")
    if arr[0] < 0:
        raise ValueError(f"{what} has a negative position ({int(arr[0])})")
    return arr


def normalize_positions(constraint_positions: PositionsLike) -> list[np.ndarray]:
    """Validate constraint positions and return them as sorted unique int64 arrays.

    Parameters
    ----------
    constraint_positions
        A 1-D sequence, array or tensor of token indices (or a 1-D boolean mask, whose ``True``
        entries are the positions), shared by all batch rows; or one such set per batch row (a
        sequence of sequences or a 2-D array). Duplicates count once.

    Returns
    -------
    list of numpy.ndarray
        One array (shared) or one per row.

    Raises
    ------
    ValueError
        For an empty set, a negative or non-integer position, or a bad shape.

    Examples
    --------
    >>> normalize_positions([5, 3, 3])
    [array([3, 5])]
    >>> normalize_positions([[0, 1], [4]])
    [array([0, 1]), array([4])]
    """
    if isinstance(constraint_positions, torch.Tensor | np.ndarray):
        arr = np.asarray(
            constraint_positions.cpu()
            if isinstance(constraint_positions, torch.Tensor)
            else constraint_positions
        )
        if arr.ndim == 2:
            return [_as_index_array(row, f"constraint_positions[{i}]") for i, row in enumerate(arr)]
        return [_as_index_array(arr, "constraint_positions")]
    items = list(constraint_positions)
    if items and all(isinstance(x, Sequence | np.ndarray | torch.Tensor) for x in items):
        return [_as_index_array(row, f"constraint_positions[{i}]") for i, row in enumerate(items)]
    return [_as_index_array(items, "constraint_positions")]


def group_matrix(positions: np.ndarray, groups: Sequence[Sequence[int] | np.ndarray]) -> np.ndarray:
    """Return the ``[C, G]`` membership matrix of ``groups`` over the sorted ``positions``.

    Parameters
    ----------
    positions
        The union of all groups' positions, sorted and unique (see :func:`normalize_positions`).
    groups
        One set of token positions per constraint; sets may overlap.

    Raises
    ------
    ValueError
        For an empty group or a position missing from ``positions``.

    Examples
    --------
    >>> group_matrix(np.array([2, 3, 7]), [[2, 3], [3, 7]]).tolist()
    [[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]
    """
    out = np.zeros((len(positions), len(groups)), dtype=np.float32)
    for g, members in enumerate(groups):
        idx = np.unique(np.asarray(members, dtype=np.int64))
        if idx.size == 0:
            raise ValueError(f"constraint group {g} has no positions")
        where = np.searchsorted(positions, idx)
        if np.any(where >= len(positions)) or np.any(
            positions[np.minimum(where, len(positions) - 1)] != idx
        ):
            raise ValueError(f"constraint group {g} has positions outside constraint_positions")
        out[where, g] = 1.0
    return out
