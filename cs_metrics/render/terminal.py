"""The tables for people on a terminal, with Rich: colour and width as the console has them.

Every command's: `csm compute`'s metric tables (:func:`render_table`), then one function per
view of the other commands, each taking what the command got from :mod:`cs_metrics.api`
and a Console: the health listing and its backtest, the alert hits, the cohort triangle,
a metric's explanation and the metric catalogue.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import polars as pl
from rich import box
from rich.cells import cell_len
from rich.color import Color, ColorSystem
from rich.markup import escape
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from cs_metrics.cohorts import ALL, cohort_sizes, triangle
from cs_metrics.health import band_order
from cs_metrics.render.layout import Block, build_blocks
from cs_metrics.render.numbers import CURRENCY_SYMBOLS, NULL, format_value
from cs_metrics.result import MetricResult

if TYPE_CHECKING:
    from rich.console import Console

    from cs_metrics.api import HealthScores
    from cs_metrics.cohorts import Cohorts
    from cs_metrics.spec.models import Health

_RICH_STYLE = {"good": "green", "bad": "red", "muted": "dim", "strong": "bold", "": ""}


def render_table(result: MetricResult, console: Console) -> None:
    """Print the tables for people on ``console`` (colour, width as it is configured)."""
    blocks = build_blocks(result)
    if not blocks:
        console.print(Text("No metric values for the requested period.", style="dim"))
        return
    plain = console.no_color or console.color_system is None
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
                table.add_row(*(_toned(c.text, c.tone, plain) for c in row))
        if index:
            console.print()
        console.print(table)
        for note in block.notes:
            console.print(Text(note, style="dim"))


# without colour (NO_COLOR, --no-color, a pipe) good and bad still show: a mark after the cell
MARKS = {"good": " ✓", "bad": " ✗"}


def _toned(text: str, tone: str, plain: bool) -> Text:
    """A cell in its tone's colour; without colour, good and bad changes get ✓ / ✗."""
    if plain and tone in MARKS and text:
        text += MARKS[tone]
    return Text(text, style=_RICH_STYLE[tone])


def _fit(block: Block, width: int) -> Block:
    """Keep the latest period columns that fit ``width`` (at least one)."""
    if not block.period_columns:
        return block

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


def _styled(text: str, style: str) -> str:
    return f"[{style}]{text}[/{style}]"


def _caption(table: Table, text: str) -> None:
    table.caption = text
    table.caption_justify = "left"


# ------------------------------------------------------------------------------ health
def band_styles(hb: Health) -> dict[str, str]:
    """The worst band red, the best green, the ones between yellow."""
    order = band_order(hb)
    return {
        name: "red" if i == 0 else ("green" if i == len(order) - 1 else "yellow")
        for i, name in enumerate(order)
    }


def _band_cell(band: str | None, styles: dict[str, str]) -> str:
    return _styled(band, styles[band]) if band else NULL


def _num(v: float | None, digits: int = 1) -> str:
    return NULL if v is None or not math.isfinite(v) else f"{v:,.{digits}f}"


def _change(change: float | None) -> str:
    """+1.5 green with an up arrow, -1.5 red with a down arrow, 0.0 within 0.05."""
    if change is None:
        return NULL
    if change > 0.05:
        return _styled(f"▲ +{abs(change):.1f}", "green")
    if change < -0.05:
        return _styled(f"▼ -{abs(change):.1f}", "red")
    return "0.0"


def health_table(scores: HealthScores, console: Console) -> None:
    """One row per account (score, band, change, weakest components, MRR, coverage), with
    accounts and MRR per band (before --band/--top) as the caption."""
    frame, dims, currency = scores.frame, scores.dims, scores.currency
    styles = band_styles(scores.settings)
    table = Table(title=f"Health {scores.period}", title_justify="left")
    table.add_column("account", no_wrap=True, min_width=8)
    people = people_columns(frame)
    for c in people:
        table.add_column(c, overflow="fold")
    shown_dims = [*dims, *(["segment"] if "segment" in frame.columns else [])]
    for d in shown_dims:
        table.add_column(d)
    table.add_column("score", justify="right")
    table.add_column("band")
    table.add_column("change", justify="right")
    table.add_column("weakest")
    table.add_column("MRR", justify="right")
    table.add_column("coverage", justify="right")
    for r in frame.iter_rows(named=True):
        table.add_row(
            escape(r["account"]),
            *[escape(str(r[c])) if r[c] is not None else NULL for c in people],
            *[escape(str(r[d])) if r[d] is not None else NULL for d in shown_dims],
            _num(r["score"]),
            _band_cell(r["band"], styles),
            _change(r["score_change"]),
            r["weakest"] or "",
            format_value(r["mrr"], currency, currency),
            _num(None if r["coverage"] is None else r["coverage"] * 100, 0) + " %",
        )
    parts = []
    for r in scores.summary.iter_rows(named=True):
        name = r["band"]
        shown = _styled(name, styles[name]) if name else "no score"
        mrr = f" ({format_value(r['mrr'], currency, currency)})" if scores.has_mrr else ""
        parts.append(f"{shown} {r['accounts']:,}{mrr}")
    scored = f"{scores.population}; " if scores.population else ""
    by_band = "accounts (MRR) by band: " if scores.has_mrr else "accounts by band: "
    _caption(table, scored + by_band + " · ".join(parts))
    console.print(table)
    if frame.height == 0:
        console.print("no accounts match")


