"""Training of the fine-tuned labeller: windows of traces, early stopping, temperature scaling.

Training batches are *windows* of consecutive segments of a trace (so the GRU sees neighbours),
each segment truncated to ``max_length`` tokens; only segments with a label add to the loss.
Groups (questions) are split into a training part and a held-out part: the held-out traces pick
the epoch to keep (early stopping on Cohen's kappa, then on the loss); :func:`fit_temperature`
(the temperature that minimises the held-out negative log-likelihood) calibrates the labeller's
mixture afterwards.
"""

from __future__ import annotations

import itertools
import math
import random
import sys
import time
from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import torch

from workbench.analysis._finetune_model import LabellerNet, position_features
from workbench.analysis._lexical import LexicalConfig
from workbench.analysis.agreement import cohen_kappa

__all__ = [
    "FINETUNE_PRESETS",
    "FineTuneConfig",
    "TrainTrace",
    "fit_temperature",
    "split_groups",
    "trace_logits",
    "train_net",
]


@dataclass(frozen=True)
class FineTuneConfig:
    """Settings of the fine-tuned labeller (see :data:`FINETUNE_PRESETS`).

    Parameters
    ----------
    max_length
        Tokens kept of each segment (the median segment has about 25).
    context_hidden
        Hidden size per direction of the GRU over the trace (``0``: no context).
    dropout
        Dropout on the pooled and context vectors.
    epochs
        Most passes over the (sampled) training windows.
    patience
        Epochs without a better held-out kappa before stopping.
    lr_encoder, lr_head
        AdamW learning rates of the encoder and of the GRU and classifier (linear warm-up over
        the first 10 % of steps, then linear decay).
    weight_decay
        AdamW weight decay.
    window
        Consecutive segments per training window.
    batch_segments
        Segments per optimiser step (whole windows).
    max_segments_per_epoch
        Segments encoded per epoch at most (windows sampled at random each epoch); bounds the
        training time on large files.
    holdout
        Share of the groups (questions) held out for early stopping and calibration.
    class_weight
        ``None`` (every segment alike, the default), ``"sqrt"`` (inverse square root of the
        label frequency) or ``"balanced"`` (inverse frequency). On a held-out fold of 16 Venhoff
        questions, ``None`` scored kappa 0.41 and ``"sqrt"`` 0.33 (docs/segment_agreement.md).
    time_budget_s
        Training stops after this many seconds (the epoch in progress is cut short and
        evaluated).
    network
        Fine-tune the encoder network (``False``: the lexical model alone, seconds to train).
    lexical
        Settings of the lexical n-gram model mixed with the network
        (:class:`~workbench.analysis._lexical.LexicalConfig`; ``None``: the network alone). The
        mixing weight and the temperature are fitted on the held-out questions.
    seed
        Seeds the split, the sampling, dropout and the classifier's initialisation.
    """

    max_length: int = 40
    context_hidden: int = 128
    dropout: float = 0.1
    epochs: int = 3
    patience: int = 1
    lr_encoder: float = 5e-5
    lr_head: float = 2e-3
    weight_decay: float = 0.01
    window: int = 16
    batch_segments: int = 64
    max_segments_per_epoch: int = 8000
    holdout: float = 0.15
    class_weight: str | None = None
    time_budget_s: float = 720.0
    network: bool = True
    lexical: LexicalConfig | None = field(default_factory=LexicalConfig)
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.network and self.lexical is None:
            raise ValueError("a labeller needs the network, the lexical model or both")

    def to_dict(self) -> dict[str, Any]:
        """Return the settings as a JSON-ready dict."""
        out = asdict(self)
        out["lexical"] = self.lexical.to_dict() if self.lexical is not None else None
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FineTuneConfig:
        """Inverse of :meth:`to_dict` (settings saved before the lexical model: network only)."""
        data = dict(data)
        lexical = data.pop("lexical", None)
        return cls(**data, lexical=LexicalConfig.from_dict(lexical) if lexical else None)


