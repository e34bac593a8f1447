"""Usage metrics (METRICS.md "Usage", "Per account, per dimension, over time").

One small fixture of product events, written out below, with every expected value given as
the arithmetic that produces it. Calendar facts used throughout:
January 2026 has 31 days and 3 whole ISO weeks (Mondays 5, 12, 19; the week of the 26th
ends on 1 February); February has 28 days and 3 (Mondays 2, 9, 16); March has 31 days
and 4 (Mondays 2, 9, 16, 23; 1 March is a Sunday, 30-31 March start a week that ends in
April).

Accounts (plan, signup, subscription):
  A pro   signup 2026-01-10  pays from 2026-01-10   users u1, u2
  B basic signup 2026-03-05  pays from 2026-03-05   user u1 (another person than A's u1)
  C pro   signup 2026-03-20  pays from 2026-03-20   events without a user_id
  D basic signup 2026-02-15  no subscription        user d1
  E basic signup 2026-03-25  pays from 2026-03-25   no events

March, per user, the distinct active days (and their whole ISO week):
  A/u1  Mar 1 (Sunday: week of Feb 23, not whole), Mar 10 (week Mar 9), Mar 31 (not whole)
  A/u2  Mar 10 (week Mar 9)
  B/u1  Mar 5, Mar 6 (week Mar 2), Mar 12 (week Mar 9)
  D/d1  Mar 1 (not whole), Mar 15 (Sunday: week Mar 9), Mar 31 (not whole)
C is active on Mar 18 and Mar 21, with no user.
"""

from __future__ import annotations

import math
from datetime import datetime

import polars as pl
import pytest
from conftest import ENGINES, value, values
from polars.testing import assert_frame_equal

from cs_metrics.api import compute_metrics

ACCOUNTS = """
    account_id,signup_date,plan
    A,2026-01-10,pro
    B,2026-03-05,basic
    C,2026-03-20,pro
    D,2026-02-15,basic
    E,2026-03-25,basic
"""

SUBSCRIPTIONS = """
    account_id,start_date,amount
    A,2026-01-10,100
    B,2026-03-05,50
    C,2026-03-20,80
    E,2026-03-25,30
"""

# Timestamps as text: naive ones as written, "Z" ones in UTC (the source's default zone).
USAGE = """
    account_id,user_id,timestamp,event
    A,u1,2026-02-28T23:59:59Z,login
    A,u1,2026-03-01 00:00:00,login
    A,u1,2026-03-01 10:00:00,dashboard_viewed
    A,u1,2026-03-10T12:00:00Z,report_sent
    A,u1,2026-03-31T23:59:59Z,login
    A,u2,2026-03-10 09:00:00,export_csv
    A,u2,2026-04-01 00:00:00,login
    B,u1,2026-03-05 08:00:00,login
    B,u1,2026-03-06 08:00:00,login
    B,u1,2026-03-12 08:00:00,report_sent
    C,,2026-03-18 10:00:00,report_sent
    C,,2026-03-21 10:00:00,login
    D,d1,2026-03-01T00:00:00Z,login
    D,d1,2026-03-15 11:00:00,export_csv
    D,d1,2026-03-31 23:59:59,login
"""

ACTIVITY = ["active_users", "active_accounts", "dau", "wau", "stickiness", "active_days_per_user"]
METRICS = {
    **{m: f"{{type: {m}}}" for m in ACTIVITY},
    "adoption": "{type: feature_adoption, features: [export_csv, invite_sent]}",
    "adoption_customers": (
        "{type: feature_adoption, features: [export_csv, invite_sent], of: customers}"
    ),
    "ttv": "{type: time_to_value_days, event: report_sent}",
    "completion": "{type: workflow_completion_rate, event: report_sent, within_days: 7}",
    "completion_6": "{type: workflow_completion_rate, event: report_sent, within_days: 6}",
    "completion_default": "{type: workflow_completion_rate, event: report_sent}",
}


