"""Backends found by name; each engine is imported only when it is chosen."""

from __future__ import annotations

import difflib
import importlib
from typing import Any

from workbench.backends.base import Backend
from workbench.errors import ValidationError

__all__ = ["BACKENDS", "create_backend"]

BACKENDS: dict[str, str] = {
    "transformers": "workbench.backends.hf:TransformersBackend",
    "openai": "workbench.backends.openai_compat:OpenAIBackend",
    "vllm": "workbench.backends.vllm_engine:VLLMBackend",
}
"""``name -> "module:Class"``; the replay backend takes trajectories, so it is built directly."""


def create_backend(name: str, model: str | None = None, **options: Any) -> Backend:
    """Build the backend called ``name`` for ``model``.

    Raises
    ------
    ValidationError
        For an unknown backend name (with a suggestion).
    """
    if name not in BACKENDS:
        close = difflib.get_close_matches(name, BACKENDS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValidationError(
            "backend", f"unknown backend {name!r}: use one of {sorted(BACKENDS)}{hint}"
        )
    module_name, cls_name = BACKENDS[name].split(":")
    cls = getattr(importlib.import_module(module_name), cls_name)
    backend: Backend = cls(model, **options) if model is not None else cls(**options)
    return backend
