"""The renderer registry: how workbench objects display themselves in a notebook.

Domain objects (a :class:`~workbench.Trajectory`, a :class:`~workbench.session.Run`, a
:class:`~workbench.constraints.ConstraintAttention`, a query result) call
:func:`mimebundle` from their ``_repr_mimebundle_``; the active renderer decides what the bundle
holds. This is altair's pattern (``alt.renderers.enable("html")``):

``auto`` (default)
    the live widget inside a running kernel with anywidget installed, else static HTML;
    ``$WORKBENCH_WIDGETS=0`` turns the widget off.
``widget``
    always the live widget (static HTML as well, for viewers without widgets).
``html``
    escaped static HTML only (GitHub, nbconvert, e-mail).
``none``
    ``text/plain`` only.

Widgets are registered by :mod:`workbench.widgets` when it is imported, and it is imported only
when a widget is needed: the display layer itself never imports a widget module, so the domain
layer does not depend on anywidget.
"""

from __future__ import annotations

import contextlib
import difflib
import importlib
import os
from collections.abc import Callable, Iterator
from typing import Any

from workbench.errors import ValidationError

__all__ = ["RENDERERS", "Renderers", "mimebundle", "renderers", "widgets_available"]

RENDERERS: tuple[str, ...] = ("auto", "widget", "html", "none")
"""Names accepted by :meth:`Renderers.enable`."""

StaticBuilder = Callable[[Any], dict[str, Any]]
WidgetFactory = Callable[[Any], Any]


def widgets_available() -> bool:
    """Return whether live widgets can be shown here (a kernel, anywidget, not disabled)."""
    if os.environ.get("WORKBENCH_WIDGETS", "1") == "0":
        return False
    try:
        import anywidget  # noqa: F401
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def _widget_bundle(widget: Any) -> dict[str, Any]:
    bundle = widget._repr_mimebundle_()
    if isinstance(bundle, tuple):  # (data, metadata)
        bundle = bundle[0]
    return {k: v for k, v in dict(bundle or {}).items() if k != "text/plain"}


class Renderers:
    """A registry of display kinds, their static builders and their widgets.

    Parameters
    ----------
    default
        The renderer enabled at start (``$WORKBENCH_RENDERER`` overrides it).
    """

    def __init__(self, default: str = "auto") -> None:
        self._static: dict[str, StaticBuilder] = {}
        self._widgets: dict[str, WidgetFactory] = {}
        self._widget_modules_loaded = False
        self.active = self._check(os.environ.get("WORKBENCH_RENDERER") or default)

    @staticmethod
    def _check(name: str) -> str:
        if name not in RENDERERS:
            close = difflib.get_close_matches(name, RENDERERS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValidationError(
                "renderers.enable", f"unknown renderer {name!r}{hint}; choose one of {RENDERERS}"
            )
        return name

    def enable(self, name: str) -> None:
        """Make ``name`` (one of :data:`RENDERERS`) the active renderer."""
        self.active = self._check(name)

    @contextlib.contextmanager
    def enabled(self, name: str) -> Iterator[None]:
        """Use ``name`` inside a ``with`` block, then restore the previous renderer."""
        previous = self.active
        self.enable(name)
        try:
            yield
        finally:
            self.active = previous

    @property
    def names(self) -> tuple[str, ...]:
        """The renderer names."""
        return RENDERERS

    @property
    def kinds(self) -> tuple[str, ...]:
        """The object kinds that have a static builder."""
        return tuple(sorted(self._static))

    def register_static(self, kind: str, builder: StaticBuilder) -> None:
        """Register the widget-free bundle builder of a kind (``text/plain``, ``text/html``, …)."""
        self._static[kind] = builder

    def register_widget(self, kind: str, factory: WidgetFactory) -> None:
        """Register the factory that makes the live widget of a kind (called by ``workbench.widgets``)."""
        self._widgets[kind] = factory

    def widget_factory(self, kind: str) -> WidgetFactory | None:
        """Return the widget factory of a kind, importing :mod:`workbench.widgets` once if needed."""
        if kind not in self._widgets and not self._widget_modules_loaded:
            self._widget_modules_loaded = True
            with contextlib.suppress(ImportError):
                importlib.import_module("workbench.widgets")
        return self._widgets.get(kind)

    def bundle(self, obj: Any, kind: str) -> dict[str, Any]:
        """Return the display bundle of ``obj`` (of display kind ``kind``) under the active renderer."""
        if kind not in self._static:
            raise KeyError(f"no renderer is registered for {kind!r}; known: {self.kinds}")
        if self.active == "none":
            return {"text/plain": repr(obj)}
        bundle = dict(self._static[kind](obj))
        bundle.setdefault("text/plain", repr(obj))
        want_widget = self.active == "widget" or (self.active == "auto" and widgets_available())
        if want_widget:
            factory = self.widget_factory(kind)
            if factory is not None:
                try:
                    widget = factory(obj)
                except ImportError:
                    if self.active == "widget":
                        raise
                else:
                    if widget is not None:
                        bundle.update(_widget_bundle(widget))
        return bundle


renderers = Renderers()
"""The process-wide registry: ``wb.renderers.enable("html")``."""


def mimebundle(obj: Any, kind: str) -> dict[str, Any]:
    """Return ``obj``'s display bundle under the active renderer (for ``_repr_mimebundle_``)."""
    return renderers.bundle(obj, kind)
