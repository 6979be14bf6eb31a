"""What the HTTP endpoints read and answer, as plain functions over a :class:`~workbench.Store`.

The handlers (:mod:`workbench_jupyterlab.handlers`) only parse requests and call these; everything
here works without a server and is tested directly. Listing goes through
:meth:`Store.list_trajectories <workbench.store.store.Store.list_trajectories>` and :meth:`Store.count
<workbench.store.store.Store.count>`, a trajectory through :meth:`Store.get
<workbench.store.store.Store.get>` and :meth:`Store.get_segments
<workbench.store.store.Store.get_segments>`, annotations through :meth:`Store.add_annotation
<workbench.store.store.Store.add_annotation>`: the package's store code, not a second implementation.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from workbench.analysis.patterns import get_taxonomy
from workbench.analysis.pipeline import AnalysisOptions
from workbench.annotation import ANNOTATION_KINDS, Annotation
from workbench.display import TRAJECTORY_MIME
from workbench.documents import (
    AnnotationReply,
    DocumentState,
    ListPage,
    ListRow,
    SearchSnippet,
    StoreSummary,
    TraceDocuments,
    TrajectoryDocument,
    history_entry,
)
from workbench.errors import NotFoundError, ValidationError
from workbench.store.previews import prompt_previews, tag_counts
from workbench.store.store import Store

__all__ = [
    "LIST_PARAMETERS",
    "ROW_COLUMNS",
    "SORTS",
    "AnnotationRequest",
    "ListQuery",
    "RequestError",
    "add_annotation",
    "annotation_state",
    "list_page",
    "parse_body",
    "store_summary",
    "trajectory_document",
]

SORTS: tuple[str, ...] = ("created", "grade", "thinking_chars", "model", "id")
"""Orders the list endpoint accepts (``sort=``), those of :meth:`Store.list_trajectories`."""

GRADE_FILTERS: dict[str, tuple[str, bool]] = {
    "correct": ("correct", True),
    "incorrect": ("correct", False),
    "graded": ("graded", True),
    "ungraded": ("graded", False),
}
"""``grade=`` values and the :meth:`Store.list_trajectories` filter each stands for."""

LIST_PARAMETERS: tuple[str, ...] = (
    "model",
    "status",
    "tag",
    "search",
    "grade",
    "grade_min",
    "grade_max",
    "sort",
    "order",
    "offset",
    "limit",
    "count",
)
"""Query parameters of the list endpoint; any other name is refused with a 400."""

_REPEATABLE = frozenset({"model", "status", "tag"})

ROW_COLUMNS: tuple[str, ...] = (
    "id",
    "model",
    "status",
    "think_format",
    "thinking_chars",
    "answer_chars",
    "n_tokens",
    "grade",
    "correct",
    "tags",
    "source",
    "source_id",
    "parent_id",
    "created_at",
)
"""Columns of :meth:`Store.list_trajectories` in each row of a page (plus ``prompt``, a one-line preview)."""

DEFAULT_LIMIT = 100
MAX_LIMIT = 500
MAX_VALUES = 50
"""Most values one repeatable filter (``model``, ``status``, ``tag``) may be given."""
MAX_BODY_DEPTH = 20
"""Deepest nesting a request body may have (an annotation needs 3)."""
MAX_OFFSET = 1_000_000_000
SNIPPET_CONTEXT = 50
"""Characters of text shown either side of a search match in a row's snippet."""

MAX_TEXT = 500


