"""OpenAIBackend against canned SSE over a real loopback socket, and against `transformers serve`."""

from __future__ import annotations

import json
import math
import select
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

pytest.importorskip("httpx", reason="httpx is not installed")

from workbench.backends.base import (
    Event,
    FinishEvent,
    GenerationRequest,
    SamplingParams,
    TokenEvent,
)
from workbench.backends.openai_compat import (
    THINK_CLOSE,
    THINK_OPEN,
    OpenAIBackend,
    truncated_entropy,
)

PROMPT = [{"role": "user", "content": "Say hello."}]


# ----- helpers -----


def collect(backend: OpenAIBackend, request: GenerationRequest, cancel=None) -> list[Event]:
    return list(backend.stream(request, cancel=cancel or threading.Event()))


def raw(events: list[Event], sample: int = 0) -> str:
    return "".join(e.text for e in events if isinstance(e, TokenEvent) and e.sample == sample)


def finishes(events: list[Event]) -> dict[int, FinishEvent]:
    out: dict[int, FinishEvent] = {}
    for e in events:
        if isinstance(e, FinishEvent):
            assert e.sample not in out, f"two FinishEvents for sample {e.sample}"
            out[e.sample] = e
    return out


def req(n: int = 1, **kw: Any) -> GenerationRequest:
    sampling_keys = {"temperature", "top_p", "top_k", "max_new_tokens", "seed", "stop", "logprobs"}
    sampling = {k: kw.pop(k) for k in list(kw) if k in sampling_keys}
    return GenerationRequest(messages=PROMPT, sampling=SamplingParams(n=n, **sampling), **kw)


