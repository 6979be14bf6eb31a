"""Widgets, kernel side: protocol drift, bundle freshness, batching, live analysis, annotation
persistence, pairs, heatmap and stats messages, and escaping of the static HTML fallback."""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("anywidget")

from workbench import Store, Trajectory
from workbench.analysis.keywords import find_keywords
from workbench.analysis.pipeline import AnalysisOptions, analyze_trajectory
from workbench.attention import ConstraintAttention, token_parts
from workbench.backends import ReplayBackend, TokenEvent
from workbench.display import TRAJECTORY_MIME, browse, trajectory_html
from workbench.session import Session
from workbench.session.stream import SampleStream
from workbench.widgets import Annotator, ConstraintHeatmap, LiveTrace, PairBuilder, StatsPanel
from workbench.widgets._protocol import (
    PROTOCOL_HASH,
    ProtocolError,
    typescript,
    validate_front_message,
    validate_kernel_message,
)
from workbench.widgets._stream import LiveSample
from workbench.widgets.compare import align_segments
from workbench.widgets.display import trajectory_mimebundle

REPO = Path(__file__).resolve().parents[2]
JS = REPO / "js"
STATIC = REPO / "workbench" / "widgets" / "static"

BODY = "\n\n".join(
    f"Step {i}: compute {i} + {i} = {2 * i}. Wait, let me check: {2 * i} is right. "
    "Hmm, so we go on. But maybe there is an error."
    for i in range(40)
)
RAW = f"<think>\nOkay, let me read the problem.\n\n{BODY}\n</think>\n\nThe answer is 42."
SOURCE = Trajectory(prompt="What is 17 + 25?", raw=RAW, model="src")


# -- protocol and bundle ----------------------------------------------------------------------------
def test_typescript_protocol_matches_python() -> None:
    committed = (JS / "src" / "protocol.generated.ts").read_text()
    assert committed == typescript(), (
        "js/src/protocol.generated.ts is stale: run `make widgets` (the Python and TypeScript "
        "message shapes drifted)"
    )
    assert f'PROTOCOL_HASH = "{PROTOCOL_HASH}"' in committed


def sources_hash() -> str:
    """The same hash as js/build.mjs: sha256 of 'path\\0content\\0' over the sorted inputs."""
    files = [JS / f for f in ("package.json", "package-lock.json", "tsconfig.json", "build.mjs")]
    files += [p for p in (JS / "src").rglob("*") if p.is_file()]
    h = hashlib.sha256()
    for rel in sorted(p.relative_to(JS).as_posix() for p in files):
        text = (JS / rel).read_bytes().decode("utf-8").replace("\r\n", "\n")
        h.update(f"{rel}\0{text}\0".encode())
    return h.hexdigest()


def test_committed_bundle_is_built_from_the_sources() -> None:
    banner = f"/* workbench widgets bundle; sources-sha256={sources_hash()} */"
    for name in ("widgets.js", "widgets.css", "vega.js"):
        first = (STATIC / name).read_text().split("\n", 1)[0]
        assert first == banner, (
            f"{name} is older than js/: run `make widgets` and commit the bundle"
        )


def test_bundle_loads_nothing_from_outside_and_never_parses_html() -> None:
    js = (STATIC / "widgets.js").read_text()
    urls = set(re.findall(r"https?://[^\s\"'`)]+", js))
    assert urls <= {"http://www.w3.org/2000/svg"}, urls
    # the one dynamic import: the bundled vega module, from a blob of the widget's own state
    assert js.count("import(") == 1
    assert "import(URL.createObjectURL(new Blob([" in js
    js = js.replace("import(URL.createObjectURL(new Blob([", "")
    for bad in (
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "eval(",
        "new Function",
        "import(",
    ):
        assert bad not in js, bad
    sources = "".join(p.read_text() for p in (JS / "src").glob("*.ts"))
    sources = re.sub(r"/\*.*?\*/|//[^\n]*", "", sources, flags=re.S)  # code, not comments
    # the one link: a chart's export, a blob URL of the SVG/PNG vega made (charts.ts download)
    assert sources.count(".href") == 2
    assert "a.href = URL.createObjectURL(blob);" in sources
    assert "URL.revokeObjectURL(a.href)" in sources
    sources = sources.replace("a.href = URL.createObjectURL(blob);", "").replace(
        "URL.revokeObjectURL(a.href)", ""
    )
    for bad in (
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        ".href",
        "javascript:",
        "cssText",
        'setAttribute("style',
    ):
        assert bad not in sources, bad


