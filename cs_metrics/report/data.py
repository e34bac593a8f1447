"""Everything one report shows, computed in as few engine runs as the content allows
(:func:`build_report`, see :mod:`cs_metrics.report`), and the accessors the tables,
words and pages read it through."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import polars as pl

from cs_metrics.alerts import evaluate_alerts
from cs_metrics.cohorts import Cohorts, compute_cohorts
from cs_metrics.engine import CHANGE_NAME, compute
from cs_metrics.errors import UsageError
from cs_metrics.health import band_order, health_of, input_metric, score_health
from cs_metrics.metrics.registry import REGISTRY, load_all, unit_of
from cs_metrics.periods import Period, period_of
from cs_metrics.render.numbers import finite_value
from cs_metrics.report.settings import Settings
from cs_metrics.result import MetricMeta, MetricResult
from cs_metrics.sources.shared import shared_frame, shared_reads, shared_scan
from cs_metrics.spec import Spec
from cs_metrics.spec.models import ReportCohorts
from cs_metrics.timeframe import data_end, incomplete, resolve_periods

# Chart inputs: metric *types* computed even when the report does not list them.
MOVEMENT_TYPES = (
    "mrr",
    "new_mrr",
    "expansion_mrr",
    "reactivation_mrr",
    "contraction_mrr",
    "churned_mrr",
)
CHART_TYPES = (*MOVEMENT_TYPES, "nrr", "grr", "customer_churn_rate", "gross_mrr_churn_rate", "nps")
# KPI cards: the first report metric of each of these types, in this order.
HEADLINE_TYPES = (
    "mrr",
    "net_new_mrr",
    "customers",
    "nrr",
    "customer_churn_rate",
    "grr",
    "nps",
    "health_avg",
    "arr",
    "quick_ratio",
)
MAX_CARDS = 8


@dataclass
class ReportData:
    """Everything a renderer needs; frames are collected polars, sorted."""

    settings: Settings
    spec: Spec
    period: Period
    periods: list[Period]  # the trend periods, oldest first, ending with ``period``
    data_end: date
    generated: datetime
    engine: str
    main: MetricResult  # shown metrics and chart inputs over ``periods``
    shown: list[str]  # the report's metrics, in order
    headline: list[str]  # KPI cards
    roles: dict[str, str]  # chart input type -> metric name in ``main``
    breakdowns: dict[str, MetricResult] = field(default_factory=dict)
    health: pl.DataFrame | None = None  # score_health for the previous period and this one
    band_order: list[str] = field(default_factory=list)
    alerts: pl.DataFrame | None = None
    cohorts: Cohorts | None = None
    account_names: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    rows_read: dict[str, int] = field(default_factory=dict)
    stale: dict[str, Any] = field(default_factory=dict)  # role -> last date (freshness)

    @property
    def currency(self) -> str:
        return self.main.currency

    @property
    def previous(self) -> Period:
        return self.period.previous()


def now() -> datetime:
    """The report's timestamp: $SOURCE_DATE_EPOCH (reproducible builds) or the clock."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit():
        return datetime.fromtimestamp(int(epoch), UTC)
    return datetime.now().astimezone()


def report_period(spec: Spec, period: str | None, as_of: str | None) -> Period:
    return resolve_periods(spec, period=period, as_of=as_of)[0]


def build_report(
    spec: Spec,
    settings: Settings,
    *,
    period: str | None = None,
    as_of: str | None = None,
    engine: str = "polars",
) -> ReportData:
    """Compute everything one report shows for ``period`` (default: the last complete one)."""
    with shared_reads():  # its engine runs (series, breakdowns, health, alerts) read once
        return _build_report(spec, settings, period, as_of, engine)


