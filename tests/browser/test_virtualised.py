"""A 32k-token trace in the real bundle (headless Chromium, no Jupyter): only the rows in view
hold DOM, scrolling renders the rows reached, and shading/segments/hits are drawn."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("anywidget")

from workbench import TokenArrays, Trajectory
from workbench.widgets import LiveTrace
from workbench.widgets.testing import BrowserHarness


def long_trajectory(n: int) -> Trajectory:
    words = []
    i = 0
    while len(words) < n:
        words += (
            f" Step {i}: {i} times 3 is {3 * i}. Wait, let me check it again. Hmm, fine.".split(
                " "
            )[1:]
        )
        words.append("\n\n")
        i += 1
    pieces = [
        "<think>\n",
        *[" " + w if w != "\n\n" else w for w in words[:n]],
        "\n</think>\n\n",
        "Done.",
    ]
    raw = "".join(pieces)
    ends = np.cumsum([len(p) for p in pieces])
    offsets = np.stack([ends - [len(p) for p in pieces], ends], axis=1).astype(np.int32)
    lp = -np.random.default_rng(1).exponential(1.0, len(pieces)).astype(np.float32)
    return Trajectory(
        prompt="p",
        raw=raw,
        model="m",
        tokens=TokenArrays(ids=np.arange(len(pieces)), offsets=offsets, logprobs=lp),
    )


def test_32k_trace_renders_only_what_is_in_view(chromium: str, artifacts: Path) -> None:
    t = long_trajectory(32_000)
    with BrowserHarness(chromium=chromium) as hb:
        sel = hb.mount(LiveTrace(t, shade="logprob"))
        think = f"{sel} .wb-think"
        rows = hb.page.locator(f"{think} .wb-row").count()
        filled = hb.page.evaluate(
            f"() => [...document.querySelectorAll('{think} .wb-row')].filter(r => r.childNodes.length).length"
        )
        spans = hb.page.locator(f"{think} span").count()
        assert rows > 100 and filled < 12 and spans < 6000, (rows, filled, spans)
        assert hb.page.locator(f"{think} .wb-hit").count() > 0
        assert hb.page.locator(f"{think} [class*='wb-shade-']").count() > 0
        assert "Step 0:" in hb.page.inner_text(think)
        hb.page.screenshot(path=str(artifacts / "live_trace_32k_logprob.png"))
        hb.page.evaluate(
            f"() => {{ const p = document.querySelector('{think}'); p.scrollTop = p.scrollHeight / 2; }}"
        )
        hb.page.wait_for_timeout(200)
        text = hb.page.inner_text(think)
        assert "Step 0:" not in text and "Step" in text
        assert hb.page_errors == [] and hb.foreign_requests == []
