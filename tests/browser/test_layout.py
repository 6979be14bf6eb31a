"""Every widget at 700 and 1400 px in JupyterLab's light and dark themes (their real CSS, in the
harness page): axes and legends are there by their text, no control overlaps any text, text
stands out from the page, and the heatmap's hover names the token under the mouse. Screenshots
of each go to artifacts/browser/layout_<widget>_<theme>_<width>.png."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("anywidget")
pytest.importorskip("jupyterlab", reason="the theme CSS comes from jupyterlab: make test-browser")

from tests.browser.layout import contrast, jupyterlab_theme_css, overlaps, svg_texts
from workbench import Store, TokenArrays, Trajectory
from workbench.attention import ConstraintAttention, token_parts
from workbench.widgets import Annotator, ConstraintHeatmap, LiveTrace, PairBuilder, StatsPanel
from workbench.widgets.testing import BrowserHarness

BODY = "\n\n".join(
    f"Step {i}: {i} + {i} = {2 * i}. Wait, let me check: {2 * i} is right. Hmm, so on."
    for i in range(80)
)
RAW = f"<think>\nOkay.\n\n{BODY}\n</think>\n\nThe answer is 42."
G = 600


def trajectory(model: str, *, title: str = "What is 17 + 25?") -> Trajectory:
    edges = np.linspace(0, len(RAW), G + 1).astype(np.int32)
    offsets = np.stack([edges[:-1], edges[1:]], axis=1)
    rng = np.random.default_rng(len(model))
    return Trajectory(
        prompt=title,
        raw=RAW,
        model=model,
        tokens=TokenArrays(
            ids=np.arange(G),
            offsets=offsets,
            logprobs=-rng.exponential(1.0, G).astype(np.float32),
            entropies=rng.exponential(1.0, G).astype(np.float32),
        ),
    )


def attention(t: Trajectory) -> ConstraintAttention:
    assert t.tokens is not None
    offsets = np.asarray(t.tokens.offsets)
    return ConstraintAttention(
        trajectory_id=t.id,
        model="tiny",
        mass=np.random.default_rng(0).random((G, 12, 3), dtype=np.float32) / 3,
        offsets=offsets,
        parts=token_parts(t, offsets),
        constraints=["in all lowercase letters", "no commas", "exactly two paragraphs"],
        token_text=[t.raw[a:b] for a, b in offsets],
    )


def set_theme(hb: BrowserHarness, theme: str, width: int) -> None:
    hb.page.set_viewport_size({"width": width, "height": 1000})
    hb.page.evaluate(
        """([css, light, width]) => {
          let s = document.getElementById("jp-theme");
          if (!s) { s = document.createElement("style"); s.id = "jp-theme"; document.head.appendChild(s); }
          s.textContent = css;
          document.body.dataset.jpThemeLight = light;
          document.body.dataset.jpThemeName = light === "true" ? "JupyterLab Light" : "JupyterLab Dark";
          document.body.style.background = "var(--jp-layout-color0)";
          document.body.style.width = (width - 24) + "px";
        }""",
        [jupyterlab_theme_css(theme), "true" if theme == "light" else "false", width],
    )
    hb.page.wait_for_timeout(400)  # ResizeObservers redraw, charts follow the theme


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory, chromium: str):
    store = Store(tmp_path_factory.mktemp("layout") / "layout.db")
    long_title = "A prompt whose first line is far too long to fit in one sample header " * 3
    samples = [trajectory(f"model-{k}-with-a-long-name", title=long_title) for k in range(4)]
    for t in samples:
        store.add(t)
    short = Trajectory(prompt=long_title, raw="<think>\nSo 42.\n</think>\n\n42", model="s")
    store.add(short)
    trace = LiveTrace(samples, store=store)
    widgets = {
        "live_trace": trace,
        "heatmap_tokens": ConstraintHeatmap(
            attention(samples[0]), trajectory=samples[0], trace=trace
        ),
        "heatmap_segments": ConstraintHeatmap(
            attention(samples[0]), trajectory=samples[0], mode="segments"
        ),
        "stats_panel": StatsPanel(store, lexicon="nowait"),
        "annotator": Annotator(store, [samples[0].id]),
        "pair_builder": PairBuilder(store, [samples[0].id, short.id]),
    }
    with BrowserHarness(chromium=chromium, width=1400, height=1000) as hb:
        selectors = {name: hb.mount(w) for name, w in widgets.items()}
        hb.page.wait_for_selector(f"{selectors['stats_panel']} .wb-vega svg", timeout=20_000)
        yield hb, selectors, widgets, samples
    store.close()


# what a reader must find on each chart, by its text
AXES = {
    "live_trace": ["nats", "token", "0"],
    "heatmap_tokens": ["layer", "token (generation order", "mass (sum)", "0", "11"],
    "heatmap_segments": ["segment (pattern)", "lowercase", "mass"],
    "stats_panel": ["keyword", "hits (all traces)", "pattern", "segments", "wait"],
    "annotator": ["0"],
}


@pytest.mark.parametrize("theme", ["light", "dark"])
@pytest.mark.parametrize("width", [700, 1400])
def test_widgets_are_labelled_and_nothing_overlaps(
    page, theme: str, width: int, artifacts: Path
) -> None:
    hb, selectors, widgets, _ = page
    set_theme(hb, theme, width)
    hb.page.mouse.move(0, 0)
    problems = []
    for name, sel in selectors.items():
        hb.page.locator(sel).screenshot(path=str(artifacts / f"layout_{name}_{theme}_{width}.png"))
        widget = hb.page.locator(sel)
        found = overlaps(widget)
        assert found["controls"] > 0 and found["texts"] > 0, (name, found)
        problems += [f"{name}: {o}" for o in found["overlaps"]]
        texts = " | ".join([*svg_texts(widget), widget.inner_text()])
        for label in AXES.get(name, []):
            assert label in texts, f"{name} ({theme}, {width}px): no {label!r} among {texts[:300]}"
        assert contrast(widget) >= 4.5, (name, theme)
        # nothing wider than the page: columns wrap, maps fit, charts scroll inside themselves
        box = hb.page.locator(sel).bounding_box()
        assert box is not None and box["width"] <= width, (name, box)
    assert problems == [], problems
    assert hb.page_errors == [] and hb.foreign_requests == []
    assert not any(w.errors for w in widgets.values())
    # the LiveTrace's sample columns wrap at 700 px and sit side by side at 1400 px
    tops = hb.page.locator(f"{selectors['live_trace']} .wb-sample").evaluate_all(
        "els => els.map(e => Math.round(e.getBoundingClientRect().top))"
    )
    assert (len(set(tops)) > 1) == (width < 1000), tops


def test_long_titles_ellipsise_with_the_full_text_on_hover(page) -> None:
    hb, selectors, _, samples = page
    set_theme(hb, "light", 700)
    title = hb.page.locator(f"{selectors['live_trace']} .wb-sample-title").first
    full = title.get_attribute("title") or ""
    assert samples[0].model in full
    assert title.evaluate("el => el.scrollWidth > el.clientWidth") or len(full) < 30
    summary = hb.page.locator(f"{selectors['live_trace']} .wb-prompt summary")
    assert summary.get_attribute("title") == samples[0].prompt[0]["content"]


def test_heatmap_hover_reports_the_token_under_the_mouse(page, artifacts: Path) -> None:
    hb, selectors, widgets, samples = page
    set_theme(hb, "light", 1400)
    canvas = hb.page.locator(f"{selectors['heatmap_tokens']} canvas.wb-heat-canvas")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box is not None
    readout = hb.page.locator(f"{selectors['heatmap_tokens']} .wb-readout")
    tip = hb.page.locator(f"{selectors['heatmap_tokens']} .wb-tip")
    texts = attention(samples[0]).token_text
    for k in (3, 137, 420, G - 2):
        hb.page.mouse.move(box["x"] + box["width"] * (k + 0.5) / G, box["y"] + 5)
        text = readout.inner_text()
        m = re.match(r"tokens? (\d+)(?:–(\d+))?", text)
        assert m, text
        first, last = int(m.group(1)), int(m.group(2) or m.group(1))
        assert first <= k <= last, (k, text)
        if first == last:
            shown = re.sub(r"\s+", " ", texts[k])[:80]
            assert f"“{shown}”" in text and "layer 11" in text, (k, text)
        assert tip.is_visible() and f"token {first}" in tip.inner_text()
    # a drag over tokens highlights them in the linked trace
    y = box["y"] + box["height"] / 2
    hb.page.mouse.move(box["x"] + box["width"] * 0.2, y)
    hb.page.mouse.down()
    hb.page.mouse.move(box["x"] + box["width"] * 0.3, y, steps=4)
    hb.page.mouse.up()
    hb.pump()
    heat = widgets["heatmap_tokens"]
    assert heat.selected_range is not None and heat.selected_range[0] < heat.selected_range[1]
    hb.page.wait_for_timeout(200)
    assert hb.page.locator(f"{selectors['live_trace']} .wb-brushed").count() > 0
    hb.page.locator(selectors["live_trace"]).screenshot(
        path=str(artifacts / "layout_live_trace_brushed_from_heatmap.png")
    )
