"""Local generation with transformers: streaming, exact logprobs and entropy, budget forcing.

The backend runs its own decoding loop over the key/value cache instead of ``model.generate``: that
is what lets it stop within one token step, force text into a sample mid-stream (budget forcing,
"end thinking now", "insert Wait"), and report for every token the exact log-probability and the
entropy of the model's distribution. The ``n`` samples of a request share the prompt, so they run
as one batch in lock step without padding; a forced token simply replaces a sample's sampled token
at that step.

Log-probabilities and entropies are those of the model's raw next-token distribution (before
temperature, top-k and top-p), as vLLM reports them by default.
"""

from __future__ import annotations

import contextlib
import gc
import inspect
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from workbench.backends.base import (
    Backend,
    Event,
    FinishEvent,
    GenerationRequest,
    RunControl,
    TokenEvent,
)
from workbench.backends.budget import BudgetState, end_thinking_now, replace_early_close
from workbench.backends.models import ALIASES, DEFAULT_MODEL, ThinkingRecipe, resolve_model
from workbench.backends.prompting import chat_prompt_text
from workbench.errors import ValidationError, WorkbenchError
from workbench.think import CLOSE_TAG, OPEN_TAG, thinking_open

__all__ = ["TransformersBackend", "render_prompt"]


def render_prompt(tokenizer: Any, request: GenerationRequest) -> str:
    """Return the prompt text: the chat template applied to the messages, plus the prefill."""
    return chat_prompt_text(tokenizer, request) + (request.thinking_prefill or "")


def _starts_in_thinking(prompt_text: str) -> bool:
    return thinking_open(prompt_text[-400:])


@dataclass(slots=True)
class _Sample:
    """Decoding state of one sample."""

    index: int
    thinking: bool
    ids: list[int] = field(default_factory=list)
    text: str = ""
    prefix_offset: int = 0
    read_offset: int = 0
    held: str = ""
    forced: deque[int] = field(default_factory=deque)
    budget: BudgetState = field(default_factory=BudgetState)
    done: bool = False


