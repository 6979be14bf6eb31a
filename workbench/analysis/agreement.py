"""Agreement between two labellings: macro-F1, Cohen's kappa, and a majority-class baseline."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

__all__ = ["agreement_report", "cohen_kappa", "macro_f1", "majority_baseline"]


def macro_f1(
    y_true: Sequence[str], y_pred: Sequence[str], *, labels: Sequence[str] | None = None
) -> float:
    """Unweighted mean of the per-label F1 scores (labels: those in ``y_true``, unless given)."""
    if len(y_true) != len(y_pred):
        raise ValueError("y_true and y_pred differ in length")
    classes = list(labels) if labels is not None else sorted(set(y_true))
    if not classes:
        return 0.0
    scores = []
    for c in classes:
        tp = sum(1 for t, p in zip(y_true, y_pred, strict=True) if t == c and p == c)
        fp = sum(1 for t, p in zip(y_true, y_pred, strict=True) if t != c and p == c)
        fn = sum(1 for t, p in zip(y_true, y_pred, strict=True) if t == c and p != c)
        denom = 2 * tp + fp + fn
        scores.append(2 * tp / denom if denom else 0.0)
    return sum(scores) / len(scores)


def cohen_kappa(y_true: Sequence[str], y_pred: Sequence[str]) -> float:
    """Cohen's kappa: agreement corrected for the agreement expected by chance."""
    n = len(y_true)
    if n != len(y_pred):
        raise ValueError("y_true and y_pred differ in length")
    if n == 0:
        return 0.0
    observed = sum(1 for t, p in zip(y_true, y_pred, strict=True) if t == p) / n
    a, b = Counter(y_true), Counter(y_pred)
    expected = sum(a[c] * b[c] for c in set(a) | set(b)) / (n * n)
    return 1.0 if expected == 1.0 else (observed - expected) / (1.0 - expected)


def majority_baseline(train_labels: Sequence[str], n: int) -> list[str]:
    """Predict the most frequent training label ``n`` times."""
    if not train_labels:
        raise ValueError("no training labels")
    label = Counter(train_labels).most_common(1)[0][0]
    return [label] * n


def agreement_report(y_true: Sequence[str], y_pred: Sequence[str]) -> dict[str, float]:
    """Return ``{"n", "accuracy", "macro_f1", "kappa"}``."""
    n = len(y_true)
    accuracy = sum(1 for t, p in zip(y_true, y_pred, strict=True) if t == p) / n if n else 0.0
    return {
        "n": n,
        "accuracy": accuracy,
        "macro_f1": macro_f1(y_true, y_pred),
        "kappa": cohen_kappa(y_true, y_pred),
    }