def backtest_table(frame: pl.DataFrame, hb: Health, console: Console) -> None:
    """Per period and band: accounts, how many churned, the rate and its lift."""
    styles = band_styles(hb)
    table = Table(title="Health backtest: churn within the horizon", title_justify="left")
    for col, just in (
        ("period", "left"),
        ("band", "left"),
        ("accounts", "right"),
        ("churned", "right"),
        ("churn rate", "right"),
        ("lift vs top band", "right"),
    ):
        table.add_column(col, justify=just)  # type: ignore[arg-type]
    for r in frame.iter_rows(named=True):
        rate = r["churn_rate"]
        table.add_row(
            r["period"],
            _band_cell(r["band"], styles),
            f"{r['accounts']:,}",
            f"{r['churned']:,}",
            NULL if rate is None else f"{rate * 100:.1f} %",
            NULL if r["lift"] is None else f"{r['lift']:.2f}x",
        )
    console.print(table)


# ------------------------------------------------------------------------------ alerts
SEVERITY_STYLE = {"low": "dim", "medium": "yellow", "high": "red", "critical": "bold red"}
ALERT_FIXED = {"period", "account", "name", "owner", "alert", "severity", "action"}


def alert_value(v: Any, unit: str = "", currency: str = "USD") -> str:
    """A value a condition used, as the report shows it ($1,200, -46.2 %, 38.8; other
    numbers to 4 significant digits)."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return NULL
    if isinstance(v, float | int) and not isinstance(v, bool):
        return format_value(float(v), unit, currency) if unit else f"{v:,.4g}"
    return str(v)


def people_columns(frame: pl.DataFrame) -> list[str]:
    """name and owner, when the frame has them and any row has a value."""
    return [c for c in ("name", "owner") if c in frame.columns and frame[c].drop_nulls().len()]


def alerts_table(
    frame: pl.DataFrame,
    period: str,
    console: Console,
    units: dict[str, str] | None = None,
    currency: str = "USD",
) -> None:
    """One table per playbook: its severity and action once in the title, then a row per
    hit with the account, its name and owner, and the values the condition used."""
    units = units or {}
    people = people_columns(frame)
    for index, (alert,) in enumerate(frame.select("alert").unique(maintain_order=True).rows()):
        hits = frame.filter(pl.col("alert") == alert)
        first = hits.row(0, named=True)
        sev = first["severity"]
        values = [c for c in hits.columns if c not in ALERT_FIXED and hits[c].drop_nulls().len()]
        n = hits.height
        heading = (
            f"[bold]{escape(alert)}[/bold] · [{SEVERITY_STYLE.get(sev, '')}]{sev}[/] · "
            f"{n} account{'s' if n != 1 else ''} in {escape(period)}"
        )
        if first["action"]:
            heading += f" — {escape(first['action'])}"
        table = Table()
        table.add_column("account", no_wrap=True)
        for c in people:
            table.add_column(c, overflow="fold")
        for c in values:
            numeric = hits.schema[c].is_numeric()
            table.add_column(c, justify="right" if numeric else "left", no_wrap=numeric)
        for r in hits.iter_rows(named=True):
            table.add_row(
                escape(str(r["account"])),
                *[escape(str(r[c])) if r[c] is not None else NULL for c in people],
                *[escape(alert_value(r[c], units.get(c, ""), currency)) for c in values],
            )
        if index:
            console.print()
        console.print(heading)
        console.print(table)


# ----------------------------------------------------------------------------- cohorts
AVERAGE_LABEL = "weighted avg"  # the "all" row in tables for people (--show percent)
TOTAL_LABEL = "all cohorts"  # ... and with --show count, where it holds sums
GRAIN_WORD = {"month": "monthly", "quarter": "quarterly"}
LIGHT = (247, 251, 255)  # the lowest value shown
DARK = (8, 81, 156)  # the highest value shown
# terminals with 8/16 colours: four steps from light to dark (a blend would not be monotone)
STEPS = ("black on bright_white", "black on white", "black on bright_cyan", "white on blue")


def heat_style(share: float, color_system: str | None = "truecolor") -> str:
    """A background from light (share 0) to dark blue (share 1), with readable text."""
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
    sizes = dict(zip(*cohort_sizes(frame).select("cohort", size_col).get_columns(), strict=True))
    ages = [c for c in ratios.columns if c != "cohort"]
    all_label = AVERAGE_LABEL if show == "percent" else TOTAL_LABEL
    labels = [all_label if c == ALL else c for c in ratios["cohort"]]
    shown = ratios.filter(pl.col("cohort") != ALL).select(ages)
    seen = [v for col in shown.get_columns() for v in col.to_list() if v is not None]
    lo, hi = (min(seen), max(seen)) if seen else (0.0, 1.0)

    def texts(money: Any) -> tuple[list[str], list[list[str | None]]]:
        size_texts = [
            (f"{sizes.get(c):,}" if sizes.get(c) is not None else NULL)
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
                    row.append(NULL if rr[a] is None else f"{rr[a] * 100:.1f}%")
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
    _caption(table, caption)
    console.print(table)


# ----------------------------------------------------------------------------- explain
def render_explain(facts: dict[str, Any], console: Console) -> None:
    """The facts for people: definition, value with the previous one, inputs, arithmetic."""
    p = console.print
    e = escape
    title = facts["metric"]
    if facts.get("label") and facts["label"] != title:
        title += f" ({facts['label']})"
    p(f"[bold]{e(title)}[/bold]  {e(facts['type'])} · unit {e(facts['unit'])}")
    if facts.get("description"):
        p(f"  {e(str(facts['description']))}")
    p(f"  formula: {e(facts['formula'])}")
    if facts.get("filter"):
        p(f"  filter:  {e(facts['filter'])}")
    opts = {k: v for k, v in (facts.get("options") or {}).items() if k != "filter"}
    if opts:
        p(f"  options: {e(', '.join(f'{k}={v}' for k, v in opts.items()))}")
    for s in facts.get("sources") or []:
        where = ", ".join(s["files"]) if s["files"] else "not configured"
        p(f"  reads:   {e(s['role'])} ({e(where)})")
    policy = facts.get("policy") or {}
    if policy.get("options"):  # only the definition options that can change this metric
        own = set(policy.get("from_definitions") or ())
        shown = ", ".join(
            f"{k}={'null' if v is None else v}" + (" (definitions:)" if k in own else "")
            for k, v in policy["options"].items()
        )
        p(f"  policy:  {e(policy['name'])}: {e(shown)}")
    p("")
    unit = facts["unit"]
    if facts["by"]:
        table = Table(title=f"{facts['metric']} in {facts['period']}", title_justify="left")
        keys = list(facts["by"])
        if facts.get("labels") and "account" in keys:
            at = keys.index("account") + 1
            keys[at:at] = [c for c in facts["labels"] if any(r.get(c) for r in facts["rows"])]
        for d in keys:
            table.add_column(d)
        for col in ("value", f"previous ({facts['previous_period']})", "how"):
            table.add_column(col, overflow="fold")
        for r in facts["rows"]:
            how = r.get("arithmetic") or r.get("note") or ""
            table.add_row(
                *[NULL if r[d] is None else e(str(r[d])) for d in keys],
                r["display"],
                format_value(r["previous"], unit, facts["currency"]),
                e(how),
            )
        p(table)
        return
    previous = format_value(facts.get("previous"), unit, facts["currency"])
    p(
        f"  {e(facts['period'])}: [bold]{e(facts.get('display', NULL))}[/bold]   "
        f"(previous {e(facts['previous_period'])}: {e(previous)})"
    )
    if facts.get("value") is None and facts.get("note"):
        p(f"  null because: {e(facts['note'])}")
    if facts.get("inputs"):
        p("  inputs:")
        for i in facts["inputs"]:
            p(f"    {e(i['label'])} ({e(i['metric'])}, {e(i['period'])}): {e(i['display'])}")
    if facts.get("arithmetic"):
        p(f"  [bold]{e(facts['arithmetic'])}[/bold]")


# --------------------------------------------------------------------------- catalogue
BUILT_IN_COLUMNS = ("metric", "family", "unit", "sources", "formula")
SPEC_COLUMNS = ("metric", "type", "unit", "formula", "options")


def catalogue_tables(frame: pl.DataFrame, console: Console) -> None:
    """One table of the built-in metric types, then one per spec that defines metrics."""
    for origin in frame["defined_in"].unique(maintain_order=True).to_list():
        part = frame.filter(frame["defined_in"] == origin)
        built_in = origin == "built-in"
        title = "Built-in metric types" if built_in else f"Metrics defined in {origin}"
        cols = BUILT_IN_COLUMNS if built_in else SPEC_COLUMNS
        table = Table(title=title, title_justify="left", show_lines=False)
        for col in cols:
            table.add_column(col, overflow="fold")
        for row in part.iter_rows(named=True):
            table.add_row(*[str(row[c]) for c in cols])
        console.print(table)
