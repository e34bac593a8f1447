"""Retention cohorts (cs_metrics.cohorts) and `csm cohorts`, with hand-computed fixtures.

MRR(a, d) is an account's MRR on day d (end dates exclusive, empty = ongoing). An account's
cohort is the month (quarter) of its first day with MRR > 0; at age k we count the cohort's
accounts with MRR > 0 on the last day of month cohort+k, while that month is complete.

The fixture (as_of 2026-04-30, so April is the last complete month):
  a1: 100 from 2026-01-05                                 cohort 2026-01
  a2: 200 2026-01-10 .. 2026-02-15, back at 250 from 04-01 cohort 2026-01 (reactivated)
  a3: 50 from 2026-02-01, 150 from 2026-03-01 (expansion)  cohort 2026-02
  a4: free trial (0) 01-20 .. 02-03, then 100 from 02-03   cohort 2026-02 (a trial is not MRR)
  a5: 80 2026-03-10 .. 2026-03-20 (gone within its month)  cohort 2026-03
  a6: 40 from 2026-03-01                                   cohort 2026-03
  a7: 60 from 2025-12-15                                   cohort 2025-12
  a8: 70 from 2026-05-01                                   cohort 2026-05 (not complete)
MRR at month ends:   a1   a2   a3   a4   a5   a6   a7
  2026-01-31        100  200    0    0    0    0   60
  2026-02-28        100    0   50  100    0    0   60
  2026-03-31        100    0  150  100    0   40   60
  2026-04-30        100  250  150  100    0   40   60
"""

from __future__ import annotations

import json
import tempfile
from datetime import date, timedelta
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from conftest import ENGINES, write_spec
from helpers import invoke
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from cs_metrics.cohorts import COLUMNS, cohort_frame, compute_cohorts
from cs_metrics.errors import SpecError, UsageError
from cs_metrics.spec import load_spec

SPEC = """\
version: 1
currency: USD
grain: month
as_of: 2026-04-30
sources:
  subscriptions: {path: subs.csv}
metrics:
  mrr: {type: mrr}
"""
SUBS = """\
    subscription_id,account_id,start_date,end_date,amount
    s1,a1,2026-01-05,,100
    s2,a2,2026-01-10,2026-02-15,200
    s3,a2,2026-04-01,,250
    s4,a3,2026-02-01,2026-03-01,50
    s5,a3,2026-03-01,,150
    s6,a4,2026-01-20,2026-02-03,0
    s7,a4,2026-02-03,,100
    s8,a5,2026-03-10,2026-03-20,80
    s9,a6,2026-03-01,,40
    s10,a7,2025-12-15,,60
    s11,a8,2026-05-01,,70
"""

# (cohort, age): (customers_start, customers, mrr_start, mrr)
EXPECTED_MONTHS = {
    # 2026-01 = {a1, a2}: start 2 accounts, 100 + 200 = 300 on their first days
    ("2026-01", 0): (2, 2, 300.0, 100 + 200),
    ("2026-01", 1): (2, 1, 300.0, 100),  # a2 left on Feb 15
    ("2026-01", 2): (2, 1, 300.0, 100),
    ("2026-01", 3): (2, 2, 300.0, 100 + 250),  # a2 is back: counts again, above 1 in revenue
    # 2026-02 = {a3, a4}: 50 (Feb 1) + 100 (Feb 3; the trial before was 0)
    ("2026-02", 0): (2, 2, 150.0, 50 + 100),
    ("2026-02", 1): (2, 2, 150.0, 150 + 100),  # a3 expanded
    ("2026-02", 2): (2, 2, 150.0, 150 + 100),
    # 2026-03 = {a5, a6}: 80 (Mar 10) + 40 (Mar 1); a5 is gone by Mar 31
    ("2026-03", 0): (2, 1, 120.0, 40),
    ("2026-03", 1): (2, 1, 120.0, 40),
    # weighted averages: sums over the cohorts that reached the age
    ("all", 0): (2 + 2 + 2, 2 + 2 + 1, 300 + 150 + 120, 300 + 150 + 40),
    ("all", 1): (2 + 2 + 2, 1 + 2 + 1, 300 + 150 + 120, 100 + 250 + 40),
    ("all", 2): (2 + 2, 1 + 2, 300 + 150, 100 + 250),
    ("all", 3): (2, 2, 300, 350),
}


