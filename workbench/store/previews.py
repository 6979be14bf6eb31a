"""Small read helpers for browsing a store page by page (the JupyterLab extension's trajectory list).

:meth:`Store.list_trajectories <workbench.store.store.Store.list_trajectories>` gives the rows of a page; these functions
add what a list row shows besides them: a one-line preview of each prompt, and the tags in use
(for a filter's suggestions). Both read only the rows asked for, so a page of a 100k store stays a
few milliseconds.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workbench.store.store import Store

__all__ = ["prompt_previews", "tag_counts"]

_CHUNK = 900  # below SQLite's default limit of bound parameters


def _last_user_text(prompt_json: str) -> str:
    try:
        messages: Any = json.loads(prompt_json)
    except ValueError:
        return ""
    if not isinstance(messages, list):
        return ""
    for msg in reversed(messages):
        if isinstance(msg, dict) and msg.get("role") == "user":
            return str(msg.get("content", ""))
    return ""


def prompt_previews(store: Store, ids: Sequence[str], *, chars: int = 160) -> dict[str, str]:
    """Return ``{id: preview}``: the last user message of each prompt on one line, clipped.

    Parameters
    ----------
    store
        The store read.
    ids
        Trajectory ids (unknown ids are left out of the result).
    chars
        Longest preview; longer texts end with ``…``.

    Returns
    -------
    dict of str to str
        Whitespace runs collapsed to one space; ``""`` for a prompt without a user message.

    Examples
    --------
    >>> import workbench as wb
    >>> store = wb.Store(":memory:")
    >>> t = wb.Trajectory(prompt="What is\\n 2 + 2?", raw="4")
    >>> prompt_previews(store, [store.add(t)])[t.id]
    'What is 2 + 2?'
    """
    if chars < 1:
        raise ValueError("chars must be positive")
    out: dict[str, str] = {}
    wanted = list(dict.fromkeys(ids))
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        rows = store._read(
            "SELECT t.id, b.prompt FROM trajectories t"
            " JOIN trajectory_bodies b ON b.traj_rowid = t.rowid"
            f" WHERE t.id IN ({','.join('?' * len(chunk))})",
            chunk,
        )
        for tid, prompt in rows:
            text = " ".join(_last_user_text(prompt).split())
            out[str(tid)] = text if len(text) <= chars else text[: chars - 1] + "…"
    return out


def tag_counts(store: Store) -> dict[str, int]:
    """Return ``{tag: number of trajectories carrying it}``, most used first.

    Examples
    --------
    >>> import workbench as wb
    >>> store = wb.Store(":memory:")
    >>> _ = store.add(wb.Trajectory(prompt="p", raw="a", tags=["x", "y"]))
    >>> _ = store.add(wb.Trajectory(prompt="p", raw="b", tags=["y"]))
    >>> tag_counts(store)
    {'y': 2, 'x': 1}
    """
    rows = store._read(
        "SELECT j.value, count(*) FROM trajectories t, json_each(t.tags) j"
        " GROUP BY j.value ORDER BY 2 DESC, 1"
    )
    return {str(tag): int(n) for tag, n in rows}
