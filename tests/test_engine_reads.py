"""One run reads each source once, and every way of reading gives the same numbers.

The engine parses each source once per run (rows and bad-value checks in one collect) and
plans every metric over the rows in memory; the health pass computed inside a run (the
portfolio metrics) reuses those reads. Large sources are streamed instead (scanned by each
shared step that reads them): the values must not depend on which way a source was read.
"""

from __future__ import annotations

from collections import Counter

import pytest
from conftest import REPO
from polars.testing import assert_frame_equal

from cs_metrics import engine
from cs_metrics.api import compute_metrics
from cs_metrics.spec import load_spec

NAMES = ["mrr", "nrr", "customers", "health_avg", "red_accounts", "active_users", "dau", "tickets"]
KWARGS = dict(start="2026-07", end="2026-10")


@pytest.fixture(scope="module")
def spec():
    return load_spec(REPO / "metrics.yaml")


def test_each_source_is_scanned_once_per_run_with_health_inside(spec, monkeypatch):
    scans = _count_scans(monkeypatch)
    result = compute_metrics(spec, NAMES, **KWARGS)
    assert result.frame.height > 0
    assert scans, "the run read no source"
    assert max(scans.values()) == 1, scans  # health_avg's own engine pass read nothing again


def test_the_account_population_takes_the_rows_the_run_holds(spec, monkeypatch):
    """--by account lists every account of every source: a source the run has read already
    (subscriptions, for mrr) gives its rows in memory, not a second scan of its file."""
    plans: list[str] = []
    real = engine.Context.materialise

    def recording(self, frame):
        plans.append(frame.to_native().explain())
        return real(self, frame)

    monkeypatch.setattr(engine.Context, "materialise", recording)
    mrr = compute_metrics(spec, ["mrr"], by=["account"], period="2026-10").frame
    assert mrr.height > 100  # one row per account of the data
    scans = [ln.strip() for p in plans for ln in p.splitlines() if "SCAN" in ln]
    assert any("accounts.csv" in ln for ln in scans), scans  # not read by mrr: its ids scanned
    assert not any("subscriptions.csv" in ln for ln in scans), scans


@pytest.mark.parametrize("by", [[], ["plan"], ["account"]], ids=["overall", "plan", "account"])
def test_streamed_sources_give_the_same_values_as_sources_in_memory(spec, monkeypatch, by):
    names = list(spec.model.metrics)
    in_memory = compute_metrics(spec, names, by=by, **KWARGS)
    monkeypatch.setattr(engine, "IN_MEMORY_BYTES", 0)  # every source counts as large
    streamed = compute_metrics(spec, names, by=by, **KWARGS)
    assert_frame_equal(in_memory.frame, streamed.frame)
    assert in_memory.warnings == streamed.warnings
    assert in_memory.rows_read == streamed.rows_read


