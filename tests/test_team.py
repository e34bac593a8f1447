"""Team metrics (METRICS.md "Team"; sources activities, accounts, and billing for customers).

Every expected value is the arithmetic that produces it. Customers are the accounts with
MRR > 0 on the period's last day (Jan 31, Feb 28).
"""

from __future__ import annotations

import polars as pl
import pytest
from conftest import ENGINES, check, note, value, values

TEAM_TYPES = [
    "touchpoints",
    "touched_customers_rate",
    "days_since_last_touch",
    "onboarding_days",
    "customers_per_owner",
]


def spec_yaml(sources: str, metrics: dict[str, str], extra: str = "") -> str:
    lines = ["version: 1", "currency: USD", "sources:"]
    lines += ["  " + line for line in sources.strip().splitlines()]
    lines += extra.strip().splitlines() if extra else []
    lines.append("metrics:")
    lines += [f"  {name}: {definition}" for name, definition in metrics.items()]
    return "\n".join(lines) + "\n"


def rows_of(frame: pl.DataFrame, metric: str, period: str, **dims: str | None) -> pl.DataFrame:
    f = frame.filter((pl.col("metric") == metric) & (pl.col("period") == period))
    for k, v in dims.items():
        f = f.filter(pl.col(k).is_null() if v is None else pl.col(k) == v)
    return f


# Accounts (owner is the CSM; a5 has none; a6 never pays):
#   a1 Ann pro    signup 2025-12-01, onboarded 2026-01-11 (41 days)
#   a2 Ann basic  signup 2026-01-01, onboarded 2026-01-31 (30 days, the month's last day)
#   a3 Bob pro    signup 2026-01-10, onboarded 2026-02-01 (22 days, February)
#   a4 Bob basic  signup 2026-01-20, not onboarded
#   a5 --  pro    signup 2026-01-05, "onboarded" 2026-01-03: before signing up, left out
#   a6 Cy  basic  signup 2025-11-01, onboarded 2025-11-21 (November)
ACCOUNTS = """
    account_id,plan,owner,am,signup_date,onboarded_at
    a1,pro,Ann,X,2025-12-01,2026-01-11
    a2,basic,Ann,Y,2026-01-01,2026-01-31
    a3,pro,Bob,X,2026-01-10,2026-02-01
    a4,basic,Bob,X,2026-01-20,
    a5,pro,,X,2026-01-05,2026-01-03
    a6,basic,Cy,Y,2025-11-01,2025-11-21
"""
# MRR at month ends:  a1   a2   a3   a4   a5   customers
#   2025-12-31       100    0    0    0    0   a1
#   2026-01-31       100  200  300  400   50   a1 a2 a3 a4 a5
#   2026-02-28       100  200    0  400   50   a1 a2 a4 a5   (a3 ended Feb 15)
SUBS = """
    account_id,start_date,end_date,amount
    a1,2025-12-01,,100
    a2,2026-01-01,,200
    a3,2026-01-10,2026-02-15,300
    a4,2026-01-20,,400
    a5,2026-01-05,,50
"""
# a4 is never touched; a6 is touched but is not a customer; a1's Mar 2 call is after
# February's end and must not count as February's last touch.
ACTIVITIES = """
    account_id,occurred_at,type,owner
    a1,2025-12-20T10:00:00,call,Ann
    a1,2026-01-31T23:30:00,qbr,Ann
    a2,2026-01-01T00:10:00,email,Ann
    a2,2026-01-15T14:00:00,call,Ann
    a3,2026-02-01T09:00:00,call,Bob
    a5,2026-02-20T11:00:00,qbr,Dan
    a6,2026-01-10T16:00:00,call,Cy
    a1,2026-03-02T10:00:00,call,Ann
"""
SOURCES = """
subscriptions: {path: subs.csv}
accounts: {path: accounts.csv}
activities: {path: activities.csv}
"""
DIMS = """
dimensions:
  plan: plan
  csm: owner
"""
METRICS = {
    **{t: f"{{type: {t}}}" for t in TEAM_TYPES},
    "qbrs": "{type: touchpoints, filter: \"type = 'qbr'\"}",
    "qbr_coverage": "{type: touched_customers_rate, filter: \"type = 'qbr'\"}",
    "customers_per_am": "{type: customers_per_owner, owner_column: am}",
    "pro_customers_per_owner": "{type: customers_per_owner, filter: \"plan = 'pro'\"}",
}
FILES = {"subs.csv": SUBS, "accounts.csv": ACCOUNTS, "activities.csv": ACTIVITIES}


@pytest.fixture
def team_spec(make_spec):
    return make_spec(spec_yaml(SOURCES, METRICS, DIMS), FILES)


