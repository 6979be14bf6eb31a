"""Parameters of counterfactual segment importance, and their named presets."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, replace
from typing import Any

from workbench.analysis._segment import DEFAULT_STRATEGY, STRATEGIES
from workbench.errors import ValidationError
from workbench.pairs.derive import DEFAULT_EXIT_TEXT, DEFAULT_OPEN_TEXT

__all__ = ["MODES", "PRESETS", "ImportanceConfig", "experiment_key", "get_preset"]

MODES: tuple[str, ...] = ("resample", "early_exit")
"""How a boundary is continued.

``resample``
    Thought Anchors' resampling (Bogdan et al. 2025, arXiv 2506.19143): the thinking is kept up to
    the boundary and the model *continues thinking* from there, then answers. Segment ``k``'s
    importance compares continuations from its end (it is kept) with continuations from its start
    (it is dropped and the model writes its own next step instead).
``early_exit``
    DTO's early-exit probe (arXiv 2505.21765) and Thought Anchors' "forced answer": the thinking is
    cut at the boundary, closed, and the model only answers. Cheaper (answers only); it measures
    what the model can already answer, not what the rest of its thinking would do.
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportanceConfig:
    """Parameters of :func:`~workbench.analysis.importance.segment_importance`.

    Attributes
    ----------
    mode
        ``"resample"`` or ``"early_exit"`` (:data:`MODES`).
    samples
        ``M``: continuations sampled at each boundary. Stored samples count: asking for more later
        samples only the difference.
    thinking_tokens
        Resample mode: new thinking tokens a continuation may write before ``exit_text`` is forced
        (``None``: until the model closes its thinking or ``max_new_tokens`` runs out).
    max_tokens
        Resample mode with ``thinking_tokens=None``: the cap on a whole continuation.
    answer_tokens
        Tokens for the answer (``early_exit``: the whole budget; ``resample``: on top of
        ``thinking_tokens``).
    temperature, top_p
        Sampling of the continuations.
    seed
        Base seed (``None``: not reproducible). Boundary ``k``'s first batch uses
        ``seed + 7919 * k``; a resumed boundary's remaining samples use another seed derived from
        how many were stored.
    enable_thinking
        Passed to chat templates that read it (Qwen3).
    open_text, exit_text
        What opens the thinking in the prefill, and the forced end of thinking.
    segmenter
        Segmentation of the thinking (a strategy of :data:`workbench.analysis._segment.STRATEGIES`;
        ``sentences`` is Thought Anchors' unit).
    similarity_threshold
        Counterfactual importance keeps only the resamples whose first new segment has a cosine
        similarity below this to the dropped segment (all-MiniLM-L6-v2 embeddings). 0.8 follows
        Thought Anchors.
    min_counterfactual
        Counterfactual importance needs at least this many dissimilar resamples (Thought Anchors'
        code: 5); below it the value is missing.
    kl_alpha
        Additive smoothing of the answer distributions in the KL divergence (the formula follows
        Thought Anchors' code: smoothed ratio, unsmoothed weight; the value 0.5 is ours).
    confidence
        Level of the confidence intervals (Newcombe's hybrid score interval of a difference of
        proportions).
    concurrency
        Boundaries sampled at once (separate requests: useful with a server backend, which batches
        them; a local transformers backend runs them one after another anyway).
    """

    mode: str = "resample"
    samples: int = 16
    thinking_tokens: int | None = 256
    max_tokens: int = 8192
    answer_tokens: int = 64
    temperature: float = 0.6
    top_p: float = 0.95
    seed: int | None = 0
    enable_thinking: bool | None = None
    open_text: str = DEFAULT_OPEN_TEXT
    exit_text: str = DEFAULT_EXIT_TEXT
    segmenter: str = DEFAULT_STRATEGY
    similarity_threshold: float = 0.8
    min_counterfactual: int = 5
    kl_alpha: float = 0.5
    confidence: float = 0.95
    concurrency: int = 1

    def __post_init__(self) -> None:
        o = "ImportanceConfig"
        if self.mode not in MODES:
            raise ValidationError(f"{o}.mode", f"{self.mode!r} is not one of {list(MODES)}")
        if not isinstance(self.samples, int) or self.samples < 1:
            raise ValidationError(f"{o}.samples", f"must be an integer >= 1, got {self.samples!r}")
        if self.thinking_tokens is not None and self.thinking_tokens < 0:
            raise ValidationError(f"{o}.thinking_tokens", "must be >= 0 or None")
        if self.max_tokens < 1:
            raise ValidationError(f"{o}.max_tokens", "must be >= 1")
        if self.answer_tokens < 1:
            raise ValidationError(f"{o}.answer_tokens", "must be >= 1")
        if self.temperature < 0:
            raise ValidationError(f"{o}.temperature", "must be >= 0")
        if not 0 < self.top_p <= 1:
            raise ValidationError(f"{o}.top_p", "must be in (0, 1]")
        if self.segmenter not in STRATEGIES:
            raise ValidationError(
                f"{o}.segmenter", f"{self.segmenter!r} is not one of {sorted(STRATEGIES)}"
            )
        if not 0 < self.similarity_threshold <= 1:
            raise ValidationError(f"{o}.similarity_threshold", "must be in (0, 1]")
        if self.min_counterfactual < 1:
            raise ValidationError(f"{o}.min_counterfactual", "must be >= 1")
        if self.kl_alpha <= 0:
            raise ValidationError(f"{o}.kl_alpha", "must be > 0")
        if not 0 < self.confidence < 1:
            raise ValidationError(f"{o}.confidence", "must be in (0, 1)")
        if self.concurrency < 1:
            raise ValidationError(f"{o}.concurrency", "must be >= 1")

    @property
    def max_new_tokens(self) -> int:
        """The token budget of one continuation."""
        if self.mode == "early_exit":
            return self.answer_tokens
        if self.thinking_tokens is None:
            return self.max_tokens
        return self.thinking_tokens + self.answer_tokens

    def to_dict(self) -> dict[str, Any]:
        """Return the parameters as a JSON-compatible dict."""
        return asdict(self)

    def with_(self, **changes: Any) -> ImportanceConfig:
        """Return a copy with some parameters changed."""
        return replace(self, **changes)


