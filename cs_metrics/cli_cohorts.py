"""``csm cohorts``: logo and revenue retention triangles by start cohort.

Registered on the shared Typer app when imported (``cs_metrics.cli`` imports this module).
The computation and its definitions are in :mod:`cs_metrics.cohorts`.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cs_metrics.cli import (
    AsOfOpt,
    ColorOpt,
    DebugOpt,
    EngineOpt,
    FormatOpt,
    OutputOpt,
    QuietOpt,
    SpecOpt,
    _guarded,
    app,
)
from cs_metrics.errors import UsageError
from cs_metrics.output import Output

if TYPE_CHECKING:
    import polars as pl
    from rich.console import Console

    from cs_metrics.cohorts import Cohorts

BASES = ("logo", "revenue")
SHOWS = ("percent", "count")
AVERAGE_LABEL = "weighted avg"  # the "all" row in tables for people (--show percent)
TOTAL_LABEL = "all cohorts"  # ... and with --show count, where it holds sums
GRAIN_WORD = {"month": "monthly", "quarter": "quarterly"}


@app.command("cohorts")
@_guarded
def cohorts(
    spec: SpecOpt = None,
    grain: Annotated[
        str | None,
        typer.Option(
            "--grain",
            metavar="GRAIN",
            help="month | quarter: the length of a cohort and of an age step "
            "(default: the spec's grain)",
            show_default=False,
        ),
    ] = None,
    from_: Annotated[
        str | None,
        typer.Option(
            "--from",
            metavar="COHORT",
            help="first cohort, e.g. 2026-01 or 2026-Q1 (default: 11 periods before --to)",
            show_default=False,
        ),
    ] = None,
    to: Annotated[
        str | None,
        typer.Option(
            "--to",
            metavar="COHORT",
            help="last cohort (default: the last complete period)",
            show_default=False,
        ),
    ] = None,
    as_of: AsOfOpt = None,
    basis: Annotated[
        str,
        typer.Option(
            "--basis",
            metavar="BASIS",
            help="logo (customers) | revenue (MRR): what the table shows; "
            "machine formats always have both",
        ),
    ] = "logo",
    show: Annotated[
        str,
        typer.Option(
            "--show",
            metavar="WHAT",
            help="percent (of the cohort's start) | count (customers or MRR): table cells",
        ),
    ] = "percent",
    engine: EngineOpt = "polars",
    fmt: FormatOpt = "auto",
    output: OutputOpt = None,
    quiet: QuietOpt = False,
    color: ColorOpt = None,
    debug: DebugOpt = False,
    *,
    out: Output,
) -> None:
    """Logo and revenue retention triangles by start cohort.

    An account's cohort is the month (or quarter) of its first day of positive MRR; for each
    age (periods since), the share of the cohort's accounts still paying at the end of that
    period (logo retention) and their MRR as a share of the cohort's starting MRR (revenue
    retention). The last row is the average over cohorts weighted by their size. Machine
    formats have one record per cohort and age (cohort "all" is the weighted average).

    Example: csm cohorts --grain quarter --from 2025-Q1 --basis revenue
    """
    from cs_metrics import render
    from cs_metrics.cohorts import compute_cohorts
    from cs_metrics.spec import load_spec

    if basis not in BASES:
        raise UsageError(f"--basis {basis!r}: use one of {', '.join(BASES)}")
    if show not in SHOWS:
        raise UsageError(f"--show {show!r}: use one of {', '.join(SHOWS)}")
    kind = render.format_for_output(output, fmt, out.stdout_is_terminal)
    loaded = load_spec(spec)
    result = compute_cohorts(loaded, grain=grain, start=from_, end=to, as_of=as_of, engine=engine)
    for w in result.warnings:
        out.warn(w)
    if output and output != "-":
        write_cohorts(result, Path(output), kind)
        out.info(f"wrote {output}")
    elif kind == "table":
        render_triangle(result, basis, show, out.out)
    else:
        out.data(render.frame_text(result.frame, kind, what="csm cohorts"))


# ------------------------------------------------------------------------ machine output
def write_cohorts(result: Cohorts, path: Path, kind: str) -> None:
    """Write the records to ``path`` atomically in the format ``kind``."""
    from cs_metrics.atomic import atomic_write
    from cs_metrics.render import write_frame

    if kind == "xlsx":  # the records plus a triangle sheet per basis
        atomic_write(path, lambda tmp: _write_xlsx(result, tmp))
    else:
        write_frame(result.frame, path, kind, title="csm cohorts")


def triangle(frame: pl.DataFrame, value: str) -> pl.DataFrame:
    """One row per cohort ("all" last), one column per age ("0", "1" ...) holding ``value``."""
    import polars as pl

    order = frame.select("cohort").unique(maintain_order=True)
    wide = frame.pivot(on="age", index="cohort", values=value, sort_columns=True)
    ages = sorted((c for c in wide.columns if c != "cohort"), key=int)
    return order.join(wide, on="cohort", how="left", maintain_order="left").select(
        "cohort", *[pl.col(a) for a in ages]
    )


def _sizes(frame: pl.DataFrame) -> pl.DataFrame:
    """cohort -> customers_start, mrr_start (the age-0 row, in frame order)."""
    import polars as pl

    return frame.filter(pl.col("age") == 0).select("cohort", "customers_start", "mrr_start")


def _write_xlsx(result: Cohorts, tmp: Path) -> None:
    """Sheet "cohorts": the records with number formats; then one triangle per basis with a
    colour scale (lowest red, highest green)."""
    import polars as pl

    from cs_metrics.render import Sheet, write_sheets

    frame = result.frame
    units = {
        "age": "count",
        "customers_start": "count",
        "customers": "count",
        "logo_retention": "ratio",
        "mrr_start": "currency",
        "mrr": "currency",
        "revenue_retention": "ratio",
    }
    sheets = [Sheet("cohorts", frame, units=units)]
    sizes = _sizes(frame)
    for title, value, size in (
        ("logo retention", "logo_retention", "customers_start"),
        ("revenue retention", "revenue_retention", "mrr_start"),
    ):
        tri = triangle(frame, value).join(
            sizes.select("cohort", size), on="cohort", how="left", maintain_order="left"
        )
        ages = [f"age {c}" for c in tri.columns if c not in ("cohort", size)]
        tri = tri.select("cohort", size, *[pl.col(a[4:]).alias(a) for a in ages])
        scale = {
            "type": "3_color_scale",
            "min_color": "#F8696B",
            "mid_color": "#FFEB84",
            "max_color": "#63BE7B",
        }
        sheets.append(
            Sheet(
                title,
                tri,
                units={size: units[size]} | dict.fromkeys(ages, "ratio"),
                freeze=2,
                conditional_formats={tuple(ages): scale} if ages and tri.height else {},
            )
        )
    write_sheets(tmp, sheets, result.currency)


# ------------------------------------------------------------------------ table for people
LIGHT = (247, 251, 255)  # the lowest value shown
DARK = (8, 81, 156)  # the highest value shown
# terminals with 8/16 colours: four steps from light to dark (a blend would not be monotone)
STEPS = ("black on bright_white", "black on white", "black on bright_cyan", "white on blue")


def heat_style(share: float, color_system: str | None = "truecolor") -> str:
    """A background from light (share 0) to dark blue (share 1), with readable text."""
    from rich.color import Color, ColorSystem

    s = min(max(share, 0.0), 1.0)
    if color_system in ("standard", "windows"):
        return STEPS[min(int(s * len(STEPS)), len(STEPS) - 1)]
    r, g, b = (round(lo + (hi - lo) * s) for lo, hi in zip(LIGHT, DARK, strict=True))
    bg = Color.from_rgb(r, g, b)
    if color_system == "256":
        bg = bg.downgrade(ColorSystem.EIGHT_BIT)
    t = bg.get_truecolor()
    light = 0.299 * t.red + 0.587 * t.green + 0.114 * t.blue > 140
    return f"{'black' if light else 'white'} on #{r:02x}{g:02x}{b:02x}"


def compact_money(value: float | None, currency: str) -> str:
    """$41.4k, $1.2M: currency short enough for a narrow triangle."""
    from cs_metrics.render import CURRENCY_SYMBOLS, format_value

    if value is None or not math.isfinite(value) or abs(value) < 1000:
        return format_value(value, currency, currency)
    symbol = CURRENCY_SYMBOLS.get(currency, "")
    for div, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= div:
            text = f"{abs(value) / div:.1f}{suffix}"
            break
    sign = "-" if value < 0 else ""
    return f"{sign}{symbol}{text}" if symbol else f"{sign}{text} {currency}"


def render_triangle(result: Cohorts, basis: str, show: str, console: Console) -> None:
    """The triangle: a row per cohort with its size, a column per age, shaded by retention.

    Shading runs from the lowest value of the cohort rows (light) to the highest (dark).
    When the terminal is too narrow, currency is shortened ($41.4k), then the oldest ages
    are left out with a note.
    """
    import polars as pl
    from rich import box
    from rich.padding import Padding
    from rich.table import Table
    from rich.text import Text

    from cs_metrics.cohorts import ALL
    from cs_metrics.render import format_value

    frame = result.frame
    unit, currency = result.grain, result.currency
    if basis == "logo":
        ratio_col, count_col, size_col, size_head = (
            "logo_retention",
            "customers",
            "customers_start",
            "customers",
        )
        what = (
            "% of each cohort's customers still paying"
            if show == "percent"
            else "customers still paying"
        )
    else:
        ratio_col, count_col, size_col, size_head = (
            "revenue_retention",
            "mrr",
            "mrr_start",
            "start MRR",
        )
        what = (
            "MRR as % of each cohort's starting MRR" if show == "percent" else f"MRR in {currency}"
        )
    title = (
        f"{basis.capitalize()} retention by {GRAIN_WORD[unit]} cohort: {what}, "
        f"data as of {result.data_end.isoformat()}"
    )
    if frame.height == 0:
        console.print(title)
        console.print("no cohorts")
        return

    ratios = triangle(frame, ratio_col)
    counts = triangle(frame, count_col)
    sizes = dict(zip(*_sizes(frame).select("cohort", size_col).get_columns(), strict=True))
    ages = [c for c in ratios.columns if c != "cohort"]
    all_label = AVERAGE_LABEL if show == "percent" else TOTAL_LABEL
    labels = [all_label if c == ALL else c for c in ratios["cohort"]]
    shown = ratios.filter(pl.col("cohort") != ALL).select(ages)
    seen = [v for col in shown.get_columns() for v in col.to_list() if v is not None]
    lo, hi = (min(seen), max(seen)) if seen else (0.0, 1.0)

    def texts(money: Any) -> tuple[list[str], list[list[str | None]]]:
        size_texts = [
            (f"{sizes.get(c):,}" if sizes.get(c) is not None else "—")
            if basis == "logo"
            else money(sizes.get(c), currency)
            for c in ratios["cohort"]
        ]
        cells: list[list[str | None]] = []
        for rr, cr in zip(ratios.iter_rows(named=True), counts.iter_rows(named=True), strict=True):
            row: list[str | None] = []
            for a in ages:
                if cr[a] is None:  # not reached yet: outside the triangle
                    row.append(None)
                elif show == "percent":
                    row.append("—" if rr[a] is None else f"{rr[a] * 100:.1f}%")
                else:
                    row.append(f"{cr[a]:,}" if basis == "logo" else money(cr[a], currency))
            cells.append(row)
        return size_texts, cells

    def widths(size_texts: list[str], cells: list[list[str | None]]) -> tuple[int, int, int]:
        first = max(len(t) for t in [*labels, "cohort"])
        size = max(len(t) for t in [*size_texts, size_head])
        cell = max(len(t or "") for t in [*ages, *(t for row in cells for t in row)])
        return first, size, cell

    def needed(first: int, size: int, cell: int, n: int) -> int:
        return first + size + n * cell + n + 1  # one space between columns

    size_texts, cells = texts(format_value)
    first_w, size_w, cell_w = widths(size_texts, cells)
    n, pad = len(ages), 1
    avail = console.width
    if needed(first_w, size_w, cell_w + 1, n) > avail:
        pad = 0
        if basis == "revenue" and (show == "count" or needed(first_w, size_w, cell_w, n) > avail):
            size_texts, cells = texts(compact_money)
            first_w, size_w, cell_w = widths(size_texts, cells)
        while n > 1 and needed(first_w, size_w, cell_w, n) > avail:
            n -= 1
    cell_w += pad

    table = Table(
        title=title,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        padding=(0, 0),
        pad_edge=False,
        show_edge=False,
        collapse_padding=True,
    )
    table.add_column("cohort", no_wrap=True, width=first_w)
    table.add_column(size_head, no_wrap=True, justify="right", width=size_w)
    for a in ages[:n]:
        table.add_column(a, no_wrap=True, justify="right", width=cell_w)
    system = console.color_system
    for label, cohort, size_text, row, rr in zip(
        labels, ratios["cohort"], size_texts, cells, ratios.iter_rows(named=True), strict=True
    ):
        rendered: list[Any] = []
        for a, text in zip(ages[:n], row[:n], strict=True):
            ratio = rr[a]
            if text is None or ratio is None:
                rendered.append(text or "")
                continue
            share = 0.5 if hi - lo < 1e-12 else (ratio - lo) / (hi - lo)
            style = heat_style(share, system)
            rendered.append(Padding(Text(text, justify="right"), (0, 0), style=style, expand=True))
        if cohort == ALL:
            table.add_section()
        table.add_row(Text(label, style="bold" if cohort == ALL else ""), size_text, *rendered)
    caption = (
        f"age = {unit}s since the cohort {unit} (0 = the cohort {unit}), at each {unit}'s end; "
        + (
            f"{AVERAGE_LABEL} = over the cohorts that reached that age, weighted by size"
            if show == "percent"
            else f"{TOTAL_LABEL} = the sum over the cohorts that reached that age"
        )
        + f"; darker = higher {basis} retention"
    )
    if n < len(ages):
        caption += (
            f". Ages {ages[n]}-{ages[-1]} not shown: the terminal is too narrow (widen it, "
            "pass a later --from, or use --format csv)"
        )
    table.caption = caption
    table.caption_justify = "left"
    console.print(table)
