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

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cs_metrics.alerts import evaluate_alerts, severity_rank
from cs_metrics.catalogue import catalogue_frame
from cs_metrics.errors import InputMissingError, OutputError, UsageError
from cs_metrics.explain import explain_metric
from cs_metrics.scaffold import Scaffold, scaffold, schema_text, write_sample_spec
from cs_metrics.timeframe import data_end, incomplete, resolve_periods

if TYPE_CHECKING:
    import polars as pl

    from cs_metrics.cohorts import Cohorts
    from cs_metrics.compare import PolicyComparison
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
    "compare_policies",
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
    "sample_spec",
    "schema_text",
    "severity_rank",
    "validate",
    "with_policy",
]


# ------------------------------------------------------------------------------ the spec


def _one_read(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The call reads each source once: its engine runs, health, alerts and the accounts'
    names and owners share the scans (cs_metrics.sources.shared)."""

    @functools.wraps(fn)
    def shared(*args: Any, **kwargs: Any) -> Any:
        from cs_metrics.sources.shared import shared_reads  # polars: not at `csm --help`

        with shared_reads():
            return fn(*args, **kwargs)

    return shared


def engine_for(spec: Spec, engine: str | None) -> str:
    """The engine a command runs on: --engine, else the spec's ``engine:``, else polars."""
    return engine or spec.model.engine or "polars"


def load_spec(path: str | Path | None = None, *, policy: str | None = None) -> Spec:
    """The spec at ``path`` (default: $CSM_SPEC, else ./metrics.yaml), checked whole;
    ``policy`` (``--policy``) replaces its ``policy:`` (docs/policies.md)."""
    from cs_metrics.spec import load_spec as load

    spec = load(path)
    return with_policy(spec, policy) if policy else spec


def with_policy(spec: Spec, policy: str) -> Spec:
    """The spec under another definition policy (its ``definitions:`` still apply)."""
    from dataclasses import replace

    from cs_metrics.metrics.policy import POLICIES

    if policy not in POLICIES:
        raise UsageError(f"--policy {policy!r}: use one of {', '.join(POLICIES)}")
    return replace(spec, model=spec.model.model_copy(update={"policy": policy}))


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
@_one_read
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
    engine: str | None = None,
    trend: int | None = None,
    drop_empty: bool = False,
    sort: str | None = None,
    top: int | None = None,
) -> MetricResult:
    """The metrics ``names`` (default: all in the spec) for the periods of the options.

    With ``by=["account"]`` every account in the data has a row in every period (0 for sums
    and counts, null with a note for ratios); ``drop_empty`` keeps only the rows an
    account's own data gives (docs/design.md "Per-account series"). Split ``--by account``,
    each row also has the account's ``name`` and ``owner`` (:mod:`cs_metrics.people`).
    ``sort`` orders the rows of the split: a metric (highest value in the latest period
    first) or a column (``account``, ``name``, ``owner``, a dimension: A to Z), with
    ``:asc`` / ``:desc`` to turn it; ``top`` keeps the first N."""
    from cs_metrics.engine import compute

    if (sort or top) and not by:
        raise UsageError(
            f"{'--sort' if sort else '--top'} orders the rows of a split: add --by account "
            "(or another --by dimension)"
        )
    periods = resolve_periods(
        spec, period=period, start=start, end=end, grain=grain, as_of=as_of, trend=trend
    )
    population = "none" if drop_empty else "data"
    result = compute(
        spec,
        list(names) if names else None,
        periods,
        list(by),
        engine_for(spec, engine),
        population=population,
    )
    result.warnings += incomplete(periods, data_end(spec, as_of))
    result.as_asked = bool(names)
    if "account" in result.dims:
        from cs_metrics.people import LABELS, directory, with_people

        result.frame = with_people(result.frame, directory(spec))
        result.labels = list(LABELS)
    if sort or top:
        from cs_metrics.ranking import rank_rows

        result.ranks = rank_rows(result, sort, top)
    return result


def compare_policies(
    spec: Spec,
    names: Sequence[str] | None = None,
    *,
    period: str | None = None,
    as_of: str | None = None,
    engine: str | None = None,
) -> PolicyComparison:
    """The metrics ``names`` (default: all in the spec) for one period under every
    definition policy, side by side, with the options that make them differ
    (`csm compare-policies`)."""
    from cs_metrics.compare import compare_policies as compare

    return compare(spec, names, period=period, as_of=as_of, engine=engine_for(spec, engine))


