"""The network of the fine-tuned labeller: a sentence encoder, trace context and position.

Each segment's text is encoded by a small transformer encoder (all-MiniLM-L6-v2 by default),
mean-pooled over its tokens; its position in the thinking is appended (a one-hot of its relative
position in :data:`POSITION_BINS` bins and flags for the first and the last segment); a
bidirectional GRU runs over the segments of the trace, so each segment sees its neighbours (and,
further away, the rest of the trace); a linear layer over ``[own vector, GRU state]`` gives the
logits. Everything is trained end to end.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

__all__ = ["POSITION_BINS", "LabellerNet", "position_features"]

POSITION_BINS = 5
"""Bins of the relative-position one-hot."""

N_POSITION = POSITION_BINS + 2


def position_features(index: Sequence[int], length: int) -> torch.Tensor:
    """Position features of segments ``index`` of a trace of ``length`` segments.

    Parameters
    ----------
    index
        Positions (0-based) in the trace.
    length
        Number of segments in the trace.

    Returns
    -------
    torch.Tensor
        ``float32[len(index), POSITION_BINS + 2]``: the bin one-hot, a first flag, a last flag.
    """
    out = torch.zeros(len(index), N_POSITION)
    for r, k in enumerate(index):
        share = k / max(1, length - 1)
        out[r, min(POSITION_BINS - 1, int(share * POSITION_BINS))] = 1.0
        out[r, POSITION_BINS] = float(k == 0)
        out[r, POSITION_BINS + 1] = float(k == length - 1)
    return out


class LabellerNet(nn.Module):
    """Encoder + position + bidirectional GRU over a trace's segments + linear classifier.

    Parameters
    ----------
    encoder
        A transformers encoder (``AutoModel``) whose ``last_hidden_state`` is mean-pooled.
    n_labels
        Number of classes.
    context_hidden
        Hidden size of each direction of the GRU; ``0`` drops the trace context.
    dropout
        Dropout on the pooled vectors.
    """

    def __init__(
        self, encoder: Any, n_labels: int, *, context_hidden: int = 128, dropout: float = 0.1
    ) -> None:
        super().__init__()
        self.encoder = encoder
        width = int(encoder.config.hidden_size) + N_POSITION
        self.context_hidden = context_hidden
        self.context = (
            nn.GRU(width, context_hidden, batch_first=True, bidirectional=True)
            if context_hidden
            else None
        )
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(width + 2 * context_hidden, n_labels)

    def pooled(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Mean-pooled encoder states of a batch of token sequences."""
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        positions: torch.Tensor,
        lengths: Sequence[int],
    ) -> torch.Tensor:
        """Logits of consecutive runs of segments.

        Parameters
        ----------
        input_ids, attention_mask
            Tokens of all segments, ``[segments, tokens]``, runs one after another.
        positions
            ``[segments, POSITION_BINS + 2]`` position features.
        lengths
            Number of segments of each run (a run is a trace or a window of one).

        Returns
        -------
        torch.Tensor
            ``[segments, n_labels]`` logits.
        """
        return self.head(self.pooled(input_ids, attention_mask), positions, lengths)

    def head(
        self, pooled: torch.Tensor, positions: torch.Tensor, lengths: Sequence[int]
    ) -> torch.Tensor:
        """Logits from pooled segment vectors (see :meth:`forward`)."""
        own = torch.cat([self.dropout(pooled), positions], dim=1)
        if self.context is None:
            return self.classifier(own)
        runs = list(torch.split(own, list(lengths)))
        packed = nn.utils.rnn.pack_sequence(runs, enforce_sorted=False)
        out, _ = self.context(packed)
        padded, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True)
        states = torch.cat([padded[i, :n] for i, n in enumerate(lengths)])
        return self.classifier(torch.cat([own, self.dropout(states)], dim=1))


def load_encoder(path: str | Path) -> tuple[Any, Any]:
    """Load a tokenizer and encoder from a model folder (offline)."""
    import transformers

    transformers.utils.logging.disable_progress_bar()
    transformers.utils.logging.set_verbosity_error()
    tokenizer = transformers.AutoTokenizer.from_pretrained(Path(path))
    encoder = transformers.AutoModel.from_pretrained(Path(path))
    return tokenizer, encoder
