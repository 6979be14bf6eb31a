"""In-process vLLM engine (extra ``workbench[vllm]``): streaming generation on a local CUDA GPU.

vLLM is imported only when a :class:`VLLMBackend` is constructed, never when this module is
imported, so ``import workbench`` stays light on machines without it. The pure translation from
vLLM's output objects (``CompletionOutput``, ``Logprob``) to workbench events lives in module-level
functions that read those objects by attribute, so it is tested without vLLM.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import gc
import importlib.util
import inspect
import math
import queue
import sys
import threading
import uuid
from collections.abc import Callable, Coroutine, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from workbench.backends.base import (
    Backend,
    BudgetForcing,
    Event,
    FinishEvent,
    GenerationRequest,
    RunControl,
    SamplingParams,
    TokenEvent,
    truncated_entropy,
)
from workbench.backends.models import DEFAULT_MODEL, resolve_model
from workbench.backends.prompting import chat_prompt_text
from workbench.errors import ValidationError, WorkbenchError

__all__ = [
    "CLOSE_TAG",
    "OPEN_TAG",
    "POLL_INTERVAL_S",
    "LogprobArrays",
    "VLLMBackend",
    "VLLMNotInstalledError",
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

OPEN_TAG = "<think>"
"""The tag that opens the thinking."""

CLOSE_TAG = "</think>"
"""The tag that closes the thinking (budget forcing watches for it)."""

POLL_INTERVAL_S = 0.05
"""How often :meth:`VLLMBackend.stream` checks ``cancel`` while it waits for the engine."""

NOT_INSTALLED_MESSAGE = (
    "vLLM is not installed: pip install 'workbench[vllm]' on a machine with a CUDA GPU; "
    "for multi-GPU servers use the openai backend against `vllm serve`"
)

_PROMPT_TAIL_CHARS = 64
"""How much of the rendered prompt's end is read to tell whether the template opened thinking."""

_SEED_STRIDE = 1_000_003
"""Seed offset between the phases of one sample (see :func:`phase_seed`)."""

_T = TypeVar("_T")


class VLLMNotInstalledError(WorkbenchError, ImportError):
    """vLLM cannot be imported (not installed, or installed but broken)."""


# --------------------------------------------------------------------------------------------
# Pure translation: vLLM-shaped objects in, workbench events out (tested without vLLM).
# --------------------------------------------------------------------------------------------


def _rank(entry: Any) -> float:
    rank = getattr(entry, "rank", None)
    return float(rank) if isinstance(rank, int) else math.inf


def _token_text(token_id: int, entry: Any) -> str:
    decoded = getattr(entry, "decoded_token", None)
    return decoded if isinstance(decoded, str) else f"<{token_id}>"


def _position(entry: Any) -> Mapping[int, Any]:
    return entry if isinstance(entry, Mapping) else dict(entry.items())


LogprobArrays = tuple[
    tuple[float, ...] | None, tuple[dict[str, float], ...] | None, tuple[float, ...] | None
]
"""``(logprobs, top_logprobs, entropies)`` of the tokens of one event, each ``None`` if unknown."""


def token_logprobs(
    token_ids: Sequence[int], logprobs: Sequence[Any] | None, top_k: int
) -> LogprobArrays:
    """Translate vLLM's per-token logprob dicts into workbench's per-token arrays.

    Parameters
    ----------
    token_ids
        The new tokens of one delta.
    logprobs
        vLLM's ``CompletionOutput.logprobs``: one ``{token id: Logprob}`` mapping per token, each
        holding the sampled token and the top-``k`` alternatives (``Logprob`` has ``logprob``,
        ``rank`` and ``decoded_token``). When it holds more positions than ``token_ids`` (a
        cumulative list), the last ``len(token_ids)`` are used.
    top_k
        The number of alternatives requested (``SamplingParams.logprobs``).

    Returns
    -------
    tuple
        ``(logprobs, top_logprobs, entropies)``: the sampled tokens' log-probabilities (``nan``
        where the sampled token is missing from its mapping); when ``top_k > 0`` the top ``top_k``
        alternatives by rank as ``{decoded token: logprob}`` (the first of tokens that decode
        alike wins) and :func:`truncated_entropy` over every returned alternative. Each is
        ``None`` when unknown (no logprobs, or fewer positions than tokens).
    """
    n = len(token_ids)
    if not n or logprobs is None:
        return None, None, None
    positions = list(logprobs)
    if len(positions) < n:
        return None, None, None
    positions = positions[len(positions) - n :]
    sampled: list[float] = []
    tops: list[dict[str, float]] = []
    entropies: list[float] = []
    for token_id, raw in zip(token_ids, positions, strict=True):
        position = _position(raw)
        chosen = position.get(int(token_id))
        sampled.append(math.nan if chosen is None else float(chosen.logprob))
        if top_k > 0:
            ranked = sorted(position.items(), key=lambda kv: (_rank(kv[1]), -kv[1].logprob))
            top: dict[str, float] = {}
            for alt_id, alt in ranked[:top_k]:
                top.setdefault(_token_text(int(alt_id), alt), float(alt.logprob))
            tops.append(top)
            entropies.append(truncated_entropy([alt.logprob for alt in position.values()]))
    if top_k > 0:
        return tuple(sampled), tuple(tops), tuple(entropies)
    return tuple(sampled), None, None


