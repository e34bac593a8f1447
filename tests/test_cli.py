"""The command line: stdout, stderr and exit code of every documented behaviour.

Most tests run the Typer app in-process (tests/helpers.invoke); a handful run
``python -m cs_metrics`` as a real process where a pipe or the module entry point matters.

The data set: four accounts on two plans, with ``as_of: 2026-04-15`` so the default period
is 2026-03. MRR at the end of each month:

========  ====  ====  ====  ==============================
month     a1    a2    a3    a4    total
========  ====  ====  ====  ==============================
2025-12   1200                    1200
2026-01   1200  100   600         1900
2026-02   1200  100   600   50    1950
2026-03   1200        600   50    1850   (a2 churned 03-01)
========  ====  ====  ====  ==============================
"""

from __future__ import annotations

import csv
import errno
import io
import json
import re
from datetime import datetime
from pathlib import Path
from textwrap import dedent

import openpyxl
import polars as pl
import pytest
import typer
from conftest import write_spec
from helpers import invoke, run_subprocess

from cs_metrics.cli import app
from cs_metrics.metrics.registry import load_all

ACCOUNTS = """\
id,name,plan,employees
a1,Acme,pro,120
a2,Beta,basic,10
a3,Gamma,pro,60
a4,Delta,basic,5
"""
SUBSCRIPTIONS = """\
account_id,start_date,end_date,amount,plan
a1,2025-12-01,,1200,pro
a2,2026-01-01,2026-03-01,100,basic
a3,2026-01-15,,600,pro
a4,2026-02-01,,50,basic
"""
SOURCES = """\
sources:
  accounts:
    path: accounts.csv
    columns: {account_id: id}
  subscriptions:
    path: subscriptions.csv
"""
SPEC = f"""\
version: 1
currency: USD
grain: month
as_of: 2026-04-15
{SOURCES}dimensions:
  plan: plan
  size: "CASE WHEN employees >= 50 THEN 'large' ELSE 'small' END"
metrics:
  mrr: {{type: mrr}}
  customers: {{type: customers}}
  logo_churn: {{type: customer_churn_rate}}
"""
HEADER = "period,metric,value,unit"
MACHINE = ["csv", "tsv", "json", "ndjson"]
ESC = "\x1b["


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    """The standard project in tmp_path; returns the spec path."""
    return write_spec(
        tmp_path, SPEC, {"accounts.csv": ACCOUNTS, "subscriptions.csv": SUBSCRIPTIONS}
    )


def write_alt(spec: Path, text: str, name: str = "alt.yaml", **files: str) -> Path:
    """Another spec (dedented) beside the standard data; extra data files by name."""
    for fname, content in files.items():
        (spec.parent / fname.replace("__", ".")).write_text(dedent(content))
    path = spec.parent / name
    path.write_text(dedent(text).lstrip("\n"))
    return path


def pos(text: str, needle: str, nth: int = 0) -> str:
    """'line:col' (1-based) of the nth occurrence of needle in dedented spec text."""
    text = dedent(text).lstrip("\n")
    idx = -1
    for _ in range(nth + 1):
        idx = text.index(needle, idx + 1)
    line = text.count("\n", 0, idx) + 1
    col = idx - (text.rfind("\n", 0, idx) + 1) + 1
    return f"{line}:{col}"


def rows_csv(text: str, sep: str = ",") -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text), delimiter=sep))


def clean_error(result, *, lines: int | None = None) -> None:
    """An error run: nothing on stdout, no traceback, message prefixed with 'error:'."""
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error: ")
    if lines is not None:
        assert len(result.stderr.strip().splitlines()) == lines, result.stderr


# --------------------------------------------------------------------------- formats


def test_compute_csv_exact(spec):
    r = invoke(["compute", "--spec", spec, "--format", "csv"])
    assert r.stdout.splitlines()[0] == HEADER
    assert rows_csv(r.stdout) == [
        {"period": "2026-03", "metric": "mrr", "value": "1850.0", "unit": "USD"},
        # a count is written as an integer (issue 13), not 3.0
        {"period": "2026-03", "metric": "customers", "value": "3", "unit": "count"},
        {"period": "2026-03", "metric": "logo_churn", "value": "0.25", "unit": "ratio"},
    ]
    assert r.stderr == ""


def test_compute_tsv(spec):
    r = invoke(["compute", "--spec", spec, "-f", "tsv"])
    lines = r.stdout.splitlines()
    assert lines[0] == HEADER.replace(",", "\t")
    assert lines[1] == "2026-03\tmrr\t1850.0\tUSD"


def test_compute_json_is_one_array_of_records(spec):
    r = invoke(["compute", "--spec", spec, "--format", "json"])
    data = json.loads(r.stdout)
    assert isinstance(data, list) and len(data) == 3
    assert all(list(rec) == ["period", "metric", "value", "unit"] for rec in data)
    by_metric = {rec["metric"]: rec for rec in data}
    assert by_metric["mrr"]["value"] == 1850
    assert by_metric["logo_churn"] == {
        "period": "2026-03",
        "metric": "logo_churn",
        "value": 0.25,  # a fraction, not 25
        "unit": "ratio",
    }


def test_compute_ndjson_one_object_per_line(spec):
    r = invoke(["compute", "--spec", spec, "--format", "ndjson"])
    lines = r.stdout.splitlines()
    assert len(lines) == 3
    recs = [json.loads(line) for line in lines]
    assert [rec["metric"] for rec in recs] == ["mrr", "customers", "logo_churn"]
    assert all(set(rec) == {"period", "metric", "value", "unit"} for rec in recs)


def test_null_is_json_null_and_empty_csv_cell(spec):
    # 2025-12: no customers at the start, so the churn rate is undefined
    r = invoke(["compute", "--spec", spec, "-f", "json", "--period", "2025-12", "logo_churn"])
    assert json.loads(r.stdout) == [
        {"period": "2025-12", "metric": "logo_churn", "value": None, "unit": "ratio"}
    ]
    r = invoke(["compute", "--spec", spec, "-f", "csv", "--period", "2025-12", "logo_churn"])
    assert r.stdout.splitlines() == [HEADER, "2025-12,logo_churn,,ratio"]
    r = invoke(["compute", "--spec", spec, "-f", "ndjson", "-p", "2025-12", "logo_churn"])
    assert json.loads(r.stdout)["value"] is None