def expected_frame(expected: dict) -> pl.DataFrame:
    rows = []
    for (cohort, age), (n0, n, m0, m) in expected.items():
        rows.append(
            {
                "cohort": cohort,
                "age": age,
                "customers_start": n0,
                "customers": n,
                "logo_retention": n / n0 if n0 else None,
                "mrr_start": float(m0),
                "mrr": float(m),
                "revenue_retention": m / m0 if m0 else None,
            }
        )
    return pl.DataFrame(
        rows,
        schema={
            "cohort": pl.String,
            "age": pl.Int64,
            "customers_start": pl.Int64,
            "customers": pl.Int64,
            "logo_retention": pl.Float64,
            "mrr_start": pl.Float64,
            "mrr": pl.Float64,
            "revenue_retention": pl.Float64,
        },
    )


@pytest.fixture
def spec_path(tmp_path: Path) -> Path:
    return write_spec(tmp_path, SPEC, {"subs.csv": SUBS})


@ENGINES
def test_monthly_triangle(spec_path, engine):
    frame = cohort_frame(load_spec(spec_path), start="2026-01", end="2026-03", engine=engine)
    assert frame.columns == list(COLUMNS)
    assert_frame_equal(frame, expected_frame(EXPECTED_MONTHS), abs_tol=1e-9)
    # spot checks of the arithmetic, written out
    one = frame.filter((pl.col("cohort") == "2026-01") & (pl.col("age") == 3)).row(0, named=True)
    assert one["logo_retention"] == 1.0  # a2 reactivated in April: 2 / 2
    assert one["revenue_retention"] == pytest.approx(350 / 300)  # above 1
    avg = frame.filter((pl.col("cohort") == "all") & (pl.col("age") == 1)).row(0, named=True)
    assert avg["logo_retention"] == pytest.approx((1 + 2 + 1) / (2 + 2 + 2))
    assert avg["revenue_retention"] == pytest.approx((100 + 250 + 40) / (300 + 150 + 120))


def test_default_range_skips_leading_empty_cohorts_and_keeps_later_ones(spec_path):
    """Default: the last 12 complete months (2025-05 .. 2026-04). The months before a7's
    2025-12 have no accounts and are left out; 2026-04 (no new account) stays, with null
    retention. a8's 2026-05 is not complete."""
    result = compute_cohorts(load_spec(spec_path))
    assert result.cohorts == ["2025-12", "2026-01", "2026-02", "2026-03", "2026-04"]
    f = result.frame
    assert f["cohort"].unique(maintain_order=True).to_list() == [*result.cohorts, "all"]
    a7 = f.filter(pl.col("cohort") == "2025-12")
    assert a7["age"].to_list() == [0, 1, 2, 3, 4]
    assert a7["customers"].to_list() == [1] * 5
    april = f.filter(pl.col("cohort") == "2026-04").row(0, named=True)
    assert (april["age"], april["customers_start"], april["customers"]) == (0, 0, 0)
    assert april["logo_retention"] is None and april["revenue_retention"] is None
    # 'all' at age 0 now also has a7 (1, 60) and the empty April cohort
    avg0 = f.filter((pl.col("cohort") == "all") & (pl.col("age") == 0)).row(0, named=True)
    assert avg0["customers_start"] == 1 + 6 + 0
    assert avg0["logo_retention"] == pytest.approx((1 + 5) / 7)
    assert avg0["mrr_start"] == pytest.approx(60 + 570)
    assert f.filter(pl.col("cohort") == "all")["age"].to_list() == [0, 1, 2, 3, 4]
    assert result.warnings == []


