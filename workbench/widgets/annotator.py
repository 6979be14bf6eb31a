"""Annotator: keyboard-first hand annotation, every action written to the store at once.

::

    Annotator(store, store.list_trajectories(model="QwQ-32B")["id"])

Keys (with the widget focused): ``j``/``k`` next/previous segment, ``1``–``9`` set the segment's
label (``0`` clears it), ``r`` then ``1``–``5`` rate the trajectory, ``n`` write a note on the
segment, ``c``/``x`` mark the trajectory chosen/rejected, ``u`` undo, ``J``/``K`` next/previous
trajectory, ``a`` accept the model's suggestion for the segment. The store is append-only: an
undo appends the previous value again (or a clear), so the history shows everything that
happened.

Model suggestions come from ``suggester`` (a fitted labeller, e.g.
``FineTunedLabeller.load(DIR)``), else from stored segment labels made by a model. An accepted
suggestion is stored as the annotator's own label, with the suggestion (label, confidence,
labeller) kept in the annotation's ``source``. ``order="least_confident"`` shows the
trajectories whose least confident suggestion is lowest first.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import polars as pl
import traitlets

from workbench.analysis.patterns import Taxonomy, get_taxonomy
from workbench.analysis.pipeline import AnalysisOptions
from workbench.annotation import ANNOTATION_KINDS, Annotation, default_author
from workbench.documents import (
    AnnotationKey,
    AnnotationState,
    TraceDocuments,
    annotation_state,
    bounds_of,
    hit_infos,
    traj_info,
)
from workbench.errors import NotFoundError, ValidationError
from workbench.segment import Segment
from workbench.store.store import Store
from workbench.trajectory import Trajectory
from workbench.widgets._base import WorkbenchWidget
from workbench.widgets._protocol import AnnotationStateMsg, DocMsg

__all__ = ["Annotator"]


def _ids(items: Any) -> list[str]:
    if isinstance(items, str | Trajectory):
        items = [items]
    elif isinstance(items, pl.DataFrame):
        items = items["id"].to_list()
    elif isinstance(items, pl.Series):
        items = items.to_list()
    return [t.id if isinstance(t, Trajectory) else str(t) for t in items]


class Annotator(WorkbenchWidget):
    """Keyboard-first annotation of trajectories and their segments.

    Parameters
    ----------
    store
        Where annotations are written (at once, durably) and trajectories read.
    trajectories
        Ids (or unique prefixes), trajectories, or a ``store.list_trajectories(...)`` frame.
    taxonomy
        Pattern taxonomy: its labels go on the number keys unless ``labels`` is given.
    labels
        Labels for keys 1–9.
    author
        Recorded on every annotation (default: the login name).
    analyse_missing
        Segment (and store the segments of) trajectories the store has none for.
    height
        Height of the segment list in pixels.
    suggester
        A labeller with ``label_segments`` (the fine-tuned, model or LLM labeller) whose labels
        are offered as suggestions; ``None``: the stored labels whose source is ``"model"``.
    order
        ``"given"`` (default) or ``"least_confident"``: trajectories by their least confident
        suggestion, lowest first (labels every listed trajectory up front).
    """

    _view = traitlets.Unicode("annotator").tag(sync=True)
    labels = traitlets.List(traitlets.Unicode()).tag(sync=True)

    def __init__(
        self,
        store: Store,
        trajectories: Any,
        *,
        taxonomy: str | Taxonomy = "dto",
        labels: Sequence[str] | None = None,
        author: str | None = None,
        analyse_missing: bool = True,
        height: int = 420,
        suggester: Any = None,
        order: str = "given",
    ) -> None:
        tax = get_taxonomy(taxonomy)
        names = list(labels) if labels is not None else list(tax.names)
        if not names or not all(isinstance(n, str) and n for n in names):
            raise ValidationError("Annotator.labels", "give at least one non-empty label")
        super().__init__(labels=names[:9], height=height)
        self.store = store
        self.taxonomy = tax
        self.documents = TraceDocuments(store, analysis=AnalysisOptions(taxonomy=tax))
        self.ids = [store.resolve_id(i) for i in _ids(trajectories)]
        if not self.ids:
            raise ValidationError("Annotator.trajectories", "nothing to annotate")
        self.author = author or default_author()
        self.analyse_missing = analyse_missing
        self.index = 0
        self._undo: list[tuple[str, str | None, str, Any]] = []
        self._cache: dict[str, tuple[Trajectory, list[Segment]]] = {}
        self.suggester = suggester
        self._suggested: dict[str, dict[str, tuple[str, float | None]]] = {}
        if order not in ("given", "least_confident"):
            raise ValidationError("Annotator.order", "use 'given' or 'least_confident'")
        if order == "least_confident":
            self.ids = sorted(self.ids, key=self._least_confidence)

    # -- data ------------------------------------------------------------------------------------
    @property
    def current(self) -> str:
        """Id of the trajectory shown."""
        return self.ids[self.index]

    def _load(self, tid: str) -> tuple[Trajectory, list[Segment]]:
        if tid not in self._cache:
            t = self.store.get(tid)
            segments, _stored = self.documents.segments(tid, persist=self.analyse_missing)
            self._cache = {tid: (t, segments)}  # keep one: trajectories can be large
        return self._cache[tid]

    def suggestions(self, trajectory_id: str | None = None) -> dict[str, tuple[str, float | None]]:
        """Return segment id → ``(suggested label, confidence)`` of a trajectory."""
        tid = trajectory_id or self.current
        if tid not in self._suggested:
            if tid == self.current:
                _t, segments = self._load(tid)
            else:
                segments, _stored = self.documents.segments(tid, persist=self.analyse_missing)
            labelled = (
                self.suggester.label_segments(segments)
                if self.suggester is not None and segments
                else [s for s in segments if s.label_source == "model"]
            )
            self._suggested[tid] = {s.id: (s.labels[0], s.confidence) for s in labelled if s.labels}
        return self._suggested[tid]

    def _least_confidence(self, tid: str) -> float:
        found = [c for _, c in self.suggestions(tid).values() if c is not None]
        return min(found) if found else 1.0

    def latest(self, trajectory_id: str | None = None) -> dict[AnnotationKey, Any]:
        """Return the latest value per (segment id, kind) of a trajectory (cleared ones omitted)."""
        latest = self.documents.latest(trajectory_id or self.current)
        return {k: v for k, v in latest.items() if v is not None}

    def state(self) -> AnnotationState:
        """Return the annotation state of the current trajectory."""
        t, segments = self._load(self.current)
        return annotation_state(
            t.id,
            segments,
            self.store.get_annotations(t.id, history=True),
            suggestions=self.suggestions(t.id),
        )

    def _doc(self, view: str) -> DocMsg:
        t, _segments = self._load(self.current)
        state = self.state()
        return {
            "type": "doc",
            "view": view,
            "index": self.index,
            "total": len(self.ids),
            "info": traj_info(t),
            "text": t.raw,
            "bounds": bounds_of(t),
            "hits": hit_infos(_segments),
            "labels": list(self.taxonomy.names),
            "state": state,
        }

    # -- actions ---------------------------------------------------------------------------------
    def annotate(
        self,
        kind: str,
        value: Any,
        *,
        segment_id: str | None = None,
        source: dict[str, Any] | None = None,
    ) -> Annotation:
        """Store one annotation on the current trajectory (or one of its segments); undoable."""
        if kind not in ANNOTATION_KINDS:
            raise ValidationError("Annotator.kind", f"{kind!r} is not one of {ANNOTATION_KINDS}")
        self._load(self.current)
        try:
            result = self.documents.annotate(
                self.current, kind, value, segment_id=segment_id, author=self.author, source=source
            )
        except NotFoundError:
            raise ValidationError(
                "Annotator.segment_id", f"no segment {segment_id!r} here"
            ) from None
        self._cache.pop(self.current, None)  # the segments may have been stored just now
        self._undo.append((self.current, segment_id, kind, result.previous))
        return result.annotation

    def accept_suggestion(self, segment_id: str) -> Annotation:
        """Store the suggestion for a segment as the annotator's label (source kept); undoable."""
        suggestion = self.suggestions().get(segment_id)
        if suggestion is None:
            raise ValidationError("Annotator.segment_id", f"no suggestion for {segment_id!r}")
        label, confidence = suggestion
        labeller = (
            type(self.suggester).__name__ if self.suggester is not None else "stored model label"
        )
        source = {
            "accepted_suggestion": {
                "label": label,
                "label_source": "model",
                "confidence": confidence,
                "labeller": labeller,
            }
        }
        return self.annotate("label", label, segment_id=segment_id, source=source)

    def undo(self) -> Annotation | None:
        """Undo the last action of this widget (appends the previous value); ``None`` if none."""
        if not self._undo:
            return None
        tid, segment_id, kind, previous = self._undo.pop()
        return self.store.add_annotation(
            tid, kind, previous, segment_id=segment_id, author=self.author
        )

    def go(self, index: int) -> None:
        """Show trajectory ``index`` of the list."""
        if not 0 <= index < len(self.ids):
            raise ValidationError("Annotator.index", f"no trajectory {index} (of {len(self.ids)})")
        self.index = index
        self.send_message(self._doc(""))

    def _describe(self, kind: str, value: Any, segment_id: str | None) -> str:
        _t, segments = self._load(self.current)
        where = "the trajectory"
        if segment_id is not None:
            index = next((s.index for s in segments if s.id == segment_id), "?")
            where = f"segment {index}"
        shown = "cleared" if value is None else json.dumps(value, ensure_ascii=False)
        return f"saved {kind} {shown} on {where}"

    def _send_state(self, request_id: int, ok: bool, message: str) -> None:
        msg: AnnotationStateMsg = {
            "type": "annotation_state",
            "request_id": request_id,
            "ok": ok,
            "message": message,
            "state": self.state(),
        }
        self.send_message(msg)

    # -- front-end messages ----------------------------------------------------------------------
    def _on_ready(self, msg: dict[str, Any]) -> None:
        self.send_message(self._doc(msg["view"]))

    def _on_navigate(self, msg: dict[str, Any]) -> None:
        self.go(msg["index"])

    def _on_annotate(self, msg: dict[str, Any]) -> None:
        value = msg["value"]
        kind = msg["kind"]
        if kind == "rating" and isinstance(value, str):
            raise ValidationError("Annotator.rating", "a rating is a number")
        if kind != "rating" and isinstance(value, int | float):
            value = str(value)
        try:
            self.annotate(kind, value, segment_id=msg["segment_id"])
        except Exception as exc:
            self._send_state(msg["request_id"], False, f"not saved: {exc}")
            raise
        self._send_state(msg["request_id"], True, self._describe(kind, value, msg["segment_id"]))

    def _on_accept_suggestion(self, msg: dict[str, Any]) -> None:
        try:
            ann = self.accept_suggestion(msg["segment_id"])
        except Exception as exc:
            self._send_state(msg["request_id"], False, f"not saved: {exc}")
            raise
        self._send_state(
            msg["request_id"],
            True,
            "accepted suggestion: " + self._describe("label", ann.value, ann.segment_id),
        )

    def _on_undo(self, msg: dict[str, Any]) -> None:
        ann = self.undo()
        if ann is None:
            self._send_state(msg["request_id"], False, "nothing to undo")
            return
        if ann.trajectory_id != self.current and ann.trajectory_id in self.ids:
            self.index = self.ids.index(ann.trajectory_id)
            self.send_message(self._doc(""))
        self._send_state(
            msg["request_id"],
            True,
            "undone: " + self._describe(ann.kind, ann.value, ann.segment_id),
        )
