"""``csm compute --trend N`` and the sparkline column of series tables.

The sparkline is a pure function (``render.sparkline``) tested on hand-made values; the
layout tests use the small result of test_render; the CLI tests run the default
metrics.yaml over sample_data (as_of 2026-10-31, so the last complete month is 2026-10).
"""

from __future__ import annotations

import json
import math
import re

import polars as pl
import pytest
from conftest import REPO
from helpers import invoke
from test_render import ROWS, make_plan_result, make_result, record

from cs_metrics import api
from cs_metrics.errors import UsageError
from cs_metrics.render import Cell, build_blocks, render_text, sparkline, trend_tone
from cs_metrics.result import MetricResult

SPARK = re.compile(r"[▁▂▃▄▅▆▇█·]{2,}")
SAMPLE_SPEC = str(REPO / "metrics.yaml")
SAMPLE_SERIES = ["2026-05", "2026-06", "2026-07", "2026-08", "2026-09", "2026-10"]


# --------------------------------------------------------------------------- sparkline


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([1, 2, 3, 4, 5, 6, 7, 8], "▁▂▃▄▅▆▇█"),
        ([8, 7, 6, 5, 4, 3, 2, 1], "█▇▆▅▄▃▂▁"),
        ([0.05, 0.10], "▁█"),
        ([3, 3, 3], "▄▄▄"),  # flat: a mid line
        ([42], "▄"),  # a single value is flat too
        ([1, None, 3], "▁·█"),
        ([None, 5, None, 5], "·▄·▄"),  # flat among gaps
        ([None, None, None], "···"),
        ([], ""),
        ([-10, 0, 10], "▁▅█"),
        ([-5, -4, -3], "▁▅█"),
        ([1, math.nan, math.inf, 3], "▁··█"),  # non-finite is missing, not a scale breaker
        ([-1e308, 1e308], "▁█"),  # no overflow in hi - lo
        ([0.1 + 0.2, 0.3], "▄▄"),  # float noise is flat
        ([100, 101, 200], "▁▁█"),
    ],
)
def test_sparkline(values, expected):
    assert sparkline(values) == expected


def test_sparkline_has_one_character_per_value():
    values = [None if i % 5 == 0 else math.sin(i) for i in range(40)]
    assert len(sparkline(values)) == 40


@pytest.mark.parametrize(
    ("values", "better", "expected"),
    [
        ([1, 2], True, "good"),
        ([1, 2], False, "bad"),
        ([2, 1], True, "bad"),
        ([2, 1], False, "good"),
        ([1, 2], None, ""),  # neutral metric: no colour
        ([2, 9, 2], True, ""),  # last equals first
        ([None, 1, 3, None], True, "good"),  # first and last present values
        ([5], True, ""),
        ([None, None], True, ""),
    ],
)
def test_trend_tone(values, better, expected):
    assert trend_tone(values, better) == expected


# --------------------------------------------------------------------------- layout


def test_series_block_has_a_trend_column_after_the_metric():
    block = build_blocks(make_result())[0]
    assert block.headers[:2] == ["Metric", "Trend"]
    assert block.trend_column == 1
    assert block.period_columns == [2, 3]
    rows = {row[0].text: row[1] for row in block.rows if not isinstance(row, str)}
    assert rows["MRR"] == Cell("▁█", "good")
    assert rows["Logo churn"] == Cell("▁█", "bad")  # churn up is bad
    assert rows["NPS"] == Cell("▄·", "")  # one value: no direction


def test_dimension_series_has_one_sparkline_per_row():
    block = build_blocks(make_plan_result())[0]
    assert block.headers == ["Plan", "Trend", "2026-09", "2026-10", "Change"]
    assert [row[1].text for row in block.rows if not isinstance(row, str)] == ["▁█", "▁█"]


def test_single_period_layouts_have_no_trend():
    latest = make_result([r for r in ROWS if r[0] == "2026-10"], ["2026-10"])
    assert "Trend" not in build_blocks(latest)[0].headers
    plan = make_plan_result()
    one = MetricResult(
        frame=plan.frame.filter(pl.col("period") == "2026-10"),
        dims=plan.dims,
        metrics=plan.metrics,
        periods=["2026-10"],
    )
    assert "Trend" not in build_blocks(one)[0].headers


def test_dropping_periods_keeps_the_trend_column():
    block = build_blocks(make_result())[0]
    kept = block.keep_last_periods(1)
    assert kept.headers == ["Metric", "Trend", "2026-10", "Change"]
    assert kept.trend_column == 1 and kept.period_columns == [2]


def test_sparkline_covers_every_period_on_a_narrow_terminal():
    periods = [f"2024-{m:02d}" for m in range(1, 13)] + [f"2025-{m:02d}" for m in range(1, 13)]
    rows = [(p, "mrr", 1000.0 + 10 * i, "USD", None, None) for i, p in enumerate(periods)]
    text = record(make_result(rows, periods), width=80)
    line = next(line for line in text.splitlines() if "MRR" in line)
    (spark,) = SPARK.findall(line)
    assert len(spark) == 24 and spark[0] == "▁" and spark[-1] == "█"
    assert "of 24 periods shown" in text
    assert max(len(line) for line in text.splitlines()) <= 80


