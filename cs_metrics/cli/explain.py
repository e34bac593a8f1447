"""``csm explain METRIC``: a metric's definition, its value for a period, and its inputs."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from cs_metrics import api
from cs_metrics.cli.command import command
from cs_metrics.cli.options import (
    AsOfOpt,
    ByOpt,
    EngineOpt,
    PeriodOpt,
    PolicyOpt,
    SpecOpt,
    check_by,
)
from cs_metrics.errors import UsageError
from cs_metrics.output import Output

FORMATS = ("text", "table", "auto", "json")


@command
def explain(
    metric: Annotated[str, typer.Argument(metavar="METRIC", help="a spec metric or built-in")],
    spec: SpecOpt = None,
    period: PeriodOpt = None,
    as_of: AsOfOpt = None,
    by: ByOpt = None,
    policy: PolicyOpt = None,
    engine: EngineOpt = None,
    fmt: Annotated[
        str,
        typer.Option("--format", "-f", metavar="FORMAT", help="text (default) | json"),
    ] = "text",
    *,
    out: Output,
) -> None:
    """One metric's definition, its value for a period, and the numbers behind it.

    Example: csm explain customer_churn_rate --period 2026-10
    """
    from cs_metrics import render  # polars: not at `csm --help`
    from cs_metrics.render import terminal

    if fmt not in FORMATS:
        raise UsageError(f"--format {fmt!r}: use text or json")
    loaded = api.load_spec(spec, policy=policy)
    by = check_by(loaded, by)
    out.stage("reading sources and computing")
    facts = api.explain(loaded, metric, period=period, as_of=as_of, by=by, engine=engine)
    for w in facts.get("warnings", []):
        out.warn(w)
    if fmt == "json":
        out.data(json.dumps(facts, indent=2, default=render.jsonable, ensure_ascii=False))
    else:
        terminal.render_explain(facts, out.out)
