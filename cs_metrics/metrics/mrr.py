"""The MRR model (METRICS.md "Revenue"): billing lines, fx, MRR levels, snapshots, customers.

MRR(a, d) is an account's normalised monthly recurring revenue on day d, summed over its
billing lines active that day ([start, end) with end exclusive, empty = ongoing), in the
reporting currency (the fx source converts the others). Movements are classified per
account, not per line, by comparing MRR on the day before the period (s-1) with MRR on
its last day (e): :func:`summary` sums and counts them per period and dimension.

The revenue family's metrics are ratios of :func:`summary`'s columns; the acquisition
family reuses its new customers, ltv and asp; every family that divides by "customers"
uses :func:`customer_accounts` (so does the engine, to give every customer a row per
account); trial conversion and `csm cohorts` read the levels, spans and snapshots.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import narwhals.stable.v2 as nw

from cs_metrics.metrics.base import EPS, Context, MetricRequest, Option, Unavailable, ratio
from cs_metrics.metrics.common import count_if, days_between, sum_if
from cs_metrics.metrics.policy import SAME_PERIOD, adjust_lines, logo_churn
from cs_metrics.periods import add_months

if TYPE_CHECKING:
    import polars as pl

REVENUE_SOURCES = ("subscriptions|invoices",)
MRR_LINE_TYPES = ("subscription", "recurring", "plan", "addon", "credit", "discount", "proration")
ROUND = 6  # decimals kept in MRR snapshots, so identities hold exactly
OPEN_END = date(9999, 12, 31)  # an ongoing line's end, so range joins need no null test

SOURCE_OPTION = {
    "source": Option(
        str | None,
        None,
        "billing source: subscriptions or invoices (default: subscriptions when configured)",
    )
}


# ---- lines -----------------------------------------------------------------------------
def billing_role(ctx: Context, req: MetricRequest) -> str:
    """The billing source the request reads: its ``source`` option, else subscriptions when
    configured, else invoices (Unavailable without either)."""
    role = req.options.get("source")
    if role:
        if role not in ("subscriptions", "invoices"):
            raise Unavailable(f"source must be subscriptions or invoices, not {role!r}")
        if not ctx.has(role):
            raise Unavailable(f"needs the {role} source: add sources.{role} to the spec")
        return role
    for role in ("subscriptions", "invoices"):
        if ctx.has(role):
            return role
    raise Unavailable("needs the subscriptions or invoices source: add one under sources")


def lines(ctx: Context, req: MetricRequest) -> nw.LazyFrame:
    """account_id, start, end (exclusive, null = open), mrr (reporting currency), role."""
    role = billing_role(ctx, req)
    return ctx.cached(("lines", role, req.filter), lambda: _build_lines(ctx, role, req.filter))


def _build_lines(ctx: Context, role: str, condition: str | None) -> nw.LazyFrame:
    frame = ctx.filtered(role, condition)
    cols = set(ctx.columns(role))
    frame, cols = adjust_lines(ctx, role, frame, cols)  # the definition policy (policy.py)
    one = nw.lit(1.0)
    discount = nw.col("discount").fill_null(0.0) if "discount" in cols else nw.lit(0.0)
    if role == "subscriptions":
        quantity = nw.col("quantity").fill_null(1.0) if "quantity" in cols else one
        months = nw.col("interval_months") if "interval" in cols else one
        out = frame.select(
            nw.col("account_id"),
            nw.col("start_date").alias("start"),
            nw.col("end_date").alias("end")
            if "end_date" in cols
            else nw.lit(None, nw.Date).alias("end"),
            ((nw.col("amount") * quantity - discount) / months).alias("mrr"),
            *_currency(cols),
            nw.col("__file"),
            nw.col("__row"),
        )
    else:
        if "line_type" in cols:
            kind = nw.col("line_type").str.to_lowercase().str.strip_chars()
            frame = frame.filter(kind.is_null() | kind.is_in(MRR_LINE_TYPES))
        s, e = nw.col("period_start"), nw.col("period_end")
        whole = (e.dt.year() - s.dt.year()) * 12 + (e.dt.month() - s.dt.month())
        # each step a column: a division of a large expression is four copies of it on
        # Spark (common._epoch_fields)
        frame = frame.filter(e > s).with_columns(days_between(s, e).alias("__days"))
        frame = frame.with_columns(
            nw.when(e.dt.day() == s.dt.day())
            .then(whole.cast(nw.Float64))
            .otherwise(nw.col("__days") * 12.0 / 365.0)
            .alias("__months")
        )
        out = frame.select(
            nw.col("account_id"),
            s.alias("start"),
            e.alias("end"),
            ((nw.col("amount") - discount) / nw.col("__months")).alias("mrr"),
            *_currency(cols),
            nw.col("__file"),
            nw.col("__row"),
        )
    return _convert(ctx, out, role)


def _currency(cols: set[str]) -> list[nw.Expr]:
    if "currency" in cols:
        return [nw.col("currency").str.to_uppercase().str.strip_chars().alias("currency")]
    return [nw.lit(None, nw.String).alias("currency")]


def _convert(ctx: Context, out: nw.LazyFrame, role: str) -> nw.LazyFrame:
    """Convert line MRR to the reporting currency with the fx source (rate at the line's start)."""
    reporting = ctx.spec.model.currency
    foreign = ~nw.col("currency").is_null() & (nw.col("currency") != reporting)
    if not ctx.has("fx"):
        # mixed currencies without fx: an error naming them
        def fmt(df: pl.DataFrame) -> str | None:
            if df.height == 0:
                return None
            found = ", ".join(
                f"{r['currency']} ({r['n']} lines)"
                for r in df.sort("currency").iter_rows(named=True)
            )
            return (
                f"the {role} source has amounts in {found} besides {reporting}: add an fx source "
                "(sources.fx with currency, rate) or filter those lines out"
            )

        ctx.notice(
            out.filter(foreign).group_by("currency").agg(nw.len().cast(nw.Int64).alias("n")),
            fmt,
            error=True,
        )
        return out.drop("currency")
    fx = ctx.source("fx")
    fx_cols = set(ctx.columns("fx"))
    rates = fx.select(
        nw.col("currency").str.to_uppercase().str.strip_chars(),
        nw.col("rate"),
        *([nw.col("date")] if "date" in fx_cols else []),
    )
    if "date" not in fx_cols:
        rates = rates.group_by("currency").agg(nw.col("rate").mean())
        conv = out.join(rates, on="currency", how="left")
    else:
        keyed = out.select("__file", "__row", "currency", "start")
        at = (
            keyed.join(rates, on="currency", how="inner")
            .filter(nw.col("date") <= nw.col("start"))
            .group_by("__file", "__row")
            .agg(nw.col("date").max().alias("__d"))
        )
        first = rates.group_by("currency").agg(nw.col("date").min().alias("__first"))
        conv = (
            out.join(at, on=["__file", "__row"], how="left")
            .join(first, on="currency", how="left")
            .with_columns(nw.coalesce(nw.col("__d"), nw.col("__first")).alias("date"))
            .join(rates, on=["currency", "date"], how="left")
        )
    missing = conv.filter(foreign & nw.col("rate").is_null())

    def fmt_missing(df: pl.DataFrame) -> str | None:
        if df.height == 0:
            return None
        names = ", ".join(sorted(df["currency"].unique().to_list()))
        return f"no fx rate for {names} (used in the {role} source): add rows for them to the fx source"

    ctx.notice(missing.select("currency").unique(), fmt_missing, error=True)
    rate = nw.when(foreign).then(nw.col("rate")).otherwise(nw.lit(1.0))
    return conv.with_columns((nw.col("mrr") * rate).alias("mrr")).select(
        "account_id", "start", "end", "mrr", "__file", "__row"
    )


def mrr_levels(ctx: Context, req: MetricRequest) -> nw.LazyFrame:
    """account_id, day, level: the account's MRR from each of its change points on (a running
    sum of its lines' start and end deltas, so credits net against charges)."""

    def build() -> nw.LazyFrame:
        ls = lines(ctx, req)
        deltas = nw.concat(
            [
                ls.select("account_id", nw.col("start").alias("day"), nw.col("mrr").alias("delta")),
                ls.filter(~nw.col("end").is_null()).select(
                    "account_id", nw.col("end").alias("day"), (-nw.col("mrr")).alias("delta")
                ),
            ],
            how="vertical",
        )
        per_day = deltas.group_by("account_id", "day").agg(nw.col("delta").sum().fill_null(0.0))
        return per_day.with_columns(
            nw.col("delta").cum_sum().over("account_id", order_by="day").round(ROUND).alias("level")
        )

    return ctx.cached(("levels", ctx_key(ctx, req)), build)


def first_positive(ctx: Context, req: MetricRequest) -> nw.LazyFrame:
    """account_id -> the first day its MRR was above 0."""

    def build() -> nw.LazyFrame:
        return (
            mrr_levels(ctx, req)
            .filter(nw.col("level") > EPS)
            .group_by("account_id")
            .agg(nw.col("day").min().alias("first_day"))
        )

    return ctx.cached(("first", ctx_key(ctx, req)), build)


def positive_spans(ctx: Context, req: MetricRequest) -> nw.LazyFrame:
    """account_id, since, until (exclusive, null = open): the spans where its MRR is above 0;
    a span runs from one change point to the next."""

    def build() -> nw.LazyFrame:
        level = mrr_levels(ctx, req).with_columns(  # order-dependent: its own step (ENGINE.md 5)
            nw.col("day").shift(-1).over("account_id", order_by="day").alias("until")
        )
        return level.filter(nw.col("level") > EPS).select(
            "account_id", nw.col("day").alias("since"), "until"
        )

    return ctx.cached(("spans", ctx_key(ctx, req)), build)


def ctx_key(ctx: Context, req: MetricRequest) -> tuple[Any, ...]:
    return (billing_role(ctx, req), req.filter)


def snapshots(ctx: Context, req: MetricRequest, window: int = 1) -> nw.LazyFrame:
    """Per account and period: before = MRR at the base day, after = MRR at the period's end.

    The base day is the day before the period (window 1), or the end of the period
    ``window`` months earlier (e.g. 12 for trailing-twelve-month NRR).
    """

    def build() -> nw.LazyFrame:
        rows: dict[str, list[Any]] = {"period": [], "base": [], "last": []}
        for p in ctx.calendar.periods:
            months_back = max(window - 1, 0)
            rows["period"].append(p.label)
            rows["base"].append(add_months(p.start, -months_back) - timedelta(days=1))
            rows["last"].append(p.end)
        cal = ctx.table(rows)
        ls = lines(ctx, req).with_columns(
            nw.col("end").fill_null(nw.lit(OPEN_END, nw.Date)).alias("end")
        )
        # a line counts for a period when it is active on its base day or on its last day.
        # The calendar is tiny (one row per period), so a nested loop over lines x periods is
        # the cheapest plan: as plain inequalities polars plans an IEJoin (sorting both sides,
        # 5x slower here); wrapped in fill_null (a no-op: null comparisons drop either way) it
        # keeps the cross join and filters it in one pass
        start, end = nw.col("start"), nw.col("end")
        overlapping = ls.join(cal, how="cross").filter(
            ((start <= nw.col("last")) & (end > nw.col("base"))).fill_null(False)
        )
        on_base = (start <= nw.col("base")) & (end > nw.col("base"))
        on_last = (start <= nw.col("last")) & (end > nw.col("last"))
        per = overlapping.group_by("account_id", "period").agg(
            sum_if(on_base, nw.col("mrr")).alias("before"),
            sum_if(on_last, nw.col("mrr")).alias("after"),
        )
        clip = [
            nw.when(nw.col(c) < 0).then(nw.lit(0.0)).otherwise(nw.col(c)).round(ROUND).alias(c)
            for c in ("before", "after")
        ]
        negative = per.filter((nw.col("before") < -EPS) | (nw.col("after") < -EPS))
        ctx.notice(
            negative.select(nw.len().cast(nw.Int64).alias("n")),
            lambda df: (
                (
                    f"{df['n'][0]} account-period snapshots had MRR below 0 (credits larger than "
                    "charges); counted as 0"
                )
                if df.height and df["n"][0]
                else None
            ),
        )
        return per.with_columns(clip).filter((nw.col("before") > EPS) | (nw.col("after") > EPS))

    return ctx.cached(("snap", ctx_key(ctx, req), window), build)


def customer_accounts(ctx: Context, when: str = "end") -> nw.LazyFrame:
    """(account_id, period) of paying customers at each period's end (or start: ``when="start"``).

    The shared definition of "customers" for other families (tickets per customer,
    touched customers, adoption among customers ...): MRR(a, e) > 0 from the billing source.
    """
    req = MetricRequest("customers", "customers", {})
    column = "after" if when == "end" else "before"
    snap = snapshots(ctx, req)
    return snap.filter(nw.col(column) > EPS).select("account_id", "period")


def summary(ctx: Context, req: MetricRequest, window: int = 1) -> nw.LazyFrame:
    """Per period (and dimension): MRR before/after and every movement, summed and counted."""

    def build() -> nw.LazyFrame:
        snap = snapshots(ctx, req, window)
        cal = ctx.periods_table().select("period", "p_start")
        rows = snap.join(first_positive(ctx, req), on="account_id", how="left").join(
            cal, on="period"
        )
        rows = ctx.with_dims(rows)
        b, a = nw.col("before"), nw.col("after")
        starting = b <= EPS
        fresh = starting & (a > EPS)
        is_new = fresh & (
            nw.col("first_day").is_null() | (nw.col("first_day") >= nw.col("p_start"))
        )
        is_react = fresh & ~is_new
        held = b > EPS
        churn = held & (a <= EPS)
        expand = held & (a > b + EPS)
        contract = held & (a > EPS) & (a < b - EPS)
        agg = rows.group_by("period", *ctx.group_cols()).agg(
            a.sum().alias("mrr_end"),
            b.sum().alias("mrr_start"),
            count_if(a > EPS).alias("customers_end"),
            count_if(held).alias("customers_start"),
            sum_if(is_new, a).alias("new_mrr"),
            count_if(is_new).alias("new_customers"),
            sum_if(is_react, a).alias("reactivation_mrr"),
            count_if(is_react).alias("reactivated_customers"),
            sum_if(expand, a - b).alias("expansion_mrr"),
            sum_if(contract, b - a).alias("contraction_mrr"),
            sum_if(churn, b).alias("churned_mrr"),
            count_if(churn).alias("churned_customers"),
            count_if(expand).alias("expanded_customers"),
            count_if(contract).alias("contracted_customers"),
            sum_if(held, a).alias("retained_mrr"),
            sum_if(held, nw.min_horizontal(a, b)).alias("kept_mrr"),
        )
        sums = [
            c for c in agg.collect_schema().names() if c != "period" and c not in ctx.group_cols()
        ]
        done = ctx.complete(agg, {c: 0 for c in sums})
        # the logo churn rate's numerator and denominator under the policy (policy.py)
        return logo_churn(
            ctx, done, window, lambda: positive_spans(ctx, req), lambda: snapshots(ctx, req)
        )

    return ctx.cached(("summary", ctx_key(ctx, req), window, tuple(ctx.dims)), build)


def summary_value(
    ctx: Context,
    req: MetricRequest,
    value: nw.Expr,
    note: nw.Expr | None = None,
    window: int = 1,
    parts: tuple[str, ...] = (),
) -> nw.LazyFrame:
    """A metric over :func:`summary`'s columns: period, the dimensions, value and note (and
    the summary columns ``parts``, for the type's declared parts)."""
    cols = [value.alias("value")]
    if note is not None:
        cols.append(note.alias("note"))
    return summary(ctx, req, window).select("period", *ctx.group_cols(), *cols, *parts)


# ---- ratios of the summary's columns (shared by the revenue and acquisition families) --
NO_BASE_CUSTOMERS = "no customers at the start of the period"
NO_BASE_MRR = "no MRR at the start of the period"
NO_END_CUSTOMERS = "no customers at the end of the period"
NO_NEW_CUSTOMERS = "no new customers in the period"
NO_CHURN = "no churn in the period: lifetime value is unbounded"
ONLY_SAME_PERIOD = (
    "only accounts that started and stopped paying within the period: counted as churned, "
    "but none was a customer at the start (the policy's churn_denominator)"
)
# the logo churn rate's parts under the definition policy (policy.logo_churn), for explain
LOGO_PARTS = {
    "logo_churned": ("customers counted as churned", "count"),
    "logo_base": ("customers counted in the denominator", "count"),
    "churned_customers": ("churned customers (MRR at s-1, none at e)", "count"),
    SAME_PERIOD: ("started and stopped paying within the period", "count"),
    "customers_start": ("customers at the start", "count"),
    "new_customers": ("new customers", "count"),
    "reactivated_customers": ("reactivated customers", "count"),
}

MARGIN_OPTION = {**SOURCE_OPTION, "gross_margin": Option(float, 1.0, "gross margin, 0-1")}


def churn_rate_expr() -> tuple[nw.Expr, nw.Expr]:
    """churned_customers / customers at s-1 (by default; the policy's logo churn otherwise,
    see policy.logo_churn), with its null reason."""
    value, note = ratio(nw.col("logo_churned"), nw.col("logo_base"), NO_BASE_CUSTOMERS)
    alone = (nw.col("logo_base") == 0) & (nw.col(SAME_PERIOD) > 0)
    return value, nw.when(alone).then(nw.lit(ONLY_SAME_PERIOD)).otherwise(note)


def arpa_expr() -> tuple[nw.Expr, nw.Expr]:
    """mrr / customers at e, with its null reason."""
    return ratio(nw.col("mrr_end"), nw.col("customers_end"), NO_END_CUSTOMERS)


def asp_expr() -> tuple[nw.Expr, nw.Expr]:
    """new_mrr / new_customers, with its null reason."""
    return ratio(nw.col("new_mrr"), nw.col("new_customers"), NO_NEW_CUSTOMERS)


def ltv_expr(margin: float) -> tuple[nw.Expr, nw.Expr]:
    """arpa x margin / customer churn rate, with its null reason (no churn: unbounded)."""
    arpa_v, arpa_n = arpa_expr()
    churn_v, churn_n = churn_rate_expr()
    value = nw.when(churn_v > 0).then(arpa_v * margin / churn_v)
    note = nw.coalesce(arpa_n, churn_n, nw.when(churn_v == 0).then(nw.lit(NO_CHURN)))
    return value, note
