"""Support metrics (METRICS.md "Support"): volume, first contact resolution, response and
resolution times, backlog.

One fixture of eight tickets over December 2025 - February 2026; every expected value is
written as the arithmetic that produces it, and every test runs on polars and DuckDB.
"""

from __future__ import annotations

import math

import polars as pl
import pytest
from conftest import ENGINES, check, value, values

from cs_metrics.api import compute_metrics


def spec_yaml(metrics: dict[str, str], sources: str, extra: str = "") -> str:
    lines = ["version: 1", "currency: USD", "sources:"]
    lines += ["  " + line for line in sources.strip().splitlines()]
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


def p90(xs: list[float]) -> float:
    """90th percentile with linear interpolation between closest ranks (index 0.9 x (n-1))."""
    xs = sorted(xs)
    pos = 0.9 * (len(xs) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (pos - lo) * (xs[hi] - xs[lo])


# ---- the main fixture ------------------------------------------------------------------
# line ticket account created              first response       resolved             contacts
#  2   t0     a3      2025-12-31 23:59:59  +1 h                 2026-01-05 23:59:59  3
#  3   t1     a1      2026-01-01 00:00:00  +2 h                 +24 h (Jan 2)        1
#  4   t2     a1      2026-01-10 08:00:00  +4 h                 +48 h (Jan 12)       2
#  5   t3     a2      2026-01-15 09:00:00  never                never                -
#  6   t4     a2      2026-01-20 10:00:00  +10 h                +6 h: before reply!  0
#  7   t5     a3      2026-01-31 23:59:59  +1 h (Feb 1)         +72 h (Feb 3)        1
#  8   t6     a1      2026-02-01 00:00:00  +3 h                 2026-02-28 00:00:00  -
#  9   t7     a3      2026-02-28 23:59:59  never                2026-03-01 00:00:00  1
TICKETS = """
    ticket_id,account_id,created_at,first_response_at,resolved_at,contacts
    t0,a3,2025-12-31 23:59:59,2026-01-01 00:59:59,2026-01-05 23:59:59,3
    t1,a1,2026-01-01 00:00:00,2026-01-01 02:00:00,2026-01-02 00:00:00,1
    t2,a1,2026-01-10 08:00:00,2026-01-10 12:00:00,2026-01-12 08:00:00,2
    t3,a2,2026-01-15 09:00:00,,,
    t4,a2,2026-01-20 10:00:00,2026-01-20 20:00:00,2026-01-20 16:00:00,0
    t5,a3,2026-01-31 23:59:59,2026-02-01 00:59:59,2026-02-03 23:59:59,1
    t6,a1,2026-02-01 00:00:00,2026-02-01 03:00:00,2026-02-28 00:00:00,
    t7,a3,2026-02-28 23:59:59,,2026-03-01 00:00:00,1
"""
# paying customers at month ends: Dec a1 a2; Jan a1 a2; Feb a1 (a2 ends Feb 1; a3 never pays)
SUBS = """
    account_id,start_date,end_date,amount
    a1,2025-12-01,,100
    a2,2025-12-01,2026-02-01,100
"""
ACCOUNTS = """
    account_id,plan
    a1,pro
    a2,basic
    a3,pro
"""
SOURCES = """
tickets: {path: tickets.csv}
subscriptions: {path: subs.csv}
accounts: {path: accounts.csv}
"""
DIMS = """
dimensions:
  plan: plan
"""
METRICS = {
    "tickets": "{type: tickets}",
    "tickets_per_customer": "{type: tickets_per_customer}",
    "fcr": "{type: first_contact_resolution_rate}",
    "fcr_all": "{type: first_contact_resolution_rate, denominator: all}",
    "frh": "{type: first_response_hours}",
    "frh_mean": "{type: first_response_hours, stat: mean}",
    "frh_p90": "{type: first_response_hours, stat: p90}",
    "rh": "{type: resolution_hours}",
    "rh_mean": "{type: resolution_hours, stat: mean}",
    "rh_p90": "{type: resolution_hours, stat: p90}",
    "open_tickets": "{type: open_tickets}",
    "pro_tickets_per_customer": "{type: tickets_per_customer, filter: \"plan = 'pro'\"}",
    "touched_tickets_per_customer": '{type: tickets_per_customer, filter: "contacts >= 1"}',
}
SECOND = 1 / 3600  # an hour's fraction
EXPECTED = {
    "2026-01": {
        # created in January: t1 (00:00:00 on the 1st) .. t5 (23:59:59 on the 31st)
        "tickets": 5,
        "tickets_per_customer": 5 / 2,
        # resolved in January: t0 (3 contacts), t1 (1), t2 (2), t4 (0)
        "fcr": 2 / 4,
        "fcr_all": 2 / 4,
        # answered tickets created in January: t1 2, t2 4, t4 10, t5 1 (t3 never answered)
        "frh": (2 + 4) / 2,
        "frh_mean": (2 + 4 + 10 + 1) / 4,
        "frh_p90": 4 + 0.7 * (10 - 4),  # sorted 1 2 4 10, index 0.9 x 3 = 2.7
        # resolved tickets created in January: t1 24, t2 48, t4 6, t5 72
        "rh": (24 + 48) / 2,
        "rh_mean": (24 + 48 + 6 + 72) / 4,
        "rh_p90": 48 + 0.7 * (72 - 48),
        # on Jan 31: t3 (never resolved) and t5 (created 23:59:59, resolved Feb 3)
        "open_tickets": 2,
        # pro = a1 + a3: t1, t2, t5 over pro customers (a1)
        "pro_tickets_per_customer": 3 / 1,
        # a ticket-column filter leaves the customers alone: t1, t2, t5 over a1, a2
        "touched_tickets_per_customer": 3 / 2,
    },
    "2026-02": {
        "tickets": 2,  # t6 (00:00:00 on the 1st), t7 (23:59:59 on the 28th)
        "tickets_per_customer": 2 / 1,
        # resolved in February: t5 (1 contact) and t6 (no contacts value)
        "fcr": 1 / 1,  # t6 left out
        "fcr_all": 1 / 2,  # t6 counted as not solved on first contact
        "frh": 3,  # t6 only; t7 never answered
        "frh_mean": 3,
        "frh_p90": 3,
        # t6: Feb 1 00:00 -> Feb 28 00:00 = 27 days; t7: one second
        "rh": (27 * 24 + SECOND) / 2,
        "rh_mean": (27 * 24 + SECOND) / 2,
        "rh_p90": SECOND + 0.9 * (27 * 24 - SECOND),
        # on Feb 28: t3 and t7 (resolved Mar 1); t6 was resolved on Feb 28 itself
        "open_tickets": 2,
    },
}


@pytest.fixture
def main_spec(make_spec):
    return make_spec(
        spec_yaml(METRICS, SOURCES, DIMS),
        {"tickets.csv": TICKETS, "subs.csv": SUBS, "accounts.csv": ACCOUNTS},
    )


@ENGINES
def test_every_support_metric_by_hand(main_spec, engine):
    f = values(main_spec, start="2026-01", end="2026-02", engine=engine)
    for period, expected in EXPECTED.items():
        check(f, period, expected)
    assert value(f, "frh_p90", "2026-01") == pytest.approx(p90([2, 4, 10, 1]))
    assert value(f, "rh_p90", "2026-02") == pytest.approx(p90([27 * 24, SECOND]))
    assert f.filter(pl.col("value").is_not_null())["value"].is_finite().all()


@ENGINES
def test_previous_period_units_and_direction(main_spec, engine):
    f = values(main_spec, start="2026-01", end="2026-02", engine=engine)
    # December: t0 only (created 23:59:59 on Dec 31), open on Dec 31; no ticket resolved
    assert row(f, "tickets", "2026-01")["previous"] == 1
    assert row(f, "tickets_per_customer", "2026-01")["previous"] == pytest.approx(1 / 2)
    assert row(f, "open_tickets", "2026-01")["previous"] == 1
    assert row(f, "frh", "2026-01")["previous"] == pytest.approx(1)
    assert row(f, "rh", "2026-01")["previous"] == pytest.approx(5 * 24)
    assert row(f, "fcr", "2026-01")["previous"] is None
    assert {row(f, m, "2026-01")["unit"] for m in ("frh", "rh_p90")} == {"hours"}
    assert row(f, "fcr", "2026-01")["unit"] == "ratio"
    assert row(f, "tickets", "2026-01")["unit"] == row(f, "open_tickets", "2026-01")["unit"]
    from cs_metrics.metrics.registry import load_all

    reg = load_all()
    for name in ("tickets", "open_tickets", "first_response_hours", "resolution_hours"):
        assert reg[name].higher_is_better is False
    assert reg["first_contact_resolution_rate"].higher_is_better is True


@ENGINES
def test_data_warnings(main_spec, engine):
    result = compute_metrics(main_spec, start="2026-01", end="2026-02", engine=engine)
    path = str(main_spec.base_dir / "tickets.csv")
    order = [w for w in result.warnings if "before its first response" in w]
    assert len(order) == 1, result.warnings  # one warning for frh, rh and their variants
    assert f"{path}:6" in order[0] and "1 ticket was resolved" in order[0]
    assert "frh" in order[0] and "rh_p90" in order[0]
    missing = [w for w in result.warnings if "without a contacts value" in w]
    assert len(missing) == 1 and "fcr: left out 1 resolved ticket" in missing[0]


@ENGINES
def test_by_account(main_spec, engine):
    names = ["tickets", "tickets_per_customer", "fcr", "frh", "rh", "open_tickets"]
    f = values(main_spec, names, period="2026-01", by=["account"], engine=engine)
    check(
        f,
        "2026-01",
        {"tickets": 2, "tickets_per_customer": 2 / 1, "fcr": 1 / 2, "frh": (2 + 4) / 2},
        account="a1",
    )
    check(
        f,
        "2026-01",
        {"tickets": 2, "fcr": 1 / 1, "frh": 10, "rh": 6, "open_tickets": 1},  # t3, t4
        account="a2",
    )
    # a3 pays nothing: tickets per customer is null, with the reason
    check(
        f,
        "2026-01",
        {"tickets": 1, "tickets_per_customer": None, "fcr": 0 / 1, "rh": 72, "open_tickets": 1},
        account="a3",
    )
    assert row(f, "tickets_per_customer", "2026-01", account="a3")["note"] == (
        "no customers at the end of the period"
    )
    # a1, a paying customer, has nothing open on Jan 31: 0 (a count of nothing)
    check(f, "2026-01", {"open_tickets": 0}, account="a1")


@ENGINES
def test_by_plan(main_spec, engine):
    names = ["tickets", "tickets_per_customer", "fcr", "rh_mean", "open_tickets"]
    f = values(main_spec, names, start="2026-01", end="2026-02", by=["plan"], engine=engine)
    # pro = a1 + a3, basic = a2
    check(
        f,
        "2026-01",
        {
            "tickets": 3,  # t1, t2, t5
            "tickets_per_customer": 3 / 1,  # customer a1
            "fcr": 1 / 3,  # t0, t1, t2 resolved in January
            "rh_mean": (24 + 48 + 72) / 3,
            "open_tickets": 1,  # t5
        },
        plan="pro",
    )
    check(
        f,
        "2026-01",
        {"tickets": 2, "tickets_per_customer": 2 / 1, "fcr": 1, "rh_mean": 6, "open_tickets": 1},
        plan="basic",
    )
    # February: basic (a2) has no customer and no ticket created, but t3 is still open
    check(f, "2026-02", {"tickets": 2, "tickets_per_customer": 2 / 1}, plan="pro")
    check(f, "2026-02", {"open_tickets": 1}, plan="basic")
    assert f.filter(
        (pl.col("period") == "2026-02")
        & (pl.col("plan") == "basic")
        & (pl.col("metric") == "tickets")
    ).is_empty()


@ENGINES
def test_periods_without_tickets(main_spec, engine):
    f = values(main_spec, period="2026-04", engine=engine)
    check(
        f,
        "2026-04",
        {
            "tickets": 0,
            "tickets_per_customer": 0 / 1,  # a1 still pays
            "fcr": None,
            "frh": None,
            "rh_p90": None,
            "open_tickets": 1,  # t3 is never resolved (t7 was resolved on Mar 1)
        },
    )
    assert row(f, "fcr", "2026-04")["note"] == "no tickets resolved in the period"
    assert row(f, "frh", "2026-04")["note"] == "no answered tickets created in the period"
    assert row(f, "rh", "2026-04")["note"] == "no resolved tickets created in the period"


@ENGINES
def test_optional_columns_missing_make_metrics_unavailable(make_spec, engine):
    spec = make_spec(
        spec_yaml(
            {
                "fcr": "{type: first_contact_resolution_rate}",
                "open": "{type: open_tickets}",
                "tickets": "{type: tickets}",
                "tpc": "{type: tickets_per_customer}",
            },
            "tickets: {path: tickets.csv}",
        ),
        {
            "tickets.csv": """
                ticket_id,account_id,created_at
                t1,a1,2026-01-05 10:00:00
            """
        },
    )
    result = compute_metrics(spec, period="2026-01", engine=engine)
    f = result.frame
    check(f, "2026-01", {"tickets": 1, "fcr": None, "open": None, "tpc": None})
    assert "needs column resolved_at" in row(f, "fcr", "2026-01")["note"]
    assert "needs column resolved_at" in row(f, "open", "2026-01")["note"]
    assert "subscriptions or invoices" in row(f, "tpc", "2026-01")["note"]
    with_resolved = make_spec(
        spec_yaml({"fcr": "{type: first_contact_resolution_rate}"}, "tickets: {path: t.csv}"),
        {"t.csv": "ticket_id,account_id,created_at,resolved_at\nt1,a1,2026-01-05,2026-01-06\n"},
    )
    r = row(values(with_resolved, period="2026-01", engine=engine), "fcr", "2026-01")
    assert r["value"] is None and "needs column contacts" in r["note"]


@ENGINES
def test_negative_durations_are_left_out_with_a_warning(make_spec, engine):
    spec = make_spec(
        spec_yaml(
            {
                "frh": "{type: first_response_hours}",
                "frh_mean": "{type: first_response_hours, stat: mean}",
            },
            "tickets: {path: tickets.csv}",
        ),
        {
            "tickets.csv": """
                ticket_id,account_id,created_at,first_response_at
                t1,a1,2026-01-05 10:00:00,2026-01-05 09:00:00
                t2,a1,2026-01-05 10:00:00,2026-01-05 13:00:00
            """
        },
    )
    result = compute_metrics(spec, period="2026-01", engine=engine)
    check(result.frame, "2026-01", {"frh": 3, "frh_mean": 3})  # t2 only
    warnings = [w for w in result.warnings if "left out" in w]
    assert len(warnings) == 1, result.warnings  # one warning naming both metrics
    assert warnings[0].startswith("frh, frh_mean: left out 1 ticket whose first_response_at")
    assert "tickets.csv:2" in warnings[0]


# ---- published worked examples ---------------------------------------------------------
@ENGINES
def test_published_sparrowdesk_fcr_example(make_spec, engine):
    # SparrowDesk, "First Contact Resolution (FCR)": "Out of 200 tickets, 120 were resolved
    # in the first interaction. FCR = (120 / 200) x 100 = 60 %". The denominator is the
    # tickets resolved in the period, as in Freshservice's "How do you calculate FCR%".
    lines = ["ticket_id,account_id,created_at,resolved_at,contacts"]
    for i in range(200):
        contacts = 1 if i < 120 else 2 + i % 3
        lines.append(f"t{i},a{i % 9},2026-01-{1 + i % 20:02d},2026-01-{2 + i % 20:02d},{contacts}")
    spec = make_spec(
        spec_yaml({"fcr": "{type: first_contact_resolution_rate}"}, "tickets: {path: t.csv}"),
        {"t.csv": "\n".join(lines) + "\n"},
    )
    check(values(spec, period="2026-01", engine=engine), "2026-01", {"fcr": 0.60})
