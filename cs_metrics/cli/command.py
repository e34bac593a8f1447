"""The command wrapper: the options every command has, one Output, one error policy.

A command is written as ``def name(<its own options>, *, out: Output) -> None`` and
decorated with :func:`command`. The decorator

* appends --quiet, --color/--no-color and --debug to the signature Typer reads (after the
  command's own options, which is where ``--help`` lists them), so no command declares them;
* builds the :class:`~cs_metrics.output.Output` from --quiet and --color and passes it
  as ``out`` (hidden from Typer);
* runs the command inside the error policy: a :class:`CsmError` becomes one message on
  stderr and its exit code (SPEC.md), Ctrl-C 130, a closed stdout pipe 0, anything else
  70 — with a traceback only under ``--debug`` / ``CSM_DEBUG=1`` (never local variables).
"""

from __future__ import annotations

import functools
import inspect
import sys
import traceback
from collections.abc import Callable
from typing import Any, TypeVar

import typer

from cs_metrics.cli.options import ColorOpt, DebugOpt, QuietOpt
from cs_metrics.errors import CsmError, ExitCode
from cs_metrics.output import Output, debug_enabled

F = TypeVar("F", bound=Callable[..., Any])

# the options of every command, in the order --help shows them
COMMON = (
    inspect.Parameter("quiet", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=QuietOpt),
    inspect.Parameter("color", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=ColorOpt),
    inspect.Parameter("debug", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=DebugOpt),
)


def command(fn: F) -> F:
    """Make ``fn(..., *, out: Output)`` a Typer command with the common options and the
    error policy (see the module docstring)."""

    @functools.wraps(fn)
    def wrapper(
        *args: Any, quiet: bool = False, color: bool | None = None, debug: bool = False, **kw: Any
    ) -> Any:
        out = Output(quiet=quiet, color=color)
        show_traceback = debug_enabled(debug)
        try:
            return fn(*args, out=out, **kw)
        except typer.Exit:
            raise
        except CsmError as exc:
            if show_traceback:
                traceback.print_exc()
            out.error(exc.render())
            raise typer.Exit(int(exc.exit_code)) from None
        except KeyboardInterrupt:
            out.error("interrupted")
            raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
        except BrokenPipeError:
            sys.stderr.close()
            raise typer.Exit(0) from None
        except Exception as exc:
            if show_traceback:
                traceback.print_exc()
            else:
                first = str(exc).splitlines()[0] if str(exc) else ""
                out.error(
                    f"internal error: {type(exc).__name__}: {first} "
                    "(run with --debug for the traceback, and please report it)"
                )
            raise typer.Exit(int(ExitCode.INTERNAL)) from None

    sig = inspect.signature(fn, eval_str=True)
    own = [p for p in sig.parameters.values() if p.name != "out"]
    wrapper.__signature__ = sig.replace(parameters=[*own, *COMMON])  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]
