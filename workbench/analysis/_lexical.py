"""The lexical half of the fine-tuned labeller: word n-grams of a segment and its neighbours.

Reflection cues are words ("Wait", "Let me check", "Alternatively", "Suppose"), and a peer's
label often turns on one of them where a sentence encoder's pooled vector blurs it. This model
reads, for each segment, four bags of word unigrams and bigrams (lower-cased; words and single
punctuation marks):

``text``  the whole segment (its first :attr:`LexicalConfig.max_words` words),
``head``  its first :attr:`LexicalConfig.head_words` words (where the cue sits),
``prev``  the first ``head_words`` words of the segment before,
``next``  the first ``head_words`` words of the segment after;

each bag is weighted by sublinear tf-idf (``1 + log tf`` times the smoothed idf
``log((1 + n) / (1 + df)) + 1``, as scikit-learn's ``TfidfVectorizer(sublinear_tf=True)``) and
scaled to unit length, times its field weight; the relative-position features of the network
(:func:`~workbench.analysis._finetune_model.position_features`) and the segment's length are
appended, and a multinomial logistic regression (L2, L-BFGS, full batch) maps them to labels.

The design is ours; measured on the shared Venhoff sections (grouped by question, five folds) it
scores Cohen's kappa 0.53 alone (``docs/segment_agreement.md``).
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from workbench.analysis._finetune_model import position_features

__all__ = ["FIELDS", "LexicalConfig", "LexicalModel", "words"]

FIELDS: tuple[str, ...] = ("text", "head", "prev", "next")
"""The bags of n-grams, in feature order."""

_WORD = re.compile(r"\w+|[^\w\s]")


@dataclass(frozen=True)
class LexicalConfig:
    """Settings of the lexical model.

    Parameters
    ----------
    head_words
        Words of a segment's opening (its own ``head`` bag and its neighbours' bags).
    max_words
        Words of a segment read into its ``text`` bag (bounds the cost of long peer steps).
    min_df
        An n-gram must occur in this many training segments to be a feature.
    field_weights
        Weights of the ``text``, ``head``, ``prev`` and ``next`` bags.
    c
        Inverse L2 strength, as scikit-learn's ``C`` (the loss summed over segments plus
        ``|W|^2 / 2``).
    max_iter
        L-BFGS iterations.
    """

    head_words: int = 12
    max_words: int = 400
    min_df: int = 2
    field_weights: tuple[float, float, float, float] = (1.0, 1.0, 0.5, 0.5)
    c: float = 4.0
    max_iter: int = 300

    def to_dict(self) -> dict[str, Any]:
        """Return the settings as a JSON-ready dict."""
        out = asdict(self)
        out["field_weights"] = list(self.field_weights)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LexicalConfig:
        """Inverse of :meth:`to_dict`."""
        data = dict(data)
        data["field_weights"] = tuple(data.get("field_weights", cls.field_weights))
        return cls(**data)


def words(text: str, limit: int) -> list[str]:
    """Return the first ``limit`` lower-cased words and punctuation marks of ``text``."""
    out = []
    for m in _WORD.finditer(text.lower()):
        out.append(m.group())
        if len(out) >= limit:
            break
    return out


def _grams(tokens: Sequence[str]) -> list[str]:
    return [*tokens, *(f"{a} {b}" for a, b in itertools.pairwise(tokens))]


class _Bags:
    """The n-gram counts of one trace's segments, per field, and each segment's word count."""

    def __init__(self, texts: Sequence[str], config: LexicalConfig) -> None:
        own_words = [words(t, config.max_words) for t in texts]
        heads = [_grams(w[: config.head_words]) for w in own_words]
        own = [_grams(w) for w in own_words]
        empty: list[str] = []
        prev = [heads[i - 1] if i else empty for i in range(len(texts))]
        nxt = [heads[i + 1] if i + 1 < len(texts) else empty for i in range(len(texts))]
        self.fields = [[Counter(g) for g in field] for field in (own, heads, prev, nxt)]
        self.n_words = [len(w) for w in own_words]


class LexicalModel:
    """Tf-idf n-gram bags + position → multinomial logistic regression (see the module doc).

    Parameters
    ----------
    config
        The settings.
    labels
        Class names in column order.
    vocab
        Per field, the n-grams that are features (in column order).
    idf
        Per field, the idf of each of its n-grams.
    weight, bias
        ``[features, labels]`` and ``[labels]`` of the regression.
    """

    def __init__(
        self,
        *,
        config: LexicalConfig,
        labels: Sequence[str],
        vocab: Sequence[Sequence[str]],
        idf: Sequence[np.ndarray],
        weight: torch.Tensor,
        bias: torch.Tensor,
    ) -> None:
        self.config = config
        self.labels = list(labels)
        self.vocab = [list(v) for v in vocab]
        self.idf = [np.asarray(x, dtype=np.float32) for x in idf]
        self._index = [{g: i for i, g in enumerate(v)} for v in self.vocab]
        self._offsets = np.cumsum([0, *(len(v) for v in self.vocab)]).tolist()
        self.weight = weight
        self.bias = bias

    @property
    def n_features(self) -> int:
        """Columns of the feature matrix (n-grams of every field, position, length)."""
        return int(self._offsets[-1]) + position_features([0], 1).shape[1] + 1

    @classmethod
    def fit(
        cls,
        traces: Sequence[tuple[Sequence[str], Sequence[str | None]]],
        labels: Sequence[str],
        config: LexicalConfig | None = None,
    ) -> LexicalModel:
        """Fit on ``(segment texts, labels)`` traces (``None`` labels give context only)."""
        config = config or LexicalConfig()
        index = {c: i for i, c in enumerate(labels)}
        bags = [_Bags(texts, config) for texts, _ in traces]
        n_docs = sum(len(texts) for texts, _ in traces)
        vocab: list[list[str]] = []
        idf: list[np.ndarray] = []
        for f in range(len(FIELDS)):
            df: Counter[str] = Counter()
            for trace in bags:
                for bag in trace.fields[f]:
                    df.update(bag.keys())
            kept = sorted(g for g, n in df.items() if n >= config.min_df)
            vocab.append(kept)
            idf.append(
                np.array([math.log((1 + n_docs) / (1 + df[g])) + 1.0 for g in kept], np.float32)
            )
        n_labels = len(labels)
        model = cls(
            config=config,
            labels=labels,
            vocab=vocab,
            idf=idf,
            weight=torch.zeros(0, n_labels),
            bias=torch.zeros(n_labels),
        )
        blocks: list[torch.Tensor] = []
        targets: list[int] = []
        for (texts, labs), trace in zip(traces, bags, strict=True):
            keep = [i for i, c in enumerate(labs) if c in index]
            if keep:
                blocks.append(model._matrix(trace, len(texts), keep))
                targets.extend(index[str(labs[i])] for i in keep)
        if not targets:
            raise ValueError("no labelled segments to fit the lexical model on")
        x = _stack(blocks, model.n_features)
        y = torch.tensor(targets, dtype=torch.long)
        model.weight, model.bias = _logistic(x, y, n_labels, config.c, config.max_iter)
        return model

    def logits(self, texts: Sequence[str]) -> torch.Tensor:
        """``[segments, labels]`` logits of one trace's segments (in order)."""
        if not texts:
            return torch.zeros(0, len(self.labels))
        x = self._matrix(_Bags(texts, self.config), len(texts), range(len(texts)))
        return torch.sparse.mm(x, self.weight) + self.bias

    def _matrix(self, bags: _Bags, length: int, rows: Sequence[int]) -> torch.Tensor:
        """Sparse ``[len(rows), n_features]`` features of segments ``rows`` of one trace."""
        r_idx: list[int] = []
        c_idx: list[int] = []
        vals: list[float] = []
        positions = position_features(list(rows), length).numpy()
        tail = int(self._offsets[-1])
        for r, i in enumerate(rows):
            for f, weight in enumerate(self.config.field_weights):
                cols, v = [], []
                for g, n in bags.fields[f][i].items():
                    j = self._index[f].get(g)
                    if j is not None:
                        cols.append(self._offsets[f] + j)
                        v.append((1.0 + math.log(n)) * float(self.idf[f][j]))
                if cols:
                    norm = math.sqrt(sum(a * a for a in v))
                    r_idx.extend([r] * len(cols))
                    c_idx.extend(cols)
                    vals.extend(weight * a / norm for a in v)
            for k, a in enumerate(positions[r]):
                if a:
                    r_idx.append(r)
                    c_idx.append(tail + k)
                    vals.append(float(a))
            r_idx.append(r)
            c_idx.append(tail + positions.shape[1])
            vals.append(min(1.0, bags.n_words[i] / self.config.max_words))
        return torch.sparse_coo_tensor(
            torch.tensor([r_idx, c_idx], dtype=torch.long),
            torch.tensor(vals, dtype=torch.float32),
            (len(rows), self.n_features),
            check_invariants=False,
        ).coalesce()

    def state(self) -> dict[str, Any]:
        """Everything :meth:`from_state` needs (tensors and JSON-ready values)."""
        return {
            "config": self.config.to_dict(),
            "labels": self.labels,
            "vocab": self.vocab,
            "idf": [torch.from_numpy(x) for x in self.idf],
            "weight": self.weight,
            "bias": self.bias,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> LexicalModel:
        """Rebuild a model saved with :meth:`state`."""
        return cls(
            config=LexicalConfig.from_dict(state["config"]),
            labels=state["labels"],
            vocab=state["vocab"],
            idf=[np.asarray(x) for x in state["idf"]],
            weight=state["weight"],
            bias=state["bias"],
        )


def _stack(blocks: Sequence[torch.Tensor], width: int) -> torch.Tensor:
    """Stack sparse row blocks into one CSR matrix."""
    rows, cols, vals, offset = [], [], [], 0
    for b in blocks:
        idx = b.indices()
        rows.append(idx[0] + offset)
        cols.append(idx[1])
        vals.append(b.values())
        offset += b.shape[0]
    return torch.sparse_coo_tensor(
        torch.stack([torch.cat(rows), torch.cat(cols)]),
        torch.cat(vals),
        (offset, width),
        check_invariants=False,
    ).coalesce()


def _logistic(
    x: torch.Tensor, y: torch.Tensor, n_labels: int, c: float, max_iter: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Multinomial logistic regression: minimise ``C * sum(CE) + |W|^2 / 2`` by L-BFGS."""
    n = x.shape[0]
    weight = torch.zeros(x.shape[1], n_labels, requires_grad=True)
    bias = torch.zeros(n_labels, requires_grad=True)
    opt = torch.optim.LBFGS(
        [weight, bias],
        lr=1.0,
        max_iter=max_iter,
        tolerance_grad=1e-6,
        tolerance_change=1e-9,
        history_size=20,
        line_search_fn="strong_wolfe",
    )
    scale = 1.0 / (c * n)  # the same optimum, divided by C * n: the mean loss + |W|^2 / (2Cn)

    def closure() -> Any:
        opt.zero_grad()
        logits = torch.sparse.mm(x, weight) + bias
        loss = torch.nn.functional.cross_entropy(logits, y) + 0.5 * scale * (weight**2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return weight.detach(), bias.detach()
