"""Acquisition and trial metrics (METRICS.md "Acquisition and trials").

``cac`` divides the spend dated in P (source ``spend``; the metric's ``filter`` selects
spend rows, e.g. ``channel = 'google_ads'``) by the new customers of P as the MRR model
(``metrics.mrr``) counts them (first-time paying accounts, from subscriptions or
invoices). ``ltv_to_cac`` and ``cac_payback_months`` combine it with the ``ltv`` and
``asp`` of the same period (the revenue metrics, from the same model).
Spend has no account, so these three cannot be split ``--by`` a dimension or account
(dimensions are account attributes): they are reported as unavailable then.

``trial_conversion_rate`` looks at the trials that *ended* in P. A trial is the range
[trial_start, trial_end) of an account (accounts source); an empty trial_end (or no
trial_end column) means trial_start + ``trial_days``. The trial ended in P when its
trial_end day falls in P (the same convention as renewal_rate's exclusive end_date). It
converted when the account's MRR (summed over its lines, as the MRR model computes it) was
above 0 on at least one day of [trial_start, trial_end + ``grace_days``], both ends
included: paying during the trial, or within the grace days after it, converts; paying
only later does not, and neither does revenue from before the trial that had stopped by
trial_start. A trial whose grace days reach past the data's last day may still convert,
so the latest period's value can rise on a later run.
"""

from __future__ import annotations

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
from cs_metrics.metrics.common import count_if
from cs_metrics.metrics.mrr import (
    MARGIN_OPTION,
    NO_NEW_CUSTOMERS,
    REVENUE_SOURCES,
    SOURCE_OPTION,
    asp_expr,
    billing_role,
    ltv_expr,
    positive_spans,
    summary,
    summary_value,
)

NO_SPEND = "no spend in the period: cac is 0"
NO_TRIALS = "no trial ended in the period"


# ---- building blocks -------------------------------------------------------------------
def _billing(req: MetricRequest) -> MetricRequest:
    """A request for the MRR model: the billing source, no (spend) filter."""
    return MetricRequest(req.name, req.type, {"source": req.options.get("source")})


def _no_dims(ctx: Context, req: MetricRequest) -> None:
    if ctx.dims:
        raise Unavailable(
            f"{req.type} cannot be split by {', '.join(ctx.dims)}: spend has no accounts "
            "(dimensions are account attributes)"
        )


def _margin(req: MetricRequest) -> float:
    margin = float(req.options.get("gross_margin", 1.0))
    if not 0 < margin <= 1:
        raise Unavailable(f"gross_margin must be above 0 and at most 1, not {margin}")
    return margin


def _cac(ctx: Context, req: MetricRequest) -> nw.LazyFrame:
    """period, spend, new_customers, cac, cac_note (every period; no dimensions)."""
    _no_dims(ctx, req)
    rows = ctx.assign_period(ctx.filtered("spend", req.filter), "date")
    spend = rows.group_by("period").agg(nw.col("amount").sum().cast(nw.Float64).alias("spend"))
    spend = ctx.complete(spend, {"spend": 0.0})
    new = summary(ctx, _billing(req)).select("period", "new_customers")
    value, note = ratio(nw.col("spend"), nw.col("new_customers"), NO_NEW_CUSTOMERS)
    return spend.join(new, on="period", how="left").with_columns(
        value.alias("cac"), note.alias("cac_note")
    )


# ---- metric types ----------------------------------------------------------------------
@metric_type(
    "cac",
    family="acquisition",
    unit="currency",
    requires=("spend", *REVENUE_SOURCES),
    formula="spend dated in P / new_customers in P",
    description="customer acquisition cost; filter selects spend rows (e.g. a channel); "
    "cannot be split by account attributes (spend has no accounts)",
    options=SOURCE_OPTION,
    higher_is_better=False,
    null_when=NO_NEW_CUSTOMERS,
)
def cac(ctx: Context, req: MetricRequest) -> nw.LazyFrame:
    return _cac(ctx, req).select(
        "period", nw.col("cac").alias("value"), nw.col("cac_note").alias("note")
    )


@metric_type(
    "ltv_to_cac",
    family="acquisition",
    unit="number",
    requires=("spend", *REVENUE_SOURCES),
    formula="ltv / cac, ltv = arpa x gross_margin / customer_churn_rate",
    description="lifetime value per unit of acquisition cost (3 or more is the usual target)",
    options=MARGIN_OPTION,
    null_when="no churn, no new customers or no spend in the period",
)
def ltv_to_cac(ctx: Context, req: MetricRequest) -> nw.LazyFrame:
    margin = _margin(req)
    costs = _cac(ctx, req)
    lifetime = summary_value(ctx, _billing(req), *ltv_expr(margin))
    rows = costs.join(
        lifetime.select("period", nw.col("value").alias("ltv"), nw.col("note").alias("ltv_note")),
        on="period",
        how="left",
    )
    c = nw.col
    value = nw.when(c("cac") > 0).then(c("ltv") / c("cac"))
    note = nw.coalesce(c("ltv_note"), c("cac_note"), nw.when(c("cac") <= 0).then(nw.lit(NO_SPEND)))
    return rows.select("period", value.alias("value"), note.alias("note"))