FINETUNE_PRESETS: dict[str, FineTuneConfig] = {
    "default": FineTuneConfig(),
    "quick": FineTuneConfig(
        max_length=24, epochs=2, max_segments_per_epoch=1500, time_budget_s=240.0
    ),
    "lexical": FineTuneConfig(network=False),
    "thorough": FineTuneConfig(
        max_length=64, epochs=6, patience=2, max_segments_per_epoch=20000, time_budget_s=3600.0
    ),
}
"""Named settings: ``default`` (about 13 minutes on two CPU cores for the steering file),
``quick`` (a few minutes; smoke runs), ``lexical`` (the n-gram model alone: under a minute),
``thorough`` (no sampling, longer; a GPU or patience)."""


@dataclass
class TrainTrace:
    """One trace for training: its segment texts, labels (``None``: unlabelled) and group."""

    texts: list[str]
    labels: list[str | None]
    group: Hashable
    ids: list[list[int]] = field(default_factory=list)


def split_groups(
    groups: Sequence[Hashable], share: float, seed: int
) -> tuple[list[int], list[int]]:
    """Split items into (train, held-out) by group, about ``share`` of the groups held out.

    With a single group, items are split instead (about ``share`` of them held out); with a
    single item, nothing is held out.
    """
    distinct = sorted(set(groups), key=lambda g: (str(type(g)), str(g)))
    rng = random.Random(seed)
    if len(distinct) >= 2:
        rng.shuffle(distinct)
        n_out = min(len(distinct) - 1, max(1, round(share * len(distinct))))
        held = set(distinct[:n_out])
        return (
            [i for i, g in enumerate(groups) if g not in held],
            [i for i, g in enumerate(groups) if g in held],
        )
    order = list(range(len(groups)))
    if len(order) < 2:
        return order, []
    rng.shuffle(order)
    n_out = min(len(order) - 1, max(1, round(share * len(order))))
    return sorted(order[n_out:]), sorted(order[:n_out])


