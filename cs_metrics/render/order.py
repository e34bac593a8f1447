"""The order rows are shown and written in: the requested periods, then the spec's metrics."""

from __future__ import annotations

from typing import Any

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


def row_keys(result: MetricResult, frame: pl.DataFrame, *, metric: bool = True) -> pl.DataFrame:
    """``frame`` sorted for output: the requested periods, then ``result.ranks`` (--sort),
    then the dimension values, then (``metric``) the metric order. Rows the ranks leave
    out (--top) are dropped."""
    keys: list[Any] = [period_rank(result), pl.col("period")]
    ranks = result.ranks
    if ranks is not None and result.dims:
        frame = frame.join(ranks, on=result.dims, how="inner", nulls_equal=True)
        keys.append(pl.col("__rank"))
    keys += [pl.col(d) for d in result.dims]
    if metric and "metric" in frame.columns:
        keys.append(metric_rank(result))
    frame = frame.sort(keys, nulls_last=True, maintain_order=True)
    return frame.drop("__rank") if "__rank" in frame.columns else frame
