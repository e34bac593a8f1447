"""``csm alerts``: the playbook hits for a period."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cs_metrics import api
from cs_metrics.cli.command import command
from cs_metrics.cli.options import (
    AsOfOpt,
    EngineOpt,
    FormatOpt,
    OutputOpt,
    PeriodOpt,
    SpecOpt,
    output_kind,
)
from cs_metrics.errors import ExitCode
from cs_metrics.output import Output


@command
def alerts(
    spec: SpecOpt = None,
    period: PeriodOpt = None,
    as_of: AsOfOpt = None,
    engine: EngineOpt = "polars",
    new_only: Annotated[
        bool,
        typer.Option("--new-only", help="only hits that did not fire for the account last period"),
    ] = False,
    fail_on_alert: Annotated[
        bool, typer.Option("--fail-on-alert", help="exit 1 when any alert is shown")
    ] = False,
    severity: Annotated[
        str | None,
        typer.Option(
            "--severity",
            metavar="LEVEL",
            help="minimum severity shown: low | medium | high | critical",
            show_default=False,
        ),
    ] = None,
    fmt: FormatOpt = "auto",
    output: OutputOpt = None,
    *,
    out: Output,
) -> None:
    """The playbook hits for a period: accounts whose alert conditions hold.

    Exits 1 with --fail-on-alert when any alert is shown (for cron and CI).

    Example: csm alerts --period 2026-10 --severity high --fail-on-alert
    """
    from cs_metrics import render  # polars: not at `csm --help`
    from cs_metrics.render import terminal

    if severity is not None:
        api.severity_rank(severity)
    kind = output_kind(out, output, fmt)
    loaded = api.load_spec(spec)
    out.stage("reading sources and evaluating alerts")
    found = api.alerts(
        loaded, period=period, as_of=as_of, engine=engine, new_only=new_only, severity=severity
    )
    hits, label = found.frame, found.period
    if not found.defined:
        out.info(f"{loaded.path} defines no alerts: add an alerts: section (SPEC.md shows one)")

    def table(console: Any) -> None:
        if hits.height:
            terminal.alerts_table(hits, label, console)
        elif found.defined:
            out.info(f"no alerts fired in {label}")

    render.emit_frame(out, hits, kind, output, table, title="csm alerts", warnings=found.warnings)
    if hits.height:
        out.info(f"{hits.height} alert{'s' if hits.height != 1 else ''} in {label}")
    if fail_on_alert and hits.height:
        raise typer.Exit(int(ExitCode.ALERTS_FIRED))