class TransformersBackend(Backend):
    """Generate with a transformers causal LM on CPU or GPU.

    Parameters
    ----------
    model
        An alias (default ``"smollm2-135m"``), a local folder or a hub id available offline.
    device
        ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``; default: CUDA when available, else CPU.
    dtype
        ``"float32"``, ``"bfloat16"``, ``"float16"`` or a torch dtype; default: bfloat16 on CUDA
        (float16 where bfloat16 is unsupported), float32 on CPU (exact log-probabilities).
    attn_implementation
        Passed to ``from_pretrained`` (``"sdpa"``, ``"eager"``, ``"flash_attention_2"``).

    Examples
    --------
    ::

        backend = TransformersBackend("smollm2-135m")
        req = GenerationRequest(messages="What is 17 + 25?", thinking_prefill="<think>\n")
        for event in backend.stream(req, cancel=threading.Event()):
            print(getattr(event, "text", event), end="")
    """

    name = "transformers"
    model: Any
    tokenizer: Any

    def __init__(
        self,
        model: str | None = None,
        *,
        device: str | None = None,
        dtype: Any = None,
        attn_implementation: str | None = None,
    ) -> None:
        import torch
        import transformers

        transformers.utils.logging.disable_progress_bar()
        self._name = model or DEFAULT_MODEL
        path = resolve_model(self._name)
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.dtype = _resolve_dtype(dtype, self.device)
        kwargs: dict[str, Any] = {"dtype": self.dtype}
        if attn_implementation is not None:
            kwargs["attn_implementation"] = attn_implementation
        try:
            self.tokenizer = transformers.AutoTokenizer.from_pretrained(path)
            self.model = transformers.AutoModelForCausalLM.from_pretrained(path, **kwargs)
        except OSError as exc:
            raise WorkbenchError(
                f"cannot load model {self._name!r} ({exc}); offline, use an alias, a local "
                "folder, or a hub id already in the local cache"
            ) from exc
        self.model.to(self.device).eval()
        alias = ALIASES.get(self._name)
        self.recipe = alias.recipe if alias is not None else None
        self._setup()

    @classmethod
    def from_objects(
        cls, model: Any, tokenizer: Any, *, name: str, recipe: ThinkingRecipe | None = None
    ) -> TransformersBackend:
        """Wrap an already-built model and tokenizer (tiny test models, custom loading)."""
        self = cls.__new__(cls)
        self._name = name
        self.recipe = recipe
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.device = next(model.parameters()).device
        self.dtype = next(model.parameters()).dtype
        self._setup()
        return self

    def _setup(self) -> None:
        eos: set[int] = set()
        for source in (getattr(self.model, "generation_config", None), self.tokenizer):
            value = getattr(source, "eos_token_id", None)
            if isinstance(value, int):
                eos.add(value)
            elif isinstance(value, list | tuple):
                eos.update(int(v) for v in value)
        self.eos_ids = frozenset(eos)
        close = self.tokenizer.encode(CLOSE_TAG, add_special_tokens=False)
        self.close_tag_id: int | None = close[0] if len(close) == 1 else None
        self._lock = threading.Lock()
        # transformers >= 5.x names the key/value cache `cache`; earlier, `past_key_values`.
        params = inspect.signature(self.model.forward).parameters
        self._cache_arg = "cache" if "cache" in params else "past_key_values"
        self._pieces: dict[int, tuple[str, str]] = {}

    def _piece(self, token: int) -> tuple[str, str]:
        """``(vocabulary string, decoded text)`` of one token id, cached (top-k alternatives)."""
        piece = self._pieces.get(token)
        if piece is None:
            (name,) = self.tokenizer.convert_ids_to_tokens([token])
            piece = (str(name), str(self.tokenizer.decode([token], skip_special_tokens=False)))
            self._pieces[token] = piece
        return piece

    @property
    def model_name(self) -> str:
        """The name the model was loaded by (alias, folder or hub id)."""
        return self._name

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` without special tokens."""
        return list(self.tokenizer.encode(text, add_special_tokens=False))

    def close(self) -> None:
        """Drop the model and free its memory (GPU memory included)."""
        import torch

        self.model = None
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    # -- generation ------------------------------------------------------------------------------
    def stream(
        self,
        request: GenerationRequest,
        *,
        cancel: threading.Event,
        control: RunControl | None = None,
    ) -> Iterator[Event]:
        """Generate the request's samples, yielding token events as each step completes.

        Text queued on ``control`` is forced into its sample at the next step. Errors (out of
        memory included) end every open sample with ``finish_reason="error"`` and a message.
        """
        if self.model is None:
            raise WorkbenchError("this backend was closed: load the model again")
        budget = request.budget
        if budget is not None and budget.min_thinking_tokens and self.close_tag_id is None:
            raise ValidationError(
                "BudgetForcing.min_thinking_tokens",
                f"needs a tokenizer in which {CLOSE_TAG} is one token (this model splits it); "
                "use max_thinking_tokens, or RunControl.inject('Wait') while it streams",
            )
        prompt_text = render_prompt(self.tokenizer, request)
        n = request.sampling.n
        thinking = _starts_in_thinking(prompt_text)
        samples = [_Sample(index=i, thinking=thinking) for i in range(n)]
        with self._lock:  # one generation at a time per loaded model
            if request.thinking_prefill:
                for s in samples:
                    s.text = request.thinking_prefill
                    yield TokenEvent(sample=s.index, text=request.thinking_prefill, forced=True)
            try:
                yield from self._decode(request, prompt_text, samples, cancel, control)
            except Exception as exc:  # out of memory, device errors, bugs: end the run readably
                message = _describe_error(exc)
                for s in samples:
                    if not s.done:
                        s.done = True
                        yield FinishEvent(sample=s.index, finish_reason="error", error=message)

    def _decode(
        self,
        request: GenerationRequest,
        prompt_text: str,
        samples: list[_Sample],
        cancel: threading.Event,
        control: RunControl | None,
    ) -> Iterator[Event]:
        import torch

        sampling = request.sampling
        n = sampling.n
        prompt_ids = self.tokenizer(prompt_text, add_special_tokens=False, return_tensors="pt")
        input_ids = prompt_ids["input_ids"].to(self.device).repeat(n, 1)
        generator = torch.Generator(device=self.device)
        if sampling.seed is not None:
            generator.manual_seed(sampling.seed)
        else:
            generator.seed()
        past: Any = None
        next_input = input_ids
        with contextlib.ExitStack() as stack:
            capture = self._capture(stack, request, prompt_text, int(input_ids.shape[1]))
            yield from self._steps(
                request, samples, cancel, control, next_input, past, generator, capture
            )

    def _capture(
        self, stack: contextlib.ExitStack, request: GenerationRequest, prompt_text: str, n: int
    ) -> Any:
        """Start recording constraint attention when the request has located constraints."""
        located = constraint_positions(self.tokenizer, request, prompt_text)
        if located is None:
            return None
        from workbench.attention import capture_constraint_mass

        union, groups = located
        # α of a token is the attention of the step that produced it: the query before it
        return stack.enter_context(
            capture_constraint_mass(
                self.model, union, groups=groups, query_start=n - 1, one_sequence=True
            )
        )

    def _steps(
        self,
        request: GenerationRequest,
        samples: list[_Sample],
        cancel: threading.Event,
        control: RunControl | None,
        next_input: Any,
        past: Any,
        generator: Any,
        capture: Any,
    ) -> Iterator[Event]:
        import torch

        sampling = request.sampling
        for _step in range(sampling.max_new_tokens):
            if cancel.is_set():
                break
            with torch.inference_mode():
                out = self.model(
                    input_ids=next_input,
                    **{self._cache_arg: past},
                    use_cache=True,
                    logits_to_keep=1,
                )
            mass = _step_mass(capture, len(samples))
            past = out[self._cache_arg]
            logits = out.logits[:, -1, :].float()
            logp = torch.log_softmax(logits, dim=-1)
            entropy = -(logp.exp() * logp).nan_to_num().sum(dim=-1)
            sampled = _sample(
                logits, sampling.temperature, sampling.top_k, sampling.top_p, generator
            )
            top = torch.topk(logp, sampling.logprobs, dim=-1) if sampling.logprobs > 0 else None
            if top is not None:
                top_values, top_ids = top.values.tolist(), top.indices.tolist()
            sampled_ids = sampled.tolist()
            chosen_lp = logp.gather(1, sampled.unsqueeze(1)).squeeze(1).tolist()
            entropies = entropy.tolist()
            fed: list[int] = []
            for s in samples:
                if s.done:
                    fed.append(s.ids[-1] if s.ids else sampled_ids[s.index])
                    continue
                token, forced = self._next_token(s, sampled_ids[s.index], request, control)
                fed.append(token)
                if not forced and token in self.eos_ids and not sampling.ignore_eos:
                    s.done = True
                    if s.held:
                        yield TokenEvent(sample=s.index, text=s.held)
                        s.held = ""
                    yield FinishEvent(sample=s.index, finish_reason="stop")
                    continue
                event = self._advance(s, token, request, forced=forced)
                top_lp = alternatives = None
                if top is not None:
                    values, ids = top_values[s.index], top_ids[s.index]
                    pieces = [self._piece(i) for i in ids]
                    # keyed by vocabulary string: unique, unlike decoded texts
                    top_lp = ({p[0]: v for p, v in zip(pieces, values, strict=True)},)
                    alternatives = (
                        tuple((i, p[1], v) for i, p, v in zip(ids, pieces, values, strict=True)),
                    )
                yield TokenEvent(
                    sample=s.index,
                    text=event,
                    token_ids=(token,),
                    logprobs=(
                        chosen_lp[s.index]
                        if token == sampled_ids[s.index]
                        else float(logp[s.index, token]),
                    ),
                    entropies=(entropies[s.index],),
                    top_logprobs=top_lp,
                    alternatives=alternatives,
                    forced=forced,
                    constraint_mass=None if mass is None else mass[s.index],
                )
                if s.done:
                    yield FinishEvent(sample=s.index, finish_reason="stop")
            if all(s.done for s in samples):
                return
            next_input = torch.tensor(fed, device=self.device).unsqueeze(1)
        reason = "cancelled" if cancel.is_set() else "length"
        for s in samples:
            if not s.done:
                s.done = True
                if s.held:
                    yield TokenEvent(sample=s.index, text=s.held)
                yield FinishEvent(sample=s.index, finish_reason=reason)

    def _next_token(
        self, s: _Sample, sampled: int, request: GenerationRequest, control: RunControl | None
    ) -> tuple[int, bool]:
        """Choose the token fed for a sample: forced text first, then the sampled token."""
        if control is not None:
            injected = control.take(s.index)
            if injected:
                s.forced.extend(self.encode(injected))
        if s.forced:
            return s.forced.popleft(), True
        if s.thinking and sampled == self.close_tag_id:
            replacement = replace_early_close(request.budget, s.budget)
            if replacement is not None:
                s.budget.continues += 1
                s.forced.extend(self.encode(replacement))
                if s.forced:
                    return s.forced.popleft(), True
        return sampled, False

    def _advance(self, s: _Sample, token: int, request: GenerationRequest, *, forced: bool) -> str:
        """Append a token to a sample; return the text that can be shown now."""
        if s.thinking and not forced:
            s.budget.thinking_tokens += 1
        s.ids.append(token)
        delta = self._detokenize(s)
        s.text += delta
        window = s.text[-(len(delta) + len(CLOSE_TAG)) :]
        if s.thinking and CLOSE_TAG in window:
            s.thinking = False
        elif not s.thinking and s.budget.thinking_tokens == 0 and OPEN_TAG in window:
            s.thinking = True
        if s.thinking:
            ending = end_thinking_now(request.budget, s.budget)
            if ending is not None:
                s.budget.spent = True
                s.forced.extend(self.encode(ending))
        return self._release(s, delta, request.sampling.stop)

    def _detokenize(self, s: _Sample) -> str:
        """Incremental detokenisation (only the last few tokens are decoded at each step)."""
        decode = self.tokenizer.decode
        before = str(decode(s.ids[s.prefix_offset : s.read_offset], skip_special_tokens=False))
        after = str(decode(s.ids[s.prefix_offset :], skip_special_tokens=False))
        if len(after) > len(before) and not after.endswith("\ufffd"):
            s.prefix_offset = s.read_offset
            s.read_offset = len(s.ids)
            return after[len(before) :]
        return ""

    @staticmethod
    def _release(s: _Sample, delta: str, stop: tuple[str, ...]) -> str:
        """Hold back text that may be the start of a stop string; end the sample on a stop string."""
        if not stop:
            return delta
        buffer = s.held + delta
        for stop_string in stop:
            at = buffer.find(stop_string)
            if at >= 0:
                s.done = True
                s.held = ""
                s.text = s.text[: len(s.text) - len(buffer) + at]
                return buffer[:at]
        keep = 0
        for stop_string in stop:
            for k in range(min(len(stop_string) - 1, len(buffer)), 0, -1):
                if buffer.endswith(stop_string[:k]):
                    keep = max(keep, k)
                    break
        s.held = buffer[len(buffer) - keep :] if keep else ""
        return buffer[: len(buffer) - keep]


def _step_mass(capture: Any, n: int) -> Any:
    """Return this step's constraint mass per sample, ``[n, 1, L, C]``, or ``None``."""
    if capture is None:
        return None
    steps = capture.pop()
    if not steps:
        return None
    last = steps[-1]
    if last.ndim == 3:  # one sample: [rows, L, C]
        last = last[None]
    return last[:, -1:].copy() if last.shape[0] == n else None


def constraint_positions(
    tokenizer: Any, request: GenerationRequest, prompt_text: str
) -> tuple[Any, list[Any]] | None:
    """Token positions of the request's located constraints in the rendered prompt.

    Returns
    -------
    tuple or None
        ``(union of positions, one position array per constraint)``, or ``None`` when no
        constraint has a span that can be found in the prompt (constraints without spans are
        skipped; see :func:`workbench.constraints.resolve_constraints` to locate them).
    """
    import numpy as np

    from workbench.constraints.tokens import prompt_positions

    located = [c for c in request.constraints if c.spans]
    if not located:
        return None
    enc = tokenizer(prompt_text, add_special_tokens=False, return_offsets_mapping=True)
    offsets = np.asarray(enc["offset_mapping"], dtype=np.int64).reshape(-1, 2)
    groups = prompt_positions(prompt_text, offsets, request.messages, located)
    for c, positions in zip(located, groups, strict=True):
        if positions.size == 0:
            raise ValidationError("Constraint.spans", f"constraint {c.text!r} covers no token")
    union = np.unique(np.concatenate(groups))
    return union, groups


def _sample(
    logits: Any, temperature: float, top_k: int | None, top_p: float, generator: Any
) -> Any:
    """Draw one token per row: greedy at temperature 0, else temperature, top-k, top-p sampling."""
    import torch

    if temperature == 0:
        return logits.argmax(dim=-1)
    scaled = logits / temperature
    if top_k is not None and top_k < scaled.shape[-1]:
        kth = torch.topk(scaled, top_k, dim=-1).values[:, -1:]
        scaled = scaled.masked_fill(scaled < kth, float("-inf"))
    if top_p < 1.0:
        sorted_logits, order = torch.sort(scaled, descending=True, dim=-1)
        probs = torch.softmax(sorted_logits, dim=-1)
        drop = probs.cumsum(dim=-1) - probs > top_p
        sorted_logits = sorted_logits.masked_fill(drop, float("-inf"))
        scaled = torch.full_like(scaled, float("-inf")).scatter(-1, order, sorted_logits)
    probs = torch.softmax(scaled, dim=-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


def _resolve_dtype(dtype: Any, device: Any) -> Any:
    import torch

    if dtype is None:
        if device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32
    if isinstance(dtype, str):
        value = getattr(torch, dtype, None)
        if not isinstance(value, torch.dtype):
            raise ValidationError("TransformersBackend.dtype", f"unknown dtype {dtype!r}")
        return value
    return dtype


def _describe_error(exc: Exception) -> str:
    name = type(exc).__name__
    if "OutOfMemory" in name or "out of memory" in str(exc).lower():
        return (
            f"out of memory ({exc}); try fewer samples (n), fewer max_new_tokens, a smaller dtype "
            "or a smaller model"
        )
    return f"{name}: {exc}"
