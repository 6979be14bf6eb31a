"""Message shapes between the kernel and the widgets' front end, declared once.

Every custom message is a JSON object with a ``type`` field; numbers too many for JSON (per-token
offsets as int32 ``[start, end]`` pairs, logprobs, entropies, attention masses) travel as binary buffers, and the message names them
by their index in the buffer list. The TypedDicts below are the Python declaration; the TypeScript
twin ``js/src/protocol.generated.ts`` is generated from them by :func:`typescript` (run
``python -m workbench.widgets._protocol > js/src/protocol.generated.ts``, done by the front-end build)
and a unit test fails when the committed file differs. The front end also receives
:data:`PROTOCOL_HASH` as widget state and shows an error when its bundle was built for another one.

Kernel to front end: :data:`KERNEL_MESSAGES`. Front end to kernel: :data:`FRONT_MESSAGES`.
"""

from __future__ import annotations

import hashlib
import json
import sys
import types
import typing
from typing import Any, Literal, TypedDict, Union, get_args, get_origin, get_type_hints

from workbench.documents import (
    AnnotationState,
    Bounds,
    HistoryEntry,
    HitInfo,
    SegmentInfo,
    TrajInfo,
    ts_type,
)
from workbench.widgets._wire_records import (
    AlignRow,
    AlternativeRow,
    BranchInfo,
    CompareSide,
    Counters,
    ImportanceBar,
    KeywordRow,
    PatternRow,
    SampleDelta,
    SampleState,
    TraceRow,
)

__all__ = [
    "FRONT_MESSAGES",
    "KERNEL_MESSAGES",
    "PROTOCOL_HASH",
    "VIEWS",
    "ProtocolError",
    "schema",
    "typescript",
    "validate_front_message",
]

VIEWS: tuple[str, ...] = ("live_trace", "annotator", "heatmap", "stats", "compare")
"""The front-end views; a widget's ``_view`` trait names one."""


# -- kernel to front end --------------------------------------------------------------------------
class SnapshotMsg(TypedDict):
    """Full state of a live trace, sent to the view that asked (``view``) after ``ready``."""

    type: Literal["snapshot"]
    view: str
    seq: int
    samples: list[SampleState]
    counters: Counters


class DeltaMsg(TypedDict):
    """What arrived since the last flush (about 20 per second while tokens stream)."""

    type: Literal["delta"]
    seq: int
    samples: list[SampleDelta]
    counters: Counters


class FinalMsg(TypedDict):
    """A sample has ended: authoritative bounds, segments and hits replace the live ones."""

    type: Literal["final"]
    seq: int
    sample: int
    status: str
    bounds: Bounds
    segments: list[SegmentInfo]
    hits: list[HitInfo]


class ScrollToMsg(TypedDict):
    """Scroll a trace to a character of a sample (a heatmap click); ``end``: highlight to there."""

    type: Literal["scroll_to"]
    sample: int
    char: int
    end: int | None


class ImportanceMsg(TypedDict):
    """Segment importance drawn under a sample's thinking (``bars`` empty: remove the strip)."""

    type: Literal["importance"]
    sample: int
    measure: str
    axis: str
    interval: str
    faded: str
    caption: str
    bars: list[ImportanceBar]


class SampleAddedMsg(TypedDict):
    """A new column: a fork of one of the trace's samples, about to stream."""

    type: Literal["sample_added"]
    seq: int
    sample: SampleState


class TokenInfoMsg(TypedDict):
    """A clicked token and its recorded alternatives (``can_branch``: a session can fork it)."""

    type: Literal["token_info"]
    request_id: int
    sample: int
    token: int
    text: str
    start: int
    end: int
    logprob: float | None
    alternatives: list[AlternativeRow]
    can_branch: bool
    reason: str


class DocMsg(TypedDict):
    """The annotator's current trajectory (``view`` empty: for every view)."""

    type: Literal["doc"]
    view: str
    index: int
    total: int
    info: TrajInfo
    text: str
    bounds: Bounds
    hits: list[HitInfo]
    labels: list[str]
    state: AnnotationState


