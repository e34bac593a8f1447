"""The reports a spec declares, with every default filled in (:func:`report_settings`),
and where each one's bundle goes (:func:`resolve_out_dir`)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cs_metrics.errors import UsageError
from cs_metrics.periods import Period
from cs_metrics.spec import Spec, did_you_mean
from cs_metrics.spec.check import out_dir_problem
from cs_metrics.spec.models import REPORT_FORMATS, Report, ReportCohorts

DEFAULT_NAME = "default"
DEFAULT_TITLE = "Customer-success report"


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
