"""Excel workbooks: sheets from frames with number formats by unit, a bold frozen header,
filters and sized columns. xlsxwriter is imported on first use (``csm --help`` stays fast)."""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
import polars.selectors as cs

from cs_metrics.cohorts import cohort_sizes, triangle
from cs_metrics.render.numbers import CURRENCY_SYMBOLS, unit_kind

if TYPE_CHECKING:
    from cs_metrics.cohorts import Cohorts


def xlsx_number_format(unit: str, currency: str = "USD") -> str:
    """The Excel number format for a unit ("$#,##0.00", "0.0%", "#,##0" ...)."""
    kind = unit_kind(unit)
    if kind == "currency":
        code = currency if unit == "currency" else unit
        if code == "USD":
            return "$#,##0.00"
        symbol = CURRENCY_SYMBOLS.get(code)
        return f'"{symbol}"#,##0.00' if symbol else f'#,##0.00 "{code}"'
    return {
        "ratio": "0.0%",
        "count": "#,##0",
        "days": "#,##0.0",
        "hours": "#,##0.0",
        "score": "0.0",
    }.get(kind, "#,##0.00")


# Data text is never a formula or a link (formula injection). NaN/inf are written as empty
# cells (see _write_sheet); nan_inf_to_errors is the safety net.
XLSX_OPTIONS = {"strings_to_formulas": False, "strings_to_urls": False, "nan_inf_to_errors": True}
XLSX_HEADER = {"bold": True, "bottom": 1, "bg_color": "#F2F2F2"}
XLSX_MAX_WIDTH = 420  # pixels (about 60 characters): autofit stops there


@dataclass
class Sheet:
    """One worksheet for :func:`write_sheets`: ``frame`` as an Excel table.

    ``units`` gives a column's unit (its number format); ``row_units`` names, for a column
    whose unit varies by row (long tables), the column holding each row's unit; the first
    ``freeze`` columns stay in view with the header; ``conditional_formats`` go to polars as is;
    ``period_columns`` hold period labels, written as the period's first day formatted as
    the period (a label that is not a period stays text).
    """

    name: str
    frame: pl.DataFrame
    units: dict[str, str] = field(default_factory=dict)
    row_units: dict[str, str] = field(default_factory=dict)
    freeze: int = 0
    conditional_formats: dict[Any, Any] = field(default_factory=dict)
    period_columns: tuple[str, ...] = ()


def safe_sheet_name(name: str, taken: set[str]) -> str:
    """An Excel sheet name: at most 31 characters, none of []:*?/\\, unique."""
    base = re.sub(r"[\[\]:*?/\\]", "_", name)[:31] or "sheet"
    out, i = base, 2
    while out.lower() in taken:
        suffix = f"_{i}"
        out, i = base[: 31 - len(suffix)] + suffix, i + 1
    taken.add(out.lower())
    return out


def write_sheets(
    target: Path | io.BytesIO,
    sheets: Iterable[Sheet],
    currency: str = "USD",
    properties: dict[str, Any] | None = None,
) -> None:
    """Write ``sheets`` to one workbook with polars' ``write_excel``: number formats from
    units, bold frozen header, autofilter, autofit widths. A failure to create the file is
    raised as the OSError behind it (atomic_write maps that to an exit code)."""
    import xlsxwriter
    from xlsxwriter.exceptions import FileCreateError

    in_memory = not isinstance(target, Path)
    book = xlsxwriter.Workbook(
        target if in_memory else str(target), {**XLSX_OPTIONS, "in_memory": in_memory}
    )
    try:
        if properties:
            book.set_properties(properties)
        taken: set[str] = set()
        for sheet in sheets:
            _write_sheet(book, safe_sheet_name(sheet.name, taken), sheet, currency)
    finally:
        try:
            book.close()
        except FileCreateError as exc:  # xlsxwriter wraps the OSError; let atomic_write map it
            cause = exc.__cause__ or exc.__context__
            if isinstance(cause, OSError):
                raise cause from None
            raise OSError(str(exc)) from None


def _write_sheet(book: Any, name: str, sheet: Sheet, currency: str) -> None:
    from xlsxwriter.utility import xl_pixel_width

    frame = sheet.frame
    if not frame.width:
        book.add_worksheet(name)
        return
    frame = frame.with_columns(  # NaN and inf: empty cells, as in the machine formats
        pl.when(pl.col(c).is_finite()).then(pl.col(c)).alias(c)
        for c, dtype in frame.schema.items()
        if dtype.is_float()
    )
    formats: dict[Any, Any] = {
        c: xlsx_number_format(u, currency) for c, u in sheet.units.items() if u and c in frame
    }
    conditional: dict[Any, Any] = dict(sheet.conditional_formats)
    for column in sheet.row_units:
        formats[column] = "General"  # each cell gets its row's format below
    frame.write_excel(
        book,
        name,
        table_style="Table Style Light 1",
        column_formats=formats,
        conditional_formats=conditional or None,
        header_format=XLSX_HEADER,
        float_precision=2,
        autofilter=True,
        freeze_panes=(1, sheet.freeze),
    )
    worksheet = book.get_worksheet_by_name(name)
    _cell_formats(book, worksheet, frame, sheet, currency)
    worksheet.autofit(max_width=XLSX_MAX_WIDTH)
    # autofit measures a number as str(number), not as its format shows it ("$11,800.00"):
    # size numeric columns for the largest magnitude with separators, 2 decimals and a
    # symbol, so Excel never shows "####"
    for column in frame.select(cs.numeric()).columns:
        if (big := frame[column].abs().max()) is not None:
            j = frame.get_column_index(column)
            shown = xl_pixel_width(f"{big:,.2f}") + 28
            worksheet.set_column_pixels(j, j, max(xl_pixel_width(column) + 16, shown) + 7)


