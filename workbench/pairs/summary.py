"""Summaries of stored pairs: counts per strategy and token lengths against ``max_length``."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from workbench.export.lengths import DEFAULT_MAX_LENGTH
from workbench.store.store import Store
from workbench.trajectory import Trajectory

__all__ = ["pair_summary"]


def pair_summary(
    store: Store,
    *,
    strategies: Sequence[str] | None = None,
    pair_ids: Sequence[str] | None = None,
    tokenizer: Any = None,
    max_length: int = DEFAULT_MAX_LENGTH,
    think: str = "tags",
) -> dict[str, Any]:
    """Summarise stored pairs: how many per strategy, and how long their rows would be.

    Parameters
    ----------
    store
        The store.
    strategies, pair_ids
        Which pairs (default: all).
    tokenizer
        Counts tokens (rendering the rows with its chat template, as TRL would); ``None``
        estimates from characters.
    max_length
        The trainer's ``max_length``: rows longer than it are counted and warned about
        (TRL's default 1024 keeps the start and silently cuts the answer off).
    think
        Where the thinking goes in the rows measured (see
        :data:`~workbench.export.text.THINK_STYLES`).

    Returns
    -------
    dict
        ``pairs``, ``strategies`` (counts), ``prompts`` (distinct prompt keys), ``lengths`` (per
        part: ``prompt``, ``chosen``, ``rejected``, ``total``; count, min, median, mean, p90,
        max, over_max_length), ``exact``, ``max_length`` and ``warnings``.
    """
    # imported here: workbench.export builds on workbench.pairs
    from workbench.export.formats import preference_row, select_pairs
    from workbench.export.lengths import TokenCounter, length_stats, long_rows_warning, row_lengths

    pairs = select_pairs(store, strategies=strategies, pair_ids=pair_ids)
    counter = TokenCounter(tokenizer)
    cache: dict[str, Trajectory] = {}

    def get(tid: str) -> Trajectory:
        if tid not in cache:
            cache[tid] = store.get(tid)
        return cache[tid]

    lengths = [
        row_lengths(
            "dpo",
            preference_row(p, get(p.chosen_id), get(p.rejected_id), think=think, ids=False),
            counter,
        )
        for p in pairs
    ]
    warning = long_rows_warning([x["total"] for x in lengths], max_length, exact=counter.exact)
    return {
        "pairs": len(pairs),
        "strategies": dict(Counter(p.strategy for p in pairs).most_common()),
        "prompts": len({p.prompt_key for p in pairs}),
        "lengths": {
            part: length_stats([x[part] for x in lengths], max_length=max_length)
            for part in ("prompt", "chosen", "rejected", "total")
        },
        "exact": counter.exact,
        "max_length": max_length,
        "warnings": [] if warning is None else [warning],
    }