class RequestError(ValueError):
    """A request the endpoints refuse; the handlers answer it with ``status`` (400 or 404).

    Parameters
    ----------
    message
        What is wrong and what is accepted.
    status
        The HTTP status to answer with.
    """

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def _one(args: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = args.get(name) or []
    if len(values) > 1:
        raise RequestError(f"parameter {name!r} given {len(values)} times; give it once")
    return values[0] if values else None


def _int(args: Mapping[str, Sequence[str]], name: str, default: int, low: int, high: int) -> int:
    raw = _one(args, name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise RequestError(f"{name}={raw!r} is not an integer") from None
    if not low <= value <= high:
        raise RequestError(f"{name}={value} is out of range [{low}, {high}]")
    return value


def _float(args: Mapping[str, Sequence[str]], name: str) -> float | None:
    raw = _one(args, name)
    if raw is None or raw == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        raise RequestError(f"{name}={raw!r} is not a number") from None
    if not math.isfinite(value):
        raise RequestError(f"{name}={raw!r} is not a finite number")
    return value


def _bool(args: Mapping[str, Sequence[str]], name: str) -> bool:
    raw = (_one(args, name) or "").lower()
    if raw in ("", "0", "false", "no"):
        return False
    if raw in ("1", "true", "yes"):
        return True
    raise RequestError(f"{name}={raw!r}: give 1/true or 0/false")


def _texts(args: Mapping[str, Sequence[str]], name: str) -> list[str]:
    values = [v for v in (args.get(name) or []) if v != ""]
    if len(values) > MAX_VALUES:
        raise RequestError(f"{name} given {len(values)} times; give at most {MAX_VALUES} values")
    for v in values:
        if len(v) > MAX_TEXT:
            raise RequestError(f"a {name} value is longer than {MAX_TEXT} characters")
    return values


@dataclass(frozen=True, slots=True)
class ListQuery:
    """A parsed, validated request for one page of the trajectory list.

    Attributes
    ----------
    filters
        Keyword filters for :meth:`Store.list_trajectories` / :meth:`Store.count`.
    sort
        One of :data:`SORTS`.
    descending
        Reverse order.
    offset, limit
        The page.
    count
        Also count every matching row (the first page of a query asks for it).
    """

    filters: dict[str, Any] = field(default_factory=dict)
    sort: str = "created"
    descending: bool = True
    offset: int = 0
    limit: int = DEFAULT_LIMIT
    count: bool = False

    @classmethod
    def from_args(cls, args: Mapping[str, Sequence[str]]) -> ListQuery:
        """Parse query arguments (``{name: [values]}``, as tornado gives them, decoded).

        Raises
        ------
        RequestError
            For an unknown parameter (nothing may name a file or anything not listed in
            :data:`LIST_PARAMETERS`), a repeated single-valued one, or a bad value.
        """
        # JupyterLab's ServerConnection adds a bare timestamp (``&1718000000000``) to every GET
        # against caches; that is the only name outside LIST_PARAMETERS let through.
        args = {k: v for k, v in args.items() if not (k.isdigit() and not any(v))}
        unknown = sorted(set(args) - set(LIST_PARAMETERS))
        if unknown:
            raise RequestError(
                f"unknown parameter {unknown[0]!r}; parameters are {list(LIST_PARAMETERS)}"
            )
        for name in args:
            if name not in _REPEATABLE:
                _one(args, name)
        filters: dict[str, Any] = {}
        models = _texts(args, "model")
        if models:
            filters["model"] = models
        statuses = _texts(args, "status")
        if statuses:
            filters["status"] = statuses
        tags = _texts(args, "tag")
        if tags:
            filters["tags"] = tags
        search = (_one(args, "search") or "").strip()
        if len(search) > MAX_TEXT:
            raise RequestError(f"search is longer than {MAX_TEXT} characters")
        if search:
            filters["search"] = search
        grade = _one(args, "grade") or ""
        if grade:
            if grade not in GRADE_FILTERS:
                raise RequestError(f"grade={grade!r} is not one of {list(GRADE_FILTERS)}")
            name, value = GRADE_FILTERS[grade]
            filters[name] = value
        low, high = _float(args, "grade_min"), _float(args, "grade_max")
        if low is not None or high is not None:
            if low is not None and high is not None and low > high:
                raise RequestError(f"grade_min={low} is above grade_max={high}")
            filters["grade"] = (low, high)
        sort = _one(args, "sort") or "created"
        if sort not in SORTS:
            raise RequestError(f"sort={sort!r} is not one of {list(SORTS)}")
        order = _one(args, "order") or "desc"
        if order not in ("asc", "desc"):
            raise RequestError(f"order={order!r} is not 'asc' or 'desc'")
        return cls(
            filters=filters,
            sort=sort,
            descending=order == "desc",
            offset=_int(args, "offset", 0, 0, MAX_OFFSET),
            limit=_int(args, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT),
            count=_bool(args, "count"),
        )


def _json_number(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def list_page(store: Store, query: ListQuery) -> ListPage:
    """Return one page: ``{"rows": [...], "offset", "limit"}`` plus ``"total"`` when counted.

    Each row holds :data:`ROW_COLUMNS` and ``prompt`` (a one-line preview of the last user
    message).
    """
    frame = store.list_trajectories(
        columns=list(ROW_COLUMNS),
        limit=query.limit,
        offset=query.offset,
        order_by=query.sort,
        descending=query.descending,
        **query.filters,
    )
    rows = cast(list[ListRow], frame.to_dicts())
    ids = [r["id"] for r in rows]
    previews = prompt_previews(store, ids)
    text = query.filters.get("search")
    snippets = store.search_snippets(ids, text, context=SNIPPET_CONTEXT) if text else {}
    for row in rows:
        row["prompt"] = previews.get(row["id"], "")
        row["grade"] = _json_number(row["grade"])
        found = snippets.get(row["id"])
        if found is not None:
            row["snippet"] = cast(SearchSnippet, found.to_dict())
    page: ListPage = {"rows": rows, "offset": query.offset, "limit": query.limit}
    if query.count and text:  # a search's large total is estimated (exact counts read every hit)
        others = {k: v for k, v in query.filters.items() if k != "search"}
        result = store.search(text, limit=0, **others)
        page["total"] = int(result.total or 0)
        page["total_exact"] = result.total_exact
    elif query.count:
        page["total"] = store.count(**query.filters)
    return page


def store_summary(store: Store, *, shown_path: str, taxonomy: str) -> StoreSummary:
    """Return what the panel's filters offer: counts by model and status, tags, sorts, labels."""
    info = store.info()
    return {
        "store": shown_path,
        "total": info["counts"]["trajectories"],
        "annotations": info["counts"]["annotations"],
        "models": info["models"],
        "statuses": info["statuses"],
        "tags": tag_counts(store),
        "graded": info["graded"],
        "sorts": list(SORTS),
        "grades": list(GRADE_FILTERS),
        "labels": list(get_taxonomy(taxonomy).names),
        "mime": TRAJECTORY_MIME,
    }


def _documents(store: Store, taxonomy: str) -> TraceDocuments:
    return TraceDocuments(store, analysis=AnalysisOptions(taxonomy=taxonomy))


def annotation_state(store: Store, tid: str, *, taxonomy: str = "dto") -> DocumentState:
    """Return the annotation state of a trajectory, shaped as the Annotator widget's.

    ``rating``/``verdict``/``note`` (latest on the trajectory), ``segments`` (each with its
    latest ``human_label`` and ``note``), ``history`` (the last 200 annotations, oldest first)
    and ``latest`` (``[[segment_id, kind, value], ...]`` for the values in force).
    """
    return _documents(store, taxonomy).document(tid)["state"]


def trajectory_document(store: Store, id_or_prefix: str, *, taxonomy: str) -> TrajectoryDocument:
    """Return everything the viewer shows of one trajectory (:meth:`TraceDocuments.document`).

    ``payload`` is the trajectory's MIME payload (as saved notebooks carry it: per-token arrays
    left out), ``segments`` and ``hits`` its thinking segments (stored, or computed now when the
    store has none: ``segments_stored`` says which) and keyword hits, ``labels`` the taxonomy's
    labels (number keys 1–9) and ``state`` its annotations (:func:`annotation_state`).
    """
    return _documents(store, taxonomy).document(id_or_prefix)


def _reject_constant(name: str) -> Any:
    raise RequestError(f"the body holds {name}, which is not JSON: send a finite number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise RequestError(f"the number {text[:40]} is beyond the range of a float")
    return value


def _depth(value: Any, limit: int) -> int:
    """Return the nesting depth of a decoded body, stopping once it passes ``limit``."""
    if limit < 0 or not isinstance(value, dict | list):
        return 0
    items = value.values() if isinstance(value, dict) else value
    return 1 + max((_depth(v, limit - 1) for v in items), default=0)


def parse_body(raw: bytes) -> Any:
    """Decode a request body as strict JSON.

    Raises
    ------
    RequestError
        400 when it is not UTF-8 JSON, holds ``NaN``/``Infinity``, a number beyond float range or
        an integer of more than 4300 digits, or is nested deeper than :data:`MAX_BODY_DEPTH`.
        (Strings with lone surrogates decode here and are refused by the annotation's own
        validation.)
    """
    try:
        text = raw.decode("utf-8") if raw else "null"
    except UnicodeDecodeError as exc:
        raise RequestError(f"the body is not UTF-8 (byte {exc.start}): send UTF-8 JSON") from None
    try:
        body = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except RecursionError:
        raise RequestError(f"the body is nested too deeply (at most {MAX_BODY_DEPTH})") from None
    except ValueError as exc:  # JSONDecodeError, and integers beyond int_max_str_digits
        if isinstance(exc, RequestError):
            raise
        raise RequestError(f"the body is not JSON: {str(exc)[:120]}") from None
    if _depth(body, MAX_BODY_DEPTH) > MAX_BODY_DEPTH:
        raise RequestError(f"the body is nested too deeply (at most {MAX_BODY_DEPTH})")
    return body


@dataclass(frozen=True, slots=True)
class AnnotationRequest:
    """A parsed, validated request to add an annotation.

    Attributes
    ----------
    kind
        One of :data:`~workbench.annotation.ANNOTATION_KINDS`.
    value
        The label, rating, verdict or note; ``None`` clears.
    segment_id
        The segment annotated, or ``None`` for the whole trajectory.
    """

    kind: str
    value: Any
    segment_id: str | None

    @classmethod
    def from_json(cls, body: Any) -> AnnotationRequest:
        """Validate a decoded JSON body ``{"kind", "value", "segment_id"}``.

        Raises
        ------
        RequestError
            For anything but an object with those keys and a value the kind accepts.
        """
        if not isinstance(body, dict):
            raise RequestError('expected a JSON object {"kind", "value", "segment_id"}')
        unknown = sorted(set(body) - {"kind", "value", "segment_id"})
        if unknown:
            raise RequestError(f"unknown field {unknown[0]!r}; fields are kind, value, segment_id")
        kind = body.get("kind")
        if kind not in ANNOTATION_KINDS:
            raise RequestError(f"kind={kind!r} is not one of {list(ANNOTATION_KINDS)}")
        segment_id = body.get("segment_id")
        if segment_id is not None and (not isinstance(segment_id, str) or not segment_id):
            raise RequestError("segment_id is a non-empty string or null")
        value = body.get("value")
        try:  # the one validation of an annotation's value (workbench.Annotation)
            Annotation(trajectory_id="-", kind=kind, value=value, segment_id=segment_id)
        except ValidationError as exc:
            raise RequestError(exc.message) from None
        return cls(kind=kind, value=value, segment_id=segment_id)


def add_annotation(
    store: Store, id_or_prefix: str, request: AnnotationRequest, *, author: str, taxonomy: str
) -> AnnotationReply:
    """Append an annotation (durable when this returns) and return it with the new state.

    A segment annotation on a trajectory whose segments are not stored yet stores the computed
    segments first (as the Annotator widget does), so that the annotation's ``segment_id`` names
    a stored segment.

    Returns
    -------
    dict
        ``{"annotation": history entry, "previous": the value this one superseded (what an
        undo writes back), "state": annotation_state(...)}``.

    Raises
    ------
    RequestError
        404 when the segment is not one of the trajectory's.
    """
    docs = _documents(store, taxonomy)
    tid = store.resolve_id(id_or_prefix)
    try:
        result = docs.annotate(
            tid, request.kind, request.value, segment_id=request.segment_id, author=author
        )
    except NotFoundError as exc:
        raise RequestError(str(exc), 404) from None
    return {
        "annotation": history_entry(result.annotation),
        "previous": result.previous,
        "state": docs.document(tid)["state"],
    }