def completion_to_event(output: Any, *, sample: int, top_k: int) -> TokenEvent | None:
    """Turn one DELTA ``CompletionOutput`` into a :class:`TokenEvent` (``None`` when it is empty).

    Parameters
    ----------
    output
        An object with ``text`` (the new text), ``token_ids`` (the new tokens) and ``logprobs``
        (see :func:`token_logprobs`), as vLLM's ``CompletionOutput`` with
        ``output_kind=RequestOutputKind.DELTA``.
    sample
        The workbench sample index the output belongs to.
    top_k
        The number of alternatives requested.
    """
    text = output.text or ""
    ids = tuple(int(t) for t in (output.token_ids or ()))
    if not text and not ids:
        return None
    lps, tops, ents = token_logprobs(ids, getattr(output, "logprobs", None), top_k)
    return TokenEvent(
        sample=sample, text=text, token_ids=ids, logprobs=lps, entropies=ents, top_logprobs=tops
    )


def strip_stop_token(event: TokenEvent, token_id: int, tag: str) -> TokenEvent | None:
    """Remove a trailing stop token (and its text ``tag``) from an event.

    Used when a sample stopped on the closing-thinking token that budget forcing replaces with
    ``continue_text``. Returns ``None`` when nothing is left.
    """
    if not event.token_ids or event.token_ids[-1] != token_id:
        return event
    text = event.text[: -len(tag)] if tag and event.text.endswith(tag) else event.text
    ids = event.token_ids[:-1]
    if not text and not ids:
        return None
    return dataclasses.replace(
        event,
        text=text,
        token_ids=ids,
        logprobs=None if event.logprobs is None else event.logprobs[:-1],
        entropies=None if event.entropies is None else event.entropies[:-1],
        top_logprobs=None if event.top_logprobs is None else event.top_logprobs[:-1],
    )


def finish_event(sample: int, reason: str | None, *, aborted: bool) -> FinishEvent | None:
    """Map vLLM's ``finish_reason`` to a :class:`FinishEvent` (``None`` while unfinished).

    ``"stop"`` and ``"length"`` are kept; ``"abort"`` becomes ``"cancelled"`` when workbench
    aborted the request (``aborted``), else ``"error"``; anything else is an ``"error"``.
    """
    if reason is None:
        return None
    if reason in ("stop", "length"):
        return FinishEvent(sample=sample, finish_reason=reason)
    if reason == "abort":
        if aborted:
            return FinishEvent(sample=sample, finish_reason="cancelled")
        return FinishEvent(sample=sample, finish_reason="error", error="vLLM aborted the request")
    if reason == "error":
        return FinishEvent(
            sample=sample, finish_reason="error", error="vLLM reported an error for the request"
        )
    return FinishEvent(
        sample=sample, finish_reason="error", error=f"unknown finish reason from vLLM: {reason!r}"
    )


def thinking_open(text: str) -> bool:
    """Whether thinking is still open at the end of ``text``.

    Closed when the last :data:`CLOSE_TAG` comes after the last :data:`OPEN_TAG`; open otherwise,
    including when neither tag is present (generation is then counted as thinking, s1-style).
    """
    close = text.rfind(CLOSE_TAG)
    return close < 0 or close < text.rfind(OPEN_TAG)


