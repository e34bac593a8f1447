"""Alerts (playbooks): conditions over per-account metrics, changes and attributes."""

from __future__ import annotations

import json
import re

import polars as pl
import pytest
from conftest import write_spec
from helpers import invoke

from cs_metrics.alerts import evaluate_alerts
from cs_metrics.errors import SpecError, UsageError
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
    account_id,name,plan,employees
    a1,Acme,pro,120
    a2,Beta,basic,10
    a3,Gamma,pro,40
    a4,Delta,basic,60
    a5,Eps,enterprise,500
"""
ALERTS = """
alerts:
  - {name: mrr_drop, when: "mrr_delta < -50", severity: high, action: "Call them"}
  - name: big_pro
    when: "plan = 'pro' AND employees > 100 OR size = 'big' AND mrr > 70"
    severity: low
  - {name: shrink, when: "mrr_change < -0.1", severity: critical, action: "Escalate"}
"""
BASE = """
version: 1
sources:
  subscriptions: {path: subs.csv}
  accounts: {path: accounts.csv}
dimensions:
  size: "CASE WHEN employees >= 50 THEN 'big' ELSE 'small' END"
metrics:
  mrr: {type: mrr}
"""
FILES = {"subs.csv": SUBS, "accounts.csv": ACCOUNTS}


@pytest.fixture
def spec_path(tmp_path):
    return write_spec(tmp_path, BASE + ALERTS, FILES)


def hits(spec_path, period, **kw) -> list[tuple[str, str]]:
    df = evaluate_alerts(load_spec(spec_path), period, **kw)
    return [(r["alert"], r["account"]) for r in df.iter_rows(named=True)]


def test_hits_changes_attributes_and_or(spec_path):
    df = evaluate_alerts(load_spec(spec_path), "2026-03")
    assert df.columns[:5] == ["period", "account", "alert", "severity", "action"]
    # sorted by severity (critical first), then alert order, then account
    got = [(r["alert"], r["account"]) for r in df.iter_rows(named=True)]
    # a2: 200 -> 0 (delta -200, change -100 %); a3 in March is flat
    # big_pro: a1 is pro with 120 employees; a4 is big (60) with MRR 80 > 70;
    # a5 is big but MRR 60; a3 is pro with 40 employees
    assert got == [("shrink", "a2"), ("mrr_drop", "a2"), ("big_pro", "a1"), ("big_pro", "a4")]
    row = df.filter(pl.col("alert") == "mrr_drop").row(0, named=True)
    assert row["mrr_delta"] == -200.0 and row["action"] == "Call them"
    assert row["severity"] == "high" and row["period"] == "2026-03"
    a1 = df.filter((pl.col("alert") == "big_pro") & (pl.col("account") == "a1")).row(0, named=True)
    assert (a1["plan"], a1["employees"], a1["size"], a1["mrr"]) == ("pro", 120, "big", 150.0)
    assert df.filter(pl.col("alert") == "shrink")["mrr_change"].to_list() == [-1.0]


def test_february_contraction(spec_path):
    # a3: 300 -> 240 (delta -60, change -20 %); a1 grew
    assert hits(spec_path, "2026-02") == [
        ("shrink", "a3"),
        ("mrr_drop", "a3"),
        ("big_pro", "a1"),
        ("big_pro", "a4"),
    ]


def test_severity_filter(spec_path):
    assert hits(spec_path, "2026-03", min_severity="high") == [
        ("shrink", "a2"),
        ("mrr_drop", "a2"),
    ]
    assert hits(spec_path, "2026-03", min_severity="critical") == [("shrink", "a2")]
    with pytest.raises(UsageError):
        hits(spec_path, "2026-03", min_severity="urgent")


def test_new_only(spec_path):
    # big_pro fired for a1 and a4 in February too; the shrink/drop of a2 is new in March
    assert hits(spec_path, "2026-03", new_only=True) == [("shrink", "a2"), ("mrr_drop", "a2")]


def test_duckdb_engine_same_hits(spec_path):
    assert hits(spec_path, "2026-03", engine="duckdb") == hits(spec_path, "2026-03")


def test_unknown_identifier_is_a_spec_error(tmp_path):
    path = write_spec(tmp_path, BASE + 'alerts:\n  - {name: x, when: "mrr_dleta < 0"}\n', FILES)
    with pytest.raises(SpecError, match=r"mrr_dleta.*did you mean 'mrr_delta'"):
        evaluate_alerts(load_spec(path), "2026-03")


HEALTH = """
health:
  components:
    revenue: {metric: mrr, weight: 1, scale: [0, 200]}
  bands: {red: 40, yellow: 70}