def test_a_spec_without_sql_text_computes_without_sqlglot(tmp_path):
    """sqlglot (0.3 s of start-up) is only imported for a spec with SQL text (filters,
    dimensions, formulas, segments, alerts)."""
    import subprocess
    import sys

    from conftest import write_spec

    spec = write_spec(
        tmp_path,
        """
        version: 1
        sources:
          subscriptions: {path: subs.csv}
        metrics:
          mrr: {type: mrr}
          customers: {type: customers}
        """,
        {"subs.csv": "account_id,start_date,end_date,amount\na,2026-01-01,,100\n"},
    )
    code = (
        "import sys; from cs_metrics.cli import main; sys.argv = ['csm', 'compute', '--spec', "
        f"{str(spec)!r}, '--from', '2026-02', '--to', '2026-02', '-q', '-o', "
        f"{str(tmp_path / 'out.csv')!r}]\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
        "sys.exit('sqlglot' in sys.modules)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    # mrr on 2026-02-28: one line of 100 a month
    assert "100" in (tmp_path / "out.csv").read_text()


def test_alerts_read_each_source_once_for_metrics_and_health(spec, monkeypatch):
    from cs_metrics.api import alerts

    assert spec.model.alerts and spec.model.health  # the bundled spec alerts on both
    scans = _count_scans(monkeypatch)
    alerts(spec, period="2026-09")
    assert scans, "the alerts read no source"
    assert max(scans.values()) == 1, scans


def test_a_report_reads_each_source_once_across_its_engine_runs(spec, monkeypatch):
    from cs_metrics.report import report_settings
    from cs_metrics.report.data import build_report

    settings = report_settings(spec)[0]
    scans = _count_scans(monkeypatch)
    build_report(spec, settings, period="2026-09")
    assert scans, "the report read no source"
    assert max(scans.values()) == 1, scans


@pytest.mark.parametrize("streamed", [False, True], ids=["in-memory", "streamed"])
def test_a_null_parquet_timestamp_is_reported_with_its_file_and_row(
    tmp_path, monkeypatch, streamed
):
    """A typed file column is checked for empty values with is_null (not formatted as text
    first): a null Parquet timestamp is still refused, with its file and row."""
    from datetime import datetime

    import polars as pl
    from conftest import write_spec

    from cs_metrics.errors import DataError

    pl.DataFrame(
        {
            "account_id": ["a", "b"],
            "user_id": ["u1", "u2"],
            "timestamp": [datetime(2026, 9, 1, 10), None],
        }
    ).write_parquet(tmp_path / "events.parquet")
    path = write_spec(
        tmp_path,
        """
        version: 1
        sources:
          usage: {path: events.parquet}
        metrics:
          active_users: {type: active_users}
        """,
    )
    if streamed:
        monkeypatch.setattr(engine, "IN_MEMORY_BYTES", 0)
    with pytest.raises(DataError) as err:
        compute_metrics(load_spec(path), ["active_users"], start="2026-09", end="2026-09")
    # the second data row (rows are numbered as in a CSV with its header as row 1)
    shown = repr(err.value)
    assert "events.parquet:2" in shown and "is empty" in shown and "timestamp" in shown, shown


def test_activity_without_wau_leaves_weeks_out_and_every_value_unchanged(spec):
    """Whole weeks are counted only for a run that computes wau (a second distinct count
    in the largest aggregation): the other activity metrics are the same either way."""
    others = ["active_users", "active_accounts", "dau", "stickiness"]
    alone = compute_metrics(spec, others, **KWARGS).frame
    with_wau = compute_metrics(spec, [*others, "wau"], **KWARGS).frame
    assert_frame_equal(alone, with_wau.filter(with_wau["metric"] != "wau"))
    wau = with_wau.filter(with_wau["metric"] == "wau")
    assert wau.height and wau["value"].is_not_null().all()


def _count_scans(monkeypatch) -> Counter[str]:
    """role -> scans, counted where every scan_source starts (resolving the files), so a
    module that calls scan_source by any import path is counted."""
    from cs_metrics.sources import scan

    scans: Counter[str] = Counter()
    real = scan._resolve

    def counting(spec_dir, role, source, *args, **kw):
        scans[role] += 1
        return real(spec_dir, role, source, *args, **kw)

    monkeypatch.setattr(scan, "_resolve", counting)
    return scans


@pytest.mark.parametrize("command", ["compute --by account", "health", "explain --by account"])
def test_names_owners_and_segments_reuse_the_runs_accounts_read(spec, monkeypatch, command):
    """The accounts' names and owners (per-account output), health's segments and its
    population read the accounts source the engine already read, not a scan of their own."""
    from cs_metrics import api

    scans = _count_scans(monkeypatch)
    if command == "health":
        out = api.health(spec, period="2026-10").frame
    elif command == "explain --by account":
        out = api.explain(spec, "mrr", period="2026-10", by=["account"])["rows"]
    else:
        out = compute_metrics(spec, ["mrr", "tickets"], by=["account"], period="2026-10").frame
    assert len(out) > 0
    assert scans["accounts"] == 1, scans
    assert max(scans.values()) == 1, scans


def test_health_segments_read_the_accounts_once(tmp_path, monkeypatch):
    from conftest import write_spec

    from cs_metrics import api

    path = write_spec(
        tmp_path,
        """
        version: 1
        sources:
          accounts: {path: accounts.csv}
          subscriptions: {path: subs.csv}
        metrics:
          mrr: {type: mrr}
        health:
          components:
            revenue: {metric: mrr, weight: 1, scale: [0, 200]}
          bands: {red: 40, yellow: 70}
          segments:
            - {name: big, when: "plan = 'pro'", weights: {revenue: 2}}
        """,
        {
            "accounts.csv": "account_id,plan\na,pro\nb,basic\n",
            # a: 100 a month from January, b: 50
            "subs.csv": "account_id,start_date,end_date,amount\n"
            "a,2026-01-01,,100\nb,2026-01-01,,50\n",
        },
    )
    scans = _count_scans(monkeypatch)
    frame = api.health(load_spec(path), period="2026-10").frame
    assert sorted(frame["account"]) == ["a", "b"]
    assert scans["accounts"] == 1, scans
