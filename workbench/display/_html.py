"""Static HTML renderings: what a notebook shows where widgets are unavailable.

Every string from data (model output, prompts, file contents, annotations, names) goes through
:func:`html.escape`; colours come from a fixed palette picked by an integer index, never from data.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from workbench.segment import Segment
from workbench.trajectory import Trajectory

__all__ = ["PALETTE", "attention_html", "frame_html", "run_html", "trajectory_html"]

PALETTE: tuple[str, ...] = (
    "rgba(31,119,180,0.18)",
    "rgba(255,127,14,0.20)",
    "rgba(44,160,44,0.18)",
    "rgba(214,39,40,0.16)",
    "rgba(148,103,189,0.18)",
    "rgba(140,86,75,0.18)",
    "rgba(227,119,194,0.18)",
    "rgba(127,127,127,0.18)",
    "rgba(188,189,34,0.22)",
    "rgba(23,190,207,0.18)",
    "rgba(57,59,121,0.18)",
    "rgba(99,121,57,0.20)",
)

_BOX = (
    "font-family:var(--jp-ui-font-family,sans-serif);font-size:13px;border:1px solid "
    "var(--jp-border-color2,#ddd);border-radius:6px;padding:6px;max-width:100%"
)
_PRE = (
    "white-space:pre-wrap;overflow-wrap:anywhere;max-height:420px;overflow:auto;margin:2px 0;"
    "font-family:var(--jp-code-font-family,monospace);font-size:12px"
)


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _colour(label: str | None, labels: Sequence[str]) -> str:
    if label is None:
        return "transparent"
    index = list(labels).index(label) if label in labels else sum(map(ord, label))
    return PALETTE[index % len(PALETTE)]


def _thinking_html(
    t: Trajectory, segments: Sequence[Segment], labels: Sequence[str], max_chars: int
) -> str:
    start, end = t.thinking_span
    stop = min(end, start + max_chars)
    parts: list[str] = []
    pos = start
    for s in sorted(segments, key=lambda s: s.char_span[0]):
        a, b = max(s.char_span[0], pos), min(s.char_span[1], stop)
        if a >= stop:
            break
        if b <= a:
            continue
        if a > pos:
            parts.append(_e(t.raw[pos:a]))
        label = s.labels[0] if s.labels else None
        parts.append(
            f'<span style="background:{_colour(label, labels)}" title="{_e(label or "")}">'
            f"{_e(t.raw[a:b])}</span>"
        )
        pos = b
    if pos < stop:
        parts.append(_e(t.raw[pos:stop]))
    if end > stop:
        parts.append(f"<i>… {end - stop} more characters</i>")
    return "".join(parts)


def trajectory_html(
    t: Trajectory,
    *,
    segments: Sequence[Segment] = (),
    labels: Sequence[str] = (),
    max_chars: int = 20000,
) -> str:
    """Return a self-contained, escaped HTML view of a trajectory (header, prompt, thinking, answer)."""
    grade = "ungraded"
    if t.grade is not None:
        grade = (
            ("correct" if t.grade.correct else "incorrect")
            if t.grade.correct is not None
            else f"grade {t.grade.score}"
        )
    answer = t.answer
    clipped = answer[:max_chars] + ("…" if len(answer) > max_chars else "")
    legend = "".join(
        f'<span style="background:{_colour(lab, labels)};padding:0 4px;margin-right:4px">'
        f"{_e(lab)}</span>"
        for lab in dict.fromkeys(s.labels[0] for s in segments if s.labels)
    )
    return (
        f'<div class="wb-static" style="{_BOX}">'
        f"<div><b>{_e(t.model or 'trajectory')}</b> · <code>{_e(t.id)}</code> · {_e(t.status)}"
        f" · {_e(t.think_format)} · {_e(grade)}</div>"
        f'<details><summary>prompt</summary><pre style="{_PRE}">{_e(t.prompt_text)}</pre></details>'
        f'<div style="color:#666;font-size:11px">THINKING ({len(t.thinking)} chars)</div>'
        f'<pre style="{_PRE}">{_thinking_html(t, segments, labels, max_chars)}</pre>'
        f'<div style="color:#666;font-size:11px">ANSWER ({len(answer)} chars)</div>'
        f'<pre style="{_PRE}">{_e(clipped)}</pre>'
        f'<div style="font-size:11px">{legend}</div>'
        "</div>"
    )


def run_html(progress: dict[str, Any], trajectories: Sequence[Trajectory]) -> str:
    """Return an escaped HTML summary of a run and its samples."""
    head = " · ".join(f"{_e(k)}: {_e(v)}" for k, v in progress.items())
    body = "".join(trajectory_html(t, max_chars=4000) for t in trajectories[:8])
    return f'<div class="wb-static" style="{_BOX}"><div>{head}</div>{body}</div>'


def frame_html(rows: Sequence[dict[str, Any]], columns: Sequence[str], *, total: int) -> str:
    """Return an escaped HTML table of query-result rows."""
    head = "".join(f"<th>{_e(c)}</th>" for c in columns)
    body = "".join(
        "<tr>"
        + "".join(f"<td>{_e('' if r.get(c) is None else r.get(c))}</td>" for c in columns)
        + "</tr>"
        for r in rows
    )
    more = f"<div>… {total - len(rows)} more</div>" if total > len(rows) else ""
    return (
        f'<div class="wb-static" style="{_BOX}"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table>{more}</div>"
    )


def attention_html(att: Any, *, max_layers: int = 64) -> str:
    """Return an escaped HTML table of a constraint attention's ``β[l]`` per part.

    ``att`` is a :class:`~workbench.constraints.ConstraintAttention`; the table has one row per
    layer and a column per part (thinking, answer, all), the mean constraint mass over that
    part's tokens.
    """
    frame = att.layers()
    parts = [p for p in ("thinking", "answer", "all") if p in set(frame["part"].to_list())]
    rows = []
    for layer in range(min(att.n_layers, max_layers)):
        row: dict[str, Any] = {"layer": layer}
        for part in parts:
            sel = frame.filter((frame["part"] == part) & (frame["layer"] == layer))
            row[part] = f"{sel['beta'][0]:.4f}" if sel.height else ""
        rows.append(row)
    head = (
        f"<div><b>constraint attention</b> · <code>{_e(att.trajectory_id)}</code> · "
        f"{_e(att.model)} · {len(att.parts)} tokens · {att.n_layers} layers · constraints: "
        f"{_e('; '.join(att.constraints))}</div>"
        '<div style="font-size:11px">β[l]: mean over the part\'s tokens of the attention mass on '
        "all constraint tokens (heads averaged)</div>"
    )
    table = frame_html(rows, ["layer", *parts], total=att.n_layers)
    return f'<div class="wb-static" style="{_BOX}">{head}{table}</div>'
