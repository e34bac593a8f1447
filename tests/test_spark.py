"""Spark gives the same numbers as polars (ENGINE.md rule 8, issue 10; docs/spark.md).

One local session for the module (cs_metrics.spark.session: local[*], small-data settings).
Spark reads the inputs itself (cs_metrics.sources.spark; tests/test_spark_read.py compares
its frames with the polars reader's). Skips only where pyspark or Java cannot be found (`uv sync --extra spark`,
`apt-get install openjdk-17-jre-headless`; .ci/run installs both).

The default run compares every metric of the default metrics.yaml over two months, with
its warnings; health and one per-account run on the sample; a whole `csm report` bundle
(health, alerts, cohorts, trend) and `csm explain` on a small spec; and the mrr-playbook
peer case. CSM_SPARK_FULL=1 (or --engines=all) adds alerts and cohorts on the sample.
Spark is slow on small data (each job costs tens to hundreds of ms): about two minutes.
"""

from __future__ import annotations

import os
import subprocess
import sys

import polars as pl
import pytest
from conftest import PEERS, REPO
from polars.testing import assert_frame_equal

from cs_metrics import api
from cs_metrics import spark as csm_spark
from cs_metrics.errors import UsageError
from cs_metrics.spec import load_spec

HAVE_PYSPARK = True
try:
    import pyspark  # noqa: F401
except ImportError:
    HAVE_PYSPARK = False

needs_spark = pytest.mark.skipif(
    not HAVE_PYSPARK or csm_spark.find_java() is None,
    reason="Spark needs pyspark (uv sync --extra spark) and Java 17+ "
    "(apt-get install openjdk-17-jre-headless)",
)

RANGE = {"start": "2026-09", "end": "2026-10"}


def full(config) -> bool:
    return bool(os.environ.get("CSM_SPARK_FULL")) or (
        config.getoption("--engines") or os.environ.get("CSM_TEST_ENGINES") or ""
    ) in ("all", "spark")


@pytest.fixture(scope="module")
def spec():
    return load_spec(REPO / "metrics.yaml")


@pytest.fixture(scope="module")
def spark():
    from helpers import spark_test_session

    return spark_test_session()


def same(a: pl.DataFrame, b: pl.DataFrame, keys: list[str]) -> None:
    fa, fb = a.sort(keys, nulls_last=True), b.sort(keys, nulls_last=True)
    assert fa.height > 0
    assert_frame_equal(fa, fb, check_exact=False, rel_tol=1e-9, abs_tol=1e-9)


@needs_spark
def test_every_metric_of_the_default_spec_agrees_with_polars(spec, spark):
    names = list(spec.model.metrics)
    a = api.compute_metrics(spec, names, engine="polars", **RANGE)
    b = api.compute_metrics(spec, names, engine="spark", **RANGE)
    same(a.frame, b.frame, ["period", "metric"])
    assert a.warnings == b.warnings
    assert set(b.frame["metric"]) == set(names)


@needs_spark
def test_csms_own_session_records_no_python_call_sites(spark):
    """PySpark's DataFrame debugging (five py4j round trips and a stack walk per Column or
    DataFrame call) is off on the local session csm starts: ~20 % of a whole-spec run."""
    from pyspark.errors.utils import is_debugging_enabled

    assert spark.conf.get("spark.python.sql.dataFrameDebugging.enabled") == "false"
    assert not is_debugging_enabled()


@needs_spark
def test_per_account_agrees_with_polars(spec, spark):
    names = ["mrr", "tickets", "nps"]
    a = api.compute_metrics(spec, names, engine="polars", period="2026-10", by=["account"])
    b = api.compute_metrics(spec, names, engine="spark", period="2026-10", by=["account"])
    same(a.frame, b.frame, ["period", "account", "metric"])


@needs_spark
def test_health_agrees_with_polars(spec, spark):
    a = api.health(spec, period="2026-10", engine="polars")
    b = api.health(spec, period="2026-10", engine="spark")
    same(a.frame, b.frame, ["account"])
    assert a.frame.height > 0


