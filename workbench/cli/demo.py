"""The demo command: JupyterLab on the quickstart notebook, or its pipeline without a browser."""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from workbench._install import install_hint
from workbench.cli._common import CliError

QUICKSTART = "00_quickstart.ipynb"
"""The notebook JupyterLab opens."""

DEFAULT_DIR = "workbench-demo"
"""Working folder for the interactive demo (notebook copies and the local store)."""


def add_parsers(sub: Any) -> None:
    """Add this module's commands to the ``workbench`` parser."""
    p = sub.add_parser(
        "demo",
        help="start JupyterLab on the quickstart notebook (--headless: run its pipeline)",
        description="Start JupyterLab on notebooks/00_quickstart.ipynb with the default model "
        "and a local store and print its URL; with --headless, run the quickstart pipeline "
        "without a browser and write the store, a static HTML trace and a DPO file into --out.",
    )
    p.add_argument("--headless", action="store_true", help="run the pipeline, no JupyterLab")
    p.add_argument("--out", metavar="DIR", help="--headless: folder to write results into")
    p.add_argument(
        "--dir", metavar="DIR", default=DEFAULT_DIR,
        help=f"working folder for the notebook copies and the store (default ./{DEFAULT_DIR})",
    )  # fmt: skip
    p.add_argument("--store", metavar="DB", help="store file (default DIR/workbench.db)")
    p.add_argument("--port", type=int, help="JupyterLab port (default 8888, else a free one)")
    p.add_argument("--ip", default="127.0.0.1", help="interface JupyterLab listens on")
    p.add_argument("--no-browser", action="store_true", help="do not open a web browser")
    p.add_argument("--fresh", action="store_true", help="overwrite notebook copies in DIR")
    p.add_argument("--model", default=None, help="--headless: model (default smollm2-135m)")
    p.add_argument("--n", type=int, default=4, help="--headless: samples (default 4)")
    p.add_argument("--max-new-tokens", type=int, default=192, help="--headless: per sample")
    p.add_argument("--seed", type=int, default=0, help="--headless: sampling seed")
    p.add_argument("--prompt", help="--headless: prompt (default: the quickstart's word problem)")
    p.add_argument("--gold", help="--headless: correct answer of --prompt, for grading")


def _log(line: str) -> None:
    sys.stdout.write(f"workbench demo: {line}\n")
    sys.stdout.flush()


# -- headless ----------------------------------------------------------------------------------
def _headless(args: argparse.Namespace) -> int:
    from workbench.demo import DEMO_GOLD, DEMO_PROMPT, run_quickstart

    if not args.out:
        raise CliError("--headless needs --out DIR: the folder to write the results into")
    if args.prompt is not None and args.gold is None:
        _log("no --gold given: the samples are not graded")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise CliError(f"{out} is a file: give --out a folder")
    result = run_quickstart(
        out,
        model=args.model or "smollm2-135m",
        prompt=args.prompt or DEMO_PROMPT,
        gold=args.gold if args.gold is not None else (None if args.prompt else DEMO_GOLD),
        n=args.n,
        max_new_tokens=args.max_new_tokens,
        seed=args.seed,
        log=_log,
    )
    total = sum(result.timings.values())
    _log(f"done in {total:.1f} s; {result.out_dir} holds:")
    for path in (result.store, result.trace_html, result.dpo, result.card):
        if path is not None:
            sys.stdout.write(f"  {path}\n")
    return 0


# -- JupyterLab --------------------------------------------------------------------------------
def _notebooks() -> list[Path]:
    from workbench.notebook import repo_root

    root = repo_root()
    if root is None:
        raise CliError(
            "the notebooks ship with the source checkout, not the package: run `workbench demo` "
            "from a clone (make demo)"
        )
    found = sorted((root / "notebooks").glob("*.ipynb"))
    if not any(p.name == QUICKSTART for p in found):
        raise CliError(f"{root / 'notebooks' / QUICKSTART} is missing: is the checkout complete?")
    return found


def _prepare(workdir: Path, *, fresh: bool) -> tuple[int, int]:
    """Copy the notebooks into ``workdir`` (keeping edited copies); return (copied, kept)."""
    workdir.mkdir(parents=True, exist_ok=True)
    copied = kept = 0
    for nb in _notebooks():
        target = workdir / nb.name
        if target.exists() and not fresh:
            kept += 1
            continue
        shutil.copyfile(nb, target)
        copied += 1
    return copied, kept


