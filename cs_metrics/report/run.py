"""One ``csm report`` run: compute (:mod:`.data`), render every file in memory (:mod:`.html`,
:mod:`.markdown`, :mod:`.tables`), then write the bundle atomically (:mod:`.bundle`)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from cs_metrics.output import stage
from cs_metrics.report.bundle import Run, check_target, write_bundle
from cs_metrics.report.data import ReportData, build_report, report_period
from cs_metrics.report.html import render_html
from cs_metrics.report.markdown import render_markdown
from cs_metrics.report.settings import Settings, resolve_out_dir
from cs_metrics.report.tables import tables, xlsx_bytes
from cs_metrics.spec import Spec


def bundle_files(data: ReportData) -> dict[str, Callable[[Path], None]]:
    """file name -> writer, for the report's formats (rendered in memory first, so a
    failure while rendering never touches the file system)."""
    tabs = tables(data)
    files: dict[str, Callable[[Path], None]] = {}
    formats = data.settings.formats
    if "html" in formats:
        files["summary.html"] = _text(render_html(data, tabs))
    if "md" in formats:
        files["summary.md"] = _text(render_markdown(data, tabs))
    if "xlsx" in formats:
        blob = xlsx_bytes(data, tabs)
        files["metrics.xlsx"] = lambda path: path.write_bytes(blob)
    if "csv" in formats:
        for t in tabs:
            files[f"{t.name}.csv"] = _text(t.frame.write_csv())
    return files


def _text(content: str) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        with open(path, "w", encoding="utf-8", newline="") as fh:
            fh.write(content)

    return write


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
    started = time.monotonic()
    p = report_period(spec, period, as_of)
    target = resolve_out_dir(spec, settings, p, out_dir)
    check_target(target)  # before the computation: a bad --out-dir fails at once
    stage(f"{settings.name}: reading sources and computing")
    data = build_report(spec, settings, period=period, as_of=as_of, engine=engine)
    stage(f"{settings.name}: rendering the report and its charts")
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
        "stale": {role: str(d) if d else None for role, d in data.stale.items()},
    }
    stage(f"{settings.name}: writing {target.name}/")
    names = write_bundle(target, files, manifest)
    return Run(
        name=settings.name,
        period=p.label,
        directory=target,
        files=names,
        rows_read=data.rows_read,
        seconds=time.monotonic() - started,
        warnings=data.warnings,
        stale=data.stale,
    )
