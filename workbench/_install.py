"""The distribution's own name, and the one way to write an install hint.

The import name is ``workbench``, but the name ``workbench`` on the package registry belongs to an
unrelated project: every hint we print names :data:`DISTRIBUTION`.
"""

from __future__ import annotations

__all__ = ["DISTRIBUTION", "install_hint"]

DISTRIBUTION = "thinking-workbench"
"""The registry name of this package (``pip install thinking-workbench``)."""


def install_hint(*extras: str) -> str:
    """Return the ``pip install`` command that brings the given extras.

    Examples
    --------
    >>> install_hint("vllm")
    "pip install 'thinking-workbench[vllm]'"
    >>> install_hint()
    'pip install thinking-workbench'
    """
    if not extras:
        return f"pip install {DISTRIBUTION}"
    return f"pip install '{DISTRIBUTION}[{','.join(extras)}]'"
