"""Hostile and broken data files (issue 15): one clear message, the right exit code.

Each case is refused with exit 65 (bad data) or 66 (missing/unreadable input) and a
message naming the file, the row or line, the column, the offending value and the fix — or
read, with a warning where the issue says so. No message shows the row's other columns.
"""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
import pytest
from helpers import invoke

HEADER = "account_id,start_date,amount\n"


def project(tmp_path: Path, source: str, files: dict[str, str | bytes], role: str = "") -> Path:
    for name, content in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    role = role or "subscriptions"
    metric = "{type: mrr}" if role == "subscriptions" else f"{{type: aggregate, source: {role}}}"
    spec = tmp_path / "metrics.yaml"
    spec.write_text(
        f"version: 1\nas_of: 2026-03-31\nsources:\n  {role}: {source}\nmetrics:\n  m: {metric}\n",
        encoding="utf-8",
    )
    return spec


def compute(spec: Path, code: int = 0, stderr=None):
    return invoke(["compute", "--spec", spec, "-f", "csv"], code=code, stderr=stderr)


def one_message(r) -> None:
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) <= 2, r.stderr  # the headline (and its one problem line)
    assert "Traceback" not in r.stderr


def mrr_of(r, period: str = "2026-03") -> float:
    row = next(line for line in r.stdout.splitlines() if line.startswith(period))
    return float(row.split(",")[2])


# ---- CSV structure -----------------------------------------------------------------------
def test_stray_double_quote_inside_a_field_names_the_row(tmp_path):
    spec = project(
        tmp_path,
        "{path: orders.csv}",
        {
            "orders.csv": "account_id,start_date,amount,plan\n"
            "a1,2026-01-01,10,basic\n"
            'a2,2026-01-01,20,27" monitor\n'
            "a3,2026-01-01,30,pro\n"
        },
    )
    r = compute(
        spec, code=65, stderr=["orders.csv:3", "'27\" monitor'", '"27"" monitor"', "quote_char"]
    )
    one_message(r)


def test_quote_char_null_reads_a_file_that_never_quotes(tmp_path):
    spec = project(
        tmp_path,
        "{path: orders.csv, options: {quote_char: null}}",
        {"orders.csv": 'account_id,start_date,amount,plan\na2,2026-01-01,20,27" monitor\n'},
    )
    assert mrr_of(compute(spec)) == 20


def test_header_only_file_is_a_warning_naming_the_file(tmp_path):
    spec = project(
        tmp_path,
        "{path: [jan.csv, feb.csv]}",
        {"jan.csv": HEADER + "a1,2026-01-01,10\n", "feb.csv": HEADER},
    )
    r = compute(spec, stderr=["feb.csv: 0 rows (only a header)"])
    assert mrr_of(r) == 10
    invoke(["validate", "--spec", spec], stderr="feb.csv: 0 rows")


def test_empty_file_is_refused(tmp_path):
    spec = project(tmp_path, "{path: subs.csv}", {"subs.csv": ""})
    one_message(compute(spec, code=65, stderr=["subs.csv", "empty"]))


def test_duplicated_header_names_the_column(tmp_path):
    spec = project(
        tmp_path,
        "{path: subs.csv}",
        {"subs.csv": "account_id,start_date,amount,amount\na1,2026-01-01,10,20\n"},
    )
    one_message(compute(spec, code=65, stderr=["subs.csv", "column 'amount' twice", "3 and 4"]))


def test_ragged_row_with_an_extra_field_is_refused_by_compute(tmp_path):
    # compute reads only the columns mrr needs; the extra field must still be noticed
    spec = project(
        tmp_path,
        "{path: subs.csv}",
        {
            "subs.csv": "account_id,start_date,amount,plan\n"
            "a1,2026-01-01,10,basic\n"
            "a2,2026-01-01,1,200,pro\n"
        },
    )
    r = compute(spec, code=65, stderr=["subs.csv:3", "'pro'", "beyond the header's 4", "quote"])
    one_message(r)
    invoke(["validate", "--spec", spec], code=65, stderr="subs.csv:3")


def test_trailing_delimiters_are_not_extra_fields(tmp_path):
    spec = project(tmp_path, "{path: subs.csv}", {"subs.csv": HEADER + "a1,2026-01-01,10,\n"})
    assert mrr_of(compute(spec)) == 10


def test_end_date_before_start_date_is_an_error(tmp_path):
    spec = project(
        tmp_path,
        "{path: subs.csv}",
        {
            "subs.csv": "account_id,start_date,end_date,amount\n"
            "a1,2026-01-01,,10\n"
            "a2,2026-03-01,2026-02-01,20\n"
        },
    )
    r = compute(spec, code=65, stderr=["subs.csv:3", "end_date", "'2026-02-01'", "start_date"])
    one_message(r)
    invoke(["validate", "--spec", spec], code=65, stderr="subs.csv:3")


