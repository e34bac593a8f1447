"""``csm compare-policies``: the same metrics for one period under every definition policy.

The computation is :func:`cs_metrics.api.compare_policies`; the options and each vendor's
choices are in :mod:`cs_metrics.metrics.policy` and docs/policies.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cs_metrics import api
from cs_metrics.cli.command import command
from cs_metrics.cli.options import AsOfOpt, EngineOpt, FormatOpt, OutputOpt, PeriodOpt, SpecOpt
from cs_metrics.output import Output


@command
def compare_policies(
    metrics: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="METRIC",
            help="metrics to compare (default: all in the spec)",
            show_default=False,
        ),
    ] = None,
    spec: SpecOpt = None,
    period: PeriodOpt = None,
    as_of: AsOfOpt = None,
    engine: EngineOpt = None,
    fmt: FormatOpt = "auto",
    output: OutputOpt = None,
    *,
    out: Output,
) -> None:
    """The same metrics for one period under every definition policy, side by side.

    Columns are the policies chartmogul (csm's default), baremetrics, stripe and
    profitwell, each with its own definitions (the spec's policy: and definitions: are set
    aside); differs_by names the options that make a metric's values differ. Tables and
    markdown also list every policy's options. docs/policies.md gives each vendor's source.

    Example: csm compare-policies customer_churn_rate mrr --period 2026-03
    """
    from cs_metrics import render  # polars: not at `csm --help`
    from cs_metrics.render import policies

    kind = render.format_for_output(output, fmt, out.stdout_is_terminal)
    loaded = api.load_spec(spec)
    result = api.compare_policies(loaded, metrics, period=period, as_of=as_of, engine=engine)
    for w in result.warnings:
        out.warn(w)
    if output and output != "-":
        policies.write_comparison(result, Path(output), kind)
        out.info(f"wrote {output}")
    elif kind == "table":
        policies.comparison_table(result, out.out)
    else:
        out.data(policies.comparison_text(result, kind))
