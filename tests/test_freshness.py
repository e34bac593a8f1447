"""Issue 11.1: stale data is never a silent 0. Every command compares each source's last
date with the periods it computes, warns on stderr, and the report says so in its banner,
its manifest and its log line; `csm validate` prints each source's rows and date range."""

from __future__ import annotations

import json

import pytest
from conftest import write_spec
from helpers import invoke

# a Stripe-like subscription export and a Zendesk-like ticket export that both end in 2020
FILES = {
    "subscriptions.csv": """
        account_id,subscription_id,start_date,end_date,amount
        acme,sub_1,2019-01-01,2020-06-01,100
        bolt,sub_2,2019-03-01,,50
        """,
    "tickets.csv": """
        ticket_id,account_id,created_at
        t1,acme,2020-03-04 10:00:00
        t2,bolt,2020-11-04 10:00:00
        """,
}
SPEC = """
    sources:
      subscriptions: {path: subscriptions.csv}
      tickets: {path: tickets.csv}
    metrics:
      mrr: {type: mrr}
      tickets: {type: tickets}
    reports:
      monthly: {metrics: [mrr, tickets], formats: [md, html]}
    """
# subscriptions: latest start/end date max(2019-01-01, 2019-03-01, 2020-06-01) = 2020-06-01,
# one open-ended row (bolt); tickets: latest created_at 2020-11-04
SUBS_WARNING = "sources.subscriptions: the data ends 2020-06-01"
TICKETS_WARNING = "sources.tickets: the data ends 2020-11-04"


@pytest.fixture
def stale_spec(tmp_path):
    return write_spec(tmp_path, SPEC, FILES)


def test_compute_past_the_data_warns_per_source(stale_spec):
    result = invoke(
        ["compute", "--spec", stale_spec, "--period", "2026-11", "-f", "csv"],
        stdout="2026-11,mrr,50.0,USD",  # bolt's open-ended line carries on: flat MRR
        stderr=[
            SUBS_WARNING,
            "1 open-ended rows carry their MRR on",
            TICKETS_WARNING,
            "--as-of 2020-06-01",
            "as_of:",
        ],
    )
    assert "warning" not in result.stdout


def test_as_of_past_the_data_warns_too(stale_spec):
    invoke(
        ["compute", "tickets", "--spec", stale_spec, "--as-of", "2026-11-30", "-f", "csv"],
        stdout="2026-11,tickets,0,count",
        stderr=TICKETS_WARNING,
    )


def test_no_warning_when_the_periods_are_inside_the_data(stale_spec):
    result = invoke(["compute", "--spec", stale_spec, "--period", "2020-05", "-f", "csv"])
    assert "data ends" not in result.stderr


def test_a_source_is_stale_only_when_it_ends_before_the_last_period(stale_spec):
    # subscriptions end 2020-06-01, inside 2020-06: current there
    result = invoke(["compute", "--spec", stale_spec, "--period", "2020-06", "-f", "csv"])
    assert "data ends" not in result.stderr
    # in 2020-11 tickets (last 2020-11-04) are current, subscriptions (2020-06-01) are not
    result = invoke(
        ["compute", "--spec", stale_spec, "--period", "2020-11", "-f", "csv"], stderr=SUBS_WARNING
    )
    assert "sources.tickets" not in result.stderr
    # a series is judged by its last period: 2020-10 .. 2020-12 ends after both
    invoke(
        ["compute", "--spec", stale_spec, "--from", "2020-10", "--to", "2020-12", "-f", "csv"],
        stderr=[SUBS_WARNING, TICKETS_WARNING, "before 2020-12 starts"],
    )


