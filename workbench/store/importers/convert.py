"""Turn one source record into trajectories according to a :class:`Layout`."""

from __future__ import annotations

import datetime as _dt
import decimal
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from workbench.errors import ValidationError
from workbench.grade import Grade
from workbench.pair import Pair
from workbench.store.codec import source_key
from workbench.think import parse_think
from workbench.trajectory import Message, Trajectory, new_id, prompt_key

from .layout import Layout

__all__ = ["Converted", "RecordError", "convert_record"]

_SHAREGPT_ROLES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant",
                   "system": "system", "tool": "tool", "function": "tool", "observation": "tool"}  # fmt: skip
_THINKING_KEYS = ("reasoning_content", "reasoning", "thinking")
_REQUIRED = {
    "preference": ("chosen", "rejected"),
    "messages": ("messages",),
    "columns": ("response",),
}
"""Targets a record must have for its layout; other mapped fields may be missing (then null)."""


class RecordError(ValueError):
    """A record cannot be imported; the message says why (reported with its location)."""


@dataclass(slots=True)
class Converted:
    """Trajectories (with their dedup keys) and pairs made from one record.

    ``keep_ids`` marks trajectories that carry their own ids (a workbench export): one whose id is
    already stored counts as a duplicate.
    """

    trajectories: list[Trajectory] = field(default_factory=list)
    dedup_keys: list[str] = field(default_factory=list)
    pairs: list[Pair] = field(default_factory=list)
    keep_ids: bool = False


def _jsonable(value: Any) -> Any:
    """Convert values from Parquet/datasets/CSV into plain JSON values."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else None
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, _dt.datetime | _dt.date | _dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return _jsonable(value.tolist())
    return str(value)


def _text(value: Any, what: str) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):  # OpenAI content parts
        parts = [p.get("text", "") for p in value if isinstance(p, dict)]
        if len(parts) == len(value):
            return "".join(str(p) for p in parts)
    raise RecordError(f"{what} must be text, got {type(value).__name__}")


def _message(raw: Any, where: str) -> Message:
    if not isinstance(raw, dict):
        raise RecordError(f"{where}: expected a message object, got {type(raw).__name__}")
    if "role" in raw:
        role, content_key = raw["role"], "content"
    elif "from" in raw:
        role, content_key = raw["from"], "value"
    else:
        raise RecordError(f"{where}: a message needs 'role' (or sharegpt 'from')")
    mapped = _SHAREGPT_ROLES.get(str(role).lower())
    if mapped is None:
        raise RecordError(f"{where}: unknown role {role!r}")
    msg: Message = {"role": mapped, "content": _text(raw.get(content_key), f"{where}.content")}
    for key in _THINKING_KEYS:
        if raw.get(key):
            msg["reasoning_content"] = _text(raw[key], f"{where}.{key}")
            break
    return msg


def _messages(value: Any, what: str) -> list[Message]:
    if isinstance(value, str):
        stripped = value.strip()
        if stripped.startswith("["):
            try:
                value = json.loads(stripped)
            except json.JSONDecodeError as exc:
                raise RecordError(f"{what}: not a JSON list of messages ({exc.msg})") from exc
        else:
            return [{"role": "user", "content": value}]
    if isinstance(value, dict):
        return [_message(value, what)]
    if not isinstance(value, list):
        raise RecordError(f"{what}: expected messages, got {type(value).__name__}")
    return [_message(m, f"{what}[{i}]") for i, m in enumerate(value)]


def _grade(value: Any) -> Grade | None:
    """Read a mapped grade field: bools and true/false words are correctness, numbers are scores."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return Grade.coerce(value, grader="imported")
    if isinstance(value, int | float):
        if value != value or value in (float("inf"), float("-inf")):
            return None  # NaN (a missing score in pandas-written files) is no grade
        try:
            score = float(value)
        except OverflowError:
            raise RecordError(
                f"grade is an integer of {int(value).bit_length()} bits, beyond float range: "
                "give a score between 0 and 1, or true/false"
            ) from None
        return Grade.coerce(score, grader="imported")
    text = str(value).strip().lower()
    if text in ("nan", "none", "null"):
        return None
    if text in ("true", "yes", "correct"):
        return Grade.coerce(True, grader="imported")
    if text in ("false", "no", "incorrect", "wrong"):
        return Grade.coerce(False, grader="imported")
    try:
        score = float(text)
    except ValueError:
        raise RecordError(f"grade {value!r} is not a number or true/false") from None
    try:
        return Grade.coerce(score, grader="imported")
    except ValueError:
        raise RecordError(f"grade {value!r} is not a finite number or true/false") from None