def plan_phase(
    *,
    generated: int,
    max_new_tokens: int,
    thinking: bool,
    continues: int,
    budget: BudgetForcing | None,
) -> tuple[str, int, bool]:
    """Decide the next generation phase of one sample under budget forcing.

    Parameters
    ----------
    generated
        Tokens sampled so far for the sample (forced text is not counted).
    max_new_tokens
        The sample's budget of sampled tokens.
    thinking
        Whether the sample's thinking is still open.
    continues
        How many times ``continue_text`` was forced already.
    budget
        The request's budget forcing, if any.

    Returns
    -------
    tuple
        ``(forced_text, max_tokens, stop_on_close)``: text to force before the phase (``""``:
        none; otherwise ``budget.end_text``, which ends the thinking), how many tokens the phase
        may sample (``0``: the budget is spent, finish with ``"length"``) and whether the phase
        stops on the closing-thinking token (so that it can be replaced with ``continue_text``).
    """
    remaining = max_new_tokens - generated
    if remaining <= 0:
        return "", 0, False
    if budget is None or not thinking:
        return "", remaining, False
    lo, hi = budget.min_thinking_tokens, budget.max_thinking_tokens
    if lo is not None and generated < lo and continues < budget.max_continues:
        return "", min(remaining, lo - generated), True
    if hi is None:
        return "", remaining, False
    if generated >= hi:
        return budget.end_text, remaining, False
    return "", min(remaining, hi - generated), False


def phase_seed(seed: int | None, sample: int, phase: int) -> int | None:
    """Return the seed of one phase of one sample (``None`` when the request has no seed).

    Phase 0 of sample ``i`` uses ``seed + i`` (as vLLM seeds the children of an ``n > 1``
    request); later phases are offset so they do not replay the first phase's random stream.
    """
    if seed is None:
        return None
    return seed + sample + phase * _SEED_STRIDE


def render_prompt(tokenizer: Any, request: GenerationRequest) -> tuple[str, list[int], list[int]]:
    """Render a request's chat prompt with a Hugging Face-style tokenizer.

    Returns
    -------
    tuple
        ``(prompt_text, prompt_ids, prefill_ids)``: the chat template applied with the generation
        prompt (and ``enable_thinking`` when the request sets it), its token ids (no special
        tokens added: the template writes them), and the ids of ``request.thinking_prefill``
        tokenized on its own (``[]`` without a prefill). The model's context is
        ``prompt_ids + prefill_ids``.
    """
    text = chat_prompt_text(tokenizer, request)
    prompt_ids = [int(t) for t in tokenizer.encode(text, add_special_tokens=False)]
    prefill = request.thinking_prefill or ""
    prefill_ids = (
        [int(t) for t in tokenizer.encode(prefill, add_special_tokens=False)] if prefill else []
    )
    return str(text), prompt_ids, prefill_ids


def single_token_id(tokenizer: Any, text: str) -> int | None:
    """Return the id of ``text`` when the tokenizer encodes it as exactly one token, else ``None``."""
    ids = tokenizer.encode(text, add_special_tokens=False)
    return int(ids[0]) if len(ids) == 1 else None


# --------------------------------------------------------------------------------------------
# The event loop thread and the backend.
# --------------------------------------------------------------------------------------------


class _LoopThread:
    """A private asyncio event loop running forever on a daemon thread."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    @property
    def alive(self) -> bool:
        """Whether the loop still runs."""
        return self._thread.is_alive() and not self.loop.is_closed()

    def submit(self, coro: Coroutine[Any, Any, _T]) -> concurrent.futures.Future[_T]:
        """Schedule a coroutine on the loop; thread-safe."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def run(self, coro: Coroutine[Any, Any, _T], timeout: float | None = None) -> _T:
        """Run a coroutine on the loop and wait for its result (never call from the loop)."""
        return self.submit(coro).result(timeout)

    def call(self, fn: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
        """Run a plain function on the loop thread and return its result."""

        async def call() -> _T:
            return fn(*args, **kwargs)

        return self.run(call())

    def stop(self, timeout: float = 30.0) -> None:
        """Cancel the loop's tasks, stop the loop and join the thread."""
        if self.loop.is_closed():
            return

        async def cancel_all() -> None:
            current = asyncio.current_task()
            tasks = [t for t in asyncio.all_tasks() if t is not current]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        if self._thread.is_alive():
            with contextlib.suppress(Exception):  # best effort: the loop is going away anyway
                self.run(cancel_all(), timeout)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout)
        if not self._thread.is_alive():
            self.loop.close()


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
            "(the V1 engine) on a machine with a CUDA GPU: pip install 'workbench[vllm]'"
        ) from exc
    return {
        "AsyncEngineArgs": AsyncEngineArgs,
        "AsyncLLM": AsyncLLM,
        "RequestOutputKind": RequestOutputKind,
        "SamplingParams": VLLMSamplingParams,
    }