@ENGINES
def test_quarter_grain(spec_path, engine):
    """As of 2026-06-30, with quarters: 2026-Q1 = a1..a6, 2026-Q2 = a8.
    Q1 at 2026-03-31: a1 100, a3 150, a4 100, a6 40 (a2 and a5 gone) -> 4 of 6, 390 of 570.
    Q1 at 2026-06-30: a2 is back at 250 -> 5 of 6, 640 of 570.  Q2 at 06-30: a8 70 of 70."""
    frame = cohort_frame(
        load_spec(spec_path), grain="quarter", start="2026-Q1", as_of="2026-06-30", engine=engine
    )
    expected = {
        ("2026-Q1", 0): (6, 4, 570, 100 + 150 + 100 + 40),
        ("2026-Q1", 1): (6, 5, 570, 100 + 250 + 150 + 100 + 40),
        ("2026-Q2", 0): (1, 1, 70, 70),
        ("all", 0): (6 + 1, 4 + 1, 570 + 70, 390 + 70),
        ("all", 1): (6, 5, 570, 640),
    }
    assert_frame_equal(frame, expected_frame(expected), abs_tol=1e-9)


def test_engines_agree_on_default_range(spec_path):
    spec = load_spec(spec_path)
    assert_frame_equal(cohort_frame(spec), cohort_frame(spec, engine="duckdb"))


def test_fx_converts_to_the_reporting_currency(tmp_path):
    """b1 pays 100 EUR at 1.1 USD per EUR = 110 USD; b2 pays 50 USD."""
    spec = load_spec(
        write_spec(
            tmp_path,
            SPEC.replace(
                "subscriptions: {path: subs.csv}",
                "subscriptions: {path: subs.csv}\n  fx: {path: fx.csv}",
            ),
            {
                "subs.csv": """\
                    account_id,start_date,end_date,amount,currency
                    b1,2026-03-01,,100,EUR
                    b2,2026-03-02,2026-04-10,50,USD
                """,
                "fx.csv": "currency,rate\nEUR,1.1\n",
            },
        )
    )
    f = cohort_frame(spec, start="2026-03")
    rows = f.filter(pl.col("cohort") == "2026-03").sort("age").rows(named=True)
    assert rows[0]["mrr_start"] == pytest.approx(110 + 50)
    assert rows[1]["mrr"] == pytest.approx(110)  # b2 ended in April
    assert rows[1]["revenue_retention"] == pytest.approx(110 / 160)


def test_incomplete_cohorts_are_left_out_with_a_warning(spec_path):
    result = compute_cohorts(load_spec(spec_path), start="2026-03", end="2026-06")
    assert result.cohorts == ["2026-03", "2026-04"]
    assert result.warnings == [
        "cohort 2026-05 .. 2026-06 left out: not complete (the data is as of 2026-04-30)"
    ]


def test_errors(spec_path, tmp_path):
    spec = load_spec(spec_path)
    with pytest.raises(UsageError, match="cohorts are by month or quarter"):
        cohort_frame(spec, grain="week")
    with pytest.raises(UsageError, match="after --to 2026-01"):
        cohort_frame(spec, start="2026-03", end="2026-01")
    with pytest.raises(UsageError, match="no complete cohort period"):
        cohort_frame(spec, start="2026-06", end="2026-07")
    weekly = tmp_path / "weekly"
    weekly.mkdir()
    week_spec = load_spec(write_spec(weekly, SPEC.replace("grain: month", "grain: week")))
    with pytest.raises(UsageError, match=r"the spec's grain is 'week'.*pass --grain month"):
        cohort_frame(week_spec)
    no_billing = tmp_path / "other"
    no_billing.mkdir()
    bare = write_spec(
        no_billing,
        "version: 1\nsources:\n  tickets: {path: t.csv}\nmetrics:\n  m: {type: mrr}\n",
        {"t.csv": "ticket_id,account_id,created_at\nt1,a1,2026-01-02\n"},
    )
    with pytest.raises(SpecError, match="needs the subscriptions or invoices source"):
        cohort_frame(load_spec(bare), as_of="2026-04-30")