def _batch(tokenizer: Any, id_lists: Sequence[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad token id lists into ``input_ids`` and ``attention_mask`` tensors."""
    width = max(1, max(len(x) for x in id_lists))
    pad = int(tokenizer.pad_token_id or 0)
    ids = torch.full((len(id_lists), width), pad, dtype=torch.long)
    mask = torch.zeros((len(id_lists), width), dtype=torch.long)
    for r, x in enumerate(id_lists):
        ids[r, : len(x)] = torch.tensor(x, dtype=torch.long)
        mask[r, : len(x)] = 1
    return ids, mask


def tokenize(tokenizer: Any, texts: Sequence[str], max_length: int) -> list[list[int]]:
    """Token ids of each text, truncated to ``max_length`` (special tokens included)."""
    if not texts:
        return []
    out = tokenizer(list(texts), truncation=True, max_length=max_length)["input_ids"]
    return [list(x) for x in out]


def trace_logits(
    net: LabellerNet, tokenizer: Any, ids: Sequence[list[int]], *, chunk: int = 128
) -> torch.Tensor:
    """Logits of every segment of one trace (no gradients), given its token ids."""
    net.eval()
    with torch.inference_mode():
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        pooled = torch.zeros(len(ids), net.encoder.config.hidden_size)
        for lo in range(0, len(order), chunk):
            rows = order[lo : lo + chunk]
            input_ids, mask = _batch(tokenizer, [ids[i] for i in rows])
            pooled[rows] = net.pooled(input_ids, mask)
        positions = position_features(range(len(ids)), len(ids))
        return net.head(pooled, positions, [len(ids)])


def fit_temperature(logits: torch.Tensor, targets: torch.Tensor) -> float:
    """Return the temperature ``T`` minimising the NLL of ``softmax(logits / T)`` (in [0.05, 20])."""
    if not len(targets):
        return 1.0
    log_t = torch.zeros(1, requires_grad=True)
    opt = torch.optim.LBFGS([log_t], max_iter=100, line_search_fn="strong_wolfe")

    def closure() -> Any:
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(logits / log_t.exp(), targets)
        loss.backward()
        return loss

    opt.step(closure)
    return float(min(20.0, max(0.05, math.exp(log_t.item()))))


def _windows(
    traces: Sequence[TrainTrace], rows: Sequence[int], size: int, rng: random.Random
) -> list[tuple[int, int, int]]:
    """``(trace, start, end)`` windows holding at least one labelled segment, shuffled."""
    out = []
    for ti in rows:
        n = len(traces[ti].texts)
        offset = rng.randrange(size) if n > size else 0
        starts = sorted({0, *range(offset, n, size)} - {n})
        bounds = [*starts, n]
        for a, b in itertools.pairwise(bounds):
            if any(label is not None for label in traces[ti].labels[a:b]):
                out.append((ti, a, b))
    rng.shuffle(out)
    return out


def _class_weights(counts: Counter[str], labels: Sequence[str], mode: str | None) -> Any:
    if mode is None:
        return None
    freq = torch.tensor([max(1, counts[c]) for c in labels], dtype=torch.float32)
    power = {"sqrt": 0.5, "balanced": 1.0}.get(mode)
    if power is None:
        raise ValueError(f"class_weight must be None, 'sqrt' or 'balanced', not {mode!r}")
    w = (freq.sum() / freq) ** power
    return w / (w * freq).sum() * freq.sum()


def evaluate(
    net: LabellerNet,
    tokenizer: Any,
    traces: Sequence[TrainTrace],
    rows: Sequence[int],
    index: dict[str, int],
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return logits and targets of the labelled segments of ``rows`` (others skipped)."""
    logits: list[torch.Tensor] = []
    targets: list[int] = []
    for ti in rows:
        t = traces[ti]
        out = trace_logits(net, tokenizer, t.ids)
        keep = [i for i, label in enumerate(t.labels) if label in index]
        logits.append(out[keep])
        targets.extend(index[str(t.labels[i])] for i in keep)
    if not logits:
        return torch.zeros(0, len(index)), torch.zeros(0, dtype=torch.long)
    return torch.cat(logits), torch.tensor(targets, dtype=torch.long)


def train_net(
    traces: Sequence[TrainTrace],
    *,
    tokenizer: Any,
    encoder: Any,
    config: FineTuneConfig,
    labels: Sequence[str] | None = None,
    progress: bool = True,
    log: Callable[[str], None] | None = None,
) -> tuple[LabellerNet, list[str], dict[str, Any]]:
    """Fine-tune a :class:`LabellerNet` on labelled traces.

    The confidences are calibrated afterwards, on the mixture with the lexical model
    (:meth:`~workbench.analysis.FineTunedLabeller.train`), not here.

    Returns
    -------
    tuple
        ``(net, labels, history)``: the network at its best epoch, the class names in logit
        order and a JSON-ready record of the run (epochs, losses, held-out kappa, seconds,
        segment counts).
    """
    from tqdm.auto import tqdm

    start = time.perf_counter()
    say = log or (lambda m: print(m, file=sys.stderr, flush=True))
    torch.manual_seed(config.seed)
    rng = random.Random(config.seed)
    counts = Counter(str(c) for t in traces for c in t.labels if c is not None)
    names = sorted(labels if labels is not None else counts)
    if not names:
        raise ValueError("no labelled segments to train on")
    index = {c: i for i, c in enumerate(names)}
    for t in traces:
        t.ids = tokenize(tokenizer, t.texts, config.max_length)
    train_rows, held_rows = split_groups([t.group for t in traces], config.holdout, config.seed)
    net = LabellerNet(
        encoder, len(names), context_hidden=config.context_hidden, dropout=config.dropout
    )
    head = [p for n, p in net.named_parameters() if not n.startswith("encoder.")]
    opt = torch.optim.AdamW(
        [
            {"params": list(net.encoder.parameters()), "lr": config.lr_encoder},
            {"params": head, "lr": config.lr_head},
        ],
        weight_decay=config.weight_decay,
    )
    n_train = sum(len(traces[ti].texts) for ti in train_rows)
    per_epoch = min(n_train, config.max_segments_per_epoch)
    total_steps = max(1, config.epochs * math.ceil(per_epoch / config.batch_segments))
    warmup = max(1, total_steps // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt,
        lambda s: min((s + 1) / warmup, max(0.0, (total_steps - s) / (total_steps - warmup + 1))),
    )
    weight = _class_weights(
        Counter(str(c) for ti in train_rows for c in traces[ti].labels if c is not None),
        names,
        config.class_weight,
    )
    history: dict[str, Any] = {"epochs": [], "train_segments": n_train}
    best: tuple[float, float] | None = None
    best_state: dict[str, torch.Tensor] | None = None
    stale = 0
    out_of_time = False
    for epoch in range(config.epochs):
        net.train()
        seen, losses = 0, []
        bar = tqdm(
            total=per_epoch,
            desc=f"epoch {epoch + 1}/{config.epochs}",
            unit="seg",
            disable=not progress,
            file=sys.stderr,
            leave=False,
        )
        batch: list[tuple[int, int, int]] = []
        windows = _windows(traces, train_rows, config.window, rng)
        for w_i, w in enumerate(windows):
            batch.append(w)
            size = sum(b - a for _, a, b in batch)
            if size < config.batch_segments and w_i + 1 < len(windows):
                continue
            ids = [traces[ti].ids[j] for ti, a, b in batch for j in range(a, b)]
            positions = torch.cat(
                [position_features(range(a, b), len(traces[ti].texts)) for ti, a, b in batch]
            )
            targets = torch.tensor(
                [
                    index.get(str(traces[ti].labels[j]), -100)
                    if traces[ti].labels[j] is not None
                    else -100
                    for ti, a, b in batch
                    for j in range(a, b)
                ]
            )
            input_ids, mask = _batch(tokenizer, ids)
            logits = net(input_ids, mask, positions, [b - a for _, a, b in batch])
            loss = torch.nn.functional.cross_entropy(
                logits, targets, weight=weight, ignore_index=-100
            )
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
            sched.step()
            losses.append(float(loss.detach()))
            seen += size
            bar.update(size)
            bar.set_postfix(loss=f"{np.mean(losses[-20:]):.3f}")
            batch = []
            if time.perf_counter() - start > config.time_budget_s:
                out_of_time = True
                break
            if seen >= per_epoch:
                break
        bar.close()
        record: dict[str, Any] = {
            "epoch": epoch + 1,
            "segments": seen,
            "train_loss": round(float(np.mean(losses)) if losses else float("nan"), 4),
        }
        if held_rows:
            logits, targets = evaluate(net, tokenizer, traces, held_rows, index)
            held_loss = float(torch.nn.functional.cross_entropy(logits, targets))
            pred = logits.argmax(dim=1).tolist()
            kappa = cohen_kappa([names[i] for i in targets.tolist()], [names[i] for i in pred])
            record.update(heldout_loss=round(held_loss, 4), heldout_kappa=round(kappa, 4))
            score = (kappa, -held_loss)
        else:
            score = (float(epoch), 0.0)
        record["seconds"] = round(time.perf_counter() - start, 1)
        history["epochs"].append(record)
        say(f"epoch {epoch + 1}: " + ", ".join(f"{k}={v}" for k, v in record.items()))
        if best is None or score > best:
            best, stale = score, 0
            best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
        else:
            stale += 1
        if out_of_time or stale >= config.patience:
            history["stopped"] = "time budget" if out_of_time else "early stopping"
            break
    if best_state is not None:
        net.load_state_dict(best_state)
    history["best_epoch"] = 1 + max(
        range(len(history["epochs"])),
        key=lambda i: history["epochs"][i].get("heldout_kappa", i),
    )
    history["seconds"] = round(time.perf_counter() - start, 1)
    history["heldout_groups"] = len({traces[ti].group for ti in held_rows})
    return net, names, history


def with_overrides(config: FineTuneConfig, **overrides: Any) -> FineTuneConfig:
    """Return ``config`` with the given fields replaced (unknown names raise ``TypeError``)."""
    return replace(config, **overrides)
