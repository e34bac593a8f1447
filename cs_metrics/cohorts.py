"""Logo and revenue retention by start cohort (``csm cohorts``).

Definitions (MRR(a, d) is an account's monthly recurring revenue on day d, in the
reporting currency after fx, as in the revenue metrics):

* An account's **cohort** is the period (month or quarter) containing its first day of
  positive MRR. An account that churns and comes back stays in its original cohort.
* ``customers_start`` is the number of accounts in the cohort; ``mrr_start`` the sum of
  their MRR on their own first positive day.
* For each **age** k = 0, 1, 2 ... (periods since the cohort period; age 0 is the cohort
  period itself), as long as period cohort+k is complete (ends on or before the data end,
  ``--as-of``): ``customers`` is the number of cohort accounts with MRR > 0 on the last day
  of period cohort+k (a reactivated account counts again), ``mrr`` their MRR that day,
  ``logo_retention = customers / customers_start`` and ``revenue_retention = mrr /
  mrr_start`` (above 1 when expansion outweighs churn). Both are null for a cohort with
  no accounts.
* The **weighted average** per age has ``cohort = "all"``: sum(customers) /
  sum(customers_start) over the cohorts that have reached that age (the same for MRR), so
  large cohorts weigh more. Its ``customers_start`` and ``mrr_start`` are those sums.
* Cohorts run from ``--from`` to ``--to`` (default: the last 12 complete periods); a cohort
  with no accounts has null retention, and those before the first cohort that has accounts
  (before the data starts) are left out.

Records: ``cohort`` (the period label: ``2026-03``, ``2026-Q1``, or ``all``), ``age``,
``customers_start``, ``customers``, ``logo_retention``, ``mrr_start``, ``mrr``,
``revenue_retention``; sorted by cohort (oldest first, ``all`` last), then age.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import narwhals.stable.v2 as nw

from cs_metrics.errors import SpecError, UsageError

if TYPE_CHECKING:
    import polars as pl

    from cs_metrics.engine import Context
    from cs_metrics.periods import Period
    from cs_metrics.spec import Spec

COHORT_GRAINS = ("month", "quarter")
DEFAULT_COHORTS = 12  # the last 12 complete periods of cohorts
ALL = "all"  # the cohort label of the weighted-average rows
COLUMNS = (
    "cohort",
    "age",
    "customers_start",
    "customers",
    "logo_retention",
    "mrr_start",
    "mrr",
    "revenue_retention",
)


@dataclass
class Cohorts:
    """The long cohort frame (COLUMNS) and what a renderer needs to describe it."""

    frame: pl.DataFrame
    grain: str
    cohorts: list[str]  # the cohort labels, oldest first (without "all")
    currency: str
    data_end: date
    warnings: list[str] = field(default_factory=list)


def cohort_periods(
    spec: Spec,
    *,
    grain: str | None = None,
    start: str | None = None,
    end: str | None = None,
    as_of: str | None = None,
) -> tuple[list[Period], date, list[str]]:
    """The complete cohort periods asked for, the data end, and warnings about those left out.

    Default: the last 12 complete periods; ``--from`` alone runs to the last complete one,
    ``--to`` alone starts 11 periods earlier.
    """
    from cs_metrics.periods import last_complete, parse_period, period_of, series
    from cs_metrics.timeframe import data_end

    g = grain or spec.model.grain
    if g not in COHORT_GRAINS:
        if grain:
            raise UsageError(f"--grain {g!r}: cohorts are by month or quarter")
        raise UsageError(
            f"the spec's grain is {g!r}, but cohorts are by month or quarter: "
            "pass --grain month or --grain quarter"
        )
    end_day = data_end(spec, as_of)
    latest = last_complete(end_day + timedelta(days=1), g)
    last = parse_period(end) if end else latest
    first = parse_period(start) if start else period_of(last.end, g).shift(-(DEFAULT_COHORTS - 1))
    if first.start > last.end:
        to = f"--to {last.label}" if end else f"the last complete period, {last.label}"
        raise UsageError(f"--from {first.label} is after {to}")
    wanted = series(first, last, g)
    periods = [p for p in wanted if p.end <= end_day]
    late = [p.label for p in wanted if p.end > end_day]
    if not periods:
        raise UsageError(
            f"no complete cohort period from {wanted[0].label} to {wanted[-1].label}: the data "
            f"is as of {end_day.isoformat()}; choose earlier --from/--to or a later --as-of"
        )
    warnings = []
    if late:
        which = late[0] if len(late) == 1 else f"{late[0]} .. {late[-1]}"
        warnings.append(
            f"cohort {which} left out: not complete (the data is as of {end_day.isoformat()})"
        )
    return periods, end_day, warnings


def compute_cohorts(
    spec: Spec,
    *,
    grain: str | None = None,
    start: str | None = None,
    end: str | None = None,
    as_of: str | None = None,
    engine: str = "polars",
) -> Cohorts:
    """Retention triangles for the cohorts from ``start`` to ``end`` (period labels)."""
    from cs_metrics.engine import Calendar, Context, check_engine, collect
    from cs_metrics.periods import last_complete, series

    check_engine(engine)
    periods, end_day, warnings = cohort_periods(
        spec, grain=grain, start=start, end=end, as_of=as_of
    )
    g = periods[0].grain
    # every complete period from the first cohort on: the ages are measured at their ends
    calendar = series(periods[0], last_complete(end_day + timedelta(days=1), g), g)
    ctx = Context(spec, Calendar(calendar), [], engine)
    long = _plan(ctx, [p.label for p in periods])
    frame = _finish(collect(ctx, long))
    kept = set(frame["cohort"].to_list())
    return Cohorts(
        frame=frame,
        grain=g,
        cohorts=[p.label for p in periods if p.label in kept],
        currency=spec.model.currency,
        data_end=end_day,
        warnings=[*warnings, *ctx.warnings],
    )


def cohort_frame(
    spec: Spec,
    *,
    grain: str | None = None,
    start: str | None = None,
    end: str | None = None,
    as_of: str | None = None,
    engine: str = "polars",
) -> pl.DataFrame:
    """The long cohort frame (see the module docstring); warnings are dropped."""
    return compute_cohorts(
        spec, grain=grain, start=start, end=end, as_of=as_of, engine=engine
    ).frame


# ---- the plan ---------------------------------------------------------------------------
def _plan(ctx: Context, cohorts: list[str]) -> nw.LazyFrame:
    """One lazy frame: a row per (cohort, age) with its counts and sums, plus the "all" rows."""
    from cs_metrics.engine import EPS, MetricRequest, Unavailable
    from cs_metrics.metrics.mrr import OPEN_END, ROUND, first_positive, lines, snapshots

    req = MetricRequest("cohorts", "cohorts", {})
    try:
        first = first_positive(ctx, req)
        ls = lines(ctx, req)
        snap = snapshots(ctx, req)
    except Unavailable as exc:
        raise SpecError(f"csm cohorts {exc} (in {ctx.spec.path})") from None

    labels = [p.label for p in ctx.calendar.periods]
    n = len(labels)
    cal = ctx.periods_table().select("period", "p_idx", "p_start", "p_end")
    # cohort membership: the period containing the first positive day (a small range join)
    members = (
        first.join(cal, how="cross")
        .filter(
            (nw.col("first_day") >= nw.col("p_start")) & (nw.col("first_day") <= nw.col("p_end"))
        )
        .filter(nw.col("period").is_in(cohorts))
        .select("account_id", "first_day", nw.col("period").alias("cohort"), nw.col("p_idx"))
    )
    # MRR on the first positive day: the lines active that day
    opened = (
        ls.with_columns(nw.col("end").fill_null(nw.lit(OPEN_END, nw.Date)))
        .join(members.select("account_id", "first_day"), on="account_id")
        .filter((nw.col("start") <= nw.col("first_day")) & (nw.col("end") > nw.col("first_day")))
        .group_by("account_id")
        .agg(nw.col("mrr").sum().round(ROUND).alias("mrr0"))
    )
    sizes = (
        members.join(opened, on="account_id", how="left")
        .group_by("cohort")
        .agg(
            nw.len().cast(nw.Int64).alias("customers_start"),
            nw.col("mrr0").fill_null(0.0).sum().cast(nw.Float64).alias("mrr_start"),
        )
    )
    # per account and later period: still paying at its end?
    idx = cal.select("period", nw.col("p_idx").alias("k_idx"))
    kept = (
        snap.filter(nw.col("after") > EPS)
        .join(idx, on="period")
        .join(members.select("account_id", "cohort", "p_idx"), on="account_id")
        .with_columns((nw.col("k_idx") - nw.col("p_idx")).cast(nw.Int64).alias("age"))
        .filter(nw.col("age") >= 0)
        .group_by("cohort", "age")
        .agg(
            nw.len().cast(nw.Int64).alias("customers"),
            nw.col("after").sum().cast(nw.Float64).alias("mrr"),
        )
    )
    # the triangle's cells: every (cohort, age) whose period cohort+age is complete
    grid: dict[str, list[Any]] = {"cohort": [], "c_rank": [], "age": []}
    for rank, label in enumerate(cohorts):
        start = labels.index(label)
        for age in range(n - start):
            grid["cohort"].append(label)
            grid["c_rank"].append(rank)
            grid["age"].append(age)
    cells = (
        ctx.table(grid)
        .with_columns(nw.col("age").cast(nw.Int64), nw.col("c_rank").cast(nw.Int64))
        .join(sizes, on="cohort", how="left")
        .join(kept, on=["cohort", "age"], how="left")
        .with_columns(
            nw.col("customers_start").fill_null(0).cast(nw.Int64),
            nw.col("customers").fill_null(0).cast(nw.Int64),
            nw.col("mrr_start").fill_null(0.0).round(ROUND),
            nw.col("mrr").fill_null(0.0).round(ROUND),
        )
    )
    total = cells.group_by("age").agg(
        nw.col("customers_start").sum().cast(nw.Int64),
        nw.col("customers").sum().cast(nw.Int64),
        nw.col("mrr_start").sum().round(ROUND),
        nw.col("mrr").sum().round(ROUND),
    )
    total = total.select(
        nw.lit(ALL).alias("cohort"),
        nw.lit(len(cohorts), nw.Int64).alias("c_rank"),
        "age",
        "customers_start",
        "customers",
        "mrr_start",
        "mrr",
    )
    both = nw.concat(
        [
            cells.select(
                "cohort", "c_rank", "age", "customers_start", "customers", "mrr_start", "mrr"
            ),
            total,
        ],
        how="vertical",
    )
    return both.select(
        "c_rank",
        nw.col("cohort").cast(nw.String),
        nw.col("age").cast(nw.Int64),
        nw.col("customers_start").cast(nw.Int64),
        nw.col("customers").cast(nw.Int64),
        _ratio("customers", "customers_start").alias("logo_retention"),
        nw.col("mrr_start").cast(nw.Float64),
        nw.col("mrr").cast(nw.Float64),
        _ratio("mrr", "mrr_start").alias("revenue_retention"),
    )


def _ratio(num: str, den: str) -> nw.Expr:
    """num / den rounded (row order never shows), null where den is 0 (no accounts)."""
    from cs_metrics.engine import VALUE_DECIMALS

    d = nw.col(den).cast(nw.Float64)
    return nw.when(d > 0).then(nw.col(num).cast(nw.Float64) / d).round(VALUE_DECIMALS)


def _finish(frame: pl.DataFrame) -> pl.DataFrame:
    """Drop the leading cohorts that have no accounts (before the data starts) and the
    weighted-average ages only they reached; sort (oldest first, "all" last, then age)."""
    import polars as pl

    cohort_rows = pl.col("cohort") != ALL
    first = frame.filter(cohort_rows & (pl.col("customers_start") > 0))["c_rank"].min()
    if first is not None:
        frame = frame.filter(~cohort_rows | (pl.col("c_rank") >= first))
        oldest = frame.filter(cohort_rows)["age"].max()
        frame = frame.filter(cohort_rows | (pl.col("age") <= oldest))
    return frame.sort("c_rank", "age").select(COLUMNS)


# ------------------------------------------------------------- the records as triangles
def triangle(frame: pl.DataFrame, value: str) -> pl.DataFrame:
    """One row per cohort ("all" last), one column per age ("0", "1" ...) holding ``value``."""
    import polars as pl

    order = frame.select("cohort").unique(maintain_order=True)
    wide = frame.pivot(on="age", index="cohort", values=value, sort_columns=True)
    ages = sorted((c for c in wide.columns if c != "cohort"), key=int)
    return order.join(wide, on="cohort", how="left", maintain_order="left").select(
        "cohort", *[pl.col(a) for a in ages]
    )


def cohort_sizes(frame: pl.DataFrame) -> pl.DataFrame:
    """cohort -> customers_start, mrr_start (the age-0 row, in frame order)."""
    import polars as pl

    return frame.filter(pl.col("age") == 0).select("cohort", "customers_start", "mrr_start")


__all__ = [
    "ALL",
    "COHORT_GRAINS",
    "COLUMNS",
    "Cohorts",
    "cohort_frame",
    "cohort_sizes",
    "compute_cohorts",
    "triangle",
]
