"""One output policy: what is payload (stdout) and what is diagnostic (stderr).

Commands never print directly: they ask this object. ``--quiet`` silences warnings and
progress; errors are always shown; machine formats on stdout never contain colour.

* **Progress**: :func:`stage` names the long step now running ("reading sources and
  computing", "writing the bundle"). On a terminal's stderr it is a transient spinner
  line that disappears when the command prints its result; with ``--quiet``, when stderr
  is piped or in cron (no terminal) nothing is shown. Library code may call
  :func:`stage` freely: without a CLI around it, it does nothing.
* **Pager**: a table taller than the terminal goes through the pager (``$PAGER``, else
  ``less`` with ``LESS=FRX``) when stdout is a terminal; ``PAGER=cat`` turns it off.
* **A stdout that cannot be written** (``/dev/full``, a disk full, an I/O error) is an
  :class:`~cs_metrics.errors.OutputError` (exit 73); a closed pipe stays
  ``BrokenPipeError`` (exit 0, like ``head``).
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.markup import escape

from cs_metrics.errors import OutputError

_progress: Callable[[str], None] | None = None
_note: Callable[[str], None] | None = None


def stage(text: str) -> None:
    """Tell the user which long step runs now (a transient line on a terminal, else nothing)."""
    if _progress is not None:
        _progress(text)


def note(text: str) -> None:
    """A message for the user from below the CLI ("waiting for another report"): a line on
    stderr unless --quiet; nothing without a CLI around."""
    if _note is not None:
        _note(text)


def stdout_error(exc: OSError) -> OutputError:
    """A failed write to stdout as exit 73 (the disk behind a redirection is full ...)."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        what = "no space left on the device"
    else:
        what = exc.strerror or type(exc).__name__
    return OutputError(
        f"cannot write to stdout: {what}; free some space, or write the output elsewhere "
        "(-o FILE or another redirection)"
    )


class _Stdout:
    """sys.stdout for Rich: an OS failure to write becomes OutputError (pipes excepted)."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise stdout_error(exc) from None

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise stdout_error(exc) from None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def silence_stdout() -> None:
    """After stdout failed (closed pipe, full disk): point fd 1 at /dev/null so that the
    interpreter's final flush neither fails nor prints 'Exception ignored'."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


@dataclass
class Output:
    quiet: bool = False
    color: bool | None = None  # None: rich decides (NO_COLOR, TERM, tty)
    err: Console = field(init=False)
    _out: Console = field(init=False, repr=False)
    _status: Any = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        kwargs: dict[str, Any] = {}
        if self.color is False:
            kwargs["no_color"] = True
            kwargs["color_system"] = None
        elif self.color is True:
            kwargs["force_terminal"] = True
        self._out = Console(file=_Stdout(sys.stdout), highlight=False, soft_wrap=False, **kwargs)  # type: ignore[arg-type]
        self.err = Console(file=sys.stderr, highlight=False, soft_wrap=True, **kwargs)

    @property
    def out(self) -> Console:
        """The console for tables on stdout (the progress line is cleared first)."""
        self.done()
        return self._out

    @property
    def stdout_is_terminal(self) -> bool:
        return sys.stdout.isatty()

    def data(self, text: str) -> None:
        """Machine-readable payload: written raw (no markup, no colour, no wrapping)."""
        self.done()
        try:
            sys.stdout.write(text if text.endswith("\n") or not text else text + "\n")
            sys.stdout.flush()
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise stdout_error(exc) from None

    def warn(self, message: str) -> None:
        if not self.quiet:
            self.err.print(f"[yellow]warning:[/yellow] {escape(message)}")

    def info(self, message: str) -> None:
        if not self.quiet:
            self.err.print(escape(message))

    def error(self, message: str) -> None:
        self.done()
        self.err.print(f"[bold red]error:[/bold red] {escape(message)}")

    # ---------------------------------------------------------------- progress and pager

    @property
    def shows_progress(self) -> bool:
        return not self.quiet and sys.stderr.isatty() and self.err.is_terminal

    def stage(self, text: str) -> None:
        stage(text)

    @contextlib.contextmanager
    def progress(self) -> Iterator[None]:
        """While a command runs: :func:`stage` shows its text as a transient spinner line
        on stderr when stderr is a terminal (and not --quiet); the line is removed when
        the command prints its result, fails or ends."""
        global _progress, _note
        shown = self._show if self.shows_progress else None
        previous, _progress = _progress, shown
        noted, _note = _note, self.info
        try:
            yield
        finally:
            _progress, _note = previous, noted
            self.done()

    def _show(self, text: str) -> None:
        if self._status is None:
            self._status = self.err.status(escape(text), spinner="dots")
            self._status.start()
        else:
            self._status.update(escape(text))

    def done(self) -> None:
        """Remove the progress line (before anything else is printed)."""
        status, self._status = self._status, None
        if status is not None:
            status.stop()

    @contextlib.contextmanager
    def paged(self) -> Iterator[None]:
        """Tables printed inside go through the pager when stdout is a terminal and they
        are taller than it; otherwise they are printed as usual."""
        if not sys.stdout.isatty() or not self._out.is_terminal:
            yield
            return
        self.done()
        with self._out.capture() as capture:
            yield
        text = capture.get()
        if text.count("\n") < self._out.height:
            self._out.file.write(text)
            self._out.file.flush()
            return
        import pydoc

        os.environ.setdefault("LESS", "FRX")  # colours, no screen clearing, quit if short
        pydoc.pager(text)


_DEBUG: list[bool] = [False]  # --debug of the command running (read by cs_metrics.spark)


@contextlib.contextmanager
def debugging(flag: bool) -> Iterator[None]:
    """While a command runs: its --debug, for code far from the CLI (the JVM's log)."""
    before = _DEBUG[0]
    _DEBUG[0] = flag
    try:
        yield
    finally:
        _DEBUG[0] = before


def debug_enabled(flag: bool = False) -> bool:
    return flag or _DEBUG[0] or os.environ.get("CSM_DEBUG", "") not in ("", "0", "false")
