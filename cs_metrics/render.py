"""Turn a :class:`~cs_metrics.result.MetricResult` into output for machines and for people.

Machine formats (csv, tsv, json, ndjson, parquet) carry the long form of SPEC.md —
``period``, one field per ``--by`` dimension, ``metric``, ``value``, ``unit`` — or, with
``--wide``, one column per metric. Numbers keep full precision and never have thousands
separators; null (and NaN/inf, which no consumer can use) is JSON ``null`` or an empty
CSV cell. Rows are sorted by the requested period order, dimension values, then the
spec's metric order, whatever order the frame arrived in.

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
``result.warnings`` under the tables, since a file has no stderr beside it.

Nothing here prints except through the :class:`rich.console.Console` handed in, so the
CLI's colour, NO_COLOR and width decisions hold.
"""

from __future__ import annotations

import html
import io
import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from cs_metrics.atomic import atomic_write, atomic_write_text
from cs_metrics.errors import UsageError
from cs_metrics.metrics.registry import FAMILIES
from cs_metrics.result import MetricMeta, MetricResult

if TYPE_CHECKING:
    from rich.console import Console

__all__ = [
    "EXTENSIONS",
    "FAMILIES",
    "FORMATS",
    "Block",
    "Cell",
    "Sheet",
    "build_blocks",
    "format_change",
    "format_for_output",
    "format_value",
    "machine_frame",
    "render_table",
    "render_text",
    "safe_sheet_name",
    "sparkline",
    "trend_tone",
    "write_file",
    "write_sheets",
    "xlsx_number_format",
]

FORMATS = ("auto", "table", "csv", "tsv", "json", "ndjson", "markdown")
EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".json": "json",
    ".ndjson": "ndjson",
    ".parquet": "parquet",
    ".md": "markdown",
    ".html": "html",
    ".xlsx": "xlsx",
}
TEXT_FORMATS = ("csv", "tsv", "json", "ndjson", "markdown", "html")

CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}
NULL = "—"
UP, DOWN = "▲", "▼"
SPARKS = "▁▂▃▄▅▆▇█"
SPARK_NULL = "·"  # not a space: html collapses spaces and markdown trims them
_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


# --------------------------------------------------------------------------- choosing


def format_for_output(path: str | None, fmt: str, is_tty: bool) -> str:
    """The concrete format for ``--format fmt`` and ``-o path``.

    A file path decides by its extension (an explicit ``--format`` must agree with it);
    no path or ``-`` means stdout, where ``auto`` is a table on a terminal and CSV when
    piped.
    """
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    if path is None or path == "-":
        if fmt == "auto":
            return "table" if is_tty else "csv"
        return fmt
    suffix = Path(path).suffix.lower()
    by_ext = EXTENSIONS.get(suffix)
    if by_ext is None:
        what = f"extension {suffix!r}" if suffix else "no extension"
        raise UsageError(
            f"cannot tell the output format of {path} ({what}); name the file with one of "
            f"{' '.join(EXTENSIONS)}, or use -o - to write to stdout"
        )
    if fmt not in ("auto", by_ext):
        raise UsageError(
            f"--format {fmt} does not match {path}, which is written as {by_ext}; "
            f"drop --format, or give the file the extension of the format you want"
        )
    return by_ext


# --------------------------------------------------------------------------- machine


def machine_frame(result: MetricResult, wide: bool = False) -> pl.DataFrame:
    """The frame machine formats write: sorted, non-finite numbers as null."""
    frame = result.machine_frame(wide=wide)
    keys: list[Any] = [_period_rank(result), pl.col("period")]
    keys += [pl.col(d) for d in result.dims]
    if not wide:
        keys.append(_metric_rank(result))
    return finite(frame.sort(keys, nulls_last=True, maintain_order=True))


def render_text(result: MetricResult, fmt: str, wide: bool = False) -> str:
    """The document for a text format: csv, tsv, json, ndjson, markdown (or html)."""
    if fmt in ("csv", "tsv", "json", "ndjson"):
        return frame_text(machine_frame(result, wide), fmt)
    if fmt == "markdown":
        return _markdown(build_blocks(result))
    if fmt == "html":
        return _html(build_blocks(result), result)
    raise UsageError(
        f"format {fmt!r} is not a text format; use one of {', '.join(TEXT_FORMATS)}, "
        "or write parquet/xlsx with -o FILE"
    )


