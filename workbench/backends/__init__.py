"""Backends that generate text, behind one interface; heavy engines load only when chosen."""

from workbench.backends.base import (
    Backend,
    BudgetForcing,
    Event,
    FinishEvent,
    GenerationRequest,
    RunControl,
    SamplingParams,
    TokenEvent,
)
from workbench.backends.models import (
    ALIASES,
    DEFAULT_MODEL,
    ModelNotAvailableError,
    cache_dir,
    resolve_model,
)
from workbench.backends.replay import ReplayBackend

__all__ = [
    "ALIASES",
    "DEFAULT_MODEL",
    "Backend",
    "BudgetForcing",
    "Event",
    "FinishEvent",
    "GenerationRequest",
    "ModelNotAvailableError",
    "ReplayBackend",
    "RunControl",
    "SamplingParams",
    "TokenEvent",
    "cache_dir",
    "resolve_model",
]
