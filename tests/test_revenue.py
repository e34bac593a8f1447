"""Revenue and customer metrics (METRICS.md "Revenue", "Generic", "Per account, per dimension").

Every fixture is a handful of accounts over a few months; the expected values are written
as the arithmetic that produces them, so a reader can check them by hand. MRR(a, d) is an
account's monthly recurring revenue on day d; a month's movements compare MRR on the day
before the month (s-1) with MRR on its last day (e).
"""

from __future__ import annotations

import subprocess
import sys

import polars as pl
import pytest
from conftest import ENGINES, check, note, revenue_types, value, values, write_spec

from cs_metrics.api import compute_metrics
from cs_metrics.errors import DataError, ExitCode

# Every revenue/customer metric type registered in revenue.py.
REVENUE_TYPES = revenue_types()


def spec_yaml(sources: str, metrics: dict[str, str] | None = None, extra: str = "") -> str:
    """A metrics.yaml with the given sources block and metrics (name -> flow mapping)."""
    if metrics is None:
        metrics = {t: f"{{type: {t}}}" for t in REVENUE_TYPES}
    lines = ["version: 1", "currency: USD", "sources:"]
    lines += ["  " + line for line in sources.strip().splitlines()]
    if extra:
        lines += extra.strip().splitlines()
    lines.append("metrics:")
    lines += [f"  {name}: {definition}" for name, definition in metrics.items()]
    return "\n".join(lines) + "\n"


def row(frame: pl.DataFrame, metric: str, period: str, **dims: str) -> dict:
    f = frame.filter((pl.col("metric") == metric) & (pl.col("period") == period))
    for k, v in dims.items():
        f = f.filter(pl.col(k) == v)
    assert f.height == 1, f"expected one row for {metric} {period} {dims}, got {f.height}"
    return f.row(0, named=True)


def assert_no_nan(frame: pl.DataFrame) -> None:
    vals = frame["value"].drop_nulls()
    assert vals.is_finite().all(), frame.filter(~pl.col("value").is_finite())


# ---- the main fixture ------------------------------------------------------------------
# Five accounts (end_date exclusive, empty = ongoing):
#   a1: 100 from Dec, replaced by 150 on Feb 1                  -> expansion +50 in Feb
#   a2: 200 from Dec, ends 2026-03-01 (active Feb 28, not Mar 1) -> churn 200 in Mar
#   a3: 300 from Dec, replaced by 240 on Feb 15                 -> contraction 60 in Feb
#   a4: free trial (amount 0) Jan 1-10, then 80                 -> new 80 in Jan
#   a5: 50 in Nov-Dec 2025 (gone by Dec 20), back at 60 Mar 5   -> reactivation 60 in Mar
# MRR at month ends:          a1   a2   a3   a4   a5   total  customers
#   2025-12-31                100  200  300    0    0    600      3
#   2026-01-31                100  200  300   80    0    680      4
#   2026-02-28                150  200  240   80    0    670      4
#   2026-03-31                150    0  240   80   60    530      4
MAIN_SUBS = """
    subscription_id,account_id,start_date,end_date,amount
    s1,a1,2025-12-01,2026-02-01,100
    s2,a1,2026-02-01,,150
    s3,a2,2025-12-01,2026-03-01,200
    s4,a3,2025-12-01,2026-02-15,300
    s5,a3,2026-02-15,,240
    s6,a4,2026-01-01,2026-01-10,0
    s7,a4,2026-01-10,,80
    s8,a5,2025-11-01,2025-12-20,50
    s9,a5,2026-03-05,,60
"""
MAIN_ACCOUNTS = """
    account_id,name,plan,employees
    a1,Acme,pro,120
    a2,Beta,basic,10
    a3,Gamma,pro,40
    a4,Delta,basic,60
    a5,Eps,enterprise,500
"""
MAIN_METRICS = {
    **{t: f"{{type: {t}}}" for t in REVENUE_TYPES},
    "ltv": "{type: ltv, gross_margin: 0.8}",
    "nrr_12m": "{type: nrr, window: 12}",
    "grr_12m": "{type: grr, window: 12}",
    "pro_mrr": "{type: mrr, filter: \"plan = 'pro'\"}",
    "arpa_f": '{type: formula, expr: "mrr / customers"}',
    "mrr_per_churned": '{type: formula, expr: "churned_mrr / churned_customers"}',
}
MAIN_SOURCES = """
subscriptions: {path: subs.csv}
accounts: {path: accounts.csv}
"""
MAIN_DIMS = """
dimensions:
  plan: plan
  size: "CASE WHEN employees >= 50 THEN 'big' ELSE 'small' END"
"""