def spec_yaml(
    metrics: dict[str, str] | None = None,
    *,
    usage: str = "{path: usage.csv}",
    accounts: bool = True,
    subscriptions: bool = True,
) -> str:
    lines = ["version: 1", "currency: USD", "sources:", f"  usage: {usage}"]
    if accounts:
        lines.append("  accounts: {path: accounts.csv}")
    if subscriptions:
        lines.append("  subscriptions: {path: subscriptions.csv}")
    if accounts:
        lines.append("dimensions: {plan: plan}")
    lines.append("metrics:")
    lines += [f"  {name}: {d}" for name, d in (metrics or METRICS).items()]
    return "\n".join(lines) + "\n"


FILES = {"accounts.csv": ACCOUNTS, "subscriptions.csv": SUBSCRIPTIONS, "usage.csv": USAGE}


def check(frame: pl.DataFrame, period: str, expected: dict[str, float | None], **dims: str):
    """Assert each metric's value in period; None means null (never NaN, never inf)."""
    for metric, want in expected.items():
        got = value(frame, metric, period, **dims)
        if want is None:
            assert got is None, f"{metric} {period} {dims}: expected null, got {got}"
        else:
            assert got is not None, f"{metric} {period} {dims}: expected {want}, got null"
            assert math.isfinite(got), f"{metric} {period} {dims}: {got}"
            assert got == pytest.approx(want, rel=1e-9, abs=1e-9), (
                f"{metric} {period} {dims}: expected {want}, got {got}"
            )


def note(frame: pl.DataFrame, metric: str, period: str, **dims: str) -> str | None:
    f = frame.filter((pl.col("metric") == metric) & (pl.col("period") == period))
    for k, v in dims.items():
        f = f.filter(pl.col(k) == v)
    assert f.height == 1
    return f["note"][0]


@pytest.fixture
def spec(make_spec):
    return make_spec(spec_yaml(), FILES)


@ENGINES
def test_march(spec, engine):
    f = values(spec, engine=engine, period="2026-03")
    check(
        f,
        "2026-03",
        {
            # A, B, C, D (C only has events without a user; E has none)
            "active_accounts": 4,
            # (A,u1), (A,u2), (B,u1), (D,d1): B's u1 is not A's u1; C's events have no user
            "active_users": 4,
            # user-days 3 (A/u1) + 1 (A/u2) + 3 (B/u1) + 3 (D/d1) = 10 over 31 days
            "dau": 10 / 31,
            # (user, whole week) pairs: A/u1 1 + A/u2 1 + B/u1 2 + D/d1 1 = 5 over 4 weeks
            "wau": 5 / 4,
            "stickiness": (10 / 31) / 4,
            "active_days_per_user": 10 / 4,
            # export_csv by A and D, of the 4 active accounts
            "adoption": 2 / 4,
            # customers at Mar 31: A, B, C, E; of those only A used it (D is no customer)
            "adoption_customers": 1 / 4,
            # signed up in March: B (report Mar 12: 7 days), C (report Mar 18, before its
            # signup Mar 20: 0 days), E (never): median of 7 and 0
            "ttv": (7 + 0) / 2,
            # within 7 days: B (7) and C (0), not E
            "completion": 2 / 3,
            # within 6 days: only C
            "completion_6": 1 / 3,
            # within 14 days (the default): B and C
            "completion_default": 2 / 3,
        },
    )
    # the previous period (February) is computed too
    rows = f.filter(pl.col("metric") == "active_users")
    assert rows["previous"][0] == 1  # A/u1 on Feb 28 (23:59:59Z)


