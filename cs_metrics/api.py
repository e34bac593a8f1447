"""The library: every csm command as a plain function (no Typer, no Rich).

Each function takes a loaded spec (:func:`load_spec`) and the command's options as plain
values, and returns a frame or a result object; the commands in :mod:`cs_metrics.cli`
only parse options, call one of these and render what comes back. Users may call them
too::

    from cs_metrics import api
    spec = api.load_spec("metrics.yaml")
    result = api.compute_metrics(spec, ["mrr", "nrr"], start="2026-01", end="2026-10")

``schema_text`` (cs_metrics.scaffold) and ``severity_rank`` (cs_metrics.alerts) are
re-exported for the commands. The modules that load polars, pydantic or the engine are
imported inside the functions: `csm --help` imports this module and must stay fast.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cs_metrics.alerts import evaluate_alerts, severity_rank
from cs_metrics.catalogue import catalogue_frame
from cs_metrics.errors import InputMissingError, OutputError, UsageError
from cs_metrics.explain import explain_metric
from cs_metrics.scaffold import Scaffold, scaffold, schema_text
from cs_metrics.timeframe import data_end, incomplete, resolve_periods

if TYPE_CHECKING:
    import polars as pl

    from cs_metrics.cohorts import Cohorts
    from cs_metrics.periods import Period
    from cs_metrics.report import Run, Settings
    from cs_metrics.result import MetricResult
    from cs_metrics.spec import Spec
    from cs_metrics.spec.models import Health
    from cs_metrics.validate import ValidationReport

__all__ = [
    "Alerts",
    "Backtest",
    "HealthScores",
    "alerts",
    "backtest",
    "catalogue",
    "cohorts",
    "compute_metrics",
    "data_end",
    "explain",
    "health",
    "incomplete",
    "init",
    "load_spec",
    "report",
    "report_period",
    "reports",
    "resolve_periods",
    "sample",
    "schema_text",
    "severity_rank",
    "validate",
]


# ------------------------------------------------------------------------------ the spec
def load_spec(path: str | Path | None = None) -> Spec:
    """The spec at ``path`` (default: $CSM_SPEC, else ./metrics.yaml), checked whole."""
    from cs_metrics.spec import load_spec as load

    return load(path)


def catalogue(spec_path: str | Path | None = None) -> pl.DataFrame:
    """Every built-in metric type, then the metrics of the spec (`csm metrics`). Without
    ``spec_path`` a missing default spec is fine: the built-in catalogue needs none."""
    from cs_metrics.spec import find_spec

    try:
        path = find_spec(spec_path)
    except InputMissingError:
        if spec_path:
            raise
        path = None
    return catalogue_frame(load_spec(path) if path else None)


def validate(spec: Spec) -> ValidationReport:
    """Scan every source of the spec: rows read, bad values with file and row."""
    from cs_metrics.validate import validate_sources

    return validate_sources(spec)


# ------------------------------------------------------------------------------- metrics
def compute_metrics(
    spec: Spec,
    names: Sequence[str] | None = None,
    *,
    period: str | None = None,
    start: str | None = None,
    end: str | None = None,
    grain: str | None = None,
    as_of: str | None = None,
    by: Sequence[str] = (),
    engine: str = "polars",
    trend: int | None = None,
) -> MetricResult:
    """The metrics ``names`` (default: all in the spec) for the periods of the options."""
    from cs_metrics.engine import compute

    periods = resolve_periods(
        spec, period=period, start=start, end=end, grain=grain, as_of=as_of, trend=trend
    )
    result = compute(spec, list(names) if names else None, periods, list(by), engine)
    result.warnings += incomplete(periods, data_end(spec, as_of))
    return result


def explain(
    spec: Spec,
    metric: str,
    *,
    period: str | None = None,
    as_of: str | None = None,
    by: Sequence[str] = (),
    engine: str = "polars",
) -> dict[str, Any]:
    """One metric's definition, value and inputs, as a JSON-ready dict (`csm explain`)."""
    return explain_metric(spec, metric, period=period, as_of=as_of, by=list(by), engine=engine)


# -------------------------------------------------------------------------------- health
@dataclass
class HealthScores:
    """`csm health`: the accounts shown and the band summary of all scored accounts."""

    frame: pl.DataFrame  # the selected accounts, sorted, with mrr_at_risk
    summary: pl.DataFrame  # band -> accounts, mrr (before --band/--top)
    settings: Health
    dims: list[str]
    period: str
    currency: str
    warnings: list[str] = field(default_factory=list)


def health(
    spec: Spec,
    *,
    period: str | None = None,
    as_of: str | None = None,
    by: Sequence[str] = (),
    bands: Sequence[str] | None = None,
    sort: str = "score",
    top: int | None = None,
    engine: str = "polars",
    start: str | None = None,
    end: str | None = None,
) -> HealthScores:
    """Per-account health for one period: scored, filtered by band, sorted, the first
    ``top``. ``sort``: score (lowest first) or mrr_at_risk (highest first). A series
    (``start``/``end``) is refused: that is :func:`backtest`."""
    from cs_metrics.health import band_summary, health_of, score_health, select_accounts

    hb = health_of(spec)
    last = data_end(spec, as_of)
    if start or end:
        raise UsageError("csm health scores one --period; --from/--to are for --backtest")
    periods = resolve_periods(spec, period=period, as_of=as_of)
    dims = list(dict.fromkeys(d for d in by if d != "account"))
    frame, warnings = score_health(spec, periods, engine, dims)
    summary = band_summary(frame, hb)
    return HealthScores(
        frame=select_accounts(frame, hb, list(bands) if bands else None, sort, top),
        summary=summary,
        settings=hb,
        dims=dims,
        period=periods[0].label,
        currency=spec.model.currency,
        warnings=[*warnings, *incomplete(periods, last)],
    )