EXPECTED = {
    "2026-01": {
        "mrr": 100 + 200 + 300 + 80,
        "arr": 12 * 680,
        "customers": 4,
        "new_mrr": 80,
        "reactivation_mrr": 0,
        "expansion_mrr": 0,
        "contraction_mrr": 0,
        "churned_mrr": 0,
        "net_new_mrr": 80 + 0 + 0 - 0 - 0,
        "new_customers": 1,
        "reactivated_customers": 0,
        "churned_customers": 0,
        "customer_churn_rate": 0 / 3,
        "customer_retention_rate": 1 - 0 / 3,
        "gross_mrr_churn_rate": (0 + 0) / 600,
        "net_mrr_churn_rate": (0 + 0 - 0 - 0) / 600,
        "nrr": (600 + 0 - 0 - 0) / 600,
        "grr": (600 - 0 - 0) / 600,
        "arpa": 680 / 4,
        "asp": 80 / 1,
        "ltv": None,  # no churn: unbounded, null with a note
        "quick_ratio": None,  # (80 + 0 + 0) / (0 + 0)
        # s6 (a $0 trial) ends Jan 10: trial and free lines are not renewals, so none ended
        "renewal_rate": None,
        "pro_mrr": 100 + 300,  # a1 + a3
        "arpa_f": 680 / 4,
        "mrr_per_churned": None,  # 0 / 0
    },
    "2026-02": {
        "mrr": 150 + 200 + 240 + 80,
        "arr": 12 * 670,
        "customers": 4,
        "new_mrr": 0,
        "reactivation_mrr": 0,
        "expansion_mrr": 150 - 100,
        "contraction_mrr": 300 - 240,
        "churned_mrr": 0,
        "net_new_mrr": 0 + 0 + 50 - 60 - 0,
        "new_customers": 0,
        "reactivated_customers": 0,
        "churned_customers": 0,
        "customer_churn_rate": 0 / 4,
        "customer_retention_rate": 1 - 0 / 4,
        "gross_mrr_churn_rate": (0 + 60) / 680,
        "net_mrr_churn_rate": (0 + 60 - 50 - 0) / 680,
        "nrr": (680 + 50 - 60 - 0) / 680,
        "grr": (680 - 60 - 0) / 680,
        "arpa": 670 / 4,
        "asp": None,  # no new customers
        "ltv": None,
        "quick_ratio": (0 + 50 + 0) / (0 + 60),
        "renewal_rate": 2 / 2,  # s1 (Feb 1) and s4 (Feb 15) both followed by a new line
        "pro_mrr": 150 + 240,
        "arpa_f": 670 / 4,
        "mrr_per_churned": None,
    },
    "2026-03": {
        "mrr": 150 + 0 + 240 + 80 + 60,
        "arr": 12 * 530,
        "customers": 4,
        "new_mrr": 0,
        "reactivation_mrr": 60,
        "expansion_mrr": 0,
        "contraction_mrr": 0,
        "churned_mrr": 200,
        "net_new_mrr": 0 + 60 + 0 - 0 - 200,
        "new_customers": 0,
        "reactivated_customers": 1,
        "churned_customers": 1,
        "customer_churn_rate": 1 / 4,
        "customer_retention_rate": 1 - 1 / 4,
        "gross_mrr_churn_rate": (200 + 0) / 670,
        "net_mrr_churn_rate": (200 + 0 - 0 - 60) / 670,
        # over accounts with MRR at s-1 only: a5's reactivation does not count
        "nrr": (670 + 0 - 0 - 200) / 670,
        "grr": (670 - 0 - 200) / 670,
        "arpa": 530 / 4,
        "asp": None,
        "ltv": (530 / 4) * 0.8 / (1 / 4),  # arpa x gross_margin / churn rate
        "quick_ratio": (0 + 0 + 60) / (200 + 0),
        "renewal_rate": 0 / 1,  # s3 ends Mar 1, a2 has nothing after
        "pro_mrr": 150 + 240,
        "arpa_f": 530 / 4,
        "mrr_per_churned": 200 / 1,
    },
}


@pytest.fixture
def main_spec(make_spec):
    return make_spec(
        spec_yaml(MAIN_SOURCES, MAIN_METRICS, MAIN_DIMS),
        {"subs.csv": MAIN_SUBS, "accounts.csv": MAIN_ACCOUNTS},
    )


@ENGINES
def test_every_revenue_metric_by_hand(main_spec, engine):
    f = values(main_spec, start="2026-01", end="2026-03", engine=engine)
    assert sorted(f["period"].unique()) == ["2026-01", "2026-02", "2026-03"]
    for period, expected in EXPECTED.items():
        check(f, period, expected)
    assert_no_nan(f)
    # identity: mrr(P) = mrr(P-1) + net_new_mrr(P)
    for p in EXPECTED:
        assert value(f, "mrr", p) == pytest.approx(
            row(f, "mrr", p)["previous"] + value(f, "net_new_mrr", p)
        )