@ENGINES
def test_team_metrics_by_hand(team_spec, engine):
    f = values(team_spec, start="2026-01", end="2026-02", engine=engine)
    check(
        f,
        "2026-01",
        {
            # a1 Jan 31 23:30, a2 Jan 1 00:10, a2 Jan 15, a6 Jan 10
            "touchpoints": 4,
            "qbrs": 1,  # a1
            # customers a1..a5; touched in January: a1, a2 (a6 is not a customer)
            "touched_customers_rate": 2 / 5,
            "qbr_coverage": 1 / 5,
            # last touch by Jan 31: a1 Jan 31 -> 0, a2 Jan 15 -> 16; a3, a4, a5 none yet
            "days_since_last_touch": (0 + 16) / 2,  # median of 0 and 16
            "onboarding_days": (41 + 30) / 2,  # median of a1, a2 (a5 is left out)
            # customers with an owner: a1, a2 (Ann), a3, a4 (Bob); a5 has none
            "customers_per_owner": 4 / 2,
            "customers_per_am": 5 / 2,  # am X: a1 a3 a4 a5, Y: a2
            "pro_customers_per_owner": 2 / 2,  # pro: a1 (Ann), a3 (Bob); a5 has no owner
        },
    )
    check(
        f,
        "2026-02",
        {
            "touchpoints": 2,  # a3 Feb 1, a5 Feb 20 (a1's Mar 2 call is March's)
            "qbrs": 1,  # a5
            # customers a1, a2, a4, a5; touched in February: a5 (a3 is no longer a customer)
            "touched_customers_rate": 1 / 4,
            "qbr_coverage": 1 / 4,
            # by Feb 28: a1 Jan 31 -> 28, a2 Jan 15 -> 44, a5 Feb 20 -> 8; a4 never
            "days_since_last_touch": 28,  # median of 8, 28, 44
            "onboarding_days": 22,  # a3
            "customers_per_owner": 3 / 2,  # a1, a2 (Ann), a4 (Bob)
            "customers_per_am": 4 / 2,  # X: a1 a4 a5, Y: a2
            "pro_customers_per_owner": 1 / 1,  # pro: a1 (Ann), a5 (no owner)
        },
    )
    jan = f.filter(pl.col("period") == "2026-01")
    units = dict(zip(jan["metric"], jan["unit"], strict=True))
    assert units["touchpoints"] == "count"
    assert units["touched_customers_rate"] == "ratio"
    assert units["days_since_last_touch"] == "days"
    assert units["onboarding_days"] == "days"
    assert units["customers_per_owner"] == "number"
    # December: one touchpoint (a1 Dec 20); a1 touched 11 days before Dec 31
    assert rows_of(f, "touchpoints", "2026-01")["previous"][0] == 1
    assert rows_of(f, "days_since_last_touch", "2026-01")["previous"][0] == 31 - 20


@ENGINES
def test_onboarding_before_signup_is_left_out_with_a_warning(team_spec, engine):
    from cs_metrics.api import compute_metrics

    res = compute_metrics(team_spec, ["onboarding_days"], period="2026-01", engine=engine)
    assert any("onboarded before signing up" in w and "1 account" in w for w in res.warnings)


@ENGINES
def test_days_since_last_touch_by_account(team_spec, engine):
    f = values(
        team_spec, ["days_since_last_touch"], period="2026-02", by=["account"], engine=engine
    )
    # every account has a row (issue 11.8); a3 (ended Feb 15) and a6 (never paid) are no
    # customers at Feb 28, so they have no value; --drop-empty leaves them out
    assert sorted(f["account"].to_list()) == ["a1", "a2", "a3", "a4", "a5", "a6"]
    check(f, "2026-02", {"days_since_last_touch": None}, account="a3")
    check(f, "2026-02", {"days_since_last_touch": None}, account="a6")
    short = values(
        team_spec,
        ["days_since_last_touch"],
        period="2026-02",
        by=["account"],
        engine=engine,
        drop_empty=True,
    )
    assert sorted(short["account"].to_list()) == ["a1", "a2", "a4", "a5"]
    check(f, "2026-02", {"days_since_last_touch": 28 - 0}, account="a1")  # Jan 31 -> Feb 28
    check(f, "2026-02", {"days_since_last_touch": 31 - 15 + 28}, account="a2")  # Jan 15
    check(f, "2026-02", {"days_since_last_touch": 28 - 20}, account="a5")  # Feb 20
    check(f, "2026-02", {"days_since_last_touch": None}, account="a4")  # never touched
    assert "no activity" in note(f, "days_since_last_touch", "2026-02", account="a4")


