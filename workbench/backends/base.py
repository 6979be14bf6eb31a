"""The one interface every backend implements: a request in, a stream of events out.

A backend turns a :class:`GenerationRequest` into an iterator of :class:`TokenEvent` (one or more
tokens of one sample) and, for each sample, one final :class:`FinishEvent`. Backends never touch the
store or widgets: the session records and fans out what they yield.
"""

from __future__ import annotations

import abc
import math
import threading
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from workbench.errors import ValidationError
from workbench.think import END_THINKING
from workbench.trajectory import Constraint, Message, _check_messages

__all__ = [
    "Backend",
    "BudgetForcing",
    "Event",
    "FinishEvent",
    "GenerationRequest",
    "RunControl",
    "SamplingParams",
    "TokenEvent",
    "truncated_entropy",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class SamplingParams:
    """How to sample.

    Attributes
    ----------
    n
        Number of samples for the prompt.
    temperature
        ``0`` means greedy decoding.
    top_p, top_k
        Nucleus and top-k truncation (``top_k=None``: off).
    max_new_tokens
        Budget of generated tokens per sample (thinking and answer together).
    seed
        Random seed, for reproducible sampling where the backend supports it.
    stop
        Strings that end a sample (not included in the output).
    logprobs
        Number of top alternatives to return per token (``0``: only the sampled token's).
    ignore_eos
        Keep generating past end-of-sequence tokens until ``max_new_tokens`` (for benchmarks).
    """

    n: int = 1
    temperature: float = 0.6
    top_p: float = 0.95
    top_k: int | None = None
    max_new_tokens: int = 512
    seed: int | None = None
    stop: tuple[str, ...] = ()
    logprobs: int = 0
    ignore_eos: bool = False

    def __post_init__(self) -> None:
        o = "SamplingParams"
        if isinstance(self.stop, str):  # a string is one stop string, not its characters
            object.__setattr__(self, "stop", (self.stop,))
        elif isinstance(self.stop, list):
            object.__setattr__(self, "stop", tuple(self.stop))
        _check_int(f"{o}.n", self.n, low=1)
        _check_real(f"{o}.temperature", self.temperature)
        if self.temperature < 0:
            raise ValidationError(f"{o}.temperature", f"must be >= 0, got {self.temperature!r}")
        _check_real(f"{o}.top_p", self.top_p)
        if not 0 < self.top_p <= 1:
            raise ValidationError(f"{o}.top_p", f"must be in (0, 1], got {self.top_p!r}")
        if self.top_k is not None:
            _check_int(f"{o}.top_k", self.top_k, low=1, hint=" or None")
        _check_int(f"{o}.max_new_tokens", self.max_new_tokens, low=1)
        if self.seed is not None:
            _check_int(f"{o}.seed", self.seed, low=0, hint=" or None")
        _check_int(f"{o}.logprobs", self.logprobs, low=0)
        if self.logprobs > 20:
            raise ValidationError(f"{o}.logprobs", f"must be in 0..20, got {self.logprobs!r}")
        if not isinstance(self.ignore_eos, bool):
            raise ValidationError(
                f"{o}.ignore_eos", f"must be True or False, got {self.ignore_eos!r}"
            )
        if not isinstance(self.stop, tuple) or not all(isinstance(s, str) and s for s in self.stop):
            raise ValidationError(
                f"{o}.stop", "must be a non-empty string or a list of non-empty strings"
            )

    def to_dict(self) -> dict[str, Any]:
        """Return the parameters as a JSON-compatible dict (recorded on each trajectory)."""
        return {
            "n": self.n,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "top_k": self.top_k,
            "max_new_tokens": self.max_new_tokens,
            "seed": self.seed,
            "stop": list(self.stop),
            "logprobs": self.logprobs,
            "ignore_eos": self.ignore_eos,
        }


def _check_int(field_name: str, value: Any, *, low: int, hint: str = "") -> None:
    """Raise unless ``value`` is an integer (not a bool) of at least ``low``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        what = "a positive integer" if low == 1 else f"an integer >= {low}"
        raise ValidationError(field_name, f"must be {what}{hint}, got {value!r}")


def _check_real(field_name: str, value: Any) -> None:
    """Raise unless ``value`` is a finite number (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValidationError(field_name, f"must be a finite number, got {value!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class BudgetForcing:
    r"""Interventions on the length of the thinking (s1-style and Elastic-Reasoning-style).

    Attributes
    ----------
    max_thinking_tokens
        After this many thinking tokens, insert ``end_text`` and let the model answer.
    end_text
        What ends the thinking (default ``"\n</think>\n\n"``).
    min_thinking_tokens
        If the model closes its thinking earlier, replace the closing tag with ``continue_text``
        (s1's "Wait") and let it go on, at most ``max_continues`` times.
    continue_text
        What is inserted instead of an early closing tag.
    max_continues
        How many times ``continue_text`` may be inserted.
    """

    max_thinking_tokens: int | None = None
    end_text: str = END_THINKING
    min_thinking_tokens: int | None = None
    continue_text: str = "Wait"
    max_continues: int = 1

    def __post_init__(self) -> None:
        o = "BudgetForcing"
        for name in ("max_thinking_tokens", "min_thinking_tokens"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 0):
                raise ValidationError(
                    f"{o}.{name}", f"must be a non-negative integer, got {value!r}"
                )
        if (
            self.max_thinking_tokens is not None
            and self.min_thinking_tokens is not None
            and self.min_thinking_tokens > self.max_thinking_tokens
        ):
            raise ValidationError(f"{o}.min_thinking_tokens", "must not exceed max_thinking_tokens")
        if not self.end_text:
            raise ValidationError(f"{o}.end_text", "must not be empty")
        if self.max_continues < 0:
            raise ValidationError(f"{o}.max_continues", "must be >= 0")


@dataclass(slots=True, kw_only=True)
class GenerationRequest:
    r"""One generation request: a prompt, how to sample it, and optional interventions.

    Attributes
    ----------
    messages
        The chat prompt.
    sampling
        :class:`SamplingParams`.
    enable_thinking
        Passed to chat templates that support it (Qwen3); ``None`` leaves the template's default.
    thinking_prefill
        Text put at the start of the assistant turn, e.g. ``"<think>\n"`` to make a model think.
    budget
        Optional :class:`BudgetForcing`.
    constraints
        Constraints of the instruction (backends that can compute attention report the mass on
        them per token).
    """

    messages: list[Message]
    sampling: SamplingParams = field(default_factory=SamplingParams)
    enable_thinking: bool | None = None
    thinking_prefill: str | None = None
    budget: BudgetForcing | None = None
    constraints: list[Constraint] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.messages is None:
            raise ValidationError(
                "GenerationRequest.messages", "no prompt: give a string or a list of messages"
            )
        # the one validation of a prompt (the trajectory's), before anything starts running
        self.messages = _check_messages("GenerationRequest.messages", self.messages)
        if not self.messages:
            raise ValidationError("GenerationRequest.messages", "the prompt is empty")


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenEvent:
    """New text for one sample.

    Attributes
    ----------
    sample
        Index of the sample (``0..n-1``).
    text
        The text added (may hold several tokens).
    token_ids
        The tokens added, when the backend knows them.
    logprobs
        Log-probability of each added token, when known.
    entropies
        Entropy of the distribution each token was drawn from, when known.
    top_logprobs
        Per token, ``{token text: logprob}`` of the top alternatives, when requested.
    forced
        ``True`` when the text was inserted by budget forcing, not sampled.
    constraint_mass
        When the request has located constraints and the backend computes attention (the
        transformers backend): ``float32[tokens, layers, constraints]``, the attention mass the
        step that produced each token put on each constraint's prompt tokens (heads averaged).
    token_texts
        The text of each added token, for backends that know the tokens' strings but not their
        ids (OpenAI-compatible servers send ``logprobs.content[i].token``). The recorder keeps
        one token per entry, with id ``-1`` and the character span the strings give.
    alternatives
        Per token, the top alternatives as ``(token id, text, logprob)``, most likely first, with
        the text each would add (the transformers backend decodes the ids; ``top_logprobs`` keys
        are token names such as ``"Ġthe"``). Without it, the recorder takes ``top_logprobs``
        keys as the texts, with id ``-1`` (what OpenAI-compatible servers send).
    """

    sample: int
    text: str
    token_ids: tuple[int, ...] = ()
    logprobs: tuple[float, ...] | None = None
    entropies: tuple[float, ...] | None = None
    top_logprobs: tuple[dict[str, float], ...] | None = None
    forced: bool = False
    constraint_mass: Any = None
    token_texts: tuple[str, ...] | None = None
    alternatives: tuple[tuple[tuple[int, str, float], ...], ...] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class FinishEvent:
    """The end of one sample.

    Attributes
    ----------
    sample
        Index of the sample.
    finish_reason
        ``"stop"``, ``"length"``, ``"cancelled"`` or ``"error"``.
    error
        A readable message when ``finish_reason == "error"``.
    reasoning_field
        ``True`` when a server sent this sample's thinking in a separate reasoning field and the
        backend wrote the ``<think>`` wrapper around it: the recorder then records the
        trajectory's ``think_format`` as ``"field"``.
    """

    sample: int
    finish_reason: str
    error: str | None = None
    reasoning_field: bool = False


Event = TokenEvent | FinishEvent


class RunControl:
    """Live interventions on a running generation, safe to call from any thread.

    A widget's "end thinking now" or "insert Wait" button calls :meth:`inject`; the backend takes
    the text with :meth:`take` before its next step and feeds it to that sample as forced tokens
    (reported with ``forced=True``). Backends that cannot force text (remote servers) ignore it.

    Parameters
    ----------
    n
        Number of samples of the run.
    """

    def __init__(self, n: int = 1) -> None:
        self.n = n
        self._lock = threading.Lock()
        self._queues: list[deque[str]] = [deque() for _ in range(n)]

    def inject(self, text: str, *, sample: int | None = None) -> None:
        """Queue ``text`` to be forced into ``sample`` (``None``: into every sample)."""
        if not isinstance(text, str) or not text:
            raise ValidationError("RunControl.inject.text", "give a non-empty string")
        if sample is not None and not 0 <= sample < self.n:
            raise ValidationError("RunControl.inject.sample", f"no sample {sample} (n={self.n})")
        with self._lock:
            for i in range(self.n) if sample is None else (sample,):
                self._queues[i].append(text)

    def take(self, sample: int) -> str:
        """Return (and remove) the text queued for ``sample``; ``""`` when there is none."""
        with self._lock:
            queue = self._queues[sample]
            text = "".join(queue)
            queue.clear()
            return text


class Backend(abc.ABC):
    """A text generator. Subclasses set :attr:`name` and implement :meth:`stream`."""

    name: ClassVar[str] = ""
    recipe: Any = None
    """A :class:`~workbench.backends.models.ThinkingRecipe` applied by default, or ``None``."""

    @property
    @abc.abstractmethod
    def model_name(self) -> str:
        """The name recorded as each trajectory's ``model``."""

    @abc.abstractmethod
    def stream(
        self,
        request: GenerationRequest,
        *,
        cancel: threading.Event,
        control: RunControl | None = None,
    ) -> Iterator[Event]:
        """Generate, yielding events as they come.

        Every sample ends with exactly one :class:`FinishEvent`. When ``cancel`` is set the backend
        stops within one token step and finishes the open samples with ``"cancelled"``. Text queued
        on ``control`` is forced into the samples by backends that can do so.
        """

    def close(self) -> None:  # noqa: B027 - optional hook, most backends hold nothing
        """Free what the backend holds (models, connections)."""


def truncated_entropy(top_logprobs: Sequence[float]) -> float:
    """Estimate a token distribution's entropy from its top-k logprobs (in nats).

    The distribution is taken as the top-k outcomes plus one outcome holding the remaining mass
    ``1 - sum(p_i)``. Merging outcomes can only lower entropy, so this is a lower bound on the true
    entropy, and it tends to it as k grows; it is *truncated*, not exact. (Renormalising over the
    top-k instead would give ``0`` for every token at k = 1.)

    Parameters
    ----------
    top_logprobs
        Natural-log probabilities of the top alternatives (any order).

    Returns
    -------
    float
        ``-sum(p_i log p_i) - r log r`` with ``r`` the mass outside the top-k (``0`` if none).

    Examples
    --------
    >>> round(truncated_entropy([math.log(0.5), math.log(0.5)]), 4)
    0.6931
    >>> round(truncated_entropy([math.log(0.5)]), 4)  # the other half counts as one outcome
    0.6931
    """
    h = 0.0
    total = 0.0
    for lp in top_logprobs:
        p = math.exp(lp)
        if p > 0.0:
            h -= p * lp
            total += p
    rest = 1.0 - total
    if rest > 1e-12:
        h -= rest * math.log(rest)
    return max(h, 0.0)
