"""Make preference pairs from a store's trajectories and store them, with provenance."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from workbench._version import __version__
from workbench.analysis._keyword_stats import CORRECT_THRESHOLD
from workbench.backends.base import Backend
from workbench.errors import ValidationError
from workbench.pair import Pair
from workbench.pairs.derive import derived_dedup_key
from workbench.pairs.probe import (
    ProbeConfig,
    ProbeGrader,
    early_exit_trajectory,
    probe_trajectory,
)
from workbench.pairs.selection import Candidate, Selection, select
from workbench.pairs.strategies import (
    correctness_candidates,
    fcs_candidates,
    grade_candidates,
    length_candidates,
    manual_candidates,
)
from workbench.pairs.values import (
    DERIVED_KEY,
    completion_chars,
    field_value,
    group_value,
    has_prompt,
    is_correct,
    trajectory_provenance,
)
from workbench.store.store import Store
from workbench.trajectory import Trajectory

__all__ = ["PAIR_MAKERS", "PairReport", "make_pairs"]

PAIR_MAKERS: tuple[str, ...] = ("manual", "correctness", "length", "grade", "fcs", "early_exit")
"""Strategies :func:`make_pairs` can run (``imported`` pairs come from preference files)."""

PROBE_METADATA_KEY = "early_exit_probe"
"""Metadata key under which a probed trajectory keeps its last probe curve."""


@dataclass(slots=True)
class PairReport:
    """What :func:`make_pairs` did.

    Attributes
    ----------
    strategy
        The strategy run.
    parameters
        The strategy's parameters and the selection rules (as recorded in each pair).
    trajectories
        Trajectories considered (after filters, status and prompt checks).
    groups
        Prompt groups among them.
    candidates
        Candidate pairs the strategy proposed.
    pair_ids
        Ids of the pairs kept (stored unless ``dry_run``), new and already stored.
    new_pairs, already_stored
        How many of them were new, and how many the store already held.
    derived
        Ids of the derived (truncated) trajectories stored as chosen sides.
    skipped
        Trajectories or candidates left out, by reason.
    dry_run
        ``True`` when nothing was written.
    pairs
        The kept pairs (also when ``dry_run``).
    """

    strategy: str
    parameters: dict[str, Any] = field(default_factory=dict)
    trajectories: int = 0
    groups: int = 0
    candidates: int = 0
    pair_ids: list[str] = field(default_factory=list)
    new_pairs: int = 0
    already_stored: int = 0
    derived: list[str] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    dry_run: bool = False
    pairs: list[Pair] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Return the report as a JSON-compatible dict (without the pair objects)."""
        return {
            "strategy": self.strategy,
            "parameters": self.parameters,
            "trajectories": self.trajectories,
            "groups": self.groups,
            "candidates": self.candidates,
            "pairs": len(self.pair_ids),
            "new_pairs": self.new_pairs,
            "already_stored": self.already_stored,
            "derived": len(self.derived),
            "skipped": dict(self.skipped),
            "dry_run": self.dry_run,
            "pair_ids": list(self.pair_ids),
        }

    def __str__(self) -> str:
        skipped = ", ".join(f"{k} {v}" for k, v in sorted(self.skipped.items())) or "none"
        verb = "would store" if self.dry_run else "stored"
        return (
            f"{self.strategy}: {self.trajectories} trajectories in {self.groups} prompt groups, "
            f"{self.candidates} candidates; {verb} {len(self.pair_ids)} pairs "
            f"({self.new_pairs} new, {self.already_stored} already stored, "
            f"{len(self.derived)} derived trajectories); skipped: {skipped}"
        )


