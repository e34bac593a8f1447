"""Acquisition and trial metrics (METRICS.md "Acquisition and trials").

Hand-made fixtures: a few accounts, spend rows and trials over January-March 2026; every
expected value is written as the arithmetic that produces it. Month ends: Jan 31, Feb 28,
Mar 31. Subscription end dates are exclusive (empty = ongoing).
"""

from __future__ import annotations

import polars as pl
import pytest
from conftest import ENGINES, check, note, value, values


def spec_yaml(sources: str, metrics: dict[str, str], extra: str = "") -> str:
    lines = ["version: 1", "currency: USD", "sources:"]
    lines += ["  " + line for line in sources.strip().splitlines()]
    lines += extra.strip().splitlines() if extra else []
    lines.append("metrics:")
    lines += [f"  {name}: {definition}" for name, definition in metrics.items()]
    return "\n".join(lines) + "\n"


# ---- cac, ltv_to_cac, cac_payback_months ----------------------------------------------
# MRR at month ends:      c1   c2   c3   c4   total  customers
#   2025-12-31             0    0  200    0    200      1
#   2026-01-31           100  300  200    0    600      3   new: c1, c2 (new_mrr 400)
#   2026-02-28           100  300  200    0    600      3   no new customers
#   2026-03-31           100  300    0   50    450      3   new: c4 (50); c3 churned
CAC_SUBS = """
    account_id,start_date,end_date,amount
    c1,2026-01-05,,100
    c2,2026-01-20,,300
    c3,2025-12-01,2026-03-01,200
    c4,2026-03-10,,50
"""
# spend on the periods' first and last days belongs to them; Dec 31 is December's
CAC_SPEND = """
    date,channel,amount
    2025-12-31,google,999
    2026-01-01,google,600
    2026-01-31,events,400
    2026-02-01,google,250
    2026-03-15,google,100
    2026-03-31,events,20
"""
CAC_ACCOUNTS = """
    account_id,plan
    c1,pro
    c2,pro
    c3,basic
    c4,basic
"""
CAC_METRICS = {
    "cac": "{type: cac}",
    "google_cac": "{type: cac, filter: \"channel = 'google'\"}",
    "ltv": "{type: ltv, gross_margin: 0.8}",
    "ltv_to_cac": "{type: ltv_to_cac, gross_margin: 0.8}",
    "cac_payback_months": "{type: cac_payback_months, gross_margin: 0.8}",
    "payback_full_margin": "{type: cac_payback_months}",
}
CAC_SOURCES = """
subscriptions: {path: subs.csv}
spend: {path: spend.csv}
accounts: {path: accounts.csv}
"""


@pytest.fixture
def cac_spec(make_spec):
    return make_spec(
        spec_yaml(CAC_SOURCES, CAC_METRICS, "dimensions:\n  plan: plan"),
        {"subs.csv": CAC_SUBS, "spend.csv": CAC_SPEND, "accounts.csv": CAC_ACCOUNTS},
    )


@ENGINES
def test_cac_ltv_to_cac_and_payback_by_hand(cac_spec, engine):
    f = values(cac_spec, start="2026-01", end="2026-03", engine=engine)
    # March: customers at Feb 28 = 3 (c1, c2, c3), c3 churned -> churn 1/3;
    # arpa = 450 / 3 = 150; ltv = 150 x 0.8 / (1/3) = 360; cac = (100 + 20) / 1 = 120
    check(
        f,
        "2026-01",
        {
            "cac": (600 + 400) / 2,
            "google_cac": 600 / 2,
            "ltv_to_cac": None,  # no churn in January: ltv unbounded
            # asp = (100 + 300) / 2 = 200
            "cac_payback_months": ((600 + 400) / 2) / (200 * 0.8),
            "payback_full_margin": ((600 + 400) / 2) / (200 * 1.0),
        },
    )
    check(
        f,
        "2026-02",
        {
            "cac": None,  # 250 of spend, no new customers
            "google_cac": None,
            "ltv_to_cac": None,
            "cac_payback_months": None,
        },
    )
    check(
        f,
        "2026-03",
        {
            "cac": (100 + 20) / 1,
            "google_cac": 100 / 1,
            "ltv": (450 / 3) * 0.8 / (1 / 3),
            "ltv_to_cac": ((450 / 3) * 0.8 / (1 / 3)) / ((100 + 20) / 1),
            "cac_payback_months": ((100 + 20) / 1) / ((50 / 1) * 0.8),
        },
    )
    # December (January's "previous"): 999 spent on Dec 31, c3 new on Dec 1 -> 999 / 1
    jan = f.filter((pl.col("metric") == "cac") & (pl.col("period") == "2026-01"))
    assert jan["previous"][0] == pytest.approx(999 / 1)
    assert f.filter(pl.col("metric") == "cac")["unit"].unique().to_list() == ["USD"]
    assert f.filter(pl.col("metric") == "ltv_to_cac")["unit"].unique().to_list() == ["number"]
    units = f.filter(pl.col("metric") == "cac_payback_months")["unit"].unique().to_list()
    assert units == ["months"]