# ---- the command -----------------------------------------------------------------------
def test_cli_table(spec_path):
    r = invoke(
        ["cohorts", "--spec", spec_path, "--from", "2026-01", "--to", "2026-03", "-f", "table"],
        stdout=[
            "Logo retention by monthly cohort",
            "2026-01",
            "weighted avg",
            "50.0%",  # 2026-01 at age 1: 1 of 2
            "83.3%",  # all at age 0: 5 of 6
        ],
    )
    assert "\x1b[" not in r.stdout  # not a terminal: no colour
    invoke(
        ["cohorts", "--spec", spec_path, "--from", "2026-01", "-f", "table", "--basis", "revenue"],
        stdout=["Revenue retention", "116.7%", "start MRR", "$300"],  # 350 / 300
    )
    invoke(
        ["cohorts", "--spec", spec_path, "--from", "2026-01", "-f", "table", "--show", "count"],
        stdout=["customers still paying", "all cohorts"],
    )
    # a narrow terminal leaves the oldest ages out, and says so
    invoke(
        ["cohorts", "--spec", spec_path, "-f", "table"],
        env={"COLUMNS": "40"},
        stdout="Ages 2-4 not shown",
    )


def test_cli_csv_and_json(spec_path):
    r = invoke(["cohorts", "--spec", spec_path, "--from", "2026-01", "--to", "2026-03"])
    lines = r.stdout.splitlines()
    assert lines[0] == ",".join(COLUMNS)
    assert lines[1] == "2026-01,0,2,2,1.0,300.0,300.0,1.0"
    assert lines[-1].startswith("all,3,2,2,1.0,300.0,350.0,1.1666666")
    r = invoke(
        ["cohorts", "--spec", spec_path, "--from", "2026-01", "--to", "2026-03", "-f", "json"]
    )
    records = json.loads(r.stdout)
    assert list(records[0]) == list(COLUMNS)
    assert len(records) == len(EXPECTED_MONTHS)
    r = invoke(["cohorts", "--spec", spec_path, "--from", "2026-03", "-f", "ndjson"])
    assert json.loads(r.stdout.splitlines()[0])["cohort"] == "2026-03"
    r = invoke(["cohorts", "--spec", spec_path, "--from", "2026-03", "-f", "markdown"])
    assert r.stdout.startswith("| cohort | age |")


def test_cli_xlsx_and_parquet(spec_path, tmp_path):
    target = tmp_path / "c.xlsx"
    invoke(
        ["cohorts", "--spec", spec_path, "--from", "2026-01", "--to", "2026-03", "-o", target],
        stderr=f"wrote {target}",
    )
    wb = openpyxl.load_workbook(target)
    assert wb.sheetnames == ["cohorts", "logo retention", "revenue retention"]
    rows = list(wb["cohorts"].iter_rows(values_only=True))
    assert rows[0] == COLUMNS
    assert rows[1] == ("2026-01", 0, 2, 2, 1, 300, 300, 1)
    assert wb["cohorts"]["E2"].number_format == "0.0%"
    assert wb["cohorts"]["F2"].number_format == "$#,##0.00"
    tri = list(wb["logo retention"].iter_rows(values_only=True))
    assert tri[0] == ("cohort", "customers_start", "age 0", "age 1", "age 2", "age 3")
    assert tri[1] == ("2026-01", 2, 1, 0.5, 0.5, 1)
    assert tri[3] == ("2026-03", 2, 0.5, 0.5, None, None)
    assert tri[4][0] == "all"
    parquet = tmp_path / "c.parquet"
    invoke(["cohorts", "--spec", spec_path, "--from", "2026-01", "--to", "2026-03", "-o", parquet])
    assert_frame_equal(pl.read_parquet(parquet), expected_frame(EXPECTED_MONTHS), abs_tol=1e-9)


def test_xlsx_cohort_labels_are_text(spec_path, tmp_path):
    from cs_metrics.cohorts import Cohorts
    from cs_metrics.render.machine import write_cohorts

    frame = cohort_frame(load_spec(spec_path), start="2026-01", end="2026-03").with_columns(
        cohort=pl.col("cohort").replace("2026-01", "=1+1")
    )
    result = Cohorts(frame, "month", ["=1+1", "2026-02", "2026-03"], "USD", date(2026, 4, 30))
    write_cohorts(result, tmp_path / "c.xlsx", "xlsx")
    wb = openpyxl.load_workbook(tmp_path / "c.xlsx")
    for sheet in wb.worksheets:
        assert (sheet["A2"].value, sheet["A2"].data_type) == ("=1+1", "s"), sheet.title
    tri = wb["revenue retention"]
    assert tri.freeze_panes == "C2"
    assert tri["B2"].number_format == "$#,##0.00" and tri["C2"].number_format == "0.0%"
    (scale,) = tri.conditional_formatting
    assert str(scale.sqref) == "C2:F5" and scale.rules[0].type == "colorScale"


