"""The JupyterLab extension in real JupyterLab, driven by headless Chromium, with no kernel at all
(the server may not start one): the extension is listed as enabled; the sidebar browser lists a
store's trajectories, filters them, pages to the end, opens one in the viewer; the Annotator's keys
annotate it and the annotations land in the store; unauthenticated (and XSRF-less) API calls are
refused; a notebook's saved trajectory outputs render through the MIME renderer. Screenshots go
to the artifacts folder (``extension_*.png``)."""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import workbench as wb
from tests.browser.annotation_keys import NOTE, annotate_with_keys, check_stored, press
from workbench.widgets.display import trajectory_mimebundle

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "extensions"))

from workbench_jupyterlab.api import trajectory_document  # noqa: E402
from workbench_jupyterlab.testing import JupyterServer  # noqa: E402

pytestmark = pytest.mark.timeout(600)

N = 240
MODELS = ("QwQ-32B", "DeepSeek-R1", "Qwen3-8B")
XSS = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'
BODY = "\n\n".join(
    f"Step {i}: so {i} + {i} = {2 * i}. Wait, let me check that again. Hmm, yes it is {2 * i}."
    for i in range(30)
)


def build_store(path: Path) -> list[str]:
    store = wb.Store(path)
    items = [
        wb.Trajectory(
            prompt=f"Question {i}: what is {i} + {i}?" if i != 7 else f"Question seven {XSS}",
            raw=f"<think>\nOkay, let me think.\n\n{BODY}\n</think>\n\nThe answer is {2 * i}.",
            model=MODELS[i % 3],
            status="complete" if i % 5 else "partial",
            grade=(i % 2 == 0) if i % 4 else None,
            tags=["math"] + (["hard"] if i % 6 == 0 else []),
            source="browser-test",
            source_id=f"q{i}",
        )
        for i in range(N)
    ]
    ids = store.add_trajectories(items).inserted
    store.close()
    return ids


def saved_notebook(path: Path, store_path: Path, tid: str) -> None:
    """A notebook whose outputs were saved without widgets: the MIME payload and its fallbacks."""
    import nbformat

    with wb.Store(store_path, readonly=True) as store:
        t = store.get(tid)
        doc = trajectory_document(store, tid, taxonomy="dto")
    plain = trajectory_mimebundle(t, widget=False)
    rich = dict(doc["payload"])
    rich.update(segments=doc["segments"], hits=doc["hits"], labels=doc["labels"])
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    first = nbformat.v4.new_code_cell("store.get(tid)", execution_count=1)
    first.outputs = [nbformat.v4.new_output("execute_result", data=plain, execution_count=1)]
    second = nbformat.v4.new_code_cell("# with segments and keyword hits", execution_count=2)
    second.outputs = [
        nbformat.v4.new_output(
            "display_data",
            data={"text/plain": repr(t), "application/vnd.workbench.trajectory+json": rich},
        )
    ]
    nb.cells = [first, second]
    nbformat.write(nb, path)