@needs_spark
def test_alerts_and_cohorts_agree_with_polars(spec, spark, pytestconfig):
    if not full(pytestconfig):
        pytest.skip("alerts and cohorts on the sample on Spark: CSM_SPARK_FULL=1 (20 s)")
    ha = api.alerts(spec, period="2026-10", engine="polars")
    hb = api.alerts(spec, period="2026-10", engine="spark")
    assert ha.frame.equals(hb.frame)
    ca = api.cohorts(spec, start="2026-05", end="2026-10", engine="polars")
    cb = api.cohorts(spec, start="2026-05", end="2026-10", engine="spark")
    assert ca.frame.equals(cb.frame)


@needs_spark
def test_a_report_bundle_and_explain_on_spark_equal_polars(tmp_path, spark):
    from conftest import write_spec
    from helpers import invoke
    from test_report import FILES, SPEC

    path = write_spec(tmp_path, SPEC, FILES)
    for engine in ("polars", "spark"):
        out = tmp_path / engine
        invoke(["report", "--spec", path, "--out-dir", out, "--engine", engine, "-q"])
    files = sorted(p.name for p in (tmp_path / "polars").glob("*.csv"))
    assert {"metrics.csv", "health_accounts.csv", "alerts.csv", "cohorts.csv"} <= set(files)
    for name in files:
        spark_file, polars_file = tmp_path / "spark" / name, tmp_path / "polars" / name
        assert spark_file.read_text() == polars_file.read_text(), name
    args = ["explain", "nrr", "--spec", path, "--period", "2026-03"]
    assert invoke([*args, "--engine", "spark"]).stdout == invoke(args).stdout


PLAYBOOK = PEERS / "mrr_playbook"


@needs_spark
@pytest.mark.skipif(
    not (PLAYBOOK / "expected.csv").is_file(), reason=f"peer data not found at {PLAYBOOK}"
)
def test_mrr_playbook_peer_on_spark(spark):
    from test_peers import RANGE as PEER_RANGE
    from test_peers import SPEC, mismatches

    frame = api.compute_metrics(load_spec(SPEC), None, engine="spark", **PEER_RANGE).frame
    got = {(r["period"], r["metric"]): r["value"] for r in frame.iter_rows(named=True)}
    bad = mismatches(got)
    assert not bad, f"{len(bad)} mismatches:\n" + "\n".join(bad[:30])


def test_missing_java_is_one_clear_error(monkeypatch):
    monkeypatch.setattr(csm_spark, "find_java", lambda: None)
    monkeypatch.setattr(csm_spark, "_OWN", None)
    monkeypatch.delenv("SPARK_REMOTE", raising=False)
    if HAVE_PYSPARK:
        from pyspark.sql import SparkSession

        monkeypatch.setattr(SparkSession, "getActiveSession", staticmethod(lambda: None))
    else:
        from types import SimpleNamespace  # a SparkSession class with no active session

        absent = SimpleNamespace(getActiveSession=lambda: None)
        monkeypatch.setattr(csm_spark, "_import_pyspark", lambda: absent)
    with pytest.raises(UsageError, match="openjdk-17-jre-headless"):
        csm_spark.session()


def test_missing_pyspark_is_one_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)  # import fails as when absent
    with pytest.raises(UsageError, match=r"uv sync --extra spark"):
        csm_spark.session()


def test_cli_without_java_says_how_to_install(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("JAVA_HOME", "SPARK_REMOTE")}
    env["PATH"] = str(tmp_path)  # no java on it
    cmd = [sys.executable, "-m", "cs_metrics", "compute", "mrr", "--engine", "spark"]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, env=env, timeout=60)
    assert proc.returncode == 2, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    assert "openjdk-17-jre-headless" in lines[0] or "uv sync --extra spark" in lines[0]
    assert "Traceback" not in proc.stderr


def test_engine_comes_from_the_option_then_the_spec(spec):
    assert api.engine_for(spec, None) == "polars"
    assert api.engine_for(spec, "duckdb") == "duckdb"
    model = spec.model.model_copy(update={"engine": "spark"})
    from dataclasses import replace

    assert api.engine_for(replace(spec, model=model), None) == "spark"
    assert api.engine_for(replace(spec, model=model), "polars") == "polars"