def _load(
    store: Store,
    *,
    statuses: Iterable[str],
    include_derived: bool,
    filters: dict[str, Any],
    skipped: Counter[str],
) -> list[Trajectory]:
    ids = store.list_trajectories(columns=["id"], **{"status": list(statuses), **filters})[
        "id"
    ].to_list()
    out: list[Trajectory] = []
    for tid in ids:
        t = store.get(tid)
        if not include_derived and t.metadata.get(DERIVED_KEY):
            skipped["derived"] += 1
            continue
        if not has_prompt(t):
            skipped["empty_prompt"] += 1
            continue
        out.append(t)
    if not out:
        if skipped["empty_prompt"]:
            raise ValidationError(
                "pairs",
                f"{skipped['empty_prompt']} trajectories have no prompt, and training pairs need "
                "one: import them with their questions (workbench import TRACES --join "
                "QUESTIONS --on question_id)",
            )
        raise ValidationError(
            "pairs",
            f"no trajectories to pair in {store.path} with filters {filters or {}} and status "
            f"{list(statuses)}: import or generate some first",
        )
    return out


def _group(
    trajectories: list[Trajectory], by: str | None, skipped: Counter[str]
) -> dict[str, list[Trajectory]]:
    groups: dict[str, list[Trajectory]] = defaultdict(list)
    for t in trajectories:
        key = group_value(t, by)
        if key is None:
            skipped["no_group"] += 1
            continue
        groups[key].append(t)
    if not groups:
        raise ValidationError(
            "pairs.by", f"no trajectory has the metadata key {by!r} to group prompts by"
        )
    return dict(groups)


def _verdicts(store: Store, ids: set[str]) -> dict[str, dict[str, Any]]:
    frame = store.list_annotations(kind="verdict", history=False)
    out: dict[str, dict[str, Any]] = {}
    for row in frame.iter_rows(named=True):
        if row["segment_id"] is not None or row["trajectory_id"] not in ids:
            continue
        value = json.loads(row["value"])
        if value in ("chosen", "rejected"):
            out[row["trajectory_id"]] = {
                "value": value,
                "author": row["author"],
                "annotation_id": row["id"],
            }
    return out


def _check_graded(trajectories: list[Trajectory], strategy: str, threshold: float) -> None:
    if not any(is_correct(t, threshold=threshold) is not None for t in trajectories):
        raise ValidationError(
            "pairs",
            f"the {strategy} strategy needs graded trajectories and none of the "
            f"{len(trajectories)} selected is graded: grade them first (workbench grade "
            "--grader math|ifeval), or use --strategy grade --field NAME for a numeric field",
        )


def _check_field(trajectories: list[Trajectory], name: str) -> None:
    if any(field_value(t, name) is not None for t in trajectories):
        return
    keys = sorted({k for t in trajectories for k in t.metadata})
    numeric = sorted({k for t in trajectories for k in t.metadata if field_value(t, k) is not None})
    raise ValidationError(
        "pairs.field",
        f"no selected trajectory has a numeric {name!r}: use 'grade' (the grade's score) or a "
        f"numeric metadata key ({', '.join(numeric) or 'none'}; all keys: "
        f"{', '.join(keys[:20]) or 'none'})",
    )


def _probe_candidates(
    store: Store,
    groups: dict[str, list[Trajectory]],
    *,
    backend: Backend | None,
    probe: ProbeConfig,
    grader: ProbeGrader | None,
    tokenizer: Any,
    limit: int | None,
    record_curves: bool,
    dry_run: bool,
    skipped: Counter[str],
    progress: Callable[[int, int], None] | None,
) -> list[Candidate]:
    if backend is None:
        raise ValidationError(
            "pairs.backend",
            "early_exit probing samples answers: pass backend= (e.g. "
            "TransformersBackend('smollm2-135m')) or --probe-model on the command line",
        )
    todo = [(g, t) for g, items in groups.items() for t in items if t.thinking]
    skipped["no_thinking"] += sum(len(v) for v in groups.values()) - len(todo)
    if limit is not None:
        skipped["over_limit"] += max(0, len(todo) - limit)
        todo = todo[:limit]
    out: list[Candidate] = []
    for done, (group, t) in enumerate(todo, start=1):
        curve = probe_trajectory(t, backend, config=probe, grader=grader, tokenizer=tokenizer)
        curve_dict = curve.to_dict()
        if record_curves and not dry_run:
            store.update(t.id, metadata={PROBE_METADATA_KEY: curve_dict})
        if progress is not None:
            progress(done, len(todo))
        if not curve.points:
            skipped["no_boundaries"] += 1
            continue
        derived = early_exit_trajectory(t, curve)
        if derived is None:
            skipped["no_early_exit" if curve.exit_point is None else "saves_too_little"] += 1
            continue
        derived.metadata[PROBE_METADATA_KEY] = curve_dict
        point = curve.exit_point
        assert point is not None
        saved = completion_chars(t) - completion_chars(derived)
        out.append(
            Candidate(
                chosen=derived,
                rejected=t,
                group=group,
                gap=float(max(saved, curve.thinking_chars - point.thinking_chars)),
                chosen_value=1.0,
                rejected_value=None if t.grade is None else t.grade.score,
                provenance={
                    "probe": curve_dict,
                    "exit_boundary": point.boundary,
                    "exit_p": point.p,
                    "chars_saved": saved,
                },
            )
        )
    return out


