"""Support metrics from the tickets source (METRICS.md "Support").

One row of the tickets source is one ticket. Days are calendar days of the timestamps (in
the source's time zone, UTC by default): a ticket created at 23:59:59 on the last day of a
period belongs to it, one created at 00:00:00 the next day does not.

- Flow metrics count tickets by the day of one timestamp: ``tickets`` and the response
  and resolution times by ``created_at``, ``first_contact_resolution_rate`` by
  ``resolved_at``.
- ``open_tickets`` is a snapshot at the period's end e: a cross join of the tickets with
  the period table, kept where created on or before e and not resolved by e.
- ``tickets_per_customer`` divides by the paying customers at e (mrr.customer_accounts).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

import narwhals.stable.v2 as nw

from cs_metrics.metrics.base import (
    Context,
    MetricRequest,
    Option,
    check_columns,
    metric_type,
    ratio,
)
from cs_metrics.metrics.common import count_if, day_of, microseconds_between
from cs_metrics.metrics.mrr import NO_END_CUSTOMERS, REVENUE_SOURCES, customer_accounts

if TYPE_CHECKING:
    import polars as pl

ROLE = "tickets"
SHOWN = 5  # rows named in a data warning
NO_RESOLVED = "no tickets resolved in the period"


def _rows(ctx: Context, req: MetricRequest) -> nw.LazyFrame:
    return ctx.filtered(ROLE, req.filter)


def _created_in_period(ctx: Context, req: MetricRequest) -> nw.LazyFrame:
    return ctx.assign_period(_rows(ctx, req), "created_at")


def _rows_text(df: pl.DataFrame) -> str:
    df = df.sort("__file", "__row")
    shown = ", ".join(f"{r['__file']}:{r['__row']}" for r in df.head(SHOWN).iter_rows(named=True))
    return shown + (f" and {df.height - SHOWN} more" if df.height > SHOWN else "")


def _shared_warning(
    ctx: Context,
    key: tuple[object, ...],
    name: str,
    frame: Callable[[], nw.LazyFrame],
    message: Callable[[pl.DataFrame, str], str | None],
) -> None:
    """One data warning per key however many metrics find it; it names all of them."""

    def register() -> list[str]:
        names: list[str] = []
        ctx.notice(frame(), lambda df: message(df, ", ".join(names)))
        return names

    names: list[str] = ctx.cached(("support-warning", *key), register)
    if name not in names:
        names.append(name)


# ---- volume ----------------------------------------------------------------------------
@metric_type(
    "tickets",
    family="support",
    unit="count",
    requires=(ROLE,),
    formula="tickets with created_at in P",
    description="support tickets created in the period",
    higher_is_better=False,
)
def tickets(ctx: Context, req: MetricRequest) -> nw.LazyFrame:
    rows = ctx.with_dims(_created_in_period(ctx, req))
    out = rows.group_by("period", *ctx.group_cols()).agg(nw.len().cast(nw.Int64).alias("value"))
    return ctx.complete(out, {"value": 0})


def _customers(ctx: Context, req: MetricRequest) -> nw.LazyFrame:
    """(account_id, period) of customers at e; a filter over account attributes only
    (e.g. plan = 'pro') selects the customers too, so the ratio compares like with like."""
    cust = customer_accounts(ctx)
    if not req.filter or not ctx.has("accounts"):
        return cust
    from cs_metrics.expr import parse_expr  # sqlglot: not paid by `csm schema`

    named = set(parse_expr(req.filter).columns)
    # only when the filter means the same on both sides: every column it names is an
    # account attribute, and none (but account_id) is also a ticket column
    same = named <= set(ctx.columns("accounts")) and not (named - {"account_id"}) & set(
        ctx.columns(ROLE)
    )
    if named and same:
        keep = ctx.filtered("accounts", req.filter).select("account_id").unique()
        cust = cust.join(keep, on="account_id", how="inner")
    return cust


@metric_type(
    "tickets_per_customer",
    family="support",
    unit="number",
    requires=(ROLE, *REVENUE_SOURCES),
    formula="tickets / customers (paying accounts at e)",
    description="tickets created in the period per paying customer; a filter over account "
    "attributes only also selects the customers",
    higher_is_better=False,
    null_when=NO_END_CUSTOMERS,
)
def tickets_per_customer(ctx: Context, req: MetricRequest) -> nw.LazyFrame:
    g = ctx.group_cols()
    one, zero = nw.lit(1, nw.Int64), nw.lit(0, nw.Int64)
    t = ctx.with_dims(_created_in_period(ctx, req)).select(
        "period", *g, one.alias("n_tickets"), zero.alias("n_customers")
    )
    c = ctx.with_dims(_customers(ctx, req)).select(
        "period", *g, zero.alias("n_tickets"), one.alias("n_customers")
    )
    both = (
        nw.concat([t, c], how="vertical")
        .group_by("period", *g)
        .agg(
            nw.col("n_tickets").sum().cast(nw.Int64),
            nw.col("n_customers").sum().cast(nw.Int64),
        )
    )
    both = ctx.complete(both, {"n_tickets": 0, "n_customers": 0})
    v, n = ratio(nw.col("n_tickets"), nw.col("n_customers"), NO_END_CUSTOMERS)
    return both.select("period", *g, v.alias("value"), n.alias("note"))


# ---- first contact resolution ----------------------------------------------------------
@metric_type(
    "first_contact_resolution_rate",
    family="support",
    unit="ratio",
    requires=(ROLE,),
    formula="tickets resolved in P with contacts <= 1 / tickets resolved in P",
    description="share of tickets solved in one exchange (Zendesk 'one-touch'); "
    "denominator: resolved leaves out tickets without a contacts value, all counts them as "
    "not solved on first contact",
    options={
        "denominator": Option(
            Literal["resolved", "all"],
            "resolved",
            "resolved: tickets resolved in P that have a contacts value; all: every ticket "
            "resolved in P (no contacts value = not first contact)",
        )
    },
    null_when=NO_RESOLVED,
    parts={
        "first_contact": ("resolved at first contact", "count"),
        "resolved": ("tickets resolved", "count"),
    },
    explain="{first_contact} resolved at first contact / {resolved} resolved",
)
def first_contact_resolution_rate(ctx: Context, req: MetricRequest) -> nw.LazyFrame:
    check_columns(ctx, ROLE, ["resolved_at", "contacts"], req.name)
    rows = ctx.assign_period(
        _rows(ctx, req).filter(~nw.col("resolved_at").is_null()), "resolved_at"
    )
    contacts = nw.col("contacts")
    if (req.options.get("denominator") or "resolved") == "resolved":

        def missing_message(df: pl.DataFrame, names: str) -> str | None:
            n = int(df["n"][0]) if df.height else 0
            if not n:
                return None
            return (
                f"{names}: left out {n} resolved ticket{'s' if n != 1 else ''} without a "
                "contacts value (denominator: resolved; denominator: all counts them as not "
                "solved on first contact)"
            )

        missing = rows.filter(contacts.is_null())
        _shared_warning(
            ctx,
            ("no-contacts", req.filter),
            req.name,
            lambda: missing.select(nw.len().cast(nw.Int64).alias("n")),
            missing_message,
        )
        rows = rows.filter(~contacts.is_null())
    rows = ctx.with_dims(rows)
    agg = rows.group_by("period", *ctx.group_cols()).agg(
        nw.len().cast(nw.Int64).alias("resolved"),
        count_if(~contacts.is_null() & (contacts <= 1)).alias("first_contact"),
    )
    agg = ctx.complete(agg, {"resolved": 0, "first_contact": 0})
    v, n = ratio(nw.col("first_contact"), nw.col("resolved"), NO_RESOLVED)
    return agg.select(
        "period", *ctx.group_cols(), v.alias("value"), n.alias("note"), "first_contact", "resolved"
    )


# ---- response and resolution times -----------------------------------------------------
STAT_OPTION = {
    "stat": Option(
        Literal["median", "mean", "p90"],
        "median",
        "median, mean or p90 (90th percentile, linear interpolation) over the tickets",
    )
}


def _stat(stat: str, col: nw.Expr) -> nw.Expr:
    if stat == "mean":
        return col.mean()
    if stat == "p90":
        return col.quantile(0.9, interpolation="linear")
    return col.median()


def _warn_out_of_order(ctx: Context, req: MetricRequest, created: nw.LazyFrame) -> None:
    """Tickets (created in a computed period) resolved before their first response: a
    data warning with the count and a few file:row; their times are used as recorded."""
    if not {"first_response_at", "resolved_at"} <= set(ctx.columns(ROLE)):
        return

    def frame() -> nw.LazyFrame:
        first, resolved = nw.col("first_response_at"), nw.col("resolved_at")
        return created.filter(~first.is_null() & ~resolved.is_null() & (resolved < first)).select(
            "__file", "__row"
        )

    def message(df: pl.DataFrame, names: str) -> str | None:
        n = df.height
        if n == 0:
            return None
        return (
            f"{names}: {n} ticket{'s were' if n != 1 else ' was'} resolved before "
            f"{'their' if n != 1 else 'its'} first response (resolved_at < first_response_at): "
            f"{_rows_text(df)}; times are used as recorded"
        )

    _shared_warning(ctx, ("order", req.filter), req.name, frame, message)


def _duration(
    ctx: Context, req: MetricRequest, end_col: str, what: str, none_note: str
) -> nw.LazyFrame:
    check_columns(ctx, ROLE, [end_col], req.name)
    stat = req.options.get("stat") or "median"
    created = _created_in_period(ctx, req)
    _warn_out_of_order(ctx, req, created)
    # microseconds, not total_seconds(): that truncates each ticket to whole seconds
    span = microseconds_between(nw.col("created_at"), nw.col(end_col))
    rows = (  # the span in a column before dividing it: it is large (common._epoch_fields)
        created.filter(~nw.col(end_col).is_null())
        .with_columns(span.alias("__us"))
        .with_columns((nw.col("__us").cast(nw.Float64) / 3_600_000_000.0).alias("__hours"))
    )
    negative = rows.filter(nw.col("__hours") < 0)

    def message(df: pl.DataFrame, names: str) -> str | None:
        n = df.height
        if n == 0:
            return None
        return (
            f"{names}: left out {n} ticket{'s' if n != 1 else ''} whose {what} is before "
            f"created_at: {_rows_text(df)}"
        )

    _shared_warning(
        ctx,
        ("negative", req.filter, end_col),
        req.name,
        lambda: negative.select("__file", "__row"),
        message,
    )
    rows = ctx.with_dims(rows.filter(nw.col("__hours") >= 0))
    agg = rows.group_by("period", *ctx.group_cols()).agg(
        _stat(stat, nw.col("__hours")).cast(nw.Float64).alias("value"),
        nw.len().cast(nw.Int64).alias("n"),
    )
    agg = ctx.complete(agg, {})
    note = nw.when(nw.col("value").is_null()).then(nw.lit(none_note))
    return agg.select("period", *ctx.group_cols(), "value", note.alias("note"), "n")


@metric_type(
    "first_response_hours",
    family="support",
    unit="hours",
    requires=(ROLE,),
    formula="median (stat) of first_response_at - created_at in hours, tickets created in P "
    "(unanswered tickets left out)",
    description="time to first response",
    options=STAT_OPTION,
    higher_is_better=False,
    null_when="no answered tickets created in the period",
    parts={"n": ("answered tickets", "count")},
    explain="{stat} over {n} answered tickets",
)
def first_response_hours(ctx: Context, req: MetricRequest) -> nw.LazyFrame:
    return _duration(
        ctx,
        req,
        "first_response_at",
        "first_response_at",
        "no answered tickets created in the period",
    )


@metric_type(
    "resolution_hours",
    family="support",
    unit="hours",
    requires=(ROLE,),
    formula="median (stat) of resolved_at - created_at in hours, tickets created in P "
    "(unresolved tickets left out)",
    description="time to resolution",
    options=STAT_OPTION,
    higher_is_better=False,
    null_when="no resolved tickets created in the period",
    parts={"n": ("resolved tickets", "count")},
    explain="{stat} over {n} resolved tickets",
)
def resolution_hours(ctx: Context, req: MetricRequest) -> nw.LazyFrame:
    return _duration(
        ctx, req, "resolved_at", "resolved_at", "no resolved tickets created in the period"
    )


# ---- backlog ---------------------------------------------------------------------------
@metric_type(
    "open_tickets",
    family="support",
    unit="count",
    requires=(ROLE,),
    formula="tickets created on or before e and not resolved by e (resolved_at empty or after e)",
    description="backlog at the end of the period (a snapshot)",
    higher_is_better=False,
)
def open_tickets(ctx: Context, req: MetricRequest) -> nw.LazyFrame:
    check_columns(ctx, ROLE, ["resolved_at"], req.name)
    cal = ctx.periods_table().select("period", "p_end")
    rows = (
        _rows(ctx, req)
        .join(cal, how="cross")
        .filter(
            (day_of(nw.col("created_at")) <= nw.col("p_end"))
            & (nw.col("resolved_at").is_null() | (day_of(nw.col("resolved_at")) > nw.col("p_end")))
        )
    )
    rows = ctx.with_dims(rows)
    out = rows.group_by("period", *ctx.group_cols()).agg(nw.len().cast(nw.Int64).alias("value"))
    return ctx.complete(out, {"value": 0})