class AnnotationStateMsg(TypedDict):
    """The annotations after an action (``request_id`` of the action, ``ok`` and a message)."""

    type: Literal["annotation_state"]
    request_id: int
    ok: bool
    message: str
    state: AnnotationState


class HeatmapMsg(TypedDict):
    """Constraint attention: ``mass`` buffer float32[columns, layers, constraints]."""

    type: Literal["heatmap"]
    view: str
    tokens: int
    columns: int
    tokens_per_column: int
    layers: int
    constraints: list[str]
    column_text: list[str]
    column_start: list[int]
    column_end: list[int]
    boundary: int | None
    mass: int
    segments: list[SegmentInfo]
    segment_mass: int


class StatsMsg(TypedDict):
    """Keyword and pattern statistics with the trace list they filter."""

    type: Literal["stats"]
    view: str
    lexicon: str
    taxonomy: str
    keywords: list[KeywordRow]
    patterns: list[PatternRow]
    traces: list[TraceRow]
    keyword_chart: dict[str, Any]
    pattern_chart: dict[str, Any]


class CompareMsg(TypedDict):
    """Two trajectories of one prompt, aligned by segment."""

    type: Literal["compare"]
    view: str
    prompt: str
    left: CompareSide
    right: CompareSide
    rows: list[AlignRow]
    candidates: list[TrajInfo]
    left_index: int
    right_index: int
    labels: list[str]
    pair: str | None


class FigureMsg(TypedDict):
    """The figure an export button asked for: the vega-lite spec of the view's ``.chart()``."""

    type: Literal["figure"]
    view: str
    request_id: int
    name: str
    spec: dict[str, Any]


class AckMsg(TypedDict):
    """The answer to a request: whether it worked and what happened."""

    type: Literal["ack"]
    request_id: int
    ok: bool
    message: str


class ErrorMsg(TypedDict):
    """A kernel-side error to show under the widget."""

    type: Literal["error"]
    message: str


# -- front end to kernel --------------------------------------------------------------------------
class ReadyMsg(TypedDict):
    """A view has rendered and wants its state (``protocol``: the hash its bundle was built for)."""

    type: Literal["ready"]
    view: str
    protocol: str


class FigureRequestMsg(TypedDict):
    """An export button: the figure of what the view shows.

    ``sample`` of a trace; ``mode`` and ``constraint`` of a heatmap (``-1``: every constraint).
    """

    type: Literal["figure_request"]
    view: str
    request_id: int
    sample: int
    mode: str
    constraint: int


class StopMsg(TypedDict):
    """The Stop button: cancel the run."""

    type: Literal["stop"]


class EndThinkingMsg(TypedDict):
    """Force the end of the thinking into a sample (``None``: every sample)."""

    type: Literal["end_thinking"]
    sample: int | None


class InjectMsg(TypedDict):
    """Force text (s1's "Wait") into a sample (``None``: every sample)."""

    type: Literal["inject"]
    text: str
    sample: int | None


class TokenRequestMsg(TypedDict):
    """A token was clicked: ask for its recorded alternatives."""

    type: Literal["token_request"]
    request_id: int
    sample: int
    token: int


class BranchMsg(TypedDict):
    """Fork a sample at a token: one of its alternatives, typed text, or neither (re-sample)."""

    type: Literal["branch"]
    request_id: int
    sample: int
    token: int
    alternative: int | None
    text: str | None


class AnnotateMsg(TypedDict):
    """Store an annotation on the current trajectory or one of its segments."""

    type: Literal["annotate"]
    request_id: int
    segment_id: str | None
    kind: str
    value: str | float | None


class AcceptSuggestionMsg(TypedDict):
    """Store a segment's model suggestion as the annotator's own label (one key)."""

    type: Literal["accept_suggestion"]
    request_id: int
    segment_id: str


class UndoMsg(TypedDict):
    """Undo the last annotation made in this widget."""

    type: Literal["undo"]
    request_id: int