@ENGINES
def test_series_with_an_empty_period(spec, engine):
    f = values(spec, engine=engine, start="2026-01", end="2026-02")
    check(
        f,
        "2026-01",
        {
            "active_accounts": 0,
            "active_users": 0,
            "dau": 0,  # no events: every day counts as 0
            "wau": 0 / 3,
            "stickiness": None,
            "active_days_per_user": None,
            "adoption": None,  # no active accounts
            "adoption_customers": 0 / 1,  # A pays from Jan 10, no feature used
            "ttv": 59,  # A: signup Jan 10, first report Mar 10 = 21 + 28 + 10 days
            "completion": 0 / 1,  # 59 > 7
        },
    )
    assert note(f, "stickiness", "2026-01") == "no active users in the period"
    assert note(f, "active_days_per_user", "2026-01") == "no active users in the period"
    assert note(f, "adoption", "2026-01") == "no active accounts in the period"
    assert note(f, "dau", "2026-01") is None
    check(
        f,
        "2026-02",
        {
            "active_accounts": 1,  # A (Feb 28 23:59:59Z: the last day)
            "active_users": 1,
            "dau": 1 / 28,
            "wau": 0 / 3,  # Feb 28 is in the week of Feb 23, which ends in March
            "stickiness": (1 / 28) / 1,
            "active_days_per_user": 1,
            "adoption": 0 / 1,
            "adoption_customers": 0 / 1,  # A; D has no subscription
            "ttv": None,  # D signed up in February and never sent a report
            "completion": 0 / 1,
        },
    )
    assert note(f, "ttv", "2026-02") == (
        "no account that signed up in the period has done 'report_sent'"
    )


@ENGINES
def test_period_without_signups(spec, engine):
    # April: only A/u2 on Apr 1 at 00:00:00; nobody signed up
    f = values(spec, engine=engine, period="2026-04")
    check(
        f,
        "2026-04",
        {
            "active_users": 1,
            "dau": 1 / 30,
            "wau": 0 / 3,  # whole weeks: Mondays Apr 6, 13, 20
            "ttv": None,
            "completion": None,
        },
    )
    assert note(f, "ttv", "2026-04") == "no account signed up in the period"
    assert note(f, "completion", "2026-04") == "no account signed up in the period"


@ENGINES
def test_events_before_signup_warn(spec, engine):
    result = compute_metrics(spec, ["ttv", "completion"], period="2026-03", engine=engine)
    warnings = [w for w in result.warnings if "before their signup_date" in w]
    assert warnings == [
        "accounts that signed up in the computed periods and did 'report_sent' before their "
        "signup_date: 1 (their time to value counts as 0 days)"
    ]


@ENGINES
def test_by_account(spec, engine):
    f = values(spec, engine=engine, period="2026-03", by=["account"])
    check(
        f,
        "2026-03",
        {
            "active_accounts": 1,
            "active_users": 2,
            "dau": (3 + 1) / 31,
            "wau": (1 + 1) / 4,
            "stickiness": (4 / 31) / 2,
            "active_days_per_user": (3 + 1) / 2,
            "adoption": 1,
            "adoption_customers": 1,
        },
        account="A",
    )
    check(
        f,
        "2026-03",
        {
            "active_users": 1,
            "dau": 3 / 31,
            "wau": 2 / 4,
            "stickiness": 3 / 31,
            "adoption": 0,
            "adoption_customers": 0,
            "ttv": 7,
            "completion": 1,
            "completion_6": 0,
        },
        account="B",
    )
    # C: active, but without users
    check(
        f,
        "2026-03",
        {
            "active_accounts": 1,
            "active_users": 0,
            "dau": 0,
            "wau": 0,
            "stickiness": None,
            "active_days_per_user": None,
            "adoption": 0,
            "ttv": 0,
            "completion": 1,
        },
        account="C",
    )
    # D: active and uses the feature, but is no customer
    check(f, "2026-03", {"active_accounts": 1, "dau": 3 / 31, "adoption": 1}, account="D")
    # ... so among customers it has no value (every account has a row: issue 11.8) ...
    check(f, "2026-03", {"adoption_customers": None}, account="D")
    # ... and no row at all with --drop-empty
    short = values(spec, engine=engine, period="2026-03", by=["account"], drop_empty=True)
    assert short.filter(
        (pl.col("account") == "D") & (pl.col("metric") == "adoption_customers")
    ).is_empty()
    # E: a paying customer without events: counts of nothing are 0 (not missing), ratios
    # over nothing and medians stay null
    check(
        f,
        "2026-03",
        {
            "adoption_customers": 0,
            "ttv": None,
            "completion": 0,
            "active_users": 0,
            "active_accounts": 0,
            "dau": 0,
            "stickiness": None,
            "active_days_per_user": None,
        },
        account="E",
    )


