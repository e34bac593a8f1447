"""Revenue and customer metrics from subscriptions or invoices (METRICS.md "Revenue").

Each metric is a ratio or a column of the MRR model's per-period summary (``metrics.mrr``:
MRR(a, d) per account and day, movements classified per account by comparing MRR on the
day before the period with MRR on its last day).
"""

from __future__ import annotations

import narwhals.stable.v2 as nw

from cs_metrics.metrics.base import (
    EPS,
    Context,
    MetricRequest,
    Option,
    Unavailable,
    metric_type,
    ratio,
)
from cs_metrics.metrics.common import count_if
from cs_metrics.metrics.mrr import (
    LOGO_PARTS,
    MARGIN_OPTION,
    NO_BASE_CUSTOMERS,
    NO_BASE_MRR,
    NO_END_CUSTOMERS,
    NO_NEW_CUSTOMERS,
    REVENUE_SOURCES,
    SOURCE_OPTION,
    arpa_expr,
    asp_expr,
    churn_rate_expr,
    lines,
    ltv_expr,
    summary_value,
)


# ---- metric types -------------------------------------------------------------------
def _simple(
    name: str,
    column: str,
    *,
    family: str,
    unit: str,
    formula: str,
    description: str,
    higher: bool | None = True,
    scale: float = 1.0,
) -> None:
    def compute(ctx: Context, req: MetricRequest) -> nw.LazyFrame:
        return summary_value(ctx, req, nw.col(column).cast(nw.Float64) * scale)

    metric_type(
        name,
        family=family,
        unit=unit,
        requires=REVENUE_SOURCES,
        formula=formula,
        description=description,
        options=SOURCE_OPTION,
        higher_is_better=higher,
    )(compute)


_simple(
    "mrr",
    "mrr_end",
    family="revenue",
    unit="currency",
    formula="sum over accounts of MRR(a, e)",
    description="monthly recurring revenue at the end of the period",
)
_simple(
    "arr",
    "mrr_end",
    family="revenue",
    unit="currency",
    formula="12 x mrr",
    description="annual run rate",
    scale=12.0,
)
_simple(
    "customers",
    "customers_end",
    family="customers",
    unit="count",
    formula="accounts with MRR(a, e) > 0",
    description="paying accounts at the end of the period",
)
_simple(
    "new_mrr",
    "new_mrr",
    family="revenue",
    unit="currency",
    formula="MRR(a, e) of accounts with MRR(a, s-1) = 0 and no earlier positive MRR",
    description="MRR from first-time customers",
)
_simple(
    "reactivation_mrr",
    "reactivation_mrr",
    family="revenue",
    unit="currency",
    formula="MRR(a, e) of accounts with MRR(a, s-1) = 0 that had positive MRR before",
    description="MRR from returning customers",
)
_simple(
    "expansion_mrr",
    "expansion_mrr",
    family="revenue",
    unit="currency",
    formula="sum of MRR(a, e) - MRR(a, s-1) where both > 0 and it grew",
    description="MRR gained from existing customers",
)
_simple(
    "contraction_mrr",
    "contraction_mrr",
    family="revenue",
    unit="currency",
    formula="sum of MRR(a, s-1) - MRR(a, e) where both > 0 and it shrank",
    description="MRR lost from customers who stayed",
    higher=False,
)
_simple(
    "churned_mrr",
    "churned_mrr",
    family="revenue",
    unit="currency",
    formula="sum of MRR(a, s-1) where MRR(a, s-1) > 0 and MRR(a, e) = 0",
    description="MRR lost from customers who left",
    higher=False,
)
_simple(
    "new_customers",
    "new_customers",
    family="customers",
    unit="count",
    formula="count of accounts counted in new_mrr",
    description="first-time customers",
)
_simple(
    "reactivated_customers",
    "reactivated_customers",
    family="customers",
    unit="count",
    formula="count of accounts counted in reactivation_mrr",
    description="returning customers",
)
_simple(
    "churned_customers",
    "churned_customers",
    family="customers",
    unit="count",
    formula="count of accounts counted in churned_mrr",
    description="customers lost",
    higher=False,
)


@metric_type(
    "net_new_mrr",
    family="revenue",
    unit="currency",
    requires=REVENUE_SOURCES,
    formula="new + reactivation + expansion - contraction - churned",
    description="net change of MRR over the period (mrr(P) = mrr(P-1) + net_new_mrr(P))",
    options=SOURCE_OPTION,
)
def net_new_mrr(ctx: Context, req: MetricRequest) -> nw.LazyFrame:
    c = nw.col
    return summary_value(
        ctx,
        req,
        c("new_mrr")
        + c("reactivation_mrr")
        + c("expansion_mrr")
        - c("contraction_mrr")
        - c("churned_mrr"),
    )