alerts:
  - {name: red, when: "band = 'red'", severity: high}
  - {name: weak, when: "health < 50 AND plan <> 'enterprise'"}
"""


def test_health_and_band(tmp_path):
    pytest.importorskip("cs_metrics.health")
    # March scores = MRR / 200 x 100: a1 75, a3 100, a4 40 (yellow: not below 40), a5 30
    path = write_spec(tmp_path, BASE + HEALTH, FILES)
    df = evaluate_alerts(load_spec(path), "2026-03")
    got = [(r["alert"], r["account"]) for r in df.iter_rows(named=True)]
    assert got == [("red", "a5"), ("weak", "a4")]
    assert df["band"].to_list() == ["red", None]
    assert df["health"].to_list() == [None, 40.0]


def test_health_not_available(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "cs_metrics.health", None)  # import fails
    path = write_spec(tmp_path, BASE + HEALTH, FILES)
    with pytest.raises(SpecError, match="health scoring is not available"):
        evaluate_alerts(load_spec(path), "2026-03")


def test_condition_that_is_not_true_false(tmp_path):
    path = write_spec(tmp_path, BASE + 'alerts:\n  - {name: x, when: "mrr + 1"}\n', FILES)
    with pytest.raises(SpecError, match="alert x: cannot evaluate"):
        evaluate_alerts(load_spec(path), "2026-03")


# ---- the command ----------------------------------------------------------------------
def test_cli_csv_and_fail_on_alert(spec_path):
    res = invoke(f"alerts --spec {spec_path} -p 2026-03 -f csv")
    lines = res.stdout.splitlines()
    # name and owner beside the id (issue 13); the spec has no owner column: empty
    assert lines[0].startswith("period,account,name,owner,alert,severity,action,")
    assert lines[1].startswith("2026-03,a2,Beta,,shrink,critical,Escalate")
    assert len(lines) == 5
    invoke(f"alerts --spec {spec_path} -p 2026-03 --fail-on-alert -f csv", code=1)
    # nothing critical in January: exit 0 even with --fail-on-alert
    invoke(
        f"alerts --spec {spec_path} -p 2026-01 --severity critical --fail-on-alert -f csv",
        code=0,
    )


def test_cli_json_ndjson_nulls(spec_path):
    res = invoke(f"alerts --spec {spec_path} -p 2026-03 --severity high -f json")
    rows = json.loads(res.stdout)
    assert [r["alert"] for r in rows] == ["shrink", "mrr_drop"]
    assert rows[0]["mrr_change"] == -1.0 and rows[0]["mrr_delta"] is None
    res = invoke(f"alerts --spec {spec_path} -p 2026-03 -f ndjson")
    recs = [json.loads(line) for line in res.stdout.splitlines()]
    assert len(recs) == 4 and recs[-1]["account"] == "a4"


def test_cli_table_and_new_only(spec_path):
    res = invoke(f"alerts --spec {spec_path} -p 2026-03 -f table --new-only --no-color")
    assert "shrink" in res.stdout and "Escalate" in res.stdout
    # values as the report shows them: a2's MRR 200 -> 0 is -$200.00 and -100.0 %
    assert "mrr_delta" in res.stdout and "-$200.00" in res.stdout and "-100.0 %" in res.stdout
    assert "big_pro" not in res.stdout


def test_cli_output_file(spec_path, tmp_path):
    out = tmp_path / "hits.json"
    invoke(f"alerts --spec {spec_path} -p 2026-03 -o {out}", stderr="wrote")
    assert len(json.loads(out.read_text())) == 4
    invoke(f"alerts --spec {spec_path} -p 2026-03 -o {tmp_path / 'x.csv'} -f json", code=2)


def test_cli_markdown_is_grouped_by_playbook(spec_path, tmp_path):
    """Markdown is for people (a wiki page, a chat): one section per playbook with its
    severity, count and action once, then the accounts and their values as the table shows
    them; the same text on stdout and in -o FILE.md."""
    res = invoke(f"alerts --spec {spec_path} -p 2026-03 -f markdown")
    text = res.stdout
    assert text.startswith("## Alerts · 2026-03\n")
    # most severe first: shrink (critical) then mrr_drop (high); each heading once
    assert text.index("### shrink · critical · 1 account") < text.index("### mrr_drop · high")
    assert text.count("Action: Escalate") == 1 and text.count("Action: Call them") == 1
    # a2's MRR 200 -> 0: -100.0 %, right-aligned, beside its name; no empty value columns
    assert "| a2 | Beta | -100.0 % |" in text
    shrink = text.split("### shrink")[1].split("###")[0]
    assert "| account | name | mrr_change |" in shrink and "|---|---|---:|" in shrink
    out = tmp_path / "alerts.md"
    invoke(f"alerts --spec {spec_path} -p 2026-03 -o {out}", stderr="wrote")
    assert out.read_text() == text


def test_cli_no_alerts(tmp_path):
    path = write_spec(tmp_path, BASE, FILES)
    res = invoke(
        f"alerts --spec {path} -p 2026-03 -f csv --fail-on-alert", code=0, stderr="no alerts"
    )
    assert res.stdout.strip() == "period,account,name,owner,alert,severity,action"


def test_cli_table_colours_severity(spec_path):
    res = invoke(f"alerts --spec {spec_path} -p 2026-03 -f table --color")
    assert "\x1b[" in res.stdout and "critical" in res.stdout


def test_cli_bad_severity(spec_path):
    invoke(f"alerts --spec {spec_path} --severity urgent", code=2, stderr="--severity")


def test_validate_reports_an_alert_naming_an_unknown_metric(tmp_path):
    from conftest import write_spec
    from helpers import invoke

    path = write_spec(
        tmp_path,
        """
        version: 1
        sources:
          subscriptions: {path: subs.csv}
          accounts: {path: accounts.csv}
        metrics:
          mrr: {type: mrr}
        alerts:
          - name: shrinking
            when: "mrr_dleta < 0 AND plan = 'pro'"
        """,
        {
            "subs.csv": "account_id,start_date,amount\na,2026-01-01,100\n",
            "accounts.csv": "account_id,plan\na,pro\n",
        },
    )
    r = invoke(["validate", "--spec", str(path)], code=65, stderr=["mrr_dleta", "mrr_delta"])
    assert "metrics.yaml:" in r.stderr


# ------------------------------------------------------------- issue 13: people, grouping
OWNED = {
    **FILES,
    "accounts.csv": """
    account_id,name,plan,employees,owner
    a1,Acme,pro,120,Kim
    a2,Beta,basic,10,Lee
    a3,Gamma,pro,40,Kim
    a4,Delta,basic,60,
    a5,Eps,enterprise,500,Lee
