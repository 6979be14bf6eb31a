"""Preference pairs from recorded trajectories: strategies, selection, early-exit probing.

:func:`make_pairs` runs a strategy (``manual``, ``correctness``, ``length``, ``grade``, ``fcs``,
``early_exit``), applies a :class:`Selection`, and stores the pairs with their provenance;
:func:`pair_summary` counts them and measures their lengths. Exports live in
:mod:`workbench.export`.
"""

from workbench.pairs.build import PAIR_MAKERS, PairReport, make_pairs
from workbench.pairs.probe import (
    ProbeConfig,
    ProbeCurve,
    ProbePoint,
    early_exit_trajectory,
    probe_trajectory,
)
from workbench.pairs.selection import Candidate, Selection
from workbench.pairs.summary import pair_summary

__all__ = [
    "PAIR_MAKERS",
    "Candidate",
    "PairReport",
    "ProbeConfig",
    "ProbeCurve",
    "ProbePoint",
    "Selection",
    "early_exit_trajectory",
    "make_pairs",
    "pair_summary",
    "probe_trajectory",
]
