"""The importance strip in real JupyterLab: a stored trajectory in LiveTrace with an importance
result (built from SegmentImportance values, no sampling) draws one bar per segment under the
thinking; hovering a bar shows its numbers and its text as text (an XSS payload stays text) and
highlights the segment; a click scrolls the trace to it; hovering the text marks its bar; light
and dark themes at 1400 and 700 px, without overlaps."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.layout import contrast, overlaps, svg_texts
from tests.browser.test_jupyterlab import cell, run_cell, set_theme, start_lab
from tests.unit.test_importance_strip import XSS

pytestmark = pytest.mark.timeout(600)

SETUP = """\
import json, os, workbench as wb
from tests.unit.test_importance_strip import importance_result, importance_trajectory
from workbench.analysis.pipeline import analyze_trajectory
from workbench.widgets import LiveTrace
store = wb.Store(os.environ["WB_TEST_STORE"])
t = importance_trajectory(40)
store.add(t)
store.add_segments(t.id, analyze_trajectory(t))
result = importance_result(t)
trace = LiveTrace(store.get(t.id), store=store, height=260)
trace.show_importance(result)
print("BARS", json.dumps([[s.index, *s.char_span, s.significant, s.text] for s in result.segments]))
trace
"""

# the visible piece of the thinking pane (a [data-pos] span) nearest its vertical middle
VISIBLE_PIECE = """
(pane) => {
  const box = pane.getBoundingClientRect();
  const mid = box.top + box.height / 2;
  let best = null;
  for (const el of pane.querySelectorAll("span[data-pos]")) {
    const r = el.getClientRects()[0];
    if (!r || r.top < box.top || r.bottom > box.bottom || r.width < 4) continue;
    const d = Math.abs(r.top + r.height / 2 - mid);
    if (!best || d < best.d) best = { d, pos: Number(el.dataset.pos), x: r.left + Math.min(6, r.width / 2), y: r.top + r.height / 2 };
  }
  return best;
}
"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, chromium: str) -> Iterator[dict]:
    yield from start_lab(tmp_path_factory, chromium, [SETUP])


def hover_bar(page, strip, k: int) -> None:
    """Put the pointer over bar ``k`` (the middle of its band, over the plot)."""
    rect = strip.locator(f"rect.wb-imp-bar[data-index='{k}']").bounding_box()
    plot = strip.locator("svg.wb-imp-plot").bounding_box()
    assert rect and plot
    page.mouse.move(rect["x"] + rect["width"] / 2, plot["y"] + plot["height"] / 2)