""",
}


def test_cli_names_owners_and_playbook_groups(tmp_path):
    path = write_spec(
        tmp_path, BASE.replace("dimensions:\n", "dimensions:\n  csm: owner\n") + ALERTS, OWNED
    )
    rows = json.loads(invoke(f"alerts --spec {path} -p 2026-03 -f json").stdout)
    assert [(r["alert"], r["account"], r["name"], r["owner"]) for r in rows] == [
        ("shrink", "a2", "Beta", "Lee"),
        ("mrr_drop", "a2", "Beta", "Lee"),
        ("big_pro", "a1", "Acme", "Kim"),
        ("big_pro", "a4", "Delta", None),
    ]
    out = invoke(f"alerts --spec {path} -p 2026-03 -f table --no-color").stdout
    # one heading per playbook with its action once, then its hits
    assert out.count("Escalate") == 1 and out.count("Call them") == 1
    assert "big_pro · low · 2 accounts in 2026-03" in out
    assert re.search(r"a1\s+│\s+Acme\s+│\s+Kim\s+│\s+\$150\.00", out), out  # MRR as money


def test_cli_sort_and_top_within_each_playbook(spec_path):
    # big_pro hits a1 (MRR 150) and a4 (MRR 80): by account a1 first; by mrr highest first
    def big_pro(args: str) -> list[str]:
        rows = json.loads(invoke(f"alerts --spec {spec_path} -p 2026-03 -f json {args}").stdout)
        return [r["account"] for r in rows if r["alert"] == "big_pro"]

    assert big_pro("") == ["a1", "a4"]
    assert big_pro("--sort mrr:asc") == ["a4", "a1"]
    assert big_pro("--sort name:desc") == ["a4", "a1"]  # Delta before Acme
    # --top 1: the first hit of each playbook (3 playbooks fired)
    rows = json.loads(invoke(f"alerts --spec {spec_path} -p 2026-03 -f json --top 1").stdout)
    assert [(r["alert"], r["account"]) for r in rows] == [
        ("shrink", "a2"),
        ("mrr_drop", "a2"),
        ("big_pro", "a1"),
    ]
    invoke(f"alerts --spec {spec_path} -p 2026-03 --sort nope", code=2, stderr="--sort 'nope'")
