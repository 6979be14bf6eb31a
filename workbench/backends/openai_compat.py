r"""Stream from any OpenAI-compatible chat server: vLLM, SGLang, ``transformers serve``, hosted APIs.

:class:`OpenAIBackend` POSTs ``/chat/completions`` with ``"stream": true`` and turns the server-sent
events into :class:`~workbench.backends.base.TokenEvent` and
:class:`~workbench.backends.base.FinishEvent`. It needs only ``httpx`` (imported when a backend is
made, so this module imports without it); the model runs elsewhere, so this is the way to use models
that do not fit in the notebook's process.

Reaching a server
-----------------
vLLM, one GPU::

    vllm serve Qwen/Qwen3-8B --reasoning-parser qwen3 --port 8000

vLLM across GPUs (tensor parallel inside a node, pipeline parallel across groups of GPUs)::

    vllm serve deepseek-ai/DeepSeek-R1-Distill-Llama-70B --reasoning-parser deepseek_r1 \
        --tensor-parallel-size 4 --pipeline-parallel-size 2

Across several nodes, start a Ray cluster first (``ray start --head`` on one node,
``ray start --address=HEAD:6379`` on the others) and run the same ``vllm serve`` command on the head
node: vLLM places the tensor/pipeline-parallel workers on the Ray cluster. Pass
``--max-logprobs 20`` to allow up to 20 top logprobs per token.

SGLang::

    python -m sglang.launch_server --model-path Qwen/Qwen3-8B --reasoning-parser qwen3 --port 8000

``transformers serve`` (CPU or one GPU, no extra engine; ``pip install "transformers[serving]"``)::

    transformers serve /path/to/model --host 127.0.0.1 --port 8000

It serves the model named on the command line and wants that same name (the path) as ``model``; it
ignores ``n`` and ``logprobs`` and rejects fields it does not know (``top_k``, thinking prefills).

Then::

    backend = OpenAIBackend("Qwen/Qwen3-8B", base_url="http://gpu-host:8000/v1")

Hosted APIs work the same way with their ``base_url`` and an ``api_key`` (or ``$OPENAI_API_KEY``).
Some reject sampling fields they do not support; remove a field with ``extra_body={"top_p": None}``
and turn off the default logprobs request with ``request_logprobs=False``.

How a sample's text is recorded
-------------------------------
The workbench stores one raw text per sample. Servers with a reasoning parser send the thinking
separately (``delta.reasoning``, or ``delta.reasoning_content`` on older vLLM and on
``transformers serve``); this backend puts it back in line, so the recorded text is
``"<think>\n{reasoning}\n</think>\n\n{content}"``. The wrapper pieces (``"<think>\n"`` and
``"\n</think>\n\n"``) are emitted as their own :class:`~workbench.backends.base.TokenEvent` with
``forced=False``, ``token_ids=()`` and no logprobs: they are not model tokens, but not budget
forcing either. Thinking that a server leaves in ``content`` (``<think>`` written inline) passes
through untouched. Whitespace is kept as the server sends it.

Token ids are never known (the protocol sends token strings): ``token_ids`` is always ``()``, and
when the server returns logprobs each event carries the tokens' strings (``token_texts``), from
which the recorder keeps one token per entry (id ``-1``) with its character span and logprob.
A sample whose thinking came in the reasoning field finishes with ``reasoning_field=True`` and is
recorded with ``think_format="field"``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import queue
import threading
from collections import deque
from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING, Any

from workbench.backends._openai_events import (
    THINK_CLOSE,
    THINK_OPEN,
    SampleState,
    chunk_events,
    finish,
    finish_open,
)
from workbench.backends._openai_wire import (
    _error_text,
    _exception_outcome,
    _is_loopback,
    _Outcome,
    _Reader,
)
from workbench.backends.base import (
    Backend,
    Event,
    GenerationRequest,
    RunControl,
    truncated_entropy,
)
from workbench.errors import ValidationError, WorkbenchError

if TYPE_CHECKING:
    import httpx

__all__ = ["THINK_CLOSE", "THINK_OPEN", "OpenAIBackend", "truncated_entropy"]

_POLL_S = 0.1
"""How often the consumer looks at ``cancel`` while the server sends nothing."""

_MAX_BACKOFF_S = 10.0


class OpenAIBackend(Backend):
    """Generate with a model behind an OpenAI-compatible ``/chat/completions`` endpoint.

    Parameters
    ----------
    model
        The model name the server knows (for ``transformers serve``: the path it was started with).
    base_url
        The API root, ending in ``/v1``.
    api_key
        Sent as ``Authorization: Bearer ...``; ``None`` falls back to ``$OPENAI_API_KEY``, and
        no header is sent when neither is set (local servers need none).
    timeout
        Seconds allowed to connect, and between two pieces of data from the server (so a slow
        first token of a long prompt needs a larger value).
    max_retries
        Extra attempts after a failure that happened before any event was yielded (connection
        refused, timeouts, HTTP 408/409/429/5xx, malformed JSON, a broken connection). Other 4xx
        answers (unknown model, bad field) are not retried: they would fail the same way.
    extra_body
        Fields merged into each request body, e.g. ``{"repetition_penalty": 1.1}`` or
        ``{"chat_template_kwargs": {...}}`` (dicts are merged one level deep). A ``None`` value
        removes the field, e.g. ``{"top_p": None}`` for APIs that reject it.
    request_logprobs
        Ask for the sampled tokens' logprobs (``"logprobs": true``) even when
        ``SamplingParams.logprobs == 0``. Servers that do not return them are fine; if a server
        rejects the field (some hosted reasoning APIs) the request is sent again without it. Top
        alternatives (``SamplingParams.logprobs > 0``) are always requested.
    retry_backoff
        Seconds before the first retry; doubled for each further one (at most 10 s). A server's
        ``Retry-After`` header takes precedence.

    Notes
    -----
    Connections are proxied as ``httpx`` does by default (``$HTTPS_PROXY``...), except loopback
    URLs, which always go direct.
    """

    name = "openai"

    def __init__(
        self,
        model: str,
        *,
        base_url: str = "http://127.0.0.1:8000/v1",
        api_key: str | None = None,
        timeout: float = 60.0,
        max_retries: int = 2,
        extra_body: dict[str, Any] | None = None,
        request_logprobs: bool = True,
        retry_backoff: float = 0.5,
    ) -> None:
        o = "OpenAIBackend"
        if importlib.util.find_spec("httpx") is None:
            raise WorkbenchError("OpenAIBackend needs httpx: pip install httpx")
        if not isinstance(model, str) or not model:
            raise ValidationError(f"{o}.model", "give the model name the server knows")
        if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
            raise ValidationError(
                f"{o}.base_url",
                f"must be an http(s) URL such as http://host:8000/v1, got {base_url!r}",
            )
        if not isinstance(timeout, int | float) or timeout <= 0:
            raise ValidationError(f"{o}.timeout", f"must be > 0 seconds, got {timeout!r}")
        if not isinstance(max_retries, int) or max_retries < 0:
            raise ValidationError(f"{o}.max_retries", f"must be >= 0, got {max_retries!r}")
        if extra_body is not None and not isinstance(extra_body, dict):
            raise ValidationError(f"{o}.extra_body", "must be a dict of request fields")
        if not isinstance(retry_backoff, int | float) or retry_backoff < 0:
            raise ValidationError(f"{o}.retry_backoff", f"must be >= 0, got {retry_backoff!r}")
        self.model = model
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY") or None
        self.timeout = float(timeout)
        self.max_retries = max_retries
        self.extra_body = dict(extra_body or {})
        self.request_logprobs = request_logprobs
        self.retry_backoff = float(retry_backoff)
        self._client: httpx.Client | None = None
        self._client_lock = threading.Lock()

    @property
    def model_name(self) -> str:
        """The model string given to the constructor."""
        return self.model

    @property
    def url(self) -> str:
        """The chat completions endpoint."""
        return f"{self.base_url}/chat/completions"

    def close(self) -> None:
        """Close the connection pool (a later :meth:`stream` opens a new one)."""
        with self._client_lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def _get_client(self) -> httpx.Client:
        import httpx

        with self._client_lock:
            if self._client is None:
                self._client = httpx.Client(
                    timeout=httpx.Timeout(self.timeout),
                    trust_env=not _is_loopback(self.base_url),
                )
            return self._client

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "text/event-stream"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers

    def build_payload(self, request: GenerationRequest) -> dict[str, Any]:
        """Return the JSON body sent for ``request`` (useful to check what a server will get).

        Parameters
        ----------
        request
            The generation request.

        Returns
        -------
        dict
            The ``/chat/completions`` body, with :attr:`extra_body` merged in.
        """
        s = request.sampling
        messages: list[dict[str, Any]] = [dict(m) for m in request.messages]
        payload: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "stream": True,
            "max_tokens": s.max_new_tokens,
            "temperature": s.temperature,
            "top_p": s.top_p,
            "n": s.n,
        }
        if s.seed is not None:
            payload["seed"] = s.seed
        if s.stop:
            payload["stop"] = list(s.stop)
        if s.logprobs > 0:
            payload["logprobs"] = True
            payload["top_logprobs"] = s.logprobs
        elif self.request_logprobs:
            payload["logprobs"] = True
        if s.top_k is not None:
            payload["top_k"] = s.top_k  # not OpenAI's schema; vLLM and SGLang accept it
        if s.ignore_eos:
            payload["ignore_eos"] = True  # likewise a vLLM/SGLang extension, sent only when set
        if request.enable_thinking is not None:
            payload["chat_template_kwargs"] = {"enable_thinking": request.enable_thinking}
        if request.thinking_prefill:
            messages.append({"role": "assistant", "content": request.thinking_prefill})
            payload["continue_final_message"] = True
            payload["add_generation_prompt"] = False
        for key, value in self.extra_body.items():
            if value is None:
                payload.pop(key, None)
            elif isinstance(value, dict) and isinstance(payload.get(key), dict):
                payload[key] = {**payload[key], **value}
            else:
                payload[key] = value
        return payload

    def stream(
        self,
        request: GenerationRequest,
        *,
        cancel: threading.Event,
        control: RunControl | None = None,
    ) -> Iterator[Event]:
        r"""Stream the server's answer, one event per delta; never raises for server problems.

        Parameters
        ----------
        request
            The prompt and sampling parameters. ``thinking_prefill`` is sent the way vLLM and
            SGLang continue an assistant turn: the prefill becomes a final assistant message, with
            ``"continue_final_message": true, "add_generation_prompt": false``. The prefill text
            itself is yielded first for each sample as a ``forced=True`` event, so the recorded
            text starts with it. Servers without that extension either reject the request
            (``transformers serve``: every sample then ends with ``"error"``, saying so) or may
            ignore the two fields and answer in a new turn, which this backend cannot detect: use
            a prefill only with vLLM or SGLang. ``budget`` is not applied: a remote server cannot
            be steered mid-generation.
        cancel
            Checked at least every 0.1 s, also while the server sends nothing: the request runs in
            a helper thread that queues the incoming lines, and the consumer waits on that queue
            with a 0.1 s timeout. On cancel the connection is shut down (the server sees the
            client leave and aborts the generation) and open samples finish with ``"cancelled"``.
        control
            Ignored: text cannot be forced into a remote server's running generation.

        Yields
        ------
        TokenEvent or FinishEvent
            Token events carry ``logprobs`` when the server returns them, and ``top_logprobs``
            and :func:`truncated_entropy` estimates when ``sampling.logprobs > 0``. Every sample
            ends with exactly one finish event: ``"stop"`` (also when the server gives no reason),
            ``"length"``, ``"cancelled"``, or ``"error"`` with a readable ``error`` (HTTP errors
            carry the server's message; any other finish reason, such as ``"abort"``, is reported
            as an error naming it).
        """
        n = request.sampling.n
        samples = [SampleState() for _ in range(n)]
        want_top = request.sampling.logprobs > 0
        prefill = request.thinking_prefill or ""
        if prefill:
            opened, closed = prefill.rfind("<think>"), prefill.rfind("</think>")
            for st in samples:
                st.in_think = opened > closed
        payload = self.build_payload(request)
        emitted = [False]  # any event yielded: from then on, no retry
        attempt = 0
        while True:
            reader = _Reader(self._get_client(), self.url, payload, self._headers())
            outcome: _Outcome | None = None
            reader.start()
            try:
                outcome = yield from self._attempt(
                    reader, samples, cancel, prefill, want_top, emitted
                )
            finally:
                reader.halt(abort=outcome is None or outcome.kind != "done")
            if outcome.kind == "done":
                for i, st in enumerate(samples):
                    if st.finished:
                        continue
                    if st.seen:
                        yield from finish(i, samples, prefill, "stop")
                    else:
                        msg = (
                            f"the server sent no output for sample {i}: it may not support n > 1 "
                            "(transformers serve ignores n); ask for n=1 several times instead, "
                            "or use vLLM or SGLang"
                            if n > 1
                            else "the server's stream ended without any output"
                        )
                        yield from finish(i, samples, prefill, "error", msg)
                return
            if outcome.kind == "cancelled":
                yield from finish_open(samples, prefill, "cancelled")
                return
            if (
                not emitted[0]
                and outcome.status in (400, 422)
                and "logprobs" in outcome.message.lower()
                and payload.get("logprobs")
                and request.sampling.logprobs == 0
            ):
                payload = {
                    k: v for k, v in payload.items() if k not in ("logprobs", "top_logprobs")
                }
                continue  # the server rejects logprobs: ask again without them
            if not emitted[0] and outcome.retryable and attempt < self.max_retries:
                if outcome.retry_after is not None:
                    delay = min(outcome.retry_after, _MAX_BACKOFF_S)
                else:
                    delay = min(self.retry_backoff * 2**attempt, _MAX_BACKOFF_S)
                attempt += 1
                if cancel.wait(delay):
                    yield from finish_open(samples, prefill, "cancelled")
                    return
                continue
            message = outcome.message
            if attempt:
                message += f" (after {attempt + 1} attempts)"
            yield from finish_open(samples, prefill, "error", message)
            return

    # ----- one attempt -----

    def _attempt(
        self,
        reader: _Reader,
        samples: list[SampleState],
        cancel: threading.Event,
        prefill: str,
        want_top: bool,
        emitted: list[bool],
    ) -> Generator[Event, None, _Outcome]:
        data_lines: list[str] = []
        pending: deque[str] = deque()  # lines of the last read not handled yet
        kind: str
        value: Any
        while True:
            if cancel.is_set():
                return _Outcome("cancelled")
            if pending:
                kind, value = "line", pending.popleft()
            else:
                try:
                    kind, value = reader.items.get(timeout=_POLL_S)
                except queue.Empty:
                    if not reader.is_alive() and reader.items.empty():
                        return _Outcome(
                            "failed", f"the request to {self.url} ended without a response", True
                        )
                    continue
                if kind == "lines":
                    pending.extend(value)
                    continue
            if kind == "exc":
                return _exception_outcome(value, self.base_url, self.timeout)
            if kind == "http":
                return self._http_outcome(*value, prefill=prefill)
            if kind == "line":
                line: str = value
                if line:
                    if line.startswith("data:"):
                        data_lines.append(line[5:].removeprefix(" "))
                    continue  # comments (":"), "event:", "id:", "retry:" carry nothing we need
            if not data_lines:
                if kind == "eof":
                    return _Outcome("done")
                continue
            data = "\n".join(data_lines)
            data_lines = []
            if data.strip() == "[DONE]":
                return _Outcome("done")
            try:
                chunk = json.loads(data)
            except ValueError:
                chunk = None
            if not isinstance(chunk, dict):
                return _Outcome(
                    "failed",
                    f"the server at {self.base_url} sent malformed JSON in its stream: "
                    f"{data[:300]!r}",
                    retryable=True,
                )
            if "error" in chunk:
                return _Outcome(
                    "failed",
                    f"the server at {self.base_url} reported an error mid-stream: "
                    f"{_error_text(chunk)}",
                    retryable=True,
                )
            for event in chunk_events(chunk, samples, prefill, want_top):
                emitted[0] = True
                yield event
            if all(st.finished for st in samples):
                return _Outcome("done")
            if kind == "eof":
                return _Outcome("done")

    # ----- failures -----

    def _http_outcome(
        self,
        status: int,
        body: str,
        retry_after: float | None,
        *,
        prefill: str,
    ) -> _Outcome:
        detail = _error_text(body)
        message = f"HTTP {status} from {self.url}: {detail}"
        low = detail.lower()
        if status in (401, 403):
            message += " (check the API key: OpenAIBackend(api_key=...) or $OPENAI_API_KEY)"
        elif status == 404:
            served = self._served_models()
            if served is None:
                message += f" (is {self.base_url} the API root? it usually ends with /v1)"
            elif self.model not in served:
                listed = ", ".join(served[:10]) or "none"
                message += f" (model {self.model!r} is not served here; the server has: {listed})"
        elif prefill and ("continue_final_message" in low or "add_generation_prompt" in low):
            message += (
                " (thinking_prefill needs a server that continues the assistant turn, such as "
                "vLLM or SGLang; leave thinking_prefill unset for this server)"
            )
        elif "top_k" in low:
            message += " (this server does not accept top_k: leave SamplingParams.top_k=None)"
        retryable = status >= 500 or status in (408, 409, 429)
        return _Outcome("failed", message, retryable, status=status, retry_after=retry_after)

    def _served_models(self) -> list[str] | None:
        """Return the model ids from ``GET /models`` (``None`` when that fails)."""
        try:
            response = self._get_client().get(
                f"{self.base_url}/models", headers=self._headers(), timeout=min(self.timeout, 2.0)
            )
            if response.status_code != 200:
                return None
            data = response.json().get("data", [])
            return [str(m["id"]) for m in data if isinstance(m, dict) and "id" in m]
        except Exception:  # only a hint: any failure means "unknown"
            return None
