"""The trace-document service: one trajectory as a view draws it, and its annotation.

The Annotator widget and the JupyterLab extension's viewer both go through :class:`TraceDocuments`:

* :meth:`~TraceDocuments.segments`: a trajectory's segments — the stored ones, else computed now
  with the service's :class:`~workbench.analysis.pipeline.AnalysisOptions` (written to the store
  only when ``persist=True``);
* :meth:`~TraceDocuments.annotate`: one validated annotation (the value rules live on
  :class:`~workbench.Annotation`); a segment annotation first stores the segments it names, so
  that the ``segment_id`` refers to a stored segment; returns the value it superseded, which is
  what an undo writes back;
* :meth:`~TraceDocuments.latest` / :meth:`~TraceDocuments.state` /
  :meth:`~TraceDocuments.document`: the annotations in force and the records a view draws.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from workbench.analysis.pipeline import AnalysisOptions
from workbench.annotation import Annotation, default_author
from workbench.display import trajectory_json
from workbench.documents._payloads import DocumentState, TrajectoryDocument
from workbench.documents._records import (
    AnnotationKey,
    AnnotationState,
    annotation_state,
    hit_infos,
    latest_values,
)
from workbench.errors import NotFoundError
from workbench.segment import Segment

if TYPE_CHECKING:
    from workbench.store.store import Store

__all__ = ["AnnotationResult", "TraceDocuments"]


@dataclass(frozen=True, slots=True)
class AnnotationResult:
    """What :meth:`TraceDocuments.annotate` did.

    Attributes
    ----------
    annotation
        The stored annotation (with its id).
    previous
        The value it superseded (``None`` when there was none, or it was cleared): what an undo
        writes back.
    """

    annotation: Annotation
    previous: Any


class TraceDocuments:
    """Trace documents over one store (see the module docstring).

    Parameters
    ----------
    store
        The store read and annotated.
    analysis
        How segments are computed for trajectories that have none stored.

    Examples
    --------
    >>> import workbench as wb
    >>> store = wb.Store(":memory:")
    >>> t = store.add(wb.Trajectory(prompt="q", raw="<think>2+2. Wait, 4.</think>4"))
    >>> docs = TraceDocuments(store)
    >>> segments, stored = docs.segments(t)
    >>> stored, len(segments) > 0
    (False, True)
    >>> docs.annotate(t, "label", "verification", segment_id=segments[0].id).previous is None
    True
    >>> docs.segments(t)[1]  # annotating a segment stored the segments
    True
    """

    def __init__(self, store: Store, *, analysis: AnalysisOptions | None = None) -> None:
        self.store = store
        self.analysis = analysis or AnalysisOptions()

    def segments(self, trajectory_id: str, *, persist: bool = False) -> tuple[list[Segment], bool]:
        """Return ``(segments, stored)``: the stored segments, else computed now.

        Parameters
        ----------
        trajectory_id
            The trajectory (an id or an unambiguous prefix).
        persist
            Store the computed segments (so that annotations can name them).
        """
        tid = self.store.resolve_id(trajectory_id)
        stored = self.store.get_segments(tid)
        if stored:
            return stored, True
        trajectory = self.store.get(tid)
        if not trajectory.thinking:
            return [], False
        computed = self.analysis.analyze(trajectory)
        if persist:
            self.store.add_segments(tid, computed)
        return computed, persist

    def latest(self, trajectory_id: str) -> dict[AnnotationKey, Any]:
        """Return the value in force per ``(segment id, kind)`` (cleared ones as ``None``)."""
        return latest_values(self.store.get_annotations(trajectory_id, history=True))

    def annotate(
        self,
        trajectory_id: str,
        kind: str,
        value: Any,
        *,
        segment_id: str | None = None,
        author: str | None = None,
        source: dict[str, Any] | None = None,
    ) -> AnnotationResult:
        """Validate and append one annotation (durable when this returns).

        ``source`` records where the value came from (an accepted suggestion; see
        :attr:`~workbench.Annotation.source`).

        Raises
        ------
        ValidationError
            For a value the kind does not accept (see :class:`~workbench.Annotation`).
        NotFoundError
            When ``segment_id`` is not one of the trajectory's segments.
        """
        tid = self.store.resolve_id(trajectory_id)
        author = default_author() if author is None else author
        # the one validation of an annotation, before anything is written
        Annotation(trajectory_id=tid, kind=kind, value=value, segment_id=segment_id, author=author)
        if segment_id is not None:
            segments, stored = self.segments(tid)
            if segment_id not in {s.id for s in segments}:
                raise NotFoundError(f"trajectory {tid} has no segment {segment_id!r}")
            if not stored:
                self.store.add_segments(tid, segments)
        previous = self.latest(tid).get((segment_id, kind))
        annotation = self.store.add_annotation(
            tid,
            kind,
            value,
            segment_id=segment_id,
            source=source,
            **({} if author is None else {"author": author}),
        )
        return AnnotationResult(annotation=annotation, previous=previous)

    def state(self, trajectory_id: str, segments: list[Segment] | None = None) -> AnnotationState:
        """Return the annotation state of a trajectory (segments computed when not given)."""
        tid = self.store.resolve_id(trajectory_id)
        if segments is None:
            segments, _stored = self.segments(tid)
        return annotation_state(tid, segments, self.store.get_annotations(tid, history=True))

    def document(self, trajectory_id: str) -> TrajectoryDocument:
        """Return everything a viewer shows of one trajectory.

        ``payload`` is the trajectory's MIME payload (per-token arrays left out), ``segments`` and
        ``hits`` its segments (``segments_stored`` says whether they were stored or computed now)
        and keyword hits, ``labels`` the taxonomy's labels and ``state`` its annotations with
        ``latest`` (``[[segment_id, kind, value], ...]`` for the values in force).
        """
        trajectory = self.store.get(trajectory_id)
        segments, stored = self.segments(trajectory.id)
        history = self.store.get_annotations(trajectory.id, history=True)
        latest = latest_values(history)
        state: DocumentState = {
            **annotation_state(trajectory.id, segments, history, latest),
            "latest": [[seg, kind, v] for (seg, kind), v in latest.items() if v is not None],
        }
        return {
            "payload": trajectory_json(trajectory),
            "segments": state["segments"],
            "hits": hit_infos(segments),
            "segments_stored": stored,
            "labels": self.analysis.label_names,
            "state": state,
        }