@metric_type(
    "customer_churn_rate",
    family="customers",
    unit="ratio",
    requires=REVENUE_SOURCES,
    formula="churned_customers / customers at s-1",
    description="logo churn",
    options=SOURCE_OPTION,
    higher_is_better=False,
    null_when=NO_BASE_CUSTOMERS,
    parts=LOGO_PARTS,
    explain="{logo_churned} churned / {logo_base} customers",
)
def customer_churn_rate(ctx: Context, req: MetricRequest) -> nw.LazyFrame:
    v, n = churn_rate_expr()
    return summary_value(ctx, req, v, n, parts=tuple(LOGO_PARTS))


@metric_type(
    "customer_retention_rate",
    family="customers",
    unit="ratio",
    requires=REVENUE_SOURCES,
    formula="1 - customer_churn_rate",
    description="logo retention",
    options=SOURCE_OPTION,
    null_when=NO_BASE_CUSTOMERS,
    parts=LOGO_PARTS,
    explain="1 - {logo_churned} churned / {logo_base} customers",
)
def customer_retention_rate(ctx: Context, req: MetricRequest) -> nw.LazyFrame:
    v, n = churn_rate_expr()
    return summary_value(ctx, req, 1.0 - v, n, parts=tuple(LOGO_PARTS))


@metric_type(
    "gross_mrr_churn_rate",
    family="revenue",
    unit="ratio",
    requires=REVENUE_SOURCES,
    formula="(churned_mrr + contraction_mrr) / mrr at s-1",
    description="revenue churn",
    options=SOURCE_OPTION,
    higher_is_better=False,
    null_when=NO_BASE_MRR,
)
def gross_mrr_churn_rate(ctx: Context, req: MetricRequest) -> nw.LazyFrame:
    v, n = ratio(
        nw.col("churned_mrr") + nw.col("contraction_mrr"), nw.col("mrr_start"), NO_BASE_MRR
    )
    return summary_value(ctx, req, v, n)


@metric_type(
    "net_mrr_churn_rate",
    family="revenue",
    unit="ratio",
    requires=REVENUE_SOURCES,
    formula="(churned + contraction - expansion - reactivation) / mrr at s-1",
    description="revenue churn net of expansion (negative = net expansion)",
    options=SOURCE_OPTION,
    higher_is_better=False,
    null_when=NO_BASE_MRR,
)
def net_mrr_churn_rate(ctx: Context, req: MetricRequest) -> nw.LazyFrame:
    c = nw.col
    num = c("churned_mrr") + c("contraction_mrr") - c("expansion_mrr") - c("reactivation_mrr")
    v, n = ratio(num, c("mrr_start"), NO_BASE_MRR)
    return summary_value(ctx, req, v, n)


WINDOW_OPTION = {
    **SOURCE_OPTION,
    "window": Option(
        int,
        1,
        "months to look back: 1 compares with the day before the period, "
        "12 gives trailing-twelve-month retention",
    ),
}


@metric_type(
    "nrr",
    family="revenue",
    unit="ratio",
    requires=REVENUE_SOURCES,
    formula="(mrr at s-1 + expansion - contraction - churned) / mrr at s-1, over accounts "
    "with MRR at s-1",
    description="net revenue retention",
    options=WINDOW_OPTION,
    null_when=NO_BASE_MRR,
)
def nrr(ctx: Context, req: MetricRequest) -> nw.LazyFrame:
    w = _window(req)
    v, n = ratio(nw.col("retained_mrr"), nw.col("mrr_start"), NO_BASE_MRR)
    return summary_value(ctx, req, v, n, window=w)


@metric_type(
    "grr",
    family="revenue",
    unit="ratio",
    requires=REVENUE_SOURCES,
    formula="(mrr at s-1 - contraction - churned) / mrr at s-1",
    description="gross revenue retention",
    options=WINDOW_OPTION,
    null_when=NO_BASE_MRR,
)
def grr(ctx: Context, req: MetricRequest) -> nw.LazyFrame:
    w = _window(req)
    v, n = ratio(nw.col("kept_mrr"), nw.col("mrr_start"), NO_BASE_MRR)
    return summary_value(ctx, req, v, n, window=w)


