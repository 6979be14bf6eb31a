"""Overthinking: the first correct solution (FCS) in the thinking, and redundancy around it.

Definitions follow "Reconsidering Overthinking" (arXiv 2508.02178), with our choices stated:

* **FCS**: the thinking up to the end of the sentence in which the correct final answer first
  appears. A match preceded by a digit or an arithmetic operator (``"1391"`` does not contain the
  answer ``"391"``; ``"-4"`` is not ``"4"``) or followed by a digit is rejected; numbers are also
  searched in thousands-separated form (``"1,024"``). The answer is the grade's extracted answer
  when the trajectory was graded correct, else the gold answer.
* **External redundancy** ``ERD = tokens after the FCS / tokens of the whole thinking``; tokens are
  the recorded per-token offsets when the trajectory has them, else whitespace-separated words
  (``unit`` says which).
* **Internal redundancy**: the FCS is split into sentences; windows of ``max(1, 10% n)`` sentences
  with stride ``max(1, 5% n)`` are embedded with all-MiniLM-L6-v2 and the mean cosine similarity of
  adjacent windows is reported; above :data:`REDUNDANCY_THRESHOLD` the FCS counts as redundant.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from workbench.analysis._segment import sentence_spans
from workbench.analysis.tokens import thinking_token_ends
from workbench.store.frames import with_metadata_columns
from workbench.trajectory import Trajectory

__all__ = [
    "REDUNDANCY_THRESHOLD",
    "WINDOW_FRACTION",
    "WINDOW_STRIDE_FRACTION",
    "Overthinking",
    "answer_forms",
    "external_redundancy",
    "first_correct_solution",
    "internal_redundancy",
    "overthinking",
    "overthinking_frame",
    "overthinking_summary",
]

REDUNDANCY_THRESHOLD = 0.85
"""Mean adjacent-window cosine similarity above which the FCS counts as internally redundant."""

WINDOW_FRACTION = 0.10
"""Window size as a share of the FCS's sentences (at least one sentence)."""

WINDOW_STRIDE_FRACTION = 0.05
"""Stride as a share of the FCS's sentences (at least one sentence)."""

_OPERATORS = "+-*/^=×÷.,"


def answer_forms(answer: str) -> list[str]:
    """Return the spellings searched for an answer: as given, and numbers with/without separators."""
    text = answer.strip().strip("$").strip()
    forms = [text] if text else []
    plain = text.replace(",", "")
    if re.fullmatch(r"-?\d+(\.\d+)?", plain):
        integer, _, frac = plain.lstrip("-").partition(".")
        grouped = f"{int(integer):,}" + (f".{frac}" if frac else "")
        sign = "-" if plain.startswith("-") else ""
        for form in (plain, sign + grouped):
            if form not in forms:
                forms.append(form)
    return forms


def first_correct_solution(thinking: str, answer: str) -> int | None:
    """Return where the FCS ends in ``thinking`` (a character offset), or ``None`` if never reached.

    See the module docstring for the matching rule.
    """
    best: int | None = None
    for form in answer_forms(answer):
        for m in re.finditer(re.escape(form), thinking):
            before = thinking[m.start() - 1] if m.start() > 0 else ""
            after = thinking[m.end()] if m.end() < len(thinking) else ""
            if before and (before.isdigit() or before in _OPERATORS):
                continue
            if after and after.isdigit():
                continue
            if best is None or m.start() < best:
                best = m.start()
            break
    if best is None:
        return None
    for start, end in sentence_spans(thinking):
        if start <= best < end:
            return end
    return len(thinking)


def _token_ends(t: Trajectory) -> tuple[np.ndarray, str]:
    """End offsets (within the thinking) of its tokens, and the unit (``tokens`` or ``words``)."""
    ends = thinking_token_ends(t)
    if ends is not None and t.tokens is not None and len(t.tokens):
        return ends, "tokens"
    return np.array([m.end() for m in re.finditer(r"\S+", t.thinking)]), "words"


def external_redundancy(t: Trajectory, fcs_end: int) -> tuple[float, str]:
    """Return ``(ERD, unit)``: the share of the thinking's tokens (or words) after the FCS."""
    ends, unit = _token_ends(t)
    if len(ends) == 0:
        return 0.0, unit
    return float((ends > fcs_end).sum() / len(ends)), unit


def internal_redundancy(text: str, *, embedder: Any = None) -> float | None:
    """Mean cosine similarity of adjacent sentence windows of ``text`` (``None`` under 2 windows).

    Parameters
    ----------
    text
        Usually the FCS.
    embedder
        Anything with ``encode(list[str]) -> unit vectors``; default: the shared MiniLM embedder.
    """
    sentences = [text[s:e] for s, e in sentence_spans(text)]
    n = len(sentences)
    size = max(1, int(WINDOW_FRACTION * n))
    stride = max(1, int(WINDOW_STRIDE_FRACTION * n))
    windows = [" ".join(sentences[i : i + size]) for i in range(0, n - size + 1, stride)]
    if len(windows) < 2:
        return None
    if embedder is None:
        from workbench.analysis.embeddings import get_embedder

        embedder = get_embedder()
    vectors = np.asarray(embedder.encode(windows), dtype=np.float64)
    sims = (vectors[:-1] * vectors[1:]).sum(axis=1)
    return float(sims.mean())


