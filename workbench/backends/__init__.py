"""Backends that generate text, behind one interface; heavy engines load only when chosen."""

from workbench.backends.models import (
    ALIASES,
    DEFAULT_MODEL,
    ModelNotAvailableError,
    cache_dir,
    resolve_model,
)

__all__ = ["ALIASES", "DEFAULT_MODEL", "ModelNotAvailableError", "cache_dir", "resolve_model"]
