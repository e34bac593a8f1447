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
    PolicyOpt,
    SpecOpt,
    count,
    output_kind,
)
from cs_metrics.errors import ExitCode
from cs_metrics.output import Output


@command
def alerts(
    spec: SpecOpt = None,
    period: PeriodOpt = None,
    as_of: AsOfOpt = None,
    policy: PolicyOpt = None,
    engine: EngineOpt = None,
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
    sort: Annotated[
        str | None,
        typer.Option(
            "--sort",
            metavar="KEY",
            help="within each playbook: severity (default, then account) | account | name | "
            "owner (A to Z) | a value the condition uses (highest first); KEY:asc or "
            "KEY:desc turns it",
            show_default=False,
        ),
    ] = None,
    top: Annotated[
        int | None,
        typer.Option(
            "--top", metavar="N", parser=count, help="only the first N hits of each playbook"
        ),
    ] = None,
    fmt: FormatOpt = "auto",
    output: OutputOpt = None,
    *,
    out: Output,
) -> None:
    """The playbook hits for a period: accounts whose alert conditions hold.

    Hits are grouped by playbook (most severe first), each with the account's name and
    owner and the values its condition used. Exits 1 with --fail-on-alert when any alert
    is shown (for cron and CI).

    Example: csm alerts --period 2026-10 --severity high --fail-on-alert

    Example: csm alerts --sort mrr --top 5
    """
    from cs_metrics import render  # polars: not at `csm --help`
    from cs_metrics.render import markdown, terminal

    if severity is not None:
        api.severity_rank(severity)
    kind = output_kind(out, output, fmt)
    loaded = api.load_spec(spec, policy=policy)
    out.stage("reading sources and evaluating alerts")
    found = api.alerts(
        loaded,
        period=period,
        as_of=as_of,
        engine=engine,
        new_only=new_only,
        severity=severity,
        sort=sort,
        top=top,
    )
    hits, label = found.frame, found.period
    if not found.defined:
        out.info(f"{loaded.path} defines no alerts: add an alerts: section (SPEC.md shows one)")

    def table(console: Any) -> None:
        if hits.height:
            terminal.alerts_table(hits, label, console, found.units, found.currency)
        elif found.defined:
            out.info(f"no alerts fired in {label}")

    counts = [c for c, unit in found.units.items() if unit == "count"]
    render.emit_frame(
        out,
        hits,
        kind,
        output,
        table,
        title="csm alerts",
        warnings=found.warnings,
        counts=counts,
        markdown=lambda f: markdown.alerts_markdown(f, label, found.units, found.currency),
    )
    if hits.height:
        out.info(f"{hits.height} alert{'s' if hits.height != 1 else ''} in {label}")
    if fail_on_alert and hits.height:
        raise typer.Exit(int(ExitCode.ALERTS_FIRED))
