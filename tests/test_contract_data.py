"""The data contract across every source role (issue 15): for each of the ten roles, each
malformed file gets exit 65 (bad data) or 66 (missing or unreadable input) and one message
naming the file, the row and column where there is one, the offending value and the fix;
or it is read, with the warning docs/inputs.md documents. No message shows the offending
row's other columns (the fixtures carry a name and an email that must never appear).
"""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
import pytest
from helpers import invoke

NAME, EMAIL = "Zelda Quux", "zelda@example.com"  # customer data: never in a message

# role -> (header, one good row, a float column, a date column, a text column)
ROLES: dict[str, tuple[list[str], list[str], str | None, str, str]] = {
    "accounts": (
        ["account_id", "name", "email", "signup_date"],
        ["a1", NAME, EMAIL, "2026-03-05"],
        None,
        "signup_date",
        "name",
    ),
    "subscriptions": (
        ["account_id", "name", "email", "start_date", "end_date", "amount"],
        ["a1", NAME, EMAIL, "2026-03-01", "", "100"],
        "amount",
        "start_date",
        "name",
    ),
    "invoices": (
        ["invoice_id", "account_id", "name", "email", "period_start", "period_end", "amount"],
        ["i1", "a1", NAME, EMAIL, "2026-03-01", "2026-04-01", "100"],
        "amount",
        "period_start",
        "name",
    ),
    "tickets": (
        ["ticket_id", "account_id", "name", "email", "created_at", "status"],
        ["t1", "a1", NAME, EMAIL, "2026-03-05T10:00:00", "open"],
        None,
        "created_at",
        "status",
    ),
    "surveys": (
        ["account_id", "name", "email", "submitted_at", "score"],
        ["a1", NAME, EMAIL, "2026-03-05T10:00:00", "9"],
        "score",
        "submitted_at",
        "name",
    ),
    "usage": (
        ["account_id", "name", "email", "timestamp", "event", "value"],
        ["a1", NAME, EMAIL, "2026-03-05T10:00:00", "login", "3"],
        "value",
        "timestamp",
        "event",
    ),
    "spend": (
        ["date", "channel", "name", "email", "amount"],
        ["2026-03-05", "ads", NAME, EMAIL, "250"],
        "amount",
        "date",
        "channel",
    ),
    "orders": (
        ["order_id", "customer_id", "name", "email", "ordered_at", "amount"],
        ["o1", "c1", NAME, EMAIL, "2026-03-05T10:00:00", "40"],
        "amount",
        "ordered_at",
        "name",
    ),
    "activities": (
        ["account_id", "name", "email", "occurred_at", "type", "owner"],
        ["a1", NAME, EMAIL, "2026-03-05T10:00:00", "call", "sam"],
        None,
        "occurred_at",
        "type",
    ),
    "fx": (
        ["currency", "name", "email", "date", "rate"],
        ["EUR", NAME, EMAIL, "2026-03-05", "1.1"],
        "rate",
        "date",
        "name",
    ),
}
ALL = list(ROLES)
NUMERIC = [r for r in ALL if ROLES[r][2]]


def csv_text(header: list[str], rows: list[list[str]]) -> str:
    return "".join(",".join(r) + "\n" for r in [header, *rows])


def good(role: str) -> str:
    header, row, *_ = ROLES[role]
    return csv_text(header, [row, second_row(role)])


def second_row(role: str) -> list[str]:
    """The good row again, with another id (spend rows have none)."""
    second = list(ROLES[role][1])
    if role != "spend":
        second[0] = second[0][0] + "2"
    return second


def with_value(role: str, column: str, value: str, row: int = 1) -> str:
    """The good file with ``column`` of data row ``row`` (1 = the first) set to ``value``."""
    header, first, *_ = ROLES[role]
    rows = [list(first), second_row(role)]
    rows[row - 1][header.index(column)] = value
    return csv_text(header, rows)


def project(tmp_path: Path, role: str, path: str = "data.csv", options: str = "") -> Path:
    spec = tmp_path / "metrics.yaml"
    column = ROLES[role][2]
    metric = f"{{type: aggregate, source: {role}" + (
        f", agg: sum, column: {column}}}" if column else "}"
    )
    opts = f", options: {options}" if options else ""
    spec.write_text(
        f"version: 1\nas_of: 2026-03-31\nsources:\n  {role}: {{path: {path}{opts}}}\n"
        f"metrics:\n  m: {metric}\n",
        encoding="utf-8",
    )
    return spec