@pytest.mark.parametrize("fmt", MACHINE)
@pytest.mark.parametrize(
    "env", [{}, {"FORCE_COLOR": "1", "TERM": "xterm-256color"}], ids=["plain", "force-color"]
)
def test_machine_formats_have_no_colour_or_separators(spec, fmt, env):
    r = invoke(["compute", "--spec", spec, "-f", fmt, "--color"], env=env)
    assert ESC not in r.stdout
    assert "1850" in r.stdout
    assert "1,850" not in r.stdout
    assert "$" not in r.stdout and "%" not in r.stdout


@pytest.mark.parametrize("fmt", ["table", "markdown"])
def test_formats_for_people(spec, fmt):
    r = invoke(["compute", "--spec", spec, "-f", fmt, "--no-color"])
    for text in ("mrr", "$1,850", "$1,950", "25.0 %", "2026-03"):
        assert text in r.stdout, (text, r.stdout)
    assert ESC not in r.stdout
    if fmt == "markdown":
        assert "| mrr" in r.stdout


def test_auto_is_csv_when_not_a_terminal(spec):
    r = invoke(["compute", "--spec", spec])  # CliRunner's stdout is not a tty
    assert r.stdout.splitlines()[0] == HEADER


def test_wide_pivots_to_one_column_per_metric(spec):
    r = invoke(["compute", "--spec", spec, "-f", "csv", "--wide"])
    # the count customers is written 3, not 3.0 (issue 13)
    assert r.stdout.splitlines() == ["period,mrr,customers,logo_churn", "2026-03,1850.0,3,0.25"]
    r = invoke(["compute", "--spec", spec, "-f", "json", "--wide", "--from", "2026-02"])
    assert json.loads(r.stdout) == [
        {"period": "2026-02", "mrr": 1950.0, "customers": 4.0, "logo_churn": 0.0},
        {"period": "2026-03", "mrr": 1850.0, "customers": 3.0, "logo_churn": 0.25},
    ]


def test_by_plan_adds_a_plan_field(spec):
    r = invoke(["compute", "--spec", spec, "-f", "json", "--by", "plan", "mrr"])
    assert json.loads(r.stdout) == [
        {"period": "2026-03", "plan": "basic", "metric": "mrr", "value": 50.0, "unit": "USD"},
        {"period": "2026-03", "plan": "pro", "metric": "mrr", "value": 1800.0, "unit": "USD"},
    ]
    r = invoke(["compute", "--spec", spec, "-f", "csv", "--by", "plan", "mrr"])
    assert r.stdout.splitlines()[0] == "period,plan,metric,value,unit"


def test_by_sql_dimension_and_two_dimensions(spec):
    r = invoke(["compute", "--spec", spec, "-f", "csv", "-b", "size", "-b", "plan", "mrr"])
    rows = rows_csv(r.stdout)
    assert list(rows[0]) == ["period", "size", "plan", "metric", "value", "unit"]
    got = {(row["size"], row["plan"]): float(row["value"]) for row in rows}
    assert got[("large", "pro")] == 1800
    assert got[("small", "basic")] == 50


def test_by_account_adds_an_account_field(spec):
    r = invoke(["compute", "--spec", spec, "-f", "ndjson", "--by", "account", "mrr"])
    recs = [json.loads(line) for line in r.stdout.splitlines()]
    assert [(rec["account"], rec["value"]) for rec in recs] == [
        ("a1", 1200.0),
        ("a2", 0.0),
        ("a3", 600.0),
        ("a4", 50.0),
    ]
    # name and owner beside the id (issue 13); the spec declares no owner: null
    assert list(recs[0]) == ["period", "account", "name", "owner", "metric", "value", "unit"]
    assert [(rec["name"], rec["owner"]) for rec in recs] == [
        ("Acme", None),
        ("Beta", None),
        ("Gamma", None),
        ("Delta", None),
    ]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--period", "2026-02"], [("2026-02", "1950.0")]),
        (["-p", "2026-Q1"], [("2026-Q1", "1850.0")]),
        (["-p", "2025"], [("2025", "1200.0")]),
        (["-p", "2026-W10"], [("2026-W10", "1850.0")]),
        (["-p", "2026-01-01..2026-02-28"], [("2026-01-01..2026-02-28", "1950.0")]),
        (
            ["--from", "2026-01", "--to", "2026-03"],
            [("2026-01", "1900.0"), ("2026-02", "1950.0"), ("2026-03", "1850.0")],
        ),
        (["--from", "2026-02"], [("2026-02", "1950.0"), ("2026-03", "1850.0")]),
        (["--to", "2026-01"], [("2026-01", "1900.0")]),
        (
            ["--grain", "quarter", "--from", "2025-Q4", "--to", "2026-Q1"],
            [("2025-Q4", "1200.0"), ("2026-Q1", "1850.0")],
        ),
        (["--grain", "quarter"], [("2026-Q1", "1850.0")]),
        (["--as-of", "2026-03-02"], [("2026-02", "1950.0")]),
        (["--as-of", "2026-01-01"], [("2025-12", "1200.0")]),
    ],
    ids=lambda v: " ".join(x if isinstance(x, str) else x[0] for x in v),
)
def test_period_options(spec, args, expected):
    r = invoke(["compute", "--spec", spec, "-f", "csv", "mrr", *args])
    assert [(row["period"], row["value"]) for row in rows_csv(r.stdout)] == expected


def test_auto_format_piped_is_csv_end_to_end(spec):
    proc = run_subprocess(["compute", "--spec", spec, "mrr"])
    assert proc.stdout.splitlines() == [HEADER, "2026-03,mrr,1850.0,USD"]
    assert ESC not in proc.stdout


# --------------------------------------------------------------------------- -o FILE


def _read_back(path: Path, ext: str) -> list[dict]:
    if ext == ".csv":
        return pl.read_csv(path).to_dicts()
    if ext == ".tsv":
        return pl.read_csv(path, separator="\t").to_dicts()
    if ext == ".json":
        return json.loads(path.read_text())
    if ext == ".ndjson":
        return [json.loads(line) for line in path.read_text().splitlines()]
    if ext == ".parquet":
        return pl.read_parquet(path).to_dicts()
    if ext == ".xlsx":
        wb = openpyxl.load_workbook(path)
        assert "long" in wb.sheetnames, wb.sheetnames
        rows = list(wb["long"].iter_rows(values_only=True))
        recs = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
        for rec in recs:  # periods are real dates in a workbook, the month's first day
            assert isinstance(rec["period"], datetime), rec
            rec["period"] = rec["period"].strftime("%Y-%m")
        return recs
    raise AssertionError(ext)


