"""Exports: DPO, SFT, KTO and stepwise training data from a store, with lengths and a card."""

from __future__ import annotations

import os
import time
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.analysis._keyword_stats import CORRECT_THRESHOLD
from workbench.errors import ValidationError
from workbench.export.card import card_path, render_card
from workbench.export.formats import (
    correct_labels,
    kto_rows,
    preference_row,
    select_pairs,
    sft_row,
    stepwise_rows,
)
from workbench.export.lengths import (
    DEFAULT_MAX_LENGTH,
    TokenCounter,
    length_stats,
    long_rows_warning,
    row_lengths,
)
from workbench.export.text import check_style
from workbench.export.writers import to_dataset, write_rows
from workbench.pair import Pair
from workbench.store.store import Store
from workbench.trajectory import Trajectory

__all__ = [
    "EXPORT_KINDS",
    "Export",
    "WriteResult",
    "export_dpo",
    "export_kto",
    "export_sft",
    "export_stepwise",
]

EXPORT_KINDS: tuple[str, ...] = ("dpo", "sft", "kto", "stepwise")


@dataclass(slots=True)
class WriteResult:
    """Where :meth:`Export.write` put the data and the card."""

    path: Path
    card: Path | None
    rows: int


@dataclass(slots=True)
class Export:
    """Training rows ready to write, with their provenance and lengths.

    Attributes
    ----------
    kind
        One of :data:`EXPORT_KINDS`.
    rows
        The rows (TRL's format for ``kind``).
    style, think
        Dataset style and where the thinking went.
    store
        Path of the store they came from.
    counts
        What was exported and left out.
    provenance
        Strategies, their parameters, and the trajectories' models and sources.
    lengths
        Token lengths per row (``total`` is the longest sequence a trainer builds from it).
    max_length, exact, tokenizer
        The length the warnings refer to, whether lengths come from a tokenizer, and its name.
    warnings
        Problems a trainer would hit (rows longer than ``max_length``, a template that drops
        ``reasoning_content``).
    """

    kind: str
    rows: list[dict[str, Any]]
    style: str
    think: str
    store: str
    counts: dict[str, int] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    lengths: list[dict[str, int]] = field(default_factory=list)
    max_length: int = DEFAULT_MAX_LENGTH
    exact: bool = False
    tokenizer: str | None = None
    warnings: list[str] = field(default_factory=list)
    created_at: float = field(default_factory=time.time)

    def measure(self, tokenizer: Any = None, *, max_length: int = DEFAULT_MAX_LENGTH) -> Export:
        """Count tokens per row and warn about rows longer than ``max_length``; return ``self``.

        Parameters
        ----------
        tokenizer
            A transformers tokenizer (rows are rendered with its chat template as TRL would);
            ``None`` estimates from characters.
        max_length
            The trainer's ``max_length`` (TRL's default 1024).
        """
        counter = TokenCounter(tokenizer)
        self.max_length = max_length
        self.exact = counter.exact
        self.tokenizer = None if tokenizer is None else str(getattr(tokenizer, "name_or_path", ""))
        self.lengths = [row_lengths(self.kind, row, counter) for row in self.rows]
        self.warnings = []
        message = long_rows_warning(
            [x["total"] for x in self.lengths], max_length, exact=counter.exact
        )
        if message:
            self.warnings.append(message)
        template = str(getattr(tokenizer, "chat_template", "") or "")
        if (
            self.think == "reasoning_content"
            and tokenizer is not None
            and ("reasoning_content" not in template)
        ):
            self.warnings.append(
                "this tokenizer's chat template ignores reasoning_content, so the thinking would "
                "be dropped in training: export with think='tags' for it"
            )
        for w in self.warnings:
            warnings.warn(w, UserWarning, stacklevel=2)
        return self

    @property
    def columns(self) -> list[str]:
        """The rows' keys."""
        return list(self.rows[0]) if self.rows else []

    def summary(self) -> dict[str, Any]:
        """Return counts, provenance, length statistics and warnings as a JSON-compatible dict."""
        lengths: dict[str, Any] = {}
        if self.lengths:
            lengths = {
                "exact": self.exact,
                "tokenizer": self.tokenizer,
                "max_length": self.max_length,
                **{
                    part: length_stats(
                        [x[part] for x in self.lengths if part in x], max_length=self.max_length
                    )
                    for part in self.lengths[0]
                },
            }
        return {
            "kind": self.kind,
            "rows": len(self.rows),
            "style": self.style,
            "think": self.think,
            "store": self.store,
            "counts": dict(self.counts),
            "provenance": self.provenance,
            "lengths": lengths,
            "warnings": list(self.warnings),
            "columns": self.columns,
            "created_at": self.created_at,
        }

    def card(self, data_file: str | None = None) -> str:
        """Return the dataset card (Markdown with a YAML header)."""
        return render_card(self.summary(), data_file=data_file)

    def to_dataset(self) -> Any:
        """Return the rows as an in-memory ``datasets.Dataset``."""
        return to_dataset(self.rows)

    def write(
        self,
        path: str | os.PathLike[str],
        *,
        format: str | None = None,
        card: bool | str | os.PathLike[str] = True,
    ) -> WriteResult:
        """Write the rows (JSONL or Parquet) and the dataset card.

        Parameters
        ----------
        path
            The data file.
        format
            ``"jsonl"`` or ``"parquet"`` (default: from the suffix).
        card
            ``True``: ``README.md`` beside the file (``<stem>.README.md`` when another README is
            there); a path: there; ``False``: no card.
        """
        if not self.rows:
            raise ValidationError("export", f"nothing to export ({self.kind}): no rows")
        out = write_rows(self.rows, path, format=format)
        card_file: Path | None = None
        if card is not False:
            card_file = card_path(out) if card is True else Path(card)
            card_file.write_text(self.card(out.name), encoding="utf-8")
        return WriteResult(path=out, card=card_file, rows=len(self.rows))

    def __str__(self) -> str:
        counts = ", ".join(f"{k} {v}" for k, v in self.counts.items())
        return f"{self.kind}: {len(self.rows)} rows ({self.style}, thinking {self.think}); {counts}"


