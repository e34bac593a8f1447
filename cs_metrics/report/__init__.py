"""``csm report``: the monthly bundle — what a CS lead reads and finance pastes into a model.

Three layers, each a plain function:

1. :func:`report_settings` (:mod:`.settings`) turns the spec's ``reports:`` entry (or the
   built-in default report when there is none) into :class:`Settings` with every default
   filled in.
2. :func:`build_report` (:mod:`.data`) does all the data work for one period, in as few
   engine runs as the content allows: one run for the report's metrics *and* the chart
   inputs over the last ``trend`` periods (the headline values, their previous values and
   every series come from it), one per breakdown dimension, one for health (scores for
   the period and the one before), one for alerts and one for cohorts. It returns
   :class:`ReportData`.
3. :func:`run_report` (:mod:`.run`) renders the files — ``summary.html`` (:mod:`.html`,
   charts from :mod:`.charts`), ``summary.md`` (:mod:`.markdown`), ``metrics.xlsx`` and
   one CSV per table (:mod:`.tables`), in words from :mod:`.words` — and
   :func:`write_bundle` (:mod:`.bundle`) writes them into a hidden temporary directory
   beside the target, fsyncs them, and swaps the directory into place, so readers and
   re-runs only ever see a whole bundle.

Arrows point one way: settings <- data <- words <- tables <- html, markdown <- run;
bundle and the charts depend on none of them.
"""

from cs_metrics.report.bundle import (
    MARKER,
    OLD_TAG,
    TMP_TAG,
    Run,
    Writer,
    log_line,
    shown_path,
    write_bundle,
    write_file,
)
from cs_metrics.report.data import (
    CHART_TYPES,
    HEADLINE_TYPES,
    MAX_CARDS,
    MOVEMENT_TYPES,
    ReportData,
    account_names,
    build_report,
    chart_roles,
    headline,
    now,
    period_rows,
    report_period,
    series_frame,
)
from cs_metrics.report.html import render_html
from cs_metrics.report.markdown import render_markdown
from cs_metrics.report.run import bundle_files, run_report
from cs_metrics.report.settings import (
    DEFAULT_NAME,
    DEFAULT_TITLE,
    Settings,
    report_settings,
    resolve_out_dir,
)
from cs_metrics.report.tables import Table, tables, xlsx_bytes

__all__ = [
    "CHART_TYPES",
    "DEFAULT_NAME",
    "DEFAULT_TITLE",
    "HEADLINE_TYPES",
    "MARKER",
    "MAX_CARDS",
    "MOVEMENT_TYPES",
    "OLD_TAG",
    "TMP_TAG",
    "ReportData",
    "Run",
    "Settings",
    "Table",
    "Writer",
    "account_names",
    "build_report",
    "bundle_files",
    "chart_roles",
    "headline",
    "log_line",
    "now",
    "period_rows",
    "render_html",
    "render_markdown",
    "report_period",
    "report_settings",
    "resolve_out_dir",
    "run_report",
    "series_frame",
    "shown_path",
    "tables",
    "write_bundle",
    "write_file",
    "xlsx_bytes",
]