def _build_report(
    spec: Spec, settings: Settings, period: str | None, as_of: str | None, engine: str
) -> ReportData:
    p = report_period(spec, period, as_of)
    end = data_end(spec, as_of)
    try:
        periods = [p.shift(-i) for i in range(settings.trend - 1, -1, -1)]
    except (ValueError, OverflowError):
        raise UsageError(f"trend {settings.trend} goes back before the year 1") from None
    shown = list(settings.metrics) if settings.metrics is not None else list(spec.model.metrics)
    roles = chart_roles(spec)
    names = list(dict.fromkeys([*shown, *roles.values()]))
    main = compute(spec, names, periods, [], engine)
    warnings = list(main.warnings) + incomplete(periods, end)
    rows_read = dict(main.rows_read)
    data = ReportData(
        settings=settings,
        spec=spec,
        period=p,
        periods=periods,
        data_end=end,
        generated=now(),
        engine=engine,
        main=main,
        shown=shown,
        headline=headline(spec, main, shown, explicit=settings.metrics is not None),
        roles=roles,
        warnings=warnings,
        rows_read=rows_read,
        stale=dict(main.stale),
    )
    if shown:
        for dim in settings.dimensions:
            res = compute(spec, shown, [p], [dim], engine)
            data.breakdowns[dim] = res
            _merge(data, res.warnings, res.rows_read)
            data.stale.update(res.stale)
    if settings.health and spec.model.health is not None:
        frame, w = score_health(spec, [p.previous(), p], engine)
        data.health = frame
        data.band_order = band_order(health_of(spec))
        _merge(data, w, {})
    if settings.alerts and spec.model.alerts:
        w = []
        data.alerts = evaluate_alerts(spec, p.label, engine, as_of, warnings=w)
        _merge(data, w, {})
    if settings.cohorts is not None and (
        "subscriptions" in spec.model.sources or "invoices" in spec.model.sources
    ):
        data.cohorts = _cohorts(spec, settings.cohorts, p, end, engine)
        _merge(data, data.cohorts.warnings, {})
    if data.health is not None or data.alerts is not None:
        data.account_names, rows = account_names(spec)
        _merge(data, [], rows)
    return data


def _merge(data: ReportData, warnings: list[str], rows: dict[str, int]) -> None:
    for w in warnings:
        if w not in data.warnings:
            data.warnings.append(w)
    for role, n in rows.items():
        data.rows_read[role] = max(n, data.rows_read.get(role, 0))


def _cohorts(spec: Spec, conf: ReportCohorts, p: Period, end: date, engine: str) -> Cohorts:
    """Cohorts that started up to the report period, ages measured up to its end."""
    g = conf.grain or (spec.model.grain if spec.model.grain in ("month", "quarter") else "month")
    last = period_of(min(p.end, end), g)
    if last.end > min(p.end, end):  # the report period ends inside a cohort period
        last = last.previous()
    first = last.shift(-(conf.count - 1))
    upto = min(p.end, end).isoformat()
    return compute_cohorts(
        spec, grain=g, start=first.label, end=last.label, as_of=upto, engine=engine
    )


def chart_roles(spec: Spec) -> dict[str, str]:
    """Chart input type -> the metric that provides it: the spec's own (unfiltered) metric of
    that type when there is one, else the built-in type by name. Types whose sources the
    spec lacks are left out (their charts are not drawn)."""

    registry = load_all()
    metrics = spec.model.metrics
    sources = spec.model.sources
    roles: dict[str, str] = {}
    for t in CHART_TYPES:
        mt = registry[t]
        if not all(any(r in sources for r in need.split("|")) for need in mt.requires):
            continue
        own = metrics.get(t)
        if own is not None and own.type == t and not own.filter:
            roles[t] = t
            continue
        defaults = {k: o.default for k, o in mt.options.items()}
        plain = [
            n
            for n, m in metrics.items()
            if m.type == t
            and not m.filter
            and all(_options(m).get(k) == v for k, v in defaults.items())
        ]
        unfiltered = [n for n, m in metrics.items() if m.type == t and not m.filter]
        if plain:
            roles[t] = plain[0]
        elif t not in metrics:
            roles[t] = t
        elif unfiltered:
            roles[t] = unfiltered[0]
    return roles


def _options(m: Any) -> dict[str, Any]:
    return m.model_dump(exclude={"type", "filter", "label", "description", "unit"})


def headline(spec: Spec, main: MetricResult, shown: list[str], *, explicit: bool) -> list[str]:
    """The metrics on KPI cards: all of an explicit short list, else the first metric of
    each headline type, topped up with the report's first metrics."""
    if explicit and len(shown) <= MAX_CARDS:
        return list(shown)
    metrics = spec.model.metrics
    picked: list[str] = []
    for t in HEADLINE_TYPES:
        cands = [
            n for n in shown if n in metrics and metrics[n].type == t and not metrics[n].filter
        ]
        cands += [n for n in shown if n == t and n not in metrics]
        if cands:
            best = t if t in cands else cands[0]
            if best not in picked:
                picked.append(best)
    for n in shown:
        if len(picked) >= MAX_CARDS:
            break
        if n not in picked and len(picked) < 4:
            picked.append(n)
    return picked[:MAX_CARDS]


def account_names(spec: Spec) -> tuple[dict[str, str], dict[str, int]]:
    """account_id -> name, when the accounts source has a name column; and the rows read."""
    if "accounts" not in spec.model.sources:
        return {}, {}

    if "name" not in shared_scan(spec, "accounts").columns:
        return {}, {}
    frame = (
        shared_frame(spec, "accounts")
        .select(pl.col("account_id").cast(pl.String), pl.col("name").cast(pl.String))
        .collect()
    )
    names = frame.drop_nulls().unique("account_id", keep="first", maintain_order=True)
    return dict(names.iter_rows()), {"accounts": frame.height}


