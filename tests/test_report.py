"""`csm report`: the spec's reports:, the bundle's content, its atomic replacement, the log line."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import polars as pl
import pytest
from conftest import shown_number_format, write_spec
from helpers import invoke

from cs_metrics import report
from cs_metrics.report import MARKER
from cs_metrics.report import bundle as report_bundle
from cs_metrics.spec import load_spec

# MRR by account at month ends (end_date exclusive):
#            a1   a2   a3   a4   a5
#   Jan-31  100  200  300   80    0
#   Feb-28  150  200  240   80    0
#   Mar-31  150    0  240   80   60
SUBS = """
    subscription_id,account_id,start_date,end_date,amount
    s1,a1,2025-12-01,2026-02-01,100
    s2,a1,2026-02-01,,150
    s3,a2,2025-12-01,2026-03-01,200
    s4,a3,2025-12-01,2026-02-15,300
    s5,a3,2026-02-15,,240
    s6,a4,2026-01-01,2026-01-10,0
    s7,a4,2026-01-10,,80
    s8,a5,2025-11-01,2025-12-20,50
    s9,a5,2026-03-05,,60
"""
ACCOUNTS = """
    account_id,name,plan
    a1,Acme,pro
    a2,Beta,basic
    a3,Gamma,pro
    a4,Delta,basic
    a5,Eps,enterprise
"""
SPEC = """
version: 1
as_of: 2026-03-31
sources:
  subscriptions: {path: subs.csv}
  accounts: {path: accounts.csv}
dimensions:
  plan: plan
metrics:
  mrr: {type: mrr}
  customers: {type: customers}
  logo_churn: {type: customer_churn_rate}
  nrr: {type: nrr}
health:
  components:
    growth: {metric: mrr, change: relative, weight: 1, scale: [-0.5, 0.5]}
  bands: {red: 40, yellow: 70}
alerts:
  - {name: mrr_drop, when: "mrr_delta < -50", severity: high, action: "Call them"}
"""
FILES = {"subs.csv": SUBS, "accounts.csv": ACCOUNTS}
BUNDLE = {
    "summary.html",
    "summary.md",
    "metrics.xlsx",
    "metrics.csv",
    "trend.csv",
    "health_bands.csv",
    "health_accounts.csv",
    "alerts.csv",
    "cohorts.csv",
    "definitions.csv",
}


@pytest.fixture
def spec_path(tmp_path: Path) -> Path:
    return write_spec(tmp_path, SPEC, FILES)


def files(directory: Path) -> set[str]:
    return {p.name for p in directory.iterdir() if not p.name.startswith(".")}


def hidden(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if ".csm-" in p.name)


def snapshot(directory: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in directory.iterdir()}


# ---------------------------------------------------------------------------- the default report


def test_default_report_writes_the_whole_bundle(spec_path: Path) -> None:
    res = invoke(
        ["report", "--spec", spec_path],
        stderr=["wrote report to", "(10 files)", "csm report default period=2026-03 status=ok"],
    )
    assert res.stdout == ""
    bundle = spec_path.parent / "reports" / "2026-03"  # out_dir is relative to the spec
    assert files(bundle) == BUNDLE
    assert (bundle / MARKER).is_file()
    assert hidden(spec_path.parent / "reports") == []
    manifest = json.loads((bundle / MARKER).read_text())
    assert manifest["period"] == "2026-03" and set(manifest["files"]) == BUNDLE

    metrics = pl.read_csv(bundle / "metrics.csv")
    assert metrics.columns == [
        "period",
        "metric",
        "label",
        "value",
        "unit",
        "previous",
        "change",
        "change_pct",
    ]
    row = metrics.filter(pl.col("metric") == "mrr").row(0, named=True)
    assert (row["value"], row["previous"], row["change"]) == (530.0, 670.0, -140.0)
    assert row["change_pct"] == pytest.approx(-140 / 670)
    # machine format: no thousands separators, no colour
    assert "," not in (bundle / "trend.csv").read_text().splitlines()[-1].split(",", 1)[0]
    bands = pl.read_csv(bundle / "health_bands.csv")
    assert bands["band"].to_list() == ["red", "yellow", "green", None]  # a5 is new: no score
    alerts = pl.read_csv(bundle / "alerts.csv")
    assert alerts.select("account", "alert").rows() == [("a2", "mrr_drop")]
    defs = pl.read_csv(bundle / "definitions.csv")
    assert {"metric", "health", "alert", "cohort"} <= set(defs["section"].to_list())
    md = (bundle / "summary.md").read_text()
    for heading in ("## Headline", "## Trend", "## Health bands", "## Accounts needing attention"):
        assert heading in md
    assert "## Alerts fired" in md and "## Definitions used" in md
    assert "Beta (a2)" in md  # account names from the accounts source


def test_log_line_stays_with_quiet(spec_path: Path) -> None:
    res = invoke(["report", "--spec", spec_path, "--quiet"])
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    line = lines[0]
    assert " csm report default period=2026-03 status=ok " in line
    assert "rows=accounts:5,subscriptions:9" in line
    assert "files=10" in line and "duration=" in line and "dir=" in line
    assert "wrote report" not in res.stderr


def test_log_line_on_failure(tmp_path: Path) -> None:
    path = write_spec(tmp_path, SPEC + "reports:\n  m: {metrics: [mrrr]}\n", FILES)
    res = invoke(["report", "--spec", path], code=78, stderr="did you mean 'mrr'")
    assert "status=failed exit=78" in res.stderr


def test_out_dir_override_with_placeholders(spec_path: Path, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere" / "{name}-{grain}-{period}"
    invoke(["report", "--spec", spec_path, "--out-dir", target, "--period", "2026-02"])
    bundle = tmp_path / "elsewhere" / "default-month-2026-02"
    assert files(bundle) == BUNDLE
    assert not (spec_path.parent / "reports").exists()


def test_out_dir_with_a_bad_placeholder_is_a_usage_error(spec_path: Path, tmp_path: Path) -> None:
    invoke(
        ["report", "--spec", spec_path, "--out-dir", tmp_path / "{perod}"],
        code=2,
        stderr="unknown placeholder {perod} (did you mean 'period'?)",
    )


# ---------------------------------------------------------------------------- reports: in the spec

DECLARED = """
reports:
  monthly:
    title: Monthly CS review
    metrics: [mrr, customers]
    dimensions: [plan]
    formats: [md, csv]
    alerts: false
    cohorts: false
    out_dir: "out/{name}/{grain}/{period}"
  board:
    metrics: [nrr]
    formats: [html]
    health: false
    out_dir: "out/{name}/{period}"