def period_date_format(label: str) -> str:
    """The Excel date format that shows a period's first day as the period's label: yyyy-mm
    for a month, yyyy for a year, yyyy"-Q3" for a quarter, yyyy-mm-dd"..2026-03-15" for a
    range (a date format, so readers see a date); the label as literal text when the year
    of the first day is not the label's (an ISO week starting in December)."""
    if re.fullmatch(r"\d{4}-\d{2}", label):
        return "yyyy-mm"
    if re.fullmatch(r"\d{4}", label):
        return "yyyy"
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", label):
        return "yyyy-mm-dd"
    if m := re.fullmatch(r"(\d{4}-\d{2}-\d{2})(\.\..*)", label):
        return f'yyyy-mm-dd"{m[2]}"'
    start = _period_start(label)
    m = re.fullmatch(r"(\d{4})(-[QW]\d+)", label)
    if m and start is not None and start.year == int(m[1]):
        return f'yyyy"{m[2]}"'
    return '"' + label.replace('"', "") + '"'


def _period_start(label: Any) -> Any:
    from cs_metrics.periods import parse_period

    if not isinstance(label, str):
        return None
    try:
        return parse_period(label).start
    except Exception:  # "all" and other labels that are not periods stay text
        return None


def _cell_formats(
    book: Any, worksheet: Any, frame: pl.DataFrame, sheet: Sheet, currency: str
) -> None:
    """Per-cell formats polars cannot give: periods as real dates shown as the period
    (first day of the period), and the number format of each row's unit in the columns of
    ``row_units`` (long and grid sheets mix units in one column)."""
    from datetime import datetime

    cache: dict[str, Any] = {}

    def fmt(num_format: str) -> Any:
        if num_format not in cache:
            cache[num_format] = book.add_format({"num_format": num_format})
        return cache[num_format]

    for column in sheet.period_columns:
        if column not in frame.columns or frame.schema[column] != pl.String:
            continue
        j = frame.get_column_index(column)
        for i, label in enumerate(frame[column].to_list(), start=1):
            start = _period_start(label)
            if start is not None:
                when = datetime(start.year, start.month, start.day)
                worksheet.write_datetime(i, j, when, fmt(period_date_format(label)))
    for column, unit_column in sheet.row_units.items():
        if column not in frame.columns or unit_column not in frame.columns:
            continue
        j = frame.get_column_index(column)
        pairs = zip(frame[column].to_list(), frame[unit_column].to_list(), strict=True)
        for i, (value, unit) in enumerate(pairs, start=1):
            if value is None:
                continue
            if unit == "count" and float(value).is_integer():
                value = int(value)
            worksheet.write_number(i, j, value, fmt(xlsx_number_format(unit or "", currency)))


# ----------------------------------------------------------------------------- cohorts
COHORT_UNITS = {
    "age": "count",
    "customers_start": "count",
    "customers": "count",
    "logo_retention": "ratio",
    "mrr_start": "currency",
    "mrr": "currency",
    "revenue_retention": "ratio",
}
# the triangle sheets' colour scale: lowest red, highest green
COLOR_SCALE = {
    "type": "3_color_scale",
    "min_color": "#F8696B",
    "mid_color": "#FFEB84",
    "max_color": "#63BE7B",
}


def write_cohorts_xlsx(result: Cohorts, tmp: Path) -> None:
    """Sheet "cohorts": the records with number formats; then one triangle per basis with a
    colour scale (lowest red, highest green)."""
    frame = result.frame
    sheets = [Sheet("cohorts", frame, units=COHORT_UNITS)]
    sizes = cohort_sizes(frame)
    for title, value, size in (
        ("logo retention", "logo_retention", "customers_start"),
        ("revenue retention", "revenue_retention", "mrr_start"),
    ):
        tri = triangle(frame, value).join(
            sizes.select("cohort", size), on="cohort", how="left", maintain_order="left"
        )
        ages = [f"age {c}" for c in tri.columns if c not in ("cohort", size)]
        tri = tri.select("cohort", size, *[pl.col(a[4:]).alias(a) for a in ages])
        sheets.append(
            Sheet(
                title,
                tri,
                units={size: COHORT_UNITS[size]} | dict.fromkeys(ages, "ratio"),
                freeze=2,
                conditional_formats={tuple(ages): COLOR_SCALE} if ages and tri.height else {},
            )
        )
    write_sheets(tmp, sheets, result.currency)