def _trajectory_counts(trajectories: Sequence[Trajectory]) -> dict[str, Any]:
    return {
        "models": dict(Counter(t.model or "(none)" for t in trajectories).most_common()),
        "sources": dict(Counter(t.source or "(none)" for t in trajectories).most_common()),
    }


def _pair_provenance(pairs: Sequence[Pair], trajectories: Sequence[Trajectory]) -> dict[str, Any]:
    parameters: dict[str, Any] = {}
    for p in pairs:
        parameters.setdefault(p.strategy, p.provenance.get("parameters", {}))
    return {
        "strategies": dict(Counter(p.strategy for p in pairs).most_common()),
        "parameters": parameters,
        **_trajectory_counts(trajectories),
    }


class _Cache:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.items: dict[str, Trajectory] = {}

    def get(self, tid: str) -> Trajectory:
        if tid not in self.items:
            self.items[tid] = self.store.get(tid)
        return self.items[tid]


def export_dpo(
    store: Store,
    *,
    strategies: Sequence[str] | None = None,
    pair_ids: Sequence[str] | None = None,
    style: str = "conversational",
    think: str = "tags",
    ids: bool = True,
    tokenizer: Any = None,
    max_length: int = DEFAULT_MAX_LENGTH,
) -> Export:
    """Export stored pairs as preference data with an explicit prompt (one row per pair).

    Parameters
    ----------
    store
        The store.
    strategies, pair_ids
        Which pairs (default: all).
    style
        ``"conversational"`` (messages; TRL applies the chat template) or ``"standard"`` (text).
    think
        ``"tags"``, ``"reasoning_content"`` or ``"drop"`` (see
        :data:`~workbench.export.text.THINK_STYLES`).
    ids
        Add the id columns (``pair_id``, ``chosen_id``, …).
    tokenizer, max_length
        Count tokens per row and warn about rows longer than ``max_length``.
    """
    check_style(style, think)
    pairs = select_pairs(store, strategies=strategies, pair_ids=pair_ids)
    cache = _Cache(store)
    rows = [
        preference_row(
            p, cache.get(p.chosen_id), cache.get(p.rejected_id), style=style, think=think, ids=ids
        )
        for p in pairs
    ]
    return _measured_export(
        "dpo", rows, store,
        {"pairs": len(pairs), "trajectories": len(cache.items)},
        _pair_provenance(pairs, list(cache.items.values())),
        style=style, think=think, tokenizer=tokenizer, max_length=max_length,
    )  # fmt: skip