def run(spec: Path, code: int, stderr=None, command: str = "compute"):
    args = [command, "--spec", spec]
    if command == "compute":
        args += ["-f", "csv", "-p", "2026-03"]
    r = invoke(args, code=code, stderr=stderr)
    assert "Traceback" not in r.stderr
    assert NAME not in r.stderr and EMAIL not in r.stderr, r.stderr
    if code:
        lines = [line for line in r.stderr.splitlines() if line.strip()]
        assert len(lines) <= 2, r.stderr  # the headline (and its one problem line)
    return r


def write(tmp_path: Path, content: str | bytes, name: str = "data.csv") -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def value_of(r) -> float:
    row = next(line for line in r.stdout.splitlines() if line.startswith("2026-03"))
    return float(row.split(",")[2])


# ---- the good file is read on every role (the baseline of the matrix) --------------------
@pytest.mark.parametrize("role", ALL)
def test_the_good_file_is_read(tmp_path, role):
    write(tmp_path, good(role))
    r = run(project(tmp_path, role), 0)
    column = ROLES[role][2]
    first = float(ROLES[role][1][ROLES[role][0].index(column)]) if column else 1
    assert value_of(r) == pytest.approx(2 * first)  # two rows dated in March


# ---- file structure ------------------------------------------------------------------------
@pytest.mark.parametrize("role", ALL)
def test_empty_file(tmp_path, role):
    write(tmp_path, "")
    run(project(tmp_path, role), 65, ["data.csv", "the file is empty", "export it again"])


@pytest.mark.parametrize("role", ALL)
def test_header_only_file_is_a_warning(tmp_path, role):
    write(tmp_path, csv_text(ROLES[role][0], []))
    run(project(tmp_path, role), 0, ["data.csv", "0 rows (only a header)"])


@pytest.mark.parametrize("role", ALL)
def test_duplicated_header_name(tmp_path, role):
    header, row, *_ = ROLES[role]
    write(tmp_path, csv_text([*header, header[0]], [[*row, "x"]]))
    run(project(tmp_path, role), 65, ["data.csv", f"column {header[0]!r} twice", "rename one"])


@pytest.mark.parametrize("role", ALL)
def test_extra_field(tmp_path, role):
    header, row, *_ = ROLES[role]
    write(tmp_path, csv_text(header, [row, [*row, "stray"]]))
    run(project(tmp_path, role), 65, ["data.csv:3", "'stray'", "beyond the header", "quote"])


@pytest.mark.parametrize("role", ALL)
def test_quoted_newline_in_a_text_field_is_read(tmp_path, role):
    header, row, _num, _date, text = ROLES[role]
    quoted = list(row)
    quoted[header.index(text)] = '"two\nlines, and a comma"'
    write(tmp_path, csv_text(header, [quoted, row]))
    assert value_of(run(project(tmp_path, role), 0)) > 0


@pytest.mark.parametrize("role", ALL)
def test_utf8_bom_is_dropped(tmp_path, role):
    write(tmp_path, b"\xef\xbb\xbf" + good(role).encode())
    run(project(tmp_path, role), 0)


@pytest.mark.parametrize("role", ALL)
def test_utf16_with_bom_is_read(tmp_path, role):
    write(tmp_path, good(role).encode("utf-16"))
    run(project(tmp_path, role), 0, "read as UTF-16")


@pytest.mark.parametrize("role", ALL)
def test_latin1_bytes_in_a_utf8_file(tmp_path, role):
    header, row, _num, _date, text = ROLES[role]
    bad = list(row)
    bad[header.index(text)] = "Caf\xe9"
    write(tmp_path, csv_text(header, [row, bad]).encode("latin-1"))
    run(project(tmp_path, role), 65, ["data.csv:3", "byte 0xE9 is not UTF-8", "encoding"])


@pytest.mark.parametrize("role", ALL)
def test_mixed_encodings_latin1_source_with_a_utf8_file(tmp_path, role):
    header, row, _num, _date, text = ROLES[role]
    accented = list(row)
    accented[header.index(text)] = "Café"
    write(tmp_path, csv_text(header, [accented]))
    run(project(tmp_path, role, options="{encoding: latin1}"), 0, "read as UTF-8, not latin1")


# ---- files that are not there ----------------------------------------------------------
@pytest.mark.parametrize("role", ALL)
def test_glob_that_matches_nothing(tmp_path, role):
    run(project(tmp_path, role, "exports/*.csv"), 66, ["no file matches", "exports/*.csv"])


@pytest.mark.parametrize("role", ALL)
def test_directory_where_a_file_was_expected(tmp_path, role):
    (tmp_path / "data.csv").mkdir()
    run(project(tmp_path, role), 66, ["is a directory, not a file"])


