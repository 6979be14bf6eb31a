"""Model output, prompts, file contents and annotations are rendered as text: 32 XSS payloads go
through every widget and the static fallback; nothing executes and no request leaves the page."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.browser.payloads import INIT_SCRIPT, PAYLOADS, all_payloads

pytest.importorskip("anywidget")

from workbench import Store, TokenArrays, Trajectory
from workbench.analysis.pipeline import analyze_trajectory
from workbench.attention import ConstraintAttention, token_parts
from workbench.display import trajectory_html
from workbench.segment import Segment
from workbench.widgets import Annotator, ConstraintHeatmap, LiveTrace, PairBuilder, StatsPanel
from workbench.widgets.testing import BrowserHarness

BAD = all_payloads()


def evil_trajectory(prompt: str = BAD) -> Trajectory:
    body = "\n\n".join(f"Wait, {p} hmm. So let me check {p}" for p in PAYLOADS)
    raw = f"<think>\n{body}\n</think>\n\n{BAD}"
    edges = np.linspace(0, len(raw), 400).astype(np.int32)
    offsets = np.stack([edges[:-1], edges[1:]], axis=1)
    return Trajectory(
        prompt=prompt,
        raw=raw,
        model=PAYLOADS[1],
        metadata={"note": BAD},
        tokens=TokenArrays(
            ids=np.arange(len(offsets)), offsets=offsets, logprobs=-np.ones(len(offsets))
        ),
    )


def test_no_payload_executes_or_loads(tmp_path: Path, chromium: str, artifacts: Path) -> None:
    store = Store(tmp_path / "xss.db")
    a, b = evil_trajectory(), evil_trajectory()  # the same prompt: a pair
    store.add(a)
    store.add(b)
    # segments whose labels are payloads (imported peer labels are data too)
    segs = analyze_trajectory(a)
    store.add_segments(
        a.id,
        [
            Segment(**{**s.to_dict(), "labels": [PAYLOADS[i % len(PAYLOADS)]]})
            for i, s in enumerate(segs)
        ],
    )
    for i, p in enumerate(PAYLOADS[:8]):
        store.add_annotation(
            a.id, "note", p, segment_id=segs[i].id, author=PAYLOADS[(i + 3) % len(PAYLOADS)]
        )
    g = 300
    edges = np.linspace(0, len(a.raw), g + 1).astype(np.int32)
    offsets = np.stack([edges[:-1], edges[1:]], axis=1)
    att = ConstraintAttention(
        trajectory_id=a.id,
        model=PAYLOADS[0],
        mass=np.random.default_rng(0).random((g, 6, 4), dtype=np.float32),
        offsets=offsets,
        parts=token_parts(a, offsets),
        constraints=list(PAYLOADS[4:8]),
        token_text=[a.raw[x:y] for x, y in offsets],
    )
    widgets = [
        LiveTrace([a, b], store=store, shade="logprob", lexicon=["wait", "check", PAYLOADS[0]]),
        Annotator(store, [a.id, b.id], labels=list(PAYLOADS[:9])),
        StatsPanel(store, lexicon=["wait", "hmm", PAYLOADS[2]]),
        PairBuilder(store, [a.id, b.id]),
        ConstraintHeatmap(att, segments=store.get_segments(a.id)),
    ]
    with BrowserHarness(chromium=chromium) as hb:
        hb.page.add_init_script(INIT_SCRIPT)
        hb.page.evaluate(f"() => {{ {INIT_SCRIPT} }}")
        selectors = [hb.mount(w) for w in widgets]
        # the static fallback, inserted as HTML the way a notebook shows it
        hb.page.evaluate(
            "(html) => { const d = document.createElement('div'); d.id = 'static';"
            " d.insertAdjacentHTML('beforeend', html); document.body.appendChild(d); }",
            trajectory_html(a, segments=store.get_segments(a.id), labels=list(PAYLOADS[:3])),
        )
        # touch everything: hover and click the heatmap, keys in the annotator, bars in the chart
        heat = hb.page.locator(f"{selectors[4]} canvas.wb-heat-canvas")
        box = heat.bounding_box()
        assert box is not None
        for fx in (0.1, 0.5, 0.9):
            hb.page.mouse.move(box["x"] + box["width"] * fx, box["y"] + box["height"] / 2)
            hb.page.mouse.click(box["x"] + box["width"] * fx, box["y"] + box["height"] / 2)
        hb.page.select_option(f"{selectors[4]} select >> nth=0", "segments")
        hb.pump()
        ann = hb.page.locator(f"{selectors[1]} .wb-annot")
        ann.focus()
        for key in ("j", "j", "3", "r", "4", "n"):
            hb.page.keyboard.press(key)
            hb.pump()
        hb.page.keyboard.type(PAYLOADS[1])
        hb.page.keyboard.press("Enter")
        hb.pump()
        # the vega-lite charts draw payload keywords as axis labels and tooltips: hover and click
        hb.page.wait_for_selector(f"{selectors[2]} .wb-vega .mark-rect path", timeout=20_000)
        for k in range(4):
            bar = hb.page.locator(f"{selectors[2]} .wb-vega .mark-rect path").nth(k)
            bar.hover()
            bar.click()
            hb.pump()
            hb.page.wait_for_timeout(100)
        assert "<script>" in " ".join(
            hb.page.locator(f"{selectors[2]} .wb-vega svg text").all_text_contents()
        )
        # the per-token curve, the pattern timeline and a heatmap brush, with payload text
        curve = hb.page.locator(f"{selectors[0]} .wb-curve-canvas").first
        cbox = curve.bounding_box()
        assert cbox is not None
        hb.page.mouse.move(cbox["x"] + 10, cbox["y"] + 10)
        hb.page.mouse.down()
        hb.page.mouse.move(cbox["x"] + cbox["width"] / 2, cbox["y"] + 10, steps=3)
        hb.page.mouse.up()
        hb.page.locator(f"{selectors[0]} .wb-timeline-canvas").first.click()
        hb.page.select_option(f"{selectors[4]} select >> nth=0", "tokens")
        hb.pump()
        heat = hb.page.locator(f"{selectors[4]} canvas.wb-heat-canvas")
        box = heat.bounding_box()
        assert box is not None
        hb.page.mouse.move(box["x"] + 5, box["y"] + 5)
        hb.page.mouse.down()
        hb.page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 5, steps=3)
        hb.page.mouse.up()
        hb.pump()
        hb.page.locator(f"{selectors[3]} .wb-choose").first.click()
        hb.pump()
        hb.page.wait_for_timeout(300)
        hb.page.screenshot(path=str(artifacts / "xss_payloads.png"), full_page=True)
        hits = hb.page.evaluate("window.__xssHits")
        text = hb.page.inner_text("body")
        assert hits == [], f"payloads executed: {hits}"
        assert hb.foreign_requests == [], hb.foreign_requests
        assert hb.dialogs == [] and hb.page_errors == []
        assert not any(w.errors for w in widgets), [w.errors for w in widgets]
        # the payloads are on the page as text
        assert PAYLOADS[0] in text and PAYLOADS[21] in text
        # no element, attribute or URL came from data
        assert (
            hb.page.evaluate(
                "() => document.querySelectorAll('#mounts script, #mounts img, #mounts iframe, #mounts a,"
                " #mounts object, #mounts embed, #mounts link, #mounts style, #mounts meta, #mounts base,"
                " #mounts form, #mounts video, #static script, #static img, #static a, #static style').length"
            )
            == 0
        )
    latest = store.list_annotations(a.id, history=False)
    assert PAYLOADS[1] in "".join(v for v in latest["value"].to_list() if v)
    store.close()


@pytest.mark.parametrize("n", [len(PAYLOADS)])
def test_payload_list_is_long_enough(n: int) -> None:
    assert n >= 20
