"""Team metrics: CSM touchpoints and coverage (METRICS.md "Team"; sources activities, accounts).

An activity belongs to the day its ``occurred_at`` falls on (in the source's time zone).
"Customers" are the accounts paying at the period's end (the MRR model's
``customer_accounts``: MRR(a, e) > 0), so the coverage metrics need a billing source too.
``--by csm`` (a dimension over the accounts' owner attribute) attributes an activity to
the owner of its account, not to the activity's own ``owner`` column; a ``filter`` on an
activity metric selects activities (``type = 'qbr'``; it may also name account
attributes), never the customers it is divided by.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import narwhals.stable.v2 as nw

from cs_metrics.metrics.base import (
    Context,
    MetricRequest,
    Option,
    Unavailable,
    check_columns,
    metric_type,
    ratio,
)
from cs_metrics.metrics.common import count_if, days_between
from cs_metrics.metrics.mrr import NO_END_CUSTOMERS, REVENUE_SOURCES, customer_accounts

if TYPE_CHECKING:
    import polars as pl

NEVER_TOUCHED = "no activity on or before the period's end"


def _activities(ctx: Context, req: MetricRequest) -> nw.LazyFrame:
    """The activities that match the metric's filter, with their day in ``day``."""
    rows = ctx.filtered("activities", req.filter)
    return rows.with_columns(ctx.day(rows, "occurred_at").alias("day"))


def _customers(ctx: Context) -> nw.LazyFrame:
    """(account_id, period) of customers at each period's end, with the period's p_end."""
    cal = ctx.periods_table().select("period", "p_end")
    return customer_accounts(ctx).join(cal, on="period", how="inner")


@metric_type(
    "touchpoints",
    family="team",
    unit="count",
    requires=("activities",),
    formula="activities in P (that match filter, e.g. type = 'qbr')",
    description="CSM activities: calls, emails, meetings, QBRs ...",
    higher_is_better=None,
)
def touchpoints(ctx: Context, req: MetricRequest) -> nw.LazyFrame:
    rows = ctx.assign_period(ctx.filtered("activities", req.filter), "occurred_at")
    rows = ctx.with_dims(rows)
    out = rows.group_by("period", *ctx.group_cols()).agg(nw.len().cast(nw.Float64).alias("value"))
    return ctx.complete(out, {"value": 0.0})


@metric_type(
    "touched_customers_rate",
    family="team",
    unit="ratio",
    requires=("activities", *REVENUE_SOURCES),
    formula="customers at e with an activity in P / customers at e",
    description="share of paying customers the team was in touch with in the period "
    "(filter selects activities)",
    null_when=NO_END_CUSTOMERS,
    parts={"touched": ("customers touched", "count"), "customers": ("customers", "count")},
    explain="{touched} customers touched / {customers} customers at the end",
)
def touched_customers_rate(ctx: Context, req: MetricRequest) -> nw.LazyFrame:
    touched = (
        ctx.assign_period(_activities(ctx, req), "day")
        .select("account_id", "period")
        .unique()
        .with_columns(nw.lit(1, nw.Int64).alias("touched"))
    )
    customers = customer_accounts(ctx)
    rows = ctx.with_dims(customers.join(touched, on=["account_id", "period"], how="left"))
    agg = rows.group_by("period", *ctx.group_cols()).agg(
        nw.len().cast(nw.Int64).alias("customers"),
        count_if(~nw.col("touched").is_null()).alias("touched"),
    )
    agg = ctx.complete(agg, {"customers": 0, "touched": 0})
    value, note = ratio(nw.col("touched"), nw.col("customers"), NO_END_CUSTOMERS)
    return agg.select(
        "period",
        *ctx.group_cols(),
        value.alias("value"),
        note.alias("note"),
        "touched",
        "customers",
    )


@metric_type(
    "days_since_last_touch",
    family="team",
    unit="days",
    requires=("activities", *REVENUE_SOURCES),
    formula="e - the account's latest activity day on or before e; portfolio: the median "
    "over customers at e that ever had an activity (never-touched customers are left out)",
    description="recency of contact per account; as a portfolio (or --by a dimension) value "
    "the median over customers; customers never touched are null per account and left out "
    "of the median",
    higher_is_better=False,
    null_when="the account (or every customer of the group) has no activity on or before e",
)
def days_since_last_touch(ctx: Context, req: MetricRequest) -> nw.LazyFrame:
    cal = ctx.periods_table().select("period", "p_end")
    days = _activities(ctx, req).select("account_id", "day")
    # only each account's latest day before the calendar and in each period can be a
    # period's last touch: reduce to those before the cross join
    first = nw.lit(min(p.start for p in ctx.calendar.periods), nw.Date)
    before = (
        days.filter(nw.col("day") < first)
        .group_by("account_id")
        .agg(nw.col("day").max().alias("day"))
    )
    inside = (
        ctx.assign_period(days, "day")
        .group_by("account_id", "period")
        .agg(nw.col("day").max().alias("day"))
        .select("account_id", "day")
    )
    last = (
        nw.concat([before, inside], how="vertical")
        .join(cal, how="cross")
        .filter(nw.col("day") <= nw.col("p_end"))
        .group_by("account_id", "period")
        .agg(nw.col("day").max().alias("last_day"))
    )
    rows = _customers(ctx).join(last, on=["account_id", "period"], how="left")
    rows = ctx.with_dims(
        rows.with_columns(days_between(nw.col("last_day"), nw.col("p_end")).alias("since"))
    )
    agg = rows.group_by("period", *ctx.group_cols()).agg(
        nw.col("since").median().alias("value"),
        nw.len().cast(nw.Int64).alias("customers"),
    )
    agg = ctx.complete(agg, {"customers": 0})
    note = (
        nw.when(nw.col("customers") == 0)
        .then(nw.lit(NO_END_CUSTOMERS))
        .when(nw.col("value").is_null())
        .then(nw.lit(NEVER_TOUCHED))
    )
    return agg.select("period", *ctx.group_cols(), "value", note.alias("note"))


