"""Saved chat-completion responses (OpenAI-compatible servers: vLLM, DeepSeek, OpenRouter, ...).

A response object ``{"id", "model", "choices": [{"message": {"content", "reasoning" |
"reasoning_content"}, "finish_reason"}], "usage"}`` gives one trajectory per choice (format
``field`` when the reasoning came separately). Also read: text completions (``choices[i].text``),
OpenAI Batch API output lines (``{"custom_id", "response": {"body": ...}}``), a response saved
beside its request (``{"request": {"messages"}, "response": {...}}``), and streaming chunk logs
(``choices[i].delta``, optionally as ``data: {...}`` server-sent-event lines), which are
reassembled per response id before conversion.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from workbench.think import parse_think
from workbench.trajectory import Message

from .convert import Converted, RecordError, _messages, _text
from .known import Context, NamedLayout, build, collect, register

__all__ = ["ChunkAssembler"]

_REASONING_KEYS = ("reasoning_content", "reasoning", "thinking")


def _unwrap(record: dict[str, Any]) -> tuple[dict[str, Any], list[Message], dict[str, Any]]:
    """Return ``(response, prompt messages, extra metadata)`` of a saved response record."""
    extra: dict[str, Any] = {}
    prompt: list[Message] = []
    response = record
    inner = record.get("response")
    if isinstance(inner, dict):
        body = inner.get("body")
        response = body if isinstance(body, dict) else inner
        for key in ("custom_id", "error"):
            if record.get(key) is not None:
                extra[key] = record[key]
        if isinstance(inner.get("status_code"), int):
            extra["status_code"] = inner["status_code"]
    request = record.get("request")
    if isinstance(request, dict) and request.get("messages") is not None:
        prompt = _messages(request["messages"], "request.messages")
        sampling = {k: v for k, v in request.items() if k not in ("messages", "model", "stream")}
        if sampling:
            extra["request"] = sampling
    elif record.get("messages") is not None and response is not record:
        prompt = _messages(record["messages"], "messages")
    return response, prompt, extra


def _choices(value: Any) -> list[dict[str, Any]] | None:
    return value if isinstance(value, list) and all(isinstance(c, dict) for c in value) else None


def _is_chat(record: dict[str, Any]) -> bool:
    response, _, _ = _unwrap(record)
    choices = _choices(response.get("choices"))
    if not choices:
        return str(response.get("object", "")) in ("chat.completion", "text_completion")
    return "message" in choices[0] or "text" in choices[0]


def _is_chunk(record: dict[str, Any]) -> bool:
    choices = _choices(record.get("choices"))
    if str(record.get("object", "")) == "chat.completion.chunk":
        return True
    return bool(choices) and "delta" in choices[0]  # type: ignore[index]


def _reasoning(message: dict[str, Any]) -> str | None:
    for key in _REASONING_KEYS:
        value = message.get(key)
        if isinstance(value, str) and value.strip():
            return value
    details = message.get("reasoning_details")  # OpenRouter: a list of {"type", "text"}
    if isinstance(details, list):
        parts = [d.get("text") for d in details if isinstance(d, dict)]
        joined = "".join(p for p in parts if isinstance(p, str))
        return joined or None
    return None


def _chat(record: dict[str, Any], ctx: Context) -> Converted:
    response, prompt, extra = _unwrap(record)
    choices = _choices(response.get("choices"))
    if not choices:
        raise RecordError("the response has no choices")
    rid = response.get("id") or extra.get("custom_id")
    meta_common: dict[str, Any] = dict(extra)
    for key in ("usage", "created", "system_fingerprint", "object"):
        if response.get(key) is not None:
            meta_common[key] = response[key]
    out = []
    for n, choice in enumerate(choices):
        index = choice.get("index", n)
        message = choice.get("message")
        if isinstance(message, dict):
            content = _text(message.get("content"), f"choices[{n}].message.content")
            parsed = parse_think(content, reasoning=_reasoning(message))
            if message.get("tool_calls"):
                meta_common_n = {**meta_common, "tool_calls": message["tool_calls"]}
            else:
                meta_common_n = meta_common
        elif "text" in choice:
            parsed = parse_think(_text(choice.get("text"), f"choices[{n}].text"))
            meta_common_n = meta_common
        else:
            raise RecordError(f"choices[{n}] has neither a message nor a text")
        meta = {**meta_common_n, "choice_index": index}
        if choice.get("logprobs") is not None:
            meta["has_logprobs"] = True
        out.append(
            build(parsed, ctx, prompt=prompt,
                  source_id=None if rid in (None, "") else f"{rid}:{index}", metadata=meta,
                  model=response.get("model"), finish_reason=choice.get("finish_reason"))
        )  # fmt: skip
    return collect(out)


register(
    NamedLayout(
        "chat_completion",
        "OpenAI-compatible chat-completion responses saved as JSON/JSONL (message.reasoning / "
        "reasoning_content), Batch API output, and streaming chunk logs (reassembled)",
        _is_chat,
        _chat,
    )
)


@dataclass(slots=True)
class _Stream:
    location: str
    response: dict[str, Any]
    choices: dict[int, dict[str, Any]] = field(default_factory=dict)


class ChunkAssembler:
    """Reassemble streaming ``chat.completion.chunk`` records into whole responses.

    Chunks are grouped by their ``id`` (several streams may be interleaved in one log); each
    choice's ``delta.content`` and reasoning pieces are concatenated in order.
    """

    def __init__(self) -> None:
        self._streams: dict[str, _Stream] = {}

    def __len__(self) -> int:
        return len(self._streams)

    def add(self, location: str, chunk: dict[str, Any]) -> None:
        """Take one chunk (read at ``location``)."""
        rid = str(chunk.get("id") or "")
        stream = self._streams.get(rid)
        if stream is None:
            stream = self._streams[rid] = _Stream(location, {"id": chunk.get("id")})
        for key in ("model", "created", "system_fingerprint"):
            if chunk.get(key) is not None:
                stream.response.setdefault(key, chunk[key])
        if chunk.get("usage") is not None:
            stream.response["usage"] = chunk["usage"]
        for n, choice in enumerate(_choices(chunk.get("choices")) or []):
            index = int(choice.get("index", n))
            acc = stream.choices.setdefault(index, {"content": [], "reasoning": []})
            delta = choice.get("delta") or {}
            if not isinstance(delta, dict):
                raise RecordError(f"choices[{n}].delta must be an object")
            if isinstance(delta.get("content"), str):
                acc["content"].append(delta["content"])
            for key in _REASONING_KEYS:
                if isinstance(delta.get(key), str):
                    acc["reasoning"].append(delta[key])
                    break
            if choice.get("finish_reason"):
                acc["finish_reason"] = choice["finish_reason"]

    def finish(self) -> list[tuple[str, dict[str, Any]]]:
        """Return ``[(location of the first chunk, response object)]`` for every stream."""
        out = []
        for stream in self._streams.values():
            choices = []
            for index in sorted(stream.choices):
                acc = stream.choices[index]
                message: dict[str, Any] = {"role": "assistant", "content": "".join(acc["content"])}
                if acc["reasoning"]:
                    message["reasoning_content"] = "".join(acc["reasoning"])
                choices.append(
                    {"index": index, "message": message, "finish_reason": acc.get("finish_reason")}
                )
            response = {**stream.response, "object": "chat.completion", "choices": choices}
            if response.get("id") in (None, ""):
                response.pop("id", None)
            response["metadata_streamed"] = True
            out.append((stream.location, response))
        self._streams.clear()
        return out


def convert_stream(response: dict[str, Any], ctx: Context) -> Converted:
    """Convert a response reassembled by :class:`ChunkAssembler`."""
    streamed = response.pop("metadata_streamed", False)
    converted = _chat(response, ctx)
    for traj in converted.trajectories:
        traj.metadata["streamed"] = bool(streamed)
    return converted


register(
    NamedLayout(
        "chat_completion_chunks",
        "streaming chat-completion chunk logs (choices[i].delta), reassembled per response id",
        _is_chunk,
        _chat,  # not used: ingest reassembles chunks and calls convert_stream
    )
)
