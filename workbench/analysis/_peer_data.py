"""Peer data sets as labelled, segmented traces: training and scoring data for the labellers.

Two peers are read, each from the files its users have (JSON Lines, or any layout
:func:`workbench.import_file` reads: JSON, Parquet, CSV):

``venhoff``
    The steering-vectors annotations of Venhoff et al. (arXiv 2506.18167), one record per
    response with ``response`` (raw, from ``<think>``), ``annotated_response`` (the
    ``["label"] … ["end-section"]`` markers), ``model`` and ``prompt_index`` (the question).
    Responses of the non-reasoning baselines (:data:`VENHOFF_BASELINE_MODELS`) have no thinking
    and are left out.
``pmllm``
    The pm-llm-benchmark traces (``id``, ``question_id``, ``model``, ``response``) joined on
    ``id`` with the reasoning-step file (``id``, ``steps``: ``[{"Name": "<Type> - <Effect>",
    "Text": …}]``). A step's label is its type.

Every trace is segmented with the default segmenter, the peer sections are located in its raw
text (:func:`workbench.analysis.peers.align_sections`), and each segment takes the label of the
section it overlaps most, with the index of that section (its *step*), so that step-level
labels can be voted from segment labels.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.errors import WorkbenchError
from workbench.segment import Segment

__all__ = [
    "PEERS",
    "VENHOFF_BASELINE_MODELS",
    "PeerTrace",
    "load_peer",
    "load_pmllm",
    "load_venhoff",
    "peer_trace",
    "pmllm_sections",
]

PEERS: dict[str, str] = {"venhoff": "venhoff", "pmllm": "pmllm"}
"""Peer name → the taxonomy preset its labels use."""

VENHOFF_BASELINE_MODELS: tuple[str, ...] = ("qwen2.5-14b-instruct", "llama-3.1-8b-instruct")
"""Models of the steering data without thinking (left out)."""


@dataclass
class PeerTrace:
    """One trace's segments with their peer labels.

    Attributes
    ----------
    trajectory_id, group
        The trajectory and its question (the cross-validation group).
    segments
        All segments of the thinking, in order.
    labels
        The peer label of each segment (``None``: it overlaps no aligned section).
    steps
        The index of the aligned section each segment overlaps most (``None`` when unaligned).
    step_labels
        The label of each aligned section, indexed by ``steps``.
    sections
        Number of peer sections (aligned or not).
    section_texts, section_labels
        Every peer section's text and label, in order: the units the peer labelled (what a
        labeller is trained on and scored on first; see ``workbench labeller score``).
    """

    trajectory_id: str
    group: Hashable
    segments: list[Segment]
    labels: list[str | None]
    steps: list[int | None] = field(default_factory=list)
    step_labels: list[str] = field(default_factory=list)
    sections: int = 0
    section_texts: list[str] = field(default_factory=list)
    section_labels: list[str] = field(default_factory=list)

    @property
    def n_aligned(self) -> int:
        """Number of segments with a peer label."""
        return sum(label is not None for label in self.labels)


def peer_trace(trajectory: Any, sections: Sequence[tuple[str, str]], group: Hashable) -> PeerTrace:
    """Segment ``trajectory`` and give its segments the labels of the aligned ``sections``."""
    from workbench.analysis._segment import segment
    from workbench.analysis.peers import align_sections

    spans = align_sections(trajectory.raw, sections, start=trajectory.thinking_span[0])
    segs = segment(trajectory)
    labels: list[str | None] = []
    steps: list[int | None] = []
    for seg in segs:
        s_start, s_end = seg.char_span
        best, best_overlap = None, 0
        for k, (p_start, p_end, _) in enumerate(spans):
            if p_start >= s_end:
                break
            overlap = min(s_end, p_end) - max(s_start, p_start)
            if overlap > best_overlap:
                best, best_overlap = k, overlap
        steps.append(best)
        labels.append(spans[best][2] if best is not None else None)
    return PeerTrace(
        trajectory_id=trajectory.id,
        group=group,
        segments=segs,
        labels=labels,
        steps=steps,
        step_labels=[label for _, _, label in spans],
        sections=len(sections),
        section_texts=[text for _, text in sections],
        section_labels=[label for label, _ in sections],
    )


def _imported(path: Path) -> Iterator[Any]:
    """Import ``path`` into a temporary store and yield its trajectories."""
    from workbench.store.importers.ingest import import_file
    from workbench.store.store import Store

    if not path.exists():
        raise WorkbenchError(f"{path} does not exist: give the peer's data file with --data")
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "peer.db") as store:
        import_file(store, path)
        yield from store.iter_trajectories()


def load_venhoff(
    path: str | Path,
    *,
    skip_models: Iterable[str] = VENHOFF_BASELINE_MODELS,
    limit: int | None = None,
) -> list[PeerTrace]:
    """Read Venhoff et al.'s annotated responses as segmented, labelled traces.

    Parameters
    ----------
    path
        The annotated file (``annotated.jsonl`` or the same records in another layout).
    skip_models
        Models left out (default: the two baselines without thinking).
    limit
        Read at most this many traces (tests).

    Returns
    -------
    list of PeerTrace
        Groups are ``prompt_index`` (the question).
    """
    from workbench.analysis.peers import parse_steering_annotations

    skip = set(skip_models)
    out: list[PeerTrace] = []
    for t in _imported(Path(path)):
        annotated = t.metadata.get("annotated_response")
        if t.model in skip or not t.thinking.strip() or not isinstance(annotated, str):
            continue
        group = t.metadata.get("prompt_index", t.id)
        out.append(peer_trace(t, parse_steering_annotations(annotated), group))
        if limit is not None and len(out) >= limit:
            break
    if not out:
        raise WorkbenchError(
            f"{path} holds no annotated reasoning traces: expected records with "
            "'response' and 'annotated_response' (Venhoff et al.'s annotated.jsonl)"
        )
    return out


def pmllm_sections(steps: Sequence[dict[str, Any]]) -> list[tuple[str, str]]:
    """``(type, text)`` sections of pm-llm reasoning steps (``Name`` = ``"<Type> - <Effect>"``)."""
    out = []
    for s in steps:
        name, text = s.get("Name"), s.get("Text")
        if isinstance(name, str) and isinstance(text, str) and name.strip():
            out.append((name.split(" - ")[0].strip(), text))
    return out


def _read_records(path: Path) -> list[dict[str, Any]]:
    """Read the records of a JSONL file, a JSON list, or any layout the importers' readers know."""
    if not path.exists():
        raise WorkbenchError(f"{path} does not exist: give the steps file with --steps")
    if path.suffix in (".jsonl", ".ndjson"):
        with path.open(encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]
    if path.suffix == ".json":
        data = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(data, dict):
            data = next((v for v in data.values() if isinstance(v, list)), [data])
        return [r for r in data if isinstance(r, dict)]
    import polars as pl

    frame = pl.read_parquet(path) if path.suffix == ".parquet" else pl.read_csv(path)
    rows = frame.to_dicts()
    for r in rows:
        if isinstance(r.get("steps"), str):
            r["steps"] = json.loads(r["steps"])
    return rows


