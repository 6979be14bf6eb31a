"""Drive widgets' real front end in headless Chromium without Jupyter (tests and benchmarks).

:class:`BrowserHarness` serves a page holding the built bundle and a stand-in for anywidget's
model; the widget's Python side runs in this process and answers the page's messages, exactly
the messages a kernel would receive. Every request the page makes outside the harness's own
origin is refused and recorded in :attr:`BrowserHarness.foreign_requests` (the XSS tests assert it
stays empty). Needs ``playwright`` and a Chromium (Debian's ``chromium``; see :func:`find_chromium`).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
from pathlib import Path
from types import TracebackType
from typing import Any

from workbench.widgets._base import STATIC, WorkbenchWidget

__all__ = ["CHROMIUM_ARGS", "BrowserHarness", "find_chromium"]

CHROMIUM_ARGS: tuple[str, ...] = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
"""Flags for headless Chromium on the development and CI machines."""

ORIGIN = "http://wb.test"

_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>workbench widgets</title>
<link rel="stylesheet" href="/widgets.css"></head>
<body style="margin:8px;width:1200px">
<div id="mounts"></div>
<script type="module">
import widget from "/widgets.js";
const models = {};
const outbox = [];
class Model {
  constructor(id, state) { this.id = id; this.state = state; this.listeners = {}; this.changed = {}; }
  get(k) { return this.state[k]; }
  set(k, v) { this.state[k] = v; this.changed[k] = v; this.emit("change:" + k); }
  save_changes() { outbox.push({ model: this.id, kind: "state", state: this.changed }); this.changed = {}; }
  on(ev, cb) { (this.listeners[ev] ??= []).push(cb); }
  off(ev, cb) { const l = this.listeners[ev] || []; const i = l.indexOf(cb); if (i >= 0) l.splice(i, 1); }
  send(msg) { outbox.push({ model: this.id, kind: "msg", msg: JSON.parse(JSON.stringify(msg)) }); }
  emit(ev, ...args) { for (const cb of [...(this.listeners[ev] || [])]) cb(...args); }
}
function b64ToView(s) {
  const bin = atob(s); const u = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) u[i] = bin.charCodeAt(i);
  return new DataView(u.buffer);
}
window.__wb = {
  mount(id, state) {
    const m = new Model(id, state); models[id] = m;
    const el = document.createElement("div"); el.id = "mount-" + id; el.className = "wb-mount";
    document.getElementById("mounts").appendChild(el);
    const t0 = performance.now();
    m.cleanup = widget.render({ model: m, el });
    void document.body.offsetHeight;
    return performance.now() - t0;
  },
  take() { return outbox.splice(0); },
  deliver(id, msg, buffers) {
    const views = buffers.map(b64ToView);
    const t0 = performance.now();
    models[id].emit("msg:custom", msg, views);
    void document.body.offsetHeight;  // layout included in the timing
    return performance.now() - t0;
  },
  set(id, state) { const m = models[id]; for (const [k, v] of Object.entries(state)) { m.state[k] = v; m.emit("change:" + k); } },
};
window.__wbReady = true;
</script></body></html>
"""


def find_chromium() -> str | None:
    """Return the path of a Chromium to drive (``$WORKBENCH_CHROMIUM``, then Debian's), or ``None``."""
    for candidate in (
        os.environ.get("WORKBENCH_CHROMIUM"),
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
        shutil.which("google-chrome"),
    ):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def _state(widget: WorkbenchWidget) -> dict[str, Any]:
    state = widget.get_state()
    return {k: v for k, v in state.items() if not k.startswith(("_esm", "_css", "_anywidget"))}


