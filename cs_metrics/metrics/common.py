"""Small expression helpers shared by metric families (portable across engines)."""

from __future__ import annotations

import narwhals.stable.v2 as nw

# The column naming a row's account, for the roles where it is not account_id.
ACCOUNT_COLUMN = {"orders": "customer_id"}


def days_between(start: nw.Expr, end: nw.Expr) -> nw.Expr:
    """Days from start to end as Float64 (dates or datetimes; fractional for datetimes)."""
    return (
        end.cast(nw.Datetime("us")) - start.cast(nw.Datetime("us"))
    ).dt.total_seconds() / 86400.0


def day_of(timestamp: nw.Expr) -> nw.Expr:
    """The day (a Date) a timestamp falls on, in its own time zone."""
    return timestamp.dt.date().cast(nw.Date)


def count_if(cond: nw.Expr) -> nw.Expr:
    """Number of rows where cond holds, as Int64 (ENGINE.md rules 1 and 2)."""
    return (
        nw.when(cond).then(nw.lit(1, nw.Int64)).otherwise(nw.lit(0, nw.Int64)).sum().cast(nw.Int64)
    )


def sum_if(cond: nw.Expr, value: nw.Expr) -> nw.Expr:
    """Sum of value where cond holds; 0 (not null) when it never does."""
    return nw.when(cond).then(value).otherwise(nw.lit(0.0)).sum().cast(nw.Float64)


def value_frame(
    frame: nw.LazyFrame,
    keys: list[str],
    value: nw.Expr,
    note: nw.Expr | None = None,
    parts: tuple[str, ...] = (),
) -> nw.LazyFrame:
    """A metric's result: keys, value (Float64), note, and those of ``parts`` the frame has
    (the counts `csm explain` shows, see ``metric_type(parts=...)``)."""
    cols = [value.cast(nw.Float64).alias("value")]
    if note is not None:
        cols.append(note.alias("note"))
    have = frame.collect_schema().names()
    return frame.select(*keys, *cols, *[c for c in parts if c in have])
