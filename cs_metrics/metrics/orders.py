"""Order metrics from one-off purchases (METRICS.md "Orders"; source ``orders``).

An order belongs to the period its ``ordered_at`` day falls in (timestamps are read in the
source's time zone, so 23:59 on a period's last day is still that period). The orders of
P are its distinct ``order_id`` values, so an export with one row per order line counts
each order once while its revenue sums every line (a row without an order_id is an order
of its own). A customer is the order's
``customer_id`` (the account column of this source); ``--by`` a dimension uses that
account's attributes, and ``filter`` selects order rows (it may name account attributes).
"""

from __future__ import annotations

import narwhals.stable.v2 as nw

from cs_metrics.metrics.base import Context, MetricRequest, metric_type, ratio
from cs_metrics.metrics.common import ACCOUNT_COLUMN, count_if

CUSTOMER = ACCOUNT_COLUMN["orders"]
NO_ORDERS = "no orders in the period"


def _orders(order_id: nw.Expr) -> nw.Expr:
    """Distinct order ids; a row without an order id is an order of its own."""
    missing = order_id.is_null()
    return (
        order_id.n_unique().cast(nw.Int64) - missing.any().cast(nw.Int64) + count_if(missing)
    ).cast(nw.Int64)


def order_summary(ctx: Context, req: MetricRequest) -> nw.LazyFrame:
    """Per period (and dimension): revenue, orders, customers, repeat customers (2+ orders)."""

    def build() -> nw.LazyFrame:
        rows = ctx.filtered("orders", req.filter, account_col=CUSTOMER)
        rows = ctx.assign_period(rows, "ordered_at")
        per_customer = rows.group_by("period", CUSTOMER).agg(
            nw.col("amount").sum().cast(nw.Float64).alias("revenue"),
            _orders(nw.col("order_id")).alias("orders"),
        )
        per_customer = ctx.with_dims(per_customer, CUSTOMER)
        agg = per_customer.group_by("period", *ctx.group_cols()).agg(
            nw.col("revenue").sum().cast(nw.Float64).alias("revenue"),
            nw.col("orders").sum().cast(nw.Int64).alias("orders"),
            nw.len().cast(nw.Int64).alias("customers"),
            count_if(nw.col("orders") >= 2).alias("repeaters"),
        )
        return ctx.complete(agg, {"revenue": 0.0, "orders": 0, "customers": 0, "repeaters": 0})

    return ctx.cached(("order_summary", req.filter, tuple(ctx.dims)), build)


def _ratio(ctx: Context, req: MetricRequest, num: str, den: str) -> nw.LazyFrame:
    value, note = ratio(nw.col(num), nw.col(den), NO_ORDERS)
    return order_summary(ctx, req).select(
        "period", *ctx.group_cols(), value.alias("value"), note.alias("note"), num, den
    )


@metric_type(
    "average_order_value",
    family="revenue",
    unit="currency",
    requires=("orders",),
    formula="sum of order amounts in P / orders in P",
    description="mean order amount (orders are distinct order_id values)",
    null_when=NO_ORDERS,
    parts={"revenue": ("order revenue", "currency"), "orders": ("orders", "count")},
    explain="{revenue} / {orders} orders",
)
def average_order_value(ctx: Context, req: MetricRequest) -> nw.LazyFrame:
    return _ratio(ctx, req, "revenue", "orders")


@metric_type(
    "purchase_frequency",
    family="revenue",
    unit="number",
    requires=("orders",),
    formula="orders in P / distinct customers with an order in P",
    description="orders per ordering customer",
    null_when=NO_ORDERS,
    parts={"orders": ("orders", "count"), "customers": ("ordering customers", "count")},
    explain="{orders} orders / {customers} ordering customers",
)
def purchase_frequency(ctx: Context, req: MetricRequest) -> nw.LazyFrame:
    return _ratio(ctx, req, "orders", "customers")


@metric_type(
    "repeat_purchase_rate",
    family="revenue",
    unit="ratio",
    requires=("orders",),
    formula="customers with 2 or more orders in P / customers with an order in P",
    description="share of ordering customers who ordered more than once in the period",
    null_when=NO_ORDERS,
    parts={
        "repeaters": ("customers with 2+ orders", "count"),
        "customers": ("ordering customers", "count"),
    },
    explain="{repeaters} ordering twice or more / {customers} ordering customers",
)
def repeat_purchase_rate(ctx: Context, req: MetricRequest) -> nw.LazyFrame:
    return _ratio(ctx, req, "repeaters", "customers")