def _tags(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [t.strip() for t in value.split(",") if t.strip()]
    if isinstance(value, list):
        return [str(t) for t in value]
    raise RecordError(
        f"tags must be a list or a comma-separated string, got {type(value).__name__}"
    )


def _content_hash(*parts: Any) -> str:
    h = hashlib.sha1()
    for part in parts:
        h.update(json.dumps(part, ensure_ascii=False, sort_keys=True).encode("utf-8"))
        h.update(b"\x1f")
    return h.hexdigest()


def _same_text(a: str, b: str) -> bool:
    return a.split() == b.split()


def convert_record(
    record: dict[str, Any],
    layout: Layout,
    *,
    source: str,
    model: str | None = None,
    extra_tags: list[str] | None = None,
) -> Converted:
    """Build the trajectories (and, for preference records, the pair) of one record.

    Raises
    ------
    RecordError
        With the reason the record cannot be imported.
    """
    f = layout.fields
    required = _REQUIRED[layout.kind]
    if layout.kind == "columns" and "response" not in f:
        required = tuple(t for t in ("answer", "thinking") if t in f)
    for target in required:
        if f[target] not in record:
            raise RecordError(f"missing field {f[target]!r} (mapped to {target})")

    def get(target: str) -> Any:
        return record.get(f[target]) if target in f else None

    used = set(layout.consumed())
    metadata = {k: _jsonable(v) for k, v in record.items() if k not in used}
    metadata.update({name: _jsonable(record.get(key)) for name, key in layout.metadata.items()})

    prompt: list[Message] = []
    if get("prompt") is not None:
        prompt = _messages(get("prompt"), f["prompt"])
    if get("system"):
        prompt = [{"role": "system", "content": _text(get("system"), f["system"])}, *prompt]

    source_id = None if get("id") is None else str(_jsonable(get("id")))
    model_value = get("model")
    common: dict[str, Any] = {
        "model": str(model_value) if model_value not in (None, "") else model,
        "gold": None if get("gold") is None else str(_jsonable(get("gold"))),
        "grade": _grade(get("grade")),
        "tags": _tags(get("tags")) + list(extra_tags or []),
        "source": source,
    }
    if get("status") is not None:
        common["status"] = str(get("status"))

    try:
        if layout.kind == "preference":
            return _preference(record, layout, prompt, source_id, metadata, common)
        if layout.kind == "messages":
            messages = _messages(get("messages"), f["messages"])
            last = max((i for i, m in enumerate(messages) if m["role"] == "assistant"), default=-1)
            if last < 0:
                raise RecordError(f"{f['messages']}: no assistant message to import")
            reply = messages[last]
            prompt = [*prompt, *messages[:last]]
            if last + 1 < len(messages):
                metadata["messages_after_reply"] = messages[last + 1 :]
            parsed = parse_think(reply["content"], reasoning=reply.get("reasoning_content"))
        else:
            parsed = _parse_columns(record, layout, metadata)
        traj = Trajectory(
            prompt=prompt,
            raw=parsed.raw,
            think_format=parsed.think_format,
            thinking_span=parsed.thinking_span,
            answer_span=parsed.answer_span,
            source_id=source_id,
            metadata=metadata,
            **common,
        )
    except ValidationError as exc:
        raise RecordError(str(exc)) from exc
    key = (
        source_key(source, source_id)
        if source_id is not None
        else f"sha:{_content_hash(source, traj.prompt, traj.raw, traj.model, metadata)}"
    )
    return Converted([traj], [key])


def _parse_columns(record: dict[str, Any], layout: Layout, metadata: dict[str, Any]) -> Any:
    f = layout.fields
    thinking = _text(record.get(f["thinking"]), f["thinking"]) if "thinking" in f else None
    if "response" in f:
        raw = _text(record.get(f["response"]), f["response"])
        if "answer" in f:  # mapped explicitly beside a response: keep it, do not use it
            metadata[f["answer"]] = _jsonable(record.get(f["answer"]))
        parsed = parse_think(raw)
        # A separate reasoning column is used when the response has no thinking of its own and
        # does not already contain that text (some datasets copy the reply into both columns).
        if thinking and parsed.think_format == "none" and thinking.strip() not in raw:
            return parse_think(raw, reasoning=thinking)
        if thinking and not _same_text(thinking, parsed.thinking):
            metadata[f["thinking"]] = thinking  # differs from the thinking in the text: keep it
        return parsed
    answer = _text(record.get(f["answer"]), f["answer"]) if "answer" in f else ""
    return parse_think(answer, reasoning=thinking)


def _preference(
    record: dict[str, Any],
    layout: Layout,
    prompt: list[Message],
    source_id: str | None,
    metadata: dict[str, Any],
    common: dict[str, Any],
) -> Converted:
    f = layout.fields
    if not prompt and "messages" in f:
        prompt = _messages(record.get(f["messages"]), f["messages"])
    out = Converted()
    ids: dict[str, str] = {}
    base = source_id if source_id is not None else _content_hash(prompt, record.get(f["chosen"]),
                                                                 record.get(f["rejected"]))  # fmt: skip
    for side in ("chosen", "rejected"):
        reply = _messages(record.get(f[side]), f[side])
        assistant = [m for m in reply if m["role"] == "assistant"] or reply[-1:]
        if not assistant:
            raise RecordError(f"{f[side]}: empty")
        msg = assistant[-1]
        parsed = parse_think(msg["content"], reasoning=msg.get("reasoning_content"))
        traj = Trajectory(
            id=new_id(),
            prompt=prompt,
            raw=parsed.raw,
            think_format=parsed.think_format,
            thinking_span=parsed.thinking_span,
            answer_span=parsed.answer_span,
            source_id=f"{base}:{side}",
            metadata={**metadata, "preference": side},
            **common,
        )
        ids[side] = traj.id
        out.trajectories.append(traj)
        out.dedup_keys.append(source_key(common["source"], traj.source_id or ""))
    out.pairs.append(
        Pair(
            prompt_key=prompt_key(prompt),
            chosen_id=ids["chosen"],
            rejected_id=ids["rejected"],
            strategy="imported",
            provenance={"source": common["source"], "source_id": source_id},
        )
    )
    return out
