"""The Session: loaded models, and the runs made with them, recorded to a store."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from workbench.analysis.pipeline import AnalysisOptions
from workbench.backends.base import Backend, BudgetForcing, GenerationRequest, SamplingParams
from workbench.backends.registry import create_backend
from workbench.errors import SessionClosedError, ValidationError
from workbench.session.run import Run, Subscriber
from workbench.store.store import Store
from workbench.trajectory import Constraint, Message, Trajectory

__all__ = ["Session"]


class Session:
    """A kernel-side session: one loaded model at a time, runs streaming in the background.

    Parameters
    ----------
    model
        Model to load now (alias, folder or hub id), or an already-built :class:`Backend`;
        ``None`` loads nothing until :meth:`load` or the first :meth:`generate`.
    store
        A :class:`Store`, a path, or ``None`` for the default store (``$WORKBENCH_STORE`` or
        ``./workbench.db``); ``False`` records nothing.
    backend
        Backend name for ``model``: ``"transformers"`` (default), ``"openai"``, ``"vllm"``.
    checkpoint_s
        How often a streaming run saves its partial trajectories.
    analysis
        How each run's samples are analysed when the run ends (segments, pattern labels and
        keyword hits, stored with the trajectories); ``None`` skips the step.
    **backend_options
        Passed to the backend (``device``, ``dtype``, ``base_url``, …).

    Examples
    --------
    ::

        s = Session("smollm2-135m")
        run = s.generate("What is 17 + 25?", n=2, thinking_budget=64)  # returns at once
        run.wait()                                                      # the trajectories
    """

    def __init__(
        self,
        model: str | Backend | None = None,
        *,
        store: Store | str | os.PathLike[str] | bool | None = None,
        backend: str = "transformers",
        checkpoint_s: float = 0.5,
        analysis: AnalysisOptions | None = AnalysisOptions(),  # noqa: B008 (frozen, immutable)
        **backend_options: Any,
    ) -> None:
        if store is False:
            self.store: Store | None = None
        elif isinstance(store, Store):
            self.store = store
        else:
            self.store = Store(None if store is None or store is True else store)
        self.checkpoint_s = checkpoint_s
        self.analysis = analysis
        self.runs: list[Run] = []
        self._closed = False
        # one long-lived worker: runs queue up behind each other, and the math libraries' thread
        # pools (OpenMP) stay attached to one thread instead of being rebuilt for every run
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="workbench-run")
        self.backend: Backend | None = None
        if model is not None:
            self.load(model, backend=backend, **backend_options)

    def load(
        self, model: str | Backend, *, backend: str = "transformers", **options: Any
    ) -> Backend:
        """Load a model (unloading the current one first); return its backend."""
        self._require_open("load a model")
        self.unload()
        self.backend = (
            model if isinstance(model, Backend) else create_backend(backend, model, **options)
        )
        return self.backend

    def unload(self) -> None:
        """Unload the current model and free its memory; running runs are cancelled first."""
        for run in self.runs:
            if not run.done:
                run.cancel()
                run._done.wait(30)  # not run.wait(): its trajectories are not needed here
        if self.backend is not None:
            self.backend.close()
            self.backend = None

    def generate(
        self,
        prompt: str | list[Message],
        *,
        n: int = 1,
        max_new_tokens: int = 512,
        temperature: float = 0.6,
        top_p: float = 0.95,
        top_k: int | None = None,
        seed: int | None = None,
        stop: tuple[str, ...] | list[str] = (),
        logprobs: int = 0,
        ignore_eos: bool = False,
        enable_thinking: bool | None = None,
        thinking_prefill: str | None = None,
        thinking_budget: int | None = None,
        budget: BudgetForcing | None = None,
        constraints: list[Constraint] | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        subscribers: list[Subscriber] | None = None,
        recipe: str = "auto",
        analyze: bool = True,
        parent_id: str | None = None,
    ) -> Run:
        """Start a run and return it at once; it streams on a background thread.

        Parameters
        ----------
        prompt
            A user message, or chat messages.
        n, max_new_tokens, temperature, top_p, top_k, seed, stop, logprobs, ignore_eos
            Sampling (see :class:`~workbench.backends.SamplingParams`).
        enable_thinking
            Passed to chat templates that support it (Qwen3).
        thinking_prefill
            Start of the assistant turn, e.g. ``"<think>\\n"``.
        thinking_budget
            Shorthand for ``budget=BudgetForcing(max_thinking_tokens=thinking_budget)``: after that
            many thinking tokens, ``"\\n</think>\\n\\n"`` is forced and the model answers.
        budget
            Full :class:`~workbench.backends.BudgetForcing` (s1-style "Wait" included).
        constraints
            Constraints of the instruction, recorded (and used by attention analyses).
        tags, metadata
            Recorded on every trajectory.
        subscribers
            Callables receiving every event (attached before the first token).
        recipe
            ``"auto"``: apply the model's thinking recipe when it has one (models not trained to
            think, such as the default SmolLM2: a one-shot example, a ``<think>`` prefill and, unless
            a budget is given, the end of thinking forced after half of ``max_new_tokens``; the
            messages actually sent are recorded as the prompt). ``"none"``: send the prompt as is.
        analyze
            Analyse the samples when the run ends (with the session's ``analysis`` options) and
            store their segments; ``False`` skips it for this run.
        parent_id
            Recorded as every trajectory's ``parent_id`` (the trajectory a fork was made from; see
            :meth:`branch`).
        """
        self._require_open("generate")
        if self.backend is None:
            raise ValidationError(
                "Session.model", "no model loaded: Session('smollm2-135m') or .load(...)"
            )
        if prompt is None or not isinstance(prompt, str | list | tuple):
            raise ValidationError(
                "Session.generate.prompt",
                f"expected a string or a list of messages, got {type(prompt).__name__}",
            )
        if isinstance(stop, str):  # a string is one stop string, not its characters
            stop = (stop,)
        if budget is not None and thinking_budget is not None:
            raise ValidationError(
                "Session.generate.thinking_budget", "give thinking_budget or budget, not both"
            )
        if thinking_budget is not None:
            budget = BudgetForcing(max_thinking_tokens=thinking_budget)
        if recipe not in ("auto", "none"):
            raise ValidationError("Session.generate.recipe", f"{recipe!r} is not 'auto' or 'none'")
        messages = (
            [{"role": "user", "content": prompt}] if isinstance(prompt, str) else list(prompt)
        )
        metadata = dict(metadata or {})
        chosen = self.backend.recipe if recipe == "auto" else None
        if chosen is not None:
            messages = chosen.apply(messages)
            if thinking_prefill is None:
                thinking_prefill = chosen.prefill
            if budget is None:
                budget = BudgetForcing(
                    max_thinking_tokens=max(1, int(max_new_tokens * chosen.budget_fraction))
                )
            metadata.setdefault("recipe", chosen.name)
        request = GenerationRequest(
            messages=messages,
            sampling=SamplingParams(
                n=n,
                temperature=temperature,
                top_p=top_p,
                top_k=top_k,
                max_new_tokens=max_new_tokens,
                seed=seed,
                stop=tuple(stop),
                logprobs=logprobs,
                ignore_eos=ignore_eos,
            ),
            enable_thinking=enable_thinking,
            thinking_prefill=thinking_prefill,
            budget=budget,
            constraints=list(constraints or []),
        )
        run = Run(
            self.backend,
            request,
            store=self.store,
            checkpoint_s=self.checkpoint_s,
            tags=tags,
            metadata=metadata,
            subscribers=subscribers,
            analysis=self.analysis if analyze else None,
            parent_id=parent_id,
        )
        run.session = self
        run.start(self._executor)  # raises (and the run is not kept) when it cannot start
        self.runs.append(run)
        return run

    def branch(
        self,
        trajectory: Trajectory,
        *,
        at_token: int,
        text: str | None = None,
        alternative: int | None = None,
        **generate_kwargs: Any,
    ) -> Run:
        """Fork ``trajectory`` at one of its tokens: keep what came before, replace the token, go on.

        The fork sends the original's recorded prompt as it was sent (a thinking recipe is not
        applied twice) and forces the start of the assistant turn: ``trajectory.raw`` up to token
        ``at_token``, then the replacement; the loaded model continues from there. It returns at
        once, like :meth:`generate`, with the fork streaming.

        Parameters
        ----------
        trajectory
            The original, live (``run.trajectories()[0]``) or stored (``store.get(id)``), with
            recorded token offsets.
        at_token
            Index of the token to replace; tokens ``[0, at_token)`` are kept.
        text
            Text to put in place of the token.
        alternative
            Index of one of the token's recorded alternatives (``0``: the most likely;
            ``trajectory.tokens.alternatives(at_token)`` lists them), for a trajectory generated
            with ``logprobs=k``. With neither ``text`` nor ``alternative`` the token is sampled
            again.
        **generate_kwargs
            Options of :meth:`generate` (``max_new_tokens``, ``temperature``, ``n``, ``seed``,
            ``tags``, ...). By default the fork samples like the original (temperature, top-p,
            top-k, stop strings, logprobs), with the original's ``max_new_tokens`` minus the kept
            tokens and what is left of its thinking budget; the seed is not reused.

        Returns
        -------
        Run
            The fork's run. Its trajectories have ``parent_id=trajectory.id`` and metadata
            ``branch``: ``at_token``, ``at_char`` (where the kept text ends), ``replaced`` (the
            token's text) and ``replaced_id``, ``text`` (what was put instead), ``source``
            (``"alternative"``, ``"text"`` or ``"resample"``), ``alternative`` (index, id and
            logprob) and ``prefix_chars`` (the forced prefix is ``raw[:prefix_chars]``, also
            recorded as sampling ``thinking_prefill`` and in ``forced_spans``).

        Raises
        ------
        ValidationError
            For a bad token index, both ``text`` and ``alternative``, ``alternative`` on a
            trajectory recorded without alternatives, or options :meth:`generate` rejects.

        Examples
        --------
        ::

            t = session.generate("What is 17 + 25?", logprobs=5).wait()[0]
            t.tokens.alternatives(12)                     # [(text, logprob, id), ...]
            fork = session.branch(t, at_token=12, alternative=1).wait()[0]
            fork.parent_id == t.id, fork.metadata["branch"]["source"]   # (True, 'alternative')
        """
        from workbench.session._branch import plan_branch

        for name in ("prompt", "thinking_prefill", "recipe", "parent_id"):
            if name in generate_kwargs:
                raise ValidationError(
                    f"Session.branch.{name}",
                    "is set by the branch (the original's prompt and text)",
                )
        plan = plan_branch(
            trajectory, at_token=at_token, text=text, alternative=alternative,
            overrides=generate_kwargs,
        )  # fmt: skip
        return self.generate(
            plan.messages,
            thinking_prefill=plan.prefill,
            recipe="none",
            parent_id=trajectory.id,
            **plan.options,
        )

    def close(self) -> None:
        """Unload the model, stop the worker thread and close the store (again: nothing happens)."""
        if self._closed:
            return
        self._closed = True
        try:
            self.unload()
        finally:
            self._executor.shutdown(wait=True)
            if self.store is not None:
                self.store.close()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called (a closed session loads and generates nothing)."""
        return self._closed

    def _require_open(self, action: str) -> None:
        if self._closed:
            raise SessionClosedError(
                f"cannot {action}: this session was closed; start a new one "
                "(wb.Session(model, store=...))"
            )

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        model = None if self.backend is None else self.backend.model_name
        store = None if self.store is None else str(self.store.path)
        return f"Session(model={model!r}, store={store!r}, runs={len(self.runs)})"
