"""Statistics of importance: intervals of a difference of proportions, and answer-distribution KL."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from statistics import NormalDist

__all__ = ["answer_kl", "newcombe_interval", "wilson_interval"]


def wilson_interval(successes: int, n: int, *, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion.

    Examples
    --------
    >>> lo, hi = wilson_interval(5, 10)
    >>> round(lo, 3), round(hi, 3)
    (0.237, 0.763)
    >>> wilson_interval(0, 0)
    (0.0, 1.0)
    """
    if n <= 0:
        return 0.0, 1.0
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe_interval(
    x1: int, n1: int, x2: int, n2: int, *, confidence: float = 0.95
) -> tuple[float, float]:
    """Newcombe's hybrid score interval of ``p1 - p2`` (method 10 of Newcombe, 1998).

    Better behaved than the normal (Wald) interval at small ``n`` and at proportions near 0 or 1,
    which is where importance sampling lives (8–100 samples per boundary).

    Examples
    --------
    >>> lo, hi = newcombe_interval(9, 10, 1, 10)
    >>> lo > 0
    True
    >>> lo, hi = newcombe_interval(5, 10, 5, 10)
    >>> lo < 0 < hi
    True
    """
    if n1 <= 0 or n2 <= 0:
        return -1.0, 1.0
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson_interval(x1, n1, confidence=confidence)
    l2, u2 = wilson_interval(x2, n2, confidence=confidence)
    d = p1 - p2
    lower = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    upper = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return max(-1.0, lower), min(1.0, upper)


def answer_kl(
    first: Sequence[str | None], second: Sequence[str | None], *, alpha: float = 0.5
) -> float | None:
    """``KL(P_first ‖ P_second)`` of two samples of answers, additively smoothed.

    Follows Thought Anchors' code: ``Σ_a p̂(a) · log(p̃(a) / q̃(a))`` over the answers seen in
    either sample, with ``p̂`` unsmoothed and ``p̃, q̃`` smoothed by ``alpha`` over that
    vocabulary. Missing answers (``None``) count as one answer of their own. ``None`` when a
    sample is empty.

    Examples
    --------
    >>> answer_kl(["42"] * 4, ["42"] * 4)
    0.0
    >>> answer_kl(["42"] * 4, ["7"] * 4) > 1
    True
    """
    if not first or not second:
        return None
    a = Counter("\0none" if x is None else x for x in first)
    b = Counter("\0none" if x is None else x for x in second)
    vocab = set(a) | set(b)
    ta, tb = sum(a.values()), sum(b.values())
    sa, sb = ta + alpha * len(vocab), tb + alpha * len(vocab)
    kl = 0.0
    for answer in vocab:
        if not a[answer]:
            continue
        p = (a[answer] + alpha) / sa
        q = (b[answer] + alpha) / sb
        kl += a[answer] / ta * math.log(p / q)
    return max(0.0, kl)