def test_markdown_and_html_carry_the_sparkline_machine_formats_do_not():
    result = make_result()
    assert "| ▁█    |" in render_text(result, "markdown")
    assert '<td class="good">▁█</td>' in render_text(result, "html")
    for fmt in ("csv", "tsv", "json", "ndjson"):
        text = render_text(result, fmt)
        assert "Trend" not in text and not SPARK.search(text), fmt


# --------------------------------------------------------------------------- periods


@pytest.fixture
def spec(make_spec):
    return make_spec("version: 1\nas_of: 2026-04-15\n")


def test_trend_ends_at_to(spec):
    labels = [p.label for p in api.resolve_periods(spec, trend=3, end="2025-12")]
    assert labels == ["2025-10", "2025-11", "2025-12"]
    # --to at a coarser grain: the trend ends with the last period of --grain inside it
    labels = [p.label for p in api.resolve_periods(spec, trend=2, end="2025-Q3")]
    assert labels == ["2025-08", "2025-09"]


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"trend": 0}, "at least 1"),
        ({"trend": -3}, "at least 1"),
        ({"trend": 3, "period": "2026-01"}, "drop --period"),
        ({"trend": 3, "start": "2026-01"}, "drop --from"),
        ({"trend": 3, "start": "2026-01", "end": "2026-03"}, "drop --from"),
        ({"trend": 10**6}, "before the year 1"),
    ],
)
def test_trend_errors(spec, kw, match):
    with pytest.raises(UsageError, match=match):
        api.resolve_periods(spec, **kw)


# --------------------------------------------------------------------------- command line


def sparks(text: str, label: str) -> list[str]:
    line = next(line for line in text.splitlines() if line.strip().startswith(label))
    return SPARK.findall(line)


def test_cli_trend_table_on_sample_data():
    r = invoke(["compute", "mrr", "--trend", "6", "--spec", SAMPLE_SPEC, "--format", "table"])
    (spark,) = sparks(r.stdout, "mrr")
    assert len(spark) == 6 and "▁" in spark and "█" in spark
    assert "Trend" in r.stdout and "2026-05 – 2026-10" in r.stdout
    header = next(line for line in r.stdout.splitlines() if "Metric" in line)
    assert header.split() == ["Metric", "Trend", *SAMPLE_SERIES, "Change"]
    assert "\x1b[" not in r.stdout


def test_cli_trend_on_a_narrow_terminal_keeps_the_sparkline():
    r = invoke(
        ["compute", "mrr", "--trend", "6", "--spec", SAMPLE_SPEC, "--format", "table"],
        env={"COLUMNS": "60"},
        stdout="of 6 periods shown",
    )
    (spark,) = sparks(r.stdout, "mrr")
    assert len(spark) == 6
    assert "2026-10" in r.stdout and "2026-05" not in r.stdout.split("\n", 1)[1]
    assert max(len(line) for line in r.stdout.splitlines()) <= 60


def test_cli_trend_csv_has_every_period_and_no_sparkline():
    r = invoke(["compute", "mrr", "arr", "--trend", "3", "--spec", SAMPLE_SPEC, "-f", "csv"])
    lines = r.stdout.splitlines()
    assert lines[0] == "period,metric,value,unit"
    assert [tuple(line.split(",")[:2]) for line in lines[1:]] == [
        (p, m) for p in SAMPLE_SERIES[-3:] for m in ("mrr", "arr")
    ]
    assert not SPARK.search(r.stdout) and "Trend" not in r.stdout


def test_cli_trend_json_and_to():
    r = invoke(
        ["compute", "mrr", "--trend", "2", "--to", "2026-Q2", "--spec", SAMPLE_SPEC, "-f", "json"]
    )
    assert [row["period"] for row in json.loads(r.stdout)] == ["2026-05", "2026-06"]


def test_cli_trend_one_is_the_snapshot():
    r = invoke(["compute", "mrr", "--trend", "1", "--spec", SAMPLE_SPEC, "-f", "table"])
    assert "Previous" in r.stdout and "Trend" not in r.stdout


def test_cli_trend_by_dimension():
    r = invoke(
        ["compute", "mrr", "--trend", "4", "--by", "plan", "--spec", SAMPLE_SPEC, "-f", "table"],
        env={"COLUMNS": "200"},
    )
    assert "mrr by plan" in r.stdout
    assert len(sparks(r.stdout, "enterprise")[0]) == 4


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--trend", "3", "--period", "2026-10"], "drop --period"),
        (["--trend", "3", "--from", "2026-01"], "drop --from"),
        (["--trend", "0"], "at least 1"),
        (["--trend", "-2"], "at least 1"),
        (["--trend", "many"], "--trend"),
    ],
)
def test_cli_trend_usage_errors(extra, message):
    r = invoke(["compute", "mrr", "--spec", SAMPLE_SPEC, *extra], code=2, stderr=message)
    assert r.stdout == ""
