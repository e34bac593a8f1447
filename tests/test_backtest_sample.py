"""Issue 4's proof: on the bundled sample data the health score predicts churn.

The sample generator makes accounts decline noisily before they churn (not forced); the
default metrics.yaml's health score, backtested over a year with a 3-month horizon,
must show the red band churning more often than the green band.
"""

from __future__ import annotations

from datetime import date

import polars as pl
from conftest import REPO

from cs_metrics.health import backtest
from cs_metrics.periods import parse_period, series
from cs_metrics.spec import load_spec


def test_red_band_churns_more_than_green_on_the_sample():
    spec = load_spec(REPO / "metrics.yaml")
    periods = series(parse_period("2025-11"), parse_period("2026-07"), "month")
    frame, _ = backtest(spec, periods, 3, date(2026, 10, 31))
    overall = {r["band"]: r for r in frame.filter(pl.col("period") == "all").iter_rows(named=True)}
    assert overall["red"]["accounts"] >= 30, overall  # enough accounts to mean something
    assert overall["red"]["churn_rate"] > overall["green"]["churn_rate"], overall
    assert overall["red"]["lift"] > 1.5, overall
