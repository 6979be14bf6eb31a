"""LiveTrace: watch a run's samples stream, or read finished trajectories, in one view.

::

    run = session.generate("What is 17 + 25?", n=4, logprobs=5)
    LiveTrace(run)                           # streams; Stop, end thinking now, insert Wait
    LiveTrace(store.get("3fa2"), store=store)   # a finished or imported trajectory
    LiveTrace(t, session=session)            # click a token: its alternatives, fork from there
    trace.show_importance(result)            # segment importance under the thinking, linked

Tokens are buffered on the kernel side and flushed about 20 times a second as deltas (new text,
per-token arrays as binary buffers, segments that closed, keyword hits); the front end appends and
renders only the chunks in view, so a flush costs the same at 30k tokens as at 1k.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import traitlets

from workbench.analysis.keywords import Lexicon
from workbench.analysis.patterns import Taxonomy
from workbench.analysis.pipeline import AnalysisOptions
from workbench.backends.base import FinishEvent, TokenEvent
from workbench.errors import ValidationError
from workbench.segment import Segment
from workbench.session.run import Run, RunEnd
from workbench.session.session import Session
from workbench.session.stream import SampleStream
from workbench.store.store import Store
from workbench.trajectory import Trajectory
from workbench.widgets._base import WorkbenchWidget
from workbench.widgets._branching import Branching, finished, recorded
from workbench.widgets._importance_strip import importance_message
from workbench.widgets._protocol import (
    Counters,
    DeltaMsg,
    FinalMsg,
    ImportanceMsg,
    SampleDelta,
    ScrollToMsg,
    SegmentInfo,
    SnapshotMsg,
)
from workbench.widgets._records import bounds_of, hit_infos, segment_info, trajectory_title
from workbench.widgets._stream import LiveSample

if TYPE_CHECKING:
    from workbench.analysis.importance import ImportanceResult

__all__ = ["SHADES", "LiveTrace"]

SHADES: tuple[str, ...] = ("none", "logprob", "entropy")
"""Token shading modes."""


def _same(segments: Sequence[Segment], infos: Sequence[SegmentInfo]) -> bool:
    """Whether the view already shows these segments (same ids and labels)."""
    return [(s.id, s.labels[0] if s.labels else None) for s in segments] == [
        (i["id"], i["label"]) for i in infos
    ]


def _prompt_text(messages: Sequence[dict[str, Any]]) -> str:
    for m in reversed(messages):
        if m.get("role") == "user":
            return str(m.get("content", ""))
    return ""


class LiveTrace(Branching, WorkbenchWidget):
    """A run's samples side by side, thinking and answer panes, live counters and controls.

    Parameters
    ----------
    source
        A :class:`~workbench.session.Run` (live, with Stop / end thinking now / insert Wait), a
        :class:`~workbench.Trajectory`, or a list of trajectories (shown side by side).
    store
        Where finished trajectories' stored segments are read from (otherwise they are analysed
        on the fly); for a run, the session's store is used.
    taxonomy, lexicon, strategy
        Analysis of the thinking (pattern labels, keyword hits, segmentation), as in
        :func:`workbench.analysis.pipeline.analyze_trajectory`.
    shade
        ``"none"``, ``"logprob"`` or ``"entropy"``: shade tokens by surprise or entropy.
    height
        Height of the thinking panes in pixels.
    flush_hz
        Flushes per second while tokens stream.
    session
        The session that forks a clicked token (a run's own session by default): a click on a
        token shows its recorded alternatives (``logprobs=k``) and a text field; choosing one
        calls :meth:`~workbench.Session.branch` and the fork streams in a new column, titled as
        a branch of its parent (see :meth:`branch`).

    The text and tokens are read from the run's stream buffers (one per sample); when the run
    ends, the segments the session computed and stored are shown (a widget never writes to the
    store).
    """

    _view = traitlets.Unicode("live_trace").tag(sync=True)
    labels = traitlets.List(traitlets.Unicode()).tag(sync=True)
    shade = traitlets.Unicode("none").tag(sync=True)
    prompt = traitlets.Unicode("").tag(sync=True)
    title = traitlets.Unicode("").tag(sync=True)
    controls = traitlets.Bool(False).tag(sync=True)

    def __init__(
        self,
        source: Run | Trajectory | Sequence[Trajectory],
        *,
        store: Store | None = None,
        taxonomy: str | Taxonomy = "dto",
        lexicon: str | Lexicon | Sequence[str] = "r1",
        strategy: str = "cues",
        shade: str = "none",
        height: int = 420,
        flush_hz: float = 20.0,
        session: Session | None = None,
    ) -> None:
        if shade not in SHADES:
            raise ValidationError("LiveTrace.shade", f"{shade!r} is not one of {list(SHADES)}")
        if not 0 < flush_hz <= 120:
            raise ValidationError("LiveTrace.flush_hz", "must be in (0, 120]")
        self.options = AnalysisOptions(taxonomy=taxonomy, lexicon=lexicon, strategy=strategy)
        super().__init__(labels=self.options.label_names, shade=shade, height=height)
        self.store = store
        self.session = session
        self.run: Run | None = None
        self._forks = []
        self._sources = []
        self._flusher_on = False
        self.interval = 1.0 / flush_hz
        self._lock = threading.RLock()
        self._send_lock = self._lock
        self._seq = 0
        self._status = "complete"
        self._error: str | None = None
        self._started = time.perf_counter()
        self._ended: float | None = None
        self._finished: list[int] = []
        self._run_ended = False
        self._last_counters = 0.0
        self._wake = threading.Event()
        self._stop_flusher = threading.Event()
        self._flusher: threading.Thread | None = None
        self._main_sent = False
        self._n_main = 0
        self._unsubscribe: Any = None
        self.samples: list[LiveSample] = []
        self._importance: dict[int, ImportanceMsg] = {}
        if isinstance(source, Run):
            self._attach(source)
        else:
            trajectories = [source] if isinstance(source, Trajectory) else list(source)
            if not trajectories:
                raise ValidationError("LiveTrace.source", "give a run or at least one trajectory")
            self._load(trajectories)

    # -- sources ---------------------------------------------------------------------------------
    def _load(self, trajectories: list[Trajectory]) -> None:
        first = trajectories[0]
        self.prompt = first.prompt_text
        self.title = trajectory_title(first)
        for i, t in enumerate(trajectories):
            sample = LiveSample(
                i,
                t.id,
                f"{t.model or 'trajectory'} · {t.id}",
                self.options,
                SampleStream.from_trajectory(t),
            )
            sample.flush([])
            sample.status = t.status
            stored = self._stored_segments(t)
            if stored is not None:
                sample.segments = [segment_info(s) for s in stored]
                sample.hits = hit_infos(stored)
                sample.open = None
                b = bounds_of(t)
                sample.think_start, sample.think_end, sample.answer_start = (
                    b["think_start"],
                    b["think_end"],
                    b["answer_start"],
                )
            else:
                sample.final(t)
            sample.finished = True
            self.samples.append(sample)
            self._sources.append(finished(t))
        statuses = {t.status for t in trajectories}
        self._status = statuses.pop() if len(statuses) == 1 else "complete"
        self._ended = self._started

    def _stored_segments(self, t: Trajectory) -> list[Segment] | None:
        if self.store is None or t.id not in self.store:
            return None
        segments = self.store.get_segments(t.id)
        return segments or None

    def _attach(self, run: Run) -> None:
        self.run = run
        self.controls = True
        self.store = self.store or run.recorder.store
        self.prompt = _prompt_text(run.request.messages)
        self.title = " ".join(self.prompt.split())[:80] or f"run {run.id}"
        self._status = "running"
        self._started = run.started
        for i, (tid, stream) in enumerate(zip(run.trajectory_ids, run.streams, strict=True)):
            self.samples.append(LiveSample(i, tid, f"sample {i} · {tid}", self.options, stream))
            self._sources.append(recorded(run, i))
        self._n_main = len(self.samples)
        self._unsubscribe = run.subscribe(self._on_event)
        with self._lock:
            for i, stream in enumerate(run.streams):
                if stream.finished:  # finished before we subscribed
                    self.samples[i].status = stream.status
                    self._finished.append(i)
            if run.done and not self._run_ended:
                self._run_ended = True
                self._status = run.status
                self._error = run.error
                self._ended = run.ended
            self._ensure_flusher()

    def _ensure_flusher(self) -> None:
        """Start the flusher thread unless it runs (a run, or a fork, is streaming)."""
        with self._lock:
            if self._flusher_on:
                return
            self._flusher_on = True
            self._flusher = threading.Thread(
                target=self._flush_loop, name="workbench-livetrace-flush", daemon=True
            )
            self._flusher.start()

    # -- run events (run thread) -----------------------------------------------------------------
    def _on_event(self, event: TokenEvent | FinishEvent | RunEnd) -> None:
        """Wake the flusher (the text and tokens are in the run's stream buffers already)."""
        if isinstance(event, TokenEvent):
            self._wake.set()
            return
        with self._lock:
            if isinstance(event, FinishEvent):
                sample = self.samples[event.sample]
                sample.status = sample.stream.status
                if event.sample not in self._finished and not sample.finished:
                    self._finished.append(event.sample)
            else:
                self._run_ended = True
                self._status = event.status
                self._error = event.error
                self._ended = time.perf_counter()
        self._wake.set()

    # -- flushing --------------------------------------------------------------------------------
    def _flush_loop(self) -> None:
        while not self._stop_flusher.is_set():
            self._wake.wait(self.interval)
            self._wake.clear()
            try:
                done = self.flush()
            except Exception as exc:  # keep streaming; say what broke
                self.report(exc)
                done = self._run_ended
            if done:
                with self._lock:
                    if not self._forks_pending():  # a fork started meanwhile: keep going
                        self._flusher_on = False
                        break
            time.sleep(self.interval)  # at most flush_hz flushes per second

    def counters(self) -> Counters:
        """Return the live counters (tokens, tokens/s, elapsed, keyword hits, status)."""
        end = self._ended if self._ended is not None else time.perf_counter()
        elapsed = max(0.0, end - self._started)
        tokens = sum(max(s.n_tokens, s.n_pieces) for s in self.samples)
        return {
            "status": self._status,
            "tokens": tokens,
            "tokens_per_s": round(tokens / elapsed, 2) if elapsed > 0 else 0.0,
            "elapsed_s": round(elapsed, 2),
            "keyword_hits": sum(len(s.hits) for s in self.samples),
        }

    def flush(self) -> bool:
        """Send what arrived since the last flush; return whether the run is over and all sent.

        Called by the background flusher about ``flush_hz`` times a second; callable by hand.
        """
        with self._lock:
            buffers: list[bytes] = []
            deltas: list[SampleDelta] = []
            for s in self.samples:
                if s.has_pending:
                    d = s.flush(buffers)
                    if d is not None:
                        deltas.append(d)
            now = time.perf_counter()
            if deltas or now - self._last_counters > 0.5 or self._finished or self._run_ended:
                self._seq += 1
                msg: DeltaMsg = {
                    "type": "delta",
                    "seq": self._seq,
                    "samples": deltas,
                    "counters": self.counters(),
                }
                self.send_message(msg, buffers)
                self._last_counters = now
            finished, self._finished = self._finished, []
            for i in finished:
                self._send_final(i)
            forks_done = self._flush_forks()
            if self.run is None:
                return forks_done
            main = self.samples[: self._n_main]
            if self._run_ended and not self._main_sent and not any(s.has_pending for s in main):
                analysed = self.run.segments
                for s in main:
                    ours = None if analysed is None else analysed[s.index]
                    if not s.finished or (ours is not None and not _same(ours, s.segments)):
                        self._send_final(s.index, segments=ours)
                if self._error:
                    self.error = f"the run ended with an error: {self._error}"
                self._main_sent = True
            return self._main_sent and forks_done

    def _send_final(
        self,
        i: int,
        trajectory: Trajectory | None = None,
        *,
        segments: list[Segment] | None = None,
    ) -> None:
        s = self.samples[i]
        bounds, infos, hits = s.final(trajectory, segments)
        if s.status == "running":
            s.status = "cancelled" if self._status == "cancelled" else self._status
        self._seq += 1
        msg: FinalMsg = {
            "type": "final",
            "seq": self._seq,
            "sample": i,
            "status": s.status,
            "bounds": bounds,
            "segments": infos,
            "hits": hits,
        }
        self.send_message(msg)

    def _on_ready(self, msg: dict[str, Any]) -> None:
        with self._lock:
            if self.run is not None and not self._run_ended:
                self.flush()  # everything received so far goes into the snapshot
            buffers: list[bytes] = []
            states = [s.state(buffers) for s in self.samples]
            snap: SnapshotMsg = {
                "type": "snapshot",
                "view": msg["view"],
                "seq": self._seq,
                "samples": states,
                "counters": self.counters(),
            }
            self.send_message(snap, buffers)
            for strip in self._importance.values():  # a view rendered late draws them too
                self.send_message(strip)

    def _require_run(self) -> Run:
        if self.run is None:
            raise ValidationError("LiveTrace", "this trace is not a live run")
        return self.run

    def _on_stop(self, msg: dict[str, Any]) -> None:
        self.stop()

    def _on_end_thinking(self, msg: dict[str, Any]) -> None:
        run, sample = self._run_of(msg["sample"])
        if not run.done:
            run.end_thinking(sample=sample)

    def _on_inject(self, msg: dict[str, Any]) -> None:
        run, sample = self._run_of(msg["sample"])
        if not run.done and msg["text"]:
            run.inject(msg["text"], sample=sample)

    def _run_of(self, column: int | None) -> tuple[Run, int | None]:
        """Return the run streaming a column, and its sample in that run (``None``: every one)."""
        if column is not None and column >= self._n_main:
            for fork in self._forks:
                if column in fork.columns:
                    return fork.run, fork.columns.index(column)
        return self._require_run(), column

    # -- Python API ------------------------------------------------------------------------------
    def stop(self) -> None:
        """Cancel the run and the forks still streaming (what the Stop button does)."""
        self._require_run().cancel()
        for run in self.branches:
            run.cancel()

    def chart(self, sample: int = 0, *, max_points: int = 600) -> Any:
        """Return the per-token curves of one sample as an altair chart (for a paper).

        The same figure as the widget's curve: log-probability and entropy over the tokens
        (binned to ``max_points``), segment starts coloured by pattern, keyword hits and the
        start of the answer; save it with ``.save("curves.svg")``. Live runs give the tokens so
        far.

        Raises
        ------
        ValidationError
            For a sample that does not exist, or one without token log-probabilities or
            entropies (e.g. a server that returned none).
        """
        from workbench.charts.tokens import token_curves_chart

        if not 0 <= sample < len(self.samples):
            raise ValidationError("LiveTrace.chart.sample", f"use 0..{len(self.samples) - 1}")
        s = self.samples[sample]
        with self._lock:
            _, tokens, _ = s.stream.snapshot()
            segments = list(s.segments)
            hits = list(s.hits)
            answer = s.answer_start
        if tokens is None:
            raise ValidationError(
                "LiveTrace.chart",
                f"sample {sample} has no per-token log-probabilities or entropies to draw",
            )
        try:
            return token_curves_chart(
                tokens, segments=segments, hits=hits, answer_start=answer,
                labels=self.options.label_names, max_points=max_points,
                title=f"Per-token log-probability and entropy · {s.title}",
            )  # fmt: skip
        except ValueError as exc:
            raise ValidationError("LiveTrace.chart", str(exc)) from exc

    def figure(self, request: dict[str, Any]) -> tuple[str, Any]:
        """Return the chart of an export button (one sample's curves)."""
        sample = int(request.get("sample", 0))
        return f"token_curves_sample{sample}", self.chart(sample)

    def scroll_to(self, char: int, *, sample: int = 0, end: int | None = None) -> None:
        """Scroll the views to character ``char`` of ``sample``'s raw text.

        With ``end``, the characters ``char..end`` are highlighted too (a brushed token range).
        """
        msg: ScrollToMsg = {
            "type": "scroll_to",
            "sample": int(sample),
            "char": int(char),
            "end": None if end is None else int(end),
        }
        self.send_message(msg)

    def show_importance(
        self, result: ImportanceResult | None, *, sample: int = 0, measure: str = "delta"
    ) -> None:
        """Draw segment importance under ``sample``'s thinking, linked to the text.

        One bar per measured segment in thinking order, coloured by its pattern: the signed
        ``measure`` around a zero line, whiskers for its interval, faded where the Δp interval
        includes 0. Hovering a bar shows its numbers and text and highlights the segment; a
        click scrolls the trace to it; hovering the text highlights its bar. ``None`` removes
        the strip. Views rendered later draw it too.

        Parameters
        ----------
        result
            An :class:`~workbench.analysis.importance.ImportanceResult` of the trajectory that
            column ``sample`` shows (from
            :func:`~workbench.analysis.importance.segment_importance`).
        sample
            The column.
        measure
            ``"delta"`` (p(correct) keeping − dropping), ``"counterfactual_delta"``, ``"kl"`` or
            ``"counterfactual_kl"`` (see :class:`~workbench.analysis.importance.SegmentImportance`).

        Raises
        ------
        ValidationError
            For a sample that does not exist, an unknown measure, or a result of another
            trajectory (the message names the column that shows it, if one does).
        """
        if not 0 <= sample < len(self.samples):
            raise ValidationError(
                "LiveTrace.show_importance.sample", f"use 0..{len(self.samples) - 1}"
            )
        s = self.samples[sample]
        if result is None:
            self._importance.pop(sample, None)
            empty: ImportanceMsg = {
                "type": "importance", "sample": sample, "measure": measure, "axis": "",
                "interval": "", "faded": "", "caption": "", "bars": [],
            }  # fmt: skip
            self.send_message(empty)
            return
        other = [o.index for o in self.samples if o.trajectory_id == result.trajectory_id]
        if other and other[0] != sample:
            raise ValidationError(
                "LiveTrace.show_importance.result",
                f"the result measures trajectory {result.trajectory_id!r}, shown in column "
                f"{other[0]}, not {sample}: call show_importance(result, sample={other[0]})",
            )
        with self._lock:
            text, _, _ = s.stream.snapshot()
        msg = importance_message(
            result,
            sample=sample,
            trajectory_id=s.trajectory_id,
            text_length=len(text),
            measure=measure,
        )
        self._importance[sample] = msg
        self.send_message(msg)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the run's last flush was sent (``True``) or ``timeout`` passes."""
        if self._flusher is None:
            return True
        self._flusher.join(timeout)
        return not self._flusher.is_alive()

    def close(self) -> None:
        """Stop listening to the run and close the widget."""
        self._stop_flusher.set()
        self._wake.set()
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self._close_forks()
        super().close()
