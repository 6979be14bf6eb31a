"""LiveTrace's branching: a clicked token's alternatives, and forks streaming as new columns.

The front end asks for a token (``token_request``) and gets its recorded alternatives
(``token_info``); choosing one, or typing text, sends ``branch``. The kernel calls
:meth:`workbench.Session.branch` on the sample's trajectory as it stands (live or stored), adds one
column per sample of the fork (``sample_added``, with its :class:`BranchInfo`) and streams it
through the same flushes as the original's samples.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from workbench.backends.base import FinishEvent, TokenEvent
from workbench.errors import ValidationError, WorkbenchError
from workbench.session.run import Run, RunEnd
from workbench.trajectory import Trajectory
from workbench.widgets._protocol import (
    AckMsg,
    AlternativeRow,
    BranchInfo,
    SampleAddedMsg,
    TokenInfoMsg,
)
from workbench.widgets._stream import LiveSample

if TYPE_CHECKING:
    from workbench.analysis.pipeline import AnalysisOptions
    from workbench.session.session import Session

__all__ = ["Branching", "finished", "recorded"]

_NO_SESSION = "to branch, give the trace a session: LiveTrace(t, session=wb.Session(model))"


def _quote(text: str, limit: int = 40) -> str:
    shown = text.replace("\n", "⏎").replace("\t", "⇥")
    return "“" + (shown if len(shown) <= limit else shown[: limit - 1] + "…") + "”"


def recorded(run: Run, sample: int) -> Callable[[], Trajectory]:
    """Return a getter of a run's sample as it stands."""
    return partial(run.recorder.trajectory, sample)


def finished(t: Trajectory) -> Callable[[], Trajectory]:
    """Return a getter of a finished trajectory."""

    def get() -> Trajectory:
        return t

    return get


@dataclass(slots=True)
class _Fork:
    """A fork streaming into the trace: its run and the columns of its samples."""

    run: Run
    columns: list[int]
    ended: bool = False
    final_sent: bool = False
    unsubscribe: Callable[[], None] | None = None
    parent: int = -1
    info: dict[str, Any] = field(default_factory=dict)


