"""``csm report``: the monthly bundle — what a CS lead reads and finance pastes into a model.

Three layers, each a plain function:

1. :func:`report_settings` turns the spec's ``reports:`` entry (or the built-in default
   report when there is none) into :class:`Settings` with every default filled in.
2. :func:`build_report` does all the data work for one period, in as few engine runs as
   the content allows: one run for the report's metrics *and* the chart inputs over the
   last ``trend`` periods (the headline values, their previous values and every series
   come from it), one per breakdown dimension, one for health (scores for the period and
   the one before), one for alerts and one for cohorts. It returns :class:`ReportData`.
3. :func:`write_bundle` writes the files (rendered by :mod:`cs_metrics.report_render`)
   into a hidden temporary directory beside the target, fsyncs them, and swaps the
   directory into place, so readers and re-runs only ever see a whole bundle.

The atomic swap (see :func:`write_bundle`): ``.<name>.csm-tmp-<random>`` is filled and
fsynced; the old bundle is renamed to ``.<name>.csm-old-<random>``, the new one renamed to
``<name>``, the old one removed. Any failure (an exception, Ctrl-C, SIGTERM) removes the
temporary directory and puts the old bundle back. A run killed outright (SIGKILL, power
loss) leaves hidden directories that the next run for the same target cleans up (or, if
the kill fell between the two renames, restores). Runs for targets in one directory are
serialised by an advisory lock on that directory. A non-empty directory that is not a csm
bundle (no ``.csm-report.json`` marker) is never replaced: csm refuses (exit 73) rather
than delete files it did not write.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from cs_metrics.atomic import fsync_dir, fsync_file, umask
from cs_metrics.errors import OutputError, UsageError

if TYPE_CHECKING:
    from cs_metrics.cohorts import Cohorts
    from cs_metrics.periods import Period
    from cs_metrics.result import MetricResult
    from cs_metrics.spec import Spec
    from cs_metrics.spec.models import ReportCohorts

DEFAULT_NAME = "default"
DEFAULT_TITLE = "Customer-success report"
MARKER = ".csm-report.json"  # written into every bundle: csm only ever replaces its own
TMP_TAG, OLD_TAG = "csm-tmp", "csm-old"

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


# --------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class Settings:
    """One report with every default resolved."""

    name: str
    title: str
    metrics: list[str] | None  # None: every metric of the spec
    dimensions: list[str]
    health: bool
    alerts: bool
    cohorts: ReportCohorts | None
    trend: int
    formats: tuple[str, ...]
    out_dir: str  # template with {period}, {name}, {grain}
    declared: bool  # False: the built-in default report


def report_settings(spec: Spec, name: str | None = None) -> list[Settings]:
    """The reports ``csm report [NAME]`` runs: NAME, else every declared one, else the default.

    An undeclared NAME is a usage error (exit 2) that lists the declared reports.
    """
    declared = spec.model.reports
    if name is None:
        if not declared:
            return [_settings(spec, DEFAULT_NAME, None)]
        return [_settings(spec, n, r) for n, r in declared.items()]
    if name not in declared:
        from cs_metrics.spec import did_you_mean

        if not declared:
            raise UsageError(
                f"no report {name!r}: {spec.path} declares no reports:; run `csm report` without "
                "a name for the default report, or add a reports: section"
            )
        raise UsageError(
            f"no report {name!r} in {spec.path}{did_you_mean(name, declared)}; declared: "
            f"{', '.join(declared)}"
        )
    return [_settings(spec, name, declared[name])]


def _settings(spec: Spec, name: str, report: Any) -> Settings:
    from cs_metrics.spec.models import REPORT_FORMATS, Report, ReportCohorts

    m = spec.model
    r = report if report is not None else Report()
    billing = "subscriptions" in m.sources or "invoices" in m.sources
    if r.cohorts is None:
        cohorts = ReportCohorts() if billing else None
    elif r.cohorts is True:
        cohorts = ReportCohorts()
    elif r.cohorts is False:
        cohorts = None
    else:
        cohorts = r.cohorts
    if report is None:
        title = DEFAULT_TITLE
    else:
        title = r.title or f"{DEFAULT_TITLE}: {name.replace('_', ' ')}"
    return Settings(
        name=name,
        title=title,
        metrics=list(r.metrics) if r.metrics is not None else None,
        dimensions=list(dict.fromkeys(r.dimensions)),
        health=m.health is not None if r.health is None else bool(r.health),
        alerts=bool(m.alerts) if r.alerts is None else bool(r.alerts),
        cohorts=cohorts,
        trend=r.trend,
        formats=tuple(f for f in REPORT_FORMATS if f in r.formats),
        out_dir=r.out_dir,
        declared=report is not None,
    )


def resolve_out_dir(
    spec: Spec, settings: Settings, period: Period, override: str | os.PathLike[str] | None
) -> Path:
    """The bundle directory: ``--out-dir`` (relative to the working directory) or the
    report's ``out_dir`` (relative to the spec file), placeholders filled in."""
    from cs_metrics.spec.check import out_dir_problem

    if override is not None:
        template, base = str(override), Path.cwd()
        problem = out_dir_problem(template, "", "--out-dir")
        if problem:
            raise UsageError(problem.message)
    else:
        template, base = settings.out_dir, spec.base_dir
    text = template.format(period=period.label, name=settings.name, grain=period.grain)
    path = Path(text).expanduser()
    return path if path.is_absolute() else base / path


