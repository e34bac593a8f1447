"""Renderers: exact machine output, files read back, atomic writes, the table for people."""

from __future__ import annotations

import errno
import json
import os
from datetime import datetime
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from conftest import shown_number_format
from polars.testing import assert_frame_equal
from rich.console import Console

from cs_metrics.atomic import atomic_write, atomic_write_bytes, atomic_write_text
from cs_metrics.errors import ExitCode, OutputError, UsageError
from cs_metrics.render import (
    EXTENSIONS,
    Sheet,
    build_blocks,
    format_change,
    format_for_output,
    format_value,
    machine_frame,
    render_table,
    render_text,
    write_file,
    write_frame,
    write_sheets,
    xlsx_number_format,
)
from cs_metrics.result import MetricMeta, MetricResult

SCHEMA = {
    "period": pl.String,
    "metric": pl.String,
    "value": pl.Float64,
    "unit": pl.String,
    "previous": pl.Float64,
    "note": pl.String,
}
META = {
    "mrr": MetricMeta("mrr", "revenue", "USD", "MRR"),
    "logo_churn_rate": MetricMeta(
        "logo_churn_rate", "customers", "ratio", "Logo churn", higher_is_better=False
    ),
    "active_customers": MetricMeta("active_customers", "customers", "count", "Active customers"),
    "nps": MetricMeta("nps", "sentiment", "score", "NPS"),
}
NO_SURVEY = "no survey responses in the period"
ROWS = [
    ("2026-09", "mrr", 11800.0, "USD", None, None),
    ("2026-09", "logo_churn_rate", 0.038, "ratio", None, None),
    ("2026-09", "active_customers", 118.0, "count", None, None),
    ("2026-09", "nps", 42.0, "score", None, None),
    ("2026-10", "mrr", 12300.0, "USD", 11800.0, None),
    ("2026-10", "logo_churn_rate", 0.05, "ratio", 0.038, None),
    ("2026-10", "active_customers", 120.0, "count", 118.0, None),
    ("2026-10", "nps", None, "score", 42.0, NO_SURVEY),
]
PERIODS = ["2026-09", "2026-10"]


def make_result(rows=ROWS, periods=PERIODS) -> MetricResult:
    frame = pl.DataFrame(rows, schema=SCHEMA, orient="row")
    return MetricResult(frame=frame, metrics=dict(META), periods=list(periods))


def make_plan_result() -> MetricResult:
    rows = []
    for period, metric, value, unit, previous, note in ROWS:
        for plan, share in (("pro", 0.75), ("starter", 0.25)):
            scale = share if unit in ("USD", "count") else 1.0
            rows.append(
                (
                    period,
                    plan,
                    metric,
                    None if value is None else value * scale,
                    unit,
                    None if previous is None else previous * scale,
                    note,
                )
            )
    schema = {
        "period": pl.String,
        "plan": pl.String,
        **{k: v for k, v in SCHEMA.items() if k != "period"},
    }
    frame = pl.DataFrame(rows, schema=schema, orient="row")
    return MetricResult(frame=frame, dims=["plan"], metrics=dict(META), periods=list(PERIODS))


@pytest.fixture
def result() -> MetricResult:
    return make_result()


@pytest.fixture
def latest() -> MetricResult:
    return make_result([r for r in ROWS if r[0] == "2026-10"], ["2026-10"])


@pytest.fixture
def by_plan() -> MetricResult:
    return make_plan_result()


# ----------------------------------------------------------------------------- machine text

# counts are written as integers (118, not 118.0: issue 13)
CSV = """\
period,metric,value,unit
2026-09,mrr,11800.0,USD
2026-09,logo_churn_rate,0.038,ratio
2026-09,active_customers,118,count
2026-09,nps,42.0,score
2026-10,mrr,12300.0,USD
2026-10,logo_churn_rate,0.05,ratio
2026-10,active_customers,120,count
2026-10,nps,,score
"""