@_one_read
def explain(
    spec: Spec,
    metric: str,
    *,
    period: str | None = None,
    as_of: str | None = None,
    by: Sequence[str] = (),
    engine: str | None = None,
) -> dict[str, Any]:
    """One metric's definition, value and inputs, as a JSON-ready dict (`csm explain`).
    Split ``--by account``, each row also has the account's ``name`` and ``owner``, and
    ``labels`` lists those fields."""
    facts = explain_metric(
        spec, metric, period=period, as_of=as_of, by=list(by), engine=engine_for(spec, engine)
    )
    facts["labels"] = []
    if "account" in facts.get("by", []):
        from cs_metrics.people import LABELS, directory

        people = {r[0]: r[1:] for r in directory(spec).iter_rows()}
        rows = []
        for row in facts.get("rows", []):
            name, owner = people.get(row["account"], (None, None))
            out: dict[str, Any] = {}
            for k, v in row.items():
                out[k] = v
                if k == "account":
                    out |= {"name": name, "owner": owner}
            rows.append(out)
        facts["rows"] = rows
        facts["labels"] = list(LABELS)
    return facts


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
    population: str = ""  # which accounts are scored, for people (scoring.population_text)
    has_mrr: bool = True  # False without a billing source (the mrr column is null)
    counts: list[str] = field(default_factory=list)  # the <component>_value columns of counts


@_one_read
def health(
    spec: Spec,
    *,
    period: str | None = None,
    as_of: str | None = None,
    by: Sequence[str] = (),
    bands: Sequence[str] | None = None,
    sort: str = "score",
    top: int | None = None,
    engine: str | None = None,
    start: str | None = None,
    end: str | None = None,
) -> HealthScores:
    """Per-account health for one period: scored, filtered by band, sorted, the first
    ``top``. ``sort``: score (lowest first) or mrr_at_risk (highest first). A series
    (``start``/``end``) is refused: that is :func:`backtest`."""
    from cs_metrics.alerts import value_unit
    from cs_metrics.health import band_summary, health_of, score_health, select_accounts
    from cs_metrics.people import directory, with_people
    from cs_metrics.scoring import has_billing, input_metric, population_text

    hb = health_of(spec)
    last = data_end(spec, as_of)
    if start or end:
        raise UsageError("csm health scores one --period; --from/--to are for --backtest")
    periods = resolve_periods(spec, period=period, as_of=as_of)
    dims = list(dict.fromkeys(d for d in by if d != "account"))
    frame, warnings = score_health(spec, periods, engine_for(spec, engine), dims)
    summary = band_summary(frame, hb)
    frame = with_people(frame, directory(spec))
    return HealthScores(
        frame=select_accounts(frame, hb, list(bands) if bands else None, sort, top),
        summary=summary,
        settings=hb,
        dims=dims,
        period=periods[0].label,
        currency=spec.model.currency,
        warnings=[*warnings, *incomplete(periods, last)],
        population=population_text(spec),
        has_mrr=has_billing(spec),
        counts=[
            f"{name}_value"
            for name, comp in hb.components.items()
            if value_unit(spec, input_metric(comp)) == "count"
        ],
    )


def _starts_by(start: str, latest: Period) -> bool:
    from cs_metrics.periods import parse_period

    try:
        return parse_period(start).start <= latest.start
    except Exception:  # resolve_periods says what is wrong with it
        return False


BACKTEST_PERIODS = {"week": 13, "month": 12, "quarter": 4, "year": 3}


@dataclass
class Backtest:
    """`csm health --backtest`: per period and band, how many accounts churned."""

    frame: pl.DataFrame
    settings: Health
    warnings: list[str] = field(default_factory=list)