def test_vega_charts_are_sandboxed() -> None:
    """vega loads nothing, generates no code from specs, and has no menu of outside links."""
    entry = (JS / "src" / "vega_entry.ts").read_text()
    for setting in (
        "actions: false",
        "defaultStyle: false",
        "loader: noLoader()",
        "ast: true",
        "expr: expressionInterpreter",
        'renderer: "svg"',
    ):
        assert setting in entry, setting
    assert "load: refuse, sanitize: refuse, http: refuse, file: refuse" in entry


def test_front_messages_are_validated() -> None:
    assert validate_front_message({"type": "stop"}) == {"type": "stop"}
    validate_front_message({"type": "inject", "text": "Wait", "sample": None})
    validate_front_message(
        {"type": "annotate", "request_id": 1, "segment_id": None, "kind": "rating", "value": 4}
    )
    for bad in (
        {"type": "nope"},
        {"type": "stop", "extra": 1},
        {"type": "inject", "text": 3, "sample": None},
        {"type": "inject", "text": "Wait"},
        {"type": "end_thinking", "sample": "0"},
        {"type": "navigate", "index": True},
        "stop",
    ):
        with pytest.raises(ProtocolError):
            validate_front_message(bad)


# -- live analysis ----------------------------------------------------------------------------------
def stream(sample: LiveSample, text: str, step: int = 5, flush_every: int = 4) -> list[dict]:
    deltas = []
    for n, i in enumerate(range(0, len(text), step)):
        sample.stream.on_event(
            TokenEvent(sample=0, text=text[i : i + step], token_ids=(n,), logprobs=(-0.5,))
        )
        if n % flush_every == 0:
            d = sample.flush([])
            if d:
                deltas.append(d)
    d = sample.flush([])
    if d:
        deltas.append(d)
    return deltas


def test_live_sample_streams_deltas_and_converges_to_the_final_analysis() -> None:
    sample = LiveSample(0, SOURCE.id, "s", AnalysisOptions(), SampleStream(SOURCE.id))
    deltas = stream(sample, RAW)
    assert "".join(d["text"] for d in deltas) == RAW
    b = sample.bounds()
    assert b["think_start"] == len("<think>") and RAW[b["think_end"] :].startswith("</think>")
    # live keyword hits are final hits: the same as on the finished thinking
    live_hits = [(h["start"], h["end"], h["keyword"]) for h in sample.hits]
    t = Trajectory(id=SOURCE.id, raw=RAW)
    expected = [
        (h.start, h.end, h.keyword) for h in find_keywords(t.thinking, offset=t.thinking_span[0])
    ]
    assert live_hits == expected
    # segments closed live: ordered, never overlapping, all labelled; the final analysis agrees
    closed = [s for d in deltas for s in d["segments"]]
    assert closed and all(s["closed"] and s["label"] for s in closed)
    assert all(a["end"] <= b["start"] for a, b in itertools.pairwise(closed))
    final = [(s.char_span, s.labels) for s in analyze_trajectory(t)]
    assert [((s["start"], s["end"]), [s["label"]]) for s in closed] == final
    _bounds, segments, _hits = sample.final()
    assert [(s["start"], s["end"]) for s in segments] == [span for span, _ in final]


