"""SIGINT and SIGTERM, at any moment of any command: one ``KeyboardInterrupt``, exit 130.

Python's default SIGINT raises ``KeyboardInterrupt`` wherever the main thread happens to
be — in the middle of an import (a traceback before the error policy exists), or a second
time inside the ``except`` block that is cleaning up or writing the cron log line — and
SIGTERM's default kills the process outright (no message, no log line, temporary files
left behind). Here both signals share one handler:

* **before a command runs** (imports, option parsing) a signal is only recorded; the
  command raises it as its first step (:func:`arm`), inside its own error policy, so the
  user gets ``error: interrupted`` (and ``csm report`` its log line), never a traceback;
* **while a command runs** the first signal raises ``KeyboardInterrupt`` once; a second
  one is ignored, so the cleanup (removing a temporary bundle, the log line) finishes —
  also when polars raised the ``KeyboardInterrupt`` itself (it does for a SIGINT that
  comes while it computes) and the same signal then reaches Python's handler;
* a **third** signal ends the process at once (exit 130): the way out if cleanup hangs.

A signal arriving while polars or DuckDB computes in native code is acted on as soon as
that call returns to Python (the handler runs on the main thread between bytecodes).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any

INTERRUPTED = 130
SIGNALS = (signal.SIGINT, signal.SIGTERM)


class _State:
    armed = False  # a command runs: a signal raises KeyboardInterrupt
    pending = False  # a signal came during start-up, not raised yet
    held = False  # past a report's point of no return: a signal waits (hold)
    raised = False  # the interrupt is under way: later signals are ignored
    count = 0
    program = False  # this process is the csm program (not a test runner, not a library user)


_state = _State()


def _handler(signum: int, frame: Any) -> None:
    _state.count += 1
    if _state.count >= 3:
        with contextlib.suppress(OSError):
            os.write(2, b"error: interrupted\n")
        os._exit(INTERRUPTED)
    # polars raises KeyboardInterrupt itself for a SIGINT that comes while it computes;
    # the same signal then reaches this handler inside the `except` that handles it
    if _state.raised or isinstance(sys.exc_info()[1], KeyboardInterrupt):
        _state.raised = True
        return  # already interrupting: let the cleanup and the log line finish
    if not _state.armed:
        _state.pending = True  # start-up: raised by arm() inside the command
        return
    _state.raised = True
    raise KeyboardInterrupt


def caught() -> None:
    """An interrupt is being handled (whoever raised it): ignore the signals that follow."""
    _state.raised = True


def _install() -> dict[int, Any]:
    previous: dict[int, Any] = {}
    if threading.current_thread() is not threading.main_thread():
        return previous
    for sig in SIGNALS:
        with contextlib.suppress(ValueError, OSError):
            previous[sig] = signal.signal(sig, _handler)
    return previous


def startup() -> None:
    """Record (not raise) SIGINT/SIGTERM from the first import on — only when this process
    is the csm program, never when a library user or a test runner imports the package."""
    prog = os.path.basename(sys.argv[0]) if sys.argv else ""
    as_module = sys.argv[0].endswith(os.path.join("cs_metrics", "__main__.py")) if prog else False
    if prog in ("csm", "csm.exe") or as_module:
        _reset()
        _state.program = True
        _install()


@contextlib.contextmanager
def handling() -> Iterator[None]:
    """Around one whole CLI invocation: the handler above (a signal already recorded at
    start-up is kept), the previous handlers restored afterwards."""
    previous = _install()
    try:
        yield
    finally:
        if _state.program:  # exiting: Python's shutdown would restore the default actions
            previous = dict.fromkeys(previous, signal.SIG_IGN)  # (a late SIGTERM: exit -15)
        for sig, handler in previous.items():
            with contextlib.suppress(ValueError, OSError, TypeError):
                signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
        _reset()


def _reset() -> None:
    _state.armed, _state.pending, _state.raised, _state.count = False, False, False, 0
    _state.held = False


def arm() -> None:
    """From now on a signal raises ``KeyboardInterrupt``; one that came during start-up is
    raised here. A command calls this as its first step, inside its error handling."""
    _state.armed, _state.held = True, False
    if _state.pending:
        _state.pending = False
        _state.raised = True
        raise KeyboardInterrupt


def hold() -> None:
    """The point of no return (a report bundle is being swapped in): from here on a signal
    is only recorded, so the run finishes and its log line says ok; a next step of the
    command (:func:`arm`) raises it; if none follows, the run ends as it would have."""
    _state.armed, _state.held = False, True


def received() -> bool:
    """Whether SIGINT or SIGTERM came during this invocation (an error that follows one is
    its consequence: polars turns a KeyboardInterrupt inside its own calls into others)."""
    return _state.count > 0 or _state.raised or _state.pending


def program() -> bool:
    """Whether this process is the csm program (not a test runner, not a library user)."""
    return _state.program


def interrupted() -> bool:
    """Whether a signal came and has not been raised yet (start-up, or no command ran); one
    held past a report's point of no return does not count: that run finished."""
    return _state.pending and not _state.held
