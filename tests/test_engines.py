"""polars and DuckDB give the same numbers for every metric (ENGINE.md rule 8).

Runs every metric of the default metrics.yaml plus every built-in metric type over the
bundled sample data, for a series of months, overall, per plan and per account.
"""

from __future__ import annotations

import polars as pl
import pytest
from conftest import REPO
from polars.testing import assert_frame_equal

from cs_metrics.api import compute_metrics
from cs_metrics.metrics.registry import load_all
from cs_metrics.spec import load_spec

NEEDS_OPTIONS = {"aggregate", "formula"}  # covered by the spec's own metrics


def every_metric(spec) -> list[str]:
    builtin = [
        name
        for name, mt in load_all().items()
        if name not in NEEDS_OPTIONS and all(o.default is not ... for o in mt.options.values())
    ]
    return list(spec.model.metrics) + [b for b in builtin if b not in spec.model.metrics]


@pytest.fixture(scope="module")
def spec():
    return load_spec(REPO / "metrics.yaml")


@pytest.mark.parametrize("by", [[], ["plan"], ["account"]], ids=["overall", "plan", "account"])
def test_polars_and_duckdb_agree_on_every_metric(spec, by):
    names = every_metric(spec)
    kwargs = dict(start="2026-07", end="2026-10", by=by)
    a = compute_metrics(spec, names, engine="polars", **kwargs)
    b = compute_metrics(spec, names, engine="duckdb", **kwargs)
    keys = ["period", *by, "metric"]
    fa, fb = a.frame.sort(keys, nulls_last=True), b.frame.sort(keys, nulls_last=True)
    assert fa.height > 0
    assert_frame_equal(fa, fb, check_exact=False, rel_tol=1e-9, abs_tol=1e-9)
    assert a.warnings == b.warnings
    # every metric produced a row for every period (overall)
    if not by:
        counts = fa.group_by("metric").agg(pl.len())
        assert counts["len"].min() == 4, counts