@ENGINES
def test_zero_new_customers_gives_null_cac_with_a_note(cac_spec, engine):
    f = values(cac_spec, period="2026-02", engine=engine)
    assert value(f, "cac", "2026-02") is None
    assert note(f, "cac", "2026-02") == "no new customers in the period"
    assert note(f, "cac_payback_months", "2026-02") == "no new customers in the period"
    # ltv_to_cac: ltv's own reason comes first (no churn in February either)
    assert "no churn" in note(f, "ltv_to_cac", "2026-02")
    vals = f["value"].drop_nulls()
    assert vals.is_finite().all()


@ENGINES
def test_no_spend_gives_cac_zero_and_null_ltv_to_cac(make_spec, engine):
    # March again, but nothing was spent: cac = 0 / 1 = 0, ltv / 0 is null with a reason
    spec = make_spec(
        spec_yaml(CAC_SOURCES, CAC_METRICS),
        {
            "subs.csv": CAC_SUBS,
            "spend.csv": "date,channel,amount\n2026-01-10,google,5\n",
            "accounts.csv": CAC_ACCOUNTS,
        },
    )
    f = values(spec, period="2026-03", engine=engine)
    check(f, "2026-03", {"cac": 0 / 1, "ltv_to_cac": None, "cac_payback_months": 0.0})
    assert "no spend" in note(f, "ltv_to_cac", "2026-03")


@ENGINES
def test_cac_cannot_be_split_by_a_dimension_or_account(cac_spec, engine):
    for by in ("plan", "account"):
        metrics = ["cac", "ltv_to_cac", "cac_payback_months"]
        f = values(cac_spec, metrics, period="2026-03", by=[by], engine=engine)
        for metric in metrics:
            rows = f.filter(pl.col("metric") == metric)
            assert rows.height == 1
            assert rows["value"][0] is None
            assert f"{metric} cannot be split by {by}: spend has no accounts" in rows["note"][0]


@ENGINES
def test_cac_without_spend_or_billing_is_unavailable(make_spec, engine):
    no_spend = make_spec(
        spec_yaml("subscriptions: {path: subs.csv}", CAC_METRICS), {"subs.csv": CAC_SUBS}
    )
    f = values(no_spend, period="2026-03", engine=engine)
    for metric in ("cac", "google_cac", "ltv_to_cac", "cac_payback_months"):
        assert value(f, metric, "2026-03") is None
        assert "needs the spend source" in note(f, metric, "2026-03")
    check(f, "2026-03", {"ltv": (450 / 3) * 0.8 / (1 / 3)})  # the rest still computes


@ENGINES
def test_cac_without_billing_is_unavailable(make_spec, engine):
    spec = make_spec(
        spec_yaml("spend: {path: spend.csv}", {"cac": "{type: cac}"}), {"spend.csv": CAC_SPEND}
    )
    f = values(spec, period="2026-03", engine=engine)
    assert value(f, "cac", "2026-03") is None
    assert "subscriptions or invoices" in note(f, "cac", "2026-03")


@ENGINES
def test_gross_margin_out_of_range_is_unavailable(make_spec, engine):
    spec = make_spec(
        spec_yaml(CAC_SOURCES, {"payback": "{type: cac_payback_months, gross_margin: 0}"}),
        {"subs.csv": CAC_SUBS, "spend.csv": CAC_SPEND, "accounts.csv": CAC_ACCOUNTS},
    )
    f = values(spec, period="2026-03", engine=engine)
    assert value(f, "payback", "2026-03") is None
    assert "gross_margin" in note(f, "payback", "2026-03")


