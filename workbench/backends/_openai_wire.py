"""The OpenAI-compatible wire: one streaming request on a thread, and what its bytes mean.

Private to :mod:`workbench.backends.openai_compat`: the reader thread that queues a response's SSE
lines, how an attempt ended (:class:`_Outcome`), and the parsers of logprobs, error bodies and
``Retry-After``.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import queue
import socket
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from workbench.backends.base import truncated_entropy

if TYPE_CHECKING:
    import httpx

START_HINT = "start one with `vllm serve MODEL` or `transformers serve MODEL`"
"""What the connection errors suggest."""


@dataclass(slots=True)
class _Outcome:
    """How one HTTP attempt ended."""

    kind: str  # "done", "cancelled" or "failed"
    message: str = ""
    retryable: bool = False
    status: int | None = None
    retry_after: float | None = None


class _Reader(threading.Thread):
    """Run one streaming request in a thread and queue what arrives.

    Items are ``("lines", [str, ...])``, the complete SSE lines of one network read (LF or CRLF
    line ends; a partial line waits for the next read), then exactly one terminal item: ``("eof", None)``,
    ``("http", (status, body, retry_after))`` for an HTTP error, or ``("exc", exception)``. After
    :meth:`halt` nothing more is queued.
    """

    def __init__(
        self, client: httpx.Client, url: str, payload: dict[str, Any], headers: dict[str, str]
    ) -> None:
        super().__init__(name="workbench-openai-stream", daemon=True)
        self.items: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._client = client
        self._url = url
        self._payload = payload
        self._headers = headers
        self._halted = threading.Event()
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None

    def run(self) -> None:
        """Send the request and queue the response's lines."""
        try:
            with self._client.stream(
                "POST", self._url, json=self._payload, headers=self._headers
            ) as response:
                try:
                    self._remember_socket(response)
                    if self._halted.is_set():
                        return
                    if response.status_code >= 400:
                        body = response.read().decode("utf-8", errors="replace")
                        retry_after = _parse_retry_after(response.headers.get("retry-after"))
                        self.items.put(("http", (response.status_code, body, retry_after)))
                        return
                    # one queue item per network read, not per line: fewer thread hand-offs
                    tail = ""
                    for text in response.iter_text():
                        if self._halted.is_set():
                            return
                        *lines, tail = (tail + text).replace("\r\n", "\n").split("\n")
                        if lines:
                            self.items.put(("lines", [line.rstrip("\r") for line in lines]))
                    if tail:
                        self.items.put(("lines", [tail.rstrip("\r")]))
                finally:
                    with self._lock:
                        self._sock = None
            self.items.put(("eof", None))
        except Exception as exc:  # reported to the consumer, which decides what to do
            if not self._halted.is_set():
                self.items.put(("exc", exc))

    def _remember_socket(self, response: httpx.Response) -> None:
        stream = response.extensions.get("network_stream")
        sock = None
        if stream is not None and hasattr(stream, "get_extra_info"):
            with contextlib.suppress(Exception):
                sock = stream.get_extra_info("socket")
        with self._lock:
            self._sock = sock if isinstance(sock, socket.socket) else None
            if self._halted.is_set():
                self._shutdown_locked()

    def _shutdown_locked(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_RDWR)

    def halt(self, *, abort: bool) -> None:
        """Stop queueing; with ``abort``, also cut the connection so the server stops generating.

        Shutting the socket down wakes a read blocked in the reader thread at once (closing it from
        another thread would not) and sends the server a FIN, which vLLM, SGLang and
        ``transformers serve`` take as "client gone" and abort the request.
        """
        self._halted.set()
        if abort:
            with self._lock:
                self._shutdown_locked()


