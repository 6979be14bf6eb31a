"""Start a real Jupyter server (or JupyterLab) with the extension, for tests and benchmarks.

::

    with JupyterServer(root, store="store.db") as server:
        httpx.get(server.url("workbench/api/info"), headers=server.auth)

The server runs in a subprocess with its own config, data and runtime folders under ``root``
(nothing of the user's Jupyter setup leaks in), the extension enabled on the command line, and
``extensions/`` on ``PYTHONPATH`` so that a source checkout works before the package is installed.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

__all__ = ["JupyterServer", "free_port"]

_EXTENSIONS = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """Return a free TCP port on the loopback interface."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class JupyterServer:
    """A Jupyter server subprocess serving a workbench store.

    Parameters
    ----------
    root
        The server's root directory (its config folders go under ``root/.jupyter-*``).
    store
        ``c.WorkbenchExtension.store_path`` (relative paths are taken from ``root``); ``None``
        leaves it unset.
    lab
        Start ``jupyter lab`` (the front end too) instead of ``jupyter server``.
    args
        Extra command-line arguments (``--WorkbenchExtension.author=...``).
    config
        Written to ``jupyter_server_config.json`` in the server's config folder.
    lab_settings
        JupyterLab settings: ``{"@jupyterlab/plugin-package/plugin-name": {...}}``.
    env
        Extra environment variables.
    timeout
        Seconds to wait for the server to answer.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        store: str | os.PathLike[str] | None = None,
        lab: bool = False,
        args: list[str] | None = None,
        config: dict[str, Any] | None = None,
        lab_settings: dict[str, dict[str, Any]] | None = None,
        env: dict[str, str] | None = None,
        timeout: float = 90.0,
    ) -> None:
        self.root = Path(root)
        self.store = store
        self.lab = lab
        self.args = list(args or [])
        self.config = dict(config or {})
        self.lab_settings = dict(lab_settings or {})
        self.extra_env = dict(env or {})
        self.timeout = timeout
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = self.root / ".jupyter-server.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def auth(self) -> dict[str, str]:
        """Headers authenticating a request with the server's token."""
        return {"Authorization": f"token {self.token}"}

    def url(self, path: str) -> str:
        """Return the absolute URL of ``path`` (relative to the server's base URL)."""
        return f"{self.base}/{path.lstrip('/')}"

    def start(self) -> JupyterServer:
        """Start the server and wait until it answers."""
        root = self.root
        for name in ("config", "data", "runtime", "settings", "workspaces"):
            (root / f".jupyter-{name}").mkdir(parents=True, exist_ok=True)
        if self.config:
            (root / ".jupyter-config" / "jupyter_server_config.json").write_text(
                json.dumps(self.config)
            )
        for plugin, values in self.lab_settings.items():
            package, _, name = plugin.rpartition("/")
            target = root / ".jupyter-settings" / package / f"{name}.jupyterlab-settings"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(values))
        python_path = os.pathsep.join(
            p for p in (str(_EXTENSIONS), os.environ.get("PYTHONPATH", "")) if p
        )
        env = {
            **os.environ,
            "JUPYTER_CONFIG_DIR": str(root / ".jupyter-config"),
            "JUPYTER_DATA_DIR": str(root / ".jupyter-data"),
            "JUPYTER_RUNTIME_DIR": str(root / ".jupyter-runtime"),
            "JUPYTERLAB_SETTINGS_DIR": str(root / ".jupyter-settings"),
            "JUPYTERLAB_WORKSPACES_DIR": str(root / ".jupyter-workspaces"),
            "PYTHONPATH": python_path,
            **self.extra_env,
        }
        args = [
            sys.executable,
            "-m",
            "jupyterlab" if self.lab else "jupyter_server",
            "--no-browser",
            f"--port={self.port}",
            "--ip=127.0.0.1",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={root}",
            "--ServerApp.jpserver_extensions={'workbench_jupyterlab': True}",
            "--allow-root",
        ]
        if self.lab:
            args += [
                "--LabApp.news_url=",
                "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            ]
        if self.store is not None:
            args.append(f"--WorkbenchExtension.store_path={self.store}")
        args += self.args
        log = open(self.log_path, "wb")  # noqa: SIM115 - the subprocess owns it until stop()
        self.process = subprocess.Popen(
            args, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                urllib.request.urlopen(self.url(f"api/status?token={self.token}"), timeout=2)
                return self
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.stop()
                    raise RuntimeError(
                        f"the Jupyter server did not start:\n{self.log()[-3000:]}"
                    ) from None
                time.sleep(0.2)

    def log(self) -> str:
        """Return the server's output so far."""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stop(self) -> None:
        """Stop the server (terminate, then kill after 20 s)."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None

    def __enter__(self) -> JupyterServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