@dataclass(frozen=True, slots=True)
class Overthinking:
    """Overthinking measures of one trajectory.

    Attributes
    ----------
    fcs_end
        End of the FCS in :attr:`Trajectory.raw` coordinates (``None``: the answer never appears).
    fcs_rel_pos
        ``fcs_end`` as a share of the thinking's length.
    erd
        External redundancy (share of tokens, or words, after the FCS).
    unit
        ``"tokens"`` or ``"words"``.
    ird
        Internal redundancy of the FCS (``None`` when not computed or too short).
    redundant
        ``ird > REDUNDANCY_THRESHOLD``.
    """

    fcs_end: int | None
    fcs_rel_pos: float | None
    erd: float | None
    unit: str
    ird: float | None
    redundant: bool | None

    def to_dict(self) -> dict[str, Any]:
        """Return the measures as a dict."""
        return {
            "fcs_end": self.fcs_end,
            "fcs_rel_pos": self.fcs_rel_pos,
            "erd": self.erd,
            "unit": self.unit,
            "ird": self.ird,
            "redundant": self.redundant,
        }


def _correct_answer(t: Trajectory) -> str | None:
    g = t.grade
    if g is not None and g.correct and isinstance(g.details, dict) and g.details.get("extracted"):
        return str(g.details["extracted"])
    return t.gold


def overthinking(
    trajectory: Trajectory,
    *,
    answer: str | None = None,
    internal: bool = False,
    embedder: Any = None,
) -> Overthinking:
    """Measure where the first correct solution is and how much thinking follows it.

    Parameters
    ----------
    trajectory
        A trajectory with thinking.
    answer
        The correct answer to look for; default: the graded extraction, else ``gold``.
    internal
        Also compute internal redundancy (loads the MiniLM embedder).
    embedder
        Embedder for internal redundancy.
    """
    thinking = trajectory.thinking
    target = answer if answer is not None else _correct_answer(trajectory)
    _, unit = _token_ends(trajectory)
    if not target or not thinking:
        return Overthinking(None, None, None, unit, None, None)
    end = first_correct_solution(thinking, target)
    if end is None:
        return Overthinking(None, None, None, unit, None, None)
    erd, unit = external_redundancy(trajectory, end)
    ird = internal_redundancy(thinking[:end], embedder=embedder) if internal else None
    return Overthinking(
        fcs_end=trajectory.thinking_span[0] + end,
        fcs_rel_pos=end / len(thinking),
        erd=erd,
        unit=unit,
        ird=ird,
        redundant=None if ird is None else ird > REDUNDANCY_THRESHOLD,
    )


OVERTHINKING_SCHEMA: dict[str, Any] = {
    "id": pl.String,
    "model": pl.String,
    "source": pl.String,
    "correct": pl.Boolean,
    "metadata": pl.String,
    "thinking_chars": pl.Int64,
    "fcs_found": pl.Boolean,
    "fcs_rel_pos": pl.Float64,
    "erd": pl.Float64,
    "unit": pl.String,
    "ird": pl.Float64,
    "redundant": pl.Boolean,
}


def overthinking_frame(
    trajectories: Iterable[Trajectory], *, internal: bool = False, embedder: Any = None
) -> pl.DataFrame:
    """Return one row of overthinking measures per trajectory (see :func:`overthinking`)."""
    rows: dict[str, list[Any]] = {name: [] for name in OVERTHINKING_SCHEMA}
    for t in trajectories:
        o = overthinking(t, internal=internal, embedder=embedder)
        values = {
            "id": t.id,
            "model": t.model,
            "source": t.source,
            "correct": None if t.grade is None else t.grade.correct,
            "metadata": json.dumps(t.metadata, ensure_ascii=False),
            "thinking_chars": len(t.thinking),
            "fcs_found": o.fcs_end is not None,
            "fcs_rel_pos": o.fcs_rel_pos,
            "erd": o.erd,
            "unit": o.unit,
            "ird": o.ird,
            "redundant": o.redundant,
        }
        for name, value in values.items():
            rows[name].append(value)
    return pl.DataFrame(rows, schema=OVERTHINKING_SCHEMA)


def overthinking_summary(
    frame: pl.DataFrame, *, by: str | Sequence[str] | None = "model"
) -> pl.DataFrame:
    """Aggregate :func:`overthinking_frame` by group (a column, or a metadata key)."""
    fields = [] if by is None else [by] if isinstance(by, str) else list(by)
    frame = with_metadata_columns(frame, fields)
    aggs = [
        pl.len().alias("traces"),
        pl.col("fcs_found").mean().alias("share_with_fcs"),
        pl.col("fcs_rel_pos").median().alias("fcs_rel_pos_median"),
        pl.col("erd").mean().alias("erd_mean"),
        pl.col("erd").median().alias("erd_median"),
        pl.col("ird").mean().alias("ird_mean"),
        pl.col("redundant").mean().alias("share_redundant"),
    ]
    out = frame.group_by(fields, maintain_order=True).agg(aggs) if fields else frame.select(aggs)
    return out.sort(fields, nulls_last=True) if fields else out