@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator[dict]:
    pytest.importorskip("playwright", reason="pip install 'thinking-workbench[browser]'")
    from playwright.sync_api import sync_playwright

    from workbench.widgets.testing import CHROMIUM_ARGS

    pw = sync_playwright().start()
    chrome = pw.chromium.launch(executable_path=chromium, headless=True, args=list(CHROMIUM_ARGS))
    try:
        yield {"pw": pw, "browser": chrome}
    finally:
        chrome.close()
        pw.stop()


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, browser: dict) -> Iterator[dict]:
    for module in ("jupyterlab", "nbformat", "httpx"):
        pytest.importorskip(
            module, reason=f"{module} missing: pip install 'thinking-workbench[browser]'"
        )
    root = tmp_path_factory.mktemp("ext-lab")
    (root / "data").mkdir()
    store_path = root / "data" / "traces.db"
    ids = build_store(store_path)
    saved_notebook(root / "saved.ipynb", store_path, ids[7])
    server = JupyterServer(
        root,
        store="data/traces.db",
        lab=True,
        args=["--WorkbenchExtension.author=browser-test"],
        # No kernel can start: everything here must work without one.
        config={"KernelSpecManager": {"allowed_kernelspecs": ["no-kernel-in-this-test"]}},
        lab_settings={
            "@jupyterlab/apputils-extension/notification": {
                "fetchNews": "false",
                "checkForUpdates": False,
            },
            "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
        },
    )
    server.start()
    context = browser["browser"].new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    foreign: list[str] = []
    local = (server.base, "data:", f"blob:{server.base}")
    page.on("request", lambda r: None if r.url.startswith(local) else foreign.append(r.url))
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server.url(f"lab?token={server.token}"))
    page.wait_for_selector(".jp-LabShell", timeout=90_000)
    try:
        yield {
            "page": page,
            "pw": browser["pw"],
            "server": server,
            "store": store_path,
            "ids": ids,
            "foreign": foreign,
            "errors": errors,
        }
    finally:
        context.close()
        server.stop()


def open_panel(page) -> None:
    panel = page.locator("#wb-trajectory-browser")
    if not panel.is_visible():
        page.locator('.jp-SideBar [data-id="wb-trajectory-browser"]').click()
    panel.wait_for(state="visible", timeout=30_000)


def count_text(page) -> str:
    return page.locator(".wb-b-count").inner_text()


def wait_count(page, expected: int, of: int | None = None) -> None:
    want = (
        f"{expected:,} of {of:,} trajectories" if of is not None else f"{expected:,} trajectories"
    )
    page.wait_for_function(
        "want => document.querySelector('.wb-b-count')?.textContent === want",
        arg=want,
        timeout=20_000,
    )


def first_row(page):
    return page.locator('.wb-brow[data-index="0"] .wb-brow-meta')


def test_extension_is_listed_as_enabled() -> None:
    jupyter = Path(sys.executable).parent / "jupyter"
    if not jupyter.exists():
        pytest.skip("no jupyter command next to this Python")
    strip = re.compile(r"\x1b\[[0-9;]*m")
    out = subprocess.run(
        [str(jupyter), "labextension", "list"], capture_output=True, text=True, timeout=120
    )
    listed = strip.sub("", out.stdout + out.stderr)
    assert re.search(
        r"workbench-jupyterlab v0\.1\.0 enabled\s+OK \(python, workbench-jupyterlab\)", listed
    ), listed
    out = subprocess.run(
        [str(jupyter), "server", "extension", "list"], capture_output=True, text=True, timeout=120
    )
    listed = strip.sub("", out.stdout + out.stderr)
    assert "workbench_jupyterlab enabled" in listed and re.search(
        r"workbench_jupyterlab \S+ OK", listed
    ), listed


def menu_theme(page, name: str) -> None:
    """Switch JupyterLab's theme through its Settings menu, as a user would."""
    page.locator(".lm-MenuBar-itemLabel", has_text="Settings").click()
    page.locator(".lm-Menu-itemLabel", has_text="Theme").first.hover()
    page.locator(".lm-Menu-itemLabel", has_text=name).first.click()
    page.wait_for_function(
        "(name) => document.body.dataset.jpThemeName === name", arg=name, timeout=30_000
    )
    page.wait_for_timeout(500)


