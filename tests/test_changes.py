"""<metric>_change and <metric>_delta: relative and absolute change vs the previous period."""

from __future__ import annotations

import pytest
from conftest import ENGINES, value, values

SPEC = """
version: 1
sources:
  subscriptions: {path: subs.csv}
  accounts: {path: accounts.csv}
dimensions: {plan: plan}
metrics:
  mrr: {type: mrr}
  customers: {type: customers}
  mrr_growth: {type: formula, expr: "mrr_change * 100", unit: number}
"""
# MRR at month ends: a = 100 (Jan), 150 (Feb, upgraded), 150 (Mar)
#                    b = 0 (Jan), 200 (Feb), 0 (Mar, churned)
FILES = {
    "subs.csv": """
        account_id,start_date,end_date,amount
        a,2026-01-01,2026-02-01,100
        a,2026-02-01,,150
        b,2026-02-01,2026-03-01,200
    """,
    "accounts.csv": """
        account_id,plan
        a,pro
        b,basic
    """,
}


@ENGINES
def test_change_and_delta(make_spec, engine):
    spec = make_spec(SPEC, FILES)
    f = values(
        spec,
        ["mrr", "mrr_change", "mrr_delta", "customers_delta", "mrr_growth"],
        start="2026-01",
        end="2026-03",
        engine=engine,
    )
    # Jan: mrr 100, Dec 0 -> change undefined (previous is 0), delta +100
    assert value(f, "mrr_change", "2026-01") is None
    assert value(f, "mrr_delta", "2026-01") == pytest.approx(100)
    # Feb: 100 -> 350
    assert value(f, "mrr_change", "2026-02") == pytest.approx(350 / 100 - 1)
    assert value(f, "mrr_delta", "2026-02") == pytest.approx(250)
    assert value(f, "customers_delta", "2026-02") == pytest.approx(2 - 1)
    # Mar: 350 -> 150
    assert value(f, "mrr_change", "2026-03") == pytest.approx(150 / 350 - 1)
    assert value(f, "mrr_delta", "2026-03") == pytest.approx(-200)
    # a formula over a change
    assert value(f, "mrr_growth", "2026-02") == pytest.approx(250.0)
    # units: a change is a ratio, a delta keeps the metric's unit
    units = dict(zip(f["metric"], f["unit"], strict=False))
    assert units["mrr_change"] == "ratio" and units["mrr_delta"] == "USD"
    # only the requested metrics are shown (not the formula's inputs)
    assert set(f["metric"]) == {"mrr", "mrr_change", "mrr_delta", "customers_delta", "mrr_growth"}


@ENGINES
def test_change_per_account_and_dimension(make_spec, engine):
    spec = make_spec(SPEC, FILES)
    f = values(spec, ["mrr_change", "mrr_delta"], period="2026-03", by=["account"], engine=engine)
    # a: 150 -> 150, b: 200 -> 0
    assert value(f, "mrr_change", "2026-03", account="a") == pytest.approx(0.0)
    assert value(f, "mrr_change", "2026-03", account="b") == pytest.approx(-1.0)
    assert value(f, "mrr_delta", "2026-03", account="b") == pytest.approx(-200)
    g = values(spec, ["mrr_delta"], period="2026-02", by=["plan"], engine=engine)
    assert value(g, "mrr_delta", "2026-02", plan="pro") == pytest.approx(50)
    assert value(g, "mrr_delta", "2026-02", plan="basic") is None  # basic had no row in Jan


def test_unknown_base_is_an_unknown_metric(make_spec):
    from cs_metrics.errors import UsageError

    spec = make_spec(SPEC, FILES)
    with pytest.raises(UsageError, match="unknown metric 'mrrr_change'"):
        values(spec, ["mrrr_change"], period="2026-02")
