"""The named layouts, in the order they are tried, and the lookup by name."""

from __future__ import annotations

from typing import Any

from workbench.errors import ImportFormatError

from . import layouts_chat, layouts_datasets, layouts_evals, layouts_traces
from .known import GENERIC_LAYOUTS, LAYOUTS, NamedLayout

__all__ = ["LAYOUT_NAMES", "ORDER", "describe_layouts", "get_layout", "recognise"]

_MODULES = (layouts_chat, layouts_datasets, layouts_evals, layouts_traces)  # they register

ORDER: tuple[str, ...] = (
    "workbench_traces",
    "inspect",
    "lm_eval",
    "chat_completion_chunks",
    "chat_completion",
    "openr1_math",
    "s1k",
    "openthoughts",
    "trl_preference",
)
"""The named layouts, most specific first: the first that recognises a record reads it."""

LAYOUT_NAMES: tuple[str, ...] = (*ORDER, *GENERIC_LAYOUTS)
"""Every name ``--layout`` accepts: the named layouts, then the generic field-detection kinds."""

assert set(ORDER) == set(LAYOUTS), "every registered layout has its place in ORDER"


def recognise(record: dict[str, Any]) -> str | None:
    """Return the name of the first named layout that recognises ``record`` (``None``: generic)."""
    for name in ORDER:
        if LAYOUTS[name].recognise(record):
            return name
    return None


def get_layout(name: str) -> NamedLayout | None:
    """Return the named layout ``name``; ``None`` for a generic kind.

    Raises
    ------
    ImportFormatError
        When ``name`` is neither.
    """
    if name in GENERIC_LAYOUTS:
        return None
    if name not in LAYOUTS:
        raise ImportFormatError(f"unknown layout {name!r}: use one of {', '.join(LAYOUT_NAMES)}")
    return LAYOUTS[name]


def describe_layouts() -> dict[str, str]:
    """Return ``{name: one-line description}`` of every layout ``--layout`` accepts."""
    out = {name: LAYOUTS[name].description for name in ORDER}
    out.update(
        columns="field detection: prompt/response/thinking/answer/... columns",
        messages="field detection: chat messages (OpenAI or ShareGPT style)",
        preference="field detection: chosen/rejected preference rows",
    )
    return out