def test_cli_errors(spec_path, tmp_path):
    invoke(["cohorts", "--spec", spec_path, "--grain", "week"], code=2, stderr="month or quarter")
    invoke(["cohorts", "--spec", spec_path, "--basis", "nps"], code=2, stderr="--basis 'nps'")
    invoke(["cohorts", "--spec", spec_path, "--show", "x"], code=2, stderr="--show 'x'")
    invoke(
        ["cohorts", "--spec", spec_path, "--from", "2026-04", "--to", "2026-06"],
        stderr="cohort 2026-05 .. 2026-06 left out",
    )
    invoke(
        ["cohorts", "--spec", spec_path, "--from", "2026-04", "--to", "2026-06", "--quiet"],
    )
    other = tmp_path / "bare"
    other.mkdir()
    bare = write_spec(
        other,
        "version: 1\nas_of: 2026-04-30\nsources:\n  tickets: {path: t.csv}\nmetrics:\n"
        "  m: {type: mrr}\n",
        {"t.csv": "ticket_id,account_id,created_at\nt1,a1,2026-01-02\n"},
    )
    r = invoke(
        ["cohorts", "--spec", bare],
        code=78,
        stderr="needs the subscriptions or invoices source: add one under sources",
    )
    assert "Traceback" not in r.stderr


# ---- properties ------------------------------------------------------------------------
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PROPERTY_SPEC = (
    "version: 1\ncurrency: USD\nas_of: 2026-06-30\nsources:\n  subscriptions: {path: subs.csv}\n"
    "metrics:\n  mrr: {type: mrr}\n"
)
day = st.one_of(
    st.dates(date(2025, 1, 1), date(2026, 8, 31)),
    st.builds(lambda i: date(2025 + i // 12, i % 12 + 1, 1), st.integers(0, 19)),
)
line = st.tuples(
    st.sampled_from(["a1", "a2", "a3", "a4", "a5"]),
    day,
    st.one_of(st.none(), st.integers(1, 300)),  # open-ended, or a length in days
    st.one_of(st.just(0.0), st.integers(1, 500).map(float), st.integers(-80, -1).map(float)),
)


def to_csv(rows: list[tuple]) -> str:
    out = ["account_id,start_date,end_date,amount"]
    for account, start, length, amount in rows:
        end = "" if length is None else (start + timedelta(days=length)).isoformat()
        out.append(f"{account},{start.isoformat()},{end},{amount}")
    return "\n".join(out) + "\n"


def cohorts_of(rows: list[tuple], grain: str) -> pl.DataFrame:
    with tempfile.TemporaryDirectory() as folder:
        spec = load_spec(write_spec(Path(folder), PROPERTY_SPEC, {"subs.csv": to_csv(rows)}))
        return cohort_frame(spec, grain=grain, start="2025-01" if grain == "month" else "2025-Q1")


@SETTINGS
@given(st.lists(line, min_size=1, max_size=12), st.sampled_from(["month", "quarter"]), st.randoms())
def test_retention_ranges_and_row_order(rows, grain, rnd):
    f = cohorts_of(rows, grain)
    logo = f["logo_retention"].drop_nulls()
    assert ((logo >= 0) & (logo <= 1)).all(), logo.to_list()
    assert (f["revenue_retention"].drop_nulls() >= 0).all()
    assert (f["customers"] <= f["customers_start"]).all()
    # the weighted average is the sum over the cohorts at each age
    cohorts = f.filter(pl.col("cohort") != "all")
    sums = cohorts.group_by("age").agg(pl.col("customers").sum()).sort("age")
    avg = f.filter(pl.col("cohort") == "all").sort("age")
    if cohorts.height:
        assert sums["customers"].to_list() == avg["customers"].to_list()
    shuffled = list(rows)
    rnd.shuffle(shuffled)
    assert_frame_equal(f, cohorts_of(shuffled, grain))
