"""Candidate pairs by strategy: manual, correctness, length, grade and first correct solution.

Early-exit probing, which needs a model, lives in :mod:`workbench.pairs.probe`.

Every candidate's chosen and rejected trajectories answer the same prompt group (see
:func:`~workbench.pairs.values.group_value`).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

from workbench.analysis._keyword_stats import CORRECT_THRESHOLD
from workbench.analysis._overthinking import overthinking
from workbench.pairs.derive import truncated_trajectory
from workbench.pairs.selection import Candidate
from workbench.pairs.values import completion_chars, field_value, is_correct
from workbench.trajectory import Trajectory

__all__ = [
    "correctness_candidates",
    "fcs_candidates",
    "grade_candidates",
    "length_candidates",
    "manual_candidates",
]

Groups = Mapping[str, Sequence[Trajectory]]


def _score(t: Trajectory) -> float | None:
    return None if t.grade is None else t.grade.score


def manual_candidates(groups: Groups, verdicts: Mapping[str, Mapping[str, Any]]) -> list[Candidate]:
    """Pair every trajectory marked ``chosen`` with every one marked ``rejected`` in its group.

    Parameters
    ----------
    groups
        Trajectories by prompt group.
    verdicts
        ``{trajectory id: {"value": "chosen" | "rejected", "author", "annotation_id"}}``: the
        latest whole-trajectory verdict of each annotated trajectory.
    """
    out: list[Candidate] = []
    for group, items in groups.items():
        chosen = [t for t in items if verdicts.get(t.id, {}).get("value") == "chosen"]
        rejected = [t for t in items if verdicts.get(t.id, {}).get("value") == "rejected"]
        for c, r in itertools.product(chosen, rejected):
            out.append(
                Candidate(
                    chosen=c,
                    rejected=r,
                    group=group,
                    chosen_value=_score(c),
                    rejected_value=_score(r),
                    provenance={
                        "annotations": {
                            "chosen": dict(verdicts[c.id]),
                            "rejected": dict(verdicts[r.id]),
                        }
                    },
                )
            )
    return out


def correctness_candidates(
    groups: Groups, *, threshold: float = CORRECT_THRESHOLD
) -> list[Candidate]:
    """Pair each correct trajectory with each incorrect one of the same prompt.

    Parameters
    ----------
    groups
        Trajectories by prompt group.
    threshold
        Score from which a grade without a verdict counts as correct.
    """
    out: list[Candidate] = []
    for group, items in groups.items():
        verdicts = [(t, is_correct(t, threshold=threshold)) for t in items]
        right = [t for t, ok in verdicts if ok is True]
        wrong = [t for t, ok in verdicts if ok is False]
        for c, r in itertools.product(right, wrong):
            out.append(
                Candidate(
                    chosen=c,
                    rejected=r,
                    group=group,
                    gap=1.0,
                    chosen_value=_score(c),
                    rejected_value=_score(r),
                    provenance={"correct_threshold": threshold},
                )
            )
    return out


def length_candidates(groups: Groups, *, threshold: float = CORRECT_THRESHOLD) -> list[Candidate]:
    """Pair a shorter correct trajectory (chosen) with a longer correct one (rejected).

    Length is the completion's characters (thinking plus answer); the gap is the characters saved
    and ``ratio`` the longer length over the shorter.
    """
    out: list[Candidate] = []
    for group, items in groups.items():
        right = sorted(
            (t for t in items if is_correct(t, threshold=threshold) is True),
            key=lambda t: (completion_chars(t), t.id),
        )
        for i, short in enumerate(right):
            for long in right[i + 1 :]:
                a, b = completion_chars(short), completion_chars(long)
                out.append(
                    Candidate(
                        chosen=short,
                        rejected=long,
                        group=group,
                        gap=float(b - a),
                        ratio=b / a if a else None,
                        chosen_value=_score(short),
                        rejected_value=_score(long),
                        provenance={
                            "correct_threshold": threshold,
                            "length_unit": "chars",
                            "chosen_length": a,
                            "rejected_length": b,
                        },
                    )
                )
    return out


def grade_candidates(groups: Groups, *, field: str = "grade") -> list[Candidate]:
    """Pair a trajectory with a higher value of ``field`` (chosen) with a lower one (rejected).

    Parameters
    ----------
    groups
        Trajectories by prompt group.
    field
        ``"grade"`` (the grade's score) or a metadata key such as ``"judge_grade"``. Trajectories
        without a numeric value are left out.
    """
    out: list[Candidate] = []
    for group, items in groups.items():
        valued = [(t, field_value(t, field)) for t in items]
        scored = [(t, v) for t, v in valued if v is not None]
        for (a, va), (b, vb) in itertools.combinations(scored, 2):
            if va == vb:
                continue
            (c, vc), (r, vr) = ((a, va), (b, vb)) if va > vb else ((b, vb), (a, va))
            out.append(
                Candidate(
                    chosen=c,
                    rejected=r,
                    group=group,
                    gap=vc - vr,
                    chosen_value=vc,
                    rejected_value=vr,
                    provenance={"field": field, "chosen_value": vc, "rejected_value": vr},
                )
            )
    return out


def fcs_candidates(
    groups: Groups, *, threshold: float = CORRECT_THRESHOLD
) -> tuple[list[Candidate], int]:
    """Pair the thinking cut at its first correct solution (chosen) with the original (rejected).

    The chosen trajectory is derived: the thinking up to the end of the FCS (see
    :func:`workbench.analysis._overthinking.first_correct_solution`), closed with ``</think>``,
    then the original answer. Only correct trajectories whose correct answer (the grade's
    extraction, else ``gold``) appears in the thinking before its end qualify.

    Returns
    -------
    tuple
        The candidates, and how many correct trajectories had no FCS to cut at.
    """
    out: list[Candidate] = []
    no_fcs = 0
    for group, items in groups.items():
        for t in items:
            if is_correct(t, threshold=threshold) is not True or not t.thinking or not t.answer:
                continue
            measures = overthinking(t)
            if measures.fcs_end is None or measures.fcs_end >= t.thinking_span[1]:
                no_fcs += 1
                continue
            derived = truncated_trajectory(
                t,
                measures.fcs_end,
                t.answer,
                kind="fcs",
                grade=t.grade,
                metadata={
                    "fcs_end": measures.fcs_end,
                    "fcs_rel_pos": measures.fcs_rel_pos,
                    "erd": measures.erd,
                },
            )
            saved = completion_chars(t) - completion_chars(derived)
            out.append(
                Candidate(
                    chosen=derived,
                    rejected=t,
                    group=group,
                    gap=float(saved),
                    chosen_value=_score(t),
                    rejected_value=_score(t),
                    provenance={
                        "correct_threshold": threshold,
                        "fcs_end": measures.fcs_end,
                        "fcs_rel_pos": measures.fcs_rel_pos,
                        "erd": measures.erd,
                        "erd_unit": measures.unit,
                        "chars_saved": saved,
                    },
                )
            )
    return out, no_fcs
