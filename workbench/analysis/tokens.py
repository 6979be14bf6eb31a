"""Token counts of a trajectory's thinking, from its recorded per-token offsets."""

from __future__ import annotations

import numpy as np

from workbench.trajectory import Trajectory

__all__ = ["thinking_token_ends"]


def thinking_token_ends(trajectory: Trajectory) -> np.ndarray | None:
    """Return the end offsets, relative to the thinking's start, of the thinking's tokens.

    A token belongs to the thinking when its non-empty character span lies inside the thinking
    span. ``None`` when the trajectory has no per-token offsets (imported text, remote servers).
    """
    tokens = trajectory.tokens
    if tokens is None or tokens.offsets is None:
        return None
    start, end = trajectory.thinking_span
    offsets = tokens.offsets
    inside = (offsets[:, 0] >= start) & (offsets[:, 1] <= end) & (offsets[:, 1] > offsets[:, 0])
    return np.asarray(offsets[inside, 1] - start)
