"""The tables for people, as :class:`Block` values any backend (terminal, markdown, html)
can draw. The layout depends on the shape of the result (see :mod:`cs_metrics.render`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from cs_metrics.metrics.registry import FAMILIES
from cs_metrics.render.numbers import (
    NULL,
    finite_value,
    format_change,
    format_value,
    sparkline,
    trend_tone,
)
from cs_metrics.render.order import period_order, row_keys
from cs_metrics.result import MetricMeta, MetricResult

_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


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
        # the dimensions, with name and owner beside account (when the spec has them)
        self.keys = [
            k for k in result.keys if k not in result.labels or frame[k].drop_nulls().len()
        ]
        self.periods = period_order(result)
        self.points: dict[tuple[str, tuple[Any, ...], str], _Point] = {}
        self.combos: list[tuple[Any, ...]] = []
        seen_combos: set[tuple[Any, ...]] = set()
        units: dict[str, str] = {}
        for row in frame.iter_rows(named=True):
            combo = tuple(row[d] for d in self.keys)
            if combo not in seen_combos:
                seen_combos.add(combo)
                self.combos.append(combo)
            unit = row["unit"] or self.meta(row["metric"]).unit
            units.setdefault(row["metric"], unit)
            self.points[(row["period"], combo, row["metric"])] = _Point(
                finite_value(row["value"]), finite_value(row["previous"]), unit, row["note"]
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
    return row_keys(result, frame)


def _family_rank(family: str) -> int:
    return FAMILIES.index(family) if family in FAMILIES else FAMILIES.index("custom")


def _metric_order(result: MetricResult, present: list[str]) -> list[str]:
    spec = {m: i for i, m in enumerate(result.metrics)}
    if result.as_asked:  # named on the command line: in that order
        return sorted(present, key=lambda name: (spec.get(name, len(spec)), present.index(name)))
    order = {m: i for i, m in enumerate(present)}

    def key(name: str) -> tuple[int, int, int]:
        meta = result.metrics.get(name)
        family = meta.family if meta else "custom"
        return (_family_rank(family), spec.get(name, len(spec)), order[name])

    return sorted(present, key=key)


def _by_family(view: _View) -> Iterable[tuple[str | None, list[str]]]:
    """The metrics under their family headings; metrics named on the command line in
    the order asked, without headings (None)."""
    if view.result.as_asked:
        yield None, view.metrics
        return
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


def span(periods: list[str]) -> str:
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
        if family:
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
        title=span(periods),
        headers=["Metric", TREND, *periods, "Change"],
        justify=["left", "left"] + ["right"] * (len(periods) + 1),
        period_columns=list(range(2, len(periods) + 2)),
        trend_column=1,
    )
    for family, metrics in _by_family(view):
        if family:
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
    headers = [_dim_header(d) for d in view.keys]
    justify = ["left"] * len(view.keys)
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
    first = len(view.keys)
    block = Block(
        title=f"{view.label(metric)} by {', '.join(view.dims)}",
        headers=[*(_dim_header(d) for d in view.keys), TREND, *periods, "Change"],
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