@metric_type(
    "onboarding_days",
    family="team",
    unit="days",
    requires=("accounts",),
    formula="median of onboarded_at - signup_date over accounts onboarded in P",
    description="time to onboard; accounts without a signup_date, or onboarded before it "
    "(reported as a warning), are left out",
    higher_is_better=False,
    null_when="no account was onboarded in the period",
    parts={"n": ("accounts onboarded", "count")},
    explain="median over {n} accounts onboarded",
)
def onboarding_days(ctx: Context, req: MetricRequest) -> nw.LazyFrame:
    check_columns(ctx, "accounts", ["signup_date", "onboarded_at"], req.name)
    rows = ctx.filtered("accounts", req.filter)
    rows = rows.filter(~nw.col("signup_date").is_null() & ~nw.col("onboarded_at").is_null())
    rows = ctx.assign_period(rows, "onboarded_at").with_columns(
        days_between(nw.col("signup_date"), nw.col("onboarded_at")).alias("days")
    )
    backwards = rows.filter(nw.col("days") < 0)

    def fmt(df: pl.DataFrame) -> str | None:
        n = df["n"][0] if df.height else 0
        if not n:
            return None
        return (
            f"{req.name}: {n} account{'s' if n != 1 else ''} onboarded before signing up "
            "(onboarded_at < signup_date) left out: check those dates in the accounts source"
        )

    ctx.notice(backwards.select(nw.len().cast(nw.Int64).alias("n")), fmt)
    rows = ctx.with_dims(rows.filter(nw.col("days") >= 0))
    agg = rows.group_by("period", *ctx.group_cols()).agg(
        nw.col("days").median().alias("value"), nw.len().cast(nw.Int64).alias("n")
    )
    agg = ctx.complete(agg, {})
    note = nw.when(nw.col("value").is_null()).then(nw.lit("no account was onboarded in the period"))
    return agg.select("period", *ctx.group_cols(), "value", note.alias("note"), "n")


@metric_type(
    "customers_per_owner",
    family="team",
    unit="number",
    requires=("accounts", *REVENUE_SOURCES),
    formula="customers at e that have an owner / distinct owners among them",
    description="book size per CSM; the owner is the csm dimension when the spec declares one, "
    "else the accounts attribute named by owner_column; customers without an owner are left "
    "out; filter selects accounts",
    options={
        "owner_column": Option(
            str,
            "owner",
            "accounts column naming each account's owner (CSM); set, it overrides the csm "
            "dimension",
        )
    },
    higher_is_better=None,
    null_when="no customer at the end of the period has an owner",
    parts={"customers": ("customers with an owner", "count"), "owners": ("owners", "count")},
    explain="{customers} customers / {owners} owners",
)
def customers_per_owner(ctx: Context, req: MetricRequest) -> nw.LazyFrame:
    # METRICS.md: the owner is "the accounts attribute naming the owner", i.e. the csm
    # dimension when the spec declares one; owner_column set on the metric overrides it
    from cs_metrics.expr import parse_expr
    from cs_metrics.metrics.base import did_you_mean

    metric = ctx.spec.model.metrics.get(req.name)
    explicit = metric is not None and "owner_column" in metric.model_fields_set
    csm = ctx.spec.model.dimensions.get("csm")
    accounts = ctx.filtered("accounts", req.filter)
    cols = ctx.columns("accounts")
    if csm is not None and not explicit:
        named = parse_expr(csm)
        unknown = sorted(c for c in named.columns if c not in cols)
        if unknown:
            raise Unavailable(
                f"the csm dimension ({csm!r}) names column {unknown[0]!r}"
                f"{did_you_mean(unknown[0], cols)}, which the accounts source does not have; "
                "fix dimensions.csm or set owner_column"
            )
        owner_expr = named.to_narwhals()
    else:
        column = req.options.get("owner_column") or "owner"
        if column not in cols:
            raise Unavailable(
                f"the accounts source has no column {column!r} naming the owner: set "
                "owner_column, or declare the owner as dimensions: {csm: <column>}"
            )
        owner_expr = nw.col(column)
    owners = accounts.select("account_id", owner_expr.cast(nw.String).alias("__owner")).unique(
        ["account_id"], keep="any"
    )
    # inner: customers without an accounts row (or left out by the filter) have no owner
    rows = customer_accounts(ctx).join(owners, on="account_id", how="inner")
    rows = ctx.with_dims(rows.filter(~nw.col("__owner").is_null()))
    owner = nw.col("__owner")
    agg = rows.group_by("period", *ctx.group_cols()).agg(
        nw.len().cast(nw.Int64).alias("customers"),
        owner.n_unique().cast(nw.Int64).alias("owners"),
    )
    agg = ctx.complete(agg, {"customers": 0, "owners": 0})
    value, note = ratio(
        nw.col("customers"),
        nw.col("owners"),
        "no customer at the end of the period has an owner",
    )
    return agg.select(
        "period", *ctx.group_cols(), value.alias("value"), note.alias("note"), "customers", "owners"
    )