def make_pairs(
    store: Store,
    strategy: str,
    *,
    field: str = "grade",
    by: str | None = None,
    selection: Selection | None = None,
    correct_threshold: float = CORRECT_THRESHOLD,
    statuses: Iterable[str] = ("complete",),
    include_derived: bool = False,
    backend: Backend | None = None,
    probe: ProbeConfig | None = None,
    grader: ProbeGrader | None = None,
    tokenizer: Any = None,
    limit: int | None = None,
    record_curves: bool = True,
    dry_run: bool = False,
    author: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    **filters: Any,
) -> PairReport:
    """Make preference pairs with a strategy, select among them, and store them.

    Parameters
    ----------
    store
        The store to read trajectories from and write pairs (and derived trajectories) to.
    strategy
        One of :data:`PAIR_MAKERS`:

        * ``manual``: trajectories annotated with the verdict ``chosen`` against those annotated
          ``rejected`` for the same prompt;
        * ``correctness``: correct against incorrect answers to the same prompt;
        * ``length``: the shorter correct completion against a longer correct one;
        * ``grade``: the higher value of ``field`` against the lower;
        * ``fcs``: the thinking cut at its first correct solution, closed, plus the answer,
          against the original;
        * ``early_exit``: early-exit probing with ``backend`` (see :mod:`workbench.pairs.probe`).
    field
        ``grade`` strategy: ``"grade"`` (the grade's score) or a numeric metadata key (e.g. the
        imported ``"judge_grade"``).
    by
        Metadata key that identifies "the same prompt" (e.g. ``"question_id"``); default: the
        prompt messages themselves.
    selection
        :class:`~workbench.pairs.selection.Selection` rules (gaps, required grades, de-duplication,
        per-prompt caps).
    correct_threshold
        Score from which a grade without a verdict counts as correct.
    statuses
        Trajectory statuses considered (default only complete ones).
    include_derived
        Also consider trajectories derived by ``fcs`` or ``early_exit`` (left out by default).
    backend, probe, grader, tokenizer, limit, record_curves
        ``early_exit`` only: the backend that samples answers, :class:`ProbeConfig`, a grader
        ``(trajectory, answer) -> bool`` (default math against ``gold``, else IFEval), a tokenizer
        to count thinking tokens at each boundary, the most trajectories to probe, and whether
        to keep each probe curve in the probed trajectory's metadata (``early_exit_probe``).
    dry_run
        Build and select pairs but write nothing.
    author
        Recorded in the provenance (default: the login name).
    progress
        ``early_exit``: called with ``(done, total)`` after each probed trajectory.
    **filters
        Store filters selecting the trajectories (``model=``, ``source=``, ``tags=``, …).

    Returns
    -------
    PairReport
        Counts, the stored pair ids and the reasons for what was left out.

    Raises
    ------
    ValidationError
        For an unknown strategy, no trajectories, none graded (``correctness``, ``length``,
        ``fcs``), a missing field (``grade``), or no backend (``early_exit``).
    """
    if strategy not in PAIR_MAKERS:
        raise ValidationError(
            "pairs.strategy", f"unknown strategy {strategy!r}: use one of {list(PAIR_MAKERS)}"
        )
    selection = selection or Selection()
    probe = probe or ProbeConfig()
    skipped: Counter[str] = Counter()
    trajectories = _load(
        store,
        statuses=statuses,
        include_derived=include_derived,
        filters=filters,
        skipped=skipped,
    )
    groups = _group(trajectories, by, skipped)
    parameters: dict[str, Any] = {"by": by, "selection": selection.to_dict(), "filters": filters}
    if strategy in ("correctness", "length", "fcs"):
        _check_graded(trajectories, strategy, correct_threshold)
        parameters["correct_threshold"] = correct_threshold
    if strategy == "manual":
        verdicts = _verdicts(store, {t.id for t in trajectories})
        if not verdicts:
            raise ValidationError(
                "pairs",
                "no selected trajectory carries a chosen/rejected verdict: annotate them first "
                "(store.add_annotation(id, 'verdict', 'chosen'))",
            )
        candidates = manual_candidates(groups, verdicts)
    elif strategy == "correctness":
        candidates = correctness_candidates(groups, threshold=correct_threshold)
    elif strategy == "length":
        candidates = length_candidates(groups, threshold=correct_threshold)
    elif strategy == "grade":
        _check_field(trajectories, field)
        parameters["field"] = field
        candidates = grade_candidates(groups, field=field)
    elif strategy == "fcs":
        candidates, no_fcs = fcs_candidates(groups, threshold=correct_threshold)
        if no_fcs:
            skipped["no_fcs"] += no_fcs
    else:
        parameters["probe"] = probe.to_dict()
        parameters["probe_model"] = None if backend is None else backend.model_name
        candidates = _probe_candidates(
            store,
            groups,
            backend=backend,
            probe=probe,
            grader=grader,
            tokenizer=tokenizer,
            limit=limit,
            record_curves=record_curves,
            dry_run=dry_run,
            skipped=skipped,
            progress=progress,
        )
    kept, dropped = select(candidates, selection, strategy=strategy)
    skipped.update(dropped)
    report = PairReport(
        strategy=strategy,
        parameters=parameters,
        trajectories=len(trajectories),
        groups=len(groups),
        candidates=len(candidates),
        skipped=dict(skipped),
        dry_run=dry_run,
    )
    from workbench.annotation import default_author

    who = author or default_author()
    existing = set(store.list_pairs(strategy=strategy)["id"].to_list()) if not dry_run else set()
    for c in kept:
        pair = _pair(c, strategy, parameters, by, who)
        if not dry_run:
            if c.chosen.parent_id is not None and c.chosen.id not in store:
                stored_id = store.add(c.chosen, dedup_key=derived_dedup_key(c.chosen, strategy))
                if stored_id != c.chosen.id:  # derived before: pair the stored one
                    c.chosen = store.get(stored_id)
                    pair = _pair(c, strategy, parameters, by, who)
                report.derived.append(c.chosen.id)
            pair_id = store.add_pair(pair)
            if pair_id in existing:
                report.already_stored += 1
            else:
                report.new_pairs += 1
                existing.add(pair_id)
            if pair_id != pair.id:
                pair = store.get_pair(pair_id)
        else:
            report.new_pairs += 1
        report.pair_ids.append(pair.id)
        report.pairs.append(pair)
    return report


def _pair(
    c: Candidate, strategy: str, parameters: dict[str, Any], by: str | None, who: str
) -> Pair:
    from workbench.trajectory import prompt_key

    provenance = {
        "strategy": strategy,
        "parameters": parameters,
        "group_by": by or "prompt",
        "group": c.group,
        "gap": c.gap,
        "ratio": c.ratio,
        "chosen_value": c.chosen_value,
        "rejected_value": c.rejected_value,
        "chosen": trajectory_provenance(c.chosen),
        "rejected": trajectory_provenance(c.rejected),
        "chosen_chars": completion_chars(c.chosen),
        "rejected_chars": completion_chars(c.rejected),
        "author": who,
        "workbench": __version__,
        **c.provenance,
    }
    return Pair(
        prompt_key=prompt_key(c.chosen.prompt),
        chosen_id=c.chosen.id,
        rejected_id=c.rejected.id,
        strategy=strategy,
        provenance=provenance,
    )
