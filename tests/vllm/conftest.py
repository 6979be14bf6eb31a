"""Fixtures of the vLLM tier: the real CPU engine and a real ``vllm serve`` on loopback.

Run with ``make test-vllm`` (it builds ``.venv-vllm``). Nothing here imports vLLM at collection time,
so the default tier collects (and deselects) these modules without vLLM installed. Every engine or
server a test starts is stopped, and its processes killed, when the module ends: on a shared
machine with two cores a lingering engine core would slow every other test.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

MODEL = "smollm2-135m"
"""The default model, loaded from the converted cache (``resolve_model``)."""

ENGINE_OPTIONS = {
    "dtype": "bfloat16",
    "max_model_len": 2048,
    "engine_kwargs": {"enforce_eager": True},
}
"""How the tier starts the CPU engine (bf16 is vLLM's CPU default; eager mode skips compilation)."""

REASONING_PARSER = "olmo3"
"""vLLM's text-level ``<think>`` parser: SmolLM2 has no single ``<think>``/``</think>`` token, which
``deepseek_r1`` and ``qwen3`` need (they look the tags up in the vocabulary and refuse to start)."""


def require_vllm() -> None:
    """Fail (not skip) when vLLM is missing: this tier exists to run against it."""
    try:
        import vllm  # noqa: F401
    except ImportError as exc:  # pragma: no cover - the tier's venv always has it
        pytest.fail(f"the vllm tier needs vLLM: run it with `make test-vllm` ({exc})")
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "2")


def model_path() -> str:
    """The default model's converted folder (converted from the GGUF on first use)."""
    from workbench.backends.models import resolve_model

    return str(resolve_model(MODEL))


def kill_children() -> None:
    """Kill what this test process started and left running (engine cores, workers)."""
    import psutil

    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            child.kill()


@pytest.fixture(scope="module")
def engine() -> Iterator[object]:
    """One in-process ``VLLMBackend`` for the module, closed (and its processes gone) after it."""
    require_vllm()
    from workbench.backends.vllm_engine import VLLMBackend

    backend = VLLMBackend(MODEL, **ENGINE_OPTIONS)  # type: ignore[arg-type]
    try:
        yield backend
    finally:
        backend.close()
        kill_children()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A ``vllm serve`` process on loopback, in its own process group."""

    def __init__(self, log: Path, *extra: str) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.log_path = log
        command = [
            sys.executable,
            str(Path(__file__).with_name("serve_cli.py")),  # `vllm serve` (see serve_cli.py)
            "serve",
            model_path(),
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--served-model-name", MODEL,
            "--dtype", "bfloat16",
            "--max-model-len", "2048",
            "--enforce-eager",
            "--max-logprobs", "20",
            "--reasoning-parser", REASONING_PARSER,
            *extra,
        ]  # fmt: skip
        self._log = log.open("wb")
        self.process = subprocess.Popen(
            command, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def wait_ready(self, timeout: float = 300.0) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"vllm serve exited: {self.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{self.port}/health", timeout=2).status_code == 200:
                    return
            time.sleep(1)
        raise RuntimeError(f"vllm serve not ready after {timeout:.0f} s: {self.log_tail()}")

    def log_text(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def log_tail(self, chars: int = 3000) -> str:
        return self.log_text()[-chars:]

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        self._log.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``vllm serve`` with the reasoning parser, started for the module and stopped after it."""
    require_vllm()
    srv = Server(tmp_path_factory.mktemp("vllm-serve") / "server.log")
    try:
        srv.wait_ready()
        yield srv
    finally:
        srv.stop()