JSON = """\
[
  {
    "period": "2026-09",
    "metric": "mrr",
    "value": 11800.0,
    "unit": "USD"
  },
  {
    "period": "2026-09",
    "metric": "logo_churn_rate",
    "value": 0.038,
    "unit": "ratio"
  },
  {
    "period": "2026-09",
    "metric": "active_customers",
    "value": 118,
    "unit": "count"
  },
  {
    "period": "2026-09",
    "metric": "nps",
    "value": 42.0,
    "unit": "score"
  },
  {
    "period": "2026-10",
    "metric": "mrr",
    "value": 12300.0,
    "unit": "USD"
  },
  {
    "period": "2026-10",
    "metric": "logo_churn_rate",
    "value": 0.05,
    "unit": "ratio"
  },
  {
    "period": "2026-10",
    "metric": "active_customers",
    "value": 120,
    "unit": "count"
  },
  {
    "period": "2026-10",
    "metric": "nps",
    "value": null,
    "unit": "score"
  }
]
"""

NDJSON = """\
{"period":"2026-09","metric":"mrr","value":11800.0,"unit":"USD"}
{"period":"2026-09","metric":"logo_churn_rate","value":0.038,"unit":"ratio"}
{"period":"2026-09","metric":"active_customers","value":118,"unit":"count"}
{"period":"2026-09","metric":"nps","value":42.0,"unit":"score"}
{"period":"2026-10","metric":"mrr","value":12300.0,"unit":"USD"}
{"period":"2026-10","metric":"logo_churn_rate","value":0.05,"unit":"ratio"}
{"period":"2026-10","metric":"active_customers","value":120,"unit":"count"}
{"period":"2026-10","metric":"nps","value":null,"unit":"score"}
"""

WIDE_CSV = """\
period,mrr,logo_churn_rate,active_customers,nps
2026-09,11800.0,0.038,118,42.0
2026-10,12300.0,0.05,120,
"""

WIDE_NDJSON = """\
{"period":"2026-09","mrr":11800.0,"logo_churn_rate":0.038,"active_customers":118,"nps":42.0}
{"period":"2026-10","mrr":12300.0,"logo_churn_rate":0.05,"active_customers":120,"nps":null}
"""

PLAN_CSV = """\
period,plan,metric,value,unit
2026-09,pro,mrr,8850.0,USD
2026-09,pro,logo_churn_rate,0.038,ratio
2026-09,pro,active_customers,88.5,count
2026-09,pro,nps,42.0,score
2026-09,starter,mrr,2950.0,USD
2026-09,starter,logo_churn_rate,0.038,ratio
2026-09,starter,active_customers,29.5,count
2026-09,starter,nps,42.0,score
2026-10,pro,mrr,9225.0,USD
2026-10,pro,logo_churn_rate,0.05,ratio
2026-10,pro,active_customers,90,count
2026-10,pro,nps,,score
2026-10,starter,mrr,3075.0,USD
2026-10,starter,logo_churn_rate,0.05,ratio
2026-10,starter,active_customers,30,count
2026-10,starter,nps,,score
"""

PLAN_WIDE_TSV = """\
period\tplan\tmrr\tlogo_churn_rate\tactive_customers\tnps
2026-09\tpro\t8850.0\t0.038\t88.5\t42.0
2026-09\tstarter\t2950.0\t0.038\t29.5\t42.0
2026-10\tpro\t9225.0\t0.05\t90\t
2026-10\tstarter\t3075.0\t0.05\t30\t
"""

MARKDOWN = """\
### 2026-09 – 2026-10

| Metric           | Trend | 2026-09 | 2026-10 |    Change |
| ---------------- | ----- | ------: | ------: | --------: |
| **Revenue**      |       |         |         |           |
| MRR              | ▁█    | $11,800 | $12,300 |  ▲ +4.2 % |
| **Customers**    |       |         |         |           |
| Logo churn       | ▁█    |   3.8 % |   5.0 % | ▲ +1.2 pp |
| Active customers | ▁█    |     118 |     120 |  ▲ +1.7 % |
| **Sentiment**    |       |         |         |           |
| NPS              | ▄·    |    42.0 |      —¹ |         — |

- ¹ no survey responses in the period
"""