SFT_SOURCES: tuple[str, ...] = ("pairs", "correct", "all")
KTO_SOURCES: tuple[str, ...] = ("pairs", "graded")


def _trajectories(
    store: Store, filters: dict[str, Any], counts: dict[str, int]
) -> list[Trajectory]:
    """Complete trajectories matching ``filters`` that have a prompt (others are counted)."""
    from workbench.pairs.values import has_prompt

    filters = {"status": "complete", **filters}
    out = []
    for t in store.iter_trajectories(**filters):
        if has_prompt(t):
            out.append(t)
        else:
            counts["no_prompt_left_out"] = counts.get("no_prompt_left_out", 0) + 1
    if not out:
        raise ValidationError(
            "export",
            f"no complete trajectories with a prompt match {filters}"
            + (" (those found have no prompt: import them with --join QUESTIONS --on question_id)"
               if counts.get("no_prompt_left_out") else ""),
        )  # fmt: skip
    return out


def _sourced_export(
    kind: str,
    rows: list[dict[str, Any]],
    store: Store,
    counts: dict[str, int],
    pairs: Sequence[Pair],
    trajectories: Sequence[Trajectory],
    rows_from: str,
    *,
    style: str,
    think: str,
    tokenizer: Any,
    max_length: int,
) -> Export:
    """Build the :class:`Export` of rows taken from pairs or trajectories, with provenance."""
    provenance = (
        _pair_provenance(pairs, trajectories) if pairs else _trajectory_counts(trajectories)
    )
    provenance["rows_from"] = rows_from
    return _measured_export(
        kind, rows, store, counts, provenance,
        style=style, think=think, tokenizer=tokenizer, max_length=max_length,
    )  # fmt: skip


def _measured_export(
    kind: str,
    rows: list[dict[str, Any]],
    store: Store,
    counts: dict[str, int],
    provenance: dict[str, Any],
    *,
    style: str,
    think: str,
    tokenizer: Any,
    max_length: int,
) -> Export:
    """Build the :class:`Export` of ``rows`` from ``store`` and count its tokens."""
    export = Export(
        kind=kind,
        rows=rows,
        style=style,
        think=think,
        store=str(store.path),
        counts=counts,
        provenance=provenance,
    )
    return export.measure(tokenizer, max_length=max_length)


def export_sft(
    store: Store,
    *,
    rows_from: str = "pairs",
    strategies: Sequence[str] | None = None,
    format: str = "prompt_completion",
    style: str = "conversational",
    think: str = "tags",
    ids: bool = True,
    correct_threshold: float = CORRECT_THRESHOLD,
    tokenizer: Any = None,
    max_length: int = DEFAULT_MAX_LENGTH,
    **filters: Any,
) -> Export:
    """Export traces for supervised fine-tuning.

    Parameters
    ----------
    store
        The store.
    rows_from
        ``"pairs"``: the chosen side of each stored pair (once per trajectory); ``"correct"``:
        trajectories graded correct; ``"all"``: every complete trajectory matching ``filters``.
    strategies
        ``rows_from="pairs"``: only pairs of these strategies.
    format
        ``"prompt_completion"`` or ``"messages"`` (language modeling).
    style, think, ids, tokenizer, max_length
        As for :func:`export_dpo`.
    correct_threshold
        ``rows_from="correct"``: score from which a grade without a verdict counts as correct.
    **filters
        Store filters for ``"correct"`` and ``"all"`` (``model=``, ``source=``, ``tags=``, …).
    """
    check_style(style, think)
    counts: dict[str, int] = {}
    pairs: list[Pair] = []
    if rows_from == "pairs":
        pairs = select_pairs(store, strategies=strategies)
        seen: dict[str, None] = dict.fromkeys(p.chosen_id for p in pairs)
        chosen = [store.get(tid) for tid in seen]
        counts["pairs"] = len(pairs)
    elif rows_from in ("correct", "all"):
        chosen = _trajectories(store, filters, counts)
        if rows_from == "correct":
            from workbench.pairs.values import is_correct

            graded = [t for t in chosen if is_correct(t, threshold=correct_threshold) is not None]
            if not graded:
                raise ValidationError(
                    "export.rows_from",
                    "no graded trajectories: grade them first (workbench grade), or export "
                    "--from pairs or --from all",
                )
            chosen = [t for t in graded if is_correct(t, threshold=correct_threshold)]
            counts["graded"] = len(graded)
    else:
        raise ValidationError(
            "export.rows_from", f"{rows_from!r} is not one of {list(SFT_SOURCES)}"
        )
    rows = [sft_row(t, format=format, style=style, think=think, ids=ids) for t in chosen]
    counts["trajectories"] = len(rows)
    return _sourced_export(
        "sft", rows, store, counts, pairs, chosen, rows_from,
        style=style, think=think, tokenizer=tokenizer, max_length=max_length,
    )  # fmt: skip


