"""Kernel-side view of one streaming sample: what the front end has, and its live analysis.

A :class:`LiveSample` reads its sample's :class:`~workbench.session.stream.SampleStream` (the
run's one stream buffer; a recorded trajectory gets a finished one) and, at each flush, turns what
arrived since its cursor into a :class:`~workbench.widgets._protocol.SampleDelta`: the new text,
the new tokens (binary buffers), the thinking/answer bounds once the closing tag shows up, the
segments that closed (labelled by the rule labeller) and the keyword hits that became final. Every
step works on the text since the last closed segment only, so a flush costs the same at 30k
tokens as at 1k.

Live analysis is an approximation of the analysis of the finished text (a segment closes when a
later one has started; a short segment may later merge differently); when a sample ends,
:meth:`LiveSample.final` gives the authoritative bounds, segments and hits.
"""

from __future__ import annotations

from workbench.analysis._segment import segment_text
from workbench.analysis.keywords import get_lexicon, keyword_pattern
from workbench.analysis.patterns import get_taxonomy, rule_label
from workbench.analysis.pipeline import AnalysisOptions, analyze_trajectory
from workbench.segment import Segment, segment_id
from workbench.session.stream import SampleStream, StreamSlice
from workbench.think import ThinkScanner
from workbench.trajectory import Trajectory
from workbench.widgets._protocol import (
    Bounds,
    BranchInfo,
    HitInfo,
    SampleDelta,
    SampleState,
    SegmentInfo,
)
from workbench.widgets._records import bounds_of, hit_infos, segment_info

__all__ = ["AnalysisOptions", "LiveSample"]

_CLOSE_MARGIN = 16
"""A segment closes once the one after it is this much longer than ``min_chars`` (a boundary
found later inside the last segment can then no longer make a piece short enough to merge)."""


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
    stream
        The sample's stream buffer (read only).
    """

    def __init__(
        self,
        index: int,
        trajectory_id: str,
        title: str,
        options: AnalysisOptions,
        stream: SampleStream,
    ) -> None:
        self.index = index
        self.trajectory_id = trajectory_id
        self.title = title
        self.options = options
        self.stream = stream
        self.branch: BranchInfo | None = None
        """Where this sample was forked from another column (``None``: not a fork)."""
        self.status = "running"
        self.finished = False
        self.length = 0
        """Characters flushed to the front end (the cursor into the stream's text)."""
        self.n_tokens = 0
        """Tokens flushed to the front end."""
        # thinking / answer bounds
        self.think_start: int | None = None
        self.think_end: int | None = None
        self.answer_start: int | None = None
        self._scan = ThinkScanner()
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

    @property
    def n_pieces(self) -> int:
        """Token events received (the token count when the backend sends no token ids)."""
        return self.stream.events

    @property
    def has_pending(self) -> bool:
        """Whether text or tokens arrived since the last flush."""
        return self.stream.length > self.length or self.stream.n_tokens > self.n_tokens

    # -- flush (flusher thread) ------------------------------------------------------------------
    def flush(self, buffers: list[bytes]) -> SampleDelta | None:
        """Turn what arrived into a delta (appending its binary buffers to ``buffers``)."""
        new = self.stream.since(self.length, self.n_tokens)
        if not new.text and not new.tokens:
            return None
        text = new.text
        self.length += len(text)
        self._win += text
        k = new.tokens
        self.n_tokens += k
        offsets_idx, logprobs_idx, entropies_idx = _put_tokens(buffers, new, k)
        bounds_changed = self._update_bounds(text)
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

    def _update_bounds(self, text: str) -> bool:
        had_start = self.think_start is not None
        changed = self._scan.feed(text)
        if changed:
            self.think_start = self._scan.think_start
            self.think_end, self.answer_start = self._scan.think_end, self._scan.answer_start
            if not had_start and self.think_start is not None:
                self._seg_from = self._kw_pos = self.think_start
        return changed or self._bounds_sent is None

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
            "confidence": verdict.confidence,
            "suggestion": None,
            "suggestion_confidence": None,
        }

    def _trim_window(self) -> None:
        keep = min(self._seg_from, self._kw_pos - 1)
        if self.think_start is None:
            keep = 0
        keep = max(self._win_start, keep)
        if keep - self._win_start > 4096:
            self._win = self._win[keep - self._win_start :]
            self._win_start = keep

    # -- whole state -----------------------------------------------------------------------------
    def text(self) -> str:
        """Everything flushed so far."""
        return self.stream.since(0, 0, chars_end=self.length, tokens_end=0).text

    def state(self, buffers: list[bytes]) -> SampleState:
        """Return the whole sample as flushed so far (for a view rendered late)."""
        flushed = self.stream.since(0, 0, chars_end=self.length, tokens_end=self.n_tokens)
        offsets_idx, logprobs_idx, entropies_idx = _put_tokens(buffers, flushed, self.n_tokens)
        segments = list(self.segments)
        if self.open is not None:
            segments.append(self.open)
        self._bounds_sent = self.bounds()
        return {
            "sample": self.index,
            "title": self.title,
            "status": self.status,
            "text": flushed.text,
            "bounds": self.bounds(),
            "segments": segments,
            "hits": list(self.hits),
            "tokens": self.n_tokens,
            "offsets": offsets_idx,
            "logprobs": logprobs_idx,
            "entropies": entropies_idx,
            "branch": self.branch,
        }

    def final(
        self,
        trajectory: Trajectory | None = None,
        segments: list[Segment] | None = None,
    ) -> tuple[Bounds, list[SegmentInfo], list[HitInfo]]:
        """Authoritative analysis of the finished text (of ``trajectory`` when given).

        ``segments`` (the run's own analysis, or stored segments) are used as they are;
        otherwise the text is analysed with this view's options.
        """
        t = trajectory or Trajectory(id=self.trajectory_id, raw=self.text())
        segs = (
            segments
            if segments is not None
            else analyze_trajectory(
                t,
                strategy=self.options.strategy,
                taxonomy=self._taxonomy,
                lexicon=self.options.lexicon,
                cues=self.options.cues,
                min_chars=self.options.min_chars,
            )
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


def _put_tokens(
    buffers: list[bytes], new: StreamSlice, k: int
) -> tuple[int | None, int | None, int | None]:
    """Append a slice's token columns to ``buffers``; return their indices (``None``: absent)."""
    if not k:
        return None, None, None
    offsets_idx = len(buffers)
    buffers.append(new.offsets.tobytes())
    logprobs_idx = entropies_idx = None
    if new.logprobs is not None and len(new.logprobs) == k:
        logprobs_idx = len(buffers)
        buffers.append(new.logprobs.tobytes())
    if new.entropies is not None and len(new.entropies) == k:
        entropies_idx = len(buffers)
        buffers.append(new.entropies.tobytes())
    return offsets_idx, logprobs_idx, entropies_idx
