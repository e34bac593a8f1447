"""``--sort`` and ``--top`` for a split metric result: which rows come first.

A sort key is a metric of the result (highest value in the latest period first) or a key
column (``account``, ``name``, ``owner``, a ``--by`` dimension: A to Z); ``KEY:asc`` or
``KEY:desc`` turns it. Ties, and rows without a value, follow in dimension order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from cs_metrics.errors import UsageError

if TYPE_CHECKING:
    from cs_metrics.result import MetricResult

DIRECTIONS = {"asc": False, "desc": True}


def parse_sort(sort: str, choices: list[str], default_desc: set[str]) -> tuple[str, bool]:
    """(key, descending) of ``KEY[:asc|:desc]``; a usage error names the choices."""
    key, _, direction = sort.partition(":")
    if key not in choices:
        from cs_metrics.suggest import did_you_mean

        raise UsageError(
            f"--sort {key!r}{did_you_mean(key, choices)}: sort by one of {', '.join(choices)} "
            "(add :asc or :desc to turn it)"
        )
    if direction and direction not in DIRECTIONS:
        raise UsageError(f"--sort {sort!r}: the direction after ':' is asc or desc")
    return key, DIRECTIONS[direction] if direction else key in default_desc


def rank_rows(result: MetricResult, sort: str | None, top: int | None) -> pl.DataFrame:
    """dims + ``__rank``: the split's rows (dimension combinations) in ``sort`` order, only
    the first ``top``."""
    dims = list(result.dims)
    frame = result.frame
    metrics = list(dict.fromkeys(frame["metric"].unique(maintain_order=True).to_list()))
    metrics = [m for m in result.metrics if m in set(metrics)] + [
        m for m in metrics if m not in result.metrics
    ]
    combos = frame.select(result.keys).unique(maintain_order=True)
    if sort:
        key, desc = parse_sort(sort, [*metrics, *result.keys], set(metrics))
        if key in metrics:
            latest = [p for p in result.periods if p in set(frame["period"].to_list())]
            values = frame.filter(
                (pl.col("metric") == key) & (pl.col("period") == (latest[-1] if latest else None))
            ).select(*dims, pl.col("value").alias("__key"))
            combos = combos.join(values, on=dims, how="left", nulls_equal=True)
        else:
            combos = combos.with_columns(pl.col(key).alias("__key"))
        combos = combos.sort(
            ["__key", *dims], descending=[desc] + [False] * len(dims), nulls_last=True
        )
    else:
        combos = combos.sort(dims, nulls_last=True)
    if top:
        combos = combos.head(top)
    return combos.select(*dims).with_row_index("__rank")