def test_period_end_before_period_start_is_an_error(tmp_path):
    spec = project(
        tmp_path,
        "{path: inv.csv}",
        {"inv.csv": "account_id,period_start,period_end,amount\na1,2026-03-01,2026-02-01,10\n"},
        role="invoices",
    )
    one_message(compute(spec, code=65, stderr=["inv.csv:2", "period_end", "'2026-02-01'"]))


@pytest.mark.parametrize("amount", ["NaN", "inf", "-Infinity", "1e400", "3e15"])
def test_nan_inf_and_overflowing_amounts_are_refused(tmp_path, amount):
    spec = project(
        tmp_path,
        "{path: subs.csv}",
        {"subs.csv": HEADER + f"a1,2026-01-01,10\na2,2026-01-01,{amount}\n"},
    )
    one_message(compute(spec, code=65, stderr=["subs.csv:3", "column amount", repr(amount)]))


def test_nan_in_a_parquet_float_column_is_refused(tmp_path):
    path = tmp_path / "subs.parquet"
    pl.DataFrame(
        {
            "account_id": ["a1", "a2"],
            "start_date": ["2026-01-01"] * 2,
            "amount": [10.0, float("nan")],
        }
    ).write_parquet(path)
    spec = project(tmp_path, "{path: subs.parquet}", {})
    # Parquet rows are numbered from 1 (no header row)
    compute(spec, code=65, stderr=["subs.parquet:2", "column amount", "'NaN'", "finite"])


TWO_OPEN = (
    "subscription_id,account_id,start_date,end_date,amount\n"
    "s1,a1,2026-01-01,,100\n"
    "s1,a1,2026-01-01,,100\n"
)


def test_two_identical_open_ended_rows_are_flagged(tmp_path):
    spec = project(tmp_path, "{path: subs.csv}", {"subs.csv": TWO_OPEN})
    invoke(
        ["validate", "--spec", spec],
        stderr=["subs.csv:3", "start before an earlier row of the same subscription_id ends"],
    )
    r = compute(spec, stderr=["1 row(s) start before an earlier row", "subs.csv:3"])
    assert mrr_of(r) == 200  # still counted twice, but said so


def test_a_later_version_after_an_ended_one_is_fine(tmp_path):
    text = (
        "subscription_id,account_id,start_date,end_date,amount\n"
        "s1,a1,2026-01-01,2026-02-01,100\n"
        "s1,a1,2026-02-01,,150\n"
    )
    spec = project(tmp_path, "{path: subs.csv}", {"subs.csv": text})
    r = compute(spec)
    assert "earlier row" not in r.stderr
    assert mrr_of(r) == 150


# ---- paths -------------------------------------------------------------------------------
def test_recursive_glob_through_a_symlink_loop_reads_each_file_once(tmp_path):
    (tmp_path / "exports").mkdir()
    (tmp_path / "exports" / "subs.csv").write_text(HEADER + "a1,2026-01-01,150\n")
    os.symlink(tmp_path / "exports", tmp_path / "exports" / "loop")
    spec = project(tmp_path, '{path: "exports/**/*.csv"}', {})
    r = compute(spec, stderr="each file is read once")
    assert mrr_of(r) == 150  # not 150 x 41


def test_a_directory_where_a_file_was_expected(tmp_path):
    (tmp_path / "exports").mkdir()
    spec = project(tmp_path, "{path: exports}", {})
    r = compute(spec, code=66, stderr=["exports is a directory, not a file", "*.csv"])
    one_message(r)


def test_a_symlink_loop_where_a_file_was_expected(tmp_path):
    os.symlink(tmp_path / "b.csv", tmp_path / "a.csv")
    os.symlink(tmp_path / "a.csv", tmp_path / "b.csv")
    spec = project(tmp_path, "{path: a.csv}", {})
    one_message(compute(spec, code=66, stderr=["a.csv is a symlink loop"]))


def test_a_glob_that_matches_nothing_names_the_pattern(tmp_path):
    spec = project(tmp_path, '{path: "exports/*.csv"}', {})
    one_message(compute(spec, code=66, stderr=["no file matches 'exports/*.csv'"]))


# ---- NDJSON and Parquet ------------------------------------------------------------------
def test_malformed_ndjson_line_names_its_line_number(tmp_path):
    lines = [
        '{"account_id": "a1", "start_date": "2026-01-01", "amount": 10}',
        '{"account_id": "a2", "start_date": "2026-01-01", "amount": 20}',
        '{"account_id": "a3", "start_date": "2026-01-01", "amount": 3',
    ]
    spec = project(tmp_path, "{path: subs.ndjson}", {"subs.ndjson": "\n".join(lines) + "\n"})
    one_message(compute(spec, code=65, stderr=["subs.ndjson:3", "not valid JSON"]))