def write_file(result: MetricResult, path: Path, fmt: str, wide: bool = False) -> None:
    """Write ``result`` to ``path`` atomically in ``fmt`` (``auto``: from the extension).

    ``wide`` applies to the machine formats; markdown and html use the layout for people,
    and xlsx always has both a wide "metrics" sheet and a "long" sheet.
    """
    path = Path(path)
    if fmt == "auto":
        fmt = format_for_output(str(path), "auto", is_tty=False)
    if fmt in TEXT_FORMATS:
        atomic_write_text(path, render_text(result, fmt, wide))
    elif fmt == "parquet":
        frame = machine_frame(result, wide)
        atomic_write(path, lambda tmp: frame.write_parquet(tmp))
    elif fmt == "xlsx":
        atomic_write(path, lambda tmp: _write_xlsx(result, tmp))
    else:
        raise UsageError(
            f"cannot write {path} as {fmt!r}; file formats are {', '.join(sorted(EXTENSIONS))}"
        )


def _period_order(result: MetricResult) -> list[str]:
    present = result.frame.get_column("period").unique(maintain_order=True).to_list()
    seen = set(present)
    ordered = [p for p in result.periods if p in seen]
    known = set(ordered)
    return ordered + [p for p in present if p not in known]


def _period_rank(result: MetricResult) -> pl.Expr:
    rank = {p: i for i, p in enumerate(result.periods)}
    return pl.col("period").replace_strict(rank, default=len(rank), return_dtype=pl.Int64)


def _metric_rank(result: MetricResult) -> pl.Expr:
    rank = {m: i for i, m in enumerate(result.metrics)}
    return pl.col("metric").replace_strict(rank, default=len(rank), return_dtype=pl.Int64)


# --------------------------------------------------------------------------- numbers


def unit_kind(unit: str) -> str:
    """currency | ratio | count | days | hours | score | other."""
    if unit in ("ratio", "count", "days", "hours", "score"):
        return unit
    if unit == "currency" or (len(unit) == 3 and unit.isalpha() and unit.isupper()):
        return "currency"
    return "other"


def _number(value: float, decimals: int) -> str:
    text = f"{value:,.{decimals}f}"
    return text[1:] if text.startswith("-") and float(text.replace(",", "")) == 0 else text


def format_value(value: float | None, unit: str, currency: str = "USD") -> str:
    """A value as people read it ($12,300, 5.0 %, 1,204, 3.5 days); "—" when missing."""
    if value is None or not math.isfinite(value):
        return NULL
    kind = unit_kind(unit)
    if kind == "currency":
        code = currency if unit == "currency" else unit
        digits = _number(abs(value), 0 if abs(value) >= 1000 else 2)
        sign = "-" if value < 0 and digits.strip("0.,") else ""
        symbol = CURRENCY_SYMBOLS.get(code)
        return f"{sign}{symbol}{digits}" if symbol else f"{sign}{digits} {code}"
    if kind == "ratio":
        return f"{_number(value * 100, 1)} %"
    if kind == "count":
        if abs(value - round(value)) < 1e-9:
            return _number(round(value), 0)
        return _number(value, 1)
    if kind == "days":
        return f"{_number(value, 1)} days"
    if kind == "hours":
        return f"{_number(value, 1)} hours"
    if kind == "score":
        return _number(value, 1)
    if unit == "number":
        return _number(value, 2)
    return f"{_number(value, 2)} {unit}".rstrip()


def format_change(
    value: float | None,
    previous: float | None,
    unit: str,
    currency: str = "USD",
    higher_is_better: bool | None = True,
) -> tuple[str, str]:
    """The change from ``previous`` to ``value`` and its tone (good/bad/""/muted)."""
    if value is None or previous is None or not math.isfinite(value - previous):
        return NULL, "muted"
    kind = unit_kind(unit)
    diff = value - previous
    if kind == "ratio":
        magnitude, text = diff * 100, f"{_number(abs(diff) * 100, 1)} pp"
    elif kind == "score":
        magnitude, text = diff, f"{_number(abs(diff), 1)} pts"
    elif previous == 0:
        magnitude, text = diff, format_value(abs(diff), unit, currency)
    else:
        magnitude = diff / abs(previous) * 100
        text = f"{_number(abs(magnitude), 1)} %"
    if round(magnitude, 1) == 0:
        zero = {"ratio": "0.0 pp", "score": "0.0 pts"}.get(kind, "0.0 %")
        return zero, "muted"
    up = magnitude > 0
    tone = "" if higher_is_better is None else ("good" if up == higher_is_better else "bad")
    return f"{UP if up else DOWN} {'+' if up else '-'}{text}", tone


