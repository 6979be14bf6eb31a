"""A Run: one request streaming on a background thread, with subscribers, cancel and progress."""

from __future__ import annotations

import threading
import time
import traceback
import warnings
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from workbench.backends.base import Backend, FinishEvent, GenerationRequest, RunControl, TokenEvent
from workbench.errors import WorkbenchError
from workbench.session.recorder import Recorder
from workbench.session.stream import SampleStream
from workbench.store.store import Store
from workbench.think import END_THINKING
from workbench.trajectory import Trajectory, new_id

if TYPE_CHECKING:
    from workbench.analysis.pipeline import AnalysisOptions
    from workbench.segment import Segment
    from workbench.session.session import Session

__all__ = ["RUN_STATUSES", "Run", "RunEnd", "Subscriber"]

RUN_STATUSES = ("running", "complete", "cancelled", "error")


@dataclass(frozen=True, slots=True)
class RunEnd:
    """The last event a subscriber receives: how the run ended."""

    status: str
    error: str | None = None


Subscriber = Callable[[TokenEvent | FinishEvent | RunEnd], None]
"""A callable receiving every event of a run, on the run's thread (keep it quick)."""


class Run:
    """One generation request, streaming on a background thread.

    Create runs with :meth:`workbench.Session.generate`; it returns at once. Attributes
    ``status`` (``"running"``, then ``"complete"``, ``"cancelled"`` or ``"error"``), ``error`` and
    :meth:`trajectories` reflect the run as it goes.

    The run owns one :class:`~workbench.session.stream.SampleStream` per sample (``streams``): every
    event goes into it first, then to the recorder's checkpoints and to the subscribers, which
    read the text and tokens from it. When the samples end, the run analyses them (``analysis``:
    segments, pattern labels, keyword hits), stores the segments and keeps them in ``segments``.
    """

    def __init__(
        self,
        backend: Backend,
        request: GenerationRequest,
        *,
        store: Store | None,
        checkpoint_s: float = 0.5,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        subscribers: list[Subscriber] | None = None,
        analysis: AnalysisOptions | None = None,
        parent_id: str | None = None,
    ) -> None:
        self.id = new_id()
        self.session: Session | None = None
        """The session that started the run (set by :meth:`Session.generate`; forks need it)."""
        self.backend = backend
        self.request = request
        self.status = "running"
        self.error: str | None = None
        self.control = RunControl(request.sampling.n)
        self._cancel = threading.Event()
        self._done = threading.Event()
        self._subscribers: list[Subscriber] = list(subscribers or [])
        self._sub_lock = threading.Lock()
        self.trajectory_ids = [new_id() for _ in range(request.sampling.n)]
        self.started = time.perf_counter()
        self.streams = [SampleStream(tid, started=self.started) for tid in self.trajectory_ids]
        self.analysis = analysis
        self.segments: list[list[Segment]] | None = None
        """Each sample's segments once the run has ended and been analysed (else ``None``)."""
        self.recorder = Recorder(
            self.streams,
            request,
            model=backend.model_name,
            backend=backend.name,
            store=store,
            run_id=self.id,
            interval_s=checkpoint_s,
            tags=tags,
            metadata=metadata,
            parent_id=parent_id,
        )
        self.ended: float | None = None
        self._thread = threading.Thread(
            target=self._work, name=f"workbench-run-{self.id}", daemon=True
        )

    def start(self, executor: Executor | None = None) -> Run:
        """Start streaming in the background (done by :meth:`Session.generate`).

        Parameters
        ----------
        executor
            Where to run: the session passes its single long-lived worker thread (runs on one model
            queue up, and the math libraries' thread pools stay warm); ``None`` starts a thread.
        """
        try:
            self.recorder.checkpoint()  # the store holds a partial trajectory from the first moment
        except BaseException as exc:  # the run never started: it ends here, with its error
            self.error = f"{type(exc).__name__}: {exc}"
            self.status = "error"
            self.ended = time.perf_counter()
            self._done.set()
            raise
        if executor is None:
            threading.Thread(
                target=self._work, name=f"workbench-run-{self.id}", daemon=True
            ).start()
        else:
            executor.submit(self._work)
        return self

    # -- the worker ------------------------------------------------------------------------------
    def _work(self) -> None:
        try:
            for event in self.backend.stream(
                self.request, cancel=self._cancel, control=self.control
            ):
                self.streams[event.sample].on_event(event)
                self.recorder.on_event()
                self._publish(event)
                self.recorder.maybe_checkpoint()
            reasons = {rec.finish_reason for rec in self.streams}
            if None in reasons:
                self.recorder.finish_open("cancelled" if self._cancel.is_set() else "error",
                                          None if self._cancel.is_set() else "the backend ended early")  # fmt: skip
                reasons = {rec.finish_reason for rec in self.streams}
            errors = [rec.error for rec in self.streams if rec.finish_reason == "error"]
            if errors:
                self.status, self.error = "error", errors[0] or "generation failed"
            elif self._cancel.is_set() or "cancelled" in reasons:
                self.status = "cancelled"
            else:
                self.status = "complete"
        except Exception as exc:  # a backend bug or a bad request: the session stays usable
            self.error = f"{type(exc).__name__}: {exc}"
            self.status = "error"
            self.recorder.finish_open("error", self.error)
            if not isinstance(exc, WorkbenchError):
                self.error_traceback = traceback.format_exc()
        finally:
            try:
                self.recorder.checkpoint()
                self.recorder.save_attention()
            except Exception as exc:  # the store failed: say so, keep the in-memory trajectories
                self.status, self.error = "error", f"could not save to the store: {exc}"
            if self.status == "running":  # the worker was interrupted (BaseException): it ended
                self.status, self.error = "error", self.error or "the run was interrupted"
            self._analyse()
            self.ended = time.perf_counter()
            self._done.set()
            self._publish(RunEnd(self.status, self.error))

    def _analyse(self) -> None:
        """Segment, label and find keywords in every sample, and store them (the run's last step)."""
        if self.analysis is None:
            return
        try:
            trajectories = self.trajectories()
            self.segments = [self.analysis.analyze(t) for t in trajectories]
            store = self.recorder.store
            if store is not None:
                for t, segments in zip(trajectories, self.segments, strict=True):
                    if t.raw:
                        store.add_segments(t.id, segments)
        except Exception as exc:  # analysis must never lose the recorded run: warn instead
            warnings.warn(f"run {self.id}: analysis failed: {exc}", RuntimeWarning, stacklevel=1)

    def _publish(self, event: TokenEvent | FinishEvent | RunEnd) -> None:
        with self._sub_lock:
            subscribers = list(self._subscribers)
        for fn in subscribers:
            try:
                fn(event)
            except Exception as exc:  # a broken subscriber must not stop the run
                warnings.warn(f"run subscriber {fn!r} failed: {exc}", RuntimeWarning, stacklevel=1)

    # -- public API ------------------------------------------------------------------------------
    def subscribe(self, fn: Subscriber) -> Callable[[], None]:
        """Call ``fn`` with every later event; return a function that unsubscribes it."""
        with self._sub_lock:
            self._subscribers.append(fn)

        def unsubscribe() -> None:
            with self._sub_lock:
                if fn in self._subscribers:
                    self._subscribers.remove(fn)

        return unsubscribe

    def cancel(self) -> None:
        """Stop the run; samples end with status ``cancelled`` within one token step."""
        self._cancel.set()

    def inject(self, text: str, *, sample: int | None = None) -> None:
        """Force ``text`` into a sample (``None``: all) at its next step (local backends)."""
        self.control.inject(text, sample=sample)

    def end_thinking(self, *, sample: int | None = None) -> None:
        """Close the thinking now: force ``"\\n</think>\\n\\n"`` (or the budget's end text)."""
        budget = self.request.budget
        self.inject(budget.end_text if budget is not None else END_THINKING, sample=sample)

    @property
    def done(self) -> bool:
        """Whether the run has ended (in any way)."""
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> list[Trajectory]:
        """Block until the run ends (or ``timeout`` seconds pass); return the trajectories."""
        self._done.wait(timeout)
        return self.trajectories()

    def trajectories(self) -> list[Trajectory]:
        """Return the run's trajectories as they stand (partial while running)."""
        return [self.recorder.trajectory(i) for i in range(len(self.trajectory_ids))]

    def progress(self) -> dict[str, Any]:
        """Return ``{"tokens", "tokens_per_s", "elapsed_s", "samples_done", "status"}``."""
        end = self.ended if self.ended is not None else time.perf_counter()
        elapsed = end - self.started
        tokens = sum(rec.n_tokens for rec in self.streams)
        return {
            "status": self.status,
            "tokens": tokens,
            "tokens_per_s": tokens / elapsed if elapsed > 0 else 0.0,
            "elapsed_s": elapsed,
            "samples_done": sum(rec.finished for rec in self.streams),
            "samples": len(self.streams),
        }

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        """Display in Jupyter: a streaming LiveTrace (Stop, end thinking, Wait) or static HTML."""
        from workbench.display import mimebundle

        return mimebundle(self, "run")

    def __repr__(self) -> str:
        p = self.progress()
        return (
            f"Run(id={self.id!r}, status={self.status!r}, samples={p['samples']}, "
            f"tokens={p['tokens']}, tokens_per_s={p['tokens_per_s']:.1f})"
        )