@ENGINES
def test_units_and_previous(main_spec, engine):
    f = values(main_spec, start="2026-01", end="2026-03", engine=engine)
    units = {
        "mrr": "USD",
        "arr": "USD",
        "customers": "count",
        "new_customers": "count",
        "customer_churn_rate": "ratio",
        "nrr": "ratio",
        "arpa": "USD",
        "ltv": "USD",
        "quick_ratio": "number",
        "renewal_rate": "ratio",
        "arpa_f": "number",
    }
    for metric, unit in units.items():
        assert row(f, metric, "2026-02")["unit"] == unit, metric
    # previous: the value one period earlier (January's comes from December, computed too)
    assert row(f, "mrr", "2026-01")["previous"] == pytest.approx(100 + 200 + 300)
    assert row(f, "mrr", "2026-02")["previous"] == pytest.approx(680)
    assert row(f, "mrr", "2026-03")["previous"] == pytest.approx(670)
    assert row(f, "churned_mrr", "2026-03")["previous"] == pytest.approx(0)
    # December: a5's 50 was active on Nov 30 and gone by Dec 31
    assert row(f, "churned_mrr", "2026-01")["previous"] == pytest.approx(50)
    assert row(f, "asp", "2026-03")["previous"] is None


@ENGINES
def test_null_values_say_why(main_spec, engine):
    f = values(main_spec, start="2026-01", end="2026-03", engine=engine)
    assert "no churn" in note(f, "ltv", "2026-01")
    assert "unbounded" in note(f, "ltv", "2026-01")
    assert note(f, "ltv", "2026-03") is None
    assert "no new customers" in note(f, "asp", "2026-02")
    assert "no churned or contraction" in note(f, "quick_ratio", "2026-01")
    assert "division by zero" in note(f, "mrr_per_churned", "2026-01")
    assert note(f, "mrr", "2026-01") is None


@ENGINES
def test_window_12_compares_with_twelve_months_earlier(main_spec, engine):
    # 2026-12 with window 12: base day 2025-12-31 (a1 100, a2 200, a3 300 = 600),
    # end 2026-12-31 (a1 150, a2 0, a3 240, a4 80, a5 60; a4 and a5 had no MRR at base).
    f = values(main_spec, ["nrr_12m", "grr_12m", "nrr", "grr"], period="2026-12", engine=engine)
    check(
        f,
        "2026-12",
        {
            "nrr_12m": (600 + 50 - 60 - 200) / 600,  # (150 + 0 + 240) / 600
            "grr_12m": (600 - 60 - 200) / 600,  # (min(150,100) + 0 + min(240,300)) / 600
            "nrr": 1.0,  # nothing moved in December 2026
            "grr": 1.0,
        },
    )


# ---- periods -------------------------------------------------------------------------
@ENGINES
def test_quarter_grain(main_spec, engine):
    # Q1 2026: s-1 = 2025-12-31 (600, 3 customers), e = 2026-03-31 (530, 4 customers)
    f = values(main_spec, start="2026-01", end="2026-06", grain="quarter", engine=engine)
    assert sorted(f["period"].unique()) == ["2026-Q1", "2026-Q2"]
    check(
        f,
        "2026-Q1",
        {
            "mrr": 530,
            "new_mrr": 80,  # a4
            "reactivation_mrr": 60,  # a5
            "expansion_mrr": 150 - 100,  # a1
            "contraction_mrr": 300 - 240,  # a3
            "churned_mrr": 200,  # a2
            "net_new_mrr": 80 + 60 + 50 - 60 - 200,
            "customer_churn_rate": 1 / 3,
            "nrr": (600 + 50 - 60 - 200) / 600,
            "grr": (600 - 60 - 200) / 600,
            "renewal_rate": (2 + 0) / (2 + 1),  # s1, s4 renewed; s3 not (s6 is a trial)
        },
    )
    assert row(f, "mrr", "2026-Q1")["previous"] == pytest.approx(600)  # 2025-Q4 end
    # Q2: everything ongoing, nothing moves
    check(f, "2026-Q2", {"mrr": 530, "net_new_mrr": 0, "nrr": 1.0, "renewal_rate": None})
    assert row(f, "mrr", "2026-Q2")["previous"] == pytest.approx(530)


@ENGINES
def test_single_period(main_spec, engine):
    f = values(main_spec, ["mrr", "expansion_mrr"], period="2026-02", engine=engine)
    assert f["period"].unique().to_list() == ["2026-02"]
    assert f.height == 2
    check(f, "2026-02", {"mrr": 670, "expansion_mrr": 50})
    assert row(f, "mrr", "2026-02")["previous"] == pytest.approx(680)


@ENGINES
def test_date_range_period(main_spec, engine):
    # 2026-01-01..2026-01-15: s-1 = 2025-12-31 (600), e = 2026-01-15 (a4 pays 80 since Jan 10)
    label = "2026-01-01..2026-01-15"
    f = values(main_spec, ["mrr", "new_mrr", "churned_mrr"], period=label, engine=engine)
    assert f["period"].unique().to_list() == [label]
    check(f, label, {"mrr": 600 + 80, "new_mrr": 80, "churned_mrr": 0})
    # previous range: the 15 days before, 2025-12-17..2025-12-31: base 2025-12-16 had
    # a1 + a2 + a3 + a5 = 650; a5 ended Dec 20 -> 600 at the end, 50 churned
    assert row(f, "mrr", label)["previous"] == pytest.approx(600)
    assert row(f, "churned_mrr", label)["previous"] == pytest.approx(50)


