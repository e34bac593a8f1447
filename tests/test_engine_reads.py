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
    scans: Counter[str] = Counter()
    real = engine.scan_source

    def counting(spec_dir, role, source, **kw):
        scans[role] += 1
        return real(spec_dir, role, source, **kw)

    monkeypatch.setattr(engine, "scan_source", counting)
    result = compute_metrics(spec, NAMES, **KWARGS)
    assert result.frame.height > 0
    assert scans, "the run read no source"
    assert max(scans.values()) == 1, scans  # health_avg's own engine pass read nothing again


@pytest.mark.parametrize("by", [[], ["plan"], ["account"]], ids=["overall", "plan", "account"])
def test_streamed_sources_give_the_same_values_as_sources_in_memory(spec, monkeypatch, by):
    names = list(spec.model.metrics)
    in_memory = compute_metrics(spec, names, by=by, **KWARGS)
    monkeypatch.setattr(engine, "IN_MEMORY_BYTES", 0)  # every source counts as large
    streamed = compute_metrics(spec, names, by=by, **KWARGS)
    assert_frame_equal(in_memory.frame, streamed.frame)
    assert in_memory.warnings == streamed.warnings
    assert in_memory.rows_read == streamed.rows_read
