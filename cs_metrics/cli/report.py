"""``csm report [NAME]``: write the period's report bundle, atomically (cs_metrics.report).

Streams: warnings and "wrote report to DIR (N files)" go to stderr and are silenced by
``--quiet``; the one log line per report (timestamp, report, period, status, rows read per
source, files, directory, duration) is always written to stderr — also with ``--quiet`` and
also on failure — so that ``csm report --quiet >> csm.log 2>&1`` in cron records every run.
"""

from __future__ import annotations

import time
from typing import Annotated

import typer

from cs_metrics import api
from cs_metrics import interrupts as signals
from cs_metrics.cli.command import command
from cs_metrics.cli.options import AsOfOpt, EngineOpt, PeriodOpt, PolicyOpt, SpecOpt
from cs_metrics.errors import CsmError, ExitCode
from cs_metrics.output import Output


@command(arm=False)
def report(
    name: Annotated[
        str | None,
        typer.Argument(
            metavar="NAME",
            help="a report declared under reports: (default: every declared report, or the "
            "built-in default report when there are none)",
            show_default=False,
        ),
    ] = None,
    spec: SpecOpt = None,
    period: PeriodOpt = None,
    as_of: AsOfOpt = None,
    out_dir: Annotated[
        str | None,
        typer.Option(
            "--out-dir",
            metavar="DIR",
            help="write the bundle here instead of the report's out_dir (relative to the "
            "working directory; {period}, {name} and {grain} are filled in)",
            show_default=False,
        ),
    ] = None,
    policy: PolicyOpt = None,
    engine: EngineOpt = None,
    *,
    out: Output,
) -> None:
    """Write the period's report bundle: summary.md, a self-contained summary.html with
    charts, metrics.xlsx and one CSV per table, into reports/PERIOD (atomically: re-running
    replaces the bundle whole, a failed run leaves the previous one untouched).

    One log line per report goes to stderr even with --quiet (for cron logs).

    Example: csm report --period 2026-10 --out-dir /srv/reports/{period}
    """
    started = time.monotonic()
    label: str | None = None
    current = name or "-"
    try:
        signals.arm()  # an interrupt that came during start-up: raised here, and logged
        from cs_metrics.report import log_line, shown_path  # polars: not at `csm --help`

        loaded = api.load_spec(spec, policy=policy)
        reports = api.reports(loaded, name, out_dir=out_dir)
        label = api.report_period(loaded, period, as_of).label
        for settings in reports:
            current = settings.name
            signals.arm()  # a signal held while the previous bundle was swapped in: now
            one = time.monotonic()
            run = api.report(
                loaded, settings, period=period, as_of=as_of, out_dir=out_dir, engine=engine
            )
            out.done()
            for w in run.warnings:
                out.warn(w)
            out.info(f"wrote report to {shown_path(run.directory)} ({len(run.files)} files)")
            _log(
                out,
                log_line(
                    name=run.name,
                    period=run.period,
                    status="ok",
                    seconds=time.monotonic() - one,
                    run=run,
                ),
            )
    except BaseException as exc:  # the log line records failures too, then the error policy
        if isinstance(exc, CsmError):
            status, code = "failed", int(exc.exit_code)
        elif isinstance(exc, KeyboardInterrupt) or (
            signals.received() and not isinstance(exc, SystemExit | GeneratorExit | typer.Exit)
        ):  # an error that follows a signal is the interrupt (polars re-wraps it)
            signals.caught()
            status, code = "interrupted", int(ExitCode.INTERRUPTED)
        elif isinstance(exc, SystemExit | GeneratorExit | typer.Exit):
            raise  # not failures of the run
        else:  # any other exception, or a panic inside polars (a BaseException)
            status, code = "failed", int(ExitCode.INTERNAL)
        from cs_metrics.report.bundle import log_line as line_of

        seconds = time.monotonic() - started
        out.done()
        _log(out, line_of(name=current, period=label, status=status, seconds=seconds, code=code))
        raise


def _log(out: Output, line: str) -> None:
    """The run's log line: plain text on stderr, never silenced, never wrapped."""
    out.err.print(line, markup=False, highlight=False, soft_wrap=True, style=None)
