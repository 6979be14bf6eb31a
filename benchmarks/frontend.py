"""Front-end benchmark: LiveTrace in headless Chromium (the real bundle, no Jupyter).

Prints ``{"render_32k_ms", "flush_ms_at_1k_tokens", "flush_ms_at_30k_tokens", ...}``:

* ``render_32k_ms``: a finished 32k-token trajectory (per-token logprobs, segments, keyword
  hits) from the view's first render to the snapshot applied and laid out;
* ``flush_ms_at_{1k,30k}_tokens``: applying one streaming flush (5 tokens, with a closed segment
  now and then) to a view already holding 1k or 30k tokens, layout included (median of 60);
* ``heatmap_32k_x_30_layers_ms``: a ConstraintHeatmap of 32k tokens × 30 layers × 3 constraints
  (axes, colour bar and boundary included) from its first render to the map drawn and laid out.

Targets: render < 300 ms; a flush at 30k tokens costs at most 1.5x a flush at 1k; the heatmap
< 300 ms.
Needs Chromium (``apt-get install -y chromium``) and playwright.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

import numpy as np

from workbench.attention import ConstraintAttention, token_parts
from workbench.backends.base import TokenEvent
from workbench.session.stream import SampleStream
from workbench.trajectory import TokenArrays, Trajectory
from workbench.widgets._stream import LiveSample
from workbench.widgets.heatmap import ConstraintHeatmap
from workbench.widgets.live_trace import LiveTrace
from workbench.widgets.testing import BrowserHarness

PARAGRAPH = (
    "Let me compute {i} times {j}: that is {k}. Wait, let me check this again, because "
    "the carry might be wrong. Hmm, {k} minus {j} gives back {d}, so it holds. "
)


def tokens(n: int) -> list[str]:
    """``n`` word-like tokens of reasoning text, with paragraph breaks."""
    out: list[str] = []
    i = 0
    while len(out) < n:
        text = PARAGRAPH.format(i=i, j=i + 3, k=i * (i + 3), d=i)
        out.extend(" " + w for w in text.split())
        if i % 3 == 2:
            out.append("\n\n")
        i += 1
    return out[:n]


def trajectory(n: int) -> Trajectory:
    pieces = ["<think>\n", *tokens(n - 10), "\n</think>\n\n", *tokens(8)]
    raw = "".join(pieces)
    ends = np.cumsum([len(p) for p in pieces])
    offsets = np.stack([ends - [len(p) for p in pieces], ends], axis=1).astype(np.int32)
    rng = np.random.default_rng(0)
    return Trajectory(
        prompt="Multiply a few numbers.",
        raw=raw,
        model="bench",
        tokens=TokenArrays(
            ids=np.arange(len(pieces)),
            offsets=offsets,
            logprobs=-rng.exponential(1.0, len(pieces)).astype(np.float32),
        ),
    )


def render_ms(n: int, repeats: int) -> float:
    t = trajectory(n)
    times = []
    with BrowserHarness() as hb:
        for _ in range(repeats):
            trace = LiveTrace(t, shade="logprob")
            hb.last_deliver_ms.clear()
            hb.mount(trace)
            times.append(hb.last_mount_ms + sum(hb.last_deliver_ms))
    return statistics.median(times)


def heatmap_ms(n: int, layers: int, repeats: int) -> float:
    """Median time of a ConstraintHeatmap's first render, its message applied and laid out."""
    t = trajectory(n)
    assert t.tokens is not None
    offsets = np.asarray(t.tokens.offsets)
    rng = np.random.default_rng(0)
    att = ConstraintAttention(
        trajectory_id=t.id,
        model="bench",
        mass=rng.random((len(offsets), layers, 3), dtype=np.float32) / 3,
        offsets=offsets,
        parts=token_parts(t, offsets),
        constraints=["in all lowercase", "no commas", "two paragraphs"],
        token_text=[t.raw[a:b] for a, b in offsets],
    )
    times = []
    with BrowserHarness() as hb:
        for _ in range(repeats):
            heat = ConstraintHeatmap(att, segments=[])
            hb.last_deliver_ms.clear()
            hb.mount(heat)
            times.append(hb.last_mount_ms + sum(hb.last_deliver_ms))
    return statistics.median(times)


def flush_ms(n: int, flushes: int) -> float:
    words = tokens(n + flushes * 5 + 10)
    trace = LiveTrace(Trajectory(prompt="p", raw="x"))
    sample = LiveSample(0, "bench", "bench", trace.options, SampleStream("bench"))
    trace.samples = [sample]
    trace._status = "running"
    sample.stream.on_event(TokenEvent(sample=0, text="<think>\n", token_ids=(0,), logprobs=(-0.1,)))
    for k, w in enumerate(words[:n]):
        sample.stream.on_event(TokenEvent(sample=0, text=w, token_ids=(k,), logprobs=(-0.5,)))
    times = []
    with BrowserHarness() as hb:
        hb.mount(trace)  # the snapshot holds the first n tokens
        pos = n
        for _ in range(flushes):
            for w in words[pos : pos + 5]:
                sample.stream.on_event(
                    TokenEvent(sample=0, text=w, token_ids=(pos,), logprobs=(-0.5,))
                )
            pos += 5
            hb.last_deliver_ms.clear()
            trace.flush()
            hb.pump()
            times.append(sum(hb.last_deliver_ms))
    return statistics.median(times[5:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--flushes", type=int, default=60)
    args = parser.parse_args()
    start = time.perf_counter()
    result = {
        "render_32k_ms": round(render_ms(32_000, args.repeats), 2),
        "flush_ms_at_1k_tokens": round(flush_ms(1_000, args.flushes), 3),
        "flush_ms_at_30k_tokens": round(flush_ms(30_000, args.flushes), 3),
    }
    result["heatmap_32k_x_30_layers_ms"] = round(heatmap_ms(32_000, 30, args.repeats), 2)
    result["flush_ratio_30k_over_1k"] = round(
        result["flush_ms_at_30k_tokens"] / max(result["flush_ms_at_1k_tokens"], 1e-9), 3
    )
    result["render_target_met"] = result["render_32k_ms"] < 300
    result["flush_target_met"] = result["flush_ratio_30k_over_1k"] <= 1.5
    result["heatmap_target_met"] = result["heatmap_32k_x_30_layers_ms"] < 300
    result["seconds"] = round(time.perf_counter() - start, 1)
    if args.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print(f"{k:>28}: {v}")
    sys.exit(0)


if __name__ == "__main__":
    main()