# ---- trial_conversion_rate -------------------------------------------------------------
# A trial is [trial_start, trial_end); an empty trial_end is trial_start + 14 days. It
# converted when the account's MRR was > 0 on some day of [trial_start, trial_end + 7].
#   t1: Jan 1 - Jan 15, pays from Jan 15 (its end day)             -> ends Jan, converted
#   t2: Jan 10, no end -> Jan 24; pays from Jan 31 = Jan 24 + 7     -> ends Jan, converted
#   t3: Jan 5 - Jan 19; pays from Jan 27 = Jan 19 + 8 (too late)    -> ends Jan, not
#   t4: Jan 20 - Feb 3; pays from Jan 25, during the trial           -> ends Feb, converted
#   t5: Jan 25, no end -> Feb 8; never pays                          -> ends Feb, not
#   t6: Dec 10 - Dec 24; pays from Dec 26                            -> ends Dec, converted
#   t7: paid Jun-Sep 2025 and churned; trial Feb 1 - Feb 15; no more -> ends Feb, not
#   t8: Mar 1 - Mar 15 on a free (amount 0) plan, nothing after      -> ends Mar, not
#   t9: no trial_start: not a trial
#   t10: Mar 20 - Apr 3: ends in April, not in March
TRIAL_ACCOUNTS = """
    account_id,plan,trial_start,trial_end
    t1,pro,2026-01-01,2026-01-15
    t2,pro,2026-01-10,
    t3,basic,2026-01-05,2026-01-19
    t4,pro,2026-01-20,2026-02-03
    t5,basic,2026-01-25,
    t6,pro,2025-12-10,2025-12-24
    t7,basic,2026-02-01,2026-02-15
    t8,pro,2026-03-01,2026-03-15
    t9,pro,,
    t10,basic,2026-03-20,2026-04-03
"""
TRIAL_SUBS = """
    account_id,start_date,end_date,amount
    t1,2026-01-15,,100
    t2,2026-01-31,,100
    t3,2026-01-27,,100
    t4,2026-01-25,,100
    t6,2025-12-26,,100
    t7,2025-06-01,2025-10-01,100
    t8,2026-03-01,2026-03-15,0
    t9,2026-01-01,,100
"""
TRIAL_METRICS = {
    "trial_conversion_rate": "{type: trial_conversion_rate}",
    "grace_8": "{type: trial_conversion_rate, grace_days: 8}",
    "trial_7": "{type: trial_conversion_rate, trial_days: 7}",
    "pro_trials": "{type: trial_conversion_rate, filter: \"plan = 'pro'\"}",
}
TRIAL_SOURCES = """
subscriptions: {path: subs.csv}
accounts: {path: accounts.csv}
"""


@pytest.fixture
def trial_spec(make_spec):
    return make_spec(
        spec_yaml(TRIAL_SOURCES, TRIAL_METRICS, "dimensions:\n  plan: plan"),
        {"subs.csv": TRIAL_SUBS, "accounts.csv": TRIAL_ACCOUNTS},
    )


@ENGINES
def test_trial_conversion_rate_by_hand(trial_spec, engine):
    f = values(trial_spec, start="2026-01", end="2026-05", engine=engine)
    check(
        f,
        "2026-01",
        {
            "trial_conversion_rate": 2 / 3,  # t1, t2 converted; t3 paid a day too late
            "grace_8": 3 / 3,  # with 8 grace days t3's Jan 27 is in time
            # 7-day default: t2 ends Jan 17, in time until Jan 24; it paid on Jan 31
            "trial_7": 1 / 3,
            "pro_trials": 2 / 2,  # t1, t2 (t3 is basic)
        },
    )
    check(
        f,
        "2026-02",
        {
            # t4 converted during its trial; t5 never paid; t7's old revenue does not count
            "trial_conversion_rate": 1 / 3,
            "grace_8": 1 / 3,
            "trial_7": 1 / 3,  # t5 ends Feb 1 with 7 days: still February
            "pro_trials": 1 / 1,  # t4
        },
    )
    check(f, "2026-03", {"trial_conversion_rate": 0 / 1, "pro_trials": 0 / 1})  # t8: free plan
    check(f, "2026-04", {"trial_conversion_rate": 0 / 1})  # t10
    check(f, "2026-05", {"trial_conversion_rate": None})
    assert note(f, "trial_conversion_rate", "2026-05") == "no trial ended in the period"
    jan = f.filter((pl.col("metric") == "trial_conversion_rate") & (pl.col("period") == "2026-01"))
    assert jan["previous"][0] == pytest.approx(1 / 1)  # December: t6
    assert jan["unit"][0] == "ratio"


