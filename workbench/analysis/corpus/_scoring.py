"""Rule scoring of segments for the corpus engine: the kernel's tables and the rounded confidences.

The same rule order, opening weight, cap and confidence rounding as
:func:`workbench.analysis.patterns.label_segments`, as arrays the kernel reads.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from workbench.analysis import patterns
from workbench.analysis.corpus import kernels
from workbench.analysis.corpus.compile import RuleTables

__all__ = ["MAX_CONF_TABLE_WIDTH"]


@dataclass(frozen=True)
class _Scoring:
    """What the kernel needs to label segments itself (taxonomies without fallback rules)."""

    order_ptr: np.ndarray
    order_cols: np.ndarray
    weight: float
    cap: int
    n_labels: int
    conf_table: np.ndarray
    conf_width: int

    @classmethod
    def of(cls, rules: RuleTables) -> _Scoring:
        n_labels = len(rules.names)
        ptr = np.zeros(n_labels + 1, dtype=np.int64)
        np.cumsum([len(o) for o in rules.rule_order], out=ptr[1:])
        cols = np.array([c for o in rules.rule_order for c in o] or [0], dtype=np.int64)
        weight = float(patterns.OPENING_WEIGHT)
        cap = int(patterns.MAX_ANYWHERE)
        table, width = _conf_table(weight, cap, rules.rule_order)
        return cls(ptr, cols, weight, cap, n_labels, table, width)


_NO_SCORING = _Scoring(np.zeros(1, np.int64), np.zeros(1, np.int64), 0.0, 0, 0, np.zeros(1), 0)

MAX_CONF_TABLE_WIDTH = 2048
"""Largest possible total score for which the rounded confidences are tabulated."""


def _conf_table(
    weight: float, cap: int, rule_order: tuple[tuple[int, ...], ...]
) -> tuple[np.ndarray, int]:
    """``round(best / total, 4)`` for every integral pair of scores, flat, and the row width.

    Scores are sums of the opening weight and capped counts, so with an integral weight every
    ``best <= total <= bound`` is an integer; ``(zeros, 0)`` when the weight is not integral or
    the bound is too large (the confidences are then rounded after the kernel).
    """
    bound = sum(weight + cap * len(order) for order in rule_order)
    if not float(weight).is_integer() or bound >= MAX_CONF_TABLE_WIDTH:
        return np.zeros(1, dtype=np.float64), 0
    width = int(bound) + 1
    table = np.zeros(width * width, dtype=np.float64)
    for t in range(1, width):
        for b in range(t + 1):
            table[b * width + t] = round(b / t, 4)
    return table, width


def _labels(
    scoring: _Scoring, opened: np.ndarray, counts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Label index (``n_labels``: the default) and rounded confidence per segment."""
    n = opened.shape[0]
    label = np.empty(n, dtype=np.int64)
    best = np.empty(n, dtype=np.float64)
    total = np.empty(n, dtype=np.float64)
    if counts.shape[1] == 0:
        counts = np.zeros((n, 1), dtype=np.uint16)
    kernels.score_segments(
        opened, counts, scoring.order_ptr, scoring.order_cols, scoring.weight, scoring.cap,
        scoring.n_labels, label, best, total,
    )  # fmt: skip
    return label, _rounded_share(best, total, scoring)


def _rounded_share(best: np.ndarray, total: np.ndarray, scoring: _Scoring) -> np.ndarray:
    """``round(best / total, 4)`` as Python rounds it (0 where the total is 0).

    From ``scoring``'s table when it has one (integral scores), else by rounding each distinct
    share.
    """
    conf = np.zeros(len(best), dtype=np.float64)
    nz = total != 0
    if not nz.any():
        return conf
    if scoring.conf_width:
        key = best[nz].astype(np.int64) * scoring.conf_width + total[nz].astype(np.int64)
        conf[nz] = scoring.conf_table[key]
    else:
        uniq, inverse = np.unique(best[nz] / total[nz], return_inverse=True)
        conf[nz] = np.array([round(float(x), 4) for x in uniq])[inverse.reshape(-1)]
    return conf


def _fallback_rules(
    rules: RuleTables,
    texts: pl.Series,
    seg_trace: np.ndarray,
    seg_start: np.ndarray,
    seg_end: np.ndarray,
    opened: np.ndarray,
    counts: np.ndarray,
) -> None:
    """Apply the rules the DFA does not support with Python's ``re`` (slow; exact)."""
    if not rules.opening_fallback and not rules.anywhere_fallback:
        return
    values = texts.to_list()
    for k in range(len(seg_trace)):
        seg = values[int(seg_trace[k])][int(seg_start[k]) : int(seg_end[k])]
        for li, pat in rules.opening_fallback:
            bit = np.uint64(1) << np.uint64(li)
            if not opened[k] & bit and pat.match(seg):
                opened[k] |= bit
        for j, pat in enumerate(rules.anywhere_fallback):
            counts[k, rules.n_fast + j] = sum(1 for _ in pat.finditer(seg))