def test_panel_lists_filters_and_pages(lab: dict, artifacts: Path) -> None:
    page, ids = lab["page"], lab["ids"]
    open_panel(page)
    wait_count(page, N)
    first_row(page).wait_for(timeout=20_000)
    assert page.locator('.wb-brow[data-index="0"]').get_attribute("data-id") == ids[-1]
    assert "traces.db" in page.locator(".wb-b-store").inner_text()
    page.screenshot(path=str(artifacts / "extension_panel.png"))

    with wb.Store(lab["store"], readonly=True) as store:
        by_model = store.count(model="DeepSeek-R1")
        by_model_partial = store.count(model="DeepSeek-R1", status="partial")
        correct = store.count(correct=True)
        hard = store.count(tags=["hard"])
    page.locator(".wb-b-model").select_option("DeepSeek-R1")
    wait_count(page, by_model, N)
    assert set(page.locator(".wb-brow .wb-model").all_inner_texts()) == {"DeepSeek-R1"}
    page.locator(".wb-b-status").select_option("partial")
    wait_count(page, by_model_partial, N)
    page.screenshot(path=str(artifacts / "extension_panel_filtered.png"))
    page.locator(".wb-b-clear").click()
    wait_count(page, N)
    page.locator(".wb-b-grade").select_option("correct")
    wait_count(page, correct, N)
    page.locator(".wb-b-clear").click()
    page.locator(".wb-b-tags").fill("hard")
    page.locator(".wb-b-tags").press("Enter")
    wait_count(page, hard, N)
    page.locator(".wb-b-clear").click()
    wait_count(page, N)

    # text search; the prompt holding markup is shown as text, and nothing ran
    page.locator(".wb-b-search").fill("question seven <img")
    page.locator(".wb-b-search").press("Enter")
    wait_count(page, 1, N)
    title = page.locator('.wb-brow[data-index="0"] .wb-brow-title')
    assert title.inner_text().startswith("Question seven <img src=x onerror=")
    assert page.evaluate("window.__xss") is None
    assert page.locator(".wb-browser img, .wb-browser script").count() == 0
    # the snippet around the match: its field, the match marked, the markup still text
    snip = page.locator('.wb-brow[data-index="0"] .wb-brow-snippet')
    assert snip.locator(".wb-brow-field").inner_text().lower() == "prompt"
    assert snip.locator("mark").inner_text().lower() == "question seven <img"
    box, row = snip.bounding_box(), page.locator('.wb-brow[data-index="0"]').bounding_box()
    assert box and row and box["y"] + box["height"] <= row["y"] + row["height"] + 0.5  # fits
    page.screenshot(path=str(artifacts / "extension_search_markup_as_text.png"))
    menu_theme(page, "JupyterLab Dark")  # the snippet's mark and field badge in the dark theme
    page.screenshot(path=str(artifacts / "extension_search_dark.png"))
    menu_theme(page, "JupyterLab Light")
    page.locator(".wb-b-clear").click()
    wait_count(page, N)

    # page to the end of the list: the last rows arrive from their own page request
    page.locator(".wb-b-rows").evaluate("el => { el.scrollTop = el.scrollHeight; }")
    last = page.locator(f'.wb-brow[data-index="{N - 1}"] .wb-brow-meta')
    last.wait_for(timeout=20_000)
    assert page.locator(f'.wb-brow[data-index="{N - 1}"]').get_attribute("data-id") == ids[0]
    assert page.locator(".wb-brow").count() < 60  # windowed: only rows near the viewport exist
    page.locator(".wb-b-rows").evaluate("el => { el.scrollTop = 0; }")
    first_row(page).wait_for(timeout=20_000)


def test_viewer_annotates_with_the_annotator_keys(lab: dict, artifacts: Path) -> None:
    page, ids = lab["page"], lab["ids"]
    open_panel(page)
    wait_count(page, N)
    page.locator('.wb-brow[data-index="1"]').click()  # ids[-2]
    tid = ids[-2]
    viewer = page.locator(".wb-viewer").last
    viewer.locator(".wb-x-seg").first.wait_for(timeout=30_000)
    assert tid in viewer.locator(".wb-x-head .wb-id").inner_text()
    assert viewer.locator(".wb-x-seg[class*='wb-c']").count() > 3  # pattern colours
    assert viewer.locator(".wb-hit").count() > 10  # keyword highlights
    assert viewer.locator(".wb-help").inner_text().startswith("j/k segment · 1–9 label")
    page.screenshot(path=str(artifacts / "extension_viewer.png"))

    viewer.locator(".wb-x-seg").first.click()  # selects segment 0 and focuses the viewer

    annotate_with_keys(page, viewer)
    selected = viewer.locator(".wb-x-seg.wb-selected .wb-seg-index").inner_text()
    assert selected == "2"
    assert NOTE in viewer.locator(".wb-x-seg.wb-selected .wb-note").inner_text()
    assert viewer.locator(".wb-x-seg b").count() == 0
    assert "undone" in viewer.locator(".wb-annot-status").inner_text()
    page.screenshot(path=str(artifacts / "extension_viewer_annotated.png"))

    check_stored(lab["store"], tid)

    press(page, viewer, "J")  # the next trajectory of the list opens in the same viewer
    page.wait_for_function(
        "([el, id]) => el.querySelector('.wb-x-head .wb-id')?.textContent === id",
        arg=[viewer.element_handle(), ids[-3]],
        timeout=15_000,
    )


