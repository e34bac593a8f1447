"""Order metrics (METRICS.md "Orders"; source orders, whose account column is customer_id).

Every expected value is the arithmetic that produces it. An order belongs to the month
of its ordered_at day; orders are distinct order_id values (o6 is exported as two lines).
"""

from __future__ import annotations

import polars as pl
import pytest
from conftest import ENGINES, check, note, value, values

ORDER_TYPES = ["average_order_value", "purchase_frequency", "repeat_purchase_rate"]


def spec_yaml(sources: str, metrics: dict[str, str], extra: str = "") -> str:
    lines = ["version: 1", "currency: USD", "sources:"]
    lines += ["  " + line for line in sources.strip().splitlines()]
    lines += extra.strip().splitlines() if extra else []
    lines.append("metrics:")
    lines += [f"  {name}: {definition}" for name, definition in metrics.items()]
    return "\n".join(lines) + "\n"


# January: k1 orders at the month's first and last instants (o1, o2: a repeat customer),
# k2 once (o3), k3 once (o6, two lines 20 + 5). December's o5 (Dec 31 23:59:59) and
# February's o4 (Feb 1 00:00:00) are outside January.
#   revenue 100 + 50 + 30 + 20 + 5 = 205, orders o1 o2 o3 o6 = 4, customers k1 k2 k3 = 3
ORDERS = """
    order_id,customer_id,ordered_at,amount
    o1,k1,2026-01-01T00:00:00,100
    o2,k1,2026-01-31T23:59:59,50
    o3,k2,2026-01-15T12:00:00,30
    o4,k2,2026-02-01T00:00:00,70
    o5,k3,2025-12-31T23:59:59,999
    o6,k3,2026-01-10T09:00:00,20
    o6,k3,2026-01-10T09:00:00,5
"""
ACCOUNTS = """
    account_id,plan
    k1,pro
    k2,pro
    k3,basic
"""
METRICS = {
    **{t: f"{{type: {t}}}" for t in ORDER_TYPES},
    "big_aov": '{type: average_order_value, filter: "amount >= 50"}',
    "pro_aov": "{type: average_order_value, filter: \"plan = 'pro'\"}",
}


@pytest.fixture
def orders_spec(make_spec):
    return make_spec(
        spec_yaml(
            "orders: {path: orders.csv}\naccounts: {path: accounts.csv}",
            METRICS,
            "dimensions:\n  plan: plan",
        ),
        {"orders.csv": ORDERS, "accounts.csv": ACCOUNTS},
    )


@ENGINES
def test_order_metrics_by_hand(orders_spec, engine):
    f = values(orders_spec, start="2026-01", end="2026-03", engine=engine)
    check(
        f,
        "2026-01",
        {
            "average_order_value": (100 + 50 + 30 + 20 + 5) / 4,
            "purchase_frequency": 4 / 3,
            "repeat_purchase_rate": 1 / 3,  # k1; k3's two lines are one order
            "big_aov": (100 + 50) / 2,  # rows with amount >= 50: o1, o2
            "pro_aov": (100 + 50 + 30) / 3,  # k1, k2 (plan is an accounts attribute)
        },
    )
    check(
        f,
        "2026-02",
        {
            "average_order_value": 70 / 1,
            "purchase_frequency": 1 / 1,
            "repeat_purchase_rate": 0 / 1,
        },
    )
    check(f, "2026-03", {t: None for t in ORDER_TYPES})
    for t in ORDER_TYPES:
        assert note(f, t, "2026-03") == "no orders in the period"
    jan = f.filter(pl.col("period") == "2026-01")
    units = dict(zip(jan["metric"], jan["unit"], strict=True))
    assert units["average_order_value"] == "USD"
    assert units["purchase_frequency"] == "number"
    assert units["repeat_purchase_rate"] == "ratio"
    prev = jan.filter(pl.col("metric") == "average_order_value")["previous"][0]
    assert prev == pytest.approx(999 / 1)  # December: o5 only


@ENGINES
def test_order_metrics_by_account_and_by_plan(orders_spec, engine):
    f = values(orders_spec, ORDER_TYPES, period="2026-01", by=["account"], engine=engine)
    check(
        f,
        "2026-01",
        {
            "average_order_value": (100 + 50) / 2,
            "purchase_frequency": 2 / 1,
            "repeat_purchase_rate": 1.0,
        },
        account="k1",
    )
    check(
        f,
        "2026-01",
        {"average_order_value": (20 + 5) / 1, "purchase_frequency": 1, "repeat_purchase_rate": 0},
        account="k3",
    )
    g = values(orders_spec, ORDER_TYPES, period="2026-01", by=["plan"], engine=engine)
    check(
        g,
        "2026-01",
        {
            "average_order_value": (100 + 50 + 30) / 3,  # k1 (o1, o2), k2 (o3)
            "purchase_frequency": 3 / 2,
            "repeat_purchase_rate": 1 / 2,
        },
        plan="pro",
    )
    check(
        g,
        "2026-01",
        {"average_order_value": 25 / 1, "purchase_frequency": 1, "repeat_purchase_rate": 0},
        plan="basic",
    )


@ENGINES
def test_a_row_without_order_id_is_an_order(make_spec, engine):
    # k1: o1 and one row without an id -> 2 orders (repeat); k2: one row without an id
    spec = make_spec(
        spec_yaml("orders: {path: orders.csv}", {t: f"{{type: {t}}}" for t in ORDER_TYPES}),
        {
            "orders.csv": """
                order_id,customer_id,ordered_at,amount
                o1,k1,2026-01-03T10:00:00,10
                ,k1,2026-01-04T10:00:00,20
                ,k2,2026-01-05T10:00:00,30
            """
        },
    )
    f = values(spec, period="2026-01", engine=engine)
    check(
        f,
        "2026-01",
        {
            "average_order_value": (10 + 20 + 30) / 3,
            "purchase_frequency": 3 / 2,
            "repeat_purchase_rate": 1 / 2,
        },
    )


@ENGINES
def test_orders_source_missing_is_unavailable(make_spec, engine):
    spec = make_spec(
        spec_yaml("accounts: {path: accounts.csv}", {t: f"{{type: {t}}}" for t in ORDER_TYPES}),
        {"accounts.csv": ACCOUNTS},
    )
    f = values(spec, period="2026-01", engine=engine)
    for t in ORDER_TYPES:
        assert value(f, t, "2026-01") is None
        assert "needs the orders source" in note(f, t, "2026-01")


def test_engines_agree(orders_spec):
    from polars.testing import assert_frame_equal

    for by in ([], ["plan"], ["account"]):
        a = values(orders_spec, start="2025-12", end="2026-03", by=by, engine="polars")
        b = values(orders_spec, start="2025-12", end="2026-03", by=by, engine="duckdb")
        assert_frame_equal(a, b)
