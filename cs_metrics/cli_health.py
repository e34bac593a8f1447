"""``csm health``: per-account health scores, and their churn backtest (``--backtest``).

Registered on the shared Typer app when imported (``cs_metrics.cli`` imports this module).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Annotated

import typer

from cs_metrics.cli import (
    AsOfOpt,
    ByOpt,
    ColorOpt,
    DebugOpt,
    EngineOpt,
    FormatOpt,
    FromOpt,
    OutputOpt,
    PeriodOpt,
    QuietOpt,
    SpecOpt,
    ToOpt,
    _guarded,
    app,
)
from cs_metrics.errors import UsageError
from cs_metrics.output import Output

if TYPE_CHECKING:
    import polars as pl
    from rich.console import Console

    from cs_metrics.spec.models import Health

EMIT = {"title": "csm health", "md_float": ".2f"}  # markdown: scores to 2 decimals
SORTS = ("score", "mrr_at_risk")


@app.command("health")
@_guarded
def health(
    spec: SpecOpt = None,
    period: PeriodOpt = None,
    as_of: AsOfOpt = None,
    by: ByOpt = None,
    band: Annotated[
        list[str] | None,
        typer.Option("--band", metavar="NAME", help="only accounts in this band (repeatable)"),
    ] = None,
    top: Annotated[
        int | None,
        typer.Option("--top", metavar="N", min=1, help="only the first N accounts after sorting"),
    ] = None,
    sort: Annotated[
        str,
        typer.Option(
            "--sort",
            metavar="KEY",
            help="score (lowest first) | mrr_at_risk (MRR x (100 - score) / 100, highest first)",
        ),
    ] = "score",
    backtest: Annotated[
        bool,
        typer.Option(
            "--backtest",
            help="per band and period, how many accounts churned within --horizon periods",
        ),
    ] = False,
    from_: FromOpt = None,
    to: ToOpt = None,
    horizon: Annotated[
        int, typer.Option("--horizon", metavar="N", min=1, help="backtest: periods to look ahead")
    ] = 3,
    engine: EngineOpt = "polars",
    fmt: FormatOpt = "auto",
    output: OutputOpt = None,
    quiet: QuietOpt = False,
    color: ColorOpt = None,
    debug: DebugOpt = False,
    *,
    out: Output,
) -> None:
    """Per-account health for the period: score 0-100, band, change, weakest components.

    Scores every customer account (MRR > 0 at the period end) from the spec's health:
    block. --backtest instead shows, per band, how many accounts churned within --horizon
    periods of each period from --from to --to.

    Example: csm health --band red --top 20 --sort mrr_at_risk
    """
    from cs_metrics import render
    from cs_metrics.api import data_end, incomplete, resolve_periods
    from cs_metrics.health import backtest as run_backtest
    from cs_metrics.health import health_of, score_health
    from cs_metrics.spec import load_spec

    if sort not in SORTS:
        raise UsageError(f"--sort {sort!r}: use one of {', '.join(SORTS)}")
    kind = render.format_for_output(output, fmt, out.stdout_is_terminal)
    loaded = load_spec(spec)
    hb = health_of(loaded)
    end = data_end(loaded, as_of)
    if backtest:
        if period:
            raise UsageError("--backtest takes --from/--to, not --period")
        periods = resolve_periods(loaded, start=from_, end=to, as_of=as_of)
        frame, warnings = run_backtest(loaded, periods, horizon, end, engine)
        render.emit_frame(
            out,
            frame,
            kind,
            output,
            lambda c: _backtest_table(frame, hb, c),
            warnings=warnings,
            **EMIT,
        )
        return
    if from_ or to:
        raise UsageError("csm health scores one --period; --from/--to are for --backtest")
    periods = resolve_periods(loaded, period=period, as_of=as_of)
    dims = list(dict.fromkeys(d for d in (by or []) if d != "account"))
    frame, warnings = score_health(loaded, periods, engine, dims)
    warnings = [*warnings, *incomplete(periods, end)]
    summary = band_summary(frame, hb)
    frame = select_accounts(frame, hb, band, sort, top)
    machine = frame.drop("mrr_at_risk")
    currency = loaded.model.currency
    render.emit_frame(
        out,
        machine,
        kind,
        output,
        lambda c: _health_table(frame, hb, dims, periods[0].label, currency, c, summary),
        warnings=warnings,
        **EMIT,
    )


def band_summary(frame: pl.DataFrame, hb: Health) -> pl.DataFrame:
    """band -> accounts and MRR (worst band first; unscored accounts last, band null)."""
    import polars as pl

    from cs_metrics.health import band_order

    order = band_order(hb)
    per = frame.group_by("band").agg(pl.len().alias("accounts"), pl.col("mrr").sum().alias("mrr"))
    rank = pl.col("band").replace_strict({b: i for i, b in enumerate(order)}, default=len(order))
    return per.sort(rank)


def select_accounts(
    frame: pl.DataFrame, hb: Health, bands: list[str] | None, sort: str, top: int | None
) -> pl.DataFrame:
    """Filter by band, sort (score ascending or MRR at risk descending), keep the first N."""
    import polars as pl

    from cs_metrics.health import band_order

    frame = frame.with_columns(
        (pl.col("mrr") * (100.0 - pl.col("score")) / 100.0).alias("mrr_at_risk")
    )
    if bands:
        known = band_order(hb)
        unknown = [b for b in bands if b not in known]
        if unknown:
            raise UsageError(f"--band {unknown[0]!r}: the spec's bands are {', '.join(known)}")
        frame = frame.filter(pl.col("band").is_in(bands))
    if sort == "mrr_at_risk":
        frame = frame.sort(["mrr_at_risk", "account"], descending=[True, False], nulls_last=True)
    else:
        frame = frame.sort(["score", "account"], nulls_last=True)
    return frame.head(top) if top else frame


# ---------------------------------------------------------------------------- output


def _band_styles(hb: Health) -> dict[str, str]:
    from cs_metrics.health import band_order

    order = band_order(hb)
    styles = {}
    for i, name in enumerate(order):
        styles[name] = "red" if i == 0 else ("green" if i == len(order) - 1 else "yellow")
    return styles


def _num(v: float | None, digits: int = 1) -> str:
    return "—" if v is None or not math.isfinite(v) else f"{v:,.{digits}f}"


def _health_table(
    frame: pl.DataFrame,
    hb: Health,
    dims: list[str],
    label: str,
    currency: str,
    console: Console,
    summary: pl.DataFrame,
) -> None:
    from rich.markup import escape
    from rich.table import Table

    from cs_metrics.render import format_value

    styles = _band_styles(hb)
    table = Table(title=f"Health {label}", title_justify="left")
    table.add_column("account", no_wrap=True, min_width=8)
    segmented = "segment" in frame.columns
    for d in [*dims, *(["segment"] if segmented else [])]:
        table.add_column(d)
    table.add_column("score", justify="right")
    table.add_column("band")
    table.add_column("change", justify="right")
    table.add_column("weakest")
    table.add_column("MRR", justify="right")
    table.add_column("coverage", justify="right")
    for r in frame.iter_rows(named=True):
        band = r["band"]
        change = r["score_change"]
        if change is None:
            ch = "—"
        else:
            arrow = "▲ +" if change > 0.05 else ("▼ -" if change < -0.05 else "")
            tone = "green" if change > 0.05 else ("red" if change < -0.05 else "dim")
            ch = f"[{tone}]{arrow}{abs(change):.1f}[/{tone}]" if arrow else "0.0"
        table.add_row(
            escape(r["account"]),
            *[
                escape(str(r[d])) if r[d] is not None else "—"
                for d in [*dims, *(["segment"] if segmented else [])]
            ],
            _num(r["score"]),
            f"[{styles[band]}]{band}[/{styles[band]}]" if band else "—",
            ch,
            r["weakest"] or "",
            format_value(r["mrr"], currency, currency),
            _num(None if r["coverage"] is None else r["coverage"] * 100, 0) + " %",
        )
    parts = []
    for r in summary.iter_rows(named=True):
        name = r["band"]
        shown = f"[{styles[name]}]{name}[/{styles[name]}]" if name else "no score"
        parts.append(f"{shown} {r['accounts']:,} ({format_value(r['mrr'], currency, currency)})")
    table.caption = "accounts (MRR) by band: " + " · ".join(parts)
    table.caption_justify = "left"
    console.print(table)
    if frame.height == 0:
        console.print("no accounts match")


def _backtest_table(frame: pl.DataFrame, hb: Health, console: Console) -> None:
    from rich.table import Table

    styles = _band_styles(hb)
    table = Table(title="Health backtest: churn within the horizon", title_justify="left")
    for col, just in (
        ("period", "left"),
        ("band", "left"),
        ("accounts", "right"),
        ("churned", "right"),
        ("churn rate", "right"),
        ("lift vs top band", "right"),
    ):
        table.add_column(col, justify=just)  # type: ignore[arg-type]
    for r in frame.iter_rows(named=True):
        band = r["band"]
        rate = r["churn_rate"]
        table.add_row(
            r["period"],
            f"[{styles[band]}]{band}[/{styles[band]}]" if band else "—",
            f"{r['accounts']:,}",
            f"{r['churned']:,}",
            "—" if rate is None else f"{rate * 100:.1f} %",
            "—" if r["lift"] is None else f"{r['lift']:.2f}x",
        )
    console.print(table)
