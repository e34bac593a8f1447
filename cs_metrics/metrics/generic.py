"""Generic metrics: ``aggregate`` over any source's rows dated in P, and ``formula``."""

from __future__ import annotations

import re
from typing import Literal

import narwhals.stable.v2 as nw

from cs_metrics.metrics.base import Context, MetricRequest, Option, Unavailable, metric_type
from cs_metrics.metrics.common import ACCOUNT_COLUMN

AGGS = ("count", "sum", "mean", "median", "min", "max", "count_distinct")
AGG_PATTERN = re.compile(r"^(count|sum|mean|median|min|max|count_distinct|p(\d{1,2}))$")
UNITS = Literal["currency", "ratio", "count", "days", "hours", "months", "score", "number"]
# The column that dates a row of each role (aggregate counts the rows dated in P).
ROLE_DATE_COLUMN = {
    "accounts": "signup_date",
    "subscriptions": "start_date",
    "invoices": "period_start",
    "tickets": "created_at",
    "surveys": "submitted_at",
    "usage": "timestamp",
    "spend": "date",
    "orders": "ordered_at",
    "activities": "occurred_at",
    "fx": "date",
}


def _agg_expr(agg: str, column: str | None) -> nw.Expr:
    m = AGG_PATTERN.match(agg)
    if not m:
        raise Unavailable(f"agg {agg!r} is not one of {', '.join(AGGS)} or pNN (p90, p95 ...)")
    if agg == "count":
        return (
            nw.len().cast(nw.Float64) if column is None else nw.col(column).count().cast(nw.Float64)
        )
    if column is None:
        raise Unavailable(f"agg {agg} needs a column")
    c = nw.col(column)
    if agg == "count_distinct":
        # SQL's COUNT(DISTINCT) ignores nulls; n_unique counts null as a value
        return (c.n_unique().cast(nw.Int64) - c.is_null().any().cast(nw.Int64)).cast(nw.Float64)
    if m.group(2):
        return c.cast(nw.Float64).quantile(int(m.group(2)) / 100, interpolation="linear")
    return getattr(c.cast(nw.Float64), agg)()


@metric_type(
    "aggregate",
    family="custom",
    unit=lambda opts: "count" if str(opts.get("agg") or "count").startswith("count") else "number",
    requires=(),
    formula="agg(column) over the source's rows dated in P (that match filter)",
    description="count, sum, mean, median, min, max, count_distinct or pNN of any source column",
    options={
        "source": Option(str, ..., "source role whose rows are aggregated (e.g. usage)"),
        "agg": Option(str, "count", "count, sum, mean, median, min, max, count_distinct, pNN"),
        "column": Option(str | None, None, "column to aggregate (not needed for count)"),
        "unit": Option(
            UNITS | None, None, "unit of the result (default: number; count for counts)"
        ),
    },
    higher_is_better=None,
)
def aggregate(ctx: Context, req: MetricRequest) -> nw.LazyFrame:
    role = req.options["source"]
    column = req.options.get("column")
    agg = req.options.get("agg") or "count"
    account_col = ACCOUNT_COLUMN.get(role, "account_id")
    rows = ctx.filtered(role, req.filter, account_col=account_col)
    if column and column not in ctx.columns(role):
        raise Unavailable(f"the {role} source has no column {column!r}")
    rows = ctx.assign_period(rows, ROLE_DATE_COLUMN[role])
    if ctx.dims:
        if account_col not in ctx.columns(role):
            raise Unavailable(
                f"cannot split by {', '.join(ctx.dims)}: the {role} source has no accounts"
            )
        rows = ctx.with_dims(rows, account_col)
    out = rows.group_by("period", *ctx.group_cols()).agg(_agg_expr(agg, column).alias("value"))
    return ctx.complete(out, {"value": 0.0} if agg.startswith("count") or agg == "sum" else {})


@metric_type(
    "formula",
    family="custom",
    unit="number",
    requires=(),
    formula="an SQL expression over other metrics of the same period and dimension",
    description='e.g. expr: "ltv / cac"; division by zero gives null',
    options={
        "expr": Option(str, ..., "SQL expression over metric names"),
        "unit": Option(UNITS | None, None, "unit of the result (default: number)"),
    },
    higher_is_better=None,
)
def formula(ctx: Context, req: MetricRequest) -> nw.LazyFrame:  # evaluated by the engine
    raise AssertionError("formulas are evaluated by the engine")
