"""Rendering a request's chat messages into the prompt text a local model sees."""

from __future__ import annotations

from typing import Any

from workbench.backends.base import GenerationRequest

__all__ = ["chat_prompt_text"]


def chat_prompt_text(tokenizer: Any, request: GenerationRequest) -> str:
    """Return the chat template applied to the request's messages, with the generation prompt.

    ``enable_thinking`` is passed to the template only when the request sets it (Qwen3's template
    reads it; others ignore unknown variables). A tokenizer without a chat template gets the
    message contents separated by blank lines. The thinking prefill is not included.
    """
    if getattr(tokenizer, "chat_template", None):
        kwargs: dict[str, Any] = {}
        if request.enable_thinking is not None:
            kwargs["enable_thinking"] = request.enable_thinking
        text = tokenizer.apply_chat_template(
            [dict(m) for m in request.messages],
            tokenize=False,
            add_generation_prompt=True,
            **kwargs,
        )
        return str(text)
    return "\n\n".join(str(m["content"]) for m in request.messages) + "\n\n"