@ENGINES
def test_end_date_is_exclusive_and_empty_end_is_ongoing(make_spec, engine):
    spec = make_spec(
        spec_yaml("subscriptions: {path: subs.csv}", {"mrr": "{type: mrr}"}),
        {
            "subs.csv": """
                account_id,start_date,end_date,amount
                e1,2026-01-01,2026-03-01,100
                e2,2026-01-01,,7
            """
        },
    )
    on_28 = values(spec, ["mrr"], period="2026-02-28..2026-02-28", engine=engine)
    on_1 = values(spec, ["mrr"], period="2026-03-01..2026-03-01", engine=engine)
    assert value(on_28, "mrr", "2026-02-28..2026-02-28") == pytest.approx(100 + 7)
    assert value(on_1, "mrr", "2026-03-01..2026-03-01") == pytest.approx(7)  # e1 ended
    far = values(spec, ["mrr"], period="2031-07", engine=engine)
    assert value(far, "mrr", "2031-07") == pytest.approx(7)  # e2 never ends


# ---- classification --------------------------------------------------------------------
@ENGINES
def test_reactivation_after_mid_month_only_revenue(make_spec, engine):
    # b1 paid 30 from Jan 10 to Jan 20 only (never at a month end), came back Mar 20 at 40:
    # that is a reactivation, not new. b2 appears for the first time in March: new.
    spec = make_spec(
        spec_yaml("subscriptions: {path: subs.csv}"),
        {
            "subs.csv": """
                account_id,start_date,end_date,amount
                b1,2026-01-10,2026-01-20,30
                b1,2026-03-20,,40
                b2,2026-03-10,,25
            """
        },
    )
    f = values(spec, start="2026-01", end="2026-03", engine=engine)
    check(f, "2026-01", {"mrr": 0, "customers": 0, "new_customers": 0, "new_mrr": 0})
    check(
        f,
        "2026-03",
        {
            "mrr": 40 + 25,
            "new_mrr": 25,
            "new_customers": 1,
            "reactivation_mrr": 40,
            "reactivated_customers": 1,
            "asp": 25 / 1,
            "customer_churn_rate": None,  # no customers at s-1
        },
    )
    assert "no customers at the start" in note(f, "customer_churn_rate", "2026-03")


@ENGINES
def test_movements_are_per_account_not_per_subscription(make_spec, engine):
    # c1: two subscriptions, one 100 -> 150, the other 100 -> 50 on Feb 1: account stays 200
    # c2: two subscriptions, 50 -> 80 and 50 -> 40: account 100 -> 120, expansion 20
    spec = make_spec(
        spec_yaml("subscriptions: {path: subs.csv}"),
        {
            "subs.csv": """
                subscription_id,account_id,start_date,end_date,amount
                x,c1,2026-01-01,2026-02-01,100
                x,c1,2026-02-01,,150
                y,c1,2026-01-01,2026-02-01,100
                y,c1,2026-02-01,,50
                z,c2,2026-01-01,2026-02-01,50
                z,c2,2026-02-01,,80
                w,c2,2026-01-01,2026-02-01,50
                w,c2,2026-02-01,,40
            """
        },
    )
    f = values(spec, period="2026-02", engine=engine)
    check(
        f,
        "2026-02",
        {
            "mrr": 200 + 120,
            "expansion_mrr": 120 - 100,  # only c2, as one account
            "contraction_mrr": 0,  # c1's shrinking subscription is offset by the other
            "churned_mrr": 0,
            "net_new_mrr": 20,
            "nrr": (300 + 20) / 300,
            "grr": 1.0,
            "renewal_rate": 4 / 4,  # every ending line is followed by the account paying
        },
    )


@ENGINES
def test_amount_zero_is_not_a_customer(make_spec, engine):
    # f1 is on a free plan in Jan and upgrades on Feb 10: new in Feb, not expansion
    # f2 stays free. f3 pays 10.
    spec = make_spec(
        spec_yaml("subscriptions: {path: subs.csv}"),
        {
            "subs.csv": """
                account_id,start_date,end_date,amount
                f1,2026-01-01,2026-02-10,0
                f1,2026-02-10,,90
                f2,2026-01-01,,0
                f3,2026-01-01,,10
            """
        },
    )
    f = values(spec, start="2026-01", end="2026-02", engine=engine)
    check(f, "2026-01", {"customers": 1, "mrr": 10, "arpa": 10 / 1, "new_customers": 1})
    check(
        f,
        "2026-02",
        {
            "customers": 2,
            "mrr": 90 + 10,
            "new_mrr": 90,
            "new_customers": 1,
            "expansion_mrr": 0,
            "arpa": 100 / 2,
            "customer_churn_rate": 0 / 1,
            # f1's free line ends Feb 10: a free line ending is not a renewal to count
            "renewal_rate": None,
        },
    )