def chunk(index: int = 0, finish: str | None = None, logprobs: Any = None, **delta: Any) -> dict:
    choice: dict[str, Any] = {"index": index, "delta": delta, "finish_reason": finish}
    if logprobs is not None:
        choice["logprobs"] = logprobs
    return {"id": "x", "object": "chat.completion.chunk", "choices": [choice]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ----- a tiny SSE server on a real loopback socket -----


@dataclass
class Reply:
    status: int = 200
    events: list[Any] = field(default_factory=list)  # dicts (sent as JSON) or raw data strings
    body: Any = None  # for errors: a dict (JSON) or a string
    delay: float = 0.0  # seconds between events
    hold: float = 0.0  # after the events, keep the connection open up to this long
    done: bool = True  # send "data: [DONE]" at the end


class FakeServer:
    def __init__(self) -> None:
        self.replies: list[Reply] = []
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.disconnected = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                fake.requests.append(json.loads(self.rfile.read(length)))
                fake.headers.append(dict(self.headers))
                reply = fake.replies.pop(0) if fake.replies else Reply(500, body="no reply left")
                if reply.status != 200:
                    body = reply.body if isinstance(reply.body, str) else json.dumps(reply.body)
                    data = body.encode()
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                events = [*reply.events, "[DONE]"] if reply.done else reply.events
                try:
                    for i, event in enumerate(events):
                        if i and reply.delay:
                            time.sleep(reply.delay)
                        data = event if isinstance(event, str) else json.dumps(event)
                        self.wfile.write(f"data: {data}\n\n".encode())
                        self.wfile.flush()
                    if reply.hold:
                        ready, _, _ = select.select([self.connection], [], [], reply.hold)
                        if ready and not self.connection.recv(1):
                            fake.disconnected.set()
                except OSError:
                    fake.disconnected.set()

            def do_GET(self) -> None:
                data = json.dumps({"object": "list", "data": [{"id": "served-model"}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def backend(self, **kw: Any) -> OpenAIBackend:
        kw.setdefault("retry_backoff", 0.01)
        kw.setdefault("timeout", 5.0)
        return OpenAIBackend("served-model", base_url=self.base_url, **kw)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    server = FakeServer()
    yield server
    server.close()


# ----- canned streams -----


@pytest.mark.parametrize("key", ["reasoning_content", "reasoning"])
def test_reasoning_deltas_are_wrapped_in_think_tags(fake: FakeServer, key: str) -> None:
    fake.replies.append(
        Reply(
            events=[
                chunk(role="assistant"),
                chunk(**{key: "Let me"}),
                chunk(**{key: " think."}),
                chunk(content="Hello"),
                chunk(content="!"),
                chunk(finish="stop"),
            ]
        )
    )
    backend = fake.backend()
    events = collect(backend, req())
    assert raw(events) == "<think>\nLet me think.\n</think>\n\nHello!"
    wrappers = [
        e for e in events if isinstance(e, TokenEvent) and e.text in (THINK_OPEN, THINK_CLOSE)
    ]
    assert [w.text for w in wrappers] == [THINK_OPEN, THINK_CLOSE]
    assert all(w.token_ids == () and w.logprobs is None and not w.forced for w in wrappers)
    assert finishes(events) == {
        0: FinishEvent(sample=0, finish_reason="stop", reasoning_field=True)
    }
    assert isinstance(events[-1], FinishEvent)
    sent = fake.requests[0]
    assert sent["stream"] is True and sent["model"] == "served-model"
    assert sent["messages"] == PROMPT and sent["n"] == 1 and sent["max_tokens"] == 512
    assert sent["logprobs"] is True and "top_logprobs" not in sent
    assert "top_k" not in sent and "chat_template_kwargs" not in sent and "seed" not in sent
    assert backend.model_name == "served-model" and backend.name == "openai"


def test_inline_think_in_content_passes_through(fake: FakeServer) -> None:
    fake.replies.append(
        Reply(
            events=[chunk(content="<think>\nhm\n</think>\n\n"), chunk(content="42", finish="stop")]
        )
    )
    events = collect(fake.backend(), req())
    assert raw(events) == "<think>\nhm\n</think>\n\n42"
    assert finishes(events)[0].finish_reason == "stop"


def _lp(token: str, logprob: float, top: list[tuple[str, float]]) -> dict:
    return {
        "token": token,
        "logprob": logprob,
        "bytes": list(token.encode()),
        "top_logprobs": [{"token": t, "logprob": v, "bytes": None} for t, v in top],
    }


def test_logprobs_top_logprobs_and_truncated_entropy(fake: FakeServer) -> None:
    a = [("Hi", math.log(0.5)), ("Hello", math.log(0.25))]
    b = [("!", math.log(0.9)), (".", math.log(0.05))]
    fake.replies.append(
        Reply(
            events=[
                chunk(content="Hi", logprobs={"content": [_lp("Hi", math.log(0.5), a)]}),
                chunk(
                    content="!",
                    logprobs={"content": [_lp("!", math.log(0.9), b)]},
                    finish="length",
                ),
            ]
        )
    )
    events = collect(fake.backend(), req(logprobs=2, top_k=5, seed=3, stop=("\n",)))
    tokens = [e for e in events if isinstance(e, TokenEvent)]
    assert [t.text for t in tokens] == ["Hi", "!"]
    assert tokens[0].logprobs == pytest.approx((math.log(0.5),))
    assert tokens[0].top_logprobs == ({"Hi": math.log(0.5), "Hello": math.log(0.25)},)
    expected = -(0.5 * math.log(0.5) + 0.25 * math.log(0.25) + 0.25 * math.log(0.25))
    assert tokens[0].entropies == pytest.approx((expected,))
    assert tokens[1].entropies == pytest.approx(
        (truncated_entropy([math.log(0.9), math.log(0.05)]),)
    )
    assert finishes(events)[0].finish_reason == "length"
    sent = fake.requests[0]
    assert sent["logprobs"] is True and sent["top_logprobs"] == 2
    assert sent["top_k"] == 5 and sent["seed"] == 3 and sent["stop"] == ["\n"]


def test_recorded_tokens_and_field_format_from_a_reasoning_server(
    fake: FakeServer, tmp_path
) -> None:
    """Token strings give one recorded token each (id -1) with its span; the split is "field"."""
    from workbench.session import Session

    def lp(token: str, value: float) -> dict:
        return _lp(token, value, [(token, value)])

    fake.replies.append(
        Reply(
            events=[
                chunk(reasoning="Let me", logprobs={"content": [lp("Let", -0.1), lp(" me", -0.2)]}),
                chunk(reasoning=" add.", logprobs={"content": [lp(" add", -0.3), lp(".", -0.4)]}),
                chunk(content="", logprobs={"content": [lp("</think>", -0.5)]}),
                chunk(content="42", logprobs={"content": [lp("42", -0.6)]}, finish="stop"),
            ]
        )
    )
    session = Session(fake.backend(), store=tmp_path / "s.db")
    try:
        (t,) = session.generate("What is 40 + 2?", logprobs=1, recipe="none").wait()
        assert t.raw == "<think>\nLet me add.\n</think>\n\n42"
        assert t.think_format == "field" and t.thinking == "Let me add." and t.answer == "42"
        assert t.tokens is not None
        assert t.tokens.ids.tolist() == [-1] * 6
        spans = [t.raw[a:b] for a, b in t.tokens.offsets.tolist()]
        assert spans == ["Let", " me", " add", ".", "", "42"]
        assert t.tokens.logprobs.tolist() == pytest.approx([-0.1, -0.2, -0.3, -0.4, -0.5, -0.6])
        stored = session.store.get(t.id)
        assert stored.think_format == "field"
        assert (
            stored.tokens is not None
            and stored.tokens.offsets.tolist() == t.tokens.offsets.tolist()
        )
    finally:
        session.store.close()


def test_inline_thinking_is_not_field_format(fake: FakeServer, tmp_path) -> None:
    from workbench.session import Session

    fake.replies.append(
        Reply(
            events=[chunk(content="<think>\nhm\n</think>\n\n"), chunk(content="42", finish="stop")]
        )
    )
    session = Session(fake.backend(), store=tmp_path / "s.db")
    try:
        (t,) = session.generate("q", recipe="none").wait()
        assert t.think_format == "tags" and t.answer == "42"
    finally:
        session.store.close()


def test_truncated_entropy_is_a_lower_bound() -> None:
    probs = [0.4, 0.3, 0.2, 0.1]
    exact = -sum(p * math.log(p) for p in probs)
    for k in range(1, 5):
        estimate = truncated_entropy([math.log(p) for p in probs[:k]])
        assert estimate <= exact + 1e-9
    assert truncated_entropy([math.log(p) for p in probs]) == pytest.approx(exact)
    assert truncated_entropy([0.0]) == 0.0


def test_two_interleaved_choices_and_finish_reasons(fake: FakeServer) -> None:
    fake.replies.append(
        Reply(
            events=[
                chunk(0, role="assistant"),
                chunk(1, role="assistant"),
                chunk(1, reasoning="r1"),
                chunk(0, content="a"),
                chunk(1, content="b"),
                chunk(0, content="c", finish="stop"),
                chunk(1, content="d"),
                chunk(1, finish="length"),
            ]
        )
    )
    events = collect(fake.backend(), req(n=2))
    assert raw(events, 0) == "ac"
    assert raw(events, 1) == "<think>\nr1\n</think>\n\nbd"
    f = finishes(events)
    assert f[0].finish_reason == "stop" and f[1].finish_reason == "length"
    assert fake.requests[0]["n"] == 2


def test_unknown_finish_reason_is_an_error_and_missing_one_is_stop(fake: FakeServer) -> None:
    fake.replies.append(
        Reply(
            events=[
                chunk(0, content="x"),
                chunk(1, content="y"),
                chunk(0, finish="abort"),
                chunk(2, content="z"),
            ]
        )
    )
    events = collect(fake.backend(), req(n=3))
    f = finishes(events)
    assert f[0].finish_reason == "error" and "abort" in (f[0].error or "")
    assert f[1].finish_reason == "stop" and f[2].finish_reason == "stop"  # [DONE], no reason


def test_samples_the_server_never_sent_end_with_an_error(fake: FakeServer) -> None:
    fake.replies.append(Reply(events=[chunk(0, content="only one"), chunk(0, finish="stop")]))
    f = finishes(collect(fake.backend(), req(n=2)))
    assert f[0].finish_reason == "stop"
    assert f[1].finish_reason == "error" and "n > 1" in (f[1].error or "")


def test_http_404_reports_the_servers_message_without_retrying(fake: FakeServer) -> None:
    body = {"error": {"message": "The model `nope` does not exist.", "type": "NotFoundError"}}
    fake.replies.append(Reply(404, body=body))
    backend = OpenAIBackend("nope", base_url=fake.base_url, max_retries=2, retry_backoff=0.01)
    events = collect(backend, req(n=2))
    f = finishes(events)
    assert set(f) == {0, 1}
    for fin in f.values():
        assert fin.finish_reason == "error"
        assert "HTTP 404" in (fin.error or "") and "The model `nope` does not exist." in fin.error
        assert "the server has: served-model" in fin.error  # from GET /v1/models
    assert len(fake.requests) == 1


def test_fastapi_error_bodies_and_prefill_hint(fake: FakeServer) -> None:
    detail = "Unexpected fields in the request: {'continue_final_message', 'add_generation_prompt'}"
    fake.replies.append(Reply(422, body={"detail": detail}))
    events = collect(fake.backend(), req(thinking_prefill="<think>\n"))
    assert isinstance(events[0], TokenEvent) and events[0].forced and events[0].text == "<think>\n"
    fin = finishes(events)[0]
    assert fin.finish_reason == "error" and detail in (fin.error or "") and "vLLM" in fin.error
    assert len(fake.requests) == 1


def test_prefill_is_sent_as_continue_final_message(fake: FakeServer) -> None:
    fake.replies.append(
        Reply(
            events=[
                chunk(role="assistant"),
                chunk(reasoning="Okay, hello."),
                chunk(content="Hello!", finish="stop"),
            ]
        )
    )
    backend = fake.backend(api_key="sk-test", extra_body={"top_p": None, "min_p": 0.1})
    events = collect(backend, req(thinking_prefill="<think>\n", enable_thinking=True))
    first = events[0]
    assert isinstance(first, TokenEvent) and first.forced and first.text == "<think>\n"
    # The prefill opened the think block: no second "<think>\n" from the wrapper.
    assert raw(events) == "<think>\nOkay, hello.\n</think>\n\nHello!"
    sent = fake.requests[0]
    assert sent["messages"][-1] == {"role": "assistant", "content": "<think>\n"}
    assert sent["continue_final_message"] is True and sent["add_generation_prompt"] is False
    assert sent["chat_template_kwargs"] == {"enable_thinking": True}
    assert "top_p" not in sent and sent["min_p"] == 0.1
    assert fake.headers[0]["Authorization"] == "Bearer sk-test"


def test_connection_refused_names_the_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    url = f"http://127.0.0.1:{free_port()}/v1"
    backend = OpenAIBackend("m", base_url=url, max_retries=1, retry_backoff=0.01)
    events = collect(backend, req(n=2))
    f = finishes(events)
    assert [e.sample for e in events] == [0, 1]
    for fin in f.values():
        assert fin.finish_reason == "error"
        assert url in (fin.error or "") and "is the server running" in fin.error
        assert "2 attempts" in fin.error


def test_retry_then_success(fake: FakeServer) -> None:
    fake.replies += [
        Reply(503, body={"error": "model is loading"}),
        Reply(200, events=["{not json"]),
        Reply(events=[chunk(content="ok", finish="stop")]),
    ]
    events = collect(fake.backend(max_retries=2), req())
    assert raw(events) == "ok" and finishes(events)[0].finish_reason == "stop"
    assert len(fake.requests) == 3


def test_retries_exhausted_reports_the_last_error(fake: FakeServer) -> None:
    fake.replies += [Reply(503, body={"error": "busy"}), Reply(503, body={"error": "still busy"})]
    fin = finishes(collect(fake.backend(max_retries=1), req()))[0]
    assert fin.finish_reason == "error" and "still busy" in (fin.error or "")
    assert "HTTP 503" in fin.error and len(fake.requests) == 2


def test_no_retry_once_tokens_were_emitted(fake: FakeServer) -> None:
    fake.replies += [
        Reply(events=[chunk(content="partial"), "{broken"], done=False),
        Reply(events=[chunk(content="never", finish="stop")]),
    ]
    events = collect(fake.backend(max_retries=2), req())
    assert raw(events) == "partial"
    fin = finishes(events)[0]
    assert fin.finish_reason == "error" and "malformed JSON" in (fin.error or "")
    assert len(fake.requests) == 1


def test_error_event_mid_stream(fake: FakeServer) -> None:
    fake.replies.append(Reply(events=[chunk(content="a"), {"error": {"message": "CUDA OOM"}}]))
    events = collect(fake.backend(), req())
    fin = finishes(events)[0]
    assert fin.finish_reason == "error" and "CUDA OOM" in (fin.error or "")


def test_rejected_default_logprobs_are_dropped_and_the_request_resent(fake: FakeServer) -> None:
    fake.replies += [
        Reply(400, body={"error": {"message": "logprobs is not supported with this model"}}),
        Reply(events=[chunk(content="fine", finish="stop")]),
    ]
    events = collect(fake.backend(max_retries=0), req())
    assert raw(events) == "fine"
    assert fake.requests[0]["logprobs"] is True and "logprobs" not in fake.requests[1]


def test_cancel_while_the_server_is_silent(fake: FakeServer) -> None:
    """A read blocked on a silent server must not delay cancel; the server sees the client go."""
    fake.replies.append(Reply(events=[chunk(content="a")], hold=5.0, done=False))
    cancel = threading.Event()
    events: list[Event] = []
    cancelled_at: list[float] = []

    def set_cancel() -> None:
        cancelled_at.append(time.perf_counter())
        cancel.set()

    for event in fake.backend(timeout=30.0).stream(req(n=2), cancel=cancel):
        events.append(event)
        if isinstance(event, TokenEvent) and not cancelled_at:
            threading.Timer(0.3, set_cancel).start()
    ended = time.perf_counter()
    assert cancelled_at and ended - cancelled_at[0] < 1.0
    f = finishes(events)
    assert {i: e.finish_reason for i, e in f.items()} == {0: "cancelled", 1: "cancelled"}
    assert fake.disconnected.wait(1.0), "the connection was not closed on cancel"


def test_cancel_during_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    backend = OpenAIBackend("m", base_url=url, max_retries=3, retry_backoff=5.0)
    cancel = threading.Event()
    threading.Timer(0.2, cancel.set).start()
    start = time.perf_counter()
    events = collect(backend, req(), cancel=cancel)
    assert time.perf_counter() - start < 1.5
    assert finishes(events)[0].finish_reason == "cancelled"


def test_constructor_validation_and_api_key_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    from workbench.errors import ValidationError

    with pytest.raises(ValidationError, match="base_url"):
        OpenAIBackend("m", base_url="localhost:8000")
    with pytest.raises(ValidationError, match="timeout"):
        OpenAIBackend("m", timeout=0)
    with pytest.raises(ValidationError, match="model"):
        OpenAIBackend("")
    monkeypatch.setenv("OPENAI_API_KEY", "from-env")
    assert OpenAIBackend("m").api_key == "from-env"
    assert OpenAIBackend("m", api_key="given").api_key == "given"
    monkeypatch.delenv("OPENAI_API_KEY")
    assert OpenAIBackend("m").api_key is None
    assert OpenAIBackend("m", base_url="http://h:1/v1/").url == "http://h:1/v1/chat/completions"


# ----- a real server: transformers serve with the default model -----