def test_api_refuses_unauthenticated_calls(lab: dict) -> None:
    page, server, ids = lab["page"], lab["server"], lab["ids"]
    api = server.url("workbench/api/")
    anonymous = lab["pw"].request.new_context()
    try:
        for path in ("info", "trajectories?limit=5", f"trajectories/{ids[0]}"):
            r = anonymous.get(api + path)
            assert r.status == 403, (path, r.status, r.text())
        r = anonymous.post(
            api + f"trajectories/{ids[0]}/annotations", data={"kind": "rating", "value": 1}
        )
        assert r.status == 403
    finally:
        anonymous.dispose()
    # The page's own cookie session: reads work, a write without the XSRF header does not.
    assert page.request.get(api + "info").status == 200
    url = api + f"trajectories/{ids[0]}/annotations"
    r = page.request.post(url, data={"kind": "rating", "value": 2})
    assert r.status == 403 and "xsrf" in r.text().lower()
    xsrf = next(c["value"] for c in page.context.cookies() if c["name"] == "_xsrf")
    r = page.request.post(url, data={"kind": "rating", "value": 2}, headers={"X-XSRFToken": xsrf})
    assert r.status == 201, r.text()
    with wb.Store(lab["store"], readonly=True) as store:
        assert [(a.kind, a.value) for a in store.get_annotations(ids[0])] == [("rating", 2)]


def test_saved_outputs_render_without_a_kernel(lab: dict, artifacts: Path) -> None:
    page, server, ids = lab["page"], lab["server"], lab["ids"]
    page.goto(server.url(f"lab/tree/saved.ipynb?token={server.token}"))
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
    with contextlib.suppress(Exception):  # "Select Kernel": there is none to select
        page.locator(".jp-Dialog .jp-mod-reject, .jp-Dialog .jp-mod-accept").first.click(
            timeout=5_000
        )
    rendered = page.locator(".jp-Notebook .wb-mime")
    rendered.nth(1).wait_for(timeout=30_000)
    assert rendered.count() == 2
    plain, rich = rendered.nth(0), rendered.nth(1)
    assert ids[7] in plain.locator(".wb-id").inner_text()
    assert plain.locator(".wb-x-gap").count() >= 1  # no segments in the payload: plain thinking
    assert "The answer is 14." in plain.locator(".wb-x-answer-text").inner_text()
    assert (
        rich.locator(".wb-x-seg[class*='wb-c']").count() > 3
        and rich.locator(".wb-hit").count() > 10
    )
    assert "<img src=x" in plain.locator(".wb-prompt summary").inner_text()
    assert page.locator(".jp-Notebook img[src='x'], .jp-Notebook .wb-mime script").count() == 0
    assert page.evaluate("window.__xss") is None
    # the static HTML fallback in the same bundle is not what shows
    assert page.locator(".jp-Notebook .wb-static").count() == 0
    kernels = json.loads(page.request.get(server.url("api/kernels")).text())
    assert kernels == []
    time.sleep(0.3)
    page.screenshot(path=str(artifacts / "extension_mime_saved_notebook.png"), full_page=True)
    assert lab["foreign"] == [], lab["foreign"]
    assert lab["errors"] == [], lab["errors"]