@ENGINES
def test_renewal_rate(make_spec, engine):
    # Lines ending in March 2026:
    #   r1 ends Mar 10, renewed the same day                   -> renewed
    #   r2 ends Mar 15, next line starts Mar 20 (gap)          -> not renewed on Mar 15
    #   r3 ends Mar 31, downgraded to free (0) that day        -> not renewed
    #   r4 ends Mar 20, but its other subscription runs on     -> renewed (account still pays)
    spec = make_spec(
        spec_yaml("subscriptions: {path: subs.csv}", {"renewal_rate": "{type: renewal_rate}"}),
        {
            "subs.csv": """
                account_id,start_date,end_date,amount
                r1,2026-01-01,2026-03-10,10
                r1,2026-03-10,,10
                r2,2026-01-01,2026-03-15,10
                r2,2026-03-20,,10
                r3,2026-01-01,2026-03-31,10
                r3,2026-03-31,,0
                r4,2026-01-01,2026-03-20,10
                r4,2026-01-01,,5
            """
        },
    )
    f = values(spec, start="2026-02", end="2026-03", engine=engine)
    check(f, "2026-03", {"renewal_rate": (1 + 0 + 0 + 1) / 4})
    check(f, "2026-02", {"renewal_rate": None})
    assert "no subscription ended" in note(f, "renewal_rate", "2026-02")


# ---- normalisation ---------------------------------------------------------------------
@ENGINES
def test_interval_quantity_discount_normalisation(make_spec, engine):
    spec = make_spec(
        spec_yaml("subscriptions: {path: subs.csv}", {"mrr": "{type: mrr}"}),
        {
            "subs.csv": """
                account_id,start_date,end_date,amount,interval,quantity,discount
                d_day,2026-01-01,,10,day,,
                d_week,2026-01-01,,100,week,,
                d_month,2026-01-01,,30,month,,
                d_quarter,2026-01-01,,300,quarter,,
                d_year,2026-01-01,,1200,year,,
                d_six,2026-01-01,,600,6,,
                d_default,2026-01-01,,45,,,
                d_qty,2026-01-01,,50,quarter,3,30
                d_seats,2026-01-01,,20,month,4,
            """
        },
    )
    f = values(spec, ["mrr"], period="2026-01", by=["account"], engine=engine)
    expected = {
        "d_day": 10 / (12 / 365),  # a day is 12/365 of a month
        "d_week": 100 / (12 / 52),
        "d_month": 30 / 1,
        "d_quarter": 300 / 3,
        "d_year": 1200 / 12,
        "d_six": 600 / 6,
        "d_default": 45 / 1,  # no interval: monthly
        "d_qty": (50 * 3 - 30) / 3,  # (amount x quantity - discount) / months
        "d_seats": 20 * 4 / 1,
    }
    for account, want in expected.items():
        assert value(f, "mrr", "2026-01", account=account) == pytest.approx(want, rel=1e-6)
    total = values(spec, ["mrr"], period="2026-01", engine=engine)
    assert value(total, "mrr", "2026-01") == pytest.approx(sum(expected.values()), rel=1e-6)


# ---- invoices --------------------------------------------------------------------------
INVOICES = """
    invoice_id,account_id,period_start,period_end,amount,line_type
    n1,i1,2026-01-01,2026-02-01,100,subscription
    n2,i1,2026-02-01,2026-03-01,100,subscription
    n3,i2,2026-01-15,2027-01-15,1200,subscription
    n3,i2,2026-01-15,2026-01-16,500,one_time
    n3,i2,2026-01-15,2027-01-15,240,tax
    n4,i2,2026-01-15,2027-01-15,-50,refund
    n5,i3,2026-01-01,2026-04-01,300,subscription
    n6,i3,2026-02-01,2026-03-01,-30,subscription
    n7,i4,2026-01-01,2026-02-01,50,subscription
    n7,i4,2026-01-01,2026-02-01,-80,credit
"""


@ENGINES
def test_invoices_source(make_spec, engine):
    # i1: monthly invoices for Jan and Feb only            -> 100 on Jan 31 and Feb 28, 0 after
    # i2: one annual line 1200 / 12 = 100; one_time, tax and refund lines are not MRR
    # i3: a quarter 300 / 3 = 100, with a -30 credit for February -> 70 on Feb 28
    # i4: 50 - 80 = -30: counts as 0 (with a warning)
    spec = make_spec(spec_yaml("invoices: {path: invoices.csv}"), {"invoices.csv": INVOICES})
    result = compute_metrics(
        spec,
        ["mrr", "customers", "new_mrr", "contraction_mrr", "expansion_mrr", "churned_mrr"],
        start="2026-01",
        end="2026-03",
        engine=engine,
    )
    f = result.frame
    check(
        f,
        "2026-01",
        {"mrr": 100 + 1200 / 12 + 300 / 3 + 0, "customers": 3, "new_mrr": 300},
    )
    check(
        f,
        "2026-02",
        {"mrr": 100 + 100 + (100 - 30), "customers": 3, "contraction_mrr": 30},
    )
    check(
        f,
        "2026-03",
        {"mrr": 0 + 100 + 100, "customers": 2, "churned_mrr": 100, "expansion_mrr": 30},
    )
    assert any("below 0" in w for w in result.warnings), result.warnings