def load_pmllm(
    traces: str | Path, steps: str | Path, *, limit: int | None = None
) -> list[PeerTrace]:
    """Read pm-llm-benchmark traces with their typed reasoning steps.

    Parameters
    ----------
    traces
        The traces file (``traces.jsonl``: ``id``, ``question_id``, ``response``, …).
    steps
        The steps file (``steps.jsonl``: ``id``, ``steps``), joined on ``id``.
    limit
        Read at most this many traces (tests).

    Returns
    -------
    list of PeerTrace
        Traces with steps only; groups are ``question_id``.
    """
    by_id: dict[str, list[tuple[str, str]]] = {}
    for record in _read_records(Path(steps)):
        if isinstance(record.get("steps"), list) and record.get("id") is not None:
            by_id[str(record["id"])] = pmllm_sections(record["steps"])
    out: list[PeerTrace] = []
    for t in _imported(Path(traces)):
        sections = by_id.get(str(t.source_id))
        if not sections or not t.thinking.strip():
            continue
        out.append(peer_trace(t, sections, t.metadata.get("question_id", t.id)))
        if limit is not None and len(out) >= limit:
            break
    if not out:
        raise WorkbenchError(
            f"no trace of {traces} has steps in {steps}: the two files join on 'id'"
        )
    return out


LOADERS: dict[str, Callable[..., list[PeerTrace]]] = {"venhoff": load_venhoff, "pmllm": load_pmllm}


def load_peer(
    peer: str, data: str | Path, *, steps: str | Path | None = None, limit: int | None = None
) -> list[PeerTrace]:
    """Load ``peer``'s file(s) (``"venhoff"``, or ``"pmllm"`` with ``steps``)."""
    if peer == "venhoff":
        return load_venhoff(data, limit=limit)
    if peer == "pmllm":
        if steps is None:
            raise WorkbenchError("--peer pmllm needs the steps file: add --steps STEPS.jsonl")
        return load_pmllm(data, steps, limit=limit)
    raise WorkbenchError(f"unknown peer {peer!r}: use one of {', '.join(PEERS)}")