MARKDOWN_LATEST = """\
### 2026-10

| Metric           |   Value | Previous |    Change |
| ---------------- | ------: | -------: | --------: |
| **Revenue**      |         |          |           |
| MRR              | $12,300 |  $11,800 |  ▲ +4.2 % |
| **Customers**    |         |          |           |
| Logo churn       |   5.0 % |    3.8 % | ▲ +1.2 pp |
| Active customers |     120 |      118 |  ▲ +1.7 % |
| **Sentiment**    |         |          |           |
| NPS              |      —¹ |     42.0 |         — |

- ¹ no survey responses in the period
"""


def test_csv(result):
    assert render_text(result, "csv") == CSV


def test_tsv(result):
    assert render_text(result, "tsv") == CSV.replace(",", "\t")


def test_json(result):
    assert render_text(result, "json") == JSON


def test_ndjson(result):
    assert render_text(result, "ndjson") == NDJSON


def test_markdown_series(result):
    assert render_text(result, "markdown") == MARKDOWN


def test_markdown_single_period(latest):
    assert render_text(latest, "markdown") == MARKDOWN_LATEST


def test_wide(result):
    assert render_text(result, "csv", wide=True) == WIDE_CSV
    assert render_text(result, "ndjson", wide=True) == WIDE_NDJSON
    assert json.loads(render_text(result, "json", wide=True)) == [
        json.loads(line) for line in WIDE_NDJSON.splitlines()
    ]


def test_dimension_column(by_plan):
    assert render_text(by_plan, "csv") == PLAN_CSV
    assert render_text(by_plan, "tsv", wide=True) == PLAN_WIDE_TSV
    first = json.loads(render_text(by_plan, "json"))[0]
    assert list(first) == ["period", "plan", "metric", "value", "unit"]


def test_json_null_and_no_separators_for_large_numbers():
    rows = [("2026-10", "mrr", 1234567.891, "USD", None, None), *ROWS[5:]]
    result = make_result(rows, ["2026-10"])
    records = json.loads(render_text(result, "json"))
    assert records[0]["value"] == 1234567.891
    assert records[-1]["value"] is None
    for fmt in ("csv", "tsv", "ndjson", "json"):
        text = render_text(result, fmt)
        assert "1234567.891" in text
        assert "1,234,567" not in text
        assert "\x1b[" not in text


def test_non_finite_values_become_null():
    rows = [
        ("2026-10", "mrr", float("nan"), "USD", None, None),
        ("2026-10", "active_customers", float("inf"), "count", None, None),
    ]
    result = make_result(rows, ["2026-10"])
    assert [r["value"] for r in json.loads(render_text(result, "json"))] == [None, None]
    assert render_text(result, "csv").splitlines()[1:] == [
        "2026-10,mrr,,USD",
        "2026-10,active_customers,,count",
    ]


def test_rows_are_sorted_whatever_the_frame_order():
    shuffled = make_result([*reversed(ROWS)])
    assert render_text(shuffled, "csv") == CSV


def test_full_float_precision():
    rows = [("2026-10", "logo_churn_rate", 0.1 + 0.2, "ratio", None, None)]
    text = render_text(make_result(rows, ["2026-10"]), "ndjson")
    assert json.loads(text)["value"] == 0.1 + 0.2
    assert "0.30000000000000004" in text


def test_render_text_rejects_non_text_formats(result):
    with pytest.raises(UsageError):
        render_text(result, "xlsx")


# ----------------------------------------------------------------------------- formats


@pytest.mark.parametrize(
    ("path", "fmt", "tty", "expected"),
    [
        (None, "auto", True, "table"),
        (None, "auto", False, "csv"),
        ("-", "auto", True, "table"),
        ("-", "json", True, "json"),
        (None, "markdown", False, "markdown"),
        ("out/metrics.xlsx", "auto", True, "xlsx"),
        ("metrics.PARQUET", "auto", False, "parquet"),
        ("metrics.md", "markdown", False, "markdown"),
        ("metrics.html", "auto", False, "html"),
    ],
)
def test_format_for_output(path, fmt, tty, expected):
    assert format_for_output(path, fmt, tty) == expected


