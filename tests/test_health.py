"""Health scores (cs_metrics.health) and `csm health`, with hand-computed fixtures.

The fixture: accounts a1..a5, all paying from 2026-01 except a4 (ended 2026-10-01, so not a
customer at the end of October). Usage events carry a value; two aggregate metrics read
them per account: x = sum of 'x' values, y = the largest 'y' value in the period. A paying
customer with no 'x' events has x = 0 (a sum of nothing); with no 'y' events, y is missing
(the max of nothing), which is what the missing policies act on.

October:  a1 x=4 y=5 · a2 x=12 · a3 (no usage) · a5 x=4 · a4 x=9 (not a customer)
September: a1 x=2 y=10 · a2 x=10 · a5 x=1
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from datetime import datetime
from textwrap import dedent

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cs_metrics.errors import SpecError
from cs_metrics.health import backtest, score_frame, score_health
from cs_metrics.periods import parse_period, series
from cs_metrics.spec.models import Health
from tests.conftest import write_spec
from tests.helpers import invoke

BASE = """\
version: 1
as_of: 2026-10-31
sources:
  accounts: {path: accounts.csv}
  subscriptions: {path: subs.csv}
  usage: {path: usage.csv}
dimensions:
  plan: plan
metrics:
  mrr: {type: mrr}
  customers: {type: customers}
  x: {type: aggregate, source: usage, agg: sum, column: value, filter: "event = 'x'"}
  y: {type: aggregate, source: usage, agg: max, column: value, filter: "event = 'y'"}
"""

HEALTH = """\
health:
  components:
    lin: {metric: x, weight: 3, scale: [0, 10]}
    step: {metric: y, weight: 1, thresholds: [{above: 5, score: 100}, {above: 2, score: 50}, {score: 0}]}
  bands: {red: 40, yellow: 70}
  missing: MISSING