def test_remote_from_the_spec_or_the_environment(monkeypatch, spec):
    monkeypatch.delenv("SPARK_REMOTE", raising=False)
    assert csm_spark.remote_url(spec.model.engine_options) is None
    monkeypatch.setenv("SPARK_REMOTE", "sc://env:15002")
    assert csm_spark.remote_url(spec.model.engine_options) == "sc://env:15002"
    opts = spec.model.engine_options.model_copy(update={"remote": "sc://spec:15002"})
    assert csm_spark.remote_url(opts) == "sc://spec:15002"


@needs_spark
def test_the_engine_reads_the_files_with_spark(tmp_path, spark):
    """--engine spark reads sources itself (cs_metrics.sources.spark): a file:// URI, which
    only Spark reads, gives the numbers the polars engine gives for the local file, and a
    bad value stops the run with the polars reader's message (file, row, column, fix)."""
    import shutil

    from conftest import write_spec

    from cs_metrics.errors import DataError

    shutil.copy(REPO / "sample_data" / "subscriptions.csv", tmp_path / "subscriptions.csv")
    mapping = load_spec(REPO / "metrics.yaml").model.sources["subscriptions"].columns
    columns = "{" + ", ".join(f"{k}: {v}" for k, v in mapping.items()) + "}"
    local = write_spec(
        tmp_path,
        f"sources:\n  subscriptions: {{path: subscriptions.csv, columns: {columns}}}\n"
        "metrics:\n  mrr: {type: mrr}\n  logo_churn: {type: customer_churn_rate}\n",
    )
    a = api.compute_metrics(load_spec(local), None, engine="polars", **RANGE)
    uri = (tmp_path / "subscriptions.csv").as_uri()
    text = local.read_text().replace("path: subscriptions.csv", f"path: '{uri}'")
    remote = tmp_path / "uri.yaml"
    remote.write_text(text)
    b = api.compute_metrics(load_spec(remote), None, engine="spark", **RANGE)
    same(a.frame, b.frame, ["period", "metric"])
    assert b.rows_read == a.rows_read  # counted by Spark, with the read
    # a bad amount on a local file: the polars reader's words, row number included
    lines = (tmp_path / "subscriptions.csv").read_text().splitlines()
    header = lines[0].split(",")
    amount = mapping.get("amount", "amount")
    cells = lines[5].split(",")
    cells[header.index(amount)] = "12x"
    lines[5] = ",".join(cells)
    (tmp_path / "subscriptions.csv").write_text("\n".join(lines) + "\n")
    messages = []
    for engine in ("polars", "spark"):
        with pytest.raises(DataError) as info:
            api.compute_metrics(load_spec(local), None, engine=engine, **RANGE)
        messages.append(info.value.render())
    assert messages[0] == messages[1]
    assert "subscriptions.csv:6" in messages[1] and "12x" in messages[1]


@needs_spark
def test_an_active_session_is_used_as_it_is(spark, spec, monkeypatch):
    """Inside spark-submit or a notebook csm computes on the session that is active (its
    master, its settings) and keeps shared steps on its executors (localCheckpoint, not the
    local session's round trip through the driver): the same numbers."""
    monkeypatch.setattr(csm_spark, "_OWN", None)  # the session is not csm's own now
    assert csm_spark.session(None) is spark  # the active one, not a new local session
    checkpoints = []
    frame_type = type(spark.range(1))
    real = frame_type.localCheckpoint

    def counted(self, *args, **kwargs):
        checkpoints.append(1)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(frame_type, "localCheckpoint", counted)
    names = ["mrr", "nrr", "nps", "first_response_hours"]
    a = api.compute_metrics(spec, names, engine="polars", period="2026-10")
    b = api.compute_metrics(spec, names, engine="spark", period="2026-10")
    same(a.frame, b.frame, ["period", "metric"])
    # each source read is checkpointed on every session; here the shared steps are too
    assert len(checkpoints) > len(b.rows_read)
    assert not csm_spark._stopped(spark)