@pytest.mark.parametrize("path", ["metrics.txt", "metrics", "metrics.csv.gz"])
def test_unknown_extension_is_a_usage_error(path):
    with pytest.raises(UsageError) as info:
        format_for_output(path, "auto", False)
    assert info.value.exit_code == ExitCode.USAGE
    message = str(info.value)
    assert path in message
    assert all(ext in message for ext in EXTENSIONS)


def test_format_and_extension_must_agree():
    with pytest.raises(UsageError, match="does not match"):
        format_for_output("metrics.csv", "json", False)


def test_unknown_format_is_a_usage_error():
    with pytest.raises(UsageError):
        format_for_output(None, "yaml", True)


# ----------------------------------------------------------------------------- files


@pytest.mark.parametrize("ext", [".csv", ".tsv", ".json", ".ndjson", ".md", ".html"])
@pytest.mark.parametrize("wide", [False, True])
def test_text_files_match_stdout(tmp_path, result, ext, wide):
    target = tmp_path / f"metrics{ext}"
    write_file(result, target, "auto", wide=wide)
    fmt = EXTENSIONS[ext]
    assert target.read_text(encoding="utf-8") == render_text(result, fmt, wide=wide)
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]


def test_html_is_self_contained(tmp_path, result):
    target = tmp_path / "metrics.html"
    write_file(result, target, "html")
    page = target.read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>")
    assert "<style>" in page
    for external in ("http://", "https://", "<script", "<link", "src="):
        assert external not in page
    assert "$12,300" in page
    assert 'class="r bad">▲ +1.2 pp' in page
    assert NO_SURVEY in page


@pytest.mark.parametrize("wide", [False, True])
def test_parquet_round_trip(tmp_path, by_plan, wide):
    target = tmp_path / "metrics.parquet"
    write_file(by_plan, target, "parquet", wide=wide)
    assert_frame_equal(pl.read_parquet(target), machine_frame(by_plan, wide=wide))


def test_xlsx(tmp_path, result):
    target = tmp_path / "metrics.xlsx"
    write_file(result, target, "auto")
    book = openpyxl.load_workbook(target)
    assert book.sheetnames == ["metrics", "long"]

    sheet = book["metrics"]
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    # periods are real dates (the period's first day), shown as the period (issue 13)
    assert rows == [
        ["period", "mrr", "logo_churn_rate", "active_customers", "nps"],
        [datetime(2026, 9, 1), 11800, 0.038, 118, 42],
        [datetime(2026, 10, 1), 12300, 0.05, 120, None],
    ]
    assert sheet.cell(2, 1).number_format == "yyyy-mm"
    assert [sheet.cell(2, col).number_format for col in range(2, 6)] == [
        "$#,##0.00",
        "0.0%",
        "#,##0",
        "0.0",
    ]
    assert sheet.freeze_panes == "B2"
    assert sheet.column_dimensions["D"].width >= len("active_customers")

    long = book["long"]
    long_rows = [[c.value for c in row] for row in long.iter_rows()]
    assert long_rows[0] == ["period", "metric", "value", "unit"]
    assert long_rows[1:] == [[datetime.strptime(p, "%Y-%m"), m, v, u] for p, m, v, u, *_ in ROWS]
    # one format per column in Excel: the value's per-row unit is a conditional format
    assert shown_number_format(long, long.cell(2, 3)) == "$#,##0.00"
    assert shown_number_format(long, long.cell(3, 3)) == "0.0%"
    assert long.freeze_panes is not None and long.freeze_panes.endswith("2")


