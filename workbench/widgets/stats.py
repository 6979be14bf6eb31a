"""StatsPanel: keyword and pattern statistics whose selection filters a trace list.

::

    panel = StatsPanel(store, model="QwQ-32B", lexicon="nowait")
    panel                     # click a bar: the trace list keeps the traces with that keyword
    panel.selected_ids        # ... and the kernel knows which
    panel.chart()             # the same charts as altair charts (for a paper: .save("fig.svg"))

The charts are vega-lite (altair specs built here from polars frames, drawn by vega-embed bundled
into the front end, no CDN). Selecting a keyword filters the pattern chart to the traces with
that keyword, and selecting a pattern filters the keyword chart.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import polars as pl
import traitlets

from workbench.analysis._keyword_stats import keyword_stats
from workbench.analysis.keywords import Lexicon, get_lexicon
from workbench.analysis.patterns import Taxonomy, get_taxonomy
from workbench.analysis.pipeline import analyze_trajectory
from workbench.charts.stats import keyword_bars, pattern_bars
from workbench.segment import Segment
from workbench.store.store import Store
from workbench.trajectory import Trajectory
from workbench.widgets._base import STATIC, WorkbenchWidget
from workbench.widgets._protocol import KeywordRow, PatternRow, StatsMsg, TraceRow
from workbench.widgets._records import trajectory_title

__all__ = ["StatsPanel"]


class StatsPanel(WorkbenchWidget):
    """Keyword and pattern bar charts over a set of traces, and the trace list they filter.

    Parameters
    ----------
    source
        A :class:`~workbench.Store` (with ``filters``) or trajectories.
    lexicon, taxonomy
        Keyword lexicon and pattern taxonomy.
    limit
        At most this many traces are read from a store.
    **filters
        ``store.list`` filters when ``source`` is a store.
    """

    _view = traitlets.Unicode("stats").tag(sync=True)
    selection = traitlets.Dict().tag(sync=True)
    labels = traitlets.List(traitlets.Unicode()).tag(sync=True)

    def __init__(
        self,
        source: Store | Iterable[Trajectory],
        *,
        lexicon: str | Lexicon | Sequence[str] = "r1",
        taxonomy: str | Taxonomy = "dto",
        limit: int = 5000,
        height: int = 320,
        **filters: Any,
    ) -> None:
        super().__init__(
            selection={"kind": "none", "value": None},
            height=height,
            _vega=(STATIC / "vega.js").read_text(encoding="utf-8"),
        )
        self.lexicon = get_lexicon(lexicon)
        self.taxonomy = get_taxonomy(taxonomy)
        self.labels = list(self.taxonomy.names)
        self.store = source if isinstance(source, Store) else None
        if isinstance(source, Store):
            ids = source.list_trajectories(columns=["id"], limit=limit, **filters)["id"].to_list()
            self.trajectories = [source.get(i) for i in ids]
        else:
            self.trajectories = list(source)
        self.selected_ids: list[str] = [t.id for t in self.trajectories]
        """Ids of the traces the selection keeps (all of them when nothing is selected)."""
        self._callbacks: list[Callable[[list[str]], None]] = []
        self._data = self._compute()

    def _segments(self, t: Trajectory) -> list[Segment]:
        if self.store is not None:
            stored = self.store.get_segments(t.id)
            if stored:
                return stored
        return analyze_trajectory(t, taxonomy=self.taxonomy, lexicon=self.lexicon)

    def _compute(self) -> StatsMsg:
        stats = keyword_stats(self.trajectories, lexicon=self.lexicon)
        kw_hits: Counter[str] = Counter()
        kw_traces: Counter[str] = Counter()
        pat_segments: Counter[str] = Counter()
        pat_traces: Counter[str] = Counter()
        rows: list[TraceRow] = []
        self._counts: list[tuple[Counter[str], Counter[str]]] = []
        for t, st in zip(self.trajectories, stats.iter_rows(named=True), strict=True):
            found = list(st["keywords"] or [])
            kw_hits.update(found)
            kw_traces.update(set(found))
            labels = [s.labels[0] for s in self._segments(t) if s.labels]
            pat_segments.update(labels)
            pat_traces.update(set(labels))
            self._counts.append((Counter(found), Counter(labels)))
            rows.append(
                {
                    "id": t.id,
                    "title": trajectory_title(t),
                    "model": t.model or "",
                    "hits": int(st["hits"]),
                    "per_1k_words": st["per_1k_words"],
                    "correct": st["correct"],
                    "keywords": sorted(set(found)),
                    "patterns": [k for k, _ in Counter(labels).most_common()],
                }
            )
        keywords: list[KeywordRow] = [
            {"keyword": k, "hits": n, "traces": kw_traces[k]} for k, n in kw_hits.most_common()
        ]
        order = {name: i for i, name in enumerate(self.taxonomy.names)}
        patterns: list[PatternRow] = [
            {"label": k, "segments": n, "traces": pat_traces[k]}
            for k, n in sorted(pat_segments.items(), key=lambda kv: order.get(kv[0], 99))
        ]
        return {
            "type": "stats",
            "view": "",
            "lexicon": self.lexicon.name,
            "taxonomy": self.taxonomy.name,
            "keywords": keywords,
            "patterns": patterns,
            "traces": rows,
            "keyword_chart": {},
            "pattern_chart": {},
        }

    def _frames(self, keep: set[str] | None) -> tuple[pl.DataFrame, pl.DataFrame]:
        """Keyword and pattern count frames over the traces in ``keep`` (``None``: all)."""
        kw_hits: Counter[str] = Counter()
        kw_traces: Counter[str] = Counter()
        pat_segments: Counter[str] = Counter()
        pat_traces: Counter[str] = Counter()
        for row, (kws, pats) in zip(self._data["traces"], self._counts, strict=True):
            if keep is not None and row["id"] not in keep:
                continue
            kw_hits.update(kws)
            kw_traces.update(kws.keys())
            pat_segments.update(pats)
            pat_traces.update(pats.keys())
        kw = pl.DataFrame(
            {
                "keyword": list(kw_hits),
                "hits": list(kw_hits.values()),
                "traces": [kw_traces[k] for k in kw_hits],
            },
            schema={"keyword": pl.String, "hits": pl.Int64, "traces": pl.Int64},
        )
        pat = pl.DataFrame(
            {
                "label": list(pat_segments),
                "segments": list(pat_segments.values()),
                "traces": [pat_traces[k] for k in pat_segments],
            },
            schema={"label": pl.String, "segments": pl.Int64, "traces": pl.Int64},
        )
        return kw, pat

    def _counted(self, keep: set[str] | None, what: str) -> str:
        if keep is None:
            return f"{len(self.trajectories)} traces · click a bar to filter"
        return f"{len(keep)} of {len(self.trajectories)} traces: those with {what}"

    def keyword_chart(self) -> Any:
        """Return the keyword chart (altair), over the traces the pattern selection keeps."""
        kind, value = self.selection.get("kind"), self.selection.get("value")
        keep = set(self.filter_ids(kind, value)) if kind == "pattern" else None
        frame, _ = self._frames(keep)
        return keyword_bars(
            frame,
            lexicon=self.lexicon.name,
            selected=value if kind == "keyword" else None,
            subtitle=self._counted(keep, f"pattern {value!r}"),
        )

    def pattern_chart(self) -> Any:
        """Return the pattern chart (altair), over the traces the keyword selection keeps."""
        kind, value = self.selection.get("kind"), self.selection.get("value")
        keep = set(self.filter_ids(kind, value)) if kind == "keyword" else None
        _, frame = self._frames(keep)
        return pattern_bars(
            frame,
            taxonomy=self.taxonomy.name,
            labels=list(self.taxonomy.names),
            selected=value if kind == "pattern" else None,
            subtitle=self._counted(keep, f"keyword {value!r}"),
        )

    def chart(self) -> Any:
        """Return both charts side by side, as the widget shows them, as one altair chart.

        Save it for a paper with ``.save("stats.svg")`` (vl-convert renders it offline).
        """
        import altair as alt

        return alt.hconcat(self.keyword_chart(), self.pattern_chart()).resolve_scale(
            color="independent"
        )

    def _message(self, view: str = "") -> StatsMsg:
        return {
            **self._data,
            "view": view,
            "keyword_chart": self.keyword_chart().to_dict(),
            "pattern_chart": self.pattern_chart().to_dict(),
        }

    def filter_ids(self, kind: str, value: str | None) -> list[str]:
        """Return the ids of the traces a selection keeps (the front end filters the same way)."""
        rows = self._data["traces"]
        if kind == "keyword" and value is not None:
            return [r["id"] for r in rows if value in r["keywords"]]
        if kind == "pattern" and value is not None:
            return [r["id"] for r in rows if value in r["patterns"]]
        return [r["id"] for r in rows]

    def on_select(self, fn: Callable[[list[str]], None]) -> None:
        """Call ``fn(selected_ids)`` whenever the selection changes."""
        self._callbacks.append(fn)

    def select(self, kind: str, value: str | None) -> list[str]:
        """Select a keyword or a pattern (``"none"``: clear) from Python; return the kept ids."""
        self.selection = {"kind": kind, "value": value}
        self.selected_ids = self.filter_ids(kind, value)
        self.send_message(self._message())
        for fn in self._callbacks:
            fn(self.selected_ids)
        return self.selected_ids

    def _on_ready(self, msg: dict[str, Any]) -> None:
        self.send_message(self._message(msg["view"]))

    def _on_select(self, msg: dict[str, Any]) -> None:
        ids = self.select(msg["kind"], msg["value"])
        if sorted(ids) != sorted(msg["ids"]):
            self.report(
                "the front end and the kernel filtered differently; the kernel's list is kept"
            )
