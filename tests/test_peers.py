"""Peer reference: the dbt-labs mrr-playbook data, checked against independent implementations.

The data lives outside the repository (../shared/peers/mrr_playbook, no licence to copy
it): its README says what computed expected.csv. An empty expected value means the metric
is undefined there and csm must report null.
"""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys

import pytest
from conftest import PEERS, REPO, values

from cs_metrics.spec import load_spec

PLAYBOOK = PEERS / "mrr_playbook"
SPEC = PLAYBOOK / "spec.yaml"
RANGE = {"start": "2017-09", "end": "2020-02"}
REL = 1e-6
# expected.csv writes ratios with 6 decimals (0.052632 for 1/19): a value is also right when
# it is within half a unit of that last decimal.
ABS = 5e-7

UNITS = {
    "mrr": "USD",
    "arr": "USD",
    "new_mrr": "USD",
    "reactivation_mrr": "USD",
    "expansion_mrr": "USD",
    "contraction_mrr": "USD",
    "churned_mrr": "USD",
    "arpa": "USD",
    "customers": "count",
    "new_customers": "count",
    "reactivated_customers": "count",
    "churned_customers": "count",
    "customer_churn_rate": "ratio",
    "gross_mrr_churn_rate": "ratio",
    "nrr_12m": "ratio",
    "grr_12m": "ratio",
    "quick_ratio": "number",
}

pytestmark = pytest.mark.skipif(
    not (PLAYBOOK / "expected.csv").is_file(), reason=f"peer data not found at {PLAYBOOK}"
)


def expected_rows() -> list[tuple[str, str, float | None]]:
    with (PLAYBOOK / "expected.csv").open(newline="") as fh:
        return [
            (r["period"], r["metric"], float(r["value"]) if r["value"].strip() else None)
            for r in csv.DictReader(fh)
        ]


def mismatches(got: dict[tuple[str, str], float | None]) -> list[str]:
    """Every expected row that `got` (period, metric) -> value does not reproduce."""
    bad = []
    for period, metric, want in expected_rows():
        if (period, metric) not in got:
            bad.append(f"{period} {metric}: missing (expected {want})")
            continue
        have = got[(period, metric)]
        if want is None:
            if have is not None:
                bad.append(f"{period} {metric}: expected null, got {have}")
        elif have is None or not math.isclose(have, want, rel_tol=REL, abs_tol=ABS):
            bad.append(f"{period} {metric}: expected {want}, got {have}")
    return bad


def test_expected_file_is_the_one_we_think():
    rows = expected_rows()
    assert len(rows) == 499
    assert {p for p, _, _ in rows} >= {"2017-09", "2020-02"}
    assert {m for _, m, _ in rows} == set(UNITS)


@pytest.mark.parametrize("engine", ["polars", "duckdb"])
def test_library_reproduces_expected(engine):
    frame = values(load_spec(SPEC), engine=engine, **RANGE)
    got = {(r["period"], r["metric"]): r["value"] for r in frame.iter_rows(named=True)}
    assert len(got) == frame.height  # one row per period and metric
    bad = mismatches(got)
    assert not bad, f"{len(bad)} mismatches:\n" + "\n".join(bad[:30])
    for r in frame.iter_rows(named=True):
        assert r["unit"] == UNITS[r["metric"]], r


def test_cli_json_reproduces_expected():
    cmd = [sys.executable, "-m", "cs_metrics", "compute", "--spec", str(SPEC)]
    cmd += ["--from", RANGE["start"], "--to", RANGE["end"], "--format", "json"]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 0, proc.stderr
    records = json.loads(proc.stdout)
    assert isinstance(records, list)
    got: dict[tuple[str, str], float | None] = {}
    for rec in records:
        assert set(rec) == {"period", "metric", "value", "unit"}, rec
        assert rec["unit"] == UNITS[rec["metric"]], rec
        assert rec["value"] is None or isinstance(rec["value"], int | float), rec
        key = (rec["period"], rec["metric"])
        assert key not in got, f"duplicate record {key}"
        got[key] = rec["value"]
    bad = mismatches(got)
    assert not bad, f"{len(bad)} mismatches:\n" + "\n".join(bad[:30])
    # exactly the expected periods, in order
    periods = list(dict.fromkeys(rec["period"] for rec in records))
    assert periods[0] == "2017-09" and periods[-1] == "2020-02" and len(periods) == 30
    assert periods == sorted(periods)