# --------------------------------------------------------------------------- data


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
    from cs_metrics.timeframe import resolve_periods

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
    from cs_metrics.engine import compute
    from cs_metrics.timeframe import data_end, incomplete

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
    )
    if shown:
        for dim in settings.dimensions:
            res = compute(spec, shown, [p], [dim], engine)
            data.breakdowns[dim] = res
            _merge(data, res.warnings, res.rows_read)
    if settings.health and spec.model.health is not None:
        from cs_metrics.health import band_order, health_of, score_health

        frame, w = score_health(spec, [p.previous(), p], engine)
        data.health = frame
        data.band_order = band_order(health_of(spec))
        _merge(data, w, {})
    if settings.alerts and spec.model.alerts:
        from cs_metrics.alerts import evaluate_alerts

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
    from cs_metrics.cohorts import compute_cohorts
    from cs_metrics.periods import period_of

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
    from cs_metrics.metrics.registry import load_all

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
    from cs_metrics.sources import scan_source

    sc = scan_source(spec.base_dir, "accounts", spec.model.sources["accounts"])
    if "name" not in sc.columns:
        return {}, {}
    frame = sc.frame.select(
        pl.col("account_id").cast(pl.String), pl.col("name").cast(pl.String)
    ).collect()
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


# --------------------------------------------------------------------------- bundle


Writer = Callable[[Path], None]


def write_bundle(target: Path, files: dict[str, Writer], manifest: dict[str, Any]) -> list[str]:
    """Write ``files`` (relative name -> writer of that path) as the directory ``target``,
    atomically (module docstring). Returns the names written. OS failures are exit 73."""
    target = Path(os.path.abspath(target))
    parent = target.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _output_error(target, exc) from None
    if target.exists() and not target.is_dir():
        raise OutputError(f"cannot write the report to {target}: it is a file; choose a directory")
    with _locked(parent), _terminate_as_interrupt():
        _recover(target)
        _check_replaceable(target)
        try:
            tmp = Path(_mkdtemp(parent, f".{target.name}.{TMP_TAG}-"))
        except OSError as exc:
            raise _output_error(target, exc) from None
        old: Path | None = None
        try:
            names = []
            for name, writer in files.items():
                path = tmp / name
                write_file(path, writer)
                names.append(name)
            write_file(
                tmp / MARKER,
                lambda p: p.write_text(
                    json.dumps({**manifest, "files": names}, indent=2) + "\n", encoding="utf-8"
                ),
            )
            os.chmod(tmp, 0o777 & ~umask())
            fsync_dir(tmp)
            if target.exists():
                old = parent / f".{target.name}.{OLD_TAG}-{secrets.token_hex(4)}"
                os.rename(target, old)
            os.rename(tmp, target)
            fsync_dir(parent)
        except BaseException as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            if old is not None and not target.exists():
                with contextlib.suppress(OSError):
                    os.rename(old, target)
            if isinstance(exc, OSError):
                raise _output_error(target, exc) from None
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    return names


def write_file(path: Path, writer: Writer) -> None:
    """Write one file of the bundle and flush it to disk (tests replace this to fail midway)."""
    writer(path)
    fsync_file(path)


def _mkdtemp(parent: Path, prefix: str) -> str:
    import tempfile

    return tempfile.mkdtemp(prefix=prefix, dir=parent)


