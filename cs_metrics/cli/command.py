"""The command wrapper: the options every command has, one Output, one error policy.

A command is written as ``def name(<its own options>, *, out: Output) -> None`` and
decorated with :func:`command`. The decorator

* appends --quiet, --color/--no-color and --debug to the signature Typer reads (after the
  command's own options, which is where ``--help`` lists them), so no command declares them;
* builds the :class:`~cs_metrics.output.Output` from --quiet and --color and passes it
  as ``out`` (hidden from Typer), with the transient progress line on a terminal;
* runs the command inside the error policy: a :class:`CsmError` becomes one message on
  stderr and its exit code (SPEC.md), Ctrl-C and SIGTERM 130 (:mod:`.signals`), a closed
  stdout pipe 0, a stdout that cannot be written 73, anything else — a Python exception
  or a panic inside polars (``PanicException``, a ``BaseException``) — 70, with a
  traceback only under ``--debug`` / ``CSM_DEBUG=1`` (never local variables).

Click's own usage errors (an unknown option, a missing argument, a bad value) are turned
into the same one-line ``error: ...`` with a hint to ``--help`` by :class:`CsmGroup`.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import inspect
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, overload

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup

from cs_metrics import interrupts as signals
from cs_metrics.cli.options import ColorOpt, DebugOpt, QuietOpt
from cs_metrics.errors import CsmError, ExitCode
from cs_metrics.output import Output, debug_enabled, debugging, silence_stdout, stdout_error

F = TypeVar("F", bound=Callable[..., Any])

# the options of every command, in the order --help shows them
COMMON = (
    inspect.Parameter("quiet", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=QuietOpt),
    inspect.Parameter("color", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=ColorOpt),
    inspect.Parameter("debug", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=DebugOpt),
)


@overload
def command(fn: F) -> F: ...
@overload
def command(*, arm: bool = True) -> Callable[[F], F]: ...


def command(fn: F | None = None, *, arm: bool = True) -> Any:
    """Make ``fn(..., *, out: Output)`` a Typer command with the common options and the
    error policy (see the module docstring). ``arm=False``: the command calls
    :func:`signals.arm` itself, first thing inside its own ``try`` (``csm report``, whose
    log line must record an interrupt that came during start-up)."""
    if fn is None:
        return lambda f: _wrap(f, arm)
    return _wrap(fn, arm)


def _wrap(fn: F, arm: bool) -> F:
    @functools.wraps(fn)
    def wrapper(
        *args: Any, quiet: bool = False, color: bool | None = None, debug: bool = False, **kw: Any
    ) -> Any:
        out = Output(quiet=quiet, color=color)
        show_traceback = debug_enabled(debug)
        try:
            if arm:
                signals.arm()
            with out.progress(), debugging(show_traceback):
                return fn(*args, out=out, **kw)
        except typer.Exit:
            raise
        except CsmError as exc:
            if show_traceback:
                traceback.print_exc()
            out.error(exc.render())
            raise typer.Exit(int(exc.exit_code)) from None
        except KeyboardInterrupt:
            signals.caught()
            out.error("interrupted")
            raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
        except BrokenPipeError:
            silence_stdout()
            raise typer.Exit(0) from None
        except BaseException as exc:  # a Rust panic inside polars is a BaseException
            if isinstance(exc, SystemExit | GeneratorExit):
                raise
            if signals.received():  # the error followed a signal (polars re-wraps it)
                signals.caught()
                out.error("interrupted")
                raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
            internal(out, exc, show_traceback)

    sig = inspect.signature(fn, eval_str=True)
    own = [p for p in sig.parameters.values() if p.name != "out"]
    wrapper.__signature__ = sig.replace(parameters=[*own, *COMMON])  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


def internal(out: Output, exc: BaseException, show_traceback: bool) -> None:
    """An unexpected failure: one line (or the traceback with --debug), exit 70."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        where = f" {exc.filename}" if exc.filename else ""
        out.error(f"cannot write{where}: no space left on the device; free some space")
        raise typer.Exit(int(ExitCode.CANT_CREATE)) from None
    if show_traceback:
        traceback.print_exception(exc)
    else:
        first = str(exc).splitlines()[0] if str(exc) else ""
        out.error(
            f"internal error: {type(exc).__name__}: {first} "
            "(run with --debug for the traceback, and please report it)"
        )
    raise typer.Exit(int(ExitCode.INTERNAL)) from None


class CsmCommand(TyperCommand):
    """A command whose arguments show their metavar alone in --help (``METRIC...``, not
    ``METRIC <list[str]>``): Python types mean nothing to the people using csm."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            if isinstance(param, TyperArgument):
                param.display_type_rich = _no_type  # type: ignore[method-assign]


def _no_type(ctx: Any) -> None:
    return None


class CsmGroup(TyperGroup):
    """The ``csm`` group: Click's usage errors as one ``error: ...`` line with a hint to
    --help (exit 2), the signal handling of :mod:`.signals` around every invocation, and a
    stdout that fails on the final flush reported as exit 73 rather than a traceback."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        from typer import _click

        with signals.handling():
            try:
                rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
            except _click.exceptions.NoArgsIsHelpError as exc:
                exc.show()  # `csm` alone: the help, exit 2
                code = exc.exit_code
            except _click.exceptions.UsageError as exc:
                code = usage_error(exc)
            except _click.exceptions.ClickException as exc:
                Output().error(exc.format_message())
                code = exc.exit_code
            except typer.Abort:
                Output().error("interrupted")
                code = int(ExitCode.INTERRUPTED)
            else:
                code = rv if isinstance(rv, int) else 0
            if code == 0 and signals.interrupted():  # a signal at start-up, no command ran
                Output().error("interrupted")
                code = int(ExitCode.INTERRUPTED)
            if code == 0:
                try:
                    sys.stdout.flush()
                except BrokenPipeError:
                    silence_stdout()
                except OSError as exc:
                    Output().error(stdout_error(exc).message)
                    silence_stdout()
                    code = int(ExitCode.CANT_CREATE)
        if not standalone_mode:
            return code
        if code == int(ExitCode.INTERRUPTED) and signals.program():
            # interrupted: leave now, so that no step of Python's shutdown (nor a signal
            # polars noted) can turn exit 130 into a death by SIGINT (-2)
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(Exception):
                    stream.flush()
            os._exit(code)
        sys.exit(code)


def usage_error(exc: Any) -> int:
    """One line: ``error: <what>`` and where to look (``csm compute --help``); exit 2."""
    ctx = exc.ctx
    where = ctx.command_path if ctx is not None else "csm"
    message = exc.format_message().rstrip(".")
    if message[:1].isupper() and not message[1:2].isupper():
        message = message[0].lower() + message[1:]
    Output().error(f"{message} (see '{where} --help')")
    return int(exc.exit_code or ExitCode.USAGE)
