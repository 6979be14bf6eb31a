"""Segment, label and find keywords in trajectories, and write the segments back to the store."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from workbench.analysis._segment import CUES, DEFAULT_MIN_CHARS, DEFAULT_STRATEGY, segment
from workbench.analysis.keywords import DEFAULT_LEXICON, Lexicon, find_keywords
from workbench.analysis.patterns import Taxonomy, get_taxonomy, label_segments
from workbench.segment import Segment
from workbench.store.store import Store
from workbench.trajectory import Trajectory

__all__ = ["AnalysisOptions", "analyze_store", "analyze_trajectory"]


def analyze_trajectory(
    trajectory: Trajectory,
    *,
    strategy: str = DEFAULT_STRATEGY,
    taxonomy: str | Taxonomy = "dto",
    lexicon: str | Lexicon | Sequence[str] = DEFAULT_LEXICON,
    cues: Sequence[str] = CUES,
    min_chars: int = DEFAULT_MIN_CHARS,
    labeller: Any = None,
) -> list[Segment]:
    """Segment a trajectory's thinking, label each segment, and attach keyword hits.

    Segments are labelled with the cue rules of ``taxonomy``, or by ``labeller`` (a fitted
    :class:`~workbench.analysis.labeller.ModelLabeller`) when one is given.

    Returns
    -------
    list of Segment
        With ``labels`` (one rule label), ``label_source="rule"``, ``confidence`` and
        ``keyword_hits`` (``(start, end, keyword)`` in raw-text coordinates).
    """
    raw_segments = segment(trajectory, strategy=strategy, cues=cues, min_chars=min_chars)
    segments = (
        labeller.label_segments(raw_segments)
        if labeller is not None
        else label_segments(raw_segments, taxonomy=taxonomy)
    )
    out = []
    for seg in segments:
        hits = find_keywords(seg.text, lexicon=lexicon, offset=seg.char_span[0])
        out.append(replace(seg, keyword_hits=[(h.start, h.end, h.keyword) for h in hits]))
    return out


@dataclass(frozen=True)
class AnalysisOptions:
    """How a session analyses each trajectory when its run ends, and how live traces are drawn.

    The defaults are those of :func:`analyze_trajectory`: cue segmentation, the ``dto``
    taxonomy's rule labels and the ``r1`` lexicon.

    Examples
    --------
    >>> AnalysisOptions(taxonomy="venhoff").label_names[:2]
    ['initializing', 'deduction']
    """

    taxonomy: str | Taxonomy = "dto"
    lexicon: str | Lexicon | Sequence[str] = DEFAULT_LEXICON
    strategy: str = DEFAULT_STRATEGY
    cues: tuple[str, ...] = CUES
    min_chars: int = DEFAULT_MIN_CHARS

    @property
    def label_names(self) -> list[str]:
        """The taxonomy's label names (the colour order)."""
        return list(get_taxonomy(self.taxonomy).names)

    def analyze(self, trajectory: Trajectory) -> list[Segment]:
        """Segment, label and find keywords in ``trajectory`` with these options."""
        return analyze_trajectory(
            trajectory,
            strategy=self.strategy,
            taxonomy=self.taxonomy,
            lexicon=self.lexicon,
            cues=self.cues,
            min_chars=self.min_chars,
        )


def analyze_store(
    store: Store,
    *,
    strategy: str = DEFAULT_STRATEGY,
    taxonomy: str | Taxonomy = "dto",
    lexicon: str | Lexicon | Sequence[str] = DEFAULT_LEXICON,
    labeller: Any = None,
    progress: Callable[[int, int], None] | None = None,
    **filters: Any,
) -> dict[str, Any]:
    """Analyse the trajectories matching ``filters`` and store their segments.

    Segments previously stored for these trajectories are replaced; hand annotations stay attached
    to segments whose span did not change (segment ids derive from the span).

    Returns
    -------
    dict
        ``{"trajectories", "segments", "labels": {label: count}, "keyword_hits"}``.
    """
    tax = get_taxonomy(taxonomy)
    ids = store.list_trajectories(columns=["id"], **filters)["id"].to_list()
    labels: Counter[str] = Counter()
    n_segments = n_hits = 0
    for done, tid in enumerate(ids, start=1):
        trajectory = store.get(tid)
        segments = analyze_trajectory(
            trajectory, strategy=strategy, taxonomy=tax, lexicon=lexicon, labeller=labeller
        )
        store.add_segments(tid, segments)
        n_segments += len(segments)
        n_hits += sum(len(s.keyword_hits) for s in segments)
        labels.update(s.labels[0] for s in segments if s.labels)
        if progress is not None:
            progress(done, len(ids))
    return {
        "trajectories": len(ids),
        "segments": n_segments,
        "labels": dict(labels.most_common()),
        "keyword_hits": n_hits,
        "taxonomy": tax.name if labeller is None else "model",
        "strategy": strategy,
    }