@metric_type(
    "cac_payback_months",
    family="acquisition",
    unit="months",
    requires=("spend", *REVENUE_SOURCES),
    formula="cac / (asp x gross_margin), asp = new_mrr / new_customers",
    description="months of a new customer's gross margin that pay back its acquisition cost",
    options=MARGIN_OPTION,
    higher_is_better=False,
    null_when=NO_NEW_CUSTOMERS,
)
def cac_payback_months(ctx: Context, req: MetricRequest) -> nw.LazyFrame:
    margin = _margin(req)
    costs = _cac(ctx, req)
    price = summary_value(ctx, _billing(req), *asp_expr()).select(
        "period", nw.col("value").alias("asp"), nw.col("note").alias("asp_note")
    )
    rows = costs.join(price, on="period", how="left")
    c = nw.col
    value, why = ratio(c("cac"), c("asp") * margin, NO_NEW_CUSTOMERS)
    note = nw.coalesce(c("cac_note"), c("asp_note"), why)
    return rows.select("period", value.alias("value"), note.alias("note"))


def _days_option(req: MetricRequest, name: str, default: int, minimum: int) -> int:
    value = req.options.get(name)
    days = default if value is None else int(value)
    if days < minimum:
        raise Unavailable(f"{name} must be {minimum} or more days, not {days}")
    return days


@metric_type(
    "trial_conversion_rate",
    family="acquisition",
    unit="ratio",
    requires=("accounts", *REVENUE_SOURCES),
    formula="trials that ended in P and converted / trials that ended in P; converted = "
    "MRR > 0 on some day of [trial_start, trial_end + grace_days]",
    description="share of trials that became paying customers; a trial is "
    "[trial_start, trial_end) from accounts (empty trial_end: trial_start + trial_days); "
    "filter selects accounts",
    options={
        **SOURCE_OPTION,
        "trial_days": Option(int, 14, "trial length in days where trial_end is empty"),
        "grace_days": Option(
            int, 7, "days after trial_end within which a first payment still converts"
        ),
    },
    null_when=NO_TRIALS,
    parts={"won": ("trials converted", "count"), "trials": ("trials ended", "count")},
    explain="{won} converted / {trials} trials ended",
)
def trial_conversion_rate(ctx: Context, req: MetricRequest) -> nw.LazyFrame:
    trial_days = _days_option(req, "trial_days", 14, 1)
    grace_days = _days_option(req, "grace_days", 7, 0)
    bill = _billing(req)
    billing_role(ctx, bill)  # unavailable without a billing source
    check_columns(ctx, "accounts", ["trial_start"], req.name)
    accounts = ctx.filtered("accounts", req.filter)
    start = nw.col("trial_start")
    default_end = start.dt.offset_by(f"{trial_days}d").cast(nw.Date)
    end = (
        nw.coalesce(nw.col("trial_end"), default_end)
        if "trial_end" in ctx.columns("accounts")
        else default_end
    )
    trials = (
        accounts.filter(~start.is_null())
        .select("account_id", start.alias("t_start"), end.cast(nw.Date).alias("t_end"))
        .unique()
    )
    keys = ["account_id", "t_start", "t_end"]
    converted = (
        trials.with_columns(
            nw.col("t_end").dt.offset_by(f"{grace_days}d").cast(nw.Date).alias("t_last")
        )
        .join(positive_spans(ctx, bill), on="account_id", how="inner")
        .filter(
            (nw.col("since") <= nw.col("t_last"))
            & (nw.col("until").is_null() | (nw.col("until") > nw.col("t_start")))
        )
        .select(*keys)
        .unique()
        .with_columns(nw.lit(1, nw.Int64).alias("converted"))
    )
    rows = ctx.assign_period(trials.join(converted, on=keys, how="left"), "t_end")
    rows = ctx.with_dims(rows)
    agg = rows.group_by("period", *ctx.group_cols()).agg(
        nw.len().cast(nw.Int64).alias("trials"),
        count_if(~nw.col("converted").is_null()).alias("won"),
    )
    agg = ctx.complete(agg, {"trials": 0, "won": 0})
    value, note = ratio(nw.col("won"), nw.col("trials"), NO_TRIALS)
    return agg.select(
        "period", *ctx.group_cols(), value.alias("value"), note.alias("note"), "won", "trials"
    )