def export_kto(
    store: Store,
    *,
    rows_from: str = "pairs",
    strategies: Sequence[str] | None = None,
    style: str = "conversational",
    think: str = "tags",
    ids: bool = True,
    correct_threshold: float = CORRECT_THRESHOLD,
    tokenizer: Any = None,
    max_length: int = DEFAULT_MAX_LENGTH,
    **filters: Any,
) -> Export:
    """Export unpaired preference data (``label`` True = desirable) for KTO.

    Parameters
    ----------
    rows_from
        ``"pairs"``: chosen sides labelled ``True``, rejected ``False``; ``"graded"``: graded
        trajectories labelled by correctness. A trajectory with both labels is left out.
    strategies, style, think, ids, correct_threshold, tokenizer, max_length, **filters
        As for :func:`export_sft`.
    """
    check_style(style, think)
    counts: dict[str, int] = {}
    pairs: list[Pair] = []
    if rows_from == "pairs":
        pairs = select_pairs(store, strategies=strategies)
        cache = _Cache(store)
        labelled: list[tuple[Trajectory, bool, str | None]] = [
            item
            for p in pairs
            for item in (
                (cache.get(p.chosen_id), True, p.id),
                (cache.get(p.rejected_id), False, p.id),
            )
        ]
        counts["pairs"] = len(pairs)
    elif rows_from == "graded":
        labelled = correct_labels(
            _trajectories(store, filters, counts), threshold=correct_threshold
        )
        if not labelled:
            raise ValidationError(
                "export.rows_from", "no graded trajectories: grade them first, or use --from pairs"
            )
    else:
        raise ValidationError(
            "export.rows_from", f"{rows_from!r} is not one of {list(KTO_SOURCES)}"
        )
    rows, conflicts = kto_rows(labelled, style=style, think=think, ids=ids)
    counts.update(
        desirable=sum(r["label"] for r in rows),
        undesirable=sum(not r["label"] for r in rows),
        conflicting_left_out=conflicts,
    )
    trajectories = list({t.id: t for t, _, _ in labelled}.values())
    return _sourced_export(
        "kto", rows, store, counts, pairs, trajectories, rows_from,
        style=style, think=think, tokenizer=tokenizer, max_length=max_length,
    )  # fmt: skip


def export_stepwise(
    store: Store,
    *,
    unlabelled: str = "skip",
    ids: bool = True,
    tokenizer: Any = None,
    max_length: int = DEFAULT_MAX_LENGTH,
    **filters: Any,
) -> Export:
    """Export stepwise supervision (per-segment good/bad labels from annotations) for PRMs.

    Parameters
    ----------
    unlabelled
        Segments without a verdict before the last labelled one: ``"skip"`` the trajectory, or
        label them ``"good"`` / ``"bad"``.
    ids, tokenizer, max_length, **filters
        As for :func:`export_sft`.
    """
    tids = store.list_trajectories(columns=["id"], **filters)["id"].to_list()
    rows, counts, used = stepwise_rows(store, tids, unlabelled=unlabelled, ids=ids)
    if not rows:
        raise ValidationError(
            "export.stepwise",
            "no trajectory has segments annotated good/bad"
            + (f" ({counts['unlabelled_gaps']} have unlabelled segments in between: pass "
               "unlabelled='good' or 'bad')" if counts["unlabelled_gaps"] else "")
            + ": segment them (workbench analyze) and annotate segment verdicts",
        )  # fmt: skip
    chosen = [store.get(tid) for tid in used]
    return _measured_export(
        "stepwise", rows, store, counts, {"unlabelled": unlabelled, **_trajectory_counts(chosen)},
        style="standard", think="steps", tokenizer=tokenizer, max_length=max_length,
    )  # fmt: skip
