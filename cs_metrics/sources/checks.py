"""Whole-row rules checked with the results: spans that end before they start, and
overlapping versions of one subscription."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from cs_metrics.sources.base import MAX_REPORTED, Notice
from cs_metrics.sources.parse import (
    _check,
)

if TYPE_CHECKING:
    import polars as pl

if TYPE_CHECKING:
    import polars as pl


def _order_checks(
    lf: pl.LazyFrame, path: Path, role: str, present: set[str], file_column: dict[str, str]
) -> list[pl.LazyFrame]:
    """A line that ends before it starts: an error (never a negative span counted as MRR)."""
    import polars as pl

    pairs = {
        "subscriptions": ("start_date", "end_date"),
        "invoices": ("period_start", "period_end"),
    }
    if role not in pairs or not set(pairs[role]) <= present:
        return []
    start, end = pairs[role]
    fix = (
        "fix the dates, or leave end_date empty for an ongoing subscription"
        if role == "subscriptions"
        else "fix the dates (period_end is the day after the period)"
    )
    return [
        _check(
            lf,
            path,
            role,
            end,
            file_column.get(end, end),
            pl.col(end) < pl.col(start),
            pl.col(end),
            f"is before {start} on the same row: {fix}",
        )
    ]


def overlap_rows(frame: pl.LazyFrame, columns: list[str]) -> pl.LazyFrame | None:
    """Rows (file, row) of a subscription_id that start before an earlier row of the same
    subscription_id ends (an open end never ends): both count toward MRR."""
    import polars as pl

    if not {"subscription_id", "start_date"} <= set(columns):
        return None
    end = pl.col("end_date") if "end_date" in columns else pl.lit(None, pl.Date)
    never = pl.lit(date(9999, 12, 31))
    ids = pl.col("subscription_id")
    # only ids on several rows can overlap: a hash filter first, the sort on the few left
    ordered = frame.filter(ids.is_not_null() & ids.is_duplicated()).select(
        pl.col("__file").alias("file"),
        pl.col("__row").cast(pl.Int64).alias("row"),
        "subscription_id",
        "start_date",
        end.fill_null(never).alias("__end"),
    )
    ordered = ordered.sort("subscription_id", "start_date", "__end", "file", "row")
    reach = pl.col("__end").cum_max().shift(1).over("subscription_id")
    return ordered.filter(pl.col("start_date") < reach).select("file", "row")


def _overlap_notice(frame: pl.LazyFrame, columns: list[str]) -> Notice:

    rows = overlap_rows(frame, columns)
    assert rows is not None

    def fmt(df: pl.DataFrame) -> str | None:
        if not df.height:
            return None
        first = df.sort("file", "row").head(MAX_REPORTED)
        where = ", ".join(f"{f}:{r}" for f, r in first.iter_rows())
        more = f" and {df.height - MAX_REPORTED} more" if df.height > MAX_REPORTED else ""
        return (
            f"subscriptions: {df.height} row(s) start before an earlier row of the same "
            f"subscription_id ends ({where}{more}): both count toward MRR; end the earlier "
            "row where the next begins"
        )

    return rows, fmt