@pytest.mark.parametrize("ext", [".csv", ".tsv", ".json", ".ndjson", ".parquet", ".xlsx"])
def test_output_file_machine_formats(spec, tmp_path, ext):
    target = tmp_path / "out" / f"metrics{ext}"
    target.parent.mkdir()
    r = invoke(["compute", "--spec", spec, "-o", target], stderr=f"wrote {target}")
    assert r.stdout == ""
    recs = _read_back(target, ext)
    assert [(rec["period"], rec["metric"], rec["value"], rec["unit"]) for rec in recs] == [
        ("2026-03", "mrr", 1850, "USD"),
        ("2026-03", "customers", 3, "count"),
        ("2026-03", "logo_churn", 0.25, "ratio"),
    ]
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]  # no temp files


@pytest.mark.parametrize("ext", [".md", ".html"])
def test_output_file_documents(spec, tmp_path, ext):
    target = tmp_path / f"metrics{ext}"
    r = invoke(["compute", "--spec", spec, "--output", target], stderr="wrote ")
    assert r.stdout == ""
    text = target.read_text(encoding="utf-8")
    assert "mrr" in text and "$1,850" in text
    assert ESC not in text
    if ext == ".html":
        assert "<table" in text.lower()


def test_output_xlsx_has_a_wide_sheet_with_numbers(spec, tmp_path):
    target = tmp_path / "m.xlsx"
    invoke(["compute", "--spec", spec, "-o", target, "--from", "2026-02"])
    ws = openpyxl.load_workbook(target)["metrics"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == ("period", "mrr", "customers", "logo_churn")
    # the period is a real date, the month's first day, shown as 2026-03 (issue 13)
    assert rows[2] == (datetime(2026, 3, 1), 1850, 3, 0.25)


def test_output_dash_is_stdout(spec):
    r = invoke(["compute", "--spec", spec, "-o", "-", "mrr"])
    assert r.stdout.splitlines() == [HEADER, "2026-03,mrr,1850.0,USD"]
    assert "wrote" not in r.stderr


def test_output_wide_parquet(spec, tmp_path):
    target = tmp_path / "w.parquet"
    invoke(["compute", "--spec", spec, "-o", target, "--wide"])
    assert pl.read_parquet(target).columns == ["period", "mrr", "customers", "logo_churn"]


def test_output_quiet_says_nothing(spec, tmp_path):
    r = invoke(["compute", "--spec", spec, "-o", tmp_path / "q.csv", "--quiet"])
    assert r.stdout == "" and r.stderr == ""


def test_output_unknown_extension(spec, tmp_path):
    target = tmp_path / "metrics.foo"
    r = invoke(
        ["compute", "--spec", spec, "-o", target],
        code=2,
        stderr=[".foo", ".csv", ".tsv", ".json", ".ndjson", ".parquet", ".md", ".html", ".xlsx"],
    )
    clean_error(r, lines=1)
    assert not target.exists()


def test_output_format_must_agree_with_extension(spec, tmp_path):
    r = invoke(
        ["compute", "--spec", spec, "-f", "json", "-o", tmp_path / "x.csv"],
        code=2,
        stderr="--format json",
    )
    clean_error(r, lines=1)


def test_output_missing_directory(spec, tmp_path):
    target = tmp_path / "nope" / "metrics.csv"
    r = invoke(["compute", "--spec", spec, "-o", target], code=73, stderr=[str(target), "mkdir"])
    clean_error(r, lines=1)
    assert not target.parent.exists()


def test_output_parent_is_a_file(spec, tmp_path):
    target = tmp_path / "accounts.csv" / "metrics.csv"
    r = invoke(["compute", "--spec", spec, "-o", target], code=73, stderr="not a directory")
    clean_error(r, lines=1)


def test_output_target_is_a_directory(spec, tmp_path):
    (tmp_path / "out.csv").mkdir()
    r = invoke(["compute", "--spec", spec, "-o", tmp_path / "out.csv"], code=73)
    clean_error(r, lines=1)
    assert list((tmp_path / "out.csv").iterdir()) == []


def test_output_failure_leaves_no_partial_file(spec, tmp_path, monkeypatch):
    """A write that fails half-way (disk full) keeps the old file and leaves no temp file."""
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    target = out_dir / "m.parquet"
    target.write_bytes(b"old contents")

    def half_write(self, file, *args, **kwargs):
        Path(file).write_bytes(b"PAR1 half")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pl.DataFrame, "write_parquet", half_write)
    r = invoke(["compute", "--spec", spec, "-o", target], code=73, stderr="no space left")
    clean_error(r, lines=1)
    assert target.read_bytes() == b"old contents"
    assert [p.name for p in out_dir.iterdir()] == ["m.parquet"]


# --------------------------------------------------------------------------- spec errors


def test_yaml_syntax_error(spec):
    text = """\
    version: 1
    metrics:
      mrr: {type: mrr
    as_of: 2026-04-01
    """
    bad = write_alt(spec, text)
    r = invoke(["compute", "--spec", bad], code=78, stderr=[f"{bad}:4:", "YAML syntax error"])
    clean_error(r)


@pytest.mark.parametrize(
    ("snippet", "key", "suggestion"),
    [
        ("metircs:\n  mrr: {type: mrr}\n", "metircs", "metrics"),
        ("metrics:\n  mrr: {type: mrr, fitler: \"plan = 'pro'\"}\n", "fitler", "filter"),
        ("metrics:\n  nrr: {type: nrr, windw: 3}\n", "windw", "window"),
        ("metrics:\n  mrr: {type: mrr}\ndimension:\n  plan: plan\n", "dimension", "dimensions"),
    ],
    ids=["top-level", "metric-filter", "metric-option", "dimensions"],
)
def test_unknown_key_did_you_mean(spec, snippet, key, suggestion):
    text = f"version: 1\nas_of: 2026-04-01\n{SOURCES}{snippet}"
    bad = write_alt(spec, text)
    r = invoke(
        ["compute", "--spec", bad],
        code=78,
        stderr=[f"{bad}:{pos(text, key)}", f"unknown key {key!r}", f"did you mean {suggestion!r}"],
    )
    clean_error(r, lines=2)


def test_unknown_metric_type_suggests(spec):
    text = f"version: 1\n{SOURCES}metrics:\n  churn: {{type: customer_churn}}\n"
    bad = write_alt(spec, text)
    r = invoke(
        ["compute", "--spec", bad],
        code=78,
        stderr=[
            f"{bad}:{pos(text, 'churn:')}",
            "unknown metric type 'customer_churn'",
            "did you mean 'customer_churn_rate'",
        ],
    )
    clean_error(r, lines=2)


