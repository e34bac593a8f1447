"""Issue 11, items 6 and 7: the owner is the csm dimension, and ticket durations keep
their fractions of a second. Through the CLI, on polars and DuckDB."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import invoke

ENGINES = pytest.mark.parametrize("engine", ["polars", "duckdb"])

# Customers at Feb 28: a1, a2, a4, a5 (a3 ended Feb 15). The owner is in `csm_name`:
# there is no column called owner at all.
ACCOUNTS = """\
account_id,plan,csm_name,am
a1,pro,Ann,X
a2,basic,Ann,Y
a3,pro,Bob,X
a4,basic,Bob,X
a5,pro,,X
"""
SUBS = """\
account_id,start_date,end_date,amount
a1,2025-12-01,,100
a2,2026-01-01,,200
a3,2026-01-10,2026-02-15,300
a4,2026-01-20,,400
a5,2026-01-05,,50
"""


def owner_spec(tmp_path: Path, csm: str | None, metric: str) -> Path:
    dims = f"dimensions:\n  csm: {csm}\n" if csm else ""
    text = (
        "version: 1\nas_of: 2026-02-28\nsources:\n  accounts: {path: accounts.csv}\n"
        f"  subscriptions: {{path: subs.csv}}\n{dims}metrics:\n  cpo: {metric}\n"
    )
    (tmp_path / "accounts.csv").write_text(ACCOUNTS)
    (tmp_path / "subs.csv").write_text(SUBS)
    path = tmp_path / "metrics.yaml"
    path.write_text(text)
    return path


@ENGINES
def test_customers_per_owner_reads_the_csm_dimension(tmp_path, engine):
    """It looked for a literal `owner` column and was unavailable. Customers with an owner
    at Feb 28: a1, a2 (Ann), a4 (Bob) = 3; owners Ann, Bob = 2; a5 has none: 3 / 2."""
    path = owner_spec(tmp_path, "csm_name", "{type: customers_per_owner}")
    invoke(
        ["compute", "cpo", "--period", "2026-02", "--spec", path, "--engine", engine],
        stdout="2026-02,cpo,1.5,",
    )


@ENGINES
def test_the_csm_dimension_may_be_an_expression(tmp_path, engine):
    """a5's missing owner becomes 'unassigned', a third owner: 4 customers / 3 owners."""
    path = owner_spec(
        tmp_path, "\"COALESCE(csm_name, 'unassigned')\"", "{type: customers_per_owner}"
    )
    result = invoke(["compute", "cpo", "--period", "2026-02", "--spec", path, "--engine", engine])
    assert f"2026-02,cpo,{4 / 3:.6f}" in result.stdout


@ENGINES
def test_owner_column_overrides_the_csm_dimension(tmp_path, engine):
    """am: a1, a4, a5 are X and a2 is Y: 4 customers / 2 owners."""
    path = owner_spec(tmp_path, "csm_name", "{type: customers_per_owner, owner_column: am}")
    invoke(
        ["compute", "cpo", "--period", "2026-02", "--spec", path, "--engine", engine],
        stdout="2026-02,cpo,2.0,",
    )


def test_without_a_csm_dimension_or_owner_column_it_says_how_to_declare_one(tmp_path):
    path = owner_spec(tmp_path, None, "{type: customers_per_owner}")
    invoke(
        ["compute", "cpo", "--period", "2026-02", "--spec", path],
        stderr=["no column 'owner'", "dimensions: {csm: <column>}"],
    )


# Tickets created in January 2026, first reply 1.5 s, 2.5 s and 3.25 s later, resolved
# 0.5 s, 1.5 s and 2.75 s after the first reply.
TICKETS = """\
ticket_id,account_id,created_at,first_response_at,resolved_at
t1,a1,2026-01-05T10:00:00,2026-01-05T10:00:01.500,2026-01-05T10:00:02
t2,a2,2026-01-06T10:00:00,2026-01-06T10:00:02.500,2026-01-06T10:00:04
t3,a1,2026-01-07T10:00:00,2026-01-07T10:00:03.250,2026-01-07T10:00:06
"""


@ENGINES
@pytest.mark.parametrize(
    ("metric", "seconds"),
    [
        # median of 1.5, 2.5, 3.25 s: total_seconds() made them 1, 2, 3 (median 2 s)
        ("{type: first_response_hours}", 2.5),
        ("{type: first_response_hours, stat: mean}", (1.5 + 2.5 + 3.25) / 3),
        # resolution: 2, 4, 6 s, whole seconds either way
        ("{type: resolution_hours}", 4.0),
    ],
    ids=["first-response-median", "first-response-mean", "resolution"],
)
def test_ticket_durations_keep_fractions_of_a_second(tmp_path, engine, metric, seconds):
    (tmp_path / "tickets.csv").write_text(TICKETS)
    path = tmp_path / "metrics.yaml"
    path.write_text(
        "version: 1\nas_of: 2026-01-31\nsources:\n  tickets: {path: tickets.csv}\n"
        f"metrics:\n  h: {metric}\n"
    )
    result = invoke(
        ["compute", "h", "--period", "2026-01", "--spec", path, "--engine", engine, "-f", "json"]
    )
    import json

    [row] = json.loads(result.stdout)
    assert row["value"] == pytest.approx(seconds / 3600, abs=1e-9)  # printed to 9 decimals