PRESETS: dict[str, ImportanceConfig] = {
    "thought_anchors": ImportanceConfig(
        mode="resample", samples=100, thinking_tokens=None, answer_tokens=256, segmenter="sentences"
    ),
    "quick": ImportanceConfig(mode="resample", samples=8, thinking_tokens=64, answer_tokens=32),
    "early_exit": ImportanceConfig(mode="early_exit", samples=16, answer_tokens=32),
}
"""Named configurations.

``thought_anchors``
    The paper's protocol: 100 resamples per sentence boundary, thinking continued to its end.
``quick``
    Ours, for a first look or the default model: 8 resamples with short budgets.
``early_exit``
    DTO-style forced answers at every boundary (answers only).
"""


def get_preset(name: str) -> ImportanceConfig:
    """Return a preset by name.

    Raises
    ------
    ValidationError
        For an unknown name (the message lists the presets).
    """
    try:
        return PRESETS[name]
    except KeyError:
        raise ValidationError(
            "importance.preset", f"{name!r} is not one of {sorted(PRESETS)}"
        ) from None


# the parameters that change what a continuation is (not how many, not how they are summarised)
_SAMPLING_FIELDS = (
    "mode",
    "thinking_tokens",
    "max_tokens",
    "answer_tokens",
    "temperature",
    "top_p",
    "seed",
    "enable_thinking",
    "open_text",
    "exit_text",
    "segmenter",
)


def experiment_key(config: ImportanceConfig, *, model: str, grader: str) -> str:
    """Return the key under which an experiment's samples are stored.

    Two runs share their samples when the model, the grader and every parameter that changes a
    continuation agree; ``samples``, the summary's parameters (similarity threshold, smoothing,
    confidence) and ``concurrency`` are not part of it.
    """
    fields = {name: getattr(config, name) for name in _SAMPLING_FIELDS}
    blob = json.dumps({"model": model, "grader": grader, **fields}, sort_keys=True)
    return hashlib.sha1(blob.encode()).hexdigest()[:16]
