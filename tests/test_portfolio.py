"""Portfolio health metrics in `csm compute` agree with `csm health`'s per-account scores."""

from __future__ import annotations

import polars as pl
import pytest
from conftest import ENGINES, REPO, value, values

from cs_metrics.health import score_health
from cs_metrics.periods import parse_period
from cs_metrics.spec import load_spec


@pytest.fixture(scope="module")
def spec():
    return load_spec(REPO / "metrics.yaml")


@ENGINES
def test_portfolio_metrics_summarise_the_account_scores(spec, engine):
    f = values(
        spec,
        ["health_avg", "red_accounts", "red_mrr", "green_mrr"],
        period="2026-10",
        engine=engine,
    )
    scores, _ = score_health(spec, parse_period("2026-10"), engine)
    scores = scores.filter(pl.col("period") == "2026-10")
    red = scores.filter(pl.col("band") == "red")
    green = scores.filter(pl.col("band") == "green")
    assert value(f, "health_avg", "2026-10") == pytest.approx(scores["score"].mean())
    assert value(f, "red_accounts", "2026-10") == red.height
    assert value(f, "red_mrr", "2026-10") == pytest.approx(red["mrr"].sum())
    assert value(f, "green_mrr", "2026-10") == pytest.approx(green["mrr"].sum())
    assert 0 <= value(f, "health_avg", "2026-10") <= 100


def test_portfolio_metrics_by_dimension(spec):
    f = values(spec, ["red_accounts", "health_avg"], period="2026-10", by=["plan"])
    total = f.filter(pl.col("metric") == "red_accounts")["value"].sum()
    overall = values(spec, ["red_accounts"], period="2026-10")
    assert total == value(overall, "red_accounts", "2026-10")


def test_without_a_health_block_the_metric_is_unavailable(make_spec):
    spec = make_spec("version: 1\nmetrics:\n  h: {type: health_avg}\n")
    f = values(spec, period="2026-10")
    assert value(f, "h", "2026-10") is None
    assert "health" in f["note"][0]