@pytest.mark.parametrize("engine", ["polars", "duckdb"])
def test_health_alerts_cohorts_and_explain_warn(tmp_path, engine):
    spec = write_spec(
        tmp_path,
        SPEC
        + """
    health:
      components:
        support: {metric: tickets, weight: 1, scale: [5, 0]}
      bands: {red: 40, yellow: 70}
    alerts:
      - {name: quiet, when: "tickets = 0", severity: low}
    """,
        FILES,
    )
    base = ["--spec", spec, "--as-of", "2026-11-30", "--engine", engine]
    invoke(["health", *base, "-f", "csv"], stderr=[SUBS_WARNING, TICKETS_WARNING])
    invoke(["alerts", *base, "-f", "csv"], stderr=TICKETS_WARNING)
    invoke(["explain", "tickets", *base], stderr=TICKETS_WARNING)
    if engine == "polars":
        invoke(["cohorts", *base[:4], "-f", "csv"], stderr=SUBS_WARNING)


def test_report_banner_manifest_and_log_line(stale_spec, tmp_path):
    out = tmp_path / "out"
    result = invoke(
        ["report", "--spec", stale_spec, "--as-of", "2026-11-30", "--out-dir", out],
        stderr=[SUBS_WARNING, TICKETS_WARNING],
    )
    log = [line for line in result.stderr.splitlines() if "csm report" in line][-1]
    assert "status=ok" in log
    assert "stale=subscriptions:2020-06-01,tickets:2020-11-04" in log
    md = (out / "summary.md").read_text()
    assert "**stale data: subscriptions ends 2020-06-01, tickets ends 2020-11-04**" in md
    html = (out / "summary.html").read_text()
    assert "stale data: subscriptions ends 2020-06-01, tickets ends 2020-11-04" in html
    manifest = json.loads((out / ".csm-report.json").read_text())
    assert manifest["stale"] == {"subscriptions": "2020-06-01", "tickets": "2020-11-04"}


def test_report_of_current_data_has_no_stale_field(stale_spec, tmp_path):
    result = invoke(
        ["report", "--spec", stale_spec, "--period", "2020-05", "--out-dir", tmp_path / "o"]
    )
    assert "stale=" not in result.stderr
    assert "stale data" not in (tmp_path / "o" / "summary.md").read_text()


def test_validate_prints_rows_and_date_range_and_warns(stale_spec):
    invoke(
        ["validate", "--spec", stale_spec],
        stderr=[
            "subscriptions: 2 rows in 1 file(s), dates 2019-01-01 .. 2020-06-01 "
            "(start_date, end_date; 1 open-ended)",
            "tickets: 2 rows in 1 file(s), dates 2020-03-04 .. 2020-11-04 (created_at)",
            SUBS_WARNING,
            TICKETS_WARNING,
        ],
    )


def test_validate_of_current_data_does_not_warn(tmp_path):
    spec = write_spec(tmp_path, SPEC.rstrip() + "\n    as_of: 2020-05-31\n", FILES)
    result = invoke(["validate", "--spec", spec])
    assert "data ends" not in result.stderr


def test_accounts_are_checked_by_signup_date_only(tmp_path):
    files = {
        "accounts.csv": "account_id,signup_date\nacme,2019-01-01\nbolt,2019-02-01\n",
        "plain.csv": "account_id\nacme\n",
    }
    spec = write_spec(
        tmp_path,
        """
        sources:
          accounts: {path: accounts.csv}
        metrics:
          mrr: {type: mrr}
        """,
        files,
    )
    invoke(
        ["validate", "--spec", spec],
        stderr=["dates 2019-01-01 .. 2019-02-01 (signup_date)", "the data ends 2019-02-01"],
    )
    plain = tmp_path / "plain"
    plain.mkdir()
    spec = write_spec(
        plain,
        """
        sources:
          accounts: {path: ../plain.csv}
        metrics:
          mrr: {type: mrr}
        """,
    )
    result = invoke(["validate", "--spec", spec])
    assert "data ends" not in result.stderr  # no signup_date: not checked
    assert "accounts: 1 rows in 1 file(s)\n" in result.stderr