def _exception_outcome(exc: BaseException, base: str, timeout: float) -> _Outcome:
    """Say how an exception of one HTTP attempt ends it, with what to do about it."""
    import httpx

    if isinstance(exc, httpx.ConnectTimeout):
        return _Outcome(
            "failed",
            f"timed out after {timeout:g} s connecting to {base}: is the server running "
            f"and reachable? {START_HINT}",
            retryable=True,
        )
    if isinstance(exc, httpx.ConnectError):
        return _Outcome(
            "failed",
            f"cannot connect to {base}: is the server running? {START_HINT} ({exc})",
            retryable=True,
        )
    if isinstance(exc, httpx.ReadTimeout):
        return _Outcome(
            "failed",
            f"the server at {base} sent nothing for {timeout:g} s: check its log, or "
            "allow slow models more time with OpenAIBackend(..., timeout=SECONDS)",
            retryable=True,
        )
    if isinstance(exc, httpx.TimeoutException):
        return _Outcome(
            "failed", f"timed out talking to {base} ({type(exc).__name__}: {exc})", True
        )
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return _Outcome("failed", f"invalid base_url {base!r}: {exc}")
    if isinstance(exc, httpx.TransportError):
        return _Outcome(
            "failed",
            f"the connection to {base} broke ({type(exc).__name__}: {exc}); check the server's log",
            retryable=True,
        )
    return _Outcome("failed", f"unexpected error talking to {base}: {type(exc).__name__}: {exc}")


ParsedLogprobs = tuple[
    tuple[float, ...],
    tuple[dict[str, float], ...] | None,
    tuple[float, ...] | None,
    tuple[str, ...] | None,
]
"""``(logprobs, top alternatives, entropies, token texts)`` of one chunk's tokens."""


def _parse_logprobs(obj: Any, want_top: bool) -> ParsedLogprobs | None:
    """Read ``choice.logprobs.content``: per-token logprobs, top alternatives, entropies, texts."""
    if not isinstance(obj, dict):
        return None
    content = obj.get("content")
    if not isinstance(content, list) or not content:
        return None
    logprobs: list[float] = []
    tops: list[dict[str, float]] = []
    entropies: list[float] = []
    texts: list[str] = []
    complete_texts = True
    complete_tops = want_top
    for entry in content:
        sampled = _number(entry.get("logprob")) if isinstance(entry, dict) else None
        if sampled is None:
            return None
        logprobs.append(sampled)
        token = entry.get("token")
        if isinstance(token, str):
            texts.append(token)
        else:
            complete_texts = False
        if not want_top:
            continue
        top: dict[str, float] = {}
        values: list[float] = []
        alternatives = entry.get("top_logprobs")
        for alt in alternatives if isinstance(alternatives, list) else []:
            if isinstance(alt, dict) and isinstance(alt.get("token"), str):
                value = _number(alt.get("logprob"))
                if value is not None:
                    top.setdefault(alt["token"], value)
                    values.append(value)
        tops.append(top)
        if values:
            entropies.append(truncated_entropy(values))
        else:
            complete_tops = False
    return (
        tuple(logprobs),
        tuple(tops) if want_top else None,
        tuple(entropies) if complete_tops else None,
        tuple(texts) if complete_texts else None,
    )


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _error_text(body: Any) -> str:
    """Pull a readable message out of an error body (OpenAI, vLLM, FastAPI or plain text)."""
    data = body
    if isinstance(body, str):
        try:
            data = json.loads(body)
        except ValueError:
            text = body.strip()
            return text[:500] if text else "(empty response body)"
    if isinstance(data, dict):
        for key in ("error", "message", "detail"):
            if key not in data:
                continue
            value = data[key]
            if isinstance(value, dict):
                return _error_text(value)
            if isinstance(value, list):  # FastAPI validation errors
                parts = [
                    str(v.get("msg", v)) + (f" at {v['loc']}" if "loc" in v else "")
                    if isinstance(v, dict)
                    else str(v)
                    for v in value
                ]
                return "; ".join(parts)[:500]
            return str(value)[:500]
    return json.dumps(data)[:500]


def _parse_retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