def _hidden(target: Path, tag: str) -> list[Path]:
    prefix = f".{target.name}.{tag}-"
    try:
        return sorted(
            (p for p in target.parent.iterdir() if p.name.startswith(prefix)),
            key=lambda p: p.stat().st_mtime,
        )
    except OSError:
        return []


def _recover(target: Path) -> None:
    """Clean up after a run that was killed: remove its temporary directory; when it died
    between the two renames (no bundle, an old one aside), put the old bundle back."""
    for tmp in _hidden(target, TMP_TAG):
        shutil.rmtree(tmp, ignore_errors=True)
    olds = _hidden(target, OLD_TAG)
    if olds and not target.exists():
        with contextlib.suppress(OSError):
            os.rename(olds.pop(), target)
    for old in olds:
        shutil.rmtree(old, ignore_errors=True)


def _check_replaceable(target: Path) -> None:
    if not target.is_dir():
        return
    try:
        entries = list(target.iterdir())
    except OSError as exc:
        raise _output_error(target, exc) from None
    if entries and not (target / MARKER).is_file():
        raise OutputError(
            f"cannot write the report to {target}: the directory holds files that csm did not "
            "write, and a report replaces its directory whole; choose another --out-dir (or "
            "empty that directory)"
        )


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """Serialise report runs writing into ``directory`` (an advisory flock, where supported)."""
    try:
        import fcntl
    except ImportError:  # not POSIX
        yield
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        yield
        return
    try:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """While the bundle is written, SIGTERM (cron's timeout, systemd stop) cleans up like Ctrl-C."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except (ValueError, OSError):
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _output_error(target: Path, exc: OSError) -> OutputError:
    from cs_metrics.atomic import _output_error as one_file

    err = one_file(target / "summary", exc)
    msg = err.message.replace(
        f"cannot write {target / 'summary'}", f"cannot write the report to {target}"
    )
    return OutputError(msg)


# --------------------------------------------------------------------------- one run


@dataclass
class Run:
    """What one report run did (for the log line)."""

    name: str
    period: str
    directory: Path
    files: list[str]
    rows_read: dict[str, int]
    seconds: float
    warnings: list[str]


def run_report(
    spec: Spec,
    settings: Settings,
    *,
    period: str | None = None,
    as_of: str | None = None,
    out_dir: str | os.PathLike[str] | None = None,
    engine: str = "polars",
) -> Run:
    """Compute, render and write one report bundle; returns what it did."""
    from cs_metrics.report_render import bundle_files

    started = time.monotonic()
    p = report_period(spec, period, as_of)
    target = resolve_out_dir(spec, settings, p, out_dir)
    data = build_report(spec, settings, period=period, as_of=as_of, engine=engine)
    files = bundle_files(data)
    manifest = {
        "report": settings.name,
        "title": settings.title,
        "period": p.label,
        "as_of": data.data_end.isoformat(),
        "generated": data.generated.isoformat(timespec="seconds"),
        "spec": str(spec.path),
        "rows_read": data.rows_read,
        "warnings": data.warnings,
    }
    names = write_bundle(target, files, manifest)
    return Run(
        name=settings.name,
        period=p.label,
        directory=target,
        files=names,
        rows_read=data.rows_read,
        seconds=time.monotonic() - started,
        warnings=data.warnings,
    )


def log_line(
    *,
    name: str,
    period: str | None,
    status: str,
    seconds: float,
    run: Run | None = None,
    code: int | None = None,
) -> str:
    """One cron-friendly line: timestamp, report, period, status, rows read, files, duration."""
    stamp = datetime.now().astimezone().isoformat(timespec="seconds")
    parts = [stamp, "csm report", name, f"period={period or '-'}", f"status={status}"]
    if code is not None:
        parts.append(f"exit={code}")
    if run is not None:
        rows = ",".join(f"{r}:{n}" for r, n in sorted(run.rows_read.items())) or "-"
        parts += [f"rows={rows}", f"files={len(run.files)}", f"dir={shown_path(run.directory)}"]
        if run.warnings:
            parts.append(f"warnings={len(run.warnings)}")
    parts.append(f"duration={seconds:.1f}s")
    return " ".join(parts)


def shown_path(path: Path) -> str:
    with contextlib.suppress(ValueError):
        return str(path.relative_to(Path.cwd()))
    return str(path)