@ENGINES
def test_trial_conversion_rate_by_plan_and_by_account(trial_spec, engine):
    f = values(trial_spec, ["trial_conversion_rate"], period="2026-01", by=["plan"], engine=engine)
    check(f, "2026-01", {"trial_conversion_rate": 2 / 2}, plan="pro")  # t1, t2
    check(f, "2026-01", {"trial_conversion_rate": 0 / 1}, plan="basic")  # t3
    g = values(
        trial_spec, ["trial_conversion_rate"], period="2026-02", by=["account"], engine=engine
    )
    check(g, "2026-02", {"trial_conversion_rate": 1.0}, account="t4")
    check(g, "2026-02", {"trial_conversion_rate": 0.0}, account="t5")
    check(g, "2026-02", {"trial_conversion_rate": 0.0}, account="t7")
    valued = g.filter(pl.col("value").is_not_null())
    assert sorted(valued["account"].to_list()) == ["t4", "t5", "t7"]
    # the other paying customers get a row too (per account, every customer has one), null
    # with the reason: no trial of theirs ended in February
    assert set(g.filter(pl.col("value").is_null())["note"]) <= {"no trial ended in the period"}


@ENGINES
def test_a_fully_credited_month_does_not_convert(make_spec, engine):
    # invoices: u1's first month is charged 100 and credited -100 (MRR nets to 0) during
    # its trial and grace days; it pays from Feb 10, after the grace days -> not converted.
    # u2 is charged 100 with a 40 credit: MRR 60 > 0 -> converted.
    spec = make_spec(
        spec_yaml(
            "invoices: {path: inv.csv}\naccounts: {path: accounts.csv}",
            {"trial_conversion_rate": "{type: trial_conversion_rate}"},
        ),
        {
            "inv.csv": """
                account_id,period_start,period_end,amount
                u1,2026-01-10,2026-02-10,100
                u1,2026-01-10,2026-02-10,-100
                u1,2026-02-10,2026-03-10,100
                u2,2026-01-10,2026-02-10,100
                u2,2026-01-10,2026-02-10,-40
            """,
            "accounts.csv": """
                account_id,trial_start,trial_end
                u1,2026-01-01,2026-01-15
                u2,2026-01-01,2026-01-15
            """,
        },
    )
    f = values(spec, period="2026-01", engine=engine)
    check(f, "2026-01", {"trial_conversion_rate": 1 / 2})


@ENGINES
def test_trial_end_column_absent_uses_trial_days(make_spec, engine):
    # no trial_end column: every trial is trial_start + 14 days (Jan 5 -> Jan 19)
    spec = make_spec(
        spec_yaml(TRIAL_SOURCES, {"trial_conversion_rate": "{type: trial_conversion_rate}"}),
        {
            "subs.csv": "account_id,start_date,end_date,amount\nv1,2026-01-26,,10\n"
            "v2,2026-01-27,,10\n",
            "accounts.csv": "account_id,trial_start\nv1,2026-01-05\nv2,2026-01-05\n",
        },
    )
    f = values(spec, period="2026-01", engine=engine)
    check(f, "2026-01", {"trial_conversion_rate": 1 / 2})  # v1 Jan 26 = 19 + 7; v2 too late


@ENGINES
def test_trial_conversion_rate_unavailable(make_spec, engine):
    metrics = {"trial_conversion_rate": "{type: trial_conversion_rate}"}
    no_column = make_spec(
        spec_yaml(TRIAL_SOURCES, metrics),
        {"subs.csv": TRIAL_SUBS, "accounts.csv": "account_id,plan\nt1,pro\n"},
    )
    f = values(no_column, period="2026-01", engine=engine)
    assert value(f, "trial_conversion_rate", "2026-01") is None
    assert "needs column trial_start in the accounts source" in note(
        f, "trial_conversion_rate", "2026-01"
    )
    no_billing = make_spec(
        spec_yaml("accounts: {path: accounts.csv}", metrics), {"accounts.csv": TRIAL_ACCOUNTS}
    )
    f = values(no_billing, period="2026-01", engine=engine)
    assert "subscriptions or invoices" in note(f, "trial_conversion_rate", "2026-01")
    no_accounts = make_spec(
        spec_yaml("subscriptions: {path: subs.csv}", metrics), {"subs.csv": TRIAL_SUBS}
    )
    f = values(no_accounts, period="2026-01", engine=engine)
    assert "needs the accounts source" in note(f, "trial_conversion_rate", "2026-01")


@pytest.mark.parametrize("fixture", ["cac_spec", "trial_spec"])
def test_engines_agree(fixture, request):
    from polars.testing import assert_frame_equal

    spec = request.getfixturevalue(fixture)
    a = values(spec, start="2025-12", end="2026-04", engine="polars")
    b = values(spec, start="2025-12", end="2026-04", engine="duckdb")
    assert_frame_equal(a, b)