@ENGINES
def test_invoice_line_covers_every_day_of_its_range(make_spec, engine):
    spec = make_spec(spec_yaml("invoices: {path: invoices.csv}"), {"invoices.csv": INVOICES})
    # Mar 1: i1's last line [Feb 1, Mar 1) no longer covers it; i2 (100) and i3 (100) do
    f = values(spec, ["mrr"], period="2026-03-01..2026-03-01", engine=engine)
    assert value(f, "mrr", "2026-03-01..2026-03-01") == pytest.approx(200)
    # Jan 14: i2's annual line starts Jan 15
    f = values(spec, ["mrr"], period="2026-01-14..2026-01-14", engine=engine)
    assert value(f, "mrr", "2026-01-14..2026-01-14") == pytest.approx(100 + 100)  # i1, i3


@ENGINES
def test_subscription_source_option_picks_invoices(make_spec, engine):
    spec = make_spec(
        spec_yaml(
            "subscriptions: {path: subs.csv}\ninvoices: {path: invoices.csv}",
            {"mrr": "{type: mrr}", "inv_mrr": "{type: mrr, source: invoices}"},
        ),
        {"subs.csv": MAIN_SUBS, "invoices.csv": INVOICES},
    )
    f = values(spec, period="2026-01", engine=engine)
    check(f, "2026-01", {"mrr": 680, "inv_mrr": 300})


@ENGINES
def test_subscription_credits_net_and_negative_accounts_count_as_zero(make_spec, engine):
    # k1: 100 with a -30 credit in February -> 70 on Feb 28 (contraction 30)
    # k2: 20 with a -50 credit in February -> -30 nets below 0: counts as 0 (churn 20), warned
    spec = make_spec(
        spec_yaml("subscriptions: {path: subs.csv}"),
        {
            "subs.csv": """
                account_id,start_date,end_date,amount
                k1,2026-01-01,,100
                k1,2026-02-01,2026-03-01,-30
                k2,2026-01-01,,20
                k2,2026-02-01,2026-03-01,-50
            """
        },
    )
    result = compute_metrics(spec, start="2026-01", end="2026-03", engine=engine)
    f = result.frame
    check(f, "2026-01", {"mrr": 100 + 20, "customers": 2})
    check(
        f,
        "2026-02",
        {
            "mrr": (100 - 30) + 0,  # not 100 - 30 + 20 - 50 = 40
            "customers": 1,
            "contraction_mrr": 30,
            "churned_mrr": 20,
            "churned_customers": 1,
            "net_new_mrr": -30 - 20,
        },
    )
    # March: the credits are over, k2 comes back (reactivation), k1 expands back to 100
    check(
        f,
        "2026-03",
        {"mrr": 120, "reactivation_mrr": 20, "reactivated_customers": 1, "expansion_mrr": 30},
    )
    assert any("below 0" in w and "counted as 0" in w for w in result.warnings), result.warnings


# ---- currencies ------------------------------------------------------------------------
MIXED = """
    account_id,start_date,end_date,amount,currency
    x1,2026-01-01,,100,USD
    x2,2026-01-01,,100,EUR
    x3,2026-01-01,,100,GBP
    x4,2026-01-01,,100,
"""


@ENGINES
def test_mixed_currencies_without_fx_is_an_error(make_spec, engine):
    spec = make_spec(spec_yaml("subscriptions: {path: subs.csv}"), {"subs.csv": MIXED})
    with pytest.raises(DataError) as err:
        values(spec, ["mrr"], period="2026-01", engine=engine)
    assert err.value.exit_code == ExitCode.DATA_ERROR == 65
    assert "EUR" in str(err.value)
    assert "GBP" in str(err.value)
    assert "fx" in str(err.value)