@ENGINES
def test_by_plan(spec, engine):
    f = values(spec, engine=engine, period="2026-03", by=["plan"])
    check(
        f,
        "2026-03",
        {
            "active_accounts": 2,  # A, C
            "active_users": 2,  # A/u1, A/u2
            "dau": 4 / 31,
            "wau": (1 + 1) / 4,
            "stickiness": (4 / 31) / 2,
            "active_days_per_user": 4 / 2,
            "adoption": 1 / 2,  # A of A, C
            "adoption_customers": 1 / 2,  # A of A, C
            "ttv": 0,  # C
            "completion": 1 / 1,
        },
        plan="pro",
    )
    check(
        f,
        "2026-03",
        {
            "active_accounts": 2,  # B, D
            "active_users": 2,  # B/u1, D/d1
            "dau": (3 + 3) / 31,
            "wau": (2 + 1) / 4,
            "stickiness": (6 / 31) / 2,
            "active_days_per_user": 6 / 2,
            "adoption": 1 / 2,  # D of B, D
            "adoption_customers": 0 / 2,  # B, E are the basic customers; neither used it
            "ttv": 7,  # B (E never)
            "completion": 1 / 2,  # B of B, E
        },
        plan="basic",
    )


@ENGINES
def test_filters(make_spec, engine):
    metrics = {
        "login_users": "{type: active_users, filter: \"event = 'login'\"}",
        "login_accounts": "{type: active_accounts, filter: \"event = 'login'\"}",
        "login_dau": "{type: dau, filter: \"event = 'login'\"}",
        # a filter on account attributes also restricts the signup cohort and the customers
        "pro_completion": (
            "{type: workflow_completion_rate, event: report_sent, filter: \"plan = 'pro'\"}"
        ),
        "pro_adoption": (
            "{type: feature_adoption, features: [export_csv], of: customers, "
            "filter: \"plan = 'pro'\"}"
        ),
    }
    spec = make_spec(spec_yaml(metrics), FILES)
    f = values(spec, engine=engine, period="2026-03")
    check(
        f,
        "2026-03",
        {
            # logins in March: A/u1 (Mar 1, 31), B/u1 (Mar 5, 6), C (Mar 21, no user), D/d1 (1, 31)
            "login_users": 3,
            "login_accounts": 4,
            "login_dau": (2 + 2 + 2) / 31,
            "pro_completion": 1 / 1,  # March's pro signups: C (report before signup: 0 days)
            "pro_adoption": 1 / 2,  # pro customers A, C; A used export_csv
        },
    )


@ENGINES
@pytest.mark.parametrize("tz", [None, "UTC"])
def test_parquet_datetime_column(make_spec, tmp_path, engine, tz):
    """A real Datetime column (naive, or UTC-aware): days are counted in UTC."""
    events = pl.DataFrame(
        {
            "account": ["A", "A", "A", "A", "B", "B"],
            "person": ["u1", "u1", "u1", "u2", "u1", None],
            "ts": [
                datetime(2026, 2, 28, 23, 59, 59, 999999),  # February
                datetime(2026, 3, 1, 0, 0, 0),  # first instant of March
                datetime(2026, 3, 31, 23, 59, 59, 999999),  # last instant of March
                datetime(2026, 4, 1, 0, 0, 0),  # April
                datetime(2026, 3, 31, 23, 59, 59),
                datetime(2026, 3, 15, 12, 0, 0),  # no user: counts for B, not for users
            ],
            "name": ["login", "login", "export_csv", "login", "login", "login"],
        },
        schema_overrides={"ts": pl.Datetime("us", time_zone=tz)},
    )
    events.write_parquet(tmp_path / "events.parquet")
    yaml = spec_yaml(
        {m: f"{{type: {m}}}" for m in ACTIVITY},
        usage="{path: events.parquet, columns: {account_id: account, user_id: person, "
        "timestamp: ts, event: name}}",
        accounts=False,
        subscriptions=False,
    )
    spec = make_spec(yaml)
    f = values(spec, engine=engine, period="2026-03")
    check(
        f,
        "2026-03",
        {
            "active_accounts": 2,
            "active_users": 2,  # A/u1 (Mar 1, Mar 31), B/u1 (Mar 31)
            "dau": (2 + 1) / 31,
            "wau": 0 / 4,  # Mar 1 and Mar 31 lie in no whole week of March
            "stickiness": (3 / 31) / 2,
            "active_days_per_user": 3 / 2,
        },
    )
    prev = f.filter(pl.col("metric") == "active_users")["previous"][0]
    assert prev == 1  # A/u1 on Feb 28 at 23:59:59.999999


