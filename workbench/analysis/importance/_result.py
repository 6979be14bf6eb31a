"""The result of counterfactual importance: per boundary p(correct), per segment the change."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import polars as pl

from workbench.analysis.importance._config import ImportanceConfig
from workbench.analysis.importance._records import ImportanceSample
from workbench.analysis.importance._stats import answer_kl, newcombe_interval, wilson_interval
from workbench.segment import Segment

__all__ = ["BoundaryStat", "ImportanceResult", "SegmentImportance", "summarise"]


@dataclass(slots=True, kw_only=True)
class BoundaryStat:
    """p(correct) of the continuations sampled from one boundary."""

    position: int
    offset: int
    n: int
    n_correct: int
    p: float
    ci: tuple[float, float]


@dataclass(slots=True, kw_only=True)
class SegmentImportance:
    """How much one segment matters.

    Attributes
    ----------
    index, segment_id, label, char_span, text
        The segment (``label``: its thinking pattern, stored or from the rule labeller).
    p_keep, n_keep
        p(correct) of the continuations that keep the segment (sampled from its end).
    p_drop, n_drop
        p(correct) of the continuations that drop it (sampled from its start: the model writes
        its own next step).
    delta, ci, significant
        ``p_keep - p_drop`` (resampling importance, accuracy form), its confidence interval, and
        whether the interval excludes 0.
    kl
        ``KL(answers keeping ‖ answers dropping)``: resampling importance, KL form.
    counterfactual_delta, counterfactual_ci, counterfactual_n, counterfactual_kl
        The same against only the dropping continuations whose first new segment is semantically
        different from the dropped one (Thought Anchors' counterfactual importance); ``None`` when
        fewer than ``min_counterfactual`` are (or in early-exit mode).
    """

    index: int
    segment_id: str
    label: str | None
    char_span: tuple[int, int]
    text: str
    p_keep: float
    n_keep: int
    p_drop: float
    n_drop: int
    delta: float
    ci: tuple[float, float]
    significant: bool
    kl: float | None
    counterfactual_delta: float | None = None
    counterfactual_ci: tuple[float, float] | None = None
    counterfactual_n: int = 0
    counterfactual_kl: float | None = None


@dataclass(slots=True, kw_only=True)
class ImportanceResult:
    """Counterfactual importance of a trajectory's segments.

    Attributes
    ----------
    trajectory_id, model, key, grader
        What was measured, with which model, under which stored experiment, graded how.
    config
        :class:`ImportanceConfig` as a dict.
    boundaries
        p(correct) at each sampled boundary.
    segments
        One :class:`SegmentImportance` per segment whose two boundaries were sampled.
    n_samples, n_new
        Continuations summarised, and how many of them this call sampled (the rest were stored).
    """

    trajectory_id: str
    model: str
    key: str
    grader: str
    config: dict[str, Any]
    boundaries: list[BoundaryStat] = field(default_factory=list)
    segments: list[SegmentImportance] = field(default_factory=list)
    n_samples: int = 0
    n_new: int = 0

    def frame(self) -> pl.DataFrame:
        """One row per segment: index, label, span, p_keep/p_drop, delta with its interval, KL."""
        rows = [
            {
                "index": s.index,
                "segment_id": s.segment_id,
                "label": s.label,
                "start": s.char_span[0],
                "end": s.char_span[1],
                "text": s.text,
                "p_keep": s.p_keep,
                "n_keep": s.n_keep,
                "p_drop": s.p_drop,
                "n_drop": s.n_drop,
                "delta": s.delta,
                "ci_low": s.ci[0],
                "ci_high": s.ci[1],
                "significant": s.significant,
                "kl": s.kl,
                "counterfactual_delta": s.counterfactual_delta,
                "counterfactual_n": s.counterfactual_n,
                "counterfactual_kl": s.counterfactual_kl,
            }
            for s in self.segments
        ]
        schema = {
            "index": pl.Int64, "segment_id": pl.String, "label": pl.String, "start": pl.Int64,
            "end": pl.Int64, "text": pl.String, "p_keep": pl.Float64, "n_keep": pl.Int64,
            "p_drop": pl.Float64, "n_drop": pl.Int64, "delta": pl.Float64,
            "ci_low": pl.Float64, "ci_high": pl.Float64, "significant": pl.Boolean,
            "kl": pl.Float64, "counterfactual_delta": pl.Float64, "counterfactual_n": pl.Int64,
            "counterfactual_kl": pl.Float64,
        }  # fmt: skip
        return pl.DataFrame(rows, schema=schema)

    def top(self, k: int = 5, *, by: str = "delta") -> list[SegmentImportance]:
        """Return the ``k`` segments with the largest ``|by|`` (delta, kl, counterfactual_delta)."""

        def size(s: SegmentImportance) -> float:
            value = getattr(s, by)
            return -1.0 if value is None else abs(float(value))

        return sorted(self.segments, key=size, reverse=True)[:k]

    def to_dict(self) -> dict[str, Any]:
        """Return the result as a JSON-compatible dict (what ``workbench importance --json`` prints)."""
        out = asdict(self)
        for s in out["segments"]:
            s["ci"] = list(s["ci"])
            s["char_span"] = list(s["char_span"])
        return out

    def chart(self, *, measure: str = "delta") -> Any:
        """Return the importance strip as an altair chart (:func:`workbench.charts.importance_chart`)."""
        from workbench.charts.importance import importance_chart

        return importance_chart(self, measure=measure)


def _p(samples: Sequence[ImportanceSample]) -> tuple[int, int]:
    return sum(s.correct for s in samples), len(samples)


def summarise(
    *,
    trajectory_id: str,
    model: str,
    key: str,
    grader: str,
    config: ImportanceConfig,
    segments: Sequence[Segment],
    offsets: Sequence[int],
    by_position: dict[int, list[ImportanceSample]],
    dissimilar: dict[int, list[bool]] | None,
    n_new: int,
) -> ImportanceResult:
    """Build the result from the samples of each boundary (``dissimilar``: resample mode's filter)."""
    level = config.confidence
    result = ImportanceResult(
        trajectory_id=trajectory_id,
        model=model,
        key=key,
        grader=grader,
        config=config.to_dict(),
        n_new=n_new,
    )
    for position in sorted(by_position):
        x, n = _p(by_position[position])
        result.boundaries.append(
            BoundaryStat(
                position=position,
                offset=offsets[position],
                n=n,
                n_correct=x,
                p=x / n if n else float("nan"),
                ci=wilson_interval(x, n, confidence=level),
            )
        )
        result.n_samples += n
    for k, seg in enumerate(segments):
        keep, drop = by_position.get(k + 1), by_position.get(k)
        if not keep or not drop:
            continue
        xk, nk = _p(keep)
        xd, nd = _p(drop)
        lo, hi = newcombe_interval(xk, nk, xd, nd, confidence=level)
        item = SegmentImportance(
            index=k,
            segment_id=seg.id,
            label=seg.labels[0] if seg.labels else None,
            char_span=(int(seg.char_span[0]), int(seg.char_span[1])),
            text=seg.text,
            p_keep=xk / nk,
            n_keep=nk,
            p_drop=xd / nd,
            n_drop=nd,
            delta=xk / nk - xd / nd,
            ci=(lo, hi),
            significant=bool(lo > 0 or hi < 0),
            kl=answer_kl(
                [s.answer_key for s in keep], [s.answer_key for s in drop], alpha=config.kl_alpha
            ),
        )
        flags = (dissimilar or {}).get(k)
        if flags is not None:
            chosen = [s for s, far in zip(drop, flags, strict=True) if far]
            item.counterfactual_n = len(chosen)
            if len(chosen) >= config.min_counterfactual:
                xc, nc = _p(chosen)
                item.counterfactual_delta = xk / nk - xc / nc
                item.counterfactual_ci = newcombe_interval(xk, nk, xc, nc, confidence=level)
                item.counterfactual_kl = answer_kl(
                    [s.answer_key for s in keep],
                    [s.answer_key for s in chosen],
                    alpha=config.kl_alpha,
                )
        result.segments.append(item)
    return result


def similarity_flags(
    segments: Sequence[Segment],
    by_position: dict[int, list[ImportanceSample]],
    *,
    threshold: float,
    embed: Any,
) -> dict[int, list[bool]]:
    """Per segment ``k``: whether each continuation from its start wrote something different.

    ``embed(texts) -> float32[n, d]`` of unit vectors; a continuation whose first segment is empty
    counts as different (it wrote nothing like the dropped segment).
    """
    flags: dict[int, list[bool]] = {}
    pairs: list[tuple[int, int, str, str]] = []
    for k, seg in enumerate(segments):
        drop = by_position.get(k)
        if not drop:
            continue
        flags[k] = [True] * len(drop)
        for j, s in enumerate(drop):
            if s.first_segment.strip():
                pairs.append((k, j, seg.text, s.first_segment))
    if pairs:
        texts = sorted({t for p in pairs for t in p[2:]})
        where = {t: i for i, t in enumerate(texts)}
        vectors = np.asarray(embed(texts), dtype=np.float32)
        for k, j, a, b in pairs:
            cos = float(vectors[where[a]] @ vectors[where[b]])
            flags[k][j] = cos < threshold
    return flags