@pytest.mark.parametrize("role", ALL)
def test_symlink_loop_where_a_file_was_expected(tmp_path, role):
    os.symlink(tmp_path / "data.csv", tmp_path / "data.csv")
    run(project(tmp_path, role), 66, ["data.csv is a symlink loop"])


# ---- Parquet -----------------------------------------------------------------------------
def _parquet(role: str) -> pl.DataFrame:
    header, row, *_ = ROLES[role]
    return pl.DataFrame({h: [v] for h, v in zip(header, row, strict=True)})


@pytest.mark.parametrize("role", ALL)
def test_truncated_parquet(tmp_path, role):
    path = tmp_path / "data.parquet"
    _parquet(role).write_parquet(path)
    path.write_bytes(path.read_bytes()[:-40])
    run(
        project(tmp_path, role, "data.parquet"),
        65,
        ["data.parquet is not a readable Parquet file", "export it again"],
    )


@pytest.mark.parametrize("role", ALL)
def test_parquet_with_a_nested_column_where_a_date_is_expected(tmp_path, role):
    date = ROLES[role][3]
    _parquet(role).with_columns(pl.concat_list(pl.lit(1)).alias(date)).write_parquet(
        tmp_path / "data.parquet"
    )
    run(
        project(tmp_path, role, "data.parquet"),
        65,
        ["data.parquet", f"column {date} is List", "plain column"],
    )


@pytest.mark.parametrize("role", ALL)
def test_parquet_with_a_boolean_where_a_date_is_expected(tmp_path, role):
    date = ROLES[role][3]
    _parquet(role).with_columns(pl.lit(True).alias(date)).write_parquet(tmp_path / "data.parquet")
    run(
        project(tmp_path, role, "data.parquet"),
        65,
        ["data.parquet:1", f"column {date}", "'true'", "is not a"],
    )


# ---- values --------------------------------------------------------------------------------
@pytest.mark.parametrize("role", NUMERIC)
@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("NaN", "is not a finite number"),
        ("inf", "is not a finite number"),
        ("-Infinity", "is not a finite number"),
        ("1e300", "is too large"),
    ],
)
def test_nan_inf_and_huge_numbers(tmp_path, role, value, problem):
    column = ROLES[role][2]
    assert column
    write(tmp_path, with_value(role, column, value, row=2))
    run(project(tmp_path, role), 65, ["data.csv:3", f"column {column}", repr(value), problem])


@pytest.mark.parametrize("role", NUMERIC)
def test_currency_symbol_and_thousands_are_read_with_a_warning(tmp_path, role):
    column = ROLES[role][2]
    assert column
    write(tmp_path, with_value(role, column, '"$1,234.50"', row=2))
    r = run(project(tmp_path, role), 0, ["currency symbol or thousands separators", "'$1,234.50'"])
    first = float(ROLES[role][1][ROLES[role][0].index(column)])
    assert value_of(r) == pytest.approx(first + 1234.5)


@pytest.mark.parametrize("role", NUMERIC)
def test_ambiguous_thousands_is_refused_with_the_option(tmp_path, role):
    column = ROLES[role][2]
    assert column
    write(tmp_path, with_value(role, column, '"1,200"', row=2))
    run(project(tmp_path, role), 65, ["data.csv:3", "'1,200'", "thousands: ','"])


@pytest.mark.parametrize("role", NUMERIC)
def test_text_in_a_number_column(tmp_path, role):
    column = ROLES[role][2]
    assert column
    write(tmp_path, with_value(role, column, "n/a-ish", row=2))
    run(project(tmp_path, role), 65, ["data.csv:3", f"column {column}", "'n/a-ish'", "number"])


@pytest.mark.parametrize("role", ALL)
def test_bad_date(tmp_path, role):
    date = ROLES[role][3]
    write(tmp_path, with_value(role, date, "31/03/2026", row=2))
    run(project(tmp_path, role), 65, ["data.csv:3", f"column {date}", "'31/03/2026'", "%d/%m/%Y"])


@pytest.mark.parametrize(
    ("role", "start", "end", "start_value", "end_value"),
    [
        ("subscriptions", "start_date", "end_date", "2026-03-01", "2026-02-01"),
        ("invoices", "period_start", "period_end", "2026-03-01", "2026-02-01"),
    ],
)
def test_end_before_start(tmp_path, role, start, end, start_value, end_value):
    header, row, *_ = ROLES[role]
    bad = list(row)
    bad[header.index(start)], bad[header.index(end)] = start_value, end_value
    write(tmp_path, csv_text(header, [row, bad]))
    run(project(tmp_path, role), 65, ["data.csv:3", f"column {end}", repr(end_value), start])