def test_duplicate_key(spec):
    text = f"version: 1\n{SOURCES}metrics:\n  mrr: {{type: mrr}}\n  mrr: {{type: arr}}\n"
    bad = write_alt(spec, text)
    first_line = pos(text, "mrr:").split(":")[0]
    r = invoke(
        ["compute", "--spec", bad],
        code=78,
        stderr=[
            f"{bad}:{pos(text, 'mrr:', 1)}",
            "duplicate key 'mrr'",
            f"first defined on line {first_line}",
        ],
    )
    clean_error(r, lines=2)


def test_yes_as_a_value(spec):
    text = f"version: 1\n{SOURCES}metrics:\n  mrr: {{type: mrr, label: yes}}\n"
    bad = write_alt(spec, text)
    r = invoke(
        ["compute", "--spec", bad],
        code=78,
        stderr=[f"{bad}:{pos(text, 'yes')}", "'yes' is read as a boolean", "true or false"],
    )
    clean_error(r)


def test_several_spec_problems_reported_together_in_file_order(spec):
    text = f"""\
version: 1
currncy: USD
{SOURCES}metrics:
  mrr: {{type: mrr, fitler: x}}
  churn: {{type: churn_rate}}
  nrr: {{type: nrr, window: 3}}
  nrr: {{type: nrr}}
"""
    bad = write_alt(spec, text)
    expected = [
        pos(text, "currncy"),
        pos(text, "fitler"),
        pos(text, "churn:"),
        pos(text, "nrr:", 1),
    ]
    r = invoke(["compute", "--spec", bad], code=78, stderr="4 problems")
    clean_error(r, lines=5)
    found = re.findall(rf"{re.escape(str(bad))}:(\d+:\d+): error", r.stderr)
    assert found == expected


def test_several_whole_spec_problems_reported_together(spec):
    text = f"""\
version: 1
{SOURCES}dimensions:
  period: plan
  fit: "CASE WHEN THEN"
metrics:
  a: {{type: formula, expr: "b + 1"}}
  b: {{type: formula, expr: "a * 2"}}
  c: {{type: formula, expr: "mrr / nope"}}
  d: {{type: mrr, filter: "plan = = 'x'"}}
"""
    bad = write_alt(spec, text)
    r = invoke(
        ["compute", "--spec", bad],
        code=78,
        stderr=[
            "dimension name 'period' is reserved",
            "dimension fit",
            "formula cycle: a -> b -> a",
            "unknown metric 'nope'",
            "metrics.d.filter",
        ],
    )
    clean_error(r)
    found = [tuple(map(int, m.split(":"))) for m in re.findall(r":(\d+:\d+): error", r.stderr)]
    assert len(found) == 5 and found == sorted(found)


def test_formula_cycle_names_the_cycle(spec):
    text = f'version: 1\n{SOURCES}metrics:\n  x: {{type: formula, expr: "y + 1"}}\n  y: {{type: formula, expr: "x - 1"}}\n'
    bad = write_alt(spec, text)
    where = pos(text, 'expr: "y')  # the key that holds the expression
    r = invoke(
        ["compute", "--spec", bad],
        code=78,
        stderr=[f"{bad}:{where}", "formula cycle: x -> y -> x"],
    )
    clean_error(r, lines=2)


def test_formula_naming_an_unknown_metric(spec):
    text = f'version: 1\n{SOURCES}metrics:\n  mrr: {{type: mrr}}\n  ratio: {{type: formula, expr: "mrr / mmr2"}}\n'
    bad = write_alt(spec, text)
    where = pos(text, 'expr: "mrr')
    r = invoke(
        ["compute", "--spec", bad],
        code=78,
        stderr=[f"{bad}:{where}", "unknown metric 'mmr2'"],
    )
    clean_error(r, lines=2)


def test_spec_that_is_not_a_mapping(spec):
    bad = write_alt(spec, "- just\n- a list\n")
    r = invoke(["compute", "--spec", bad], code=78, stderr="must be a mapping")
    clean_error(r)


# --------------------------------------------------------------------------- spec discovery


