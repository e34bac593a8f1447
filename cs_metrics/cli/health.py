"""``csm health``: per-account health scores, and their churn backtest (``--backtest``)."""

from __future__ import annotations

from typing import Annotated

import typer

from cs_metrics import api
from cs_metrics.cli.command import command
from cs_metrics.cli.options import (
    AsOfOpt,
    ByOpt,
    EngineOpt,
    FormatOpt,
    FromOpt,
    OutputOpt,
    PeriodOpt,
    PolicyOpt,
    SpecOpt,
    ToOpt,
    check_by,
    count,
    output_kind,
)
from cs_metrics.errors import UsageError
from cs_metrics.output import Output

EMIT = {"title": "csm health", "md_float": ".2f"}  # markdown: scores to 2 decimals
SORTS = ("score", "mrr_at_risk", "name", "owner", "account")


@command
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
        typer.Option(
            "--top", metavar="N", parser=count, help="only the first N accounts after sorting"
        ),
    ] = None,
    sort: Annotated[
        str,
        typer.Option(
            "--sort",
            metavar="KEY",
            help="score (lowest first) | mrr_at_risk (MRR x (100 - score) / 100, highest "
            "first) | name | owner (A to Z, lowest score first) | account",
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
        int,
        typer.Option(
            "--horizon", metavar="N", parser=count, help="backtest: periods to look ahead"
        ),
    ] = 3,
    policy: PolicyOpt = None,
    engine: EngineOpt = None,
    fmt: FormatOpt = "auto",
    output: OutputOpt = None,
    *,
    out: Output,
) -> None:
    """Per-account health for the period: score 0-100, band, change, weakest components.

    Scores every customer account (MRR > 0 at the period end) from the spec's health:
    block; without a billing source, every account of the accounts source. --backtest instead shows, per band, how many accounts churned within --horizon
    periods of each period from --from to --to.

    Example: csm health --band red --top 20 --sort mrr_at_risk
    """
    from cs_metrics import render  # polars: not at `csm --help`
    from cs_metrics.render import terminal

    if sort not in SORTS:
        raise UsageError(f"--sort {sort!r}: use one of {', '.join(SORTS)}")
    kind = output_kind(out, output, fmt)
    loaded = api.load_spec(spec, policy=policy)
    by = check_by(loaded, by)
    if backtest:
        out.stage("scoring health and backtesting")
        bt = api.backtest(
            loaded, period=period, start=from_, end=to, as_of=as_of, horizon=horizon, engine=engine
        )
        render.emit_frame(
            out,
            bt.frame,
            kind,
            output,
            lambda c: terminal.backtest_table(bt.frame, bt.settings, c),
            warnings=bt.warnings,
            **EMIT,
        )
        return
    out.stage("reading sources and scoring health")
    scores = api.health(
        loaded,
        period=period,
        start=from_,
        end=to,
        as_of=as_of,
        by=by,
        bands=band,
        sort=sort,
        top=top,
        engine=engine,
    )
    render.emit_frame(
        out,
        scores.frame.drop("mrr_at_risk"),
        kind,
        output,
        lambda c: terminal.health_table(scores, c),
        warnings=scores.warnings,
        counts=scores.counts,
        **EMIT,
    )