def test_mixed_currencies_exit_code_on_the_command_line(tmp_path):
    spec = write_spec(
        tmp_path,
        spec_yaml("subscriptions: {path: subs.csv}", {"mrr": "{type: mrr}"}),
        {"subs.csv": MIXED},
    )
    cmd = [sys.executable, "-m", "cs_metrics", "compute", "--spec", str(spec)]
    proc = subprocess.run(
        [*cmd, "--period", "2026-01", "--format", "csv"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 65, proc.stderr
    assert "EUR" in proc.stderr and "GBP" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""


@ENGINES
def test_fx_converts_amounts(make_spec, engine):
    spec = make_spec(
        spec_yaml("subscriptions: {path: subs.csv}\nfx: {path: fx.csv}", {"mrr": "{type: mrr}"}),
        {"subs.csv": MIXED, "fx.csv": "currency,rate\nEUR,1.1\nGBP,1.25\n"},
    )
    f = values(spec, ["mrr"], period="2026-01", engine=engine)
    # USD as is, EUR x 1.1, GBP x 1.25, no currency = reporting currency
    assert value(f, "mrr", "2026-01") == pytest.approx(100 + 100 * 1.1 + 100 * 1.25 + 100)


@ENGINES
def test_dated_fx_uses_the_rate_at_the_line_start(make_spec, engine):
    spec = make_spec(
        spec_yaml("subscriptions: {path: subs.csv}\nfx: {path: fx.csv}", {"mrr": "{type: mrr}"}),
        {
            "subs.csv": """
                account_id,start_date,end_date,amount,currency
                y1,2026-01-01,,100,EUR
                y2,2026-02-15,,100,EUR
                y3,2025-06-01,,100,EUR
            """,
            "fx.csv": """
                currency,rate,date
                EUR,1.0,2025-12-01
                EUR,1.2,2026-02-01
            """,
        },
    )
    f = values(spec, ["mrr"], period="2026-02", engine=engine)
    # y1 starts Jan 1: the Dec 1 rate 1.0; y2 starts Feb 15: the Feb 1 rate 1.2;
    # y3 starts before any rate: the first rate, 1.0
    assert value(f, "mrr", "2026-02") == pytest.approx(100 * 1.0 + 100 * 1.2 + 100 * 1.0)


@ENGINES
def test_currency_missing_from_fx_is_named(make_spec, engine):
    spec = make_spec(
        spec_yaml("subscriptions: {path: subs.csv}\nfx: {path: fx.csv}", {"mrr": "{type: mrr}"}),
        {
            "subs.csv": MIXED + "    x5,2026-01-01,,1000,JPY\n",
            "fx.csv": "currency,rate\nEUR,1.1\nGBP,1.25\n",
        },
    )
    with pytest.raises(DataError) as err:
        values(spec, ["mrr"], period="2026-01", engine=engine)
    assert err.value.exit_code == 65
    assert "JPY" in str(err.value)
    assert "EUR" not in str(err.value)


# ---- zero accounts ---------------------------------------------------------------------
@ENGINES
def test_metrics_over_zero_accounts_are_null(make_spec, engine):
    spec = make_spec(
        spec_yaml("subscriptions: {path: subs.csv}"),
        {"subs.csv": "account_id,start_date,end_date,amount\nz1,2026-06-01,,100\n"},
    )
    f = values(spec, period="2026-01", engine=engine)
    assert_no_nan(f)
    check(
        f,
        "2026-01",
        {
            # sums and counts of nothing are 0
            "mrr": 0,
            "arr": 0,
            "customers": 0,
            "new_mrr": 0,
            "churned_customers": 0,
            "net_new_mrr": 0,
            # ratios over nothing are null
            "customer_churn_rate": None,
            "customer_retention_rate": None,
            "gross_mrr_churn_rate": None,
            "net_mrr_churn_rate": None,
            "nrr": None,
            "grr": None,
            "arpa": None,
            "asp": None,
            "ltv": None,
            "quick_ratio": None,
            "renewal_rate": None,
        },
    )
    assert "no customers at the start" in note(f, "customer_churn_rate", "2026-01")
    assert "no customers at the end" in note(f, "arpa", "2026-01")
    assert "no MRR at the start" in note(f, "nrr", "2026-01")
    assert note(f, "ltv", "2026-01")


# ---- dimensions and filters ------------------------------------------------------------
@ENGINES
def test_by_plan_and_by_size(main_spec, engine):
    metrics = ["mrr", "customers", "customer_churn_rate", "churned_mrr", "nrr"]
    f = values(main_spec, metrics, period="2026-03", by=["plan"], engine=engine)
    assert set(f.columns) >= {"period", "plan", "metric", "value", "unit", "previous"}
    # pro: a1 (100 -> 150 in Feb), a3 (240); basic: a2 (churned), a4 (80); enterprise: a5
    check(f, "2026-03", {"mrr": 150 + 240, "customer_churn_rate": 0 / 2, "nrr": 1.0}, plan="pro")
    check(
        f,
        "2026-03",
        {
            "mrr": 0 + 80,
            "customers": 1,
            "churned_mrr": 200,
            "customer_churn_rate": 1 / 2,
            "nrr": (200 + 80 - 200) / (200 + 80),
        },
        plan="basic",
    )
    check(
        f,
        "2026-03",
        {"mrr": 60, "customer_churn_rate": None, "nrr": None},  # a5 had nothing on Feb 28
        plan="enterprise",
    )
    assert row(f, "mrr", "2026-03", plan="pro")["previous"] == pytest.approx(150 + 240)
    assert row(f, "mrr", "2026-03", plan="basic")["previous"] == pytest.approx(200 + 80)
    # size = CASE WHEN employees >= 50: big a1 (120), a4 (60), a5 (500); small a2, a3
    g = values(
        main_spec, ["mrr", "customer_churn_rate"], period="2026-03", by=["size"], engine=engine
    )
    check(g, "2026-03", {"mrr": 150 + 80 + 60, "customer_churn_rate": 0 / 2}, size="big")
    check(g, "2026-03", {"mrr": 0 + 240, "customer_churn_rate": 1 / 2}, size="small")


@ENGINES
def test_by_account(main_spec, engine):
    f = values(
        main_spec, ["mrr", "customer_churn_rate"], period="2026-03", by=["account"], engine=engine
    )
    assert "account" in f.columns
    check(f, "2026-03", {"mrr": 150, "customer_churn_rate": 0.0}, account="a1")
    check(f, "2026-03", {"mrr": 0, "customer_churn_rate": 1.0}, account="a2")
    check(f, "2026-03", {"mrr": 240, "customer_churn_rate": 0.0}, account="a3")
    check(f, "2026-03", {"mrr": 80, "customer_churn_rate": 0.0}, account="a4")
    check(f, "2026-03", {"mrr": 60, "customer_churn_rate": None}, account="a5")
    rates = f.filter(pl.col("metric") == "customer_churn_rate")["value"].drop_nulls()
    assert set(rates.to_list()) <= {0.0, 1.0}
    # summing per-account MRR gives the total
    assert f.filter(pl.col("metric") == "mrr")["value"].sum() == pytest.approx(530)


@ENGINES
def test_filter_on_an_account_attribute(main_spec, engine):
    # plan is only in accounts, not in the subscriptions export
    f = values(main_spec, ["pro_mrr", "mrr"], start="2026-01", end="2026-03", engine=engine)
    for p in ("2026-01", "2026-02", "2026-03"):
        check(f, p, {"pro_mrr": EXPECTED[p]["pro_mrr"]})
    g = values(main_spec, ["pro_mrr"], period="2026-03", by=["plan"], engine=engine)
    check(g, "2026-03", {"pro_mrr": 390}, plan="pro")
    assert g.filter(pl.col("plan") == "basic").height == 0


# ---- aggregate and formula -------------------------------------------------------------
USAGE = """
    account_id,timestamp,user_id,event,value
    u1,2026-01-03T10:00:00,p1,login,1
    u1,2026-01-04T10:00:00,p1,login,2
    u1,2026-01-05T10:00:00,p2,report,3
    u2,2026-01-20T10:00:00,,login,4
    u2,2026-01-31T23:00:00,p3,report,10
    u2,2026-02-01T00:30:00,p3,login,5
"""


@ENGINES
def test_aggregate(make_spec, engine):
    agg = "{type: aggregate, source: usage"
    spec = make_spec(
        spec_yaml(
            "usage: {path: usage.csv}",
            {
                "events": agg + "}",
                "value_sum": agg + ", agg: sum, column: value}",
                "value_mean": agg + ", agg: mean, column: value}",
                "value_median": agg + ", agg: median, column: value}",
                "value_max": agg + ", agg: max, column: value}",
                "users": agg + ", agg: count_distinct, column: user_id}",
                "value_p90": agg + ", agg: p90, column: value}",
                "logins": agg + ", filter: \"event = 'login'\"}",
                "per_event": '{type: formula, expr: "value_sum / events"}',
            },
        ),
        {"usage.csv": USAGE},
    )
    f = values(spec, start="2026-01", end="2026-03", engine=engine)
    check(
        f,
        "2026-01",
        {
            "events": 5,
            "value_sum": 1 + 2 + 3 + 4 + 10,
            "value_mean": (1 + 2 + 3 + 4 + 10) / 5,
            "value_median": 3,
            "value_max": 10,
            "users": 3,  # p1, p2, p3: the empty user_id is not a user
            # sorted 1 2 3 4 10, linear: position 0.9 x (5 - 1) = 3.6 -> 4 + 0.6 x (10 - 4)
            "value_p90": 4 + 0.6 * (10 - 4),
            "logins": 3,
            "per_event": 20 / 5,
        },
    )
    check(
        f,
        "2026-02",
        {"events": 1, "value_sum": 5, "value_mean": 5, "users": 1, "value_p90": 5, "logins": 1},
    )
    check(
        f,
        "2026-03",
        {
            "events": 0,  # counts and sums of nothing are 0
            "value_sum": 0,
            "users": 0,
            "logins": 0,
            "value_mean": None,  # the mean of nothing is null
            "value_median": None,
            "value_p90": None,
            "per_event": None,  # 0 / 0
        },
    )
    assert row(f, "events", "2026-01")["unit"] == "count"
    assert row(f, "users", "2026-01")["unit"] == "count"
    assert row(f, "value_sum", "2026-01")["unit"] == "number"
    assert_no_nan(f)


@ENGINES
def test_formula_division_by_zero_is_null(make_spec, engine):
    spec = make_spec(
        spec_yaml(
            "subscriptions: {path: subs.csv}",
            {
                "mrr": "{type: mrr}",
                "customers": "{type: customers}",
                "per_customer": '{type: formula, expr: "mrr / customers", unit: currency}',
                "doubled": '{type: formula, expr: "2 * mrr + 1"}',
            },
        ),
        {
            "subs.csv": "account_id,start_date,end_date,amount\nq1,2026-02-01,,90\nq2,2026-02-01,,30\n"
        },
    )
    f = values(spec, start="2026-01", end="2026-02", engine=engine)
    check(f, "2026-01", {"per_customer": None, "doubled": 2 * 0 + 1})  # 0 / 0: null
    check(f, "2026-02", {"per_customer": (90 + 30) / 2, "doubled": 2 * 120 + 1})
    assert "division by zero" in note(f, "per_customer", "2026-01")
    assert row(f, "per_customer", "2026-02")["unit"] == "USD"
    assert row(f, "per_customer", "2026-02")["previous"] is None
    assert_no_nan(f)
