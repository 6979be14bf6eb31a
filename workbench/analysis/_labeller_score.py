"""Scoring labellers against peer labels: on the peer's own sections, on our segments, by vote.

Used by ``workbench labeller score`` and the agreement benchmark. A peer labels *sections* (a
Venhoff annotated span, a pm-llm reasoning step). Three scores are reported:

``kappa`` (with ``n``, ``accuracy``, ``macro_f1``)
    The labeller labels the peer's sections themselves, in order (each with its neighbours):
    the units the labels were published on, so this is the agreement of the labels alone.
``segment_kappa`` (``segment_n``, …)
    The labeller labels our own segmentation of the trace; each segment's reference is the
    label of the section it overlaps most. This adds the segmenter's disagreement with the
    peer's section boundaries (what the live view shows).
``step_kappa`` (``step_n``, …)
    Each aligned section's label is the vote of our segments that overlap it most: the sum of
    their probabilities (ties: the earliest label).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from workbench.analysis._peer_data import PeerTrace
from workbench.analysis.agreement import agreement_report, cohen_kappa

__all__ = [
    "Predictions",
    "RuleScorer",
    "SegmentScorer",
    "agreement_scores",
    "load_scorer",
    "merge_predictions",
    "predictions",
    "score_traces",
    "step_votes",
]


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
    """Agreement of ``scorer`` with the peer labels of ``traces`` (see the module doc).

    Parameters
    ----------
    scorer
        A fine-tuned labeller, a :class:`RuleScorer`, or anything with ``labels`` and
        ``trace_proba``.
    traces
        Peer traces (:func:`workbench.analysis._peer_data.load_peer`).
    majority_label
        The majority-class baseline's label (default: the most frequent peer label of the
        sections). A constant prediction has kappa 0; ``majority_kappa`` reports it so the
        labeller's kappa reads against it, and ``majority_accuracy`` what it would score.
    steps
        Also score our segments and their votes (``segment_*`` and ``step_*``).

    Returns
    -------
    dict
        ``{"unit": "peer section", "n", "accuracy", "macro_f1", "kappa", "majority_kappa",
        "majority_accuracy"}`` plus, with ``steps``, ``segment_n``, ``segment_accuracy``,
        ``segment_macro_f1``, ``segment_kappa`` and ``step_n``, ``step_accuracy``,
        ``step_macro_f1``, ``step_kappa``.
    """
    return agreement_scores(predictions(scorer, traces, steps=steps), majority_label=majority_label)


Predictions = dict[str, tuple[list[str], list[str]]]
"""Per unit (``section``, ``segment``, ``step``): the peer labels and the predicted labels."""


def predictions(
    scorer: SegmentScorer, traces: Sequence[PeerTrace], *, steps: bool = True
) -> Predictions:
    """Return the peer labels and ``scorer``'s labels of ``traces``, per unit (module doc).

    Folds of a cross-validation pool theirs with :func:`merge_predictions` before
    :func:`agreement_scores`.
    """
    out: Predictions = {"section": ([], [])}
    if steps:
        out.update(segment=([], []), step=([], []))
    for trace in traces:
        if trace.section_texts:
            proba = scorer.trace_proba(trace.section_texts)
            out["section"][0].extend(trace.section_labels)
            out["section"][1].extend(scorer.labels[int(row.argmax())] for row in proba)
        if not steps or not trace.n_aligned:
            continue
        proba = scorer.trace_proba([s.text for s in trace.segments])
        for i, label in enumerate(trace.labels):
            if label is not None:
                out["segment"][0].append(label)
                out["segment"][1].append(scorer.labels[int(proba[i].argmax())])
        for s, label in step_votes(trace, proba, scorer.labels).items():
            out["step"][0].append(trace.step_labels[s])
            out["step"][1].append(label)
    return out


def merge_predictions(parts: Sequence[Predictions]) -> Predictions:
    """Pool the predictions of several folds, unit by unit."""
    out: Predictions = {}
    for part in parts:
        for unit, (truth, guess) in part.items():
            y, p = out.setdefault(unit, ([], []))
            y.extend(truth)
            p.extend(guess)
    return out


def agreement_scores(preds: Predictions, *, majority_label: str | None = None) -> dict[str, Any]:
    """Return the report of :func:`score_traces` from (pooled) :func:`predictions`."""
    y, pred = preds["section"]
    report: dict[str, Any] = {"unit": "peer section", **agreement_report(y, pred)}
    baseline = majority_label or (Counter(y).most_common(1)[0][0] if y else "")
    constant = [baseline] * len(y)
    report["majority_kappa"] = cohen_kappa(y, constant)
    report["majority_accuracy"] = sum(a == b for a, b in zip(y, constant, strict=True)) / max(
        1, len(y)
    )
    for unit in ("segment", "step"):
        if unit in preds:
            part = agreement_report(*preds[unit])
            report.update({f"{unit}_{k}": part[k] for k in ("n", "accuracy", "macro_f1", "kappa")})
    return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in report.items()}


def load_scorer(spec: str, *, taxonomy: str) -> Any:
    """``"rule"`` → the rule labeller of ``taxonomy``; else a fine-tuned labeller directory."""
    if spec == "rule":
        return RuleScorer(taxonomy)
    from workbench.analysis._finetuned import FineTunedLabeller

    return FineTunedLabeller.load(spec)