"""

FILES = {
    "accounts.csv": """\
        account_id,plan
        a1,pro
        a2,pro
        a3,basic
        a4,basic
        a5,basic
        """,
    "subs.csv": """\
        account_id,start_date,end_date,amount
        a1,2026-01-01,,100
        a2,2026-01-01,,200
        a3,2026-01-01,,300
        a4,2026-01-01,2026-10-01,400
        a5,2026-01-01,,500
        """,
    "usage.csv": """\
        account_id,timestamp,event,value
        a1,2026-09-05T10:00:00,x,2
        a1,2026-09-06T10:00:00,y,10
        a2,2026-09-05T10:00:00,x,10
        a5,2026-09-05T10:00:00,x,1
        a1,2026-10-05T10:00:00,x,3
        a1,2026-10-06T10:00:00,x,1
        a1,2026-10-07T10:00:00,y,5
        a2,2026-10-05T10:00:00,x,12
        a4,2026-10-05T10:00:00,x,9
        a5,2026-10-05T10:00:00,x,4
        """,
}


def spec_path(tmp_path, missing: str = "renormalize", health: str | None = None):
    text = BASE + (health if health is not None else HEALTH.replace("MISSING", missing))
    return write_spec(tmp_path, text, FILES)


def scores(tmp_path, missing="renormalize", health=None, by=None) -> dict[str, dict]:
    from cs_metrics.spec import load_spec

    spec = load_spec(spec_path(tmp_path, missing, health))
    frame, _ = score_health(spec, parse_period("2026-10"), by=by)
    return {r["account"]: r for r in frame.iter_rows(named=True)}


def approx(x):
    return pytest.approx(x, abs=1e-9)


# ---------------------------------------------------------------- hand-computed scores


def test_renormalize_linear_and_stepwise(tmp_path):
    s = scores(tmp_path)
    assert set(s) == {"a1", "a2", "a3", "a5"}  # a4 is not a customer at the end of October
    a1 = s["a1"]
    # lin: x = 3 + 1 = 4 on [0, 10] -> 40; step: y = 5 is not above 5, is above 2 -> 50
    assert a1["lin_value"] == 4 and a1["lin"] == approx(40)
    assert a1["step_value"] == 5 and a1["step"] == approx(50)
    # (3 x 40 + 1 x 50) / (3 + 1) = 170 / 4 = 42.5
    assert a1["score"] == approx(42.5) and a1["band"] == "yellow"
    assert a1["coverage"] == approx(1.0)
    # September: lin 2 -> 20, step 10 > 5 -> 100: (60 + 100) / 4 = 40; change 2.5
    assert a1["previous_score"] == approx(40) and a1["score_change"] == approx(2.5)
    # pulls: lin 3 x (100 - 40) = 180, step 1 x (100 - 50) = 50
    assert a1["weakest"] == "lin, step"
    a2 = s["a2"]
    # x = 12 clipped to 100; y missing -> left out: 3 x 100 / 3 = 100, coverage 3/4
    assert a2["lin"] == approx(100) and a2["step"] is None
    assert a2["score"] == approx(100) and a2["coverage"] == approx(0.75) and a2["band"] == "green"
    assert a2["weakest"] is None  # nothing pulls it down
    # a3 is a paying customer with no usage: x = 0 (not missing) -> lin 0; y missing:
    # 3 x 0 / 3 = 0, coverage 3/4, red (a quiet account is the one to worry about)
    assert s["a3"]["lin_value"] == 0 and s["a3"]["step_value"] is None
    assert s["a3"]["score"] == approx(0) and s["a3"]["coverage"] == approx(0.75)
    assert s["a3"]["band"] == "red" and s["a3"]["weakest"] == "lin"
    assert s["a2"]["mrr"] == 200


def test_score_exactly_on_a_cut_off_is_the_band_above(tmp_path):
    a5 = scores(tmp_path)["a5"]
    # x = 4 -> 40, y missing -> 3 x 40 / 3 = 40: not below 40, so yellow (not red)
    assert a5["score"] == approx(40) and a5["band"] == "yellow"
    # September: x = 1 -> 10 -> red; change +30
    assert a5["previous_score"] == approx(10) and a5["score_change"] == approx(30)


def test_missing_zero(tmp_path):
    s = scores(tmp_path, "zero")
    # a2: (3 x 100 + 1 x 0) / 4 = 75; coverage still 3/4
    assert s["a2"]["score"] == approx(75) and s["a2"]["coverage"] == approx(0.75)
    assert s["a2"]["weakest"] == "step"  # 1 x (100 - 0) = 100
    # a3: nothing -> 0, red; a5: (3 x 40 + 0) / 4 = 30 -> red
    assert s["a3"]["score"] == approx(0) and s["a3"]["band"] == "red"
    assert s["a5"]["score"] == approx(30) and s["a5"]["band"] == "red"
    assert s["a1"]["score"] == approx(42.5)  # complete data: policy does not matter


def test_missing_neutral(tmp_path):
    s = scores(tmp_path, "neutral")
    # a2: (300 + 1 x 50) / 4 = 87.5; a3: (3 x 0 + 1 x 50) / 4 = 12.5; a5: (120 + 50) / 4 = 42.5
    assert s["a2"]["score"] == approx(87.5)
    assert s["a3"]["score"] == approx(12.5) and s["a3"]["band"] == "red"
    assert s["a5"]["score"] == approx(42.5)


def test_inverted_scale_and_custom_bands(tmp_path):
    health = """\
    health:
      components:
        inv: {metric: x, weight: 2, scale: [10, 0]}
      bands: {bad: 50, fine: 100}
    """
    s = scores(tmp_path, health=dedent(health))
    # a1: x = 4 on [10 worst, 0 best] -> (4 - 10) / (0 - 10) x 100 = 60 -> 'fine' (top band)
    assert s["a1"]["inv"] == approx(60) and s["a1"]["band"] == "fine"
    # a2: x = 12 is worse than worst -> 0 -> 'bad'
    assert s["a2"]["inv"] == approx(0) and s["a2"]["band"] == "bad"


def test_relative_change_component(tmp_path):
    health = """\
    health:
      components:
        growth: {metric: x, change: relative, scale: [-0.5, 0.5]}
    """
    s = scores(tmp_path, health=dedent(health))
    # a1: x 2 -> 4 = +100 % -> clipped 100; a2: 10 -> 12 = +20 % -> (0.2 + 0.5) / 1 x 100 = 70
    assert s["a1"]["growth_value"] == approx(1.0) and s["a1"]["growth"] == approx(100)
    assert s["a2"]["growth_value"] == approx(0.2) and s["a2"]["growth"] == approx(70)


def test_by_dimension_column(tmp_path):
    s = scores(tmp_path, by=["plan"])
    assert s["a1"]["plan"] == "pro" and s["a5"]["plan"] == "basic"


def test_spec_without_health_block(tmp_path):
    from cs_metrics.spec import load_spec

    spec = load_spec(spec_path(tmp_path, health=""))
    with pytest.raises(SpecError, match="add one"):
        score_health(spec, parse_period("2026-10"))


def test_component_without_scale_or_thresholds(tmp_path):
    from cs_metrics.spec import load_spec

    spec = load_spec(spec_path(tmp_path, health="health:\n  components:\n    c: {metric: x}\n"))
    with pytest.raises(SpecError, match="scale"):
        score_health(spec, parse_period("2026-10"))


@pytest.mark.parametrize(
    "health",
    [
        {"components": {"c": {"metric": "x", "scale": [0, 1], "thresholds": [{"score": 1}]}}},
        {"components": {"c": {"metric": "x", "scale": [1, 1]}}},
        {"components": {"c": {"metric": "x", "thresholds": [{"above": 1, "score": 1}]}}},
        {"components": {"score": {"metric": "x", "scale": [0, 1]}}},
        {"components": {"c": {"metric": "x", "scale": [0, 1]}}, "bands": {"red": 140}},
        {"components": {"c": {"metric": "x", "scale": [0, 1]}}, "bands": {"green": 50}},
    ],
    ids=["both", "flat-scale", "no-default-step", "reserved-name", "cut-off-range", "green-low"],
)
def test_invalid_health_models(health):
    with pytest.raises(ValueError):
        Health.model_validate(health)


SEGMENTS = """\
health:
  components:
    lin: {metric: x, weight: 3, scale: [0, 10]}
    step: {metric: y, weight: 1, thresholds: [{above: 5, score: 100}, {above: 2, score: 50}, {score: 0}]}
  missing: zero
  segments:
    - {name: small, when: "plan = 'basic'", components: [lin], weights: {lin: 5}}
    - {name: never, when: "plan = 'none'"}