def test_flush_work_does_not_grow_with_the_trace() -> None:
    sample = LiveSample(0, "t", "s", AnalysisOptions(), SampleStream("t"))
    text = "<think>\n" + (BODY + "\n\n") * 12  # ~70k characters, never closed
    windows = []
    for i in range(0, len(text), 40):
        sample.stream.on_event(TokenEvent(sample=0, text=text[i : i + 40], token_ids=(i,)))
        sample.flush([])
        windows.append(len(sample._win))
    assert sample.length == len(text)
    assert max(windows[len(windows) // 2 :]) < 12_000  # the analysed window stays bounded


def test_token_buffers_are_sent_as_binary() -> None:
    sample = LiveSample(0, "t", "s", AnalysisOptions(), SampleStream("t"))
    sample.stream.on_event(
        TokenEvent(sample=0, text="<think>", token_ids=(1,), logprobs=(-0.1,), entropies=(0.2,))
    )
    sample.stream.on_event(
        TokenEvent(
            sample=0, text="ab", token_ids=(2, 3), logprobs=(-1.0, -2.0), entropies=(1.0, 2.0)
        )
    )
    buffers: list[bytes] = []
    d = sample.flush(buffers)
    assert d is not None and d["tokens"] == 3
    offsets = np.frombuffer(buffers[d["offsets"]], dtype=np.int32).reshape(-1, 2)
    assert offsets.tolist() == [[0, 7], [7, 9], [9, 9]]
    assert np.frombuffer(buffers[d["logprobs"]], dtype=np.float32).tolist() == [
        pytest.approx(-0.1),
        -1.0,
        -2.0,
    ]


# -- LiveTrace with a run -------------------------------------------------------------------------------
def sent_of(widget) -> list[dict]:
    return [m for m, _ in widget.sent]


def test_live_trace_batches_tokens_and_replays_state(store_path: Path) -> None:
    session = Session(ReplayBackend(SOURCE, tokens_per_s=400), store=store_path)
    run = session.generate("q", n=2, max_new_tokens=5000)
    trace = LiveTrace(run, flush_hz=20)
    trace.sent = []
    trace.handle_message({"type": "ready", "view": "v1", "protocol": PROTOCOL_HASH})
    assert trace.wait(20)
    run.wait(5)
    messages = sent_of(trace)
    for m in messages:
        validate_kernel_message(m)
    (at,) = [i for i, m in enumerate(messages) if m["type"] == "snapshot"]
    assert messages[at]["view"] == "v1"
    messages = messages[at:]  # (a flush may go out before it: the snapshot includes it)
    deltas = [m for m in messages if m["type"] == "delta"]
    pieces = len(re.findall(r"\s*\S+|\s+", RAW))
    assert len(deltas) < pieces / 3  # batched, not one message per token
    for i in range(2):
        text = messages[0]["samples"][i]["text"] + "".join(
            s["text"] for d in deltas for s in d["samples"] if s["sample"] == i
        )
        assert text == RAW
    finals = [m for m in messages if m["type"] == "final"]
    assert sorted(m["sample"] for m in finals) == [0, 1]
    assert all(m["status"] == "complete" for m in finals)
    assert deltas[-1]["counters"]["status"] == "complete"
    # a view rendered later gets everything in one snapshot
    trace.sent = []
    trace.handle_message({"type": "ready", "view": "v2", "protocol": PROTOCOL_HASH})
    snap = sent_of(trace)[0]
    assert snap["view"] == "v2" and [s["text"] for s in snap["samples"]] == [RAW, RAW]
    assert snap["samples"][0]["segments"] and all(
        s["closed"] for s in snap["samples"][0]["segments"]
    )
    # the run's segments were stored for the annotator, with the same ids
    store = session.store
    assert store is not None
    stored = store.get_segments(run.trajectory_ids[0])
    assert [s.id for s in stored] == [s["id"] for s in snap["samples"][0]["segments"]]
    session.close()


def test_stop_button_cancels_the_run() -> None:
    session = Session(ReplayBackend(SOURCE, tokens_per_s=50), store=False)
    run = session.generate("q", n=1, max_new_tokens=5000)
    trace = LiveTrace(run)
    time.sleep(0.3)
    trace.handle_message({"type": "stop"})
    run.wait(5)
    assert run.status == "cancelled"
    assert trace.wait(5)
    assert not trace.errors
    session.close()


def test_interventions_reach_the_run_control() -> None:
    session = Session(ReplayBackend(SOURCE, tokens_per_s=20), store=False)
    run = session.generate("q", n=2, max_new_tokens=5000)
    trace = LiveTrace(run)
    trace.handle_message({"type": "inject", "text": "Wait", "sample": 1})
    trace.handle_message({"type": "end_thinking", "sample": None})
    assert run.control.take(1) == "Wait\n</think>\n\n"
    assert run.control.take(0) == "\n</think>\n\n"
    trace.handle_message({"type": "inject", "text": "x", "sample": 7})
    assert trace.errors and "sample" in trace.errors[-1]
    run.cancel()
    run.wait(5)
    session.close()


def test_bad_messages_show_an_error_under_the_widget() -> None:
    trace = LiveTrace(SOURCE)
    trace.handle_message({"type": "annotate", "request_id": 1})
    assert "missing" in trace.error
    trace.handle_message({"type": "stop"})
    assert "not a live run" in trace.error


def test_finished_trajectory_uses_stored_segments_and_tokens(store: Store) -> None:
    offsets = np.array([[i, min(i + 5, len(RAW))] for i in range(0, len(RAW), 5)], dtype=np.int32)
    t = Trajectory(
        prompt="q",
        raw=RAW,
        model="m",
        tokens=__import__("workbench").TokenArrays(
            ids=np.arange(len(offsets)), offsets=offsets, logprobs=-np.ones(len(offsets))
        ),
    )
    store.add(t)
    segs = analyze_trajectory(t)
    store.add_segments(t.id, segs)
    trace = LiveTrace(t, store=store, shade="logprob")
    trace.sent = []
    trace.handle_message({"type": "ready", "view": "v", "protocol": PROTOCOL_HASH})
    ((msg, buffers),) = trace.sent
    state = msg["samples"][0]
    assert [s["id"] for s in state["segments"]] == [s.id for s in segs]
    assert state["tokens"] == len(offsets)
    assert (
        np.frombuffer(buffers[state["offsets"]], np.int32).reshape(-1, 2).tolist()
        == offsets.tolist()
    )
    assert state["bounds"]["think_end"] == t.thinking_span[1]


# -- Annotator ------------------------------------------------------------------------------------------
def test_annotator_persists_every_action_and_undoes(store: Store) -> None:
    a, b = (
        Trajectory(prompt="q", raw=RAW, model="m"),
        Trajectory(prompt="q", raw=RAW + " ", model="m2"),
    )
    store.add(a)
    store.add(b)
    ann = Annotator(store, [a.id, b.id], author="tester")
    ann.sent = []
    ann.handle_message({"type": "ready", "view": "v", "protocol": PROTOCOL_HASH})
    doc = sent_of(ann)[0]
    validate_kernel_message(doc)
    seg = doc["state"]["segments"][2]["id"]
    label = ann.labels[3]

    def act(msg: dict) -> dict:
        ann.sent = []
        ann.handle_message(msg)
        out = sent_of(ann)[-1]
        validate_kernel_message(out)
        return out

    out = act(
        {"type": "annotate", "request_id": 1, "segment_id": seg, "kind": "label", "value": label}
    )
    assert out["ok"] and out["state"]["segments"][2]["human_label"] == label
    latest = store.list_annotations(a.id, history=False)
    assert latest.filter(latest["segment_id"] == seg)["value"].to_list() == [json.dumps(label)]
    act({"type": "annotate", "request_id": 2, "segment_id": None, "kind": "rating", "value": 4})
    act(
        {
            "type": "annotate",
            "request_id": 3,
            "segment_id": None,
            "kind": "verdict",
            "value": "chosen",
        }
    )
    out = act(
        {
            "type": "annotate",
            "request_id": 4,
            "segment_id": seg,
            "kind": "note",
            "value": "<b>nice</b>",
        }
    )
    assert out["state"]["rating"] == 4 and out["state"]["verdict"] == "chosen"
    assert out["state"]["segments"][2]["note"] == "<b>nice</b>"
    assert [h["kind"] for h in out["state"]["history"]] == ["label", "rating", "verdict", "note"]
    out = act({"type": "undo", "request_id": 5})  # the note goes
    assert out["ok"] and out["state"]["segments"][2]["note"] is None
    out = act({"type": "undo", "request_id": 6})  # the verdict goes
    assert out["state"]["verdict"] is None and out["state"]["rating"] == 4
    assert len(store.list_annotations(a.id)) == 6  # append-only: undo is recorded too
    assert set(store.list_annotations(a.id)["author"].to_list()) == {"tester"}
    out = act(
        {
            "type": "annotate",
            "request_id": 7,
            "segment_id": None,
            "kind": "verdict",
            "value": "great",
        }
    )
    assert not out["ok"] and "not saved" in out["message"]
    ann.sent = []
    ann.handle_message({"type": "navigate", "index": 1})
    assert sent_of(ann)[0]["type"] == "doc" and sent_of(ann)[0]["info"]["id"] == b.id
    assert store.get_segments(b.id)  # analysed and stored on first view


# -- PairBuilder, heatmap, stats ------------------------------------------------------------------------
def test_pair_builder_stores_manual_pairs(store: Store) -> None:
    a = Trajectory(prompt="same", raw=RAW, model="m")
    b = Trajectory(prompt="same", raw="<think>\nShort. So 42.\n</think>\n\n42", model="m")
    store.add(a)
    store.add(b)
    pb = PairBuilder(store, prompt_key=__import__("workbench").prompt_key(a.prompt))
    pb.sent = []
    pb.handle_message({"type": "ready", "view": "v", "protocol": PROTOCOL_HASH})
    msg = sent_of(pb)[0]
    validate_kernel_message(msg)
    assert {msg["left"]["info"]["id"], msg["right"]["info"]["id"]} == {a.id, b.id}
    pb.handle_message({"type": "choose", "request_id": 1, "chosen": "right"})
    ack = sent_of(pb)[-1]
    assert ack["ok"], ack
    pairs = store.list_pairs()
    assert pairs.height == 1 and pairs["strategy"][0] == "manual"
    assert pairs["chosen_id"][0] == msg["right"]["info"]["id"]
    with pytest.raises(Exception, match="one prompt"):
        PairBuilder(store, [a, Trajectory(prompt="other", raw="x")])


def test_align_segments_keeps_every_segment_once() -> None:
    ta = Trajectory(raw=RAW)
    tb = Trajectory(
        raw="<think>\nHmm. Let me think about it.\n\nSo the answer is 42.\n</think>\n\n42"
    )
    sa, sb = analyze_trajectory(ta), analyze_trajectory(tb)
    rows = align_segments(sa, sb)
    assert [r["left"] for r in rows if r["left"] is not None] == list(range(len(sa)))
    assert [r["right"] for r in rows if r["right"] is not None] == list(range(len(sb)))


def random_attention(
    t: Trajectory, g: int, layers: int = 4, constraints: int = 3
) -> ConstraintAttention:
    rng = np.random.default_rng(0)
    edges = np.linspace(0, len(t.raw), g + 1).astype(np.int32)
    offsets = np.stack([edges[:-1], edges[1:]], axis=1)
    return ConstraintAttention(
        trajectory_id=t.id,
        model="tiny",
        mass=rng.random((g, layers, constraints), dtype=np.float32) / constraints,
        offsets=offsets,
        parts=token_parts(t, offsets),
        constraints=[f"constraint {k}" for k in range(constraints)],
        token_text=[t.raw[a:b] for a, b in offsets],
    )


def test_heatmap_message_bins_long_traces_and_marks_the_boundary() -> None:
    att = random_attention(SOURCE, 3000)
    hm = ConstraintHeatmap(att, trajectory=SOURCE, max_columns=1000)
    msg, buffers = hm.message("v")
    validate_kernel_message(msg)
    assert msg["tokens_per_column"] == 3 and msg["columns"] == 1000
    mass = np.frombuffer(buffers[msg["mass"]], np.float32).reshape(1000, 4, 3)
    assert np.allclose(mass[0], att.mass[:3].mean(axis=0))
    assert msg["boundary"] is not None and att.parts[msg["boundary"]] == "answer"
    seg = np.frombuffer(buffers[msg["segment_mass"]], np.float32).reshape(len(msg["segments"]), 3)
    assert np.isfinite(seg).any()

    class Trace:
        def __init__(self) -> None:
            self.scrolled: list[tuple[int, int]] = []

        def scroll_to(self, char: int, *, sample: int = 0, end: int | None = None) -> None:
            self.scrolled.append((sample, char, end))

    trace = Trace()
    hm = ConstraintHeatmap(att, trajectory=SOURCE, trace=trace)
    hm.handle_message({"type": "select_token", "token": 10, "char": 123})
    assert trace.scrolled == [(0, 123, None)] and hm.selected == (10, 123)
    # a brushed token range highlights its characters in the trace
    msg, _ = hm.message("v")
    assert len(msg["column_end"]) == msg["columns"]
    per = msg["tokens_per_column"]
    assert msg["column_end"][4] == int(att.offsets[5 * per - 1, 1])
    assert msg["column_start"][2] == int(att.offsets[2 * per, 0])
    ranges: list[tuple[int, int]] = []
    hm.on_select_range(lambda a, b: ranges.append((a, b)))
    hm.handle_message({"type": "select_range", "first": 2, "last": 4, "start": 10, "end": 40})
    assert trace.scrolled[-1] == (0, 10, 40) and ranges == [(2, 4)] and not hm.errors
    assert hm.labels[:2] == ["problem_understanding", "planning"]


def test_live_trace_scroll_to_can_highlight_a_range() -> None:
    trace = LiveTrace(SOURCE)
    trace.sent = []
    trace.scroll_to(5, end=50)
    trace.scroll_to(7)
    msgs = sent_of(trace)
    for m in msgs:
        validate_kernel_message(m)
    assert [(m["char"], m["end"]) for m in msgs] == [(5, 50), (7, None)]


def test_stats_panel_selection_filters_the_trace_list(store: Store) -> None:
    t1 = Trajectory(
        prompt="a", raw="<think>\nWait, that is wrong. Let me verify.\n</think>\n\n1", model="m"
    )
    t2 = Trajectory(prompt="b", raw="<think>\nSo the result is 2.\n</think>\n\n2", model="m")
    store.add(t1)
    store.add(t2)
    panel = StatsPanel(store)
    panel.sent = []
    panel.handle_message({"type": "ready", "view": "v", "protocol": PROTOCOL_HASH})
    msg = sent_of(panel)[0]
    validate_kernel_message(msg)
    assert {k["keyword"] for k in msg["keywords"]} >= {"wait", "wrong", "verify"}
    panel.handle_message({"type": "select", "kind": "keyword", "value": "wait", "ids": [t1.id]})
    assert panel.selected_ids == [t1.id] and not panel.errors
    assert browse(store).ids == [t1.id, t2.id]
    # the charts are vega-lite specs; the selection marks its bar and filters the other chart
    kw = msg["keyword_chart"]
    assert kw["mark"]["type"] == "bar" and kw["encoding"]["x"]["title"] == "hits (all traces)"
    assert kw["params"][0]["name"] == "pick" and kw["encoding"]["y"]["title"] == "keyword"
    after = sent_of(panel)[-1]
    validate_kernel_message(after)
    marked = {v["keyword"]: v["selected"] for v in after["keyword_chart"]["data"]["values"]}
    assert marked["wait"] is True and marked["wrong"] is False
    patterns = after["pattern_chart"]
    assert "1 of 2 traces" in patterns["title"]["subtitle"]
    total = sum(v["segments"] for v in patterns["data"]["values"])
    assert total == len([s for s in analyze_trajectory(t1) if s.labels])
    chart = panel.chart()
    spec = chart.to_dict()
    assert len(spec["hconcat"]) == 2
    assert spec["hconcat"][1]["encoding"]["color"]["scale"]["domain"]


def test_stats_charts_keep_data_out_of_expressions() -> None:
    """A keyword is data: it is a value in the chart's rows, never text in a vega expression."""
    import polars as pl

    from workbench.charts.stats import keyword_bars

    evil = "wait') || alert(1) || ('"
    frame = pl.DataFrame({"keyword": [evil, "hmm"], "hits": [2, 1], "traces": [1, 1]})
    spec = keyword_bars(frame, selected=evil).to_dict()
    text = json.dumps({k: v for k, v in spec.items() if k != "data"})
    assert "alert" not in text
    assert [v["selected"] for v in spec["data"]["values"]] == [True, False]


def test_pattern_colours_match_the_front_end() -> None:
    from workbench.charts._palette import PATTERN_COLOURS, colour_index, pattern_scale

    css = (JS / "src" / "styles.css").read_text()
    for i, hexa in enumerate(PATTERN_COLOURS):
        rgb = ",".join(str(int(hexa[k : k + 2], 16)) for k in (1, 3, 5))
        assert f"rect.wb-c{i} {{ fill: rgb({rgb}); }}" in css
    # colourIndex in js/src/dom.ts gives these (node -e over the same strings)
    js = {"abc": 6, "<script>__xss(1)</script>": 3, "ünïcode😀": 11, "backtracking": 2}
    assert {k: colour_index(k, []) for k in js} == js
    dom = (JS / "src" / "dom.ts").read_text()
    assert all(f'"{hexa}"' in dom for hexa in PATTERN_COLOURS)  # PALETTE, for canvas strips
    domain, colours = pattern_scale(["zzz", "planning"], ["a", "planning"])
    assert domain == ["planning", "zzz"] and colours[0] == PATTERN_COLOURS[1]


# -- static fallback and reprs --------------------------------------------------------------------------
PAYLOADS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    '"><svg onload=alert(1)>',
    "javascript:alert(1)",
    '<a href="javascript:alert(1)">x</a>',
    "<style>body{background:url(//evil)}</style>",
    "'; background: url(x); '",
]


def test_static_html_escapes_everything() -> None:
    bad = " ".join(PAYLOADS)
    t = Trajectory(
        prompt=bad,
        raw=f"<think>\n{bad}\n\nWait, {bad}\n</think>\n\n{bad}",
        model=bad,
        metadata={"x": bad},
    )
    out = trajectory_html(t, segments=analyze_trajectory(t), labels=["backtracking"])
    from html.parser import HTMLParser

    from workbench.display import PALETTE

    seen: list[tuple[str, list]] = []

    class Collect(HTMLParser):
        def handle_starttag(self, tag, attrs):
            seen.append((tag, attrs))

    Collect().feed(out)
    assert {tag for tag, _ in seen} <= {
        "div",
        "b",
        "code",
        "details",
        "summary",
        "pre",
        "span",
        "i",
    }
    for _tag, attrs in seen:
        for name, value in attrs:
            assert name in {"class", "style", "title"}, name
            if name == "style" and value.startswith("background:"):
                assert value.removeprefix("background:").split(";")[0] in {*PALETTE, "transparent"}
    assert "&lt;script&gt;" in out


def test_trajectory_displays_itself_without_a_kernel() -> None:
    bundle = trajectory_mimebundle(SOURCE)
    assert set(bundle) == {"text/plain", "text/html", TRAJECTORY_MIME}
    assert bundle[TRAJECTORY_MIME]["trajectory"]["raw"] == RAW
    json.dumps(bundle[TRAJECTORY_MIME])
    assert SOURCE._repr_mimebundle_()["text/html"] == bundle["text/html"]
    with_widget = trajectory_mimebundle(SOURCE, widget=True)
    assert "application/vnd.jupyter.widget-view+json" in with_widget