def _free_port(ip: str, preferred: int | None) -> int:
    host = "127.0.0.1" if ip in ("0.0.0.0", "") else ip
    for port in ([preferred] if preferred else [8888]) + [0]:
        with socket.socket() as s:
            try:
                s.bind((host, port))
            except OSError:
                if preferred:
                    raise CliError(f"port {port} is in use: pick another --port") from None
                continue
            return int(s.getsockname()[1])
    raise CliError("no free port found")  # pragma: no cover - port 0 always binds


def _ready(url: str, token: str) -> bool:
    request = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _lab(args: argparse.Namespace) -> int:
    import importlib.util

    from workbench.backends.models import DEFAULT_MODEL, resolve_model
    from workbench.notebook import DATA_ENV, find_external_data
    from workbench.store.store import STORE_ENV

    if args.out:
        raise CliError("--out goes with --headless; JupyterLab uses --dir")
    if importlib.util.find_spec("jupyterlab") is None:
        raise CliError(f"JupyterLab is not installed: {install_hint('notebooks')} (make demo)")
    workdir = Path(args.dir).expanduser().resolve()
    copied, kept = _prepare(workdir, fresh=args.fresh)
    _log(f"working folder {workdir} ({copied} notebooks copied, {kept} kept as edited)")
    store = Path(args.store).expanduser().resolve() if args.store else workdir / "workbench.db"
    env = dict(os.environ)
    env[STORE_ENV] = str(store)
    _log(f"store {store} (${STORE_ENV} in the kernels)")
    data = find_external_data()
    if data is not None:
        env[DATA_ENV] = str(data)
        _log(f"third-party data {data} (${DATA_ENV})")
    _log(f"preparing the default model {DEFAULT_MODEL} (converted once, about 30 s) …")
    try:
        model_dir = resolve_model(DEFAULT_MODEL)
    except ImportError as exc:
        raise CliError(
            f"the default model needs torch and transformers ({exc}): "
            f"{install_hint('transformers')} (make setup)"
        ) from None
    _log(f"model ready: {model_dir}")

    port = _free_port(args.ip, args.port)
    token = secrets.token_hex(24)
    host = "127.0.0.1" if args.ip in ("0.0.0.0", "") else args.ip
    command = [
        sys.executable, "-m", "jupyterlab", QUICKSTART,
        f"--ServerApp.ip={args.ip}", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={workdir}", f"--IdentityProvider.token={token}",
        f"--ServerApp.open_browser={not args.no_browser}",
        "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]  # fmt: skip
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    log_path = workdir / ".jupyterlab.log"  # hidden in the file browser
    _log(f"starting JupyterLab (log: {log_path}) …")
    restore = _stop_on_signals()
    try:
        return _serve(
            command,
            workdir=workdir,
            env=env,
            log_path=log_path,
            base=f"http://{host}:{port}",
            token=token,
        )
    finally:
        restore()


def _serve(
    command: list[str], *, workdir: Path, env: dict[str, str], log_path: Path, base: str, token: str
) -> int:
    """Run JupyterLab until it ends or this process is asked to stop; print the URL when ready."""
    with open(log_path, "ab") as log_file:
        proc = subprocess.Popen(
            command,
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches us; we stop the server cleanly
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
    try:
        deadline = time.monotonic() + 120
        while not _ready(f"{base}/api/status", token):
            if proc.poll() is not None:
                raise CliError(f"JupyterLab exited with status {proc.returncode}:\n"
                               f"{_tail(log_path)}")  # fmt: skip
            if time.monotonic() > deadline:
                raise CliError(f"JupyterLab did not answer within 120 s; see {log_path}")
            time.sleep(0.3)
        url = f"{base}/lab/tree/{QUICKSTART}?token={token}"
        sys.stdout.write(f"\nJupyterLab is running on the quickstart notebook:\n\n    {url}\n\n"
                         "Press Ctrl-C to stop it.\n")  # fmt: skip
        sys.stdout.flush()
        return proc.wait()
    except KeyboardInterrupt:
        _log("stopping JupyterLab …")
        return 0
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _die_with_parent() -> None:
    """In the server's process, before it starts (Linux): end it if this command is killed."""
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None).prctl(pr_set_pdeathsig, int(signal.SIGTERM))


def _stop_on_signals() -> Any:
    """Make Ctrl-C and SIGTERM stop the server (also where SIGINT was inherited as ignored).

    JupyterLab runs in its own session (so that it does not ask "Shutdown this Jupyter server?"
    on Ctrl-C); this process must therefore stop it, whichever way it is asked to end.
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    return restore


def _cmd_demo(args: argparse.Namespace) -> int:
    return _headless(args) if args.headless else _lab(args)


COMMANDS = {"demo": _cmd_demo}