def sparkline(values: Iterable[float | None]) -> str:
    """One character per value, ``▁`` at the series' minimum to ``█`` at its maximum.

    A missing (or NaN/inf) value is ``·``; a flat series, or a single value, is a mid line
    of ``▄``. The result always has one character per value.
    """
    points = [_finite(v) for v in values]
    present = [v for v in points if v is not None]
    if not present:
        return SPARK_NULL * len(points)
    lo, hi = min(present), max(present)
    span = hi / 2 - lo / 2  # halves: hi - lo may overflow
    if span <= 0 or math.isclose(lo, hi, rel_tol=1e-9):
        return "".join(SPARK_NULL if v is None else SPARKS[3] for v in points)
    top = len(SPARKS) - 1
    return "".join(
        SPARK_NULL if v is None else SPARKS[min(top, int((v / 2 - lo / 2) / span * top + 0.5))]
        for v in points
    )


def trend_tone(values: Iterable[float | None], higher_is_better: bool | None = True) -> str:
    """good | bad when the last value differs from the first (missing ones skipped), else ""."""
    present = [v for v in map(_finite, values) if v is not None]
    if higher_is_better is None or len(present) < 2:
        return ""
    first, last = present[0], present[-1]
    if math.isclose(first, last, rel_tol=1e-9):
        return ""
    return "good" if (last > first) == higher_is_better else "bad"


# --------------------------------------------------------------------------- layout


@dataclass(frozen=True)
class Cell:
    """One table cell; ``tone`` is good | bad | muted | strong | "" (plain)."""

    text: str
    tone: str = ""