def _window(req: MetricRequest) -> int:
    w = int(req.options.get("window") or 1)
    if w < 1:
        raise Unavailable(f"window must be 1 or more months, not {w}")
    return w


@metric_type(
    "arpa",
    family="revenue",
    unit="currency",
    requires=REVENUE_SOURCES,
    formula="mrr / customers",
    description="average revenue per account",
    options=SOURCE_OPTION,
    null_when=NO_END_CUSTOMERS,
)
def arpa(ctx: Context, req: MetricRequest) -> nw.LazyFrame:
    v, n = arpa_expr()
    return summary_value(ctx, req, v, n)


@metric_type(
    "asp",
    family="revenue",
    unit="currency",
    requires=REVENUE_SOURCES,
    formula="new_mrr / new_customers",
    description="average selling price of new customers",
    options=SOURCE_OPTION,
    null_when=NO_NEW_CUSTOMERS,
)
def asp(ctx: Context, req: MetricRequest) -> nw.LazyFrame:
    v, n = asp_expr()
    return summary_value(ctx, req, v, n)


@metric_type(
    "ltv",
    family="revenue",
    unit="currency",
    requires=REVENUE_SOURCES,
    formula="arpa x gross_margin / customer_churn_rate",
    description="customer lifetime value",
    options=MARGIN_OPTION,
    null_when="no churn in the period (lifetime unbounded)",
)
def ltv(ctx: Context, req: MetricRequest) -> nw.LazyFrame:
    margin = float(req.options.get("gross_margin", 1.0))
    return summary_value(ctx, req, *ltv_expr(margin))


@metric_type(
    "quick_ratio",
    family="revenue",
    unit="number",
    requires=REVENUE_SOURCES,
    formula="(new + expansion + reactivation) / (churned + contraction)",
    description="growth efficiency (SaaS quick ratio)",
    options=SOURCE_OPTION,
    null_when="no churned or contraction MRR in the period",
)
def quick_ratio(ctx: Context, req: MetricRequest) -> nw.LazyFrame:
    c = nw.col
    v, n = ratio(
        c("new_mrr") + c("expansion_mrr") + c("reactivation_mrr"),
        c("churned_mrr") + c("contraction_mrr"),
        "no churned or contraction MRR in the period",
    )
    return summary_value(ctx, req, v, n)


@metric_type(
    "renewal_rate",
    family="customers",
    unit="ratio",
    requires=("subscriptions",),
    formula="paid subscriptions (MRR > 0, so not trials or credits) ending in P after which the "
    "account still has MRR > 0 / paid subscriptions ending in P",
    description="share of ending subscriptions renewed",
    null_when="no subscription ended in the period",
    parts={"renewed": ("renewed", "count"), "ending": ("paid lines ending", "count")},
    explain="{renewed} renewed / {ending} paid lines ending",
)
def renewal_rate(ctx: Context, req: MetricRequest) -> nw.LazyFrame:
    req = MetricRequest(req.name, req.type, {**req.options, "source": "subscriptions"}, req.filter)
    ls = lines(ctx, req)
    cal = ctx.periods_table().select("period", "p_start", "p_end")
    ending = (
        ls.filter(
            ~nw.col("end").is_null() & (nw.col("mrr") > EPS)
        )  # paid lines: not trials, credits
        .join(cal, how="cross")
        .filter((nw.col("end") >= nw.col("p_start")) & (nw.col("end") <= nw.col("p_end")))
        .select("account_id", "period", nw.col("end").alias("day"), "__file", "__row")
    )
    after = (
        ending.select("account_id", "day")
        .unique()
        .join(ls.select("account_id", "start", "end", "mrr"), on="account_id")
        .filter(
            (nw.col("start") <= nw.col("day"))
            & (nw.col("end").is_null() | (nw.col("end") > nw.col("day")))
        )
        .group_by("account_id", "day")
        .agg(nw.col("mrr").sum().alias("mrr_after"))
    )
    rows = ctx.with_dims(ending.join(after, on=["account_id", "day"], how="left"))
    agg = rows.group_by("period", *ctx.group_cols()).agg(
        nw.len().cast(nw.Int64).alias("ending"),
        count_if(nw.col("mrr_after").fill_null(0.0) > EPS).alias("renewed"),
    )
    agg = ctx.complete(agg, {"ending": 0, "renewed": 0})
    v, n = ratio(nw.col("renewed"), nw.col("ending"), "no subscription ended in the period")
    return agg.select(
        "period", *ctx.group_cols(), v.alias("value"), n.alias("note"), "renewed", "ending"
    )