class Branching:
    """The branching half of :class:`~workbench.widgets.LiveTrace` (a mixin; see the module)."""

    samples: list[LiveSample]
    run: Run | None
    session: Session | None
    options: AnalysisOptions
    _lock: threading.RLock
    _seq: int
    _wake: threading.Event
    _forks: list[_Fork]
    _sources: list[Callable[[], Trajectory]]

    if TYPE_CHECKING:

        def send_message(self, msg: Any, buffers: Any = None) -> None: ...
        def _ensure_flusher(self) -> None: ...
        def _send_final(self, i: int, trajectory: Any = None, *, segments: Any = None) -> None: ...

    # -- Python API ------------------------------------------------------------------------------
    @property
    def branches(self) -> list[Run]:
        """The runs of the forks made in this trace (by clicks or :meth:`branch`), oldest first."""
        return [f.run for f in self._forks]

    def trajectory(self, sample: int = 0) -> Trajectory:
        """Return the trajectory of a column as it stands (partial while it streams)."""
        if not 0 <= sample < len(self._sources):
            raise ValidationError("LiveTrace.sample", f"use 0..{len(self._sources) - 1}")
        return self._sources[sample]()

    def branch(
        self,
        sample: int = 0,
        *,
        at_token: int,
        text: str | None = None,
        alternative: int | None = None,
        **generate_kwargs: Any,
    ) -> Run:
        """Fork a column at one of its tokens and stream the fork beside it (what a click does).

        Parameters
        ----------
        sample
            The column to fork (its trajectory as it stands).
        at_token, text, alternative, **generate_kwargs
            As in :meth:`workbench.Session.branch`.

        Returns
        -------
        Run
            The fork's run; its samples appear as new columns, titled as branches of the parent.

        Raises
        ------
        ValidationError
            When the trace has no session (a stored trajectory shown without ``session=``), or
            what :meth:`~workbench.Session.branch` raises.
        """
        session = self._branch_session()
        if session is None:
            raise ValidationError("LiveTrace.session", _NO_SESSION)
        parent = self.trajectory(sample)
        run = session.branch(
            parent, at_token=at_token, text=text, alternative=alternative, **generate_kwargs
        )
        self._add_fork(run, sample)
        return run

    # -- front-end messages ----------------------------------------------------------------------
    def _on_token_request(self, msg: dict[str, Any]) -> None:
        i, k = msg["sample"], msg["token"]
        if not 0 <= i < len(self.samples):
            raise ValidationError("LiveTrace.token_request.sample", f"no sample {i}")
        s = self.samples[i]
        if not 0 <= k < min(s.n_tokens, s.stream.n_tokens):
            raise ValidationError("LiveTrace.token_request.token", f"sample {i} has no token {k}")
        _, start, end, lp, alts = s.stream.token(k)
        rows: list[AlternativeRow] = [
            {"text": t, "logprob": None if v != v else v, "id": tid} for t, v, tid in alts
        ]
        session = self._branch_session()
        reply: TokenInfoMsg = {
            "type": "token_info",
            "request_id": msg["request_id"],
            "sample": i,
            "token": k,
            "text": s.stream.since(start, 0, chars_end=end, tokens_end=0).text,
            "start": start,
            "end": end,
            "logprob": lp,
            "alternatives": rows,
            "can_branch": session is not None,
            "reason": "" if session is not None else _NO_SESSION,
        }
        self.send_message(reply)

    def _on_branch(self, msg: dict[str, Any]) -> None:
        ack: AckMsg = {"type": "ack", "request_id": msg["request_id"], "ok": True, "message": ""}
        try:
            run = self.branch(
                msg["sample"],
                at_token=msg["token"],
                text=msg["text"],
                alternative=msg["alternative"],
            )
            ack["message"] = f"branched: {', '.join(run.trajectory_ids)}"
        except WorkbenchError as exc:  # a bad choice: say so in the popover
            ack["ok"], ack["message"] = False, str(exc)
        self.send_message(ack)

    # -- forks -----------------------------------------------------------------------------------
    def _branch_session(self) -> Session | None:
        if self.session is not None:
            return self.session
        return None if self.run is None else self.run.session

    def _add_fork(self, run: Run, parent: int) -> None:
        meta = run.recorder.metadata.get("branch", {})
        at_token = int(meta.get("at_token", 0))
        replaced, chosen = str(meta.get("replaced", "")), str(meta.get("text", ""))
        if meta.get("source") == "alternative":
            how = f"alternative {meta.get('alternative')}"
        else:
            how = "typed text" if meta.get("source") == "text" else "re-sampled"
        note = f"token {at_token} {_quote(replaced)} → {_quote(chosen)} ({how})"
        with self._lock:
            parent_title = self.samples[parent].title if 0 <= parent < len(self.samples) else ""
            fork = _Fork(run=run, columns=[], parent=parent)
            for j, (tid, stream) in enumerate(zip(run.trajectory_ids, run.streams, strict=True)):
                col = len(self.samples)
                title = f"branch of {parent_title} at token {at_token}"
                if len(run.streams) > 1:
                    title += f" · sample {j}"
                sample = LiveSample(col, tid, f"{title} · {tid}", self.options, stream)
                info: BranchInfo = {
                    "parent": parent,
                    "parent_id": str(meta.get("parent_id", "")),
                    "at_token": at_token,
                    "at_char": int(meta.get("at_char", 0)),
                    "at_end": int(meta.get("at_char", 0)) + len(replaced),
                    "prefix_chars": int(meta.get("prefix_chars", 0)),
                    "source": str(meta.get("source", "")),
                    "note": note,
                }
                sample.branch = info
                self.samples.append(sample)
                self._sources.append(recorded(run, j))
                fork.columns.append(col)
                self._seq += 1
                added: SampleAddedMsg = {
                    "type": "sample_added",
                    "seq": self._seq,
                    "sample": sample.state([]),
                }
                self.send_message(added)
            self._forks.append(fork)
            fork.unsubscribe = run.subscribe(partial(self._on_fork_event, fork))
            if run.done:
                fork.ended = True
            self._ensure_flusher()
        self._wake.set()

    def _on_fork_event(self, fork: _Fork, event: TokenEvent | FinishEvent | RunEnd) -> None:
        if isinstance(event, TokenEvent):
            self._wake.set()
            return
        with self._lock:
            if isinstance(event, FinishEvent):
                s = self.samples[fork.columns[event.sample]]
                s.status = s.stream.status
            else:
                fork.ended = True
        self._wake.set()

    def _forks_pending(self) -> bool:
        """Whether a fork has something left to send (the flusher keeps going)."""
        return any(not f.final_sent for f in self._forks)

    def _flush_forks(self) -> bool:
        """Send the final state of forks that ended; return whether every fork is done."""
        for fork in self._forks:
            if fork.final_sent or not fork.ended:
                continue
            if any(self.samples[c].has_pending for c in fork.columns):
                continue
            analysed = fork.run.segments
            for j, c in enumerate(fork.columns):
                s = self.samples[c]
                s.status = s.stream.status if s.stream.finished else fork.run.status
                self._send_final(c, segments=None if analysed is None else analysed[j])
            fork.final_sent = True
        return not self._forks_pending()

    def _close_forks(self) -> None:
        for fork in self._forks:
            if fork.unsubscribe is not None:
                fork.unsubscribe()
                fork.unsubscribe = None