@ENGINES
def test_team_metrics_by_plan_and_csm(team_spec, engine):
    metrics = ["days_since_last_touch", "touched_customers_rate", "customers_per_owner"]
    f = values(
        team_spec, [*metrics, "onboarding_days"], period="2026-02", by=["plan"], engine=engine
    )
    # pro customers at Feb 28: a1 (28 days), a5 (8 days); basic: a2 (44 days), a4 (never)
    check(
        f,
        "2026-02",
        {
            "days_since_last_touch": (28 + 8) / 2,
            "touched_customers_rate": 1 / 2,  # a5
            "customers_per_owner": 1 / 1,  # a1 (Ann); a5 has no owner
            "onboarding_days": 22,  # a3
        },
        plan="pro",
    )
    check(
        f,
        "2026-02",
        {
            "days_since_last_touch": 44,  # a4, never touched, is left out of the median
            "touched_customers_rate": 0 / 2,
            "customers_per_owner": 2 / 2,  # a2 (Ann), a4 (Bob)
        },
        plan="basic",
    )
    g = values(team_spec, metrics, period="2026-02", by=["csm"], engine=engine)
    check(
        g,
        "2026-02",
        {"days_since_last_touch": (28 + 44) / 2, "customers_per_owner": 2 / 1},
        csm="Ann",
    )
    check(g, "2026-02", {"days_since_last_touch": None, "customers_per_owner": 1}, csm="Bob")
    assert "no activity" in note(g, "days_since_last_touch", "2026-02", csm="Bob")
    # a5 has no owner: its group has a null csm
    nulls = rows_of(g, "days_since_last_touch", "2026-02", csm=None)
    assert nulls["value"].to_list() == [8.0]


@ENGINES
def test_existing_metrics_work_by_csm(team_spec, engine):
    metrics = ["mrr", "customer_churn_rate", "nrr", "touchpoints"]
    f = values(team_spec, metrics, start="2026-01", end="2026-02", by=["csm"], engine=engine)
    assert "csm" in f.columns
    # January: Ann a1 100 + a2 200; Bob a3 300 + a4 400; no owner: a5 50
    # at Dec 31 only a1 (Ann) paid: Ann churn 0 / 1, nrr 100 / 100; Bob has no base
    check(
        f,
        "2026-01",
        {"mrr": 100 + 200, "customer_churn_rate": 0 / 1, "nrr": 100 / 100, "touchpoints": 3},
        csm="Ann",  # a1 Jan 31, a2 Jan 1, a2 Jan 15
    )
    check(f, "2026-01", {"mrr": 300 + 400, "customer_churn_rate": None, "nrr": None}, csm="Bob")
    check(f, "2026-01", {"touchpoints": 1}, csm="Cy")  # a6
    # February: Bob's a3 (300) churned; a4 (400) stays
    check(
        f,
        "2026-02",
        {"mrr": 400, "customer_churn_rate": 1 / 2, "nrr": (700 - 300) / 700, "touchpoints": 1},
        csm="Bob",  # a3 Feb 1
    )
    check(
        f,
        "2026-02",
        {"mrr": 100 + 200, "customer_churn_rate": 0 / 2, "nrr": 300 / 300},
        csm="Ann",
    )
    assert rows_of(f, "touchpoints", "2026-02", csm="Ann").height == 0  # no Ann activity


@ENGINES
def test_zero_customers_and_no_onboarding_are_null_with_notes(team_spec, engine):
    f = values(team_spec, period="2025-10", engine=engine)
    check(
        f,
        "2025-10",
        {
            "touchpoints": 0,
            "touched_customers_rate": None,
            "days_since_last_touch": None,
            "onboarding_days": None,
            "customers_per_owner": None,
        },
    )
    assert note(f, "touched_customers_rate", "2025-10") == "no customers at the end of the period"
    assert note(f, "days_since_last_touch", "2025-10") == "no customers at the end of the period"
    assert "no account was onboarded" in note(f, "onboarding_days", "2025-10")
    assert "has an owner" in note(f, "customers_per_owner", "2025-10")


@ENGINES
def test_team_metrics_unavailable(make_spec, engine):
    metrics = {t: f"{{type: {t}}}" for t in TEAM_TYPES}
    metrics["customers_per_csm"] = "{type: customers_per_owner, owner_column: csm}"
    spec = make_spec(
        spec_yaml("subscriptions: {path: subs.csv}\naccounts: {path: accounts.csv}", metrics),
        {"subs.csv": SUBS, "accounts.csv": "account_id,plan\na1,pro\n"},
    )
    f = values(spec, period="2026-01", engine=engine)
    for t in ("touchpoints", "touched_customers_rate", "days_since_last_touch"):
        assert value(f, t, "2026-01") is None
        assert "needs the activities source" in note(f, t, "2026-01")
    assert "needs column signup_date" in note(f, "onboarding_days", "2026-01")
    assert "no column 'owner'" in note(f, "customers_per_owner", "2026-01")
    assert "no column 'csm'" in note(f, "customers_per_csm", "2026-01")
    no_billing = make_spec(
        spec_yaml("activities: {path: activities.csv}", metrics),
        {"activities.csv": ACTIVITIES},
    )
    f = values(no_billing, period="2026-01", engine=engine)
    check(f, "2026-01", {"touchpoints": 4})
    for t in ("touched_customers_rate", "days_since_last_touch"):
        assert "subscriptions or invoices" in note(f, t, "2026-01")
    assert "needs the accounts source" in note(f, "onboarding_days", "2026-01")


def test_engines_agree(team_spec):
    from polars.testing import assert_frame_equal

    for by in ([], ["plan"], ["csm"], ["account"]):
        a = values(team_spec, start="2025-12", end="2026-03", by=by, engine="polars")
        b = values(team_spec, start="2025-12", end="2026-03", by=by, engine="duckdb")
        assert_frame_equal(a, b)
