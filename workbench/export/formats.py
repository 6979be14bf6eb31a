"""Training rows in TRL's dataset formats (research notes §6), built from the store.

=====================  ==========================================  ==================================
type                   standard                                    conversational
=====================  ==========================================  ==================================
preference (DPO)       ``{"prompt", "chosen", "rejected"}``         the same keys holding messages
prompt-completion      ``{"prompt", "completion"}``                 the same keys holding messages
language modeling      ``{"text"}``                                 ``{"messages"}``
unpaired (KTO)         ``{"prompt", "completion", "label"}``        the same keys holding messages
stepwise (PRM)         ``{"prompt", "completions", "labels"}``      —
=====================  ==========================================  ==================================

Every row also carries the ids it came from (``pair_id``, ``chosen_id``, ``rejected_id``,
``strategy``, ``prompt_key``; ``trajectory_id`` for single trajectories) unless ``ids=False``; TRL
ignores columns it does not use.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import polars as pl

from workbench.errors import ValidationError
from workbench.export.text import (
    assistant_message,
    check_style,
    completion_text,
    prompt_messages,
    prompt_text,
)
from workbench.pair import Pair
from workbench.pairs.values import has_prompt, is_correct
from workbench.store.store import Store
from workbench.trajectory import Trajectory

__all__ = [
    "SFT_FORMATS",
    "correct_labels",
    "kto_row",
    "kto_rows",
    "preference_row",
    "select_pairs",
    "sft_row",
    "stepwise_rows",
]

SFT_FORMATS: tuple[str, ...] = ("prompt_completion", "messages")
"""SFT layouts: prompt-completion (loss on the completion only, TRL's default) or language modeling
(``messages`` conversational, ``text`` standard)."""


def select_pairs(
    store: Store,
    *,
    strategies: Sequence[str] | None = None,
    pair_ids: Sequence[str] | None = None,
) -> list[Pair]:
    """Return the stored pairs to export, in storage order.

    Parameters
    ----------
    store
        The store.
    strategies
        Only pairs made with these strategies (default: all).
    pair_ids
        Only these pairs.

    Raises
    ------
    ValidationError
        When no pair matches (with the strategies the store does hold).
    """
    frame = store.list_pairs()
    if strategies:
        frame = frame.filter(pl.col("strategy").is_in(list(strategies)))
    if pair_ids is not None:
        frame = frame.filter(pl.col("id").is_in(list(pair_ids)))
    if frame.is_empty():
        held = store.list_pairs()["strategy"].value_counts(sort=True).rows()
        what = ", ".join(f"{s} {n}" for s, n in held) or "none"
        raise ValidationError(
            "export.pairs",
            f"no stored pairs match (strategies {list(strategies or []) or 'any'}); the store "
            f"holds: {what}. Make some with workbench pairs --strategy S",
        )
    out = []
    for row in frame.iter_rows(named=True):
        row["provenance"] = json.loads(row["provenance"])
        out.append(Pair(**row))
    return out


def _check_prompt(t: Trajectory) -> None:
    if not has_prompt(t):
        raise ValidationError(
            "export.prompt",
            f"trajectory {t.id} has no prompt, and training rows need one: import traces with "
            "their questions (workbench import TRACES --join QUESTIONS --on question_id)",
        )


def preference_row(
    pair: Pair,
    chosen: Trajectory,
    rejected: Trajectory,
    *,
    style: str = "conversational",
    think: str = "tags",
    ids: bool = True,
) -> dict[str, Any]:
    """Return one preference row with an explicit prompt (what ``DPOTrainer`` wants).

    The prompt is the chosen trajectory's (pairs grouped by a metadata key may join differently
    worded prompts; the chosen one's wording is used).

    Parameters
    ----------
    pair
        The stored pair.
    chosen, rejected
        Its trajectories.
    style
        ``"conversational"`` (messages) or ``"standard"`` (text).
    think
        Where the thinking goes (:data:`~workbench.export.text.THINK_STYLES`).
    ids
        Add ``pair_id, strategy, chosen_id, rejected_id, prompt_key``.
    """
    check_style(style, think)
    _check_prompt(chosen)
    if style == "conversational":
        row: dict[str, Any] = {
            "prompt": prompt_messages(chosen),
            "chosen": [assistant_message(chosen, think=think)],
            "rejected": [assistant_message(rejected, think=think)],
        }
    else:
        row = {
            "prompt": prompt_text(chosen),
            "chosen": completion_text(chosen, think=think),
            "rejected": completion_text(rejected, think=think),
        }
    if ids:
        row.update(
            pair_id=pair.id,
            strategy=pair.strategy,
            chosen_id=pair.chosen_id,
            rejected_id=pair.rejected_id,
            prompt_key=pair.prompt_key,
        )
    return row


def sft_row(
    trajectory: Trajectory,
    *,
    format: str = "prompt_completion",
    style: str = "conversational",
    think: str = "tags",
    ids: bool = True,
) -> dict[str, Any]:
    """Return one SFT row: prompt-completion, or language modeling (``messages`` / ``text``)."""
    check_style(style, think)
    if format not in SFT_FORMATS:
        raise ValidationError("export.format", f"{format!r} is not one of {list(SFT_FORMATS)}")
    _check_prompt(trajectory)
    row: dict[str, Any]
    if style == "conversational":
        message = assistant_message(trajectory, think=think)
        if format == "messages":
            row = {"messages": [*prompt_messages(trajectory), message]}
        else:
            row = {"prompt": prompt_messages(trajectory), "completion": [message]}
    else:
        completion = completion_text(trajectory, think=think)
        if format == "messages":
            row = {"text": f"{prompt_text(trajectory)}\n\n{completion}"}
        else:
            row = {"prompt": prompt_text(trajectory), "completion": completion}
    if ids:
        row["trajectory_id"] = trajectory.id
    return row


def kto_row(
    trajectory: Trajectory,
    label: bool,
    *,
    style: str = "conversational",
    think: str = "tags",
    ids: bool = True,
    pair_id: str | None = None,
) -> dict[str, Any]:
    """Return one unpaired-preference row ``{"prompt", "completion", "label"}``."""
    row = sft_row(trajectory, style=style, think=think, ids=ids)
    row["label"] = bool(label)
    if ids:
        row["pair_id"] = pair_id
    return row


def kto_rows(
    labelled: Iterable[tuple[Trajectory, bool, str | None]],
    *,
    style: str = "conversational",
    think: str = "tags",
    ids: bool = True,
) -> tuple[list[dict[str, Any]], int]:
    """Return unpaired rows for ``(trajectory, label, pair id)`` triples, and the conflicts dropped.

    A trajectory appears once per label; one labelled both desirable and undesirable (chosen in a
    pair, rejected in another) is left out and counted as a conflict.
    """
    seen: dict[str, tuple[Trajectory, bool, str | None]] = {}
    conflicts: set[str] = set()
    for t, label, pair_id in labelled:
        if t.id in seen and seen[t.id][1] != label:
            conflicts.add(t.id)
        seen.setdefault(t.id, (t, label, pair_id))
    rows = [
        kto_row(t, label, style=style, think=think, ids=ids, pair_id=pid)
        for tid, (t, label, pid) in seen.items()
        if tid not in conflicts
    ]
    return rows, len(conflicts)


def correct_labels(
    trajectories: Iterable[Trajectory], *, threshold: float
) -> list[tuple[Trajectory, bool, str | None]]:
    """Return ``(trajectory, correct, None)`` for the graded trajectories (for KTO)."""
    out: list[tuple[Trajectory, bool, str | None]] = []
    for t in trajectories:
        verdict = is_correct(t, threshold=threshold)
        if verdict is not None:
            out.append((t, verdict, None))
    return out


def stepwise_rows(
    store: Store,
    trajectory_ids: Sequence[str],
    *,
    unlabelled: str = "skip",
    ids: bool = True,
) -> tuple[list[dict[str, Any]], dict[str, int], list[str]]:
    """Return stepwise-supervision rows from per-segment ``good``/``bad`` verdicts.

    Each row is ``{"prompt": text, "completions": [segment texts], "labels": [bool]}`` over the
    trajectory's stored segments in order, up to its last labelled segment.

    Parameters
    ----------
    store
        The store (segments and annotations).
    trajectory_ids
        Candidates; those without any segment verdict are left out.
    unlabelled
        Segments without a verdict before the last labelled one: ``"skip"`` leaves the trajectory
        out (default), ``"good"`` or ``"bad"`` label them so.
    ids
        Add ``trajectory_id``.

    Returns
    -------
    tuple
        The rows; counts: ``trajectories`` (rows), ``unlabelled_gaps`` (left out), ``steps``,
        ``good``, ``bad``; and the ids of the trajectories the rows come from.
    """
    if unlabelled not in ("skip", "good", "bad"):
        raise ValidationError("export.unlabelled", f"{unlabelled!r} is not skip, good or bad")
    frame = store.list_annotations(kind="verdict", history=False)
    verdicts: dict[str, dict[str, bool]] = {}
    for ann in frame.iter_rows(named=True):
        if ann["segment_id"] is None:
            continue
        value = json.loads(ann["value"])
        if value in ("good", "bad"):
            verdicts.setdefault(ann["trajectory_id"], {})[ann["segment_id"]] = value == "good"
    rows: list[dict[str, Any]] = []
    used: list[str] = []
    counts = {"trajectories": 0, "unlabelled_gaps": 0, "steps": 0, "good": 0, "bad": 0}
    for tid in trajectory_ids:
        labels = verdicts.get(tid)
        if not labels:
            continue
        segments = store.get_segments(tid)
        last = max((i for i, s in enumerate(segments) if s.id in labels), default=-1)
        if last < 0:
            continue
        steps = segments[: last + 1]
        if unlabelled == "skip" and any(s.id not in labels for s in steps):
            counts["unlabelled_gaps"] += 1
            continue
        values = [labels.get(s.id, unlabelled == "good") for s in steps]
        t = store.get(tid)
        _check_prompt(t)
        row: dict[str, Any] = {
            "prompt": prompt_text(t),
            "completions": [s.text for s in steps],
            "labels": values,
        }
        if ids:
            row["trajectory_id"] = tid
        rows.append(row)
        used.append(tid)
        counts["trajectories"] += 1
        counts["steps"] += len(values)
        counts["good"] += sum(values)
        counts["bad"] += len(values) - sum(values)
    return rows, counts, used
