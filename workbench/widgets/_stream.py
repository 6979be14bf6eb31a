"""Kernel-side state of one streaming sample: text, tokens, and its analysis as it grows.

A :class:`LiveSample` takes token events (cheap: they are queued) and, at each flush, turns what
arrived into a :class:`~workbench.widgets._protocol.SampleDelta`: the new text, the new tokens
(binary buffers), the thinking/answer bounds once the closing tag shows up, the segments that
closed (labelled by the rule labeller) and the keyword hits that became final. Every step works on
the text since the last closed segment only, so a flush costs the same at 30k tokens as at 1k.

Live analysis is an approximation of the analysis of the finished text (a segment closes when a
later one has started; a short segment may later merge differently); when a sample ends,
:meth:`LiveSample.final` gives the authoritative bounds, segments and hits.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field

from workbench.analysis.keywords import Lexicon, get_lexicon, keyword_pattern
from workbench.analysis.patterns import Taxonomy, get_taxonomy, rule_label
from workbench.analysis.pipeline import analyze_trajectory
from workbench.analysis.segment import CUES, DEFAULT_MIN_CHARS, segment_text
from workbench.backends.base import TokenEvent
from workbench.segment import segment_id
from workbench.trajectory import Trajectory
from workbench.widgets._protocol import Bounds, HitInfo, SampleDelta, SampleState, SegmentInfo
from workbench.widgets._records import bounds_of, hit_infos, segment_info

__all__ = ["AnalysisOptions", "LiveSample"]

_OPEN_TAG = "<think>"
_CLOSE_TAG = "</think>"
_CLOSE_MARGIN = 16
"""A segment closes once the one after it is this much longer than ``min_chars`` (a boundary
found later inside the last segment can then no longer make a piece short enough to merge)."""


@dataclass(frozen=True)
class AnalysisOptions:
    """How live traces are analysed (the defaults of :mod:`workbench.analysis.pipeline`)."""

    taxonomy: str | Taxonomy = "dto"
    lexicon: str | Lexicon | Sequence[str] = "r1"
    strategy: str = "cues"
    cues: tuple[str, ...] = CUES
    min_chars: int = DEFAULT_MIN_CHARS

    @property
    def label_names(self) -> list[str]:
        """The taxonomy's label names (the colour order)."""
        return list(get_taxonomy(self.taxonomy).names)


@dataclass
class _Pending:
    text: list[str] = field(default_factory=list)
    offsets: array = field(default_factory=lambda: array("i"))
    logprobs: array = field(default_factory=lambda: array("f"))
    entropies: array = field(default_factory=lambda: array("f"))


