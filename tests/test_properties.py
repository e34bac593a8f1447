"""Properties of the revenue metrics over random subscription tables (hypothesis).

Each example is a few accounts with random subscription lines over ~18 months: amounts
including 0 (free plans) and negative credits, intervals month / quarter / year, open or
closed end dates. Properties: the MRR identity, ratio ranges, row-order independence and
polars / DuckDB agreement.
"""

from __future__ import annotations

import tempfile
from datetime import date, timedelta
from pathlib import Path

import polars as pl
from conftest import revenue_types, values, write_spec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from cs_metrics.spec import load_spec

PERIODS = {"start": "2025-01", "end": "2026-06"}
TYPES = revenue_types()
RATIOS_0_1 = [
    "customer_churn_rate",
    "customer_retention_rate",
    "gross_mrr_churn_rate",
    "grr",
    "grr_12m",
    "renewal_rate",
]
SPEC = (
    "version: 1\ncurrency: USD\nsources:\n  subscriptions: {path: subs.csv}\nmetrics:\n"
    + "".join(f"  {t}: {{type: {t}}}\n" for t in TYPES)
    + "  grr_12m: {type: grr, window: 12}\n  nrr_12m: {type: nrr, window: 12}\n"
)
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

day = st.one_of(
    st.dates(date(2024, 11, 1), date(2026, 8, 31)),
    # month starts: lines that change on the 1st, like most billing systems
    st.builds(lambda i: date(2024 + (10 + i) // 12, (10 + i) % 12 + 1, 1), st.integers(0, 21)),
)
amount = st.one_of(
    st.just(0.0),  # trial / free plan
    st.integers(1, 500).map(float),
    st.sampled_from([9.99, 49.5, 1200.0]),
    st.integers(-80, -1).map(float),  # credit
)
line = st.tuples(
    st.sampled_from(["a1", "a2", "a3", "a4", "a5"]),
    day,
    st.one_of(st.none(), st.integers(1, 420)),  # open-ended, or a length in days
    amount,
    st.sampled_from(["month", "quarter", "year"]),
)
tables = st.lists(line, min_size=1, max_size=14)


def to_csv(rows: list[tuple]) -> str:
    out = ["account_id,start_date,end_date,amount,interval"]
    for account, start, length, amt, interval in rows:
        end = "" if length is None else (start + timedelta(days=length)).isoformat()
        out.append(f"{account},{start.isoformat()},{end},{amt},{interval}")
    return "\n".join(out) + "\n"


def compute(rows: list[tuple], engine: str = "polars") -> pl.DataFrame:
    with tempfile.TemporaryDirectory() as folder:
        spec = load_spec(write_spec(Path(folder), SPEC, {"subs.csv": to_csv(rows)}))
        return values(spec, engine=engine, **PERIODS)


def canonical(frame: pl.DataFrame) -> pl.DataFrame:
    keys = [c for c in frame.columns if c not in ("value", "previous", "note", "unit")]
    return frame.sort(keys, nulls_last=True)


def assert_same(left: pl.DataFrame, right: pl.DataFrame) -> None:
    assert_frame_equal(canonical(left), canonical(right), rel_tol=1e-9, abs_tol=1e-6)


@SETTINGS
@given(tables, st.randoms(use_true_random=False))
def test_identity_ranges_and_row_order(rows, rnd):
    """(a) the MRR identity, (b) ratio ranges, (c) shuffling the input rows changes nothing.

    One test so that each example is computed once (plus once shuffled): hypothesis
    examples cost a full compute each.
    """
    f = compute(rows)
    assert f.height == 18 * (len(TYPES) + 2)
    assert f["value"].drop_nulls().is_finite().all()
    wide = f.pivot(on="metric", index="period", values=["value", "previous"])
    # (a) mrr(P) = mrr(P-1) + net_new_mrr(P), for every period (P-1 from `previous`)
    for r in wide.iter_rows(named=True):
        assert r["value_mrr"] is not None and r["previous_mrr"] is not None, r["period"]
        assert r["value_mrr"] >= 0
        assert abs(r["value_mrr"] - (r["previous_mrr"] + r["value_net_new_mrr"])) < 1e-6, r
        assert abs(r["value_arr"] - 12 * r["value_mrr"]) < 1e-6
    # (b) ratios are null or in [0, 1]; nrr is null or >= 0
    for metric in RATIOS_0_1:
        vals = f.filter(pl.col("metric") == metric)["value"].drop_nulls()
        assert ((vals >= -1e-12) & (vals <= 1 + 1e-12)).all(), (metric, vals.to_list())
    for metric in ("nrr", "nrr_12m"):
        vals = f.filter(pl.col("metric") == metric)["value"].drop_nulls()
        assert (vals >= -1e-12).all(), (metric, vals.to_list())
    # retention is the complement of churn, null at the same places
    churn = f.filter(pl.col("metric") == "customer_churn_rate").sort("period")["value"]
    keep = f.filter(pl.col("metric") == "customer_retention_rate").sort("period")["value"]
    assert churn.is_null().to_list() == keep.is_null().to_list()
    assert (((churn + keep).drop_nulls() - 1).abs() < 1e-12).all()
    # (c) the order of the input rows never matters
    shuffled = list(rows)
    rnd.shuffle(shuffled)
    assert_same(f, compute(shuffled))


# Engine parity over the whole metric library is tests/test_engines.py's (the sample, every
# metric, three splits); here random tables probe the edge cases (credits, free plans,
# quarterly and yearly lines, open ends) on both engines. A DuckDB run costs ~8 polars runs,
# so fewer examples than the properties above.
@settings(SETTINGS, max_examples=10)
@given(tables)
def test_polars_and_duckdb_agree(rows):
    assert_same(compute(rows, "polars"), compute(rows, "duckdb"))