class BrowserHarness:
    """A headless Chromium page rendering workbench widgets, bridged to their Python side.

    Use as a context manager::

        with BrowserHarness() as hb:
            hb.mount(LiveTrace(trajectory))
            hb.page.screenshot(path="trace.png")
    """

    def __init__(
        self, *, chromium: str | None = None, width: int = 1280, height: int = 900
    ) -> None:
        self.chromium = chromium or find_chromium()
        if self.chromium is None:
            raise RuntimeError("no Chromium found: apt-get install -y chromium")
        self.size = {"width": width, "height": height}
        self.widgets: dict[str, WorkbenchWidget] = {}
        self._pushed: dict[str, dict[str, Any]] = {}
        self.foreign_requests: list[str] = []
        self.console: list[str] = []
        self.page_errors: list[str] = []
        self.dialogs: list[str] = []
        self.last_deliver_ms: list[float] = []
        self.last_mount_ms = 0.0

    def __enter__(self) -> BrowserHarness:
        from playwright.sync_api import sync_playwright

        self._pw = sync_playwright().start()
        self.browser = self._pw.chromium.launch(
            executable_path=self.chromium, headless=True, args=list(CHROMIUM_ARGS)
        )
        self.page = self.browser.new_page(
            viewport={"width": self.size["width"], "height": self.size["height"]}
        )
        self.page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        self.page.on("pageerror", lambda e: self.page_errors.append(str(e)))

        def on_dialog(d: Any) -> None:
            self.dialogs.append(d.message)
            d.dismiss()

        self.page.on("dialog", on_dialog)
        self.page.route("**/*", self._route)
        self.page.goto(f"{ORIGIN}/index.html")
        self.page.wait_for_function("window.__wbReady === true")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.browser.close()
        self._pw.stop()

    def _route(self, route: Any) -> None:
        url: str = route.request.url
        files = {
            f"{ORIGIN}/index.html": (_PAGE.encode(), "text/html"),
            f"{ORIGIN}/widgets.js": ((STATIC / "widgets.js").read_bytes(), "text/javascript"),
            f"{ORIGIN}/widgets.css": ((STATIC / "widgets.css").read_bytes(), "text/css"),
        }
        if url in files:
            body, kind = files[url]
            route.fulfill(status=200, body=body, content_type=kind)
        else:
            self.foreign_requests.append(url)
            route.abort()

    # -- widgets ---------------------------------------------------------------------------------
    def mount(self, widget: WorkbenchWidget) -> str:
        """Render ``widget``'s view in the page; return the CSS selector of its element."""
        widget.sent = []
        wid = f"w{len(self.widgets)}"
        self.widgets[wid] = widget
        state = _state(widget)
        self._pushed[wid] = state
        self.last_mount_ms = float(
            self.page.evaluate("([id, state]) => window.__wb.mount(id, state)", [wid, state])
        )
        self.pump()
        return f"#mount-{wid}"

    def pump(self, rounds: int = 20) -> int:
        """Exchange messages until both sides are quiet; return how many crossed."""
        moved = 0
        for _ in range(rounds):
            n = 0
            for item in self.page.evaluate("() => window.__wb.take()"):
                widget = self.widgets[item["model"]]
                if item["kind"] == "msg":
                    widget.handle_message(item["msg"])
                else:
                    for k, v in item["state"].items():
                        setattr(widget, k, v)
                    self._pushed[item["model"]].update(item["state"])
                n += 1
            for wid, widget in self.widgets.items():
                n += self._push(wid, widget)
            moved += n
            if n == 0:
                break
        return moved

    def _push(self, wid: str, widget: WorkbenchWidget) -> int:
        n = 0
        state = _state(widget)
        changed = {k: v for k, v in state.items() if self._pushed[wid].get(k) != v}
        if changed:
            self._pushed[wid].update(changed)
            self.page.evaluate("([id, s]) => window.__wb.set(id, s)", [wid, changed])
            n += 1
        with widget._send_lock:
            sent, widget.sent = widget.sent or [], []
        for msg, buffers in sent:
            ms = self.page.evaluate(
                "([id, m, b]) => window.__wb.deliver(id, m, b)",
                [wid, json.loads(json.dumps(msg)), [base64.b64encode(b).decode() for b in buffers]],
            )
            self.last_deliver_ms.append(float(ms))
            n += 1
        return n
