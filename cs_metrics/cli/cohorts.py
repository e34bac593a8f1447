"""``csm cohorts``: logo and revenue retention triangles by start cohort.

The computation and its definitions are in :mod:`cs_metrics.cohorts`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cs_metrics import api
from cs_metrics.cli.command import command
from cs_metrics.cli.options import (
    AsOfOpt,
    EngineOpt,
    FormatOpt,
    OutputOpt,
    PolicyOpt,
    SpecOpt,
    output_kind,
)
from cs_metrics.errors import UsageError
from cs_metrics.output import Output

BASES = ("logo", "revenue")
SHOWS = ("percent", "count")


@command
def cohorts(
    spec: SpecOpt = None,
    grain: Annotated[
        str | None,
        typer.Option(
            "--grain",
            metavar="GRAIN",
            help="month | quarter: the length of a cohort and of an age step "
            "(default: the spec's grain)",
            show_default=False,
        ),
    ] = None,
    from_: Annotated[
        str | None,
        typer.Option(
            "--from",
            metavar="COHORT",
            help="first cohort, e.g. 2026-01 or 2026-Q1 (default: 11 periods before --to)",
            show_default=False,
        ),
    ] = None,
    to: Annotated[
        str | None,
        typer.Option(
            "--to",
            metavar="COHORT",
            help="last cohort (default: the last complete period)",
            show_default=False,
        ),
    ] = None,
    as_of: AsOfOpt = None,
    basis: Annotated[
        str,
        typer.Option(
            "--basis",
            metavar="BASIS",
            help="logo (customers) | revenue (MRR): what the table shows; "
            "machine formats always have both",
        ),
    ] = "logo",
    show: Annotated[
        str,
        typer.Option(
            "--show",
            metavar="WHAT",
            help="percent (of the cohort's start) | count (customers or MRR): table cells",
        ),
    ] = "percent",
    policy: PolicyOpt = None,
    engine: EngineOpt = None,
    fmt: FormatOpt = "auto",
    output: OutputOpt = None,
    *,
    out: Output,
) -> None:
    """Logo and revenue retention triangles by start cohort.

    An account's cohort is the month (or quarter) of its first day of positive MRR; for each
    age (periods since), the share of the cohort's accounts still paying at the end of that
    period (logo retention) and their MRR as a share of the cohort's starting MRR (revenue
    retention). The last row is the average over cohorts weighted by their size. Machine
    formats have one record per cohort and age (cohort "all" is the weighted average).

    Example: csm cohorts --grain quarter --from 2025-Q1 --basis revenue
    """
    from cs_metrics import render  # polars: not at `csm --help`
    from cs_metrics.render import terminal

    if basis not in BASES:
        raise UsageError(f"--basis {basis!r}: use one of {', '.join(BASES)}")
    if show not in SHOWS:
        raise UsageError(f"--show {show!r}: use one of {', '.join(SHOWS)}")
    kind = output_kind(out, output, fmt)
    loaded = api.load_spec(spec, policy=policy)
    out.stage("reading sources and computing cohorts")
    result = api.cohorts(loaded, grain=grain, start=from_, end=to, as_of=as_of, engine=engine)
    for w in result.warnings:
        out.warn(w)
    if output and output != "-":
        render.write_cohorts(result, Path(output), kind)
        out.info(f"wrote {output}")
    elif kind == "table":
        with out.paged():
            terminal.render_triangle(result, basis, show, out.out)
    else:
        out.data(render.frame_text(result.frame, kind, what="csm cohorts"))
