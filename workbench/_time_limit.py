"""A time limit for a call, in any thread: the watchdog behind every math comparison.

:func:`call_with_time_limit` runs a function in the calling thread and raises
:class:`ComparisonTimeout` there when it overruns, by raising an exception in the thread
(``PyThreadState_SetAsyncExc``), re-fired until the call returns. It cannot stop C code that never
returns to the interpreter: callers refuse such inputs first (see
:func:`workbench.analysis.grading.math_equiv.too_complex`).
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

# --------------------------------------------------------------------------------------------
# Time limit


class ComparisonTimeout(BaseException):
    """A comparison ran past its time limit.

    A :class:`BaseException`, so that ``except Exception`` in sympy or math-verify cannot swallow it.
    """


#: How often the watchdog raises again while an interrupted call has not yet returned.
_REFIRE_S = 0.05


class _Interrupt(BaseException):
    """Raised asynchronously inside the thread whose call ran out of time."""


def _set_async_exc(thread_id: int, exc: type[BaseException] | None) -> None:
    """Schedule ``exc`` in thread ``thread_id`` (None clears a pending one)."""
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_id), ctypes.py_object(exc) if exc is not None else None
    )


def call_with_time_limit(func: Callable[[], T], *, seconds: float) -> T:
    """Call ``func()`` and interrupt it if it runs longer than ``seconds``.

    Unlike ``signal.alarm`` (which math-verify uses, and which only works in the main thread and
    would cancel pytest-timeout's alarm), this works in any thread: a watchdog timer raises an
    exception asynchronously in the calling thread, and raises it again every ``_REFIRE_S``
    seconds until the call returns (the interpreter swallows an exception that lands in a weakref
    callback). A call that returns after its limit counts as timed out. The interruption happens
    between Python bytecodes, so a single long C call (a huge integer power) is only interrupted
    when it returns; callers cap such inputs beforehand.

    Parameters
    ----------
    func : callable
        The work, called without arguments in the current thread.
    seconds : float
        The time limit; ``<= 0`` disables it.

    Returns
    -------
    object
        What ``func`` returned.

    Raises
    ------
    ComparisonTimeout
        If the limit was reached.

    Examples
    --------
    >>> call_with_time_limit(lambda: 1 + 1, seconds=1.0)
    2
    """
    if seconds <= 0:
        return func()
    thread_id = threading.get_ident()
    lock = threading.Lock()
    state: dict[str, Any] = {"done": False, "fired": False, "timer": None}

    def fire() -> None:
        # An asynchronous exception delivered inside a weakref callback or ``__del__`` is printed
        # and swallowed by the interpreter, so the watchdog keeps raising until the call returns.
        with lock:
            if state["done"]:
                return
            state["fired"] = True
            _set_async_exc(thread_id, _Interrupt)
            state["timer"] = threading.Timer(_REFIRE_S, fire)
            state["timer"].daemon = True
            state["timer"].start()

    def disarm() -> None:
        with lock:
            state["done"] = True
            state["timer"].cancel()
        if state["fired"]:  # an undelivered interrupt must not escape into the caller
            _set_async_exc(thread_id, None)

    with lock:
        state["timer"] = threading.Timer(seconds, fire)
        state["timer"].daemon = True
    try:
        try:
            state["timer"].start()
            result = func()
        finally:
            disarm()
    except _Interrupt:
        disarm()
        raise ComparisonTimeout(f"comparison exceeded {seconds} s") from None
    if state["fired"]:
        # The interrupt was raised but swallowed somewhere (C code that clears errors, a weakref
        # callback): whatever ``func`` returned after its time ran out is not trusted.
        raise ComparisonTimeout(f"comparison exceeded {seconds} s")
    return result
