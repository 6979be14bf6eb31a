"""Token lengths of training rows, and the warning about rows TRL would truncate.

TRL's ``DPOConfig`` and ``SFTConfig`` default to ``max_length=1024`` and keep the start of a
sequence that is longer, which silently cuts the answer off a long reasoning trace. Every export and
the pair summary therefore report lengths per row and warn about rows longer than ``max_length``.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

__all__ = [
    "CHARS_PER_TOKEN",
    "DEFAULT_MAX_LENGTH",
    "TokenCounter",
    "length_stats",
    "long_rows_warning",
    "row_lengths",
]

DEFAULT_MAX_LENGTH = 1024
"""TRL's default ``max_length`` for DPO and SFT."""

CHARS_PER_TOKEN = 4.0
"""Characters per token assumed when no tokenizer is given (a rough estimate for English text)."""


class TokenCounter:
    """Count tokens of text and of chat messages, with a tokenizer or by estimate.

    Parameters
    ----------
    tokenizer
        A transformers tokenizer (its chat template renders messages), or ``None`` to estimate
        ``len(text) / CHARS_PER_TOKEN``.
    """

    def __init__(self, tokenizer: Any = None) -> None:
        self.tokenizer = tokenizer

    @property
    def exact(self) -> bool:
        """Whether counts come from a tokenizer (``False``: estimates)."""
        return self.tokenizer is not None

    def text(self, text: str) -> int:
        """Return the tokens of ``text`` (no special tokens added)."""
        if self.tokenizer is None:
            return round(len(text) / CHARS_PER_TOKEN)
        return len(self.tokenizer.encode(text, add_special_tokens=False))

    def render(self, messages: list[dict[str, Any]], *, generation_prompt: bool) -> str:
        """Render messages with the tokenizer's chat template (plain contents without one)."""
        tok = self.tokenizer
        if tok is not None and getattr(tok, "chat_template", None):
            clean = [{k: v for k, v in m.items() if v is not None} for m in messages]
            return str(
                tok.apply_chat_template(
                    clean, tokenize=False, add_generation_prompt=generation_prompt
                )
            )
        return "\n\n".join(str(m.get("content") or "") for m in messages)

    def prompt_and_completion(self, prompt: Any, completion: Any) -> tuple[int, int]:
        """Return ``(prompt tokens, completion tokens)`` as TRL would see them.

        Conversational rows are rendered with the chat template: the prompt with the generation
        prompt, the completion as what the full conversation adds to it.
        """
        if isinstance(prompt, list):
            head = self.render(prompt, generation_prompt=True)
            whole = self.render([*prompt, *completion], generation_prompt=False)
            common = 0
            for a, b in zip(head, whole, strict=False):
                if a != b:
                    break
                common += 1
            return self.text(head[:common]), self.text(whole[common:])
        return self.text(str(prompt)), self.text(str(completion))


def row_lengths(kind: str, row: dict[str, Any], counter: TokenCounter) -> dict[str, int]:
    """Return the token lengths of one exported row.

    Parameters
    ----------
    kind
        ``"dpo"`` (``prompt``, ``chosen``, ``rejected``), ``"sft"`` (``prompt``/``completion`` or
        ``messages``/``text``), ``"kto"`` (``prompt``, ``completion``) or ``"stepwise"``
        (``prompt``, ``completions``).
    row
        The row.
    counter
        Counts the tokens.

    Returns
    -------
    dict
        Per part, and ``total``: the longest sequence the trainer builds from the row.
    """
    if kind == "dpo":
        p, c = counter.prompt_and_completion(row["prompt"], row["chosen"])
        _, r = counter.prompt_and_completion(row["prompt"], row["rejected"])
        return {"prompt": p, "chosen": c, "rejected": r, "total": p + max(c, r)}
    if kind == "stepwise":
        p = counter.text(str(row["prompt"]))
        steps = sum(counter.text(str(s)) for s in row["completions"])
        return {"prompt": p, "completion": steps, "total": p + steps}
    if "messages" in row:
        whole = counter.render(row["messages"], generation_prompt=False)
        return {"total": counter.text(whole)}
    if "text" in row:
        return {"total": counter.text(str(row["text"]))}
    p, c = counter.prompt_and_completion(row["prompt"], row["completion"])
    return {"prompt": p, "completion": c, "total": p + c}


def length_stats(values: Sequence[int], *, max_length: int | None = None) -> dict[str, Any]:
    """Summarise lengths: ``count, min, median, mean, p90, max`` and ``over_max_length``."""
    if not values:
        return {"count": 0, "min": None, "median": None, "mean": None, "p90": None, "max": None,
                "over_max_length": 0}  # fmt: skip
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
    return {
        "count": len(ordered),
        "min": ordered[0],
        "median": float(statistics.median(ordered)),
        "mean": float(statistics.fmean(ordered)),
        "p90": p90,
        "max": ordered[-1],
        "over_max_length": 0 if max_length is None else sum(v > max_length for v in ordered),
    }


def long_rows_warning(totals: Sequence[int], max_length: int, *, exact: bool = True) -> str | None:
    """Return the warning about rows longer than ``max_length`` tokens, or ``None``."""
    over = [v for v in totals if v > max_length]
    if not over:
        return None
    how = "" if exact else f" (estimated at {CHARS_PER_TOKEN:g} characters a token)"
    return (
        f"{len(over)} of {len(totals)} rows are longer than max_length={max_length} tokens"
        f"{how}, the longest {max(over)}: TRL keeps the start of longer sequences and silently "
        f"cuts the answer off; set max_length >= {max(over)} in DPOConfig/SFTConfig or leave "
        "those rows out"
    )