def series_frame(data: ReportData) -> pl.DataFrame:
    """period + one column per metric of ``main`` (wide), in period order."""
    long = data.main.frame.select("period", "metric", "value")
    wide = long.pivot(on="metric", index="period", values="value")
    names = list(data.main.metrics)
    wide = wide.with_columns(
        pl.lit(None, pl.Float64).alias(n) for n in names if n not in wide.columns
    )
    order = pl.DataFrame(
        {"period": [p.label for p in data.periods], "__i": range(len(data.periods))}
    )
    return order.join(wide, on="period", how="left").sort("__i").select("period", *names)


def period_rows(data: ReportData) -> pl.DataFrame:
    """The report period's rows of the shown metrics (period, metric, value, unit, previous, note)."""
    shown = set(data.shown)
    return data.main.frame.filter(
        (pl.col("period") == data.period.label) & pl.col("metric").is_in(shown)
    )


def metric_unit(data: ReportData, meta: MetricMeta) -> str:
    return data.currency if meta.unit == "currency" else meta.unit


def health_bands_frame(data: ReportData) -> pl.DataFrame:
    """band, accounts, previous_accounts, change, mrr, previous_mrr (worst band first)."""
    assert data.health is not None
    cur, prev = data.period.label, data.previous.label
    h = data.health.with_columns(pl.col("band").fill_null("(no score)"))
    per = h.group_by("period", "band").agg(
        pl.len().cast(pl.Int64).alias("accounts"), pl.col("mrr").sum().alias("mrr")
    )
    now = per.filter(pl.col("period") == cur).drop("period")
    before = per.filter(pl.col("period") == prev).select(
        "band",
        pl.col("accounts").alias("previous_accounts"),
        pl.col("mrr").alias("previous_mrr"),
    )
    order = [*data.band_order, "(no score)"]
    bands = pl.DataFrame({"band": order, "__i": list(range(len(order)))})
    out = (
        bands.join(now, on="band", how="left")
        .join(before, on="band", how="left")
        .with_columns(
            pl.col("accounts").fill_null(0),
            pl.col("previous_accounts").fill_null(0),
            pl.col("mrr").fill_null(0.0),
            pl.col("previous_mrr").fill_null(0.0),
        )
        .filter(
            (pl.col("band") != "(no score)")
            | (pl.col("accounts") + pl.col("previous_accounts") > 0)
        )
        .sort("__i")
    )
    return out.select(
        pl.lit(cur).alias("period"),
        pl.when(pl.col("band") != "(no score)").then(pl.col("band")).alias("band"),
        "accounts",
        "previous_accounts",
        (pl.col("accounts") - pl.col("previous_accounts")).alias("change"),
        "mrr",
        "previous_mrr",
    )


def input_name(comp: Any) -> str:
    return input_metric(comp)


def value_unit(data: ReportData, name: str) -> str:
    """The unit of a metric-like name used in alerts and health inputs."""
    load_all()
    if name in data.main.metrics:
        return metric_unit(data, data.main.metrics[name])
    if name in ("health", "health_score", "health_change"):
        return "score"
    spec_metrics = data.spec.model.metrics
    if name in spec_metrics:
        m = spec_metrics[name]
        u = unit_of(REGISTRY[m.type], m.model_dump())
        return data.currency if u == "currency" else u
    if name in REGISTRY:
        u = unit_of(REGISTRY[name], {})
        return data.currency if u == "currency" else u
    if (m := CHANGE_NAME.match(name)) and (m[1] in spec_metrics or m[1] in REGISTRY):
        return "ratio" if m[2] == "change" else value_unit(data, m[1])
    return ""


def point(data: ReportData, name: str) -> tuple[float | None, float | None, str, str | None]:
    rows = data.main.frame.filter(
        (pl.col("period") == data.period.label) & (pl.col("metric") == name)
    )
    if rows.height == 0:
        return None, None, data.main.metrics[name].unit, None
    r = rows.row(0, named=True)
    return finite_value(r["value"]), finite_value(r["previous"]), r["unit"], r["note"]


def metric_series(data: ReportData, name: str) -> list[float | None]:
    frame = data.main.frame.filter(pl.col("metric") == name).select("period", "value")
    by = {p: finite_value(v) for p, v in frame.iter_rows()}
    return [by.get(p.label) for p in data.periods]


def roles_frame(data: ReportData, types: tuple[str, ...]) -> pl.DataFrame | None:
    """period + a column per chart input type (renamed from the metric that provides it)."""
    have = [t for t in types if t in data.roles]
    if not have:
        return None

    wide = series_frame(data)
    return wide.select("period", *[pl.col(data.roles[t]).alias(t) for t in have])
