"""Lazy attributes for package faces: a name is imported from its module on first use (PEP 562).

A face lists ``{public name: "module.path"}``; ``import workbench`` then stays light (numba, torch,
altair and anywidget load only when a name that needs them is touched).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_attributes"]


def lazy_attributes(
    package: str, where: Mapping[str, str], eager: list[str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Return ``(__getattr__, __dir__)`` for a package whose names in ``where`` load lazily.

    Parameters
    ----------
    package
        The package's ``__name__`` (for error messages).
    where
        Public name → the module that defines it (a submodule name itself maps to ``""``).
    eager
        The names the package binds itself (listed by ``dir()`` too).
    """

    def getattr_(name: str) -> Any:
        if name in where:
            module = where[name]
            if not module:
                return importlib.import_module(f"{package}.{name}")
            return getattr(importlib.import_module(module), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def dir_() -> list[str]:
        return sorted({*eager, *where})

    return getattr_, dir_