def test_strip_bars_tooltip_and_links_to_the_trace(lab: dict, artifacts: Path) -> None:
    page = lab["page"]
    out = run_cell(page, 0, "BARS", timeout=180)
    bars = json.loads(out.split("BARS", 1)[1].strip().splitlines()[0])
    live = cell(page, 0).locator(".wb-live")
    live.wait_for(timeout=30_000)
    strip = live.locator(".wb-imp")
    strip.wait_for(state="visible", timeout=30_000)
    rects = strip.locator("rect.wb-imp-bar")
    # one bar per segment, in trace order; faded where the interval includes 0
    assert rects.count() == len(bars)
    assert [int(rects.nth(i).get_attribute("data-segment") or -1) for i in range(len(bars))] == [
        b[0] for b in bars
    ]
    assert strip.locator("rect.wb-imp-faded").count() == sum(not b[3] for b in bars)
    assert strip.locator("line.wb-imp-ci").count() >= len(bars)  # a whisker (and caps) each
    texts = svg_texts(strip)
    assert "Δ p(correct)" in texts and "segment, in thinking order" in texts
    assert "0.0" in texts and any(t.startswith("-0.") for t in texts), texts
    legend = strip.locator(".wb-imp-legend").inner_text()
    assert "faded: the 95% interval of Δ p(correct) vs resamples includes 0" in legend
    assert "whiskers: 95% interval" in legend
    # hover the payload's bar: the tooltip shows it as text, nothing is parsed; the segment lights up
    (k,) = [i for i, b in enumerate(bars) if XSS in b[4]]
    strip.scroll_into_view_if_needed()
    hover_bar(page, strip, k)
    tip = strip.locator(".wb-imp-tip")
    tip.wait_for(state="visible", timeout=5_000)
    tip_text = tip.inner_text()
    assert tip_text.startswith(f"#{bars[k][0]} · uncertainty"), tip_text
    assert XSS in tip_text and "[95% interval" in tip_text and "p(correct) kept" in tip_text
    assert live.locator("img, script, iframe").count() == 0
    think = live.locator(".wb-think")
    brushed = think.locator(".wb-brushed")
    assert "Hmm, the model wrote" in "".join(brushed.all_inner_texts())
    live.screenshot(path=str(artifacts / "importance_strip_hover_light_1400.png"))
    # click the last bar: the trace scrolls to that segment and keeps it highlighted
    last = len(bars) - 1
    before = think.evaluate("(el) => el.scrollTop")
    hover_bar(page, strip, last)
    page.mouse.down()
    page.mouse.up()
    page.wait_for_timeout(400)
    assert think.evaluate("(el) => el.scrollTop") > before + 100
    assert "selected" in (rects.nth(last).get_attribute("class") or "")
    pane_box = think.bounding_box()
    lit = brushed.first.bounding_box()
    assert pane_box and lit and pane_box["y"] <= lit["y"] <= pane_box["y"] + pane_box["height"]
    assert bars[last][4][:20] in "".join(brushed.all_inner_texts())
    page.mouse.move(0, 0)  # the clicked segment stays highlighted when the pointer leaves
    assert bars[last][4][:20] in "".join(brushed.all_inner_texts())
    # hover the text: the bar of the segment under the pointer is marked
    piece = think.evaluate(VISIBLE_PIECE)
    assert piece is not None
    (j,) = [i for i, b in enumerate(bars) if b[1] <= piece["pos"] < b[2]]
    page.mouse.move(piece["x"], piece["y"])
    page.wait_for_timeout(100)
    assert strip.locator("rect.wb-imp-hot").count() == 1
    assert "wb-imp-hot" in (rects.nth(j).get_attribute("class") or "")
    page.mouse.move(0, 0)
    assert strip.locator("rect.wb-imp-hot").count() == 0
    for theme in ("light", "dark"):
        set_theme(page, theme)
        for width in (1400, 700):
            page.set_viewport_size({"width": width, "height": 1000})
            page.wait_for_timeout(400)
            live.scroll_into_view_if_needed()  # the screenshot does not scroll it from under the pointer
            plot = strip.locator("svg.wb-imp-plot").bounding_box()
            pane = think.bounding_box()
            assert plot and pane and plot["width"] <= pane["width"]  # the bars shrink to fit
            assert plot["y"] >= pane["y"] + pane["height"]  # under the text, not over it
            hover_bar(page, strip, 5)
            tip.wait_for(state="visible", timeout=5_000)
            tb, sb = tip.bounding_box(), strip.bounding_box()
            assert (
                tb and sb and sb["x"] <= tb["x"] and tb["x"] + tb["width"] <= sb["x"] + sb["width"]
            )
            live.screenshot(path=str(artifacts / f"importance_strip_{theme}_{width}_hover.png"))
            page.mouse.move(0, 0)
            page.wait_for_timeout(100)
            live.screenshot(path=str(artifacts / f"importance_strip_{theme}_{width}.png"))
            found = overlaps(live)
            assert found["overlaps"] == [], (theme, width, found["overlaps"])
            assert contrast(strip) >= 4.5, (theme, width)
    page.set_viewport_size({"width": 1400, "height": 1000})
    assert lab["foreign"] == [], lab["foreign"]
