"""Real-world exports (issue 11): near-miss column names, European and Excel files.

Every test writes the files a vendor or a spreadsheet would export, runs `csm` on them and
checks the number (hand-computed in the test) and what stderr says was decided.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers import invoke

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "exports"


def project(tmp_path: Path, source: str, files: dict[str, str | bytes], role: str = "") -> Path:
    """A spec with one subscriptions source (``source`` is its YAML mapping) and the files."""
    for name, content in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    spec = tmp_path / "metrics.yaml"
    spec.write_text(
        "version: 1\nas_of: 2026-03-31\nsources:\n"
        f"  {role or 'subscriptions'}: {source}\n"
        "metrics:\n  mrr: {type: mrr}\n",
        encoding="utf-8",
    )
    return spec


def mrr(spec: Path, period: str = "2026-03", **kwargs) -> tuple[float, str]:
    r = invoke(["compute", "--spec", spec, "-f", "csv", "mrr"], **kwargs)
    row = next(line for line in r.stdout.splitlines() if line.startswith(period))
    return float(row.split(",")[2]), r.stderr


# ---- near-miss column names ----------------------------------------------------------------
def test_capitalised_interval_and_quantity_are_used_and_said(tmp_path):
    spec = project(
        tmp_path,
        "{path: subs.csv}",
        {
            "subs.csv": "Account ID,Start Date,Amount,Interval,Quantity\n"
            "a1,2026-01-01,12000,year,1\n"
            "a2,2026-01-01,100,month,2\n"
        },
    )
    value, err = mrr(spec)
    # 12,000 a year / 12 + 100 x 2 a month = 1,000 + 200 (not 12,100)
    assert value == 12000 / 12 + 100 * 2
    assert "using column 'Account ID' as account_id" in err
    assert "'Interval' as interval" in err
    assert "'Quantity' as quantity" in err


@pytest.mark.parametrize("name", ["ACCOUNT_ID", "account id", "AccountId", " account_id"])
def test_account_id_spellings(tmp_path, name):
    spec = project(
        tmp_path, "{path: subs.csv}", {"subs.csv": f"{name},start_date,amount\na1,2026-01-01,70\n"}
    )
    value, err = mrr(spec)
    assert value == 70
    assert f"using column {name!r} as account_id" in err


def test_a_column_that_looks_like_interval_is_warned_about_by_name(tmp_path):
    spec = project(
        tmp_path,
        "{path: subs.csv}",
        {"subs.csv": "account_id,start_date,amount,billing_interval\na1,2026-01-01,1200,year\n"},
    )
    value, err = mrr(spec)
    assert value == 1200  # not mapped: read as monthly, and said so
    assert "column 'billing_interval' looks like interval" in err
    assert "sources.subscriptions.columns: {interval: billing_interval}" in err


def test_mapping_the_near_miss_column_fixes_it(tmp_path):
    spec = project(
        tmp_path,
        "{path: subs.csv, columns: {interval: billing_interval}}",
        {"subs.csv": "account_id,start_date,amount,billing_interval\na1,2026-01-01,1200,year\n"},
    )
    value, err = mrr(spec)
    assert value == 1200 / 12
    assert "looks like" not in err


def test_two_columns_normalising_to_one_canonical_name_are_refused(tmp_path):
    spec = project(
        tmp_path,
        "{path: subs.csv}",
        {"subs.csv": "Account ID,ACCOUNT-ID,start_date,amount\na1,a1,2026-01-01,5\n"},
    )
    invoke(
        ["compute", "--spec", spec],
        code=65,
        stderr=["'Account ID' and 'ACCOUNT-ID' both look like account_id", "columns"],
    )


def test_missing_required_column_names_the_synonym_in_the_file(tmp_path):
    spec = project(
        tmp_path,
        "{path: subs.csv}",
        {"subs.csv": "customer_id,start_date,amount\nc1,2026-01-01,5\n"},
    )
    invoke(["compute", "--spec", spec], code=65, stderr=["'account_id'", "'customer_id'"])


# ---- European and Excel exports ----------------------------------------------------------
def test_semicolons_and_decimal_comma(tmp_path):
    spec = project(
        tmp_path,
        '{path: subs.csv, options: {decimal: ",", thousands: "."}}',
        {"subs.csv": "account_id;start_date;amount\na1;2026-01-01;1.200,50\na2;2026-01-01;99,5\n"},
    )
    value, err = mrr(spec)
    assert value == pytest.approx(1200.50 + 99.5)
    assert "fields separated by ';' (guessed from the header line" in err


@pytest.mark.parametrize(("sep", "shown"), [("\t", "tab"), ("|", "'|'")])
def test_other_delimiters_are_guessed(tmp_path, sep, shown):
    rows = ["account_id", "start_date", "amount"], ["a1", "2026-01-01", "40"]
    spec = project(
        tmp_path, "{path: subs.csv}", {"subs.csv": "".join(sep.join(r) + "\n" for r in rows)}
    )
    value, err = mrr(spec)
    assert value == 40
    assert f"fields separated by {shown}" in err


def test_a_given_delimiter_is_not_guessed(tmp_path):
    spec = project(
        tmp_path,
        '{path: subs.csv, options: {delimiter: ";"}}',
        {"subs.csv": "account_id;start_date;amount\na1;2026-01-01;40\n"},
    )
    value, err = mrr(spec)
    assert value == 40
    assert "guessed" not in err


def test_european_number_without_the_option_says_which_option(tmp_path):
    spec = project(
        tmp_path,
        "{path: subs.csv}",
        {"subs.csv": "account_id;start_date;amount\na1;2026-01-01;1.200,50\n"},
    )
    invoke(
        ["compute", "--spec", spec],
        code=65,
        stderr=["subs.csv:2", "'1.200,50'", "{decimal: ',', thousands: '.'}"],
    )


def test_thousands_option_refuses_a_badly_grouped_number(tmp_path):
    spec = project(
        tmp_path,
        '{path: subs.csv, options: {thousands: ","}}',
        {
            "subs.csv": 'account_id,start_date,amount\na1,2026-01-01,"1,200"\na2,2026-01-01,"12,00"\n'
        },
    )
    invoke(["compute", "--spec", spec], code=65, stderr=["subs.csv:3", "'12,00'"])


def test_excel_unicode_text_utf16_tab_separated(tmp_path):
    shutil.copy(FIXTURES / "excel_unicode.txt", tmp_path / "export.txt")
    spec = project(tmp_path, "{path: export.txt}", {})
    value, err = mrr(spec)
    assert value == 1200 / 12 + 50
    assert "read as UTF-16" in err
    assert "fields separated by tab" in err


def test_latin1_export_with_the_encoding_option(tmp_path):
    shutil.copy(FIXTURES / "german_latin1.csv", tmp_path / "kunden.csv")
    spec = project(
        tmp_path,
        '{path: kunden.csv, options: {encoding: latin-1, decimal: ",", thousands: ".", '
        'date_format: "%d.%m.%Y"}}',
        {},
    )
    value, _ = mrr(spec)
    assert value == pytest.approx(1200.50 + 99.50)


def test_latin1_bytes_without_the_option_name_the_encoding_option(tmp_path):
    shutil.copy(FIXTURES / "german_latin1.csv", tmp_path / "kunden.csv")
    spec = project(tmp_path, "{path: kunden.csv}", {})
    r = invoke(
        ["compute", "--spec", spec],
        code=65,
        stderr=["kunden.csv:2", "not UTF-8", "sources.subscriptions.options.encoding", "latin1"],
    )
    assert "Müller" not in r.stderr and "M\\xfcller" not in r.stderr


def test_bytes_that_are_not_utf8_far_into_a_big_file_name_the_line(tmp_path):
    rows = "".join(f"a{i},2026-01-01,1\n" for i in range(5000))  # beyond the first 64 KiB
    data = ("account_id,start_date,amount,plan\n" + rows).encode() + b"z,2026-01-01,1,Caf\xe9\n"
    spec = project(tmp_path, "{path: subs.csv}", {"subs.csv": data})
    invoke(
        ["compute", "--spec", spec],
        code=65,
        stderr=["subs.csv:5002", "0xE9", "encoding"],
    )


def test_utf8_file_in_a_latin1_source_is_read_as_utf8(tmp_path):
    spec = project(
        tmp_path,
        "{path: [a.csv, b.csv], options: {encoding: latin1}}",
        {
            "a.csv": "account_id,start_date,amount,plan\na1,2026-01-01,10,Café\n",
            "b.csv": b"account_id,start_date,amount,plan\nb1,2026-01-01,20,Caf\xe9\n",
        },
    )
    value, err = mrr(spec)
    assert value == 30
    assert "a.csv: read as UTF-8, not latin1" in err


@pytest.mark.parametrize(
    ("written", "fmt"),
    [("01/15/2026", "%m/%d/%Y"), ("15.01.2026", "%d.%m.%Y"), ("2026/01/15", "%Y/%m/%d")],
)
def test_unparsed_dates_suggest_a_date_format_and_name_the_file_column(tmp_path, written, fmt):
    spec = project(
        tmp_path,
        "{path: subs.csv}",
        {"subs.csv": f"account_id,Start Date,amount\na1,{written},10\n"},
    )
    invoke(
        ["compute", "--spec", spec],
        code=65,
        stderr=[
            "subs.csv:2",
            "column start_date (file column 'Start Date')",
            repr(written),
            f"date_format: {fmt!r}",
        ],
    )


def test_ambiguous_dates_offer_both_formats(tmp_path):
    spec = project(
        tmp_path,
        "{path: subs.csv}",
        {"subs.csv": "account_id,start_date,amount\na1,01/02/2026,10\n"},
    )
    invoke(["compute", "--spec", spec], code=65, stderr="'%m/%d/%Y' (or '%d/%m/%Y')")


def test_suggested_date_format_works(tmp_path):
    spec = project(
        tmp_path,
        '{path: subs.csv, options: {date_format: "%m/%d/%Y"}}',
        {"subs.csv": "account_id,start_date,amount\na1,01/15/2026,10\n"},
    )
    assert mrr(spec)[0] == 10


def test_utf8_bom_and_quoted_newlines(tmp_path):
    text = 'account_id,start_date,amount,plan\na1,2026-01-01,10,"Pro\nannual"\na2,2026-01-01,5,x\n'
    spec = project(tmp_path, "{path: subs.csv}", {"subs.csv": b"\xef\xbb\xbf" + text.encode()})
    value, err = mrr(spec)
    assert value == 15
    assert "using column" not in err  # the BOM is not part of the first name


def test_currency_symbols_and_thousands_commas_are_read_and_said(tmp_path):
    spec = project(
        tmp_path,
        "{path: subs.csv}",
        {
            "subs.csv": 'account_id,start_date,amount\na1,2026-01-01,"$1,200.00"\na2,2026-01-01,€30\n'
        },
    )
    value, err = mrr(spec)
    assert value == 1200 + 30
    assert "read 2 value(s) written with a currency symbol or thousands separators" in err


def test_an_ambiguous_thousands_comma_is_reported_with_the_fix(tmp_path):
    spec = project(
        tmp_path,
        "{path: subs.csv}",
        {"subs.csv": 'account_id,start_date,amount\na1,2026-01-01,"$1,200"\n'},
    )
    invoke(
        ["compute", "--spec", spec],
        code=65,
        stderr=["subs.csv:2", "'$1,200'", "{thousands: ','}"],
    )
