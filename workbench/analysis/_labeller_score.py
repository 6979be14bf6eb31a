"""Scoring labellers against peer labels, per segment and per peer step.

Used by ``workbench labeller score`` and the agreement benchmark. A *step* is one peer section
(a pm-llm reasoning step, a Venhoff annotated span); its predicted label is the vote of the
segments that overlap it most: the sum of their probabilities for a labeller that gives them
(the fine-tuned labeller), else the most frequent segment label (ties: the earliest).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from workbench.analysis._peer_data import PeerTrace
from workbench.analysis.agreement import agreement_report, cohen_kappa

__all__ = ["RuleScorer", "SegmentScorer", "load_scorer", "score_traces", "step_votes"]


class SegmentScorer(Protocol):
    """What scoring needs of a labeller: class names and per-trace probabilities."""

    labels: list[str]

    def trace_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Probabilities ``[segments, labels]`` of one trace's segments, in order."""
        ...


class RuleScorer:
    """The rule labeller of a taxonomy preset as a :class:`SegmentScorer` (one-hot votes).

    Parameters
    ----------
    taxonomy
        The preset's name (``venhoff``, ``pmllm``, …).
    """

    def __init__(self, taxonomy: str) -> None:
        from workbench.analysis.patterns import get_taxonomy

        self.taxonomy = get_taxonomy(taxonomy)
        self.labels = list(self.taxonomy.names)
        self._index = {c: i for i, c in enumerate(self.labels)}

    def trace_proba(self, texts: Sequence[str]) -> np.ndarray:
        """One-hot rows of the rule labels."""
        from workbench.analysis.patterns import rule_label

        out = np.zeros((len(texts), len(self.labels)), dtype=np.float32)
        for r, text in enumerate(texts):
            label = rule_label(text, taxonomy=self.taxonomy).label
            if label in self._index:
                out[r, self._index[label]] = 1.0
        return out


def step_votes(trace: PeerTrace, proba: np.ndarray, labels: Sequence[str]) -> dict[int, str]:
    """Predicted label of each aligned step of ``trace`` that has segments (sum of rows)."""
    members: dict[int, list[int]] = {}
    for i, step in enumerate(trace.steps):
        if step is not None:
            members.setdefault(step, []).append(i)
    return {s: labels[int(proba[rows].sum(axis=0).argmax())] for s, rows in members.items()}


def score_traces(
    scorer: SegmentScorer,
    traces: Sequence[PeerTrace],
    *,
    majority_label: str | None = None,
    steps: bool = True,
) -> dict[str, Any]:
    """Agreement of ``scorer`` with the peer labels of ``traces``.

    Parameters
    ----------
    scorer
        A fine-tuned labeller, a :class:`RuleScorer`, or anything with ``labels`` and
        ``trace_proba``.
    traces
        Peer traces (:func:`workbench.analysis._peer_data.load_peer`).
    majority_label
        The majority-class baseline's label (default: the most frequent peer label of
        ``traces``). A constant prediction has kappa 0; ``majority_kappa`` reports it so the
        labeller's kappa reads against it, and ``majority_accuracy`` what it would score.
    steps
        Also score per step (``step_kappa``, ``step_n``, ``step_accuracy``).

    Returns
    -------
    dict
        ``{"n", "accuracy", "macro_f1", "kappa", "majority_kappa", "majority_accuracy"}`` plus,
        with ``steps``, ``"step_n", "step_accuracy", "step_macro_f1", "step_kappa"``.
    """
    y: list[str] = []
    pred: list[str] = []
    step_y: list[str] = []
    step_pred: list[str] = []
    for trace in traces:
        if not trace.n_aligned:
            continue
        proba = scorer.trace_proba([s.text for s in trace.segments])
        for i, label in enumerate(trace.labels):
            if label is not None:
                y.append(label)
                pred.append(scorer.labels[int(proba[i].argmax())])
        if steps:
            for s, label in step_votes(trace, proba, scorer.labels).items():
                step_y.append(trace.step_labels[s])
                step_pred.append(label)
    report: dict[str, Any] = agreement_report(y, pred)
    baseline = majority_label or (Counter(y).most_common(1)[0][0] if y else "")
    constant = [baseline] * len(y)
    report["majority_kappa"] = cohen_kappa(y, constant)
    report["majority_accuracy"] = sum(a == b for a, b in zip(y, constant, strict=True)) / max(
        1, len(y)
    )
    if steps:
        step = agreement_report(step_y, step_pred)
        report.update(
            step_n=step["n"],
            step_accuracy=step["accuracy"],
            step_macro_f1=step["macro_f1"],
            step_kappa=step["kappa"],
        )
    return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in report.items()}


def load_scorer(spec: str, *, taxonomy: str) -> Any:
    """``"rule"`` → the rule labeller of ``taxonomy``; else a fine-tuned labeller directory."""
    if spec == "rule":
        return RuleScorer(taxonomy)
    from workbench.analysis._finetuned import FineTunedLabeller

    return FineTunedLabeller.load(spec)