class LiveSample:
    """One sample of a live trace (see the module docstring).

    Parameters
    ----------
    index
        Sample index in the run.
    trajectory_id
        Id of the trajectory being recorded (segment ids derive from it).
    title
        Shown above the sample.
    options
        Analysis options.
    """

    def __init__(
        self, index: int, trajectory_id: str, title: str, options: AnalysisOptions
    ) -> None:
        self.index = index
        self.trajectory_id = trajectory_id
        self.title = title
        self.options = options
        self.status = "running"
        self.finished = False
        self.length = 0
        self.n_tokens = 0
        self.n_pieces = 0
        """Token events received (the token count when the backend sends no token ids)."""
        self._chunks: list[str] = []
        self._offsets = array("i")
        self._logprobs: array | None = array("f")
        self._entropies: array | None = array("f")
        self._pending = _Pending()
        self._pending_chars = 0
        # thinking / answer bounds
        self.think_start: int | None = None
        self.think_end: int | None = None
        self.answer_start: int | None = None
        self._tag_scan = 0
        self._bounds_sent: Bounds | None = None
        # incremental analysis over a window raw[_win_start:]
        self._win_start = 0
        self._win = ""
        self._seg_from = 0
        self.segments: list[SegmentInfo] = []
        self.open: SegmentInfo | None = None
        self.hits: list[HitInfo] = []
        self._kw_pos = 0
        lex = get_lexicon(options.lexicon)
        self._kw_pattern = keyword_pattern(lex.keywords)
        self._kw_canon = {" ".join(k.split()): k for k in lex.keywords}
        self._kw_margin = 2 * max(len(k) for k in lex.keywords) + 2
        self._taxonomy = get_taxonomy(options.taxonomy)

    # -- intake (run thread) ---------------------------------------------------------------------
    def add(self, event: TokenEvent) -> None:
        """Queue one token event."""
        p = self._pending
        start = self.length + self._pending_chars
        p.text.append(event.text)
        self._pending_chars += len(event.text)
        self.n_pieces += max(1, len(event.token_ids)) if event.text or event.token_ids else 0
        end = start + len(event.text)
        k = len(event.token_ids)
        if not k:
            return
        p.offsets.extend((start, end))
        for _ in range(k - 1):
            p.offsets.extend((end, end))
        if event.logprobs is not None and len(event.logprobs) == k:
            p.logprobs.extend(event.logprobs)
        else:
            self._logprobs = None
        if event.entropies is not None and len(event.entropies) == k:
            p.entropies.extend(event.entropies)
        else:
            self._entropies = None

    def seed(
        self,
        text: str,
        offsets: Sequence[tuple[int, int]] | None,
        logprobs: Sequence[float] | None,
        entropies: Sequence[float] | None,
    ) -> None:
        """Queue text and tokens that streamed before this view subscribed."""
        p = self._pending
        p.text.append(text)
        self._pending_chars += len(text)
        self.n_pieces += len(offsets) if offsets else 0
        if offsets:
            for a, b in offsets:
                p.offsets.extend((int(a), int(b)))
            if logprobs is not None and len(logprobs) == len(offsets):
                p.logprobs.extend(logprobs)
            else:
                self._logprobs = None
            if entropies is not None and len(entropies) == len(offsets):
                p.entropies.extend(entropies)
            else:
                self._entropies = None

    @property
    def has_pending(self) -> bool:
        """Whether text or tokens arrived since the last flush."""
        return bool(self._pending.text)

    # -- flush (flusher thread) ------------------------------------------------------------------
    def flush(self, buffers: list[bytes]) -> SampleDelta | None:
        """Turn what arrived into a delta (appending its binary buffers to ``buffers``)."""
        p = self._pending
        if not p.text and not p.offsets:
            return None
        self._pending = _Pending()
        self._pending_chars = 0
        text = "".join(p.text)
        self._chunks.append(text)
        self.length += len(text)
        self._win += text
        k = len(p.offsets) // 2
        self.n_tokens += k
        offsets_idx = logprobs_idx = entropies_idx = None
        if k:
            self._offsets.extend(p.offsets)
            offsets_idx = len(buffers)
            buffers.append(p.offsets.tobytes())
            if self._logprobs is not None and len(p.logprobs) == k:
                self._logprobs.extend(p.logprobs)
                logprobs_idx = len(buffers)
                buffers.append(p.logprobs.tobytes())
            else:
                self._logprobs = None
            if self._entropies is not None and len(p.entropies) == k:
                self._entropies.extend(p.entropies)
                entropies_idx = len(buffers)
                buffers.append(p.entropies.tobytes())
            else:
                self._entropies = None
        bounds_changed = self._update_bounds()
        closed, hits = self._analyse(final=False)
        self._trim_window()
        return {
            "sample": self.index,
            "text": text,
            "bounds": self.bounds() if bounds_changed else None,
            "segments": closed,
            "open_segment": self.open,
            "hits": hits,
            "tokens": k,
            "offsets": offsets_idx,
            "logprobs": logprobs_idx,
            "entropies": entropies_idx,
        }

    def bounds(self) -> Bounds:
        """Return the live thinking/answer bounds."""
        return {
            "think_start": self.think_start or 0,
            "think_end": self.think_end,
            "answer_start": self.answer_start,
        }

    def _update_bounds(self) -> bool:
        before = self.bounds()
        if self.think_start is None:
            stripped = self._win.lstrip()
            lead = len(self._win) - len(stripped)
            if stripped.startswith(_OPEN_TAG):
                self.think_start = self._win_start + lead + len(_OPEN_TAG)
            elif stripped and not _OPEN_TAG.startswith(stripped[: len(_OPEN_TAG)]):
                self.think_start = self._win_start  # no opening tag: thinking from the start
            if self.think_start is not None:
                self._seg_from = self._kw_pos = self._tag_scan = self.think_start
        if self.think_start is not None and self.think_end is None:
            rel = max(0, self._tag_scan - self._win_start)
            at = self._win.find(_CLOSE_TAG, rel)
            if at >= 0:
                self.think_end = self._win_start + at
                self.answer_start = self.think_end + len(_CLOSE_TAG)
            else:
                self._tag_scan = max(
                    self._tag_scan, self._win_start + len(self._win) - len(_CLOSE_TAG)
                )
        return self.bounds() != before or self._bounds_sent is None

    def _region_end(self) -> int:
        return self.think_end if self.think_end is not None else self.length

    def _analyse(self, *, final: bool) -> tuple[list[SegmentInfo], list[HitInfo]]:
        if self.think_start is None:
            return [], []
        end = self._region_end()
        done = final or self.think_end is not None
        # segments: re-segment the open region only
        lo = self._seg_from - self._win_start
        region = self._win[lo : end - self._win_start]
        spans = segment_text(
            region,
            strategy=self.options.strategy,
            cues=self.options.cues,
            min_chars=self.options.min_chars,
        )
        spans = [(s + self._seg_from, e + self._seg_from) for s, e in spans]
        if done:
            n_closed = len(spans)
        elif (
            len(spans) >= 2
            and spans[-1][1] - spans[-1][0] >= self.options.min_chars + _CLOSE_MARGIN
        ):
            n_closed = len(spans) - 1
        else:
            n_closed = max(0, len(spans) - 2)
        closed = [self._make_segment(span, closed=True) for span in spans[:n_closed]]
        self.segments.extend(closed)
        if n_closed:
            self._seg_from = spans[n_closed - 1][1]
        rest = spans[n_closed:]
        self.open = (
            self._make_segment((rest[0][0], rest[-1][1]), closed=False, count=False)
            if rest
            else None
        )
        # keyword hits that can no longer change
        safe = end if done else end - self._kw_margin
        hits: list[HitInfo] = []
        if safe > self._kw_pos:
            for m in self._kw_pattern.finditer(
                self._win, self._kw_pos - self._win_start, end - self._win_start
            ):
                start = m.start() + self._win_start
                if start >= safe:
                    break
                word = self._kw_canon.get(" ".join(m.group(0).lower().split()), m.group(0).lower())
                hits.append({"start": start, "end": m.end() + self._win_start, "keyword": word})
            self._kw_pos = max(safe, hits[-1]["end"] if hits else safe)
        self.hits.extend(hits)
        return closed, hits

    def _make_segment(
        self, span: tuple[int, int], *, closed: bool, count: bool = True
    ) -> SegmentInfo:
        text = self._win[span[0] - self._win_start : span[1] - self._win_start]
        verdict = rule_label(text, taxonomy=self._taxonomy)
        return {
            "id": segment_id(self.trajectory_id, span),
            "index": len(self.segments),
            "start": span[0],
            "end": span[1],
            "label": verdict.label,
            "source": "rule",
            "closed": closed,
            "human_label": None,
            "note": None,
        }

    def _trim_window(self) -> None:
        keep = min(self._seg_from, self._kw_pos - 1, self._tag_scan - len(_CLOSE_TAG))
        if self.think_start is None:
            keep = 0
        keep = max(self._win_start, keep)
        if keep - self._win_start > 4096:
            self._win = self._win[keep - self._win_start :]
            self._win_start = keep

    # -- whole state -----------------------------------------------------------------------------
    def text(self) -> str:
        """Everything received and flushed so far."""
        if len(self._chunks) > 1:
            self._chunks[:] = ["".join(self._chunks)]
        return self._chunks[0] if self._chunks else ""

    def state(self, buffers: list[bytes]) -> SampleState:
        """Return the whole sample (for a view rendered late)."""
        offsets_idx = logprobs_idx = entropies_idx = None
        if self.n_tokens:
            offsets_idx = len(buffers)
            buffers.append(self._offsets.tobytes())
            if self._logprobs is not None and len(self._logprobs) == self.n_tokens:
                logprobs_idx = len(buffers)
                buffers.append(self._logprobs.tobytes())
            if self._entropies is not None and len(self._entropies) == self.n_tokens:
                entropies_idx = len(buffers)
                buffers.append(self._entropies.tobytes())
        segments = list(self.segments)
        if self.open is not None:
            segments.append(self.open)
        self._bounds_sent = self.bounds()
        return {
            "sample": self.index,
            "title": self.title,
            "status": self.status,
            "text": self.text(),
            "bounds": self.bounds(),
            "segments": segments,
            "hits": list(self.hits),
            "tokens": self.n_tokens,
            "offsets": offsets_idx,
            "logprobs": logprobs_idx,
            "entropies": entropies_idx,
        }

    def final(
        self, trajectory: Trajectory | None = None
    ) -> tuple[Bounds, list[SegmentInfo], list[HitInfo]]:
        """Authoritative analysis of the finished text (of ``trajectory`` when given)."""
        t = trajectory or Trajectory(id=self.trajectory_id, raw=self.text())
        segs = analyze_trajectory(
            t,
            strategy=self.options.strategy,
            taxonomy=self._taxonomy,
            lexicon=self.options.lexicon,
            cues=self.options.cues,
            min_chars=self.options.min_chars,
        )
        infos = [segment_info(s) for s in segs]
        self.segments = infos
        self.open = None
        self.hits = hit_infos(segs)
        b = bounds_of(t)
        self.think_start, self.think_end, self.answer_start = (
            b["think_start"],
            b["think_end"],
            b["answer_start"],
        )
        self.finished = True
        return b, infos, list(self.hits)