"""


def test_a_declared_report(tmp_path: Path) -> None:
    path = write_spec(tmp_path, SPEC + DECLARED, FILES)
    invoke(["report", "monthly", "--spec", path], stderr="csm report monthly period=2026-03")
    bundle = tmp_path / "out" / "monthly" / "month" / "2026-03"
    assert files(bundle) == {
        "summary.md",
        "metrics.csv",
        "breakdown_plan.csv",
        "trend.csv",
        "health_bands.csv",
        "health_accounts.csv",
        "definitions.csv",
    }
    md = (bundle / "summary.md").read_text()
    assert md.startswith("# Monthly CS review")
    assert "## By plan" in md
    plan = pl.read_csv(bundle / "breakdown_plan.csv")
    assert plan.columns[:3] == ["period", "plan", "metric"]
    assert set(plan["metric"]) == {"mrr", "customers"}
    pro = plan.filter((pl.col("plan") == "pro") & (pl.col("metric") == "mrr"))
    assert pro["value"].to_list() == [390.0]
    assert not (tmp_path / "out" / "board").exists()


def test_without_a_name_every_declared_report_runs(tmp_path: Path) -> None:
    path = write_spec(tmp_path, SPEC + DECLARED, FILES)
    res = invoke(["report", "--spec", path, "-q"])
    assert res.stderr.count("status=ok") == 2
    assert files(tmp_path / "out" / "board" / "2026-03") == {"summary.html"}
    invoke(
        ["report", "--spec", path, "--out-dir", tmp_path / "x"],
        code=2,
        stderr="put {name} in --out-dir",
    )


def test_unknown_report_name_lists_the_declared_ones(tmp_path: Path) -> None:
    path = write_spec(tmp_path, SPEC + DECLARED, FILES)
    invoke(
        ["report", "monthy", "--spec", path],
        code=2,
        stderr=["no report 'monthy'", "did you mean 'monthly'", "declared: monthly, board"],
    )


def test_a_name_without_reports_is_a_usage_error(spec_path: Path) -> None:
    invoke(["report", "weekly", "--spec", spec_path], code=2, stderr="declares no reports")


@pytest.mark.parametrize(
    ("body", "message", "offset"),
    [
        (
            "  r: {metrics: [mrr, custmers]}",
            "unknown metric 'custmers' (did you mean 'customers'?)",
            2,
        ),
        (
            "  r: {dimensions: [plna]}",
            "'plna' is not a declared dimension (did you mean 'plan'?)",
            2,
        ),
        (
            "  r: {out_dir: 'reports/{perod}'}",
            "unknown placeholder {perod} (did you mean 'period'?)",
            2,
        ),
        ("  r: {out_dir: 'reports/{period'}", "placeholders are {period}, {name}, {grain}", 2),
        ("  r: {out_dir: 'r/{period:>4}'}", "without a format", 2),
        ("  r: {formats: [pdf]}", "reports.r.formats.0", 2),
        ("  r: {trend: 0}", "reports.r.trend", 2),
        ("  r: {titel: x}", "unknown key 'titel' in reports.r (did you mean 'title'?)", 2),
        ("  r: {}\n  s: {}", "reports r and s both write to 'reports/{period}'", 3),
        ("  'a b': {}", "report name 'a b'", 2),
    ],
)
def test_reports_spec_errors(tmp_path: Path, body: str, message: str, offset: int) -> None:
    path = write_spec(tmp_path, SPEC + "reports:\n" + body + "\n", FILES)
    res = invoke(["report", "--spec", path], code=78, stderr=message)
    line = len(SPEC.strip("\n").splitlines()) + offset  # the line of the report's entry
    assert f"metrics.yaml:{line}:" in res.stderr


def test_sections_without_data_are_spec_errors(tmp_path: Path) -> None:
    spec = SPEC.split("health:")[0] + "reports:\n  r: {health: true, alerts: true}\n"
    path = write_spec(tmp_path, spec, FILES)
    invoke(
        ["validate", "--spec", path],
        code=78,
        stderr=["reports.r.health is true but the spec has no health:", "reports.r.alerts"],
    )


def test_report_settings_defaults(make_spec) -> None:
    spec = make_spec(SPEC, FILES)
    (s,) = report.report_settings(spec)
    assert (s.name, s.health, s.alerts, s.trend, s.formats) == (
        "default",
        True,
        True,
        12,
        ("md", "html", "xlsx", "csv"),
    )
    assert s.cohorts is not None and s.metrics is None and s.out_dir == "reports/{period}"


# ---------------------------------------------------------------------------- atomic bundle


def test_rerun_replaces_the_bundle_whole(spec_path: Path) -> None:
    invoke(["report", "--spec", spec_path, "-q"])
    bundle = spec_path.parent / "reports" / "2026-03"
    (bundle / "stray.txt").write_text("from an earlier run")
    invoke(["report", "--spec", spec_path, "-q"])
    assert files(bundle) == BUNDLE
    assert hidden(bundle.parent) == []


@pytest.mark.parametrize(
    ("failure", "code"),
    [(OSError(errno.ENOSPC, "No space left on device"), 73), (KeyboardInterrupt(), 130)],
)
def test_a_failure_midway_leaves_the_previous_bundle(
    spec_path: Path, monkeypatch: pytest.MonkeyPatch, failure: BaseException, code: int
) -> None:
    invoke(["report", "--spec", spec_path, "-q"])
    bundle = spec_path.parent / "reports" / "2026-03"
    before = snapshot(bundle)
    written = []
    real = report_bundle.write_file

    def fail_after_first(path: Path, writer: report.Writer) -> None:
        if written:
            raise failure
        real(path, writer)
        written.append(path)

    monkeypatch.setattr(report_bundle, "write_file", fail_after_first)
    res = invoke(["report", "--spec", spec_path], code=code)
    assert len(written) == 1 and written[0].parent.name.startswith(".2026-03.csm-tmp-")
    assert snapshot(bundle) == before  # same files, same bytes, same mtimes
    assert hidden(bundle.parent) == []  # the temporary directory is gone
    assert "status=" in res.stderr
    if code == 73:
        assert "no space left on the device" in res.stderr


def test_stale_temporary_directories_are_cleaned(spec_path: Path) -> None:
    reports = spec_path.parent / "reports"
    stale = reports / ".2026-03.csm-tmp-dead1234"
    stale.mkdir(parents=True)
    (stale / "summary.html").write_text("half")
    other = reports / ".2026-02.csm-tmp-other"  # another period's: not ours to touch
    other.mkdir()
    invoke(["report", "--spec", spec_path, "-q"])
    assert not stale.exists() and other.exists()
    assert files(reports / "2026-03") == BUNDLE


def test_a_run_killed_between_the_renames_is_recovered(tmp_path: Path) -> None:
    target = tmp_path / "2026-03"
    old = tmp_path / ".2026-03.csm-old-abcd"
    old.mkdir()
    (old / MARKER).write_text("{}")
    (old / "summary.md").write_text("previous")
    report_bundle._recover(target)
    assert (target / "summary.md").read_text() == "previous"
    assert not old.exists()


def test_a_directory_csm_did_not_write_is_never_replaced(spec_path: Path, tmp_path: Path) -> None:
    mine = tmp_path / "documents"
    mine.mkdir()
    (mine / "thesis.docx").write_text("precious")
    invoke(
        ["report", "--spec", spec_path, "--out-dir", mine],
        code=73,
        stderr="holds files that csm did not write",
    )
    assert files(mine) == {"thesis.docx"}
    empty = tmp_path / "empty"
    empty.mkdir()
    invoke(["report", "--spec", spec_path, "--out-dir", empty, "-q"])
    assert files(empty) == BUNDLE


def test_an_unwritable_out_dir_exits_73(spec_path: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    res = invoke(
        ["report", "--spec", spec_path, "--out-dir", blocker / "reports"],
        code=73,
        stderr="cannot write the report to",
    )
    assert "Traceback" not in res.stderr and "status=failed exit=73" in res.stderr
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o500)
        try:
            invoke(["report", "--spec", spec_path, "--out-dir", locked / "r"], code=73)
        finally:
            locked.chmod(0o700)


# ---------------------------------------------------------------------------- the workbook


def test_xlsx_matches_compute_and_has_formats(spec_path: Path) -> None:
    from openpyxl import load_workbook

    invoke(["report", "--spec", spec_path, "-q"])
    book = load_workbook(spec_path.parent / "reports" / "2026-03" / "metrics.xlsx")
    assert book.sheetnames == [
        "metrics",
        "trend",
        "health_bands",
        "health_accounts",
        "alerts",
        "cohorts",
        "definitions",
    ]
    computed = json.loads(
        invoke(["compute", "--spec", spec_path, "--period", "2026-03", "--format", "json"]).stdout
    )
    sheet = book["metrics"]
    header = [c.value for c in sheet[1]]
    rows = [
        dict(zip(header, (c.value for c in r), strict=True)) for r in sheet.iter_rows(min_row=2)
    ]
    got = [{k: r[k] for k in ("period", "metric", "value", "unit")} for r in rows]
    assert got == computed
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2", sheet.title
        assert all(c.font.b for c in sheet[1])
    formats = {
        r["metric"]: shown_number_format(book["metrics"], sheet_cell)
        for r, sheet_cell in zip(rows, book["metrics"]["D"][1:], strict=True)
    }
    assert formats["mrr"] == "$#,##0.00" and formats["logo_churn"] == "0.0%"
    assert formats["customers"] == "#,##0"
    assert book["metrics"].column_dimensions["B"].width >= len("logo_churn")
    trend = book["trend"]
    assert [c.value for c in trend[1]][:2] == ["period", "mrr"]
    assert trend["B2"].number_format == "$#,##0.00"
    cohorts = book["cohorts"]
    col = [c.value for c in cohorts[1]].index("logo_retention")
    assert cohorts.cell(row=2, column=col + 1).number_format == "0.0%"


def test_xlsx_text_is_never_a_formula(tmp_path: Path) -> None:
    from datetime import UTC, datetime
    from types import SimpleNamespace

    from openpyxl import load_workbook

    from cs_metrics.report import Table, xlsx_bytes

    data = SimpleNamespace(
        settings=SimpleNamespace(title="=1+1"),
        period=SimpleNamespace(label="2026-03"),
        generated=datetime(2026, 4, 1, tzinfo=UTC),
        currency="EUR",
    )
    frame = pl.DataFrame(
        {"metric": ["=1+1", "churn"], "value": [1850.0, 0.25], "unit": ["currency", "ratio"]}
    )
    blob = xlsx_bytes(data, [Table("metrics", "=1+1", frame, row_units={"value": "unit"})])
    (tmp_path / "m.xlsx").write_bytes(blob)
    sheet = load_workbook(tmp_path / "m.xlsx")["metrics"]
    assert (sheet["A2"].value, sheet["A2"].data_type) == ("=1+1", "s")
    assert shown_number_format(sheet, sheet["B2"]) == '"€"#,##0.00'
    assert shown_number_format(sheet, sheet["B3"]) == "0.0%"


def test_readme_reports_example_is_a_valid_spec(tmp_path: Path) -> None:
    import re

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    (block,) = [b for b in re.findall(r"```yaml\n(.*?)```", readme, re.S) if "reports:" in b]
    repo = Path(__file__).resolve().parent.parent
    spec = (repo / "metrics.yaml").read_text(encoding="utf-8") + "\n" + block
    (tmp_path / "metrics.yaml").write_text(spec, encoding="utf-8")
    # only the spec is checked: the sources are not read
    settings = report.report_settings(load_spec(tmp_path / "metrics.yaml"), "monthly")[0]
    assert settings.dimensions == ["plan", "region"] and settings.cohorts.grain == "quarter"
    assert settings.formats == ("html", "xlsx")