# ---- short rows and empty required values ----------------------------------------------
def _required(role: str, column: str) -> bool:
    from cs_metrics.spec.models import ROLE_COLUMNS

    return ROLE_COLUMNS[role].get(column, ("", False))[1]


@pytest.mark.parametrize("role", ALL)
def test_short_row(tmp_path, role):
    """A row with fewer fields than the header reads its missing fields as empty (polars
    cannot tell 'a,b' from 'a,b,' for a three-column header): fine for an optional column,
    an error naming the row for a required one (the row would silently drop out)."""
    header, row, *_ = ROLES[role]
    last = header[-1]
    write(tmp_path, csv_text(header, [row, row[:-1]]))
    if _required(role, last):
        run(project(tmp_path, role), 65, ["data.csv:3", f"column {last}", "is empty", last])
    else:
        run(project(tmp_path, role), 0)


@pytest.mark.parametrize("role", ALL)
def test_empty_required_value(tmp_path, role):
    from cs_metrics.spec.models import ROLE_COLUMNS

    header = ROLES[role][0]
    column = next(
        c
        for c in header
        if ROLE_COLUMNS[role].get(c, ("", False))[1] and c not in ("order_id", "ticket_id")
    )
    write(tmp_path, with_value(role, column, "  ", row=2))
    run(
        project(tmp_path, role),
        65,
        ["data.csv:3", f"column {column}", f"every {role} row needs a {column}", "fill it"],
    )


# ---- duplicate ids: a finding of csm validate, never an error ----------------------------
@pytest.mark.parametrize(
    ("role", "key"), [("accounts", "account_id"), ("tickets", "ticket_id"), ("orders", "order_id")]
)
def test_duplicate_id_is_a_validate_warning(tmp_path, role, key):
    header, row, *_ = ROLES[role]
    write(tmp_path, csv_text(header, [row, row]))
    spec = project(tmp_path, role)
    run(spec, 0, ["warning", f"duplicate {key} values", "rows 2, 3"], command="validate")


def test_invoice_lines_may_share_an_invoice_id(tmp_path):
    """One invoice has several lines: a repeated invoice_id is not a finding."""
    header, row, *_ = ROLES["invoices"]
    write(tmp_path, csv_text(header, [row, row]))
    r = run(project(tmp_path, "invoices"), 0)
    assert value_of(r) == pytest.approx(200)  # 100 + 100: both lines are billed
    # two lines alike in every column are still both billed, but csm validate asks whether the
    # export repeated them; lines that differ (here the amount) are no finding
    alike = ["warning", "invoice lines alike in every column", "rows 2, 3"]
    run(project(tmp_path, "invoices"), 0, alike, command="validate")
    assert header[-1] == "amount"
    write(tmp_path, csv_text(header, [row, [*row[:-1], "150"]]))
    r = run(project(tmp_path, "invoices"), 0, command="validate")
    assert "alike in every column" not in r.stderr + r.stdout


def test_overlapping_subscription_rows_are_a_warning(tmp_path):
    header = [*ROLES["subscriptions"][0], "subscription_id"]
    row = [*ROLES["subscriptions"][1], "s1"]
    write(tmp_path, csv_text(header, [row, row]))
    run(project(tmp_path, "subscriptions"), 0, ["start before an earlier row", "data.csv:3"])


@pytest.mark.parametrize(("role", "key"), [("tickets", "ticket_id"), ("orders", "order_id")])
def test_a_row_without_its_own_id_is_still_read(tmp_path, role, key):
    """ticket_id and order_id are required in the header, not on every row: a row
    without its own id is still a ticket or an order (tests/test_orders.py counts it)."""
    write(tmp_path, with_value(role, key, "", row=2))
    run(project(tmp_path, role), 0)


@pytest.mark.parametrize("role", [r for r in ALL if _required(r, ROLES[r][3])])
def test_parquet_null_in_a_required_column(tmp_path, role):
    """The same rule for typed files: a null required value is refused with its row
    (Parquet rows count from 1)."""
    date = ROLES[role][3]
    frame = pl.concat([_parquet(role), _parquet(role).with_columns(pl.lit(None).alias(date))])
    frame.write_parquet(tmp_path / "data.parquet")
    run(project(tmp_path, role, "data.parquet"), 65, ["data.parquet:2", f"column {date}", "empty"])
