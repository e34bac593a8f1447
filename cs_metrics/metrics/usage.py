"""Usage metrics from product events (METRICS.md "Usage").

Performance: usage events are by far the largest input. They are reduced once per filter,
in one aggregation per (period, account, user) (:func:`activity`): the events inside the
computed periods get their period and whole ISO week through one equi-join on the day
(:func:`day_weeks`), and distinct days and weeks are counted in that aggregation; two
small ones follow (per account, per period and dimension). Every activity metric, and
feature adoption's denominator, selects from that one cached frame, computed once per run. Feature use and first events
are narrow extra reductions of the events (filtered to the named events first). Distinct rows come from a group-by without aggregations, not ``unique()``, which
narwhals runs on DuckDB as a slower ``row_number()`` window.

Definitions where METRICS.md leaves a choice (also in the registered formulas):

- A user is (account_id, user_id): the same user_id in two accounts is two users. Events
  without a user_id make their account active but count for no user; events without an
  account_id or a timestamp are ignored.
- A day is a calendar day of the timestamp as the source reads it (naive timestamps as
  written, offsets converted to the source's ``timezone``, default UTC).
- ``dau`` = user-days / days in P: every day of P counts, days without events as 0.
- ``wau`` = (user, ISO week) pairs / ISO weeks, over the whole ISO weeks (Monday-Sunday)
  inside P, so no partial week at either end dilutes it; null when P holds no whole week
  (a date range shorter than a week).
- ``stickiness`` = dau / active_users: DAU/MAU for a month, DAU/WAU for a week, DAU over the
  quarter's active users for a quarter.
- ``feature_adoption``: accounts that used a feature are active accounts (same filter);
  ``of: customers`` counts customers at the period's end (``customer_accounts``) that used
  a feature in P, so the ratio stays within 0..1.
- ``time_to_value_days`` uses whole days: the first event's day - signup_date. The first
  event is the first ever (also after P); one before the signup date counts as 0 days (the
  account reached value by its signup), and a warning says how many accounts did so.
- ``workflow_completion_rate`` completes an account when that first event falls on or
  before signup_date + within_days (time to value <= within_days). Both cohort metrics keep
  moving until within_days (or, for time to value, as long as laggards) after P ends.
- A filter that names only account attributes (e.g. ``plan = 'pro'``) also restricts the
  signup cohort and the customers that ``feature_adoption`` counts; otherwise it selects
  events only.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any, Literal

import narwhals.stable.v2 as nw

from cs_metrics.metrics.base import (
    Context,
    MetricRequest,
    Option,
    Unavailable,
    check_columns,
    metric_type,
    ratio,
)
from cs_metrics.metrics.common import count_if, day_of, days_between, value_frame
from cs_metrics.metrics.mrr import NO_END_CUSTOMERS, customer_accounts

USAGE = ("usage",)
NO_USERS = "no active users in the period"
NO_SIGNUPS = "no account signed up in the period"
NO_WEEKS = "the period contains no whole ISO week (Monday to Sunday)"
KEY = "usage"  # prefix of this family's ctx.cached keys


# ---- the calendar ----------------------------------------------------------------------
def _bounds(ctx: Context) -> tuple[date, date]:
    periods = ctx.calendar.periods
    return min(p.start for p in periods), max(p.end for p in periods)


def _whole_weeks(start: date, end: date) -> list[date]:
    """Mondays of the ISO weeks that lie wholly inside [start, end]."""
    monday = start + timedelta(days=(7 - start.weekday()) % 7)
    out = []
    while monday + timedelta(days=6) <= end:
        out.append(monday)
        monday += timedelta(days=7)
    return out


def usage_calendar(ctx: Context) -> nw.LazyFrame:
    """period -> n_days (days in P) and n_weeks (whole ISO weeks inside P)."""

    def build() -> nw.LazyFrame:
        periods = ctx.calendar.periods
        return ctx.table(
            {
                "period": [p.label for p in periods],
                "n_days": [p.days for p in periods],
                "n_weeks": [len(_whole_weeks(p.start, p.end)) for p in periods],
            }
        )

    return ctx.cached((KEY, "calendar"), build)


# ---- the reductions (shared by every metric of the family) -----------------------------
def distinct(frame: nw.LazyFrame, *cols: str) -> nw.LazyFrame:
    """The distinct rows of ``cols`` (default: all columns), nulls kept as a value.

    A group-by without aggregations: a hash aggregate on every engine (GROUP BY on DuckDB,
    dropDuplicates on Spark), where narwhals' ``unique()`` on SQL engines is a
    ``row_number()`` window over the whole frame, twice as slow on DuckDB.
    """
    keys = list(cols) or frame.collect_schema().names()
    return frame.group_by(*keys).agg()


def _in_calendar(ctx: Context, frame: nw.LazyFrame) -> nw.LazyFrame:
    """Events whose timestamp falls inside the computed periods (cheap, before any hashing)."""
    first, last = _bounds(ctx)
    ts = nw.col("timestamp")
    lo = datetime.combine(first, time())
    hi = datetime.combine(last + timedelta(days=1), time())
    return frame.filter(~nw.col("account_id").is_null() & (ts >= lo) & (ts < hi))


def day_weeks(ctx: Context) -> nw.LazyFrame:
    """__day -> p_idx (the period's index in ``ctx.periods_table()``: an integer key hashes
    faster than its label) and __wk (the Monday of its ISO week when that week lies wholly
    inside the period, else null), for every day of the computed periods."""

    def build() -> nw.LazyFrame:
        import polars as pl

        rows: dict[str, list[Any]] = {"__day": [], "p_idx": [], "__wk": []}
        for i_p, p in enumerate(ctx.calendar.periods):
            whole = {
                monday + timedelta(days=i)
                for monday in _whole_weeks(p.start, p.end)
                for i in range(7)
            }
            for i in range(p.days):
                day = p.start + timedelta(days=i)
                rows["__day"].append(day)
                rows["p_idx"].append(i_p)
                rows["__wk"].append(day - timedelta(days=day.weekday()) if day in whole else None)
        schema = {"__day": pl.Date, "p_idx": pl.Int64, "__wk": pl.Date}
        return ctx.table(pl.DataFrame(rows, schema=schema))

    return ctx.cached((KEY, "day_weeks"), build)


def _wants_weeks(ctx: Context) -> bool:
    """Whether this run asks for a metric made of whole weeks (``wau``): counting them is
    a second distinct count in the largest aggregation, left out when nothing reads it.
    Without ``types`` (a Context that does not say), weeks are counted."""
    return not ctx.types or "wau" in ctx.types


def _user_events(ctx: Context, condition: str | None) -> nw.LazyFrame:
    """(account_id, user_id, __day, p_idx, __wk) of every event in the periods (not
    distinct): one equi-join on the day gives both the period and the whole week."""
    events = _in_calendar(ctx, ctx.filtered("usage", condition))
    user = nw.col("user_id") if "user_id" in ctx.columns("usage") else nw.lit(None, nw.String)
    reduced = events.select(
        nw.col("account_id"),
        user.cast(nw.String).alias("user_id"),
        day_of(nw.col("timestamp")).alias("__day"),
    )
    return reduced.join(day_weeks(ctx), on="__day", how="inner")


def activity(ctx: Context, condition: str | None) -> nw.LazyFrame:
    """Per period (and dimension): accounts, users, user_days, user_weeks, n_days, n_weeks.

    accounts: active accounts; users: active users; user_days: (user, day) pairs; user_weeks:
    (user, whole ISO week of P) pairs. One chain from the events (computed once per run,
    as every ``ctx.cached`` frame): every activity metric (and feature
    adoption's denominator) selects from this one.
    """

    def build() -> nw.LazyFrame:
        has_user = ~nw.col("user_id").is_null()
        wk = nw.col("__wk")
        weeks = _wants_weeks(ctx)
        # one aggregation of the events per (period index, account, user): distinct days
        # (and whole weeks) are counted in it, not by a distinct (user, day) reduction first
        counted = [nw.col("__day").n_unique().cast(nw.Int64).alias("days")]
        sums = [
            count_if(has_user).alias("users"),
            _sum_if_int(has_user, nw.col("days")).alias("user_days"),
        ]
        if weeks:  # n_unique counts null (days outside whole weeks) as a value
            counted.append(
                (wk.n_unique().cast(nw.Int64) - wk.is_null().any().cast(nw.Int64)).alias("weeks")
            )
            sums.append(_sum_if_int(has_user, nw.col("weeks")).alias("user_weeks"))
        per_user = _user_events(ctx, condition).group_by("p_idx", "account_id", "user_id")
        per_account = (
            per_user.agg(*counted)
            .group_by("p_idx", "account_id")
            .agg(*sums)
            .join(ctx.periods_table().select("p_idx", "period"), on="p_idx", how="inner")
            .drop("p_idx")
        )
        if not weeks:  # no metric of this run reads them
            per_account = per_account.with_columns(nw.lit(0, nw.Int64).alias("user_weeks"))
        agg = (
            ctx.with_dims(per_account)
            .group_by("period", *ctx.group_cols())
            .agg(
                nw.len().cast(nw.Int64).alias("accounts"),
                *[nw.col(c).sum().cast(nw.Int64).alias(c) for c in COUNTS[1:]],
            )
        )
        agg = ctx.complete(agg, dict.fromkeys(COUNTS, 0))
        return agg.join(usage_calendar(ctx), on="period", how="left")

    return ctx.cached((KEY, "activity", condition, tuple(ctx.dims)), build)


COUNTS = ("accounts", "users", "user_days", "user_weeks")


def _sum_if_int(cond: nw.Expr, value: nw.Expr) -> nw.Expr:
    return nw.when(cond).then(value).otherwise(nw.lit(0, nw.Int64)).sum().cast(nw.Int64)


def _select(
    ctx: Context, frame: nw.LazyFrame, value: nw.Expr, note: nw.Expr | None = None
) -> nw.LazyFrame:
    return value_frame(
        frame,
        ["period", *ctx.group_cols()],
        value,
        note,
        ("num", "den", "user_days", "users", "signups", "done"),
    )


def _need_users(ctx: Context, name: str) -> None:
    check_columns(ctx, "usage", ["user_id"], name)


def _need_events(ctx: Context, name: str) -> None:
    check_columns(ctx, "usage", ["event"], name)


# ---- activity metrics ------------------------------------------------------------------
@metric_type(
    "active_users",
    family="usage",
    unit="count",
    requires=USAGE,
    formula="distinct (account_id, user_id) with an event in P",
    description="users active in the period (a user_id in two accounts is two users)",
)
def active_users(ctx: Context, req: MetricRequest) -> nw.LazyFrame:
    _need_users(ctx, req.name)
    return _select(ctx, activity(ctx, req.filter), nw.col("users"))


@metric_type(
    "active_accounts",
    family="usage",
    unit="count",
    requires=USAGE,
    formula="distinct account_id with an event in P",
    description="accounts with any event in the period (paying or not)",
)
def active_accounts(ctx: Context, req: MetricRequest) -> nw.LazyFrame:
    return _select(ctx, activity(ctx, req.filter), nw.col("accounts"))


@metric_type(
    "dau",
    family="usage",
    unit="count",
    requires=USAGE,
    formula="sum over the days of P of distinct active users / days in P "
    "(days without events count as 0)",
    description="daily active users, averaged over the period",
)
def dau(ctx: Context, req: MetricRequest) -> nw.LazyFrame:
    _need_users(ctx, req.name)
    a = activity(ctx, req.filter)
    return _select(ctx, a, nw.col("user_days").cast(nw.Float64) / nw.col("n_days"))


@metric_type(
    "wau",
    family="usage",
    unit="count",
    requires=USAGE,
    formula="sum over the whole ISO weeks (Monday-Sunday) inside P of distinct active users "
    "/ number of those weeks",
    description="weekly active users, averaged over the period's whole weeks",
    null_when=NO_WEEKS,
)
def wau(ctx: Context, req: MetricRequest) -> nw.LazyFrame:
    _need_users(ctx, req.name)
    v, n = ratio(nw.col("user_weeks"), nw.col("n_weeks"), NO_WEEKS)
    return _select(ctx, activity(ctx, req.filter), v, n)


@metric_type(
    "stickiness",
    family="usage",
    unit="ratio",
    requires=USAGE,
    formula="dau / active_users (DAU/MAU for a month, DAU/WAU for a week)",
    description="share of the period's active users active on an average day",
    null_when=NO_USERS,
)
def stickiness(ctx: Context, req: MetricRequest) -> nw.LazyFrame:
    _need_users(ctx, req.name)
    a = activity(ctx, req.filter)
    v, n = ratio(nw.col("user_days"), nw.col("users") * nw.col("n_days"), NO_USERS)
    return _select(ctx, a, v, n)


@metric_type(
    "active_days_per_user",
    family="usage",
    unit="days",
    requires=USAGE,
    formula="sum over active users of their distinct active days in P / active_users",
    description="mean number of days an active user was active in the period",
    null_when=NO_USERS,
    parts={"user_days": ("active user-days", "count"), "users": ("active users", "count")},
    explain="{user_days} active user-days / {users} active users",
)
def active_days_per_user(ctx: Context, req: MetricRequest) -> nw.LazyFrame:
    _need_users(ctx, req.name)
    a = activity(ctx, req.filter)
    v, n = ratio(nw.col("user_days"), nw.col("users"), NO_USERS)
    return _select(ctx, a, v, n)


# ---- feature adoption ------------------------------------------------------------------
def _account_filter(ctx: Context, condition: str | None) -> nw.LazyFrame | None:
    """account_id of accounts satisfying ``condition`` when it names account attributes only."""
    if not condition or not ctx.has("accounts"):
        return None
    from cs_metrics.expr import parse_expr  # sqlglot: not paid by `csm schema`

    expr = parse_expr(condition)
    if not expr.columns or not set(expr.columns) <= set(ctx.columns("accounts")):
        return None
    if set(expr.columns) & (set(ctx.columns("usage")) - {"account_id"}):
        return None  # it names event columns too: it selects events
    return distinct(ctx.filtered("accounts", condition), "account_id")


def feature_accounts(
    ctx: Context, condition: str | None, features: tuple[str, ...]
) -> nw.LazyFrame:
    """Distinct (period, account_id) with an event of ``features`` in the period."""

    def build() -> nw.LazyFrame:
        events = _in_calendar(ctx, ctx.filtered("usage", condition))
        used = events.filter(nw.col("event").is_in(list(features))).select(
            nw.col("account_id"), day_of(nw.col("timestamp")).alias("__day")
        )
        return distinct(ctx.assign_period(distinct(used), "__day"), "period", "account_id")

    return ctx.cached((KEY, "features", condition, features), build)


def _features(req: MetricRequest) -> tuple[str, ...]:
    features = req.options.get("features")
    if isinstance(features, str):
        features = [features]
    if not isinstance(features, list | tuple) or not features:
        raise Unavailable("set the features option: a list of event names, e.g. [report_sent]")
    return tuple(sorted({str(f) for f in features}))


@metric_type(
    "feature_adoption",
    family="usage",
    unit="ratio",
    requires=USAGE,
    formula="accounts that did any of features in P / active accounts in P "
    "(of: customers: customers at e that did any of features in P / customers at e)",
    description="share of accounts using a feature",
    options={
        "features": Option(list[str], ..., "event names that count as using the feature"),
        "of": Option(
            Literal["active_accounts", "customers"],
            "active_accounts",
            "denominator: accounts with any event in P, or paying customers at the period's end",
        ),
    },
    null_when="no active accounts (or no customers) in the period",
    parts={"num": ("accounts using a feature", "count"), "den": ("accounts counted", "count")},
    explain="{num} accounts using the features / {den} {of}",
)
def feature_adoption(ctx: Context, req: MetricRequest) -> nw.LazyFrame:
    _need_events(ctx, req.name)
    features = _features(req)
    of = req.options.get("of") or "active_accounts"
    if of not in ("active_accounts", "customers"):
        raise Unavailable(f"of must be active_accounts or customers, not {of!r}")
    used = feature_accounts(ctx, req.filter, features)
    keys = ["period", *ctx.group_cols()]
    if of == "customers":
        base = customer_accounts(ctx)
        only = _account_filter(ctx, req.filter)
        if only is not None:
            base = base.join(only, on="account_id", how="inner")
        rows = ctx.with_dims(
            base.join(
                used.with_columns(nw.lit(1, nw.Int64).alias("__used")),
                on=["period", "account_id"],
                how="left",
            )
        )
        agg = rows.group_by(*keys).agg(
            nw.len().cast(nw.Int64).alias("den"),
            count_if(~nw.col("__used").is_null()).alias("num"),
        )
        why = NO_END_CUSTOMERS
    else:
        # Accounts that used a feature are active (same filter), so the numerator needs no
        # join with the active accounts: the denominator is activity's count of them. Both
        # are stacked and summed per key, which also matches null dimension values.
        num = (
            ctx.with_dims(used)
            .group_by(*keys)
            .agg(nw.len().cast(nw.Int64).alias("num"))
            .with_columns(nw.lit(0, nw.Int64).alias("den"))
        )
        den = activity(ctx, req.filter).select(
            *keys, nw.lit(0, nw.Int64).alias("num"), nw.col("accounts").alias("den")
        )
        agg = nw.concat([den, num.select(*keys, "num", "den")], how="vertical")
        agg = agg.group_by(*keys).agg(
            nw.col("num").sum().cast(nw.Int64), nw.col("den").sum().cast(nw.Int64)
        )
        why = "no active accounts in the period"
    agg = ctx.complete(agg, {"den": 0, "num": 0})
    v, n = ratio(nw.col("num"), nw.col("den"), why)
    return _select(ctx, agg, v, n)


# ---- signup cohorts: time to value, workflow completion ------------------------------------
def _event(req: MetricRequest) -> str:
    event = req.options.get("event")
    if not isinstance(event, str) or not event:
        raise Unavailable("set the event option: the event name that marks the milestone")
    return event


def first_event(ctx: Context, condition: str | None, event: str) -> nw.LazyFrame:
    """account_id -> first_day: the day of the account's first ``event`` ever."""

    def build() -> nw.LazyFrame:
        events = ctx.filtered("usage", condition).filter(
            (nw.col("event") == event)
            & ~nw.col("account_id").is_null()
            & ~nw.col("timestamp").is_null()
        )
        first = events.group_by("account_id").agg(nw.col("timestamp").min().alias("__first"))
        return first.select("account_id", day_of(nw.col("__first")).alias("first_day"))

    return ctx.cached((KEY, "first", condition, event), build)


def cohort(ctx: Context, req: MetricRequest) -> nw.LazyFrame:
    """Accounts that signed up in each period with ``days`` to their first event (null: never).

    days = max(0, first_day - signup_date) in whole days.
    """
    _need_events(ctx, req.name)
    event = _event(req)
    if not ctx.has("accounts"):
        raise Unavailable("needs the accounts source (signup_date): add sources.accounts")
    check_columns(ctx, "accounts", ["signup_date"], req.name)

    def build() -> nw.LazyFrame:
        accounts = (
            ctx.source("accounts")
            .filter(~nw.col("signup_date").is_null() & ~nw.col("account_id").is_null())
            .group_by("account_id")
            .agg(nw.col("signup_date").min())
        )
        only = _account_filter(ctx, req.filter)
        if only is not None:
            accounts = accounts.join(only, on="account_id", how="inner")
        signed = ctx.assign_period(accounts, "signup_date").select(
            "period", "account_id", "signup_date"
        )
        rows = signed.join(first_event(ctx, req.filter, event), on="account_id", how="left")
        rows = rows.with_columns(  # a column: the expression is large (common._epoch_fields)
            days_between(nw.col("signup_date"), nw.col("first_day")).alias("__raw")
        )
        raw = nw.col("__raw")
        rows = rows.with_columns(
            nw.when(raw < 0).then(nw.lit(0.0)).otherwise(raw).alias("days"),
            (raw < 0).fill_null(False).alias("__early"),
        )
        early = rows.filter(nw.col("__early")).select(nw.len().cast(nw.Int64).alias("n"))
        ctx.notice(
            early,
            lambda df: (
                f"accounts that signed up in the computed periods and did {event!r} before "
                f"their signup_date: {df['n'][0]} (their time to value counts as 0 days)"
                if df.height and df["n"][0]
                else None
            ),
        )
        return rows.select("period", "account_id", "signup_date", "first_day", "days")

    return ctx.cached((KEY, "cohort", req.filter, event), build)


@metric_type(
    "time_to_value_days",
    family="usage",
    unit="days",
    requires=("usage", "accounts"),
    formula="median over accounts that signed up in P and ever did event of "
    "max(0, day of their first such event - signup_date)",
    description="how fast new accounts reach the first valuable action",
    options={"event": Option(str, ..., "the event that marks value (e.g. report_sent)")},
    higher_is_better=False,
    null_when="no account that signed up in the period has done the event",
)
def time_to_value_days(ctx: Context, req: MetricRequest) -> nw.LazyFrame:
    rows = ctx.with_dims(cohort(ctx, req))
    agg = rows.group_by("period", *ctx.group_cols()).agg(
        nw.col("days").median().cast(nw.Float64).alias("value"),
        nw.len().cast(nw.Int64).alias("signups"),
    )
    agg = ctx.complete(agg, {"signups": 0})
    reached = f"no account that signed up in the period has done {_event(req)!r}"
    note = (
        nw.when(nw.col("signups") == 0)
        .then(nw.lit(NO_SIGNUPS))
        .when(nw.col("value").is_null())
        .then(nw.lit(reached))
    )
    return _select(ctx, agg, nw.col("value"), note)


@metric_type(
    "workflow_completion_rate",
    family="usage",
    unit="ratio",
    requires=("usage", "accounts"),
    formula="accounts that signed up in P whose first event ever falls on or before "
    "signup_date + within_days / accounts that signed up in P",
    description="share of new accounts that complete a workflow soon after signing up",
    options={
        "event": Option(str, ..., "the event that completes the workflow"),
        "within_days": Option(int, 14, "days after the signup date (inclusive)"),
    },
    null_when=NO_SIGNUPS,
    parts={"done": ("completed in time", "count"), "signups": ("signups", "count")},
    explain="{done} completed within {within_days} days / {signups} signups",
)
def workflow_completion_rate(ctx: Context, req: MetricRequest) -> nw.LazyFrame:
    within = req.options.get("within_days")
    within = 14 if within is None else int(within)
    if within < 0:
        raise Unavailable(f"within_days must be 0 or more, not {within}")
    rows = ctx.with_dims(cohort(ctx, req))
    agg = rows.group_by("period", *ctx.group_cols()).agg(
        nw.len().cast(nw.Int64).alias("signups"),
        count_if(nw.col("days") <= float(within)).alias("done"),
    )
    agg = ctx.complete(agg, {"signups": 0, "done": 0})
    v, n = ratio(nw.col("done"), nw.col("signups"), NO_SIGNUPS)
    return _select(ctx, agg, v, n)
