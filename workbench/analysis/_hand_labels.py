"""Hand labels of a store as training data, and the labeller's cross-validated agreement with them.

``store_traces`` turns every trajectory with at least one hand-labelled segment into a training
trace: all its stored segments in order (unlabelled ones give context), the latest ``label``
annotation of each segment, and a group (the question) so that cross-validation and the held-out
split keep a question's traces together. ``hand_label_agreement`` fine-tunes one labeller per
fold and scores the pooled out-of-fold predictions, which is how far the labels can be trusted
on traces the labeller has not seen; run it again as the hand labels grow.
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Sequence
from pathlib import Path
from typing import Any

from workbench.analysis.agreement import agreement_report

__all__ = ["GROUP_KEYS", "hand_label_agreement", "hand_labels", "store_traces"]

GROUP_KEYS: tuple[str, ...] = ("question_id", "prompt_index", "prompt_id", "task_id")
"""Metadata keys that name a trajectory's question (the first present is its group); without
one, the group is the prompt's :func:`~workbench.trajectory.prompt_key`."""


def hand_labels(store: Any) -> dict[str, str]:
    """Segment id → its latest hand label (the first of a list); cleared labels are left out."""
    current = store.list_annotations(kind="label", history=False)
    out: dict[str, str] = {}
    for row in current.iter_rows(named=True):
        if row["segment_id"] is None or row["value"] is None:
            continue
        value = json.loads(row["value"])
        label = value[0] if isinstance(value, list) and value else value
        if isinstance(label, str) and label:
            out[row["segment_id"]] = label
    return out


def _group(trajectory: Any) -> Hashable:
    from workbench.trajectory import prompt_key

    for key in GROUP_KEYS:
        value = trajectory.metadata.get(key)
        if isinstance(value, (str, int)):
            return f"{key}={value}"
    return prompt_key(trajectory.prompt)


def store_traces(store: Any) -> list[tuple[list[str], list[str | None], Hashable]]:
    """``(segment texts, hand labels or None, group)`` per hand-labelled trajectory."""
    labels = hand_labels(store)
    out = []
    for tid in sorted({sid.rsplit(":", 1)[0] for sid in labels}):
        if tid not in store:
            continue
        segments = store.get_segments(tid)
        row_labels = [labels.get(s.id) for s in segments]
        if any(c is not None for c in row_labels):
            out.append(([s.text for s in segments], row_labels, _group(store.get(tid))))
    return out


def _folds(groups: Sequence[Hashable], k: int) -> list[int]:
    order = sorted(set(groups), key=str)
    fold_of = {g: i % k for i, g in enumerate(order)}
    return [fold_of[g] for g in groups]


def hand_label_agreement(
    store: Any,
    *,
    folds: int = 5,
    preset: str = "quick",
    encoder: str | Path | None = None,
    progress: bool = False,
    **overrides: Any,
) -> dict[str, Any]:
    """Cross-validated agreement of the fine-tuned labeller with a store's hand labels.

    Parameters
    ----------
    store
        The store with hand-labelled segments.
    folds
        Folds, grouped by question (fewer when there are fewer groups; at least 2 groups are
        needed).
    preset, encoder, progress, **overrides
        Passed to :meth:`FineTunedLabeller.train` for each fold.

    Returns
    -------
    dict
        ``{"n", "accuracy", "macro_f1", "kappa", "folds", "trajectories", "groups",
        "labels"}``: the pooled out-of-fold predictions scored against the hand labels.
    """
    from collections import Counter

    from workbench.analysis._finetuned import FineTunedLabeller
    from workbench.errors import WorkbenchError

    traces = store_traces(store)
    groups = [g for _, _, g in traces]
    k = min(folds, len(set(groups)))
    if k < 2:
        raise WorkbenchError(
            f"cross-validation needs hand labels on traces of at least 2 questions; the store "
            f"has {len(set(groups))}: label segments of more traces first"
        )
    fold = _folds(groups, k)
    y: list[str] = []
    pred: list[str] = []
    for f in range(k):
        train = [traces[i] for i in range(len(traces)) if fold[i] != f]
        test = [traces[i] for i in range(len(traces)) if fold[i] == f]
        if len({c for _, ls, _ in train for c in ls if c is not None}) < 2:
            continue
        labeller = FineTunedLabeller.train(
            train,
            preset=preset,
            encoder=encoder,
            progress=progress,
            log=lambda m: None,
            **overrides,
        )
        for texts, labels, _ in test:
            proba = labeller.trace_proba(texts)
            for i, label in enumerate(labels):
                if label is not None:
                    y.append(label)
                    pred.append(labeller.labels[int(proba[i].argmax())])
    report: dict[str, Any] = agreement_report(y, pred)
    report = {k2: (round(v, 4) if isinstance(v, float) else v) for k2, v in report.items()}
    report.update(
        folds=k,
        trajectories=len(traces),
        groups=len(set(groups)),
        labels=dict(Counter(c for _, ls, _ in traces for c in ls if c is not None)),
    )
    return report
