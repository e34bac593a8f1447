"""SVG charts for the HTML report: MRR movements, metric trends, health bands, cohorts.

Every function takes polars DataFrames and returns one ``<svg>…</svg>`` element as text,
ready to paste into a self-contained HTML page:

* no XML prolog or DOCTYPE, no fixed size (``width="100%"`` and the ``viewBox``, so the
  chart scales with its container), ``role="img"`` with an ``aria-label`` and ``<title>``
  saying what the chart shows;
* text stays text (``svg.fonttype = "none"``, a generic sans-serif stack), no raster
  images, fonts or links: nothing is fetched when the page opens;
* the same input gives the same bytes (no date, no creator, a salt derived from the
  input for matplotlib's ids), and every id in the SVG is prefixed with that salt, so
  several charts on one page never share an id (nor a global ``*{…}`` style rule);
* an empty frame, or one whose values are all null, gives a small "no data" SVG.

Charts are drawn with matplotlib's object API (``matplotlib.figure.Figure``, never
pyplot, so no GUI backend and no global state); matplotlib is imported on first use
only, since ``csm --help`` must stay fast. Titles are left to the page.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import polars as pl

from cs_metrics.render.numbers import format_value, unit_kind
from cs_metrics.report.charts_svg import (
    BAND_COLORS,
    FONT_SIZE,
    HEAT_COLORS,
    INK,
    MOVEMENTS,
    MRR_LINE,
    MUTED,
    SERIES_COLORS,
    TEXT,
    WIDTH_IN,
    _axis_formatter,
    _figure,
    _finite,
    _floats,
    _money,
    _no_data,
    _period_axis,
    _periods,
    _style,
    _svg,
    _text_on,
    _uid,
    _value_grid,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "BAND_COLORS",
    "MOVEMENTS",
    "cohort_heatmap",
    "health_bands",
    "mrr_movements",
    "sparkline_svg",
    "trend",
]

# --------------------------------------------------------------------------- 1. MRR movements


def mrr_movements(frame: pl.DataFrame, currency: str = "USD", *, label: str | None = None) -> str:
    """Ending MRR (area, top panel) over the month's movements (stacked bars, bottom panel).

    ``frame``: ``period`` (in order), ``new_mrr``, ``expansion_mrr``, ``reactivation_mrr``,
    ``contraction_mrr``, ``churned_mrr`` (contraction and churn as positive magnitudes,
    drawn below zero) and ``mrr`` (ending MRR). A missing movement column counts as zero,
    a null movement as zero; without ending MRR the top panel is left out. Net new MRR
    (the sum of the movements) is a dark marker on each period's bars. Bars have ids
    ``<chart id>-mrr-<period index>-<movement>``.
    """
    periods = _periods(frame) if "period" in frame.columns else []
    moves = {col: _floats(frame, col) for col, *_ in MOVEMENTS}
    mrr = _floats(frame, "mrr")
    if not periods or not (_finite(mrr) or any(_finite(v) for v in moves.values())):
        return _no_data(label or "MRR movements")
    signed = {
        col: [sign * (v if math.isfinite(v) else 0.0) for v in moves[col]]
        for col, _, _, sign in MOVEMENTS
    }
    net = [sum(vals) for vals in zip(*signed.values(), strict=True)]
    has_mrr = bool(_finite(mrr))
    symbol_fmt, axis_label = _axis_formatter(currency, currency)

    used = [c for c in ("period", "mrr", *moves) if c in frame.columns]
    uid = _uid("mrr", frame.select(used), currency)
    with _style(uid):
        fig = _figure(4.8 if has_mrr else 3.4)
        if has_mrr:
            top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[1, 1.5])
        else:
            top, bottom = None, fig.subplots()
        x = list(range(len(periods)))
        handles = []
        if top is not None:
            line = top.plot(
                x,
                mrr,
                color=MRR_LINE,
                linewidth=2,
                marker="o",
                markersize=3.5,
                label="Ending MRR",
                zorder=3,
            )[0]
            top.fill_between(x, mrr, 0, color=MRR_LINE, alpha=0.08, linewidth=0)
            top.set_ylim(bottom=0, top=max(_finite(mrr)) * 1.18 if max(_finite(mrr)) > 0 else None)
            top.yaxis.set_major_formatter(symbol_fmt)
            top.yaxis.set_major_locator(_locator(4))
            top.set_ylabel(axis_label)
            _value_grid(top)
            top.tick_params(axis="x", labelbottom=False)
            fig.get_layout_engine().set(hspace=0.1)
            last = max(i for i, v in enumerate(mrr) if math.isfinite(v))
            top.annotate(
                format_value(mrr[last], currency),
                (last, mrr[last]),
                xytext=(0, 7),
                textcoords="offset points",
                ha="center",
                va="bottom",
                color=INK,
                fontweight="bold",
                fontsize=FONT_SIZE,
            )
            handles.append(line)

        stacked = {1: [0.0] * len(x), -1: [0.0] * len(x)}  # bar tops above and below zero
        for col, name, color, sign in MOVEMENTS:
            values = signed[col]
            base = stacked[sign]
            bars = bottom.bar(
                x,
                values,
                width=0.62,
                bottom=base,
                color=color,
                label=name,
                linewidth=0,
                zorder=2,
                clip_on=False,
            )
            for i, patch in enumerate(bars.patches):
                patch.set_gid(f"mrr-{i}-{col.removesuffix('_mrr')}")
            stacked[sign] = [b + v for b, v in zip(base, values, strict=True)]
            handles.append(bars)
        marker = bottom.scatter(
            x,
            net,
            marker="D",
            s=22,
            color=INK,
            edgecolors="#ffffff",
            linewidths=1,
            zorder=4,
            label="Net new",
        )
        handles.append(marker)
        bottom.axhline(0, color=TEXT, linewidth=0.9, zorder=3)
        bottom.yaxis.set_major_formatter(symbol_fmt)
        bottom.yaxis.set_major_locator(_locator(5))
        bottom.set_ylabel(axis_label)
        _value_grid(bottom)
        bottom.spines["bottom"].set_visible(False)
        _period_axis(bottom, periods)
        fig.legend(
            handles=handles,
            loc="outside upper left",
            ncols=len(handles),
            handlelength=0.9,
            borderaxespad=0.2,
        )

        latest = len(periods) - 1
        description = label or (
            f"MRR movements per period, {periods[0]} to {periods[-1]}: in {periods[latest]} "
            f"net new MRR {format_value(net[latest], currency)}"
            + (
                f", ending MRR {format_value(mrr[latest], currency)}"
                if math.isfinite(mrr[latest])
                else ""
            )
        )
        return _svg(fig, uid, description)


def _locator(n: int) -> Any:
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(nbins=n, steps=[1, 2, 2.5, 5, 10])


# --------------------------------------------------------------------------- 2. trend


def trend(
    frame: pl.DataFrame,
    series: dict[str, str],
    unit: str,
    currency: str = "USD",
    *,
    label: str | None = None,
) -> str:
    """One line per series (column -> legend label) over ``period``; nulls are gaps.

    Ratios read as percent (with a faint 100 % reference line when it is in range, for
    NRR-like metrics), scores get a zero line, every series' last value is written at its
    end. A legend sits above the plot when there is more than one series.
    """
    periods = _periods(frame) if "period" in frame.columns else []
    data = {col: _floats(frame, col) for col in series}
    name = label or " and ".join(series.values()) or "Trend"
    if not periods or not any(_finite(v) for v in data.values()):
        return _no_data(name)
    everything = [v for values in data.values() for v in _finite(values)]
    low, high = min(everything), max(everything)
    kind = unit_kind(unit)
    formatter, axis_label = _axis_formatter(unit, currency)

    used = ["period", *(c for c in series if c in frame.columns)]
    uid = _uid("trend", frame.select(used), series, unit, currency)
    with _style(uid):
        fig = _figure(3.2)
        ax = fig.subplots()
        x = list(range(len(periods)))
        if kind == "score" or (low < 0 < high):
            low, high = min(low, 0.0), max(high, 0.0)
            ax.axhline(0, color=TEXT, linewidth=0.9, zorder=1)
        pad = (high - low) * 0.12 or (abs(high) * 0.1 or 1.0)
        ylim = (low - pad, high + pad)
        if kind == "score":
            ylim = (max(ylim[0], -100.0), min(ylim[1], 100.0))
        if kind == "ratio" and ylim[0] < 1.0 < ylim[1]:
            ax.axhline(1.0, color=MUTED, linewidth=0.8, linestyle=(0, (4, 3)), zorder=1)
        ax.set_ylim(*ylim)
        lasts: list[tuple[float, float, str, str]] = []
        for n, (col, legend) in enumerate(series.items()):
            color = SERIES_COLORS[n % len(SERIES_COLORS)]
            values = data[col]
            ax.plot(
                x,
                values,
                color=color,
                linewidth=2,
                marker="o",
                markersize=4,
                markerfacecolor="#ffffff",
                markeredgewidth=1.6,
                label=legend,
                zorder=3,
            )
            finite = [i for i, v in enumerate(values) if math.isfinite(v)]
            if finite:
                i = finite[-1]
                lasts.append((i, values[i], format_value(values[i], unit, currency), color))
        _label_ends(ax, lasts, ylim, fig.get_figheight() * 72 * 0.72)
        ax.yaxis.set_major_formatter(formatter)
        ax.yaxis.set_major_locator(_locator(5))
        ax.set_ylabel(axis_label)
        _value_grid(ax)
        _period_axis(ax, periods)
        if len(series) > 1:
            fig.legend(
                loc="outside upper left", ncols=len(series), handlelength=1.6, borderaxespad=0.2
            )
        latest = ", ".join(
            f"{legend} {format_value(data[col][-1], unit, currency)}"
            for col, legend in series.items()
        )
        description = label or f"{name} per period, {periods[0]} to {periods[-1]}; latest {latest}"
        return _svg(fig, uid, description)


def _label_ends(
    ax: Axes, lasts: list[tuple[float, float, str, str]], ylim: tuple[float, float], axes_pt: float
) -> None:
    """Write each series' last value to the right of its last point, nudged apart so two
    close series (NRR and GRR) do not print over each other."""
    if not lasts:
        return
    span = (ylim[1] - ylim[0]) or 1.0
    gap = (FONT_SIZE * 1.35) / axes_pt * span  # one line of text, in data units
    placed = sorted(range(len(lasts)), key=lambda k: lasts[k][1])
    ys = [lasts[k][1] for k in placed]
    for j in range(1, len(ys)):
        ys[j] = max(ys[j], ys[j - 1] + gap)
    overflow = ys[-1] - (ylim[1] - gap / 2)
    if overflow > 0:
        ys = [y - overflow for y in ys]
        for j in range(len(ys) - 2, -1, -1):
            ys[j] = min(ys[j], ys[j + 1] - gap)
    from matplotlib.transforms import ScaledTranslation

    nudge = ax.transData + ScaledTranslation(7 / 72, 0, ax.figure.dpi_scale_trans)
    for k, y in zip(placed, ys, strict=True):
        x, _value, text, color = lasts[k]
        ax.text(
            x,
            y,
            text,
            ha="left",
            va="center",
            color=color,
            fontweight="bold",
            fontsize=FONT_SIZE,
            transform=nudge,
            clip_on=False,
        )


# --------------------------------------------------------------------------- 3. health bands


def health_bands(
    frame: pl.DataFrame,
    order: list[str],
    *,
    currency: str = "USD",
    labels: tuple[str, str] = ("Previous", "Current"),
    label: str | None = None,
) -> str:
    """Accounts per health band, previous period over current, as 100 %-stacked bars.

    ``frame``: ``band``, ``accounts``, ``previous_accounts`` and optionally ``mrr`` (adds
    a third bar: the current MRR per band). Bands are drawn in ``order`` (worst first);
    bands not in ``order`` follow it. Known band names (red, yellow, green, …) have
    their colour, others take palette colours. Segments show count and share.
    """
    if "band" not in frame.columns or frame.height == 0:
        return _no_data(label or "Health bands")
    frame = frame.with_columns(pl.col("band").cast(pl.String))
    bands = [b for b in order if b in frame.get_column("band").to_list()] + sorted(
        set(frame.get_column("band").drop_nulls().to_list()) - set(order)
    )
    indexed = (
        frame.filter(pl.col("band").is_not_null())
        .group_by("band")
        .agg(
            pl.col(c).cast(pl.Float64).sum()
            if c in frame.columns
            else pl.lit(None, pl.Float64).alias(c)
            for c in ("accounts", "previous_accounts", "mrr")
        )
    )
    # one row per band in drawing order
    ordered = pl.DataFrame({"band": bands}, schema={"band": pl.String}).join(
        indexed, on="band", how="left", maintain_order="left"
    )
    rows: list[tuple[str, list[float], str]] = []
    for column, row_label, kind in (
        ("previous_accounts", labels[0], "accounts"),
        ("accounts", labels[1], "accounts"),
        ("mrr", f"{labels[1]} MRR", "mrr"),
    ):
        values = [0.0 if not math.isfinite(v) else v for v in _floats(ordered, column)]
        if (
            column in frame.columns
            and frame.get_column(column).drop_nulls().len()
            and sum(values) > 0
        ):
            rows.append((row_label, values, kind))
    if not any(kind == "accounts" for *_, kind in rows):
        return _no_data(label or "Health bands")

    colors = _band_colors(bands)
    uid = _uid("health", ordered, currency, labels)
    with _style(uid):
        fig = _figure(0.46 * len(rows) + 0.62)
        ax = fig.subplots()
        y_positions = list(range(len(rows)))[::-1]  # first row on top
        totals = [sum(values) for _, values, _ in rows]
        shares = [
            [v / total for v in values] for (_, values, _), total in zip(rows, totals, strict=True)
        ]
        starts = [[sum(row[:b]) for b in range(len(bands))] for row in shares]
        for b, band in enumerate(bands):
            ax.barh(
                y_positions,
                [row[b] for row in shares],
                left=[row[b] for row in starts],
                height=0.68,
                color=colors[band],
                linewidth=0,
            )
        for (_, _, kind), y, total in zip(rows, y_positions, totals, strict=True):
            ax.text(
                1.012,
                y,
                _money(total, currency) if kind == "mrr" else f"{total:,.0f} accounts",
                ha="left",
                va="center",
                color=MUTED,
                fontsize=FONT_SIZE - 0.5,
                transform=ax.get_yaxis_transform(),
            )
        ax.set_yticks(y_positions, [r[0] for r in rows])
        ax.set_xlim(0, 1)
        ax.set_ylim(-0.5, len(rows) - 0.5)
        ax.tick_params(axis="both", length=0)
        ax.xaxis.set_visible(False)
        for side in ("bottom", "left"):
            ax.spines[side].set_visible(False)
        fig.legend(
            [_swatch(colors[band]) for band in bands],
            [b.replace("_", " ").capitalize() for b in bands],
            loc="outside upper left",
            ncols=len(bands),
            borderaxespad=0.2,
        )
        # segment labels go in once the layout has settled, so the fit check knows the width
        fig.draw_without_rendering()
        bar_pt = ax.get_window_extent().width * 72 / fig.dpi
        for (_, values, kind), y, row, row_starts in zip(
            rows, y_positions, shares, starts, strict=True
        ):
            for b, band in enumerate(bands):
                text = _segment_text(values[b], row[b], bar_pt, kind, currency)
                if text:
                    ax.text(
                        row_starts[b] + row[b] / 2,
                        y,
                        text,
                        ha="center",
                        va="center",
                        color=_text_on(colors[band]),
                        fontsize=FONT_SIZE - 0.5,
                    )
        parts = []
        for row_label, values, kind in rows:
            fmt = (
                (lambda v: format_value(v, currency)) if kind == "mrr" else (lambda v: f"{v:,.0f}")
            )
            parts.append(
                f"{row_label}: "
                + ", ".join(f"{b} {fmt(v)}" for b, v in zip(bands, values, strict=True))
            )
        description = label or "Accounts by health band. " + "; ".join(parts)
        return _svg(fig, uid, description)


def _segment_text(value: float, share: float, bar_pt: float, kind: str, currency: str) -> str:
    """ "43 · 20%" when it fits in the segment, else "43", else nothing."""
    if value <= 0:
        return ""
    amount = _money(value, currency) if kind == "mrr" else f"{value:,.0f}"
    for text in (f"{amount} · {share:.0%}", amount):
        if _text_width(text, FONT_SIZE - 0.5) + 6 <= share * bar_pt:
            return text
    return ""


def _text_width(text: str, size: float) -> float:
    """Rough width in points of text in DejaVu Sans (the widest of the font stack)."""
    narrow = sum(text.count(c) for c in " .,·:;il")
    wide = sum(text.count(c) for c in "%MW")
    return size * (0.64 * (len(text) - narrow - wide) + 0.33 * narrow + 0.95 * wide)


def _swatch(color: str) -> Any:
    from matplotlib.patches import Patch

    return Patch(facecolor=color, linewidth=0)


def band_key(band: str) -> str:
    """A band name as a key of BAND_COLORS: "At risk" -> at_risk."""
    return band.lower().replace(" ", "_").replace("-", "_")


def _band_colors(bands: Sequence[str]) -> dict[str, str]:
    spare = iter(c for c in SERIES_COLORS if c not in BAND_COLORS.values())
    colors: dict[str, str] = {}
    for band in bands:
        colors[band] = BAND_COLORS.get(band_key(band)) or next(spare, MUTED)
    return colors


# --------------------------------------------------------------------------- 4. cohorts


def cohort_heatmap(
    frame: pl.DataFrame,
    value: str = "logo_retention",
    *,
    age_label: str = "Periods since start",
    label: str | None = None,
) -> str:
    """Retention triangle: cohorts as rows (oldest on top), ages as columns.

    ``frame`` is long: ``cohort`` (str), ``age`` (int) and ``value`` (a fraction), one row
    per (cohort, age). The cohort labelled ``all`` (the weighted average) is drawn last,
    set apart and in bold. Cells read as percent with one decimal ("85.7%") in a colour
    that contrasts with the cell; missing cells stay blank.
    """
    import numpy as np

    name = label or f"{value.replace('_', ' ').capitalize()} by cohort"
    needed = {"cohort", "age", value}
    if not needed <= set(frame.columns):
        return _no_data(name)
    data = frame.select(
        pl.col("cohort").cast(pl.String),
        pl.col("age").cast(pl.Int64),
        pl.col(value).cast(pl.Float64).alias("value"),
    ).filter(
        pl.col("cohort").is_not_null() & pl.col("age").is_not_null() & pl.col("value").is_finite()
    )
    if data.height == 0:
        return _no_data(name)
    cohorts = sorted(c for c in data.get_column("cohort").unique().to_list() if c != "all")
    has_all = "all" in data.get_column("cohort").to_list()
    ages = sorted(data.get_column("age").unique().to_list())
    row_of = {c: i for i, c in enumerate(cohorts)}
    if has_all:
        row_of["all"] = len(cohorts) + 1  # a blank gap row between the cohorts and "all"
    n_rows = len(cohorts) + (2 if has_all else 0)
    indexed = data.with_columns(
        pl.col("cohort").replace_strict(row_of, return_dtype=pl.Int64).alias("row"),
        pl.col("age")
        .replace_strict({a: i for i, a in enumerate(ages)}, return_dtype=pl.Int64)
        .alias("col"),
    ).unique(["row", "col"], keep="first", maintain_order=True)
    grid = np.full((n_rows, len(ages)), np.nan)
    grid[indexed.get_column("row").to_numpy(), indexed.get_column("col").to_numpy()] = (
        indexed.get_column("value").to_numpy()
    )
    finite = grid[np.isfinite(grid)]
    vmin, vmax = float(finite.min()), float(finite.max())
    if vmax - vmin < 1e-9:
        vmin = vmax - 0.1

    uid = _uid("cohort", data.sort("cohort", "age"), value, age_label)
    with _style(uid):
        from matplotlib.colors import LinearSegmentedColormap, Normalize

        cmap = LinearSegmentedColormap.from_list("csm_retention", HEAT_COLORS)
        norm = Normalize(vmin=vmin, vmax=vmax)
        # rows top-down; the gap row before "all" is a third of a row high
        heights = np.ones(n_rows)
        if has_all:
            heights[len(cohorts)] = 0.35
        y_edges = np.concatenate([[0.0], np.cumsum(heights)])
        centres = (y_edges[:-1] + y_edges[1:]) / 2
        row_pt = 0.27 * 72
        cell_pt = (WIDTH_IN * 72 - 90) / len(ages)  # about the plot width over the columns
        fig = _figure(row_pt / 72 * float(heights.sum()) + 0.75)
        ax = fig.subplots()
        rows, cols = np.nonzero(np.isfinite(grid))
        cells = grid[rows, cols]
        colors = cmap(norm(cells))
        # only the cells that exist, as bars inset by a hairline (the white gap between cells)
        ax.bar(
            cols + 0.5,
            heights[rows] - 1.5 / row_pt,
            width=1 - 1.5 / cell_pt,
            bottom=y_edges[rows] + 0.75 / row_pt,
            color=colors,
            linewidth=0,
            clip_on=False,
        )
        ax.set_xlim(0, len(ages))
        ax.set_ylim(y_edges[-1], 0)  # oldest cohort on top
        row_labels = [*cohorts, *(["", "All cohorts"] if has_all else [])]
        keep = [i for i, text in enumerate(row_labels) if text]
        ax.set_yticks([centres[i] for i in keep], [row_labels[i] for i in keep])
        if has_all:
            ax.get_yticklabels()[-1].set_fontweight("bold")
            ax.get_yticklabels()[-1].set_color(INK)
        ax.xaxis.tick_top()
        ax.xaxis.set_label_position("top")
        ax.set_xticks(np.arange(len(ages)) + 0.5, [str(a) for a in ages])
        ax.set_xlabel(age_label, color=MUTED, labelpad=6)
        ax.tick_params(axis="both", length=0)
        for spine in ax.spines.values():
            spine.set_visible(False)

        # "85.7%" when it fits at the normal size, else "85.7" as large as fits; cells
        # narrower than 14 pt (more than ~40 ages) stay unlabelled
        with_sign = _text_width("100.0%", FONT_SIZE - 0.5) + 4 <= cell_pt
        widest = _text_width("100.0%" if with_sign else "100.0", 1.0)
        size = min(FONT_SIZE - 0.5, (cell_pt - 4) / widest, row_pt * 0.5)
        if cell_pt >= 14:
            for r, c, cell, fill in zip(
                rows.tolist(), cols.tolist(), cells.tolist(), colors.tolist(), strict=True
            ):
                ax.text(
                    c + 0.5,
                    centres[r],
                    f"{cell * 100:.1f}{'%' if with_sign else ''}",
                    ha="center",
                    va="center",
                    fontsize=max(size, 4.5),
                    color=_text_on(fill),
                    fontweight="bold" if has_all and r == n_rows - 1 else "normal",
                )
        description = label or (
            f"{name}: {len(cohorts)} cohorts from {cohorts[0] if cohorts else 'all'} "
            f"to {cohorts[-1] if cohorts else 'all'}, ages {ages[0]} to {ages[-1]}"
        )
        return _svg(fig, uid, description)


# --------------------------------------------------------------------------- 5. sparkline


def sparkline_svg(
    values: Sequence[float | None],
    width_px: int = 120,
    height_px: int = 28,
    *,
    color: str = MRR_LINE,
    label: str | None = None,
) -> str:
    """A tiny hand-written SVG trend for a table cell: a polyline per run of present
    values (nulls break the line), a dot on the last value. Fixed pixel size."""
    points = [(i, float(v)) for i, v in enumerate(values) if v is not None and math.isfinite(v)]
    description = html.escape(label or "trend", quote=True)
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="csm-sparkline" width="{width_px}" '
        f'height="{height_px}" viewBox="0 0 {width_px} {height_px}" role="img"'
    )
    if not points:
        return (
            f'{head} aria-label="{description}: no data"><title>{description}: no data</title>'
            f'<text x="{width_px / 2:g}" y="{height_px / 2 + 3:g}" text-anchor="middle" '
            f'font-family="sans-serif" font-size="9" fill="{MUTED}">no data</text></svg>'
        )
    pad = 3.0
    n = max(len(values) - 1, 1)
    low = min(v for _, v in points)
    high = max(v for _, v in points)
    span = high - low

    def xy(i: int, v: float) -> tuple[float, float]:
        x = pad + (width_px - 2 * pad) * (i / n if len(values) > 1 else 0.5)
        y = height_px / 2 if span == 0 else pad + (height_px - 2 * pad) * (high - v) / span
        return round(x, 1), round(y, 1)

    runs: list[list[tuple[float, float]]] = []
    previous = None
    for i, v in points:
        if previous is None or i != previous + 1:
            runs.append([])
        runs[-1].append(xy(i, v))
        previous = i
    dots = "".join(  # a value alone between nulls is a small dot
        f'<circle cx="{run[0][0]:g}" cy="{run[0][1]:g}" r="1.2" fill="{color}"/>'
        for run in runs[:-1]
        if len(run) == 1
    )
    lines = "".join(
        f'<polyline points="{" ".join(f"{x:g},{y:g}" for x, y in run)}"/>'
        for run in runs
        if len(run) > 1
    )
    last_x, last_y = runs[-1][-1]
    first, last = points[0][1], points[-1][1]
    text = label or f"trend of {len(values)} values, from {first:,.4g} to {last:,.4g}"
    text = html.escape(text, quote=True)
    return (
        f'{head} aria-label="{text}"><title>{text}</title>'
        f'<g fill="none" stroke="{color}" stroke-width="1.5" stroke-linejoin="round" '
        f'stroke-linecap="round">{lines}</g>{dots}'
        f'<circle cx="{last_x:g}" cy="{last_y:g}" r="2.2" fill="{color}"/></svg>'
    )