def test_xlsx_strings_are_never_formulas(tmp_path):
    rows = [
        ("2026-10", "=HYPERLINK(1)", "mrr", 1.0, "USD", None, None),
        ("2026-10", "=1+1", "mrr", 2.0, "USD", None, None),
    ]
    schema = {
        "period": pl.String,
        "account": pl.String,
        **{k: v for k, v in SCHEMA.items() if k != "period"},
    }
    frame = pl.DataFrame(rows, schema=schema, orient="row")
    result = MetricResult(frame=frame, dims=["account"], metrics=dict(META), periods=["2026-10"])
    target = tmp_path / "m.xlsx"
    write_file(result, target, "xlsx")
    book = openpyxl.load_workbook(target)
    for sheet in ("metrics", "long"):
        cells = {c.value: c.data_type for c in book[sheet]["B"][1:]}
        assert cells == {"=HYPERLINK(1)": "s", "=1+1": "s"}, sheet


def test_frame_xlsx_text_is_text(tmp_path):
    """csm health / alerts workbooks: data text is never a formula nor a link."""
    frame = pl.DataFrame(
        {"account": ["=1+1", "http://example.com", "@SUM(A1)"], "score": [1.5, None, float("nan")]}
    )
    write_frame(frame, tmp_path / "h.xlsx", "xlsx", title="csm health: a/b")
    book = openpyxl.load_workbook(tmp_path / "h.xlsx")
    assert book.sheetnames == ["csm health_ a_b"]
    sheet = book.active
    assert [(c.value, c.data_type) for c in sheet["A"][1:]] == [
        ("=1+1", "s"),
        ("http://example.com", "s"),
        ("@SUM(A1)", "s"),
    ]
    assert not sheet._hyperlinks
    assert [c.value for c in sheet["B"][1:]] == [1.5, None, None]  # NaN: an empty cell
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref is None  # the table filters
    (table,) = sheet.tables.values()
    assert table.autoFilter is not None


def test_write_sheets_names_and_errors(tmp_path):
    frame = pl.DataFrame({"x": [1]})
    target = tmp_path / "w.xlsx"
    write_sheets(target, [Sheet("a" * 40, frame), Sheet("a" * 31, frame), Sheet("", frame)])
    assert openpyxl.load_workbook(target).sheetnames == ["a" * 31, "a" * 29 + "_2", "sheet"]
    with pytest.raises(OSError) as caught:
        write_sheets(tmp_path / "missing" / "w.xlsx", [Sheet("a", frame)])
    assert caught.value.errno == errno.ENOENT


@pytest.mark.parametrize(
    ("unit", "expected"),
    [
        ("USD", "$#,##0.00"),
        ("EUR", '"€"#,##0.00'),
        ("CHF", '#,##0.00 "CHF"'),
        ("ratio", "0.0%"),
        ("count", "#,##0"),
        ("days", "#,##0.0"),
    ],
)
def test_xlsx_number_formats(unit, expected):
    assert xlsx_number_format(unit) == expected


# ----------------------------------------------------------------------------- atomic writes


def test_atomic_write_keeps_previous_file_and_no_temp_on_failure(tmp_path):
    target = tmp_path / "metrics.csv"
    target.write_text("old\n")

    def broken(tmp: Path) -> None:
        assert tmp.parent == tmp_path
        assert tmp.name.startswith(".metrics.csv.") and tmp.name.endswith(".tmp")
        tmp.write_text("half a fi")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        atomic_write(target, broken)
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.csv"]


def test_os_error_in_writer_becomes_output_error(tmp_path):
    target = tmp_path / "metrics.csv"

    def full(tmp: Path) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OutputError) as info:
        atomic_write(target, full)
    assert info.value.exit_code == ExitCode.CANT_CREATE == 73
    assert "no space" in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_missing_directory_is_output_error(tmp_path, result):
    target = tmp_path / "nope" / "metrics.csv"
    with pytest.raises(OutputError) as info:
        write_file(result, target, "auto")
    assert info.value.exit_code == 73
    assert str(target) in str(info.value)
    assert "mkdir -p" in str(info.value)


def test_directory_as_target_is_output_error(tmp_path):
    with pytest.raises(OutputError, match="is a directory"):
        atomic_write_text(tmp_path, "x")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs a non-root POSIX user")