def test_truncated_parquet_names_the_file(tmp_path):
    path = tmp_path / "subs.parquet"
    pl.DataFrame(
        {"account_id": ["a1"], "start_date": ["2026-01-01"], "amount": [1.0]}
    ).write_parquet(path)
    path.write_bytes(path.read_bytes()[:40])
    spec = project(tmp_path, "{path: subs.parquet}", {})
    one_message(compute(spec, code=65, stderr=["subs.parquet", "truncated or corrupt"]))


def test_wrong_parquet_types_name_the_file_and_column(tmp_path):
    path = tmp_path / "subs.parquet"
    pl.DataFrame(
        {"account_id": ["a1"], "start_date": ["2026-01-01"], "amount": [[1.0, 2.0]]}
    ).write_parquet(path)
    spec = project(tmp_path, "{path: subs.parquet}", {})
    one_message(compute(spec, code=65, stderr=["subs.parquet", "column amount", "List(Float64)"]))


def test_parquet_dates_as_text_that_do_not_parse(tmp_path):
    path = tmp_path / "subs.parquet"
    pl.DataFrame(
        {"account_id": ["a1"], "start_date": ["15.01.2026"], "amount": [1.0]}
    ).write_parquet(path)
    spec = project(tmp_path, "{path: subs.parquet}", {})
    compute(spec, code=65, stderr=["subs.parquet:1", "start_date", "'%d.%m.%Y'"])


# ---- spec options ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ('{delimiter: "::"}', ["delimiter must be one character", "got '::'"]),
        ("{timezone: Europe/Berln}", ["unknown time zone 'Europe/Berln'", "'Europe/Berlin'"]),
        ("{encoding: ebcdic}", ["encoding", "'latin1'", "'ebcdic' is not allowed"]),
        ('{decimal: ",", thousands: ","}', ["decimal and thousands are both ','"]),
    ],
)
def test_bad_source_options_are_spec_errors(tmp_path, options, expected):
    spec = project(tmp_path, f"{{path: subs.csv, options: {options}}}", {"subs.csv": HEADER})
    r = invoke(["compute", "--spec", spec], code=78, stderr=expected)
    assert "internal error" not in r.stderr


# ---- privacy -----------------------------------------------------------------------------
def test_messages_show_only_the_offending_value(tmp_path):
    text = "account_id,name,email,start_date,amount\na1,Jane Roe,jane@example.com,2026-01-01,ten\n"
    spec = project(tmp_path, "{path: subs.csv}", {"subs.csv": text})
    r = compute(spec, code=65, stderr=["subs.csv:2", "'ten'"])
    assert "Jane" not in r.stderr and "jane@example.com" not in r.stderr
    r = invoke(["validate", "--spec", spec], code=65)
    assert "Jane" not in r.stderr and "jane@example.com" not in r.stderr


def test_utf16_without_a_byte_order_mark_names_the_option(tmp_path):
    data = (HEADER + "a1,2026-01-01,10\n").encode("utf-16-le")
    spec = project(tmp_path, "{path: subs.csv}", {"subs.csv": data})
    one_message(compute(spec, code=65, stderr=["subs.csv", "NUL bytes", "encoding: utf16"]))
    spec = project(tmp_path, "{path: subs.csv, options: {encoding: utf16}}", {})
    assert mrr_of(compute(spec)) == 10


def test_text_after_a_closing_quote_names_the_row(tmp_path):
    spec = project(
        tmp_path,
        "{path: subs.csv}",
        {"subs.csv": 'account_id,start_date,amount,plan\na1,2026-01-01,10,"27" monitor"\n'},
    )
    one_message(compute(spec, code=65, stderr=["subs.csv:2", "text follows a closing"]))


def test_blank_header_names_are_ignored(tmp_path):
    spec = project(
        tmp_path,
        "{path: subs.csv}",
        {"subs.csv": "account_id,,start_date,,amount\na1,x,2026-01-01,y,10\n"},
    )
    assert mrr_of(compute(spec)) == 10


def test_ndjson_line_that_is_not_an_object(tmp_path):
    lines = ['{"account_id": "a1", "start_date": "2026-01-01", "amount": 10}', "[1, 2]"]
    spec = project(tmp_path, "{path: subs.ndjson}", {"subs.ndjson": "\n".join(lines) + "\n"})
    compute(spec, code=65, stderr=["subs.ndjson"])


def test_a_file_named_like_a_glob_pattern_is_read_not_matched(tmp_path):
    # polars reads a path with [ ] as a pattern: e[1].csv matched nothing and read 0 rows
    spec = project(tmp_path, '{path: "in/*.csv"}', {"in/e[1].csv": HEADER + "a1,2026-01-01,10\n"})
    assert mrr_of(compute(spec)) == 10
    pl.DataFrame(
        {"account_id": ["a1"], "start_date": ["2026-01-01"], "amount": [5.0]}
    ).write_parquet(tmp_path / "in" / "p[2].parquet")
    spec = project(tmp_path, '{path: "in/*.parquet"}', {})
    assert mrr_of(compute(spec)) == 5
