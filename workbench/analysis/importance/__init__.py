"""Which thoughts matter: counterfactual importance of each segment of a thinking trace.

Resample the model from every segment boundary of a stored trajectory, grade the answers, and
report per segment how much keeping it (rather than letting the model write its own next step)
changes p(correct) and the answer distribution, with confidence intervals. Two modes: Thought
Anchors' resampling (the model continues thinking; Bogdan et al. 2025) and DTO's early-exit probe
(the thinking is closed at the boundary and the model answers; :func:`workbench.pairs.probe_trajectory`
is this mode with a stopping rule). Samples are stored as they finish, so runs resume.

Examples
--------
::

    from workbench.analysis.importance import segment_importance
    result = segment_importance(trajectory, session.backend, config="quick", store=store)
    result.frame()          # one row per segment: p_keep, p_drop, delta [ci_low, ci_high], KL
    result.chart()          # the importance strip
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench._lazy import lazy_attributes

if TYPE_CHECKING:
    from workbench.analysis.importance._config import (
        MODES,
        PRESETS,
        ImportanceConfig,
        experiment_key,
        get_preset,
    )
    from workbench.analysis.importance._engine import (
        ImportanceEstimate,
        estimate_importance,
        math_answer_key,
        segment_importance,
    )
    from workbench.analysis.importance._records import ImportanceSample, plan_boundaries
    from workbench.analysis.importance._result import (
        BoundaryStat,
        ImportanceResult,
        SegmentImportance,
    )
    from workbench.analysis.importance._sampler import sample_continuations
    from workbench.analysis.importance._stats import (
        answer_kl,
        newcombe_interval,
        wilson_interval,
    )

_WHERE = {
    "MODES": "workbench.analysis.importance._config",
    "PRESETS": "workbench.analysis.importance._config",
    "ImportanceConfig": "workbench.analysis.importance._config",
    "experiment_key": "workbench.analysis.importance._config",
    "get_preset": "workbench.analysis.importance._config",
    "ImportanceEstimate": "workbench.analysis.importance._engine",
    "estimate_importance": "workbench.analysis.importance._engine",
    "math_answer_key": "workbench.analysis.importance._engine",
    "segment_importance": "workbench.analysis.importance._engine",
    "ImportanceSample": "workbench.analysis.importance._records",
    "plan_boundaries": "workbench.analysis.importance._records",
    "BoundaryStat": "workbench.analysis.importance._result",
    "ImportanceResult": "workbench.analysis.importance._result",
    "SegmentImportance": "workbench.analysis.importance._result",
    "sample_continuations": "workbench.analysis.importance._sampler",
    "answer_kl": "workbench.analysis.importance._stats",
    "newcombe_interval": "workbench.analysis.importance._stats",
    "wilson_interval": "workbench.analysis.importance._stats",
}

__all__ = [
    "MODES",
    "PRESETS",
    "BoundaryStat",
    "ImportanceConfig",
    "ImportanceEstimate",
    "ImportanceResult",
    "ImportanceSample",
    "SegmentImportance",
    "answer_kl",
    "estimate_importance",
    "experiment_key",
    "get_preset",
    "math_answer_key",
    "newcombe_interval",
    "plan_boundaries",
    "sample_continuations",
    "segment_importance",
    "wilson_interval",
]
__getattr__, __dir__ = lazy_attributes(__name__, _WHERE, [])
