"""Small expression helpers shared by metric families (portable across engines)."""

from __future__ import annotations

import narwhals.stable.v2 as nw

# The column naming a row's account, for the roles where it is not account_id.
ACCOUNT_COLUMN = {"orders": "customer_id"}


def _epoch_fields(moment: nw.Expr) -> tuple[nw.Expr, nw.Expr]:
    """Whole seconds since 1970-01-01 00:00 of a datetime (or a date: its midnight) and its
    microseconds within that second, both Int64.

    Built from the calendar fields, not from a duration: durations have no portable
    arithmetic (Spark has none in narwhals), the fields have. Days before the year:
    365 a year plus the leap days since 1970 (every 4th year, not the 100th, the 400th);
    1969 // 4 = 492, 1969 // 100 = 19, 1969 // 400 = 4. No division but those of the
    year: on Spark narwhals writes ``a / b`` with four copies of ``a`` (the zero-division
    cases), and a division of a division of ... grows the plan Spark analyses fourfold each
    time (a 14 s select, measured).
    """
    t = moment.cast(nw.Datetime("us"))
    y1 = t.dt.year().cast(nw.Int64) - 1
    days = (
        (y1 - 1969) * 365
        + (y1 // 4 - 492)
        - (y1 // 100 - 19)
        + (y1 // 400 - 4)
        + t.dt.ordinal_day().cast(nw.Int64)
        - 1
    ).cast(nw.Int64)
    seconds = (
        days * 86400
        + t.dt.hour().cast(nw.Int64) * 3600
        + t.dt.minute().cast(nw.Int64) * 60
        + t.dt.second().cast(nw.Int64)
    )
    return seconds, t.dt.microsecond().cast(nw.Int64)


def epoch_microseconds(moment: nw.Expr) -> nw.Expr:
    """Microseconds since 1970-01-01 00:00 of a datetime (or a date: its midnight), Int64."""
    seconds, micro = _epoch_fields(moment)
    return (seconds * 1_000_000 + micro).cast(nw.Int64)


def microseconds_between(start: nw.Expr, end: nw.Expr) -> nw.Expr:
    """end - start in microseconds (Int64), on every engine."""
    return epoch_microseconds(end) - epoch_microseconds(start)


def seconds_between(start: nw.Expr, end: nw.Expr) -> nw.Expr:
    """end - start in whole seconds truncated towards zero (as a duration's total seconds
    are), Int64, with no division: |microseconds| < 10**6, so the whole seconds' difference
    is one too far from zero exactly when the microseconds point the other way."""
    s_sec, s_us = _epoch_fields(start)
    e_sec, e_us = _epoch_fields(end)
    sec, us = e_sec - s_sec, e_us - s_us
    one = nw.lit(1, nw.Int64)
    step = (
        nw.when((sec > 0) & (us < 0))
        .then(-one)
        .when((sec < 0) & (us > 0))
        .then(one)
        .otherwise(nw.lit(0, nw.Int64))
    )
    return (sec + step).cast(nw.Int64)


def days_between(start: nw.Expr, end: nw.Expr) -> nw.Expr:
    """Days from start to end as Float64 (dates or datetimes; fractional for datetimes, in
    whole seconds truncated towards zero as a duration's total seconds are). A large
    expression: put it in a column before dividing it again (see _epoch_fields)."""
    return seconds_between(start, end).cast(nw.Float64) / 86400.0


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