class NavigateMsg(TypedDict):
    """Show another trajectory of the annotator's list."""

    type: Literal["navigate"]
    index: int


class SelectTokenMsg(TypedDict):
    """A heatmap cell was clicked."""

    type: Literal["select_token"]
    token: int
    char: int


class SelectRangeMsg(TypedDict):
    """Tokens ``first..last`` (raw characters ``start..end``) were brushed in a chart."""

    type: Literal["select_range"]
    first: int
    last: int
    start: int
    end: int


class SelectMsg(TypedDict):
    """The stats panel's selection changed (``ids``: the traces it keeps)."""

    type: Literal["select"]
    kind: str
    value: str | None
    ids: list[str]


class PickMsg(TypedDict):
    """Put another candidate on one side of the compare view."""

    type: Literal["pick"]
    side: str
    index: int


class ChooseMsg(TypedDict):
    """Mark one side of the compare view chosen (the other rejected) and store the pair."""

    type: Literal["choose"]
    request_id: int
    chosen: str


KERNEL_MESSAGES: tuple[type, ...] = (
    SnapshotMsg,
    DeltaMsg,
    FinalMsg,
    ScrollToMsg,
    ImportanceMsg,
    SampleAddedMsg,
    TokenInfoMsg,
    DocMsg,
    AnnotationStateMsg,
    HeatmapMsg,
    StatsMsg,
    CompareMsg,
    FigureMsg,
    AckMsg,
    ErrorMsg,
)
"""Messages the kernel sends."""

FRONT_MESSAGES: tuple[type, ...] = (
    ReadyMsg,
    FigureRequestMsg,
    StopMsg,
    EndThinkingMsg,
    InjectMsg,
    TokenRequestMsg,
    BranchMsg,
    AnnotateMsg,
    AcceptSuggestionMsg,
    UndoMsg,
    NavigateMsg,
    SelectTokenMsg,
    SelectRangeMsg,
    SelectMsg,
    PickMsg,
    ChooseMsg,
)
"""Messages the front end sends."""

_RECORDS: tuple[type, ...] = (
    Bounds,
    SegmentInfo,
    HitInfo,
    Counters,
    BranchInfo,
    AlternativeRow,
    SampleState,
    SampleDelta,
    TrajInfo,
    HistoryEntry,
    AnnotationState,
    KeywordRow,
    PatternRow,
    TraceRow,
    AlignRow,
    CompareSide,
    ImportanceBar,
)


class ProtocolError(ValueError):
    """A message from the front end does not match its declared shape."""


def _fields(cls: type) -> dict[str, Any]:
    return get_type_hints(cls)


def _type_name(tp: Any) -> str:
    """Describe a Python annotation in TypeScript (the one generator, shared with the extension)."""
    return ts_type(tp)


def schema() -> dict[str, Any]:
    """Return the protocol as plain data: ``{"records"|"kernel"|"front": {name: {field: type}}}``."""
    return {
        group: {
            cls.__name__: {k: _type_name(v) for k, v in _fields(cls).items()} for cls in classes
        }
        for group, classes in (
            ("records", _RECORDS),
            ("kernel", KERNEL_MESSAGES),
            ("front", FRONT_MESSAGES),
        )
    }


PROTOCOL_HASH: str = hashlib.sha256(
    json.dumps(schema(), sort_keys=True, separators=(",", ":")).encode()
).hexdigest()[:16]
"""Short hash of :func:`schema`; the bundle carries the one it was built for."""


def typescript() -> str:
    """Return the TypeScript declaration of the protocol (``js/src/protocol.generated.ts``)."""
    out = [
        "// Generated by `python -m workbench.widgets._protocol` from workbench/widgets/_protocol.py.",
        "// Do not edit: change the Python declaration and rebuild (`make widgets`).",
        "/* eslint-disable */",
        "",
        f'export const PROTOCOL_HASH = "{PROTOCOL_HASH}";',
        f"export const VIEWS = {json.dumps(list(VIEWS))} as const;",
        "",
    ]
    data = schema()
    for group in ("records", "kernel", "front"):
        for name, fields in data[group].items():
            out.append(f"export interface {name} {{")
            out.extend(f"  {k}: {v};" for k, v in fields.items())
            out.append("}")
            out.append("")
    out.append(f"export type KernelMessage = {' | '.join(data['kernel'])};")
    out.append(f"export type FrontMessage = {' | '.join(data['front'])};")
    out.append("")
    return "\n".join(out)


