"""Layout checks run in the page: which controls overlap text, which chart texts are shown, and
whether a widget's text stands out from the page behind it (light and dark themes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

OVERLAPS_JS = """
(root) => {
  // the visible part of a box: cut by every scrolling or clipping element from `from` up
  const clip = (from, r) => {
    for (let a = from; a && a !== document.documentElement; a = a.parentElement) {
      const cs = getComputedStyle(a);
      if (cs.overflowX !== "visible" || cs.overflowY !== "visible") {
        const b = a.getBoundingClientRect();
        r = { l: Math.max(r.l, b.left), t: Math.max(r.t, b.top), r: Math.min(r.r, b.right), b: Math.min(r.b, b.bottom) };
      }
    }
    return r;
  };
  const shown = (r) => r.r - r.l > 1 && r.b - r.t > 1;
  const boxOf = (el) => { const b = el.getBoundingClientRect(); return clip(el.parentElement, { l: b.left, t: b.top, r: b.right, b: b.bottom }); };
  // checkVisibility: false inside display:none, visibility:hidden or a closed <details>
  const visible = (el) => el.checkVisibility({ visibilityProperty: true, contentVisibilityAuto: true });
  const controls = [...root.querySelectorAll("button, select, input, textarea")].filter(visible)
    .map((el) => ({ el, r: boxOf(el), name: (el.textContent || el.getAttribute("aria-label") || el.tagName).trim().slice(0, 30) }))
    .filter((c) => shown(c.r));
  const texts = [];
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (!n.textContent.trim()) continue;
    const el = n.parentElement;
    if (!el || el.closest("button, select, option, input, textarea, title")) continue;  // a control's own label
    if (!visible(el)) continue;
    const range = document.createRange();
    range.selectNodeContents(n);
    for (const q of range.getClientRects()) {
      const r = clip(el, { l: q.left, t: q.top, r: q.right, b: q.bottom });
      if (shown(r)) texts.push({ r, node: n, text: n.textContent.trim().slice(0, 40) });
    }
  }
  const hit = (a, b) => Math.min(a.r, b.r) - Math.max(a.l, b.l) > 1 && Math.min(a.b, b.b) - Math.max(a.t, b.t) > 1;
  const out = [];
  // text over text: two texts drawn on top of each other (a column too narrow, crowded ticks)
  const sorted = texts.slice().sort((a, b) => a.r.l - b.r.l);
  for (let i = 0; i < sorted.length; i++) {
    for (let j = i + 1; j < sorted.length && sorted[j].r.l < sorted[i].r.r - 2; j++) {
      if (sorted[i].node === sorted[j].node) continue;
      const a = sorted[i].r;
      const b = sorted[j].r;
      if (Math.min(a.r, b.r) - Math.max(a.l, b.l) > 2 && Math.min(a.b, b.b) - Math.max(a.t, b.t) > 2)
        out.push(`text "${sorted[i].text}" overlaps text "${sorted[j].text}"`);
    }
  }
  for (const c of controls) {
    for (const t of texts) if (hit(c.r, t.r)) out.push(`control "${c.name}" covers text "${t.text}"`);
    for (const d of controls) if (c !== d && c.el.compareDocumentPosition(d.el) & 4 && hit(c.r, d.r)) out.push(`controls "${c.name}" and "${d.name}" overlap`);
  }
  return { overlaps: out, controls: controls.length, texts: texts.length };
}
"""

SVG_TEXT_JS = "(root) => [...root.querySelectorAll('svg text')].map((t) => t.textContent)"

CONTRAST_JS = """
(root) => {
  const rgb = (s) => (s.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  let bg = null;
  for (let a = root; a; a = a.parentElement) {
    const c = rgb(getComputedStyle(a).backgroundColor);
    if (c.length >= 3 && (c.length < 4 || c[3] > 0.5)) { bg = c; break; }
  }
  bg = bg || [255, 255, 255];
  const fg = rgb(getComputedStyle(root).color);
  const [x, y] = [lum(fg), lum(bg)].sort((p, q) => q - p);
  return { ratio: (x + 0.05) / (y + 0.05), fg: getComputedStyle(root).color, bg: bg.join(",") };
}
"""


def overlaps(widget: Any) -> dict[str, Any]:
    """Return ``{"overlaps": [...], "controls": n, "texts": n}`` for a widget (a Locator)."""
    return widget.evaluate(OVERLAPS_JS)


def svg_texts(widget: Any) -> list[str]:
    """Return the texts of every SVG ``<text>`` in the widget (axis labels, titles, ticks)."""
    return widget.evaluate(SVG_TEXT_JS)


def contrast(widget: Any) -> float:
    """Return the contrast ratio (WCAG) of the widget's text colour against the page behind it."""
    return float(widget.evaluate(CONTRAST_JS)["ratio"])


def jupyterlab_theme_css(name: str) -> str:
    """Return the CSS of one of JupyterLab's own themes (``"light"`` or ``"dark"``)."""
    import jupyterlab

    root = Path(jupyterlab.__file__).parent / "themes" / "@jupyterlab"
    return (root / f"theme-{name}-extension" / "index.css").read_text(encoding="utf-8")
