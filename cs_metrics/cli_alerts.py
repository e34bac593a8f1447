"""`csm alerts` and `csm explain` (registered on the main Typer app when imported)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cs_metrics.cli import (
    AsOfOpt,
    ByOpt,
    ColorOpt,
    DebugOpt,
    EngineOpt,
    FormatOpt,
    OutputOpt,
    PeriodOpt,
    QuietOpt,
    SpecOpt,
    _guarded,
    app,
)
from cs_metrics.errors import ExitCode, UsageError
from cs_metrics.output import Output

if TYPE_CHECKING:
    import polars as pl

SEVERITY_STYLE = {"low": "dim", "medium": "yellow", "high": "red", "critical": "bold red"}


def _cell(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        if v != v:
            return "—"
        return f"{v:,.4g}" if abs(v) < 1000 else f"{v:,.0f}"
    return str(v)


def _alerts_table(frame: pl.DataFrame, out: Output, period: str) -> None:
    from rich.markup import escape
    from rich.table import Table

    fixed = {"period", "account", "alert", "severity", "action"}
    table = Table(title=f"Alerts {period}", title_justify="left")
    for col in ("alert", "severity", "account", "action", "values"):
        table.add_column(col, overflow="fold")
    for r in frame.iter_rows(named=True):
        values = ", ".join(
            f"{k}={_cell(v)}" for k, v in r.items() if k not in fixed and v is not None
        )
        sev = r["severity"]
        table.add_row(
            escape(r["alert"]),
            f"[{SEVERITY_STYLE.get(sev, '')}]{sev}[/]",
            escape(str(r["account"])),
            escape(r["action"] or ""),
            escape(values),
        )
    out.out.print(table)


@app.command("alerts")
@_guarded
def alerts_cmd(
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
    quiet: QuietOpt = False,
    color: ColorOpt = None,
    debug: DebugOpt = False,
    *,
    out: Output,
) -> None:
    """The playbook hits for a period: accounts whose alert conditions hold.

    Exits 1 with --fail-on-alert when any alert is shown (for cron and CI).

    Example: csm alerts --period 2026-10 --severity high --fail-on-alert
    """
    from cs_metrics import render
    from cs_metrics.alerts import evaluate_alerts, severity_rank
    from cs_metrics.api import resolve_periods
    from cs_metrics.spec import load_spec

    if severity is not None:
        severity_rank(severity)
    kind = render.format_for_output(output, fmt, out.stdout_is_terminal)
    loaded = load_spec(spec)
    label = resolve_periods(loaded, period=period, as_of=as_of)[0].label
    if not loaded.model.alerts:
        out.info(f"{loaded.path} defines no alerts: add an alerts: section (SPEC.md shows one)")
    warnings: list[str] = []
    hits = evaluate_alerts(
        loaded,
        period,
        engine,
        as_of,
        new_only=new_only,
        min_severity=severity,
        warnings=warnings,
    )

    def table(_console: Any) -> None:
        if hits.height:
            _alerts_table(hits, out, label)
        elif loaded.model.alerts:
            out.info(f"no alerts fired in {label}")

    render.emit_frame(out, hits, kind, output, table, title="csm alerts", warnings=warnings)
    if hits.height:
        out.info(f"{hits.height} alert{'s' if hits.height != 1 else ''} in {label}")
    if fail_on_alert and hits.height:
        raise typer.Exit(int(ExitCode.ALERTS_FIRED))


@app.command("explain")
@_guarded
def explain_cmd(
    metric: Annotated[str, typer.Argument(metavar="METRIC", help="a spec metric or built-in")],
    spec: SpecOpt = None,
    period: PeriodOpt = None,
    as_of: AsOfOpt = None,
    by: ByOpt = None,
    engine: EngineOpt = "polars",
    fmt: Annotated[
        str,
        typer.Option("--format", "-f", metavar="FORMAT", help="text (default) | json"),
    ] = "text",
    quiet: QuietOpt = False,
    color: ColorOpt = None,
    debug: DebugOpt = False,
    *,
    out: Output,
) -> None:
    """One metric's definition, its value for a period, and the numbers behind it.

    Example: csm explain customer_churn_rate --period 2026-10
    """
    from cs_metrics import render
    from cs_metrics.explain import explain_metric, render_explain
    from cs_metrics.spec import load_spec

    if fmt not in ("text", "table", "auto", "json"):
        raise UsageError(f"--format {fmt!r}: use text or json")
    loaded = load_spec(spec)
    facts = explain_metric(loaded, metric, period=period, as_of=as_of, by=by or [], engine=engine)
    for w in facts.get("warnings", []):
        out.warn(w)
    if fmt == "json":
        out.data(json.dumps(facts, indent=2, default=render.jsonable, ensure_ascii=False))
    else:
        render_explain(facts, out)
