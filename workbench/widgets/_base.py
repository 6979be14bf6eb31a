"""The base of every workbench widget: the bundled front end, typed messages, visible errors."""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from workbench.widgets._protocol import (
    PROTOCOL_HASH,
    FigureMsg,
    ProtocolError,
    validate_front_message,
)

__all__ = ["STATIC", "WorkbenchWidget"]

STATIC = Path(__file__).parent / "static"
"""Folder of the built front end (``widgets.js``, ``widgets.css``), shipped in the package."""

Buffers = Sequence[bytes | memoryview]


class WorkbenchWidget(anywidget.AnyWidget):
    """Base class: loads the bundle, checks incoming messages, shows errors under the widget.

    Subclasses set ``_view`` and implement ``_on_<type>(message)`` for the front-end messages
    they accept (see :data:`workbench.widgets._protocol.FRONT_MESSAGES`). Every message is
    validated against its declared shape first; a bad one, or an exception in a handler, is shown
    in the widget's ``error`` (and kept in :attr:`errors`), never silently dropped.
    """

    _esm = STATIC / "widgets.js"
    _css = STATIC / "widgets.css"
    _view = traitlets.Unicode("").tag(sync=True)
    _protocol = traitlets.Unicode(PROTOCOL_HASH).tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)
    height = traitlets.Int(420).tag(sync=True)
    _vega = traitlets.Unicode("").tag(sync=True)
    """The bundled vega/vega-lite/vega-embed module: set by views that draw vega-lite charts, and
    by any view the first time one of its figures is exported (so that no view loads it unasked)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._send_lock = threading.RLock()
        self.errors: list[str] = []
        self.sent: list[tuple[dict[str, Any], list[bytes]]] | None = None
        """When a list, every message sent (with its buffers) is also appended to it (for tests,
        the browser harness of :mod:`workbench.widgets.testing`, and debugging)."""
        self.on_msg(self._dispatch)

    # -- messages --------------------------------------------------------------------------------
    def _dispatch(self, _widget: Any, content: Any, buffers: Sequence[Any] | None = None) -> None:
        self.handle_message(content)

    def handle_message(self, content: Any) -> None:
        """Validate and handle one message from the front end (also callable from tests)."""
        try:
            msg = validate_front_message(content)
            handler: Callable[[dict[str, Any]], None] | None = getattr(
                self, f"_on_{msg['type']}", None
            )
            if handler is None:
                raise ProtocolError(f"{type(self).__name__} does not handle {msg['type']!r}")
            handler(msg)
        except Exception as exc:
            self.report(exc)

    def figure(self, request: dict[str, Any]) -> tuple[str, Any]:
        """Return ``(file name, altair chart)`` for an export button's request.

        The request says what the view shows (``sample``, ``mode``, ``constraint``). Views with
        figures override this; the chart is what their ``.chart()`` returns.
        """
        raise ProtocolError(f"{type(self).__name__} has no figure to export")

    def _on_figure_request(self, msg: dict[str, Any]) -> None:
        name, chart = self.figure(msg)
        if not self._vega:
            self._vega = (STATIC / "vega.js").read_text(encoding="utf-8")
        out: FigureMsg = {
            "type": "figure",
            "view": msg["view"],
            "request_id": msg["request_id"],
            "name": name,
            "spec": chart.to_dict(),
        }
        self.send_message(out)

    def report(self, exc: BaseException | str) -> None:
        """Show an error under the widget (and keep it in :attr:`errors`)."""
        if isinstance(exc, BaseException):
            text = f"{type(exc).__name__}: {exc}"
            if not isinstance(exc, ProtocolError | ValueError | KeyError):
                text += "\n" + "".join(traceback.format_exception(exc)[-3:])
        else:
            text = exc
        self.errors.append(text)
        self.error = text

    def send_message(self, msg: Any, buffers: Buffers | None = None) -> None:
        """Send one protocol message (thread-safe; messages keep their order)."""
        with self._send_lock:
            if self.sent is not None:
                self.sent.append((dict(msg), [bytes(b) for b in buffers or []]))
            self.send(dict(msg), list(buffers) if buffers else None)
