"""``csm compute``: metrics for a period or a series, as a table, text or a file."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cs_metrics import api
from cs_metrics.cli.command import command
from cs_metrics.cli.options import (
    AsOfOpt,
    ByOpt,
    EngineOpt,
    FormatOpt,
    FromOpt,
    GrainOpt,
    LayoutOpt,
    OutputOpt,
    PeriodOpt,
    PolicyOpt,
    SpecOpt,
    ToOpt,
    TopOpt,
    check_by,
    output_kind,
)
from cs_metrics.errors import UsageError
from cs_metrics.output import Output

if TYPE_CHECKING:
    from cs_metrics.result import MetricResult


@command
def compute(
    metrics: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="METRIC...",
            help="metrics to compute (default: all in the spec)",
            show_default=False,
        ),
    ] = None,
    spec: SpecOpt = None,
    period: PeriodOpt = None,
    from_: FromOpt = None,
    to: ToOpt = None,
    grain: GrainOpt = None,
    as_of: AsOfOpt = None,
    trend: Annotated[
        int | None,
        typer.Option(
            "--trend",
            metavar="N",
            help="the last N periods, ending at the last complete one (or --to); "
            "tables show a sparkline per metric",
            show_default=False,
        ),
    ] = None,
    by: ByOpt = None,
    policy: PolicyOpt = None,
    sort: Annotated[
        str | None,
        typer.Option(
            "--sort",
            metavar="KEY",
            help="order the rows of --by: a metric (highest in the latest period first), or "
            "account, name, owner, a dimension (A to Z); KEY:asc or KEY:desc turns it",
            show_default=False,
        ),
    ] = None,
    top: TopOpt = None,
    engine: EngineOpt = None,
    fmt: FormatOpt = "auto",
    layout: LayoutOpt = None,
    wide: Annotated[bool, typer.Option("--wide", help="the same as --layout wide")] = False,
    output: OutputOpt = None,
    drop_empty: Annotated[
        bool,
        typer.Option(
            "--drop-empty",
            help="with --by account: leave out the rows of accounts without data of the metric "
            "in the period (by default every account has a row in every period)",
        ),
    ] = False,
    *,
    out: Output,
) -> None:
    """Compute metrics for a period (default: the last complete one) or a series.

    Example: csm compute mrr customer_churn_rate nrr --from 2026-01 --to 2026-10 --by plan

    Example: csm compute mrr nrr --trend 12

    Example: csm compute mrr nps --by account --sort mrr --top 20

    Example: csm compute mrr nrr --from 2026-01 --layout grid -o board.xlsx
    """
    from cs_metrics.render.machine import check_layout

    kind = output_kind(out, output, fmt)
    if wide and layout not in (None, "wide"):
        raise UsageError(f"--wide is --layout wide; drop one of --wide and --layout {layout}")
    layout = "wide" if wide else (layout and check_layout(layout))
    loaded = api.load_spec(spec, policy=policy)
    by = check_by(loaded, by)
    out.stage("reading sources and computing")
    result = api.compute_metrics(
        loaded,
        metrics,
        period=period,
        start=from_,
        end=to,
        grain=grain,
        as_of=as_of,
        by=by,
        engine=engine,
        trend=trend,
        drop_empty=drop_empty,
        sort=sort,
        top=top,
    )
    emit(out, result, kind, output, layout=layout)


def emit(
    out: Output,
    result: MetricResult,
    kind: str,
    output: str | None,
    wide: bool = False,
    *,
    layout: str | None = None,
) -> None:
    """Send a MetricResult to stdout or a file, in the format ``kind`` (see output_kind)
    and ``layout`` (long | wide | grid; ``wide=True`` is wide)."""
    layout = "wide" if wide else layout
    from cs_metrics import render  # polars: not at `csm --help`

    for w in result.warnings:
        out.warn(w)
    if output and output != "-":
        out.stage(f"writing {output}")
        render.write_file(result, Path(output), kind, layout=layout)
        out.done()
        out.info(f"wrote {output}")
    elif kind == "table":
        with out.paged():
            render.render_table(result, out.out)
    else:
        out.data(render.render_text(result, kind, layout=layout or "long"))
