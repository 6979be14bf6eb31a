"""The importance strip of a LiveTrace column: an importance result as one protocol message.

:meth:`LiveTrace.show_importance <workbench.widgets.LiveTrace.show_importance>` checks that a
:class:`~workbench.analysis.importance.ImportanceResult` measures the trajectory a column shows and
turns it into an :class:`~workbench.widgets._protocol.ImportanceMsg`: one bar per measured
segment, in thinking order, with its raw-text span (so the view links bar and text), its pattern
label, the measure, its interval and a short preview of its text.
"""

from __future__ import annotations

import math
from typing import Any

from workbench.errors import ValidationError
from workbench.widgets._protocol import ImportanceBar, ImportanceMsg

__all__ = ["MEASURES", "importance_message"]

MEASURES: dict[str, tuple[str, str | None, str]] = {
    "delta": ("Δ p(correct)", "ci", "significant"),
    "counterfactual_delta": ("Δ p(correct) vs different", "counterfactual_ci", "counterfactual"),
    "kl": ("answer KL (nats)", None, "significant"),
    "counterfactual_kl": ("answer KL vs different (nats)", None, "counterfactual"),
}
"""Per measure: the y-axis title, the attribute of its interval (``None``: none) and which Δp
interval decides a faded bar (the segment's own, or the counterfactual one)."""

PREVIEW_CHARS = 160
"""Characters of a segment's text sent for its tooltip."""


def _preview(text: str, n: int = PREVIEW_CHARS) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _number(value: Any) -> float | None:
    if value is None:
        return None
    v = float(value)
    return v if math.isfinite(v) else None


def _significant(segment: Any, which: str) -> bool:
    if which == "significant":
        return bool(segment.significant)
    ci = segment.counterfactual_ci
    return ci is not None and (ci[0] > 0 or ci[1] < 0)


def importance_message(
    result: Any,
    *,
    sample: int,
    trajectory_id: str,
    text_length: int,
    measure: str = "delta",
) -> ImportanceMsg:
    """Return the message that draws ``result`` under column ``sample``.

    Raises
    ------
    ValidationError
        For an unknown measure, a result of another trajectory, a result without measured
        segments, or segment spans outside the column's text.
    """
    where = "LiveTrace.show_importance"
    if measure not in MEASURES:
        raise ValidationError(f"{where}.measure", f"{measure!r} is not one of {list(MEASURES)}")
    if result.trajectory_id != trajectory_id:
        raise ValidationError(
            f"{where}.result",
            f"the result measures trajectory {result.trajectory_id!r} but sample {sample} shows "
            f"{trajectory_id!r}: pass the sample= of the column that shows "
            f"{result.trajectory_id!r}, or run segment_importance on {trajectory_id!r}",
        )
    if not result.segments:
        raise ValidationError(
            f"{where}.result",
            "the result has no measured segment: run segment_importance with samples >= 1 "
            "(and segments= that includes some of the thinking's segments)",
        )
    axis, ci_field, which = MEASURES[measure]
    bars: list[ImportanceBar] = []
    for s in sorted(result.segments, key=lambda s: s.index):
        start, end = (int(v) for v in s.char_span)
        if not 0 <= start <= end <= text_length:
            raise ValidationError(
                f"{where}.result",
                f"segment {s.index} spans characters {start}..{end} but sample {sample} has "
                f"{text_length}: the result was computed on another text of this trajectory",
            )
        ci = getattr(s, ci_field) if ci_field else None
        bars.append(
            {
                "index": int(s.index),
                "start": start,
                "end": end,
                "label": s.label,
                "value": _number(getattr(s, measure)),
                "lo": None if ci is None else _number(ci[0]),
                "hi": None if ci is None else _number(ci[1]),
                "significant": _significant(s, which),
                "p_keep": float(s.p_keep),
                "p_drop": float(s.p_drop),
                "n_keep": int(s.n_keep),
                "n_drop": int(s.n_drop),
                "preview": _preview(s.text),
            }
        )
    level = round(100 * float(result.config.get("confidence", 0.95)))
    against = "different resamples" if which == "counterfactual" else "resamples"
    return {
        "type": "importance",
        "sample": int(sample),
        "measure": measure,
        "axis": axis,
        "interval": f"{level}% interval" if ci_field else "",
        "faded": f"faded: the {level}% interval of Δ p(correct) vs {against} includes 0",
        "caption": (
            f"{result.config.get('mode', 'resample')} · {result.n_samples} continuations · "
            f"{result.model}"
        ),
        "bars": bars,
    }