@dataclass
class Block:
    """One table for people, independent of how it is drawn.

    ``rows`` holds lists of cells or, for a family heading, the heading text.
    ``period_columns`` are the indices of the period columns a narrow terminal may drop;
    ``trend_column`` the index of the sparkline column (never dropped, never wrapped).
    """

    title: str
    headers: list[str]
    justify: list[str]
    rows: list[list[Cell] | str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    period_columns: list[int] = field(default_factory=list)
    caption: str = ""
    trend_column: int | None = None

    def keep_last_periods(self, keep: int) -> Block:
        """A copy showing only the last ``keep`` period columns."""
        drop = set(self.period_columns[: max(len(self.period_columns) - keep, 0)])
        if not drop:
            return self

        def cut(items: list[Any]) -> list[Any]:
            return [item for i, item in enumerate(items) if i not in drop]

        kept = [i for i in range(len(self.headers)) if i not in drop]
        shown, total = len(self.period_columns) - len(drop), len(self.period_columns)
        return Block(
            title=self.title,
            headers=cut(self.headers),
            justify=cut(self.justify),
            rows=[row if isinstance(row, str) else cut(row) for row in self.rows],
            notes=self.notes,
            period_columns=[kept.index(i) for i in self.period_columns if i not in drop],
            caption=f"last {shown} of {total} periods shown; --format csv or -o FILE has all",
            trend_column=None if self.trend_column is None else kept.index(self.trend_column),
        )


class _Notes:
    """Footnote markers for null values, one per distinct note."""

    def __init__(self) -> None:
        self.numbers: dict[str, int] = {}

    def marker(self, note: str | None) -> str:
        if not note:
            return ""
        number = self.numbers.setdefault(note, len(self.numbers) + 1)
        return str(number).translate(_SUPERSCRIPT)

    def lines(self) -> list[str]:
        return [f"{str(n).translate(_SUPERSCRIPT)} {note}" for note, n in self.numbers.items()]


@dataclass(frozen=True)
class _Point:
    value: float | None
    previous: float | None
    unit: str
    note: str | None


class _View:
    """The result's rows indexed for layout: (period, dims, metric) -> point."""

    def __init__(self, result: MetricResult) -> None:
        self.result = result
        self.dims = list(result.dims)
        frame = _human_frame(result)
        self.periods = _period_order(result)
        self.points: dict[tuple[str, tuple[Any, ...], str], _Point] = {}
        self.combos: list[tuple[Any, ...]] = []
        seen_combos: set[tuple[Any, ...]] = set()
        units: dict[str, str] = {}
        for row in frame.iter_rows(named=True):
            combo = tuple(row[d] for d in self.dims)
            if combo not in seen_combos:
                seen_combos.add(combo)
                self.combos.append(combo)
            unit = row["unit"] or self.meta(row["metric"]).unit
            units.setdefault(row["metric"], unit)
            self.points[(row["period"], combo, row["metric"])] = _Point(
                _finite(row["value"]), _finite(row["previous"]), unit, row["note"]
            )
        self.units = units
        self.metrics = _metric_order(result, list(units))

    def meta(self, name: str) -> MetricMeta:
        meta = self.result.metrics.get(name)
        if meta is None:
            return MetricMeta(name=name, family="custom", unit="", higher_is_better=None)
        return meta

    def label(self, name: str) -> str:
        return self.meta(name).label or name

    def unit(self, name: str) -> str:
        unit = self.units.get(name) or self.meta(name).unit
        return self.result.currency if unit == "currency" else unit

    def value_cell(self, point: _Point | None, notes: _Notes) -> Cell:
        if point is None:
            return Cell(NULL, "muted")
        if point.value is None:
            return Cell(NULL + notes.marker(point.note), "muted")
        return Cell(format_value(point.value, self.unit_of(point), self.result.currency))

    def previous_cell(self, point: _Point | None) -> Cell:
        if point is None or point.previous is None:
            return Cell(NULL, "muted")
        return Cell(format_value(point.previous, self.unit_of(point), self.result.currency))

    def change_cell(self, metric: str, point: _Point | None) -> Cell:
        if point is None:
            return Cell(NULL, "muted")
        text, tone = format_change(
            point.value,
            point.previous,
            self.unit_of(point),
            self.result.currency,
            self.meta(metric).higher_is_better,
        )
        return Cell(text, tone)

    def unit_of(self, point: _Point) -> str:
        return self.result.currency if point.unit == "currency" else point.unit

    def trend_cell(self, metric: str, points: list[_Point | None]) -> Cell:
        values = [None if p is None else p.value for p in points]
        line = sparkline(values)
        if all(v is None for v in values):
            return Cell(line, "muted")
        return Cell(line, trend_tone(values, self.meta(metric).higher_is_better))


def _human_frame(result: MetricResult) -> pl.DataFrame:
    """The full frame (with previous and note) in output order."""
    frame = result.frame
    missing = [c for c in ("previous", "note") if c not in frame.columns]
    if missing:
        frame = frame.with_columns(
            pl.lit(None, pl.Float64 if c == "previous" else pl.String).alias(c) for c in missing
        )
    keys: list[Any] = [_period_rank(result), pl.col("period")]
    keys += [pl.col(d) for d in result.dims]
    keys.append(_metric_rank(result))
    return frame.sort(keys, nulls_last=True, maintain_order=True)


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _family_rank(family: str) -> int:
    return FAMILIES.index(family) if family in FAMILIES else FAMILIES.index("custom")


def _metric_order(result: MetricResult, present: list[str]) -> list[str]:
    spec = {m: i for i, m in enumerate(result.metrics)}
    order = {m: i for i, m in enumerate(present)}

    def key(name: str) -> tuple[int, int, int]:
        meta = result.metrics.get(name)
        family = meta.family if meta else "custom"
        return (_family_rank(family), spec.get(name, len(spec)), order[name])

    return sorted(present, key=key)


def _by_family(view: _View) -> Iterable[tuple[str, list[str]]]:
    groups: dict[str, list[str]] = {}
    for name in view.metrics:
        family = view.meta(name).family
        family = family if family in FAMILIES else "custom"
        groups.setdefault(family, []).append(name)
    for family in FAMILIES:
        if family in groups:
            yield family.capitalize(), groups[family]


def _dim_header(dim: str) -> str:
    return dim.replace("_", " ").capitalize()


def _dim_cells(combo: tuple[Any, ...]) -> list[Cell]:
    return [Cell("(none)", "muted") if v is None else Cell(str(v)) for v in combo]


TREND = "Trend"


def _span(periods: list[str]) -> str:
    return periods[0] if len(periods) == 1 else f"{periods[0]} – {periods[-1]}"


def build_blocks(result: MetricResult) -> list[Block]:
    """The tables for people, in the layout described in the module docstring."""
    view = _View(result)
    if not view.points:
        return []
    if view.dims:
        if len(view.periods) == 1:
            return [_breakdown(view)]
        return [_dim_series(view, metric) for metric in view.metrics]
    if len(view.periods) == 1:
        return [_snapshot(view)]
    return [_series(view)]


def _snapshot(view: _View) -> Block:
    period = view.periods[0]
    notes = _Notes()
    block = Block(
        title=period,
        headers=["Metric", "Value", "Previous", "Change"],
        justify=["left", "right", "right", "right"],
    )
    for family, metrics in _by_family(view):
        block.rows.append(family)
        for metric in metrics:
            point = view.points.get((period, (), metric))
            block.rows.append(
                [
                    Cell(view.label(metric)),
                    view.value_cell(point, notes),
                    view.previous_cell(point),
                    view.change_cell(metric, point),
                ]
            )
    block.notes = notes.lines()
    return block


def _series(view: _View) -> Block:
    periods = view.periods
    notes = _Notes()
    block = Block(
        title=_span(periods),
        headers=["Metric", TREND, *periods, "Change"],
        justify=["left", "left"] + ["right"] * (len(periods) + 1),
        period_columns=list(range(2, len(periods) + 2)),
        trend_column=1,
    )
    for family, metrics in _by_family(view):
        block.rows.append(family)
        for metric in metrics:
            points = [view.points.get((p, (), metric)) for p in periods]
            cells = [Cell(view.label(metric)), view.trend_cell(metric, points)]
            cells += [view.value_cell(p, notes) for p in points]
            cells.append(view.change_cell(metric, points[-1]))
            block.rows.append(cells)
    block.notes = notes.lines()
    return block


def _breakdown(view: _View) -> Block:
    period = view.periods[0]
    notes = _Notes()
    headers = [_dim_header(d) for d in view.dims]
    justify = ["left"] * len(view.dims)
    for metric in view.metrics:
        headers += [view.label(metric), "Δ"]
        justify += ["right", "right"]
    block = Block(title=f"{period} by {', '.join(view.dims)}", headers=headers, justify=justify)
    for combo in view.combos:
        cells = _dim_cells(combo)
        for metric in view.metrics:
            point = view.points.get((period, combo, metric))
            cells += [view.value_cell(point, notes), view.change_cell(metric, point)]
        block.rows.append(cells)
    block.notes = notes.lines()
    return block


def _dim_series(view: _View, metric: str) -> Block:
    periods = view.periods
    notes = _Notes()
    first = len(view.dims)
    block = Block(
        title=f"{view.label(metric)} by {', '.join(view.dims)}",
        headers=[*(_dim_header(d) for d in view.dims), TREND, *periods, "Change"],
        justify=["left"] * (first + 1) + ["right"] * (len(periods) + 1),
        period_columns=list(range(first + 1, first + 1 + len(periods))),
        trend_column=first,
    )
    for combo in view.combos:
        points = [view.points.get((p, combo, metric)) for p in periods]
        if all(p is None for p in points):
            continue
        cells = _dim_cells(combo)
        cells.append(view.trend_cell(metric, points))
        cells += [view.value_cell(p, notes) for p in points]
        cells.append(view.change_cell(metric, points[-1]))
        block.rows.append(cells)
    block.notes = notes.lines()
    return block


# --------------------------------------------------------------------------- terminal

_RICH_STYLE = {"good": "green", "bad": "red", "muted": "dim", "strong": "bold", "": ""}


def render_table(result: MetricResult, console: Console) -> None:
    """Print the tables for people on ``console`` (colour, width as it is configured)."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    blocks = build_blocks(result)
    if not blocks:
        console.print(Text("No metric values for the requested period.", style="dim"))
        return
    for index, block in enumerate(blocks):
        block = _fit(block, console.width)
        table = Table(
            title=block.title,
            title_justify="left",
            title_style="bold",
            caption=block.caption or None,
            caption_justify="left",
            caption_style="dim",
            box=box.SIMPLE_HEAD,
            header_style="bold",
        )
        for i, (header, justify) in enumerate(zip(block.headers, block.justify, strict=True)):
            no_wrap = justify == "right" or i == block.trend_column
            table.add_column(header, justify=justify, no_wrap=no_wrap)  # type: ignore[arg-type]
        for row_index, row in enumerate(block.rows):
            if isinstance(row, str):
                if row_index:
                    table.add_section()
                table.add_row(Text(row, style="bold"), *([""] * (len(block.headers) - 1)))
            else:
                table.add_row(*(Text(c.text, style=_RICH_STYLE[c.tone]) for c in row))
        if index:
            console.print()
        console.print(table)
        for note in block.notes:
            console.print(Text(note, style="dim"))


def _fit(block: Block, width: int) -> Block:
    """Keep the latest period columns that fit ``width`` (at least one)."""
    if not block.period_columns:
        return block
    from rich.cells import cell_len

    widths = [cell_len(h) for h in block.headers]
    for row in block.rows:
        if isinstance(row, str):
            widths[0] = max(widths[0], cell_len(row))
            continue
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], cell_len(cell.text))
    periods = set(block.period_columns)
    used = 1 + sum(w + 3 for i, w in enumerate(widths) if i not in periods)
    keep = 0
    for i in reversed(block.period_columns):
        if used + widths[i] + 3 > width and keep:
            break
        used += widths[i] + 3
        keep += 1
    return block.keep_last_periods(keep)


# --------------------------------------------------------------------------- markdown


def _md_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|")


def _markdown(blocks: list[Block]) -> str:
    if not blocks:
        return "_No metric values for the requested period._\n"
    from rich.cells import cell_len

    parts: list[str] = []
    for block in blocks:
        rows: list[list[str]] = []
        for row in block.rows:
            if isinstance(row, str):
                rows.append([f"**{_md_escape(row)}**"] + [""] * (len(block.headers) - 1))
            else:
                rows.append([_md_escape(c.text) for c in row])
        header = [_md_escape(h) for h in block.headers]
        widths = [max(3, cell_len(h)) for h in header]
        for cells in rows:
            widths = [max(w, cell_len(c)) for w, c in zip(widths, cells, strict=True)]

        def line(cells: list[str], justify: list[str], widths: list[int] = widths) -> str:
            padded = [
                " " * (w - cell_len(c)) + c if j == "right" else c + " " * (w - cell_len(c))
                for c, j, w in zip(cells, justify, widths, strict=True)
            ]
            return "| " + " | ".join(padded) + " |"

        rule = [
            "-" * (w - 1) + ":" if j == "right" else "-" * w
            for j, w in zip(block.justify, widths, strict=True)
        ]
        lines = [f"### {_md_escape(block.title)}", "", line(header, block.justify)]
        lines.append("| " + " | ".join(rule) + " |")
        lines += [line(cells, block.justify) for cells in rows]
        if block.notes:
            lines.append("")
            lines += [f"- {_md_escape(n)}" for n in block.notes]
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


# --------------------------------------------------------------------------- html

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem;color:#1f2328}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem}
table{border-collapse:collapse;font-variant-numeric:tabular-nums}
th,td{padding:.3rem .8rem;border-bottom:1px solid #d0d7de;white-space:nowrap}
thead th{border-bottom:2px solid #1f2328;text-align:left}
.r{text-align:right}
tr.family th{text-align:left;background:#f6f8fa;font-weight:600}
.good{color:#1a7f37}.bad{color:#cf222e}.muted{color:#8c959f}.strong{font-weight:600}
ul.notes{color:#57606a;font-size:.9rem;list-style:none;padding-left:0}
p.warning{color:#9a6700}
""".strip()


_RIGHT = ' class="r"'


def _html(blocks: list[Block], result: MetricResult) -> str:
    esc = html.escape
    periods = _period_order(result)
    heading = "Customer-success metrics" + (f" · {_span(periods)}" if periods else "")
    out = [
        "<!doctype html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(heading)}</title>",
        f"<style>\n{_CSS}\n</style>",
        "</head>",
        "<body>",
        f"<h1>{esc(heading)}</h1>",
    ]
    if not blocks:
        out.append('<p class="muted">No metric values for the requested period.</p>')
    for block in blocks:
        out.append("<section>")
        out.append(f"<h2>{esc(block.title)}</h2>")
        out.append("<table>")
        heads = "".join(
            f'<th{_RIGHT if j == "right" else ""} scope="col">{esc(h)}</th>'
            for h, j in zip(block.headers, block.justify, strict=True)
        )
        out.append(f"<thead><tr>{heads}</tr></thead>")
        out.append("<tbody>")
        for row in block.rows:
            if isinstance(row, str):
                out.append(
                    f'<tr class="family"><th colspan="{len(block.headers)}" scope="rowgroup">'
                    f"{esc(row)}</th></tr>"
                )
                continue
            cells = (
                html_td(cell, justify) for cell, justify in zip(row, block.justify, strict=True)
            )
            out.append(f"<tr>{''.join(cells)}</tr>")
        out.append("</tbody>")
        out.append("</table>")
        if block.notes:
            items = "".join(f"<li>{esc(n)}</li>" for n in block.notes)
            out.append(f'<ul class="notes">{items}</ul>')
        out.append("</section>")
    out += [f'<p class="warning">{esc(w)}</p>' for w in result.warnings]
    out += ["</body>", "</html>"]
    return "\n".join(out) + "\n"


def html_td(cell: Cell, justify: str) -> str:
    """One table cell as HTML: right-aligned numbers, the cell's tone as a class."""
    classes = " ".join(c for c in ("r" if justify == "right" else "", cell.tone) if c)
    attr = f' class="{classes}"' if classes else ""
    return f"<td{attr}>{html.escape(cell.text)}</td>"


# --------------------------------------------------------------------------- xlsx


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
    ``freeze`` columns stay in view with the header; ``conditional_formats`` go to polars as is.
    """

    name: str
    frame: pl.DataFrame
    units: dict[str, str] = field(default_factory=dict)
    row_units: dict[str, str] = field(default_factory=dict)
    freeze: int = 0
    conditional_formats: dict[Any, Any] = field(default_factory=dict)


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
    import polars.selectors as cs
    from xlsxwriter.utility import xl_col_to_name, xl_pixel_width

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
    for column, unit_column in sheet.row_units.items():
        # one number format per column in Excel: "General", then one conditional format per
        # unit, chosen by a formula on the row's unit cell (relative to the first data row)
        ref = f"${xl_col_to_name(frame.get_column_index(unit_column))}2"
        formats[column] = "General"
        conditional[column] = [
            {
                "type": "formula",
                "criteria": f'={ref}="{unit.replace(chr(34), chr(34) * 2)}"',
                "format": {"num_format": xlsx_number_format(unit, currency)},
            }
            for unit in frame[unit_column].drop_nulls().unique(maintain_order=True).to_list()
            if unit
        ]
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
    worksheet.autofit(max_width=XLSX_MAX_WIDTH)
    # autofit measures a number as str(number), not as its format shows it ("$11,800.00"):
    # size numeric columns for the largest magnitude with separators, 2 decimals and a
    # symbol, so Excel never shows "####"
    for column in frame.select(cs.numeric()).columns:
        if (big := frame[column].abs().max()) is not None:
            j = frame.get_column_index(column)
            shown = xl_pixel_width(f"{big:,.2f}") + 28
            worksheet.set_column_pixels(j, j, max(xl_pixel_width(column) + 16, shown) + 7)


def _write_xlsx(result: MetricResult, tmp: Path) -> None:
    long = machine_frame(result)
    wide = machine_frame(result, wide=True)
    units = dict(
        long.select("metric", "unit")
        .unique(subset="metric", keep="first", maintain_order=True)
        .iter_rows()
    )
    for name, meta in result.metrics.items():
        units.setdefault(name, meta.unit)
    keys = 1 + len(result.dims)
    write_sheets(
        tmp,
        [
            Sheet(
                "metrics",
                wide,
                units={c: units.get(c, "") for c in wide.columns[keys:]},
                freeze=keys,
            ),
            Sheet("long", long, row_units={"value": "unit"}, freeze=keys),
        ],
        result.currency,
    )


# --------------------------------------------------------------------------- plain frames


def finite(frame: pl.DataFrame) -> pl.DataFrame:
    """NaN and inf in float columns as null (machine formats have no NaN)."""
    floats = [c for c, t in frame.schema.items() if t.is_float()]
    return frame.with_columns(
        pl.when(pl.col(c).is_finite()).then(pl.col(c)).otherwise(None).alias(c) for c in floats
    )


def jsonable(v: Any) -> Any:
    """A cell as JSON: non-finite floats as null, dates and times as ISO text."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return v


def frame_text(
    frame: pl.DataFrame, kind: str, *, what: str = "csm", md_float: str | None = None
) -> str:
    """A plain record frame (csm health, alerts, cohorts) as csv / tsv / json / ndjson /
    markdown text; ``md_float`` formats floats in markdown (e.g. ".2f")."""
    frame = finite(frame)
    if kind in ("csv", "tsv"):
        return frame.write_csv(separator="," if kind == "csv" else "\t")
    rows = [{k: jsonable(v) for k, v in r.items()} for r in frame.iter_rows(named=True)]
    if kind == "json":
        return json.dumps(rows, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    if kind == "ndjson":
        return "".join(
            json.dumps(r, ensure_ascii=False, allow_nan=False, separators=(",", ":")) + "\n"
            for r in rows
        )
    if kind == "markdown":

        def cell(v: Any) -> str:
            if v is None:
                return ""
            if md_float and isinstance(v, float):
                return format(v, md_float)
            return str(v).replace("|", "\\|")

        head = "| " + " | ".join(frame.columns) + " |\n" + "|" + "---|" * frame.width + "\n"
        return head + "".join("| " + " | ".join(cell(v) for v in r.values()) + " |\n" for r in rows)
    raise UsageError(
        f"{what} cannot write {kind}; use csv, tsv, json, ndjson, markdown, parquet, html or xlsx"
    )


def write_frame(
    frame: pl.DataFrame, path: Path, kind: str, title: str = "csm", md_float: str | None = None
) -> None:
    """Write a plain record frame (csm health, alerts, cohorts) in any format, atomically."""
    frame = finite(frame)
    if kind == "parquet":
        atomic_write(path, lambda tmp: frame.write_parquet(tmp))
    elif kind == "xlsx":
        atomic_write(path, lambda tmp: _frame_xlsx(frame, tmp, title))
    elif kind == "html":
        atomic_write_text(path, _frame_html(frame, title))
    else:
        atomic_write_text(path, frame_text(frame, kind, what=title, md_float=md_float))


def emit_frame(
    out: Any,
    frame: pl.DataFrame,
    kind: str,
    output: str | None,
    table: Any,
    *,
    title: str,
    warnings: Iterable[str] = (),
    md_float: str | None = None,
) -> None:
    """Warnings to stderr, then the frame to ``-o`` FILE, as a table (``table(console)``) or
    as text on stdout: the output step of the commands that print plain record frames."""
    for w in warnings:
        out.warn(w)
    if output and output != "-":
        write_frame(frame, Path(output), kind, title=title, md_float=md_float)
        out.info(f"wrote {output}")
    elif kind == "table":
        table(out.out)
    else:
        out.data(frame_text(frame, kind, what=title, md_float=md_float))


def _frame_html(frame: pl.DataFrame, title: str) -> str:
    esc = html.escape
    head = "".join(f'<th scope="col">{esc(c)}</th>' for c in frame.columns)
    body = []
    for row in frame.iter_rows():
        cells = []
        for v in row:
            if isinstance(v, float):
                cells.append(f'<td class="r">{"" if not math.isfinite(v) else f"{v:,.2f}"}</td>')
            else:
                cells.append(f"<td>{'' if v is None else esc(str(v))}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    return (
        "\n".join(
            [
                "<!doctype html>",
                '<html lang="en">',
                "<head>",
                '<meta charset="utf-8">',
                f"<title>{esc(title)}</title>",
                f"<style>\n{_CSS}\n</style>",
                "</head>",
                "<body>",
                f"<h1>{esc(title)}</h1>",
                "<table>",
                f"<thead><tr>{head}</tr></thead>",
                "<tbody>",
                *body,
                "</tbody>",
                "</table>",
                "</body>",
                "</html>",
            ]
        )
        + "\n"
    )


def _frame_xlsx(frame: pl.DataFrame, tmp: Path, title: str) -> None:
    write_sheets(tmp, [Sheet(title, frame)])