"""


def test_segments_choose_components_and_weights(tmp_path):
    s = scores(tmp_path, health=SEGMENTS)
    # a5 is basic: only lin applies, weight 5: 5 x 40 / 5 = 40 (without segments, zero: 30)
    a5 = s["a5"]
    assert a5["segment"] == "small" and a5["score"] == approx(40) and a5["step"] is None
    assert a5["coverage"] == approx(1.0)
    # a2 is pro, in no segment: default components and weights, zero -> 75
    assert s["a2"]["segment"] is None and s["a2"]["score"] == approx(75)
    # a3 is basic too: lin only, x = 0 -> 0, with full coverage
    assert s["a3"]["score"] == approx(0) and s["a3"]["coverage"] == approx(1.0)


def test_segment_naming_an_unknown_column(tmp_path):
    from cs_metrics.spec import load_spec

    bad = SEGMENTS.replace("plan = 'basic'", "tier = 'basic'")
    spec = load_spec(spec_path(tmp_path, health=bad))
    with pytest.raises(SpecError, match="tier"):
        score_health(spec, parse_period("2026-10"))


def test_segment_naming_an_unknown_component():
    with pytest.raises(ValueError, match="nope"):
        Health.model_validate(
            {
                "components": {"c": {"metric": "x", "scale": [0, 1]}},
                "segments": [{"name": "s", "when": "true", "components": ["nope"]}],
            }
        )


# ---------------------------------------------------------------- backtest


def test_backtest_counts_churn_within_the_horizon(tmp_path):
    from datetime import date

    from cs_metrics.spec import load_spec

    spec = load_spec(spec_path(tmp_path, "zero"))
    # September scores (zero): a1 40 yellow, a2 75 green, a3 0 red, a4 0 red, a5 (30 + 0)/4
    # = 7.5 red. a4 is gone at the end of October -> churned within 1 period.
    frame, warnings = backtest(spec, [parse_period("2026-09")], 1, date(2026, 10, 31))
    assert warnings == []
    rows = {(r["period"], r["band"]): r for r in frame.iter_rows(named=True)}
    red = rows[("2026-09", "red")]
    assert (red["accounts"], red["churned"]) == (3, 1) and red["churn_rate"] == approx(1 / 3)
    green = rows[("2026-09", "green")]
    assert (green["accounts"], green["churned"]) == (1, 0)
    assert red["lift"] is None  # the top band churned nothing: no ratio
    assert rows[("all", "red")]["accounts"] == 3
    assert frame["band"].to_list()[:3] == ["red", "yellow", "green"]  # worst first


def test_backtest_leaves_out_periods_past_the_data(tmp_path):
    from datetime import date

    from cs_metrics.spec import load_spec

    spec = load_spec(spec_path(tmp_path, "zero"))
    periods = series(parse_period("2026-08"), parse_period("2026-09"), "month")
    frame, warnings = backtest(spec, periods, 2, date(2026, 10, 31))
    assert "left out 2026-09" in warnings[0]
    assert set(frame["period"].to_list()) == {"2026-08", "all"}


# ---------------------------------------------------------------- properties

VALUES = st.one_of(st.none(), st.floats(-1e6, 1e6, allow_nan=False))
HEALTH_MODEL = Health.model_validate(
    {
        "components": {
            "up": {"metric": "u", "weight": 2.5, "scale": [0, 10]},
            "down": {"metric": "d", "weight": 7, "scale": [5, -5]},
            "step": {
                "metric": "s",
                "weight": 0.5,
                "thresholds": [{"above": 3, "score": 90}, {"above": 0, "score": 20}, {"score": 5}],
            },
        },
        "bands": {"red": 40, "yellow": 70},
    }
)


def _frame(u, d, s) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "period": ["2026-10"],
            "account": ["a"],
            "customers": [1.0],
            "mrr": [10.0],
            "u": [u],
            "d": [d],
            "s": [s],
        },
        schema_overrides={"u": pl.Float64, "d": pl.Float64, "s": pl.Float64},
    )


@settings(max_examples=150, deadline=None)
@given(u=VALUES, d=VALUES, s=VALUES, missing=st.sampled_from(["renormalize", "zero", "neutral"]))
def test_score_and_coverage_are_in_range(u, d, s, missing):
    health = HEALTH_MODEL.model_copy(update={"missing": missing})
    row = score_frame(health, _frame(u, d, s), []).row(0, named=True)
    if row["score"] is not None:
        assert 0 <= row["score"] <= 100 and math.isfinite(row["score"])
    else:
        assert missing == "renormalize" and u is None and d is None and s is None
    assert 0 <= row["coverage"] <= 1


@settings(max_examples=150, deadline=None)
@given(
    u=st.floats(-100, 100),
    bump=st.floats(0, 100),
    d=VALUES,
    s=VALUES,
    missing=st.sampled_from(["renormalize", "zero", "neutral"]),
)
def test_raising_an_up_pointing_component_never_lowers_the_score(u, bump, d, s, missing):
    health = HEALTH_MODEL.model_copy(update={"missing": missing})
    low = score_frame(health, _frame(u, d, s), [])["score"][0]
    high = score_frame(health, _frame(u + bump, d, s), [])["score"][0]
    assert high >= low - 1e-9
    # and raising a down-pointing component never raises it
    if d is not None:
        worse = score_frame(health, _frame(u, d + bump, s), [])["score"][0]
        assert worse <= low + 1e-9


# ---------------------------------------------------------------- CLI


def test_cli_csv_records(tmp_path):
    path = spec_path(tmp_path)
    r = invoke(["health", "--spec", path, "--period", "2026-10", "--format", "csv"])
    frame = pl.read_csv(r.stdout.encode())
    assert frame.columns[:9] == [
        "period",
        "account",
        "name",  # beside the id (issue 13)
        "owner",
        "score",
        "band",
        "previous_score",
        "score_change",
        "coverage",
    ]
    assert {"lin", "lin_value", "step", "step_value", "mrr"} <= set(frame.columns)
    # worst first: a3 0, a5 40, a1 42.5, a2 100
    assert frame["account"].to_list() == ["a3", "a5", "a1", "a2"]


def test_cli_json_band_and_top(tmp_path):
    path = spec_path(tmp_path)
    r = invoke(["health", "--spec", path, "-f", "json", "--band", "yellow", "--top", "1"])
    rows = json.loads(r.stdout)
    assert [row["account"] for row in rows] == ["a5"]
    assert rows[0]["score"] == pytest.approx(40)
    r = invoke(["health", "--spec", path, "-f", "ndjson", "--sort", "mrr_at_risk", "--top", "3"])
    # at risk: a3 300 x 1 = 300, a5 500 x 0.6 = 300 (a tie: the lower score first),
    # a1 100 x 0.575 = 57.5, a2 0
    assert [json.loads(line)["account"] for line in r.stdout.splitlines()] == ["a3", "a5", "a1"]


def test_cli_table_and_file(tmp_path):
    path = spec_path(tmp_path)
    invoke(["health", "--spec", path, "-f", "table"], stdout=["Health 2026-10", "a1", "yellow"])
    out = tmp_path / "h.json"
    invoke(["health", "--spec", path, "-o", out], stderr="wrote")
    assert len(json.loads(out.read_text())) == 4


def test_cli_backtest(tmp_path):
    path = spec_path(tmp_path, "zero")
    r = invoke(f"health --spec {path} --backtest --from 2026-09 --to 2026-09 --horizon 1 -f csv")
    frame = pl.read_csv(r.stdout.encode())
    assert frame.columns == ["period", "band", "accounts", "churned", "churn_rate", "lift"]


def test_cli_errors(tmp_path):
    path = spec_path(tmp_path)
    invoke(["health", "--spec", path, "--band", "purple"], code=2, stderr="red, yellow, green")
    invoke(["health", "--spec", path, "--sort", "nope"], code=2, stderr="--sort")
    invoke(["health", "--spec", path, "--from", "2026-01"], code=2, stderr="--backtest")
    invoke(["health", "--spec", path, "--top", "0"], code=2)
    invoke(["health", "--spec", path, "-o", tmp_path / "h.docx"], code=2, stderr=".xlsx")
    no_health = spec_path(tmp_path, health="")
    invoke(["health", "--spec", no_health], code=78, stderr="health:")


def test_duckdb_engine_gives_the_same_scores(tmp_path):
    from cs_metrics.spec import load_spec

    spec = load_spec(spec_path(tmp_path))
    a, _ = score_health(spec, parse_period("2026-10"), "polars")
    b, _ = score_health(spec, parse_period("2026-10"), "duckdb")
    assert a.equals(b)


def test_cli_parquet_and_markdown(tmp_path):
    path = spec_path(tmp_path, health=SEGMENTS)
    out = tmp_path / "h.parquet"
    invoke(["health", "--spec", path, "-o", out, "-q"])
    frame = pl.read_parquet(out)
    assert "segment" in frame.columns and frame.height == 4
    invoke(["health", "--spec", path, "-f", "markdown"], stdout=["| account |", "small"])
    invoke(["health", "--spec", path, "-f", "table"], stdout=["segment", "by band"])


def test_cli_xlsx_and_html_files(tmp_path):
    from openpyxl import load_workbook

    path = spec_path(tmp_path)
    for name in ("h.xlsx", "h.html"):
        invoke(
            ["health", "--spec", path, "--period", "2026-10", "-o", tmp_path / name], stderr="wrote"
        )
    expected = pl.read_csv(
        invoke(["health", "--spec", path, "--period", "2026-10", "-f", "csv"]).stdout.encode()
    )
    sheet = load_workbook(tmp_path / "h.xlsx").active
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == expected.columns
    assert len(rows) - 1 == expected.height
    assert sheet.freeze_panes == "A2"
    scores = [r[expected.columns.index("score")] for r in rows[1:]]
    assert scores == pytest.approx(expected["score"].to_list())
    # the period is a real date, October's first day, shown as 2026-10 (issue 13)
    assert {r[0] for r in rows[1:]} == {datetime(2026, 10, 1)}
    assert sheet.cell(2, 1).number_format == "yyyy-mm"
    page = (tmp_path / "h.html").read_text()
    assert "<table>" in page and "http" not in page.split("<body>")[1]


# ------------------------------------------------------------- issue 13: people, defaults
OWNED = {
    **FILES,
    "accounts.csv": """\
        account_id,name,plan,owner
        a1,Acme,pro,Kim
        a2,Beta,pro,Lee
        a3,Gamma,basic,Kim
        a4,Delta,basic,Lee
        a5,Eps,basic,
        """,
}


def test_cli_names_and_owners_beside_the_account(tmp_path):
    path = write_spec(tmp_path, BASE + HEALTH.replace("MISSING", "renormalize"), OWNED)
    r = invoke(["health", "--spec", path, "-f", "json"])
    rows = json.loads(r.stdout)
    assert list(rows[0])[:4] == ["period", "account", "name", "owner"]
    got = {x["account"]: (x["name"], x["owner"]) for x in rows}
    assert got["a1"] == ("Acme", "Kim") and got["a5"] == ("Eps", None)
    r = invoke(["health", "--spec", path, "-f", "table"])
    assert re.search(r"a1\s+│\s+Acme\s+│\s+Kim", r.stdout), r.stdout
    # --sort owner: Kim (a3 0.0, a1 42.5), Lee (a2 100); a5 without an owner last; --top 2
    r = invoke(["health", "--spec", path, "-f", "csv", "--sort", "owner", "--top", "3"])
    assert [x["account"] for x in csv.DictReader(io.StringIO(r.stdout))] == ["a3", "a1", "a2"]


def test_cli_scores_have_no_float_noise(tmp_path):
    # lin on a scale of 0..30 gives thirds: a1's x in October is 3 + 1 = 4 -> 4 / 30 x 100
    # = 13.333333333333334 in floats; its y 5 is above 2 -> step 50; score (3 x 13.33.. +
    # 50) / 4 = 22.5, which floats make 22.500000000000004. Written: at most 9 decimals.
    health = HEALTH.replace("scale: [0, 10]", "scale: [0, 30]").replace("MISSING", "renormalize")
    r = invoke(["health", "--spec", spec_path(tmp_path, health=health), "-f", "csv"])
    rows = {x["account"]: x for x in csv.DictReader(io.StringIO(r.stdout))}
    assert rows["a1"]["lin"] == "13.333333333"
    assert rows["a1"]["score"] == "22.5"
    for cell in re.findall(r"-?\d+\.\d+", r.stdout):
        assert len(cell.split(".")[1]) <= 9, cell


def test_cli_backtest_defaults_to_the_latest_periods_with_a_full_horizon(tmp_path):
    # as of 2026-10-31 the last complete month is 2026-10; with --horizon 1 the latest
    # period whose horizon the data covers is 2026-09, and the default series is the 12
    # months up to it (2025-10 .. 2026-09); no period is left out with a warning
    path = spec_path(tmp_path, "zero")
    r = invoke(f"health --spec {path} --backtest --horizon 1 -f csv")
    assert "left out" not in r.stderr
    periods = set(pl.read_csv(r.stdout.encode())["period"].to_list())
    assert "2026-09" in periods and "2026-10" not in periods
    assert periods - {"all"} <= {f"2025-{m}" for m in ("10", "11", "12")} | {
        f"2026-{m:02d}" for m in range(1, 10)
    }
    # the September rows are those of an explicit --from/--to 2026-09
    explicit = invoke(f"health --spec {path} --backtest --from 2026-09 --to 2026-09 --horizon 1")
    sept = [line for line in r.stdout.splitlines() if line.startswith("2026-09,")]
    assert sept == [line for line in explicit.stdout.splitlines() if line.startswith("2026-09,")]
    # the default horizon (3): up to 2026-07
    r = invoke(f"health --spec {path} --backtest -f csv")
    periods = set(pl.read_csv(r.stdout.encode())["period"].to_list())
    assert "2026-07" in periods and "2026-08" not in periods


def test_cli_count_inputs_are_written_as_integers(tmp_path):
    # customers is a count: each paying account's cust_value is 1, written 1 (not 1.0);
    # lin's input x (a sum of values, unit number) stays a float
    health = HEALTH.replace("MISSING", "renormalize").replace(
        "  bands:", "    cust: {metric: customers, weight: 1, scale: [0, 1]}\n  bands:"
    )
    r = invoke(["health", "--spec", spec_path(tmp_path, health=health), "-f", "csv"])
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert {x["cust_value"] for x in rows} == {"1"}
    assert {x["account"]: x["lin_value"] for x in rows}["a1"] == "4.0"
    path = spec_path(tmp_path, health=health)
    rows = json.loads(invoke(["health", "--spec", path, "-f", "json"]).stdout)
    assert all(type(x["cust_value"]) is int for x in rows)