@ENGINES
def test_source_timezone_moves_utc_events_across_days(make_spec, engine):
    # with timezone America/New_York (UTC-5 until 8 March, then UTC-4), "Z" timestamps are
    # converted before days are counted; naive ones are already local
    yaml = spec_yaml(
        {m: f"{{type: {m}}}" for m in ("active_users", "dau")},
        usage="{path: usage.csv, options: {timezone: America/New_York}}",
    )
    spec = make_spec(yaml, FILES)
    f = values(spec, engine=engine, period="2026-03")
    # D/d1's 2026-03-01T00:00:00Z is Feb 28, 19:00 local: March keeps D/d1's Mar 15 and
    # Mar 31 (naive); A/u1 keeps Mar 1 (naive), Mar 10 and Mar 31 (23:59:59Z = 19:59 local)
    check(f, "2026-03", {"active_users": 4, "dau": (3 + 1 + 3 + 2) / 31})
    prev = f.filter(pl.col("metric") == "active_users")["previous"][0]
    assert prev == 2  # A/u1 (Feb 28 23:59:59Z) and D/d1, both on Feb 28 local


@ENGINES
def test_week_and_range_periods(spec, engine):
    # ISO week 2026-W11 is Mar 9..15: A/u1 Mar 10, A/u2 Mar 10, B/u1 Mar 12, D/d1 Mar 15
    f = values(spec, ["wau", "dau", "active_users"], engine=engine, period="2026-W11")
    check(f, "2026-W11", {"wau": 4 / 1, "dau": 4 / 7, "active_users": 4})
    # a range without a whole ISO week: wau is null, and says why
    f = values(spec, ["wau", "dau"], engine=engine, period="2026-03-10..2026-03-12")
    check(f, "2026-03-10..2026-03-12", {"wau": None, "dau": (2 + 1) / 3})
    assert "no whole ISO week" in note(f, "wau", "2026-03-10..2026-03-12")


@ENGINES
def test_unavailable(make_spec, engine):
    """Missing columns, options or sources make a metric unavailable, not the run fail."""
    usage_no_users = "account_id,timestamp\nA,2026-03-02 10:00:00\n"
    metrics = {
        "active_accounts": "{type: active_accounts}",
        "active_users": "{type: active_users}",
        "adoption": "{type: feature_adoption, features: [x]}",
        "ttv": "{type: time_to_value_days, event: x}",
    }
    spec = make_spec(
        spec_yaml(metrics, accounts=False, subscriptions=False), {"usage.csv": usage_no_users}
    )
    result = compute_metrics(spec, period="2026-03", engine=engine)
    f = result.frame
    check(f, "2026-03", {"active_accounts": 1, "active_users": None, "adoption": None})
    assert "user_id" in note(f, "active_users", "2026-03")
    assert "event" in note(f, "adoption", "2026-03")
    assert "unavailable" in note(f, "ttv", "2026-03")
    assert any("ttv is unavailable" in w for w in result.warnings)


def test_engines_agree(spec):
    """polars and DuckDB give identical frames for every usage metric, by plan, over a series."""
    frames = [
        values(spec, engine=e, start="2026-01", end="2026-04", by=["plan"]).sort(
            "period", "plan", "metric", nulls_last=True
        )
        for e in ("polars", "duckdb")
    ]
    assert_frame_equal(frames[0], frames[1], check_exact=False, rel_tol=1e-9)