@_one_read
def backtest(
    spec: Spec,
    *,
    start: str | None = None,
    end: str | None = None,
    as_of: str | None = None,
    horizon: int = 3,
    engine: str | None = None,
    period: str | None = None,
) -> Backtest:
    """Churn within ``horizon`` periods of each period from ``start`` to ``end``, per band
    (one ``period`` is refused: a backtest covers a series).

    Without ``end``, the series ends at the latest period whose whole horizon the data
    covers; without ``start`` either, it is the :data:`BACKTEST_PERIODS` periods up to that
    one (a year at the month grain)."""
    from cs_metrics.health import backtest as run_backtest
    from cs_metrics.health import health_of

    hb = health_of(spec)
    last = data_end(spec, as_of)
    if period:
        raise UsageError("--backtest takes --from/--to, not --period")
    latest = resolve_periods(spec, as_of=as_of)[0].shift(-horizon) if horizon >= 1 else None
    if end is None and latest is not None and (start is None or _starts_by(start, latest)):
        end = latest.label
        if start is None:
            start = latest.shift(-(BACKTEST_PERIODS.get(spec.model.grain, 12) - 1)).label
    periods = resolve_periods(spec, start=start, end=end, as_of=as_of)
    frame, warnings = run_backtest(spec, periods, horizon, last, engine_for(spec, engine))
    return Backtest(frame, hb, warnings)


# -------------------------------------------------------------------------------- alerts
@dataclass
class Alerts:
    """`csm alerts`: the hits of one period."""

    frame: pl.DataFrame
    period: str
    defined: bool  # the spec has an alerts: section
    warnings: list[str] = field(default_factory=list)
    units: dict[str, str] = field(default_factory=dict)  # value column -> its unit
    currency: str = "USD"


@_one_read
def alerts(
    spec: Spec,
    *,
    period: str | None = None,
    as_of: str | None = None,
    engine: str | None = None,
    new_only: bool = False,
    severity: str | None = None,
    sort: str | None = None,
    top: int | None = None,
) -> Alerts:
    """The accounts whose alert conditions hold in the period (``severity``: the lowest
    level kept; ``new_only``: hits that did not fire for the account the period before),
    with each account's ``name`` and ``owner``; grouped by playbook, each sorted by
    ``sort`` and cut to its first ``top`` hits (:func:`cs_metrics.alerts.sort_hits`)."""
    from cs_metrics.alerts import sort_hits, value_unit
    from cs_metrics.people import directory, with_people

    label = resolve_periods(spec, period=period, as_of=as_of)[0].label
    warnings: list[str] = []
    hits = evaluate_alerts(
        spec,
        period,
        engine_for(spec, engine),
        as_of,
        new_only=new_only,
        min_severity=severity,
        warnings=warnings,
    )
    hits = sort_hits(with_people(hits, directory(spec)), spec, sort, top)
    fixed = {"period", "account", "name", "owner", "alert", "severity", "action"}
    units = {c: value_unit(spec, c) for c in hits.columns if c not in fixed}
    return Alerts(
        hits, label, bool(spec.model.alerts), warnings, units=units, currency=spec.model.currency
    )


# ------------------------------------------------------------------------------- cohorts
@_one_read
def cohorts(
    spec: Spec,
    *,
    grain: str | None = None,
    start: str | None = None,
    end: str | None = None,
    as_of: str | None = None,
    engine: str | None = None,
) -> Cohorts:
    """Logo and revenue retention by start cohort, one record per cohort and age."""
    from cs_metrics.cohorts import compute_cohorts

    return compute_cohorts(
        spec, grain=grain, start=start, end=end, as_of=as_of, engine=engine_for(spec, engine)
    )


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
    engine: str | None = None,
) -> Run:
    """Compute, render and write one report bundle (atomically); returns what it did."""
    from cs_metrics.report import run_report

    return run_report(
        spec, settings, period=period, as_of=as_of, out_dir=out_dir, engine=engine_for(spec, engine)
    )


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


def sample_spec(directory: str | Path, *, end: str | None = None) -> Path | None:
    """Write the ``csm init`` template as ``directory``/metrics.yaml, reading the sample
    exports there (paths relative to it; ``as_of`` = ``end``). Returns the path, or None
    when a metrics.yaml is already there (it is kept)."""
    return write_sample_spec(Path(directory), end)


def init(directory: str | Path, *, force: bool = False, sample: bool = True) -> Scaffold:
    """Scaffold metrics.yaml, its JSON Schema and (unless ``sample=False``) sample_data/."""
    return scaffold(Path(directory), force=force, sample=sample)
