"""The model-based thinking-pattern labeller: MiniLM sentence embeddings + softmax regression.

Train it on labelled segments (hand annotations from the store, or peer-labelled data), then
label new segments (``label_source="model"``, ``confidence`` = the predicted probability). The
classifier is a multinomial logistic regression with L2 regularisation, fitted full-batch with
L-BFGS in torch (a few seconds for thousands of segments on a CPU).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from workbench.segment import Segment

__all__ = ["ModelLabeller", "labelled_segments_from_store"]


class ModelLabeller:
    """Embed segment texts and classify them.

    Parameters
    ----------
    embedder
        Anything with ``encode(list[str]) -> float array``; default: the shared MiniLM embedder.
    l2
        L2 penalty on the weights.
    max_iter
        L-BFGS iterations.
    class_weight
        ``"balanced"`` weighs classes inversely to their frequency (better macro-F1 on skewed
        labels); ``None`` weighs every example alike.
    context
        Use :meth:`segment_features` (the segment's embedding, its neighbours' embeddings and its
        position in the trace) when fitting and labelling segments. Measured in
        ``benchmarks/segment_agreement.py`` (variant ``context_position``): it raises Cohen's
        kappa from 0.22 to 0.28 on the steering traces and from 0.06 to 0.12 on the pm-llm steps.
    """

    POSITION_BINS = 5
    """Position features: a one-hot of the segment's position in its trace in this many bins, and
    a flag for the first segment."""

    def __init__(
        self,
        *,
        embedder: Any = None,
        l2: float = 1e-3,
        max_iter: int = 200,
        class_weight: str | None = "balanced",
        context: bool = False,
    ) -> None:
        self._embedder = embedder
        self.context = context
        self.l2 = l2
        self.max_iter = max_iter
        self.class_weight = class_weight
        self.labels: list[str] = []
        self.weights: np.ndarray | None = None
        self.bias: np.ndarray | None = None

    @property
    def embedder(self) -> Any:
        """Return the embedder (loaded on first use)."""
        if self._embedder is None:
            from workbench.analysis.embeddings import get_embedder

            self._embedder = get_embedder()
        return self._embedder

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts (exposed so that cross-validation can embed once)."""
        return np.asarray(self.embedder.encode(list(texts)), dtype=np.float32)

    def fit(
        self,
        texts: Sequence[str] | None,
        labels: Sequence[str],
        *,
        features: np.ndarray | None = None,
    ) -> ModelLabeller:
        """Fit on labelled texts (or on precomputed ``features``, one row per label)."""
        import torch

        x_np = features if features is not None else self.embed(texts or [])
        if len(x_np) != len(labels) or not len(labels):
            raise ValueError("give one label per text, and at least one")
        self.labels = sorted(set(labels))
        index = {c: i for i, c in enumerate(self.labels)}
        y = torch.tensor([index[c] for c in labels])
        x = torch.tensor(x_np, dtype=torch.float32)
        counts = torch.bincount(y, minlength=len(self.labels)).float()
        weight = (
            (counts.sum() / (len(self.labels) * counts))
            if self.class_weight == "balanced"
            else None
        )
        w = torch.zeros(x.shape[1], len(self.labels), requires_grad=True)
        b = torch.zeros(len(self.labels), requires_grad=True)
        opt = torch.optim.LBFGS([w, b], max_iter=self.max_iter, line_search_fn="strong_wolfe")

        def closure() -> Any:
            opt.zero_grad()
            loss = (
                torch.nn.functional.cross_entropy(x @ w + b, y, weight=weight)
                + self.l2 * (w * w).sum()
            )
            loss.backward()
            return loss

        opt.step(closure)
        self.weights = w.detach().numpy()
        self.bias = b.detach().numpy()
        return self

    def predict_proba(
        self, texts: Sequence[str] | None = None, *, features: np.ndarray | None = None
    ) -> np.ndarray:
        """Return class probabilities, columns in :attr:`labels` order."""
        if self.weights is None or self.bias is None:
            raise ValueError("the labeller is not fitted: call fit() or load()")
        x = features if features is not None else self.embed(texts or [])
        logits = x @ self.weights + self.bias
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True)

    def predict(
        self, texts: Sequence[str] | None = None, *, features: np.ndarray | None = None
    ) -> list[str]:
        """Return the most probable label per text."""
        proba = self.predict_proba(texts, features=features)
        return [self.labels[i] for i in proba.argmax(axis=1)]

    def segment_features(self, segments: Sequence[Segment]) -> np.ndarray:
        """Features of segments: their embeddings, plus context when :attr:`context` is set.

        With context, each row is ``[embedding, previous segment's embedding, next segment's
        embedding, position one-hot, first flag]``; neighbours are the segments before and after
        in ``segments`` that belong to the same trajectory (zeros at the ends).
        """
        emb = self.embed([s.text for s in segments])
        if not self.context:
            return emb
        zero = np.zeros(emb.shape[1], dtype=np.float32)
        groups: dict[str, list[int]] = {}
        for i, s in enumerate(segments):
            groups.setdefault(s.trajectory_id, []).append(i)
        bins = self.POSITION_BINS
        rows = np.zeros((len(segments), 3 * emb.shape[1] + bins + 1), dtype=np.float32)
        for members in groups.values():
            for k, i in enumerate(members):
                prev = emb[members[k - 1]] if k > 0 else zero
                nxt = emb[members[k + 1]] if k + 1 < len(members) else zero
                position = np.zeros(bins + 1, dtype=np.float32)
                share = k / max(1, len(members) - 1)
                position[min(bins - 1, int(share * bins))] = 1.0
                position[bins] = float(k == 0)
                rows[i] = np.concatenate([emb[i], prev, nxt, position])
        return rows

    def fit_segments(self, segments: Sequence[Segment], labels: Sequence[str]) -> ModelLabeller:
        """Fit on labelled segments (in trace order, so that context features see neighbours)."""
        return self.fit(None, labels, features=self.segment_features(segments))

    def label_segments(self, segments: Sequence[Segment]) -> list[Segment]:
        """Return copies of ``segments`` labelled by the model (``label_source="model"``)."""
        if not segments:
            return []
        proba = self.predict_proba(features=self.segment_features(segments))
        return [
            replace(
                s,
                labels=[self.labels[int(row.argmax())]],
                label_source="model",
                confidence=round(float(row.max()), 4),
            )
            for s, row in zip(segments, proba, strict=True)
        ]

    def save(self, path: str | Path) -> None:
        """Save the fitted classifier (not the embedder) to an ``.npz`` file."""
        if self.weights is None or self.bias is None:
            raise ValueError("the labeller is not fitted")
        np.savez(
            Path(path),
            weights=self.weights,
            bias=self.bias,
            labels=np.array(self.labels),
            context=np.array(self.context),
        )

    @classmethod
    def load(cls, path: str | Path, *, embedder: Any = None) -> ModelLabeller:
        """Load a classifier saved with :meth:`save`."""
        data = np.load(Path(path))
        labeller = cls(
            embedder=embedder, context=bool(data["context"]) if "context" in data else False
        )
        labeller.weights, labeller.bias = data["weights"], data["bias"]
        labeller.labels = [str(x) for x in data["labels"]]
        return labeller


def labelled_segments_from_store(store: Any, **filters: Any) -> tuple[list[Segment], list[str]]:
    """Collect the stored segments that carry a hand label (latest ``label`` annotation).

    Returns segments in trace order with their labels (the first label of a list), for
    :meth:`ModelLabeller.fit_segments`.
    """
    import json

    current = store.list_annotations(kind="label", history=False)
    by_segment: dict[str, str] = {}
    for row in current.iter_rows(named=True):
        if row["segment_id"] is None:
            continue
        value = json.loads(row["value"])
        label = value[0] if isinstance(value, list) and value else value
        if isinstance(label, str) and label:
            by_segment[row["segment_id"]] = label
    wanted = (
        set(store.list_trajectories(columns=["id"], **filters)["id"].to_list()) if filters else None
    )
    trajectory_ids = sorted({sid.rsplit(":", 1)[0] for sid in by_segment})
    segments: list[Segment] = []
    labels: list[str] = []
    for tid in trajectory_ids:
        if (wanted is not None and tid not in wanted) or tid not in store:
            continue
        for seg in store.get_segments(tid):
            if seg.id in by_segment:
                segments.append(seg)
                labels.append(by_segment[seg.id])
    return segments, labels