def test_unwritable_directory_is_output_error(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(OutputError, match="permission denied"):
            atomic_write_text(locked / "m.csv", "x")
    finally:
        locked.chmod(0o700)


def test_permission_error_is_output_error(tmp_path, monkeypatch):
    import tempfile

    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", denied)
    with pytest.raises(OutputError, match="permission denied") as info:
        atomic_write_text(tmp_path / "m.csv", "x")
    assert info.value.exit_code == 73
    assert "m.csv" in str(info.value)


def test_atomic_write_replaces_and_keeps_mode(tmp_path):
    target = tmp_path / "m.bin"
    target.write_bytes(b"old")
    target.chmod(0o640)
    atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"new"
    assert target.stat().st_mode & 0o777 == 0o640
    atomic_write_text(tmp_path / "n.txt", "a\nb\n")
    assert (tmp_path / "n.txt").read_bytes() == b"a\nb\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.bin", "n.txt"]


def test_failed_xlsx_leaves_previous_file(tmp_path, result, monkeypatch):
    target = tmp_path / "metrics.xlsx"
    target.write_bytes(b"previous")
    import cs_metrics.render as render

    def broken(result, tmp):
        tmp.write_bytes(b"PK partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(render.machine, "_write_xlsx", broken)
    with pytest.raises(KeyboardInterrupt):
        write_file(result, target, "xlsx")
    assert target.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.xlsx"]


# ----------------------------------------------------------------------------- for people


def record(result: MetricResult, width: int = 120) -> str:
    console = Console(record=True, width=width, color_system=None, file=open(os.devnull, "w"))  # noqa: SIM115
    render_table(result, console)
    return console.export_text()


def test_table_single_period(latest):
    text = record(latest)
    for expected in ("2026-10", "Metric", "Value", "Previous", "Change", "$12,300", "$11,800"):
        assert expected in text
    assert "5.0 %" in text and "3.8 %" in text
    assert "▲ +4.2 %" in text and "▲ +1.2 pp" in text
    assert "—¹" in text and f"¹ {NO_SURVEY}" in text
    # families in order, metrics under their family
    order = [
        text.index(s) for s in ("Revenue", "MRR", "Customers", "Logo churn", "Sentiment", "NPS")
    ]
    assert order == sorted(order)
    assert "\x1b[" not in text


def test_table_series(result):
    text = record(result)
    header = next(line for line in text.splitlines() if "Metric" in line)
    assert header.index("2026-09") < header.index("2026-10") < header.index("Change")
    assert "$11,800" in text and "$12,300" in text and "▲" in text


def test_table_series_keeps_the_latest_periods_that_fit():
    periods = [f"2025-{m:02d}" for m in range(1, 13)]
    rows = []
    for i, period in enumerate(periods):
        prev = None if i == 0 else 10000.0 + (i - 1) * 100
        rows.append((period, "mrr", 10000.0 + i * 100, "USD", prev, None))
    text = record(make_result(rows, periods), width=70)
    header = next(line for line in text.splitlines() if "Metric" in line)
    assert header.split() == ["Metric", "Trend", "2025-10", "2025-11", "2025-12", "Change"]
    assert "of 12 periods shown" in text
    assert max(len(line) for line in text.splitlines()) <= 70
    # the sparkline still covers all 12 periods
    assert "▁▂▂▃▄▄▅▅▆▇▇█" in text
    wide = record(make_result(rows, periods), width=250)
    header = next(line for line in wide.splitlines() if "Metric" in line)
    assert header.split() == ["Metric", "Trend", *periods, "Change"]
    assert "periods shown" not in wide


def test_table_by_dimension_single_period(by_plan):
    latest = MetricResult(
        frame=by_plan.frame.filter(pl.col("period") == "2026-10"),
        dims=["plan"],
        metrics=by_plan.metrics,
        periods=["2026-10"],
    )
    text = record(latest, width=160)
    header = next(line for line in text.splitlines() if "Plan" in line)
    assert header.index("Plan") < header.index("MRR") < header.index("Logo churn")
    pro = next(line for line in text.splitlines() if line.strip().startswith("pro"))
    assert "$9,225" in pro and "5.0 %" in pro and "90" in pro


def test_table_by_dimension_series_is_one_table_per_metric(by_plan):
    blocks = build_blocks(by_plan)
    assert [b.title for b in blocks] == [
        "MRR by plan",
        "Logo churn by plan",
        "Active customers by plan",
        "NPS by plan",
    ]
    assert blocks[0].headers == ["Plan", "Trend", "2026-09", "2026-10", "Change"]
    text = record(by_plan)
    assert "$8,850" in text and "$3,075" in text


def test_table_empty_result():
    empty = MetricResult(frame=pl.DataFrame(schema=SCHEMA), metrics=dict(META), periods=["2026-10"])
    assert "No metric values" in record(empty)
    assert render_text(empty, "csv") == "period,metric,value,unit\n"
    assert render_text(empty, "json") == "[]\n"
    assert render_text(empty, "ndjson") == ""


@pytest.mark.parametrize(
    ("value", "unit", "currency", "expected"),
    [
        (12300.0, "USD", "USD", "$12,300"),
        (12300.4, "currency", "EUR", "€12,300"),
        (99.5, "GBP", "USD", "£99.50"),
        (-1500.0, "USD", "USD", "-$1,500"),
        (1234567.0, "CHF", "USD", "1,234,567 CHF"),
        (0.05, "ratio", "USD", "5.0 %"),
        (1204.0, "count", "USD", "1,204"),
        (3.25, "days", "USD", "3.2 days"),
        (4.56, "hours", "USD", "4.6 hours"),
        (-12.0, "score", "USD", "-12.0"),
        (-0.0001, "ratio", "USD", "0.0 %"),
        (None, "USD", "USD", "—"),
    ],
)
def test_format_value(value, unit, currency, expected):
    assert format_value(value, unit, currency) == expected


@pytest.mark.parametrize(
    ("value", "previous", "unit", "better", "expected"),
    [
        (12300.0, 11800.0, "USD", True, ("▲ +4.2 %", "good")),
        (11000.0, 11800.0, "USD", True, ("▼ -6.8 %", "bad")),
        (0.05, 0.038, "ratio", False, ("▲ +1.2 pp", "bad")),
        (0.03, 0.038, "ratio", False, ("▼ -0.8 pp", "good")),
        (45.0, 42.0, "score", True, ("▲ +3.0 pts", "good")),
        (5.0, 4.0, "days", None, ("▲ +25.0 %", "")),
        (1200.0, 0.0, "USD", True, ("▲ +$1,200", "good")),
        (100.0, 100.0, "count", True, ("0.0 %", "muted")),
        (None, 42.0, "score", True, ("—", "muted")),
    ],
)
def test_format_change(value, previous, unit, better, expected):
    assert format_change(value, previous, unit, "USD", better) == expected


def test_every_html_page_shares_one_skeleton_and_stylesheet(tmp_path, result):
    """csm compute -o x.html, the record pages (health, alerts, cohorts) and the report's
    summary.html are drawn on one skeleton with one stylesheet, templates/page.css."""
    repo = Path(__file__).resolve().parent.parent
    css = (repo / "cs_metrics" / "templates" / "page.css").read_text(encoding="utf-8").strip()
    write_file(result, tmp_path / "m.html", "html")
    write_frame(pl.DataFrame({"account": ["a1"], "score": [41.5]}), tmp_path / "h.html", "html")
    pages = [
        (tmp_path / "m.html").read_text(encoding="utf-8"),
        (tmp_path / "h.html").read_text(encoding="utf-8"),
        (repo / "docs" / "example-report" / "summary.html").read_text(encoding="utf-8"),
    ]
    for page in pages:
        head, _, body = page.partition("<title>")
        assert head == (
            '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            '<meta name="color-scheme" content="light">\n'
        )
        assert f"</title>\n<style>\n{css}\n</style>\n</head>\n<body>\n" in body
        assert body.endswith("\n</div>\n</body>\n</html>\n")
    assert "41.50" in pages[1] and 'class="notice"' not in pages[1]
