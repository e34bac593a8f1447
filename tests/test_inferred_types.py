"""A text column compared with a number at run time (issue 15): for a column typed only
by the data (an inferred accounts attribute holding buckets like '51-200'), the spec
check cannot know its type, so the engine checks the expression against the frame before
it runs: exit 78 and one message located at the expression in the spec, on every engine
(DuckDB crashed with a BinderException, exit 70; polars gave an unlocated 65)."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import invoke

ACCOUNTS = "account_id,name,employees\na1,Acme Corp,51-200\na2,Beta Ltd,11-50\n"
SUBS = "account_id,start_date,amount\na1,2026-01-01,10\na2,2026-01-01,20\n"


def project(tmp_path: Path, extra: str = "") -> Path:
    (tmp_path / "accounts.csv").write_text(ACCOUNTS, encoding="utf-8")
    (tmp_path / "subs.csv").write_text(SUBS, encoding="utf-8")
    spec = tmp_path / "metrics.yaml"
    spec.write_text(
        "version: 1\nas_of: 2026-03-31\nsources:\n"
        "  accounts: {path: accounts.csv}\n  subscriptions: {path: subs.csv}\n"
        'dimensions:\n  big: "employees >= 100"\n'
        'metrics:\n  m: {type: mrr, filter: "employees > 200"}\n  n: {type: mrr}\n' + extra,
        encoding="utf-8",
    )
    return spec


HINT = "the column holds text (its values look like '11-50', '51-200'), not numbers"


def no_customer_data(err: str) -> None:
    assert "Traceback" not in err and "Acme" not in err and "Beta" not in err


@pytest.mark.parametrize("engine", ["polars", "duckdb"])
def test_metric_filter_on_a_bucket_column_is_located_in_the_spec(tmp_path, engine):
    spec = project(tmp_path)
    r = invoke(
        ["compute", "m", "--spec", spec, "-f", "csv", "--engine", engine],
        code=78,
        stderr=[f"{spec}:9:18: error: metrics.m.filter", "employees (text)", HINT],
    )
    no_customer_data(r.stderr)


@pytest.mark.parametrize("engine", ["polars", "duckdb"])
def test_dimension_on_a_bucket_column_is_located_in_the_spec(tmp_path, engine):
    spec = project(tmp_path)
    r = invoke(
        ["compute", "n", "--by", "big", "--spec", spec, "-f", "csv", "--engine", engine],
        code=78,
        stderr=[f"{spec}:7:3: error: dimension big", "number 100", HINT],
    )
    no_customer_data(r.stderr)


@pytest.mark.parametrize("engine", ["polars", "duckdb"])
def test_health_segment_on_a_bucket_column_is_located_in_the_spec(tmp_path, engine):
    health = (
        "health:\n  components:\n    paying: {metric: n, scale: [0, 100]}\n"
        '  segments:\n    - {name: large, when: "employees > 1000"}\n'
    )
    spec = project(tmp_path, health)
    r = invoke(
        ["health", "--spec", spec, "-f", "csv", "--engine", engine],
        code=78,
        stderr=[f"{spec}:15:21: error: health.segments.large.when", "number 1000", HINT],
    )
    no_customer_data(r.stderr)


def test_text_comparison_with_the_bucket_still_runs(tmp_path):
    spec = project(tmp_path)
    text = spec.read_text(encoding="utf-8").replace("employees > 200", "employees = '51-200'")
    spec.write_text(text, encoding="utf-8")
    r = invoke(["compute", "m", "--spec", spec, "-f", "csv", "-p", "2026-03"])
    assert ",10" in r.stdout  # only a1 (51-200) pays 10
