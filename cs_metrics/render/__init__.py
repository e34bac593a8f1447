"""Turn a :class:`~cs_metrics.result.MetricResult` into output for machines and for people.

Machine formats (csv, tsv, json, ndjson, parquet) carry the long form of SPEC.md —
``period``, one field per ``--by`` dimension (``name`` and ``owner`` beside ``account``),
``metric``, ``value``, ``unit`` — or, with ``--layout wide`` (``--wide``), one column per
metric, or with ``--layout grid`` metric rows x period columns. Metric values keep full
precision (the engine rounds them), a whole count is written as an integer, and numbers
never have thousands separators; null (and NaN/inf, which no consumer can use) is JSON
``null`` or an empty CSV cell. Rows are sorted by the requested period order, the
``--sort`` rank, dimension values, then the metric order (the order asked, else the
spec's), whatever order the frame arrived in.

Formats for people (the terminal table, markdown, html) share one layout, built as
:class:`Block` values and drawn by each backend. The layout depends on the shape:

* **one period, no dimensions** — ``Metric | Value | Previous | Change``, metrics grouped
  under family headings (revenue, customers, sentiment, support, usage, acquisition,
  team, custom) in that order, spec order within a family.
* **several periods, no dimensions** — periods as columns, metrics as rows (same family
  grouping), the last column the change of the latest period over the one before. On a
  terminal only the latest periods that fit the console width are shown, with a caption
  saying how many were left out (markdown and html always show all of them).
* **one period with ``--by``** — one row per combination of dimension values (the
  dimension columns first), then for each metric a value column followed by a narrow
  ``Δ`` change column. A CS lead comparing plans or accounts reads across a row, which a
  long "(dimension, metric) per row" list makes hard.
* **several periods with ``--by``** — one table per metric: dimension values as rows,
  periods as columns, then the change column (the pivot an analyst would build in a
  spreadsheet), with the same fit-to-width rule.

Both series layouts have a ``Trend`` column right after the row's name: a
:func:`sparkline` of the row over *every* period of the series, so its shape stays in
view when a narrow terminal drops the older period columns. It is green when the last
value is better than the first for the metric (``higher_is_better``), red when worse,
plain for neutral metrics. Machine formats never carry it.

Values carry their unit: currency with symbol and separators ($12,300; €, £ for EUR and
GBP, otherwise the code as a suffix; cents only below 1,000), ratios as percent with one
decimal (5.0 %), counts as integers with separators, days and hours with one decimal and
the unit, scores with one decimal. Change is the difference in percentage points for
ratios ("+1.2 pp"), in points for scores ("+3.0 pts"), and the relative change otherwise
("+4.5 %"; the absolute change when the previous value is 0). Its arrow ▲/▼ is green when
the move is good for the metric (``MetricMeta.higher_is_better``), red when bad, plain when
the metric is neutral, dim when unchanged at the precision shown. A null value is a dim
"—"; when the result says why (``note``), a superscript marker points to the note under
the table.

The html page is self-contained (inline CSS, no scripts or external resources) and lists
``result.warnings`` under the tables, since a file has no stderr beside it. It uses the
one page skeleton and stylesheet of ``cs_metrics/templates/`` that the report uses too.

Nothing here prints except through the :class:`rich.console.Console` handed in, so the
CLI's colour, NO_COLOR and width decisions hold.


The package, one job per module, arrows pointing down only:

* :mod:`.machine` — csv/tsv/json/ndjson/parquet, and the writers for every format
* :mod:`.terminal` — Rich tables; :mod:`.markdown`; :mod:`.html` (the page skeleton);
  :mod:`.xlsx`
* :mod:`.layout` — the :class:`Block` tables for people
* :mod:`.numbers` — value/change formatting, sparklines; :mod:`.order` — row order;
  :mod:`.formats` — format choice and extensions
"""

from cs_metrics.formats import EXTENSIONS, FORMATS, TEXT_FORMATS, format_for_output
from cs_metrics.metrics.registry import FAMILIES
from cs_metrics.render.html import blocks_page, frame_page, html_td, page, page_css
from cs_metrics.render.layout import TREND, Block, Cell, build_blocks
from cs_metrics.render.machine import (
    emit_frame,
    finite,
    frame_text,
    jsonable,
    machine_frame,
    render_text,
    write_cohorts,
    write_file,
    write_frame,
)
from cs_metrics.render.markdown import blocks_markdown, frame_markdown, md_cell, md_escape, md_table
from cs_metrics.render.numbers import (
    CURRENCY_SYMBOLS,
    DOWN,
    NULL,
    SPARK_NULL,
    SPARKS,
    UP,
    finite_value,
    format_change,
    format_value,
    sparkline,
    trend_tone,
    unit_kind,
)
from cs_metrics.render.terminal import render_table
from cs_metrics.render.xlsx import (
    XLSX_HEADER,
    XLSX_MAX_WIDTH,
    XLSX_OPTIONS,
    Sheet,
    safe_sheet_name,
    write_sheets,
    xlsx_number_format,
)

__all__ = [
    "CURRENCY_SYMBOLS",
    "DOWN",
    "EXTENSIONS",
    "FAMILIES",
    "FORMATS",
    "NULL",
    "SPARKS",
    "SPARK_NULL",
    "TEXT_FORMATS",
    "TREND",
    "UP",
    "XLSX_HEADER",
    "XLSX_MAX_WIDTH",
    "XLSX_OPTIONS",
    "Block",
    "Cell",
    "Sheet",
    "blocks_markdown",
    "blocks_page",
    "build_blocks",
    "emit_frame",
    "finite",
    "finite_value",
    "format_change",
    "format_for_output",
    "format_value",
    "frame_markdown",
    "frame_page",
    "frame_text",
    "html_td",
    "jsonable",
    "machine_frame",
    "md_cell",
    "md_escape",
    "md_table",
    "page",
    "page_css",
    "render_table",
    "render_text",
    "safe_sheet_name",
    "sparkline",
    "trend_tone",
    "unit_kind",
    "write_cohorts",
    "write_file",
    "write_frame",
    "write_sheets",
    "xlsx_number_format",
]