def _describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".rstrip(": ")
    cause = exc.__cause__
    if cause is not None:
        text += f" (caused by {type(cause).__name__}: {cause})"
    return text


async def _pump(
    engine: Any,
    prompt: dict[str, Any],
    params: Any,
    request_id: str,
    out: queue.Queue[tuple[str, str, Any]],
) -> None:
    """Feed one vLLM request's outputs into a thread-safe queue (runs on the loop thread).

    Puts ``("output", id, RequestOutput)`` per output, then ``("end", id, None)``, or
    ``("error", id, message)``. Cancelling the task makes vLLM abort the request.
    """
    try:
        async for output in engine.generate(prompt, params, request_id):
            out.put(("output", request_id, output))
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        out.put(("error", request_id, _describe(exc)))
    else:
        out.put(("end", request_id, None))


@dataclass(slots=True, eq=False)
class _Sample:
    """The running state of one sample across its phases (one vLLM request per phase)."""

    index: int
    context: list[int]
    prompt_tail: str
    text: str = ""
    generated: int = 0
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
      as thinking, as in s1). ``max_new_tokens`` and the thinking budgets count sampled tokens
      only, not forced text. Stop strings are matched within each phase's new text, so one that
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
        self._runner: _LoopThread | None = None
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
        args = vllm["AsyncEngineArgs"](**options)
        # The configuration is built on the calling thread: vLLM 0.10.0/0.10.1 refuse the V1 engine
        # when its configuration is created off the main thread.
        config = args.create_engine_config()
        async_llm = vllm["AsyncLLM"]
        self._encoded: dict[str, list[int]] = {}
        self._runner = _LoopThread("workbench-vllm-loop")
        try:
            # Created on the loop thread, so that vLLM's output handler task runs on that loop.
            if hasattr(async_llm, "from_vllm_config"):
                self._engine = self._runner.call(async_llm.from_vllm_config, config)
            else:
                self._engine = self._runner.call(async_llm.from_engine_args, args)
            self._tokenizer = self._runner.run(self._load_tokenizer())
            self._close_id = self._runner.call(single_token_id, self._tokenizer, CLOSE_TAG)
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

    def _require_runner(self) -> _LoopThread:
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
            "output_kind": self._delta,
        }
        if sampling.top_k is not None:  # left out, vLLM's own "off" (-1 or 0) applies
            kwargs["top_k"] = sampling.top_k
        if stop_on_close and self._close_id is not None:
            kwargs["stop_token_ids"] = [self._close_id]
        return self._vllm_sampling_params(**kwargs)

    def _force(self, sample: _Sample, text: str) -> TokenEvent:
        ids = self._encode(text)
        sample.context.extend(ids)
        sample.text += text
        return TokenEvent(sample=sample.index, text=text, token_ids=tuple(ids), forced=True)

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
            max_new_tokens=sampling.max_new_tokens,
            thinking=sample.thinking,
            continues=sample.continues,
            budget=request.budget,
        )
        if forced:
            sample.forced_end = True
            yield self._force(sample, forced)
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
        event = completion_to_event(
            completion, sample=sample.index, top_k=request.sampling.logprobs
        )
        if closed_early and event is not None and self._close_id is not None:
            event = strip_stop_token(event, self._close_id, CLOSE_TAG)
        sample.generated += len(ids)
        sample.phase_tokens += len(ids)
        if event is not None:
            sample.context.extend(event.token_ids)
            sample.text += event.text
            yield event
        if reason is None:
            return
        if sample.request_id is not None:
            running.pop(sample.request_id, None)
        sample.request_id, sample.future = None, None
        budget = request.budget
        if closed_early and budget is not None:
            sample.continues += 1
            yield self._force(sample, budget.continue_text)
            yield from self._start_phase(sample, request, out, running)
        elif (
            reason == "length"
            and sample.generated < request.sampling.max_new_tokens
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
                    yield TokenEvent(
                        sample=sample.index, text=prefill, token_ids=tuple(prefill_ids), forced=True
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


async def _abort_quietly(engine: Any, request_id: str) -> None:
    with contextlib.suppress(Exception):  # the request may be gone already
        await engine.abort(request_id)