@dataclass
class Backtest:
    """`csm health --backtest`: per period and band, how many accounts churned."""

    frame: pl.DataFrame
    settings: Health
    warnings: list[str] = field(default_factory=list)


def backtest(
    spec: Spec,
    *,
    start: str | None = None,
    end: str | None = None,
    as_of: str | None = None,
    horizon: int = 3,
    engine: str = "polars",
    period: str | None = None,
) -> Backtest:
    """Churn within ``horizon`` periods of each period from ``start`` to ``end``, per band
    (one ``period`` is refused: a backtest covers a series)."""
    from cs_metrics.health import backtest as run_backtest
    from cs_metrics.health import health_of

    hb = health_of(spec)
    last = data_end(spec, as_of)
    if period:
        raise UsageError("--backtest takes --from/--to, not --period")
    periods = resolve_periods(spec, start=start, end=end, as_of=as_of)
    frame, warnings = run_backtest(spec, periods, horizon, last, engine)
    return Backtest(frame, hb, warnings)


# -------------------------------------------------------------------------------- alerts
@dataclass
class Alerts:
    """`csm alerts`: the hits of one period."""

    frame: pl.DataFrame
    period: str
    defined: bool  # the spec has an alerts: section
    warnings: list[str] = field(default_factory=list)


def alerts(
    spec: Spec,
    *,
    period: str | None = None,
    as_of: str | None = None,
    engine: str = "polars",
    new_only: bool = False,
    severity: str | None = None,
) -> Alerts:
    """The accounts whose alert conditions hold in the period (``severity``: the lowest
    level kept; ``new_only``: hits that did not fire for the account the period before)."""
    from cs_metrics.engine import shared_reads  # polars: not at `csm --help`

    label = resolve_periods(spec, period=period, as_of=as_of)[0].label
    warnings: list[str] = []
    with shared_reads():  # the metric run and the health run read each source once
        hits = evaluate_alerts(
            spec,
            period,
            engine,
            as_of,
            new_only=new_only,
            min_severity=severity,
            warnings=warnings,
        )
    return Alerts(hits, label, bool(spec.model.alerts), warnings)


# ------------------------------------------------------------------------------- cohorts
def cohorts(
    spec: Spec,
    *,
    grain: str | None = None,
    start: str | None = None,
    end: str | None = None,
    as_of: str | None = None,
    engine: str = "polars",
) -> Cohorts:
    """Logo and revenue retention by start cohort, one record per cohort and age."""
    from cs_metrics.cohorts import compute_cohorts

    return compute_cohorts(spec, grain=grain, start=start, end=end, as_of=as_of, engine=engine)


# -------------------------------------------------------------------------------- report
def reports(spec: Spec, name: str | None = None, *, out_dir: str | None = None) -> list[Settings]:
    """The reports `csm report [NAME]` writes: ``name``, else every declared one, else the
    built-in default. An ``out_dir`` for several reports must contain ``{name}``."""
    from cs_metrics.report import report_settings

    found = report_settings(spec, name)
    if out_dir is not None and len(found) > 1 and "{name}" not in out_dir:
        raise UsageError(
            f"--out-dir {out_dir} would hold {len(found)} reports "
            f"({', '.join(r.name for r in found)}): name one report, or put {{name}} "
            "in --out-dir"
        )
    return found


def report_period(spec: Spec, period: str | None = None, as_of: str | None = None) -> Period:
    """The one period a report covers."""
    from cs_metrics.report import report_period as one_period

    return one_period(spec, period, as_of)


def report(
    spec: Spec,
    settings: Settings,
    *,
    period: str | None = None,
    as_of: str | None = None,
    out_dir: str | None = None,
    engine: str = "polars",
) -> Run:
    """Compute, render and write one report bundle (atomically); returns what it did."""
    from cs_metrics.report import run_report

    return run_report(spec, settings, period=period, as_of=as_of, out_dir=out_dir, engine=engine)


# ------------------------------------------------------------------------ sample and init
def sample(
    directory: str | Path,
    *,
    accounts: int = 300,
    months: int = 24,
    seed: int = 7,
    end: str | None = None,
) -> dict[str, list[Path]]:
    """Write seeded sample exports for every source role into ``directory`` (created);
    ``end`` (YYYY-MM-DD) is the data's last day. Returns role -> the files written."""
    from cs_metrics.sample import generate

    kwargs: dict[str, Any] = {"accounts": accounts, "months": months, "seed": seed}
    if end:
        try:
            kwargs["end"] = date.fromisoformat(end)
        except ValueError:
            raise UsageError(f"--end {end!r} is not a date: write YYYY-MM-DD") from None
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create {directory}: {exc.strerror}") from None
    return generate(directory, **kwargs)


def init(directory: str | Path, *, force: bool = False, sample: bool = True) -> Scaffold:
    """Scaffold metrics.yaml, its JSON Schema and (unless ``sample=False``) sample_data/."""
    return scaffold(Path(directory), force=force, sample=sample)