_FRONT_BY_TYPE: dict[str, type] = {get_args(_fields(cls)["type"])[0]: cls for cls in FRONT_MESSAGES}


def _check(path: str, value: Any, tp: Any) -> None:
    origin = get_origin(tp)
    if tp is Any:  # a vega-lite spec: any JSON
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ProtocolError(f"{path}: not JSON ({exc})") from None
        return
    if origin in (Union, types.UnionType):
        errors = []
        for option in get_args(tp):
            try:
                _check(path, value, option)
                return
            except ProtocolError as exc:
                errors.append(str(exc))
        raise ProtocolError(f"{path}: {value!r} matches none of {_type_name(tp)}")
    if origin is Literal:
        if value not in get_args(tp):
            raise ProtocolError(f"{path}: expected {_type_name(tp)}, got {value!r}")
        return
    if tp is type(None):
        if value is not None:
            raise ProtocolError(f"{path}: expected null")
        return
    if tp is bool:
        ok = isinstance(value, bool)
    elif tp is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif tp is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif tp is str:
        ok = isinstance(value, str)
    elif origin is list:
        if not isinstance(value, list):
            raise ProtocolError(f"{path}: expected a list")
        for i, item in enumerate(value):
            _check(f"{path}[{i}]", item, get_args(tp)[0])
        return
    elif origin is dict:
        if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
            raise ProtocolError(f"{path}: expected an object with string keys")
        for k, item in value.items():
            _check(f"{path}.{k}", item, get_args(tp)[1])
        return
    elif typing.is_typeddict(tp):
        _check_record(path, value, tp)
        return
    else:  # pragma: no cover - every declared type is handled above
        raise ProtocolError(f"{path}: cannot check {tp!r}")
    if not ok:
        raise ProtocolError(f"{path}: expected {_type_name(tp)}, got {type(value).__name__}")


def _check_record(path: str, value: Any, cls: type) -> None:
    if not isinstance(value, dict):
        raise ProtocolError(f"{path}: expected an object")
    fields = _fields(cls)
    unknown = sorted(set(value) - set(fields))
    if unknown:
        raise ProtocolError(f"{path}: unknown fields {unknown}")
    for name, tp in fields.items():
        if name not in value:
            raise ProtocolError(f"{path}.{name} is missing")
        _check(f"{path}.{name}", value[name], tp)


def validate_front_message(content: Any) -> dict[str, Any]:
    """Check a message from the front end against :data:`FRONT_MESSAGES`; return it.

    Raises
    ------
    ProtocolError
        Naming the first field that does not match.
    """
    if not isinstance(content, dict) or not isinstance(content.get("type"), str):
        raise ProtocolError("a message is an object with a string 'type'")
    cls = _FRONT_BY_TYPE.get(content["type"])
    if cls is None:
        raise ProtocolError(f"unknown message type {content['type']!r}")
    _check_record(content["type"], content, cls)
    return content


def validate_kernel_message(content: Any) -> dict[str, Any]:
    """Check a message the kernel is about to send (used by the tests)."""
    if not isinstance(content, dict):
        raise ProtocolError("a message is an object")
    by_type = {get_args(_fields(c)["type"])[0]: c for c in KERNEL_MESSAGES}
    cls = by_type.get(content.get("type"))
    if cls is None:
        raise ProtocolError(f"unknown message type {content.get('type')!r}")
    _check_record(str(content["type"]), content, cls)
    return content


if __name__ == "__main__":  # pragma: no cover - the build's code generator
    sys.stdout.write(typescript())