LIVE_CELL = """\
import os, workbench as wb
store = wb.Store(os.environ["WB_TEST_STORE"], readonly=True)
store.get(os.environ["WB_TEST_TID"])
"""


@pytest.fixture(scope="module")
def kernel_lab(tmp_path_factory: pytest.TempPathFactory, browser: dict) -> Iterator[dict]:
    for module in ("jupyterlab", "nbformat", "anywidget", "ipykernel"):
        pytest.importorskip(
            module, reason=f"{module} missing: pip install 'thinking-workbench[browser]'"
        )
    import nbformat

    root = tmp_path_factory.mktemp("ext-kernel-lab")
    store_path = root / "traces.db"
    ids = build_store(store_path)
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [nbformat.v4.new_code_cell(LIVE_CELL)]
    nbformat.write(nb, root / "live.ipynb")
    server = JupyterServer(
        root,
        store="traces.db",
        lab=True,
        env={"WB_TEST_STORE": str(store_path), "WB_TEST_TID": ids[3], "PYTHONPATH": str(REPO)},
        lab_settings={
            "@jupyterlab/apputils-extension/notification": {
                "fetchNews": "false",
                "checkForUpdates": False,
            },
            "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
        },
    )
    server.start()
    context = browser["browser"].new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    try:
        yield {"page": page, "server": server, "ids": ids}
    finally:
        context.close()
        server.stop()


def test_live_widget_while_the_kernel_runs_saved_view_after(
    kernel_lab: dict, artifacts: Path
) -> None:
    """A displayed trajectory is the live LiveTrace while its kernel holds the widget; after the
    kernel is gone the saved output is drawn by the renderer, not 'model not found'."""
    page, server, ids = kernel_lab["page"], kernel_lab["server"], kernel_lab["ids"]
    page.goto(server.url(f"lab/tree/live.ipynb?token={server.token}"))
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
    page.wait_for_selector("text=Python 3 (ipykernel) | Idle", timeout=90_000)
    cell = page.locator(".jp-Notebook .jp-Cell").first
    cell.locator(".jp-InputArea-prompt").click()
    page.keyboard.press("Shift+Enter")
    live = cell.locator(".wb-live")
    live.wait_for(timeout=60_000)
    assert cell.locator(".wb-mime").count() == 0
    cell.screenshot(path=str(artifacts / "extension_output_live_widget.png"))
    page.keyboard.press("Control+s")
    deadline = time.monotonic() + 20
    outputs: list = []
    while not outputs and time.monotonic() < deadline:
        time.sleep(0.25)
        outputs = json.loads((server.root / "live.ipynb").read_text())["cells"][0]["outputs"]
    assert outputs, "the notebook was not saved"
    bundle = outputs[0]["data"]
    assert {
        "application/vnd.jupyter.widget-view+json",
        "application/vnd.workbench.trajectory+json",
    } <= set(bundle)

    xsrf = next(c["value"] for c in page.context.cookies() if c["name"] == "_xsrf")
    for kernel in json.loads(page.request.get(server.url("api/kernels")).text()):
        r = page.request.delete(
            server.url(f"api/kernels/{kernel['id']}"), headers={"X-XSRFToken": xsrf}
        )
        assert r.status == 204
    page.reload()
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
    cell = page.locator(".jp-Notebook .jp-Cell").first
    rendered = cell.locator(".wb-mime")
    rendered.wait_for(timeout=30_000)
    page.wait_for_timeout(3_000)  # the new kernel (if any) is asked; the drawing stays
    assert cell.locator(".wb-mime").count() == 1 and cell.locator(".wb-live").count() == 0
    assert "model not found" not in cell.inner_text()
    assert ids[3] in rendered.locator(".wb-id").inner_text()
    cell.screenshot(path=str(artifacts / "extension_output_saved_after_kernel.png"))
