"""The order rows are shown and written in: the requested periods, then the spec's metrics."""

from __future__ import annotations

import polars as pl

from cs_metrics.result import MetricResult


def period_order(result: MetricResult) -> list[str]:
    present = result.frame.get_column("period").unique(maintain_order=True).to_list()
    seen = set(present)
    ordered = [p for p in result.periods if p in seen]
    known = set(ordered)
    return ordered + [p for p in present if p not in known]


def period_rank(result: MetricResult) -> pl.Expr:
    rank = {p: i for i, p in enumerate(result.periods)}
    return pl.col("period").replace_strict(rank, default=len(rank), return_dtype=pl.Int64)


def metric_rank(result: MetricResult) -> pl.Expr:
    rank = {m: i for i, m in enumerate(result.metrics)}
    return pl.col("metric").replace_strict(rank, default=len(rank), return_dtype=pl.Int64)