def test_missing_spec_suggests_spec_or_init(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    r = invoke(["compute"], code=66, cwd=empty, stderr=["metrics.yaml", "csm init", "--spec"])
    clean_error(r, lines=1)


def test_missing_explicit_spec(tmp_path):
    r = invoke(["compute", "--spec", tmp_path / "nope.yaml"], code=66, stderr="nope.yaml")
    clean_error(r, lines=1)


def test_spec_found_in_cwd(spec, tmp_path):
    r = invoke(["compute", "-f", "csv", "mrr"], cwd=tmp_path)
    assert r.stdout.splitlines()[1] == "2026-03,mrr,1850.0,USD"


def test_spec_from_env(spec, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    r = invoke(["compute", "-f", "csv", "mrr"], env={"CSM_SPEC": str(spec)}, cwd=elsewhere)
    assert "1850.0" in r.stdout


def test_missing_spec_from_env_names_the_variable(tmp_path):
    r = invoke(
        ["compute"], code=66, env={"CSM_SPEC": str(tmp_path / "gone.yaml")}, stderr="$CSM_SPEC"
    )
    clean_error(r, lines=1)


def test_spec_option_beats_env_and_cwd(spec, tmp_path):
    other = write_alt(spec, SPEC.replace("as_of: 2026-04-15", "as_of: 2026-02-15"), "other.yaml")
    # cwd has metrics.yaml (default 2026-03), $CSM_SPEC is broken, --spec wins
    r = invoke(
        ["compute", "--spec", other, "-f", "csv", "mrr"],
        env={"CSM_SPEC": str(tmp_path / "broken.yaml")},
        cwd=tmp_path,
    )
    assert r.stdout.splitlines()[1].startswith("2026-01,")
    # $CSM_SPEC beats ./metrics.yaml
    r = invoke(["compute", "-f", "csv", "mrr"], env={"CSM_SPEC": str(other)}, cwd=tmp_path)
    assert r.stdout.splitlines()[1].startswith("2026-01,")


def test_paths_are_relative_to_the_spec_not_cwd(spec, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    invoke(["compute", "--spec", spec, "-f", "csv"], cwd=elsewhere, stdout="1850.0")


# --------------------------------------------------------------------------- data errors


def test_missing_data_file(spec):
    bad = write_alt(
        spec,
        "version: 1\nsources:\n  subscriptions: {path: gone.csv}\nmetrics:\n  mrr: {type: mrr}\n",
    )
    r = invoke(
        ["compute", "--spec", bad],
        code=66,
        stderr=["gone.csv", "not found", "sources.subscriptions"],
    )
    clean_error(r, lines=1)


def test_missing_glob_matches_nothing(spec):
    bad = write_alt(
        spec,
        'version: 1\nsources:\n  subscriptions: {path: "exports/*.csv"}\nmetrics:\n  mrr: {type: mrr}\n',
    )
    r = invoke(["compute", "--spec", bad], code=66, stderr="exports/*.csv")
    clean_error(r, lines=1)


def test_mapped_column_missing_in_file(spec):
    bad = write_alt(
        spec,
        """\
        version: 1
        sources:
          subscriptions:
            path: subscriptions.csv
            columns: {amount: price}
        metrics:
          mrr: {type: mrr}
        """,
    )
    r = invoke(
        ["compute", "--spec", bad],
        code=65,
        stderr=["subscriptions.csv", "amount", "'price'", "no such column"],
    )
    clean_error(r, lines=1)


def test_required_canonical_column_absent(spec):
    bad = write_alt(
        spec,
        "version: 1\nsources:\n  subscriptions: {path: nostart.csv}\nmetrics:\n  mrr: {type: mrr}\n",
        nostart__csv="account_id,begin,amount\na1,2026-01-01,100\n",
    )
    r = invoke(
        ["compute", "--spec", bad],
        code=65,
        stderr=["nostart.csv", "'start_date'", "sources.subscriptions.columns"],
    )
    clean_error(r, lines=1)


BAD_SUBS = """\
account_id,start_date,end_date,amount
a1,2026-01-01,,100
a2,01/02/2026,,200
a3,2026-01-05,,12,5
a4,2026-01-05,,1.5e2
"""


def test_unparseable_date_names_file_row_column_and_text(spec):
    bad = write_alt(
        spec,
        "version: 1\nas_of: 2026-04-01\nsources:\n  subscriptions: {path: bad.csv}\n"
        "metrics:\n  mrr: {type: mrr}\n",
        bad__csv=BAD_SUBS.replace("a3,2026-01-05,,12,5\n", ""),
    )
    r = invoke(
        ["compute", "--spec", bad],
        code=65,
        stderr=[f"{spec.parent / 'bad.csv'}:3", "start_date", "'01/02/2026'", "date_format"],
    )
    clean_error(r, lines=2)


def test_bad_number_names_the_value(spec):
    bad = write_alt(
        spec,
        "version: 1\nas_of: 2026-04-01\nsources:\n  subscriptions: {path: bad.csv}\n"
        "metrics:\n  mrr: {type: mrr}\n",
        bad__csv='account_id,start_date,amount\na1,2026-01-01,100\na2,2026-01-01,"1.200,00"\n'
        "a3,2026-01-01,n/a\n",
    )
    r = invoke(
        ["compute", "--spec", bad],
        code=65,
        stderr=[
            "bad.csv:3: error: column amount: '1.200,00'",
            "bad.csv:4: error: column amount: 'n/a'",
        ],
    )
    clean_error(r, lines=3)


RAGGED_SPEC = (
    "version: 1\nsources:\n  subscriptions: {path: ragged.csv}\nmetrics:\n  mrr: {type: mrr}\n"
)
RAGGED_CSV = "account_id,start_date,amount\na1,2026-01-01,100\na2,2026-01-01,1.200,00\n"


def test_ragged_csv_row_names_the_file(spec):
    bad = write_alt(spec, RAGGED_SPEC, ragged__csv=RAGGED_CSV)
    r = invoke(["compute", "--spec", bad], code=65)
    assert "ragged.csv" in r.stderr


def test_validate_rejects_a_ragged_csv_row(spec):
    bad = write_alt(spec, RAGGED_SPEC, ragged__csv=RAGGED_CSV)
    invoke(["validate", "--spec", bad], code=65, stderr="ragged.csv")


def test_date_format_option_fixes_dates(spec):
    bad = write_alt(
        spec,
        """\
        version: 1
        as_of: 2026-04-01
        sources:
          subscriptions:
            path: dmy.csv
            options: {date_format: "%d/%m/%Y"}
        metrics:
          mrr: {type: mrr}
        """,
        dmy__csv="account_id,start_date,amount\na1,15/01/2026,100\n",
    )
    invoke(["compute", "--spec", bad, "-f", "csv"], stdout="2026-03,mrr,100.0,USD")


NO_SUBSCRIPTIONS = (
    "version: 1\nas_of: 2026-04-01\nsources:\n"
    "  accounts: {path: accounts.csv, columns: {account_id: id}}\n"
    "metrics:\n  mrr: {type: mrr}\n"
)


def test_metric_with_unconfigured_source_is_unavailable_not_a_crash(spec):
    ok = write_alt(spec, NO_SUBSCRIPTIONS)
    r = invoke(["compute", "--spec", ok, "-f", "csv"], stderr=["warning", "subscriptions"])
    assert r.stdout.splitlines() == [HEADER, "2026-03,mrr,,USD"]
    r = invoke(["compute", "--spec", ok, "-f", "csv", "-q"])
    assert r.stderr == ""


def test_warning_level_is_not_repeated(spec):
    ok = write_alt(spec, NO_SUBSCRIPTIONS)
    r = invoke(["compute", "--spec", ok, "-f", "csv"])
    assert not re.search(r"warning: .*: warning:", r.stderr), r.stderr


def test_unavailable_metric_is_warned_once(spec):
    ok = write_alt(spec, NO_SUBSCRIPTIONS)
    r = invoke(["compute", "--spec", ok, "-f", "csv"])
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr


# --------------------------------------------------------------------------- usage errors


def test_undeclared_by_dimension(spec):
    r = invoke(
        ["compute", "--spec", spec, "--by", "plna"],
        code=2,  # a command-line mistake (usage), not a spec error
        stderr=["--by plna", "did you mean 'plan'", "dimensions:"],
    )
    clean_error(r, lines=1)


def test_unknown_metric_on_the_command_line(spec):
    r = invoke(
        ["compute", "--spec", spec, "mrrr"],
        code=2,
        stderr=["unknown metric 'mrrr'", "did you mean 'mrr'", "csm metrics"],
    )
    clean_error(r, lines=1)


def test_builtin_metric_not_in_spec_can_be_named(spec):
    r = invoke(["compute", "--spec", spec, "-f", "csv", "arr"])
    assert r.stdout.splitlines()[1] == "2026-03,arr,22200.0,USD"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--period", "last-month"], "2026-Q3"),
        (["--period", "2026-13"], "2026-13"),
        (["--period", "2026-Q5"], "2026-Q5"),
        (["--period", "2026-03-31..2026-01-01"], "ends before it starts"),
        (["--period", "2026-02", "--from", "2026-01"], "not both"),
        (["--period", "2026-02", "--to", "2026-03"], "not both"),
        (["--from", "2026-03", "--to", "2026-01"], "after"),
        (["--grain", "fortnight"], "week, month, quarter, year"),
        (["--as-of", "yesterday"], "YYYY-MM-DD"),
        (["--format", "xml"], "csv, tsv, json"),
        (["--engine", "pandas"], "polars"),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else "",
)
def test_usage_errors_exit_2(spec, args, needle):
    r = invoke(["compute", "--spec", spec, *args], code=2, stderr=needle)
    clean_error(r, lines=1)


def test_click_usage_error_exit_2(spec):
    r = invoke(["compute", "--spec", spec, "--nope"], code=2, stderr="--nope")
    assert "Traceback" not in r.stderr and r.stdout == ""


# --------------------------------------------------------------------------- debug


def _broken_spec(spec: Path) -> Path:
    return write_alt(
        spec,
        "version: 1\nsources:\n  subscriptions: {path: gone.csv}\nmetrics:\n  mrr: {type: mrr}\n",
    )


def test_no_traceback_without_debug(spec):
    r = invoke(["compute", "--spec", _broken_spec(spec)], code=66)
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize(
    ("args", "env"),
    [(["--debug"], {}), ([], {"CSM_DEBUG": "1"})],
    ids=["--debug", "CSM_DEBUG=1"],
)
def test_debug_shows_traceback(spec, args, env):
    r = invoke(["compute", "--spec", _broken_spec(spec), *args], code=66, env=env)
    assert "Traceback" in r.stderr
    assert "gone.csv" in r.stderr
    assert r.stdout == ""


def test_csm_debug_zero_means_off(spec):
    r = invoke(["compute", "--spec", _broken_spec(spec)], code=66, env={"CSM_DEBUG": "0"})
    assert "Traceback" not in r.stderr


def test_internal_error_is_exit_70_without_traceback(spec, monkeypatch):
    import cs_metrics.api

    def boom(*args, **kwargs):
        raise RuntimeError("secret customer value 12345\nsecond line")

    monkeypatch.setattr(cs_metrics.api, "compute_metrics", boom)
    r = invoke(["compute", "--spec", spec], code=70, stderr=["internal error", "--debug"])
    clean_error(r, lines=1)
    r = invoke(["compute", "--spec", spec, "--debug"], code=70, stderr="Traceback")


def test_real_process_error_exit_code_and_no_traceback(spec):
    bad = write_alt(spec, "version: 1\nmetircs: {}\n")
    proc = run_subprocess(["compute", "--spec", bad], code=78, stderr="did you mean 'metrics'")
    assert proc.stdout == "" and "Traceback" not in proc.stderr


# --------------------------------------------------------------------------- validate

SURVEYS = """\
account_id,submitted_at,score,survey
a1,2026-01-03,9,nps
a2,2026-01-04,11,nps
a3,2026-01-05,4,csat
a4,2026-01-06 10:30:00,7,nps
"""


def test_validate_good_data(spec):
    r = invoke(
        ["validate", "--spec", spec],
        stderr=["accounts: 4 rows", "subscriptions: 4 rows", "ok:", "2 source(s)"],
    )
    assert r.stdout == ""


def test_validate_out_of_range_nps(spec):
    text = SPEC.replace(SOURCES, SOURCES + "  surveys: {path: surveys.csv}\n")
    bad = write_alt(spec, text, surveys__csv=SURVEYS)
    r = invoke(
        ["validate", "--spec", bad],
        code=65,
        stderr=[str(spec.parent / "surveys.csv"), "nps scores outside 0-10", "rows 3"],
    )
    assert "Traceback" not in r.stderr and r.stdout == ""
    assert "surveys: 4 rows" in r.stderr


def test_validate_duplicate_account_is_a_warning(spec):
    dup = ACCOUNTS + "a2,Beta again,pro,11\n"
    text = SPEC.replace("path: accounts.csv", "path: dup.csv")
    ok = write_alt(spec, text, dup__csv=dup)
    invoke(
        ["validate", "--spec", ok],
        stderr=["warning", "duplicate account_id", "rows 3, 6", "dup.csv", "ok:"],
    )


def test_validate_reports_every_bad_value(spec):
    bad = write_alt(
        spec,
        "version: 1\nsources:\n  subscriptions: {path: bad.csv}\nmetrics:\n  mrr: {type: mrr}\n",
        bad__csv="account_id,start_date,amount\na1,2026-13-01,100\na2,2026-01-01,abc\n",
    )
    invoke(
        ["validate", "--spec", bad],
        code=65,
        stderr=["bad.csv:2", "'2026-13-01'", "bad.csv:3", "'abc'"],
    )


def test_validate_missing_file_is_66(spec):
    invoke(["validate", "--spec", _broken_spec(spec)], code=66, stderr="gone.csv")


def test_validate_invalid_spec_is_78(spec):
    bad = write_alt(spec, "version: 1\nmetircs: {}\n")
    invoke(["validate", "--spec", bad], code=78, stderr="did you mean 'metrics'")


def test_validate_quiet(spec):
    r = invoke(["validate", "--spec", spec, "-q"])
    assert r.stderr == "" and r.stdout == ""


# --------------------------------------------------------------------------- metrics, schema


def test_metrics_lists_mrr_with_its_formula(spec):
    mrr = load_all()["mrr"]
    r = invoke(["metrics", "--spec", spec, "--format", "csv"])
    rows = rows_csv(r.stdout)
    assert {"metric", "type", "formula", "unit"} <= set(rows[0])
    builtin = next(row for row in rows if row["metric"] == "mrr" and row["type"] == "mrr")
    assert builtin["formula"] == mrr.formula
    # the spec's own metrics follow the built-in catalogue
    assert any(row["metric"] == "logo_churn" for row in rows)


def test_metrics_json(spec):
    r = invoke(["metrics", "--spec", spec, "--format", "json"])
    data = json.loads(r.stdout)
    assert isinstance(data, list)
    names = {row["metric"] for row in data}
    assert {"mrr", "nrr", "formula", "aggregate", "logo_churn"} <= names
    assert ESC not in r.stdout


def test_metrics_table_without_a_spec(tmp_path):
    r = invoke(["metrics", "-f", "table"], cwd=tmp_path)
    assert "mrr" in r.stdout


def test_metrics_with_missing_explicit_spec_is_an_error(tmp_path):
    invoke(["metrics", "--spec", tmp_path / "nope.yaml"], code=66, stderr="nope.yaml")


def test_schema_is_json_schema():
    r = invoke(["schema"])
    schema = json.loads(r.stdout)
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert "sources" in schema["properties"]
    assert "metrics" in schema["properties"]
    text = r.stdout
    for name in ("mrr", "customer_churn_rate", "formula", "aggregate"):
        assert f'"const": "{name}"' in text


# --------------------------------------------------------------------------- help

COMMANDS = sorted(typer.main.get_command(app).commands)  # type: ignore[attr-defined]


def test_top_level_help():
    r = invoke(["--help"], stdout=["Usage", "Example:", *COMMANDS])
    assert r.stderr == ""


def test_commands_registered():
    assert {"compute", "validate", "metrics", "schema"} <= set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(command):
    r = invoke([command, "--help"], stdout=["Usage", "Example:"])
    assert r.stderr == ""
    invoke([command, "-h"], stdout="Example:")


def test_compute_help_lists_formats_and_extensions():
    invoke(
        ["compute", "--help"],
        stdout=["--format", "ndjson", "markdown", ".parquet", ".xlsx", "--by", "--as-of"],
    )


def test_every_command_has_the_common_options_last():
    """--quiet, --color/--no-color and --debug come from one place (cli/command.py) and
    are listed after each command's own options."""
    from typer.main import get_command

    group = get_command(app)
    for name, cmd in group.commands.items():
        assert [p.name for p in cmd.params][-3:] == ["quiet", "color", "debug"], name
        r = invoke([name, "--help"])
        assert r.stdout.index("--quiet") < r.stdout.index("--no-color") < r.stdout.index("--debug")
    r = invoke(["schema", "-q", "--no-color", "--debug"])
    assert json.loads(r.stdout)["title"]


def test_python_dash_m_help():
    run_subprocess(["--help"], stdout=["Usage", "compute"])


def test_help_does_not_import_the_data_libraries():
    """`csm --help` stays fast: no command module imports polars, narwhals, duckdb or
    matplotlib at import time (they are imported inside the commands)."""
    import subprocess
    import sys

    code = (
        "import sys, cs_metrics.cli; "
        "heavy = [m for m in ('polars', 'narwhals', 'duckdb', 'matplotlib') if m in sys.modules]; "
        "sys.exit(','.join(heavy) or None)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, f"imported at `csm --help`: {proc.stderr.strip()}"


# ------------------------------------------------------------- issue 13: people, layouts

OWNED_ACCOUNTS = """\
id,name,plan,employees,owner
a1,Acme,pro,120,Kim
a2,Beta,basic,10,Lee
a3,Gamma,pro,60,Kim
a4,Delta,basic,5,
"""


def owned_spec(spec: Path, csm: bool = True) -> Path:
    """The standard spec over accounts with an owner column, declared as the csm dimension
    (``csm=True``) or not."""
    text = SPEC.replace("accounts.csv", "owned.csv")
    if csm:
        text = text.replace("dimensions:\n", "dimensions:\n  csm: owner\n")
    return write_alt(spec, text, "owned.yaml", owned__csv=OWNED_ACCOUNTS)


@pytest.mark.parametrize("csm", [True, False])
def test_by_account_names_the_account_and_its_owner(spec, csm):
    # the owner is the csm dimension when declared, else the accounts' owner column
    path = owned_spec(spec, csm)
    r = invoke(["compute", "--spec", path, "-f", "json", "--by", "account", "mrr"])
    assert [(x["account"], x["name"], x["owner"], x["value"]) for x in json.loads(r.stdout)] == [
        ("a1", "Acme", "Kim", 1200.0),
        ("a2", "Beta", "Lee", 0.0),
        ("a3", "Gamma", "Kim", 600.0),
        ("a4", "Delta", None, 50.0),
    ]
    r = invoke(["compute", "--spec", path, "-f", "csv", "--by", "account", "--wide"])
    assert r.stdout.splitlines()[:2] == [
        "period,account,name,owner,mrr,customers,logo_churn",
        "2026-03,a1,Acme,Kim,1200.0,1,0.0",
    ]
    r = invoke(["compute", "--spec", path, "-f", "table", "--by", "account", "mrr"])
    assert re.search(r"a1\s+Acme\s+Kim\s+\$1,200", r.stdout), r.stdout


def test_by_account_without_an_owner_column(spec):
    # the standard accounts have a name but no owner: the field is there, null
    r = invoke(["compute", "--spec", spec, "-f", "csv", "--by", "account", "mrr"])
    assert r.stdout.splitlines()[1] == "2026-03,a1,Acme,,mrr,1200.0,USD"
    # a table leaves out the empty Owner column
    r = invoke(["compute", "--spec", spec, "-f", "markdown", "--by", "account", "mrr"])
    assert "| Name " in r.stdout and "Owner" not in r.stdout


def test_sort_and_top_by_a_metric(spec):
    # March MRR: a1 1200, a3 600, a4 50, a2 0 -> the top 2 are a1, a3
    r = invoke(
        ["compute", "--spec", spec, "-f", "csv", "--by", "account", "--sort", "mrr", "--top", "2"]
    )
    rows = rows_csv(r.stdout)
    assert [(x["account"], x["metric"]) for x in rows] == [
        ("a1", "mrr"),
        ("a1", "customers"),
        ("a1", "logo_churn"),
        ("a3", "mrr"),
        ("a3", "customers"),
        ("a3", "logo_churn"),
    ]
    r = invoke(["compute", "--spec", spec, "-f", "csv", "--by", "account", "--sort", "mrr:asc"])
    assert [x["account"] for x in rows_csv(r.stdout) if x["metric"] == "mrr"] == [
        "a2",
        "a4",
        "a3",
        "a1",
    ]


def test_sort_by_name_and_over_a_series(spec):
    # names A to Z: Acme a1, Beta a2, Delta a4, Gamma a3
    r = invoke(["compute", "--spec", spec, "-f", "csv", "--by", "account", "--sort", "name", "mrr"])
    assert [x["name"] for x in rows_csv(r.stdout)] == ["Acme", "Beta", "Delta", "Gamma"]
    # a series: ranked by the latest period (March), the same order in every period;
    # --top 1 keeps a1 (1200 in March) in both periods
    args = ["--by", "account", "--sort", "mrr", "--top", "1", "--from", "2026-02", "mrr"]
    r = invoke(["compute", "--spec", spec, "-f", "csv", *args])
    assert [(x["period"], x["account"], x["value"]) for x in rows_csv(r.stdout)] == [
        ("2026-02", "a1", "1200.0"),
        ("2026-03", "a1", "1200.0"),
    ]
    r = invoke(["compute", "--spec", spec, "-f", "table", *args])
    assert "a1" in r.stdout and "a3" not in r.stdout


def test_sort_and_top_errors(spec):
    invoke(["compute", "--spec", spec, "--top", "2"], code=2, stderr="--by account")
    invoke(
        ["compute", "--spec", spec, "--by", "account", "--sort", "mr"],
        code=2,
        stderr=["--sort 'mr'", "did you mean 'mrr'"],
    )
    invoke(
        ["compute", "--spec", spec, "--by", "account", "--sort", "mrr:up"],
        code=2,
        stderr="asc or desc",
    )


def test_metrics_in_the_order_asked(spec):
    # customers (customers family) before mrr (revenue): the order on the command line
    r = invoke(["compute", "--spec", spec, "-f", "markdown", "customers", "mrr"])
    assert r.stdout.index("customers") < r.stdout.index("mrr")
    assert "**Revenue**" not in r.stdout  # no family headings for metrics named in order
    r = invoke(["compute", "--spec", spec, "-f", "csv", "logo_churn", "mrr"])
    assert [x["metric"] for x in rows_csv(r.stdout)] == ["logo_churn", "mrr"]
    r = invoke(["compute", "--spec", spec, "-f", "csv", "--layout", "wide", "customers", "mrr"])
    assert r.stdout.splitlines()[0] == "period,customers,mrr"
    # without names: family order, with headings
    r = invoke(["compute", "--spec", spec, "-f", "markdown"])
    assert "**Revenue**" in r.stdout


def test_layout_grid_csv(spec):
    # metric rows x period columns, with the label and unit (MRR: 1900, 1950, 1850)
    r = invoke(["compute", "--spec", spec, "-f", "csv", "--layout", "grid", "--from", "2026-01"])
    assert r.stdout.splitlines() == [
        "metric,label,unit,2026-01,2026-02,2026-03",
        "mrr,mrr,USD,1900.0,1950.0,1850.0",
        "customers,customers,count,3,4,3",
        "logo_churn,logo_churn,ratio,0.0,0.0,0.25",
    ]
    r = invoke(["compute", "--spec", spec, "-f", "tsv", "--layout", "grid", "--by", "plan", "mrr"])
    assert r.stdout.splitlines() == [
        "plan\tmetric\tlabel\tunit\t2026-03",
        "basic\tmrr\tmrr\tUSD\t50.0",
        "pro\tmrr\tmrr\tUSD\t1800.0",
    ]


def test_layout_wide_is_the_wide_flag(spec):
    a = invoke(["compute", "--spec", spec, "-f", "csv", "--layout", "wide"]).stdout
    assert a == invoke(["compute", "--spec", spec, "-f", "csv", "--wide"]).stdout
    long = invoke(["compute", "--spec", spec, "-f", "csv", "--layout", "long"]).stdout
    assert long.splitlines()[0] == HEADER
    invoke(["compute", "--spec", spec, "--layout", "tall"], code=2, stderr="long, wide, grid")
    invoke(["compute", "--spec", spec, "--layout", "grid", "--wide"], code=2, stderr="--wide")


def test_xlsx_layouts_formats_dates_and_filters(spec, tmp_path):
    target = tmp_path / "m.xlsx"
    invoke(["compute", "--spec", spec, "-o", target, "--layout", "grid", "--from", "2026-02"])
    book = openpyxl.load_workbook(target)
    assert book.sheetnames == ["grid", "metrics", "long"]  # the chosen layout first
    grid = book["grid"]
    assert [c.value for c in grid[1]] == ["metric", "label", "unit", "2026-02", "2026-03"]
    assert [c.value for c in grid[3]] == ["customers", "customers", "count", 4, 3]
    assert [grid.cell(r, 5).number_format for r in (2, 3, 4)] == ["$#,##0.00", "#,##0", "0.0%"]
    long = book["long"]
    # every value of the long sheet has its unit's format; periods are dates shown as such
    assert [long.cell(r, 3).number_format for r in (2, 3, 4)] == ["$#,##0.00", "#,##0", "0.0%"]
    assert long.cell(2, 1).value == datetime(2026, 2, 1)
    assert long.cell(2, 1).number_format == "yyyy-mm"
    assert isinstance(long.cell(3, 3).value, int)  # the count 4
    for sheet in book:  # every sheet is a table with an autofilter
        (table,) = sheet.tables.values()
        assert table.autoFilter is not None, sheet.title
    invoke(["compute", "--spec", spec, "-o", target, "--layout", "long"])
    assert openpyxl.load_workbook(target).sheetnames == ["long", "metrics"]


def test_xlsx_quarters_are_dates_shown_as_the_quarter(spec, tmp_path):
    target = tmp_path / "q.xlsx"
    invoke(["compute", "--spec", spec, "-o", target, "--grain", "quarter", "mrr"])
    cell = openpyxl.load_workbook(target)["metrics"].cell(2, 1)
    assert cell.value == datetime(2026, 1, 1)
    assert cell.number_format == 'yyyy"-Q1"'


@pytest.mark.parametrize(
    ("args", "shown"),
    [
        ("health --top 0", "'--top': 0 is not a whole number of 1 or more"),
        ("alerts --top x", "'--top': 'x' is not a whole number of 1 or more"),
        ("health --backtest --horizon -1", "'--horizon': -1 is not a whole number of 1 or more"),
        ("sample --accounts 0 -o out", "'--accounts': 0 is not a whole number of 1 or more"),
    ],
)
def test_counts_of_one_or_more_are_usage_errors_in_words(args, shown):
    """--top, --horizon, --accounts and --months take N >= 1: exit 2 with the option and the
    rule in words (not Click's ``x>=1``), and the help shows no ``[x>=1]``."""
    invoke(args, code=2, stderr=shown)
    command = args.split()[0]
    assert "x>=" not in invoke(f"{command} --help").stdout
