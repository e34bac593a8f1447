"""The groundwork of the report's SVG charts (:mod:`cs_metrics.report.charts`): the style,
deterministic and embeddable SVG output, number and period labels for the axes.
matplotlib is imported on first use only, since ``csm --help`` must stay fast."""

from __future__ import annotations

import hashlib
import html
import io
import math
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import polars as pl

from cs_metrics.render.numbers import CURRENCY_SYMBOLS, unit_kind

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

# --------------------------------------------------------------------------- style

FONT_STACK = ["DejaVu Sans", "Helvetica", "Arial"]
INK = "#0f172a"  # strong text, net-new markers
TEXT = "#475569"  # tick labels, annotations
MUTED = "#94a3b8"  # secondary text
GRID = "#e2e8f0"  # gridlines
AXIS = "#cbd5e1"  # baseline
WIDTH_IN = 9.0  # every chart is 648 units wide, so text has one size across the page
FONT_SIZE = 9.0

#: (column, legend label, colour, sign) in stacking order away from zero.
MOVEMENTS: list[tuple[str, str, str, int]] = [
    ("new_mrr", "New", "#10b981", 1),
    ("expansion_mrr", "Expansion", "#3b82f6", 1),
    ("reactivation_mrr", "Reactivation", "#7dd3fc", 1),
    ("contraction_mrr", "Contraction", "#f59e0b", -1),
    ("churned_mrr", "Churn", "#ef4444", -1),
]
MRR_LINE = "#6366f1"

BAND_COLORS = {
    "red": "#ef4444",
    "critical": "#ef4444",
    "orange": "#f97316",
    "amber": "#f59e0b",
    "at_risk": "#f59e0b",
    "yellow": "#facc15",
    "green": "#22c55e",
    "healthy": "#22c55e",
    "blue": "#3b82f6",
    "grey": "#94a3b8",
    "gray": "#94a3b8",
}
SERIES_COLORS = ["#6366f1", "#14b8a6", "#f59e0b", "#ec4899", "#0ea5e9", "#64748b"]
# the lightest cell is still tinted: blank means no cell
HEAT_COLORS = ["#e0f2fe", "#7dd3fc", "#0ea5e9", "#0369a1", "#0c4a6e"]

MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
MINUS = "\u2212"


def _rc(salt: str) -> dict[str, Any]:
    return {
        "svg.fonttype": "none",
        "svg.hashsalt": salt,
        "font.family": "sans-serif",
        "font.sans-serif": FONT_STACK,
        "font.size": FONT_SIZE,
        "text.color": TEXT,
        "axes.edgecolor": AXIS,
        "axes.labelcolor": TEXT,
        "axes.labelsize": FONT_SIZE,
        "axes.facecolor": "none",
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.spines.left": False,
        "axes.axisbelow": True,
        "axes.unicode_minus": True,
        "grid.color": GRID,
        "grid.linewidth": 0.8,
        "xtick.color": AXIS,
        "ytick.color": AXIS,
        "xtick.labelcolor": TEXT,
        "ytick.labelcolor": TEXT,
        "xtick.major.size": 0,
        "ytick.major.size": 0,
        "xtick.major.pad": 6,
        "ytick.major.pad": 6,
        "legend.frameon": False,
        "legend.fontsize": FONT_SIZE,
        "legend.handlelength": 1.0,
        "legend.handleheight": 0.8,
        "legend.columnspacing": 1.4,
        "figure.facecolor": "none",
        "savefig.facecolor": "none",
        "savefig.edgecolor": "none",
        "path.simplify": True,
        "lines.solid_capstyle": "round",
        "lines.solid_joinstyle": "round",
    }


@contextmanager
def _style(salt: str) -> Iterator[None]:
    import matplotlib

    with matplotlib.rc_context(_rc(salt)):
        yield


def _figure(height_in: float) -> Figure:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(WIDTH_IN, height_in), layout="constrained")
    fig.get_layout_engine().set(w_pad=4 / 72, h_pad=4 / 72, hspace=0.04)
    return fig


def _uid(kind: str, *parts: object) -> str:
    """A short id for one chart, derived from its input, so output is deterministic."""
    digest = hashlib.sha256(kind.encode())
    for part in parts:
        text = part.write_csv() if isinstance(part, pl.DataFrame) else repr(part)
        digest.update(b"\x00" + text.encode())
    return f"csm-{kind}-{digest.hexdigest()[:8]}"


_METADATA = {"Date": None, "Creator": None, "Format": None, "Type": None}


def _svg(fig: Figure, uid: str, label: str) -> str:
    fig.patch.set_visible(False)  # transparent: the page's card is the background
    for ax in fig.axes:
        ax.patch.set_visible(False)
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata=_METADATA, transparent=True)
    return _tidy(buf.getvalue(), uid, label)


SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
_AUTO_ID = re.compile(r"^[\w.]+_\d+$")  # matplotlib's figure_1, text_12, line2d_3 ...
_FONT_DECL = "font-family: 'DejaVu Sans', 'Helvetica', 'Arial', sans-serif"


def _tidy(raw: str, uid: str, label: str) -> str:
    """Embeddable SVG: no prolog, responsive, accessible, small, ids unique to this chart.

    matplotlib's own ids (``text_12``) are dropped unless something refers to them, the
    groups left without attributes are unwrapped, coordinates keep two decimals, the font
    stack is declared once, and the remaining ids (clip paths, markers, the gids charts
    set) get the chart's prefix.
    """
    import xml.etree.ElementTree as ET

    text = raw[raw.index("<svg") :]
    text = re.sub(r">\s+<", "><", text)
    text = re.sub(r"(\d+\.\d{3,})", lambda m: _trim(f"{float(m.group(1)):.2f}"), text)
    text = re.sub(r'\s*transform="rotate\(-0 [^)]*\)"', "", text)
    text = re.sub(r'\bd="([^"]*)"', lambda m: 'd="' + " ".join(m.group(1).split()) + '"', text)
    text = text.replace(_FONT_DECL + "; ", "").replace("; " + _FONT_DECL, "")
    ET.register_namespace("", SVG_NS)
    ET.register_namespace("xlink", XLINK_NS)
    root = ET.fromstring(text)
    href = f"{{{XLINK_NS}}}href"
    used = set(re.findall(r'url\(#([^)]+)\)|xlink:href="#([^"]+)"', text))
    referenced = {name for pair in used for name in pair if name}

    def clean(parent: ET.Element) -> None:
        children: list[ET.Element] = []
        for child in parent:
            clean(child)
            if child.tag == f"{{{SVG_NS}}}metadata":
                continue
            name = child.get("id")
            if name is not None and _AUTO_ID.match(name) and name not in referenced:
                del child.attrib["id"]
            if name is not None and "id" in child.attrib:
                child.set("id", f"{uid}-{name}")
            if child.get(href, "").startswith("#"):
                child.set(href, f"#{uid}-{child.get(href)[1:]}")
            for key in ("clip-path", "style", "mask", "filter"):
                if "url(#" in child.get(key, ""):
                    child.set(key, child.get(key).replace("url(#", f"url(#{uid}-"))
            if child.tag == f"{{{SVG_NS}}}g" and not child.attrib:
                children.extend(child)  # unwrap a group that carries nothing
            elif child.tag == f"{{{SVG_NS}}}defs" and not len(child):
                continue
            else:
                children.append(child)
        parent[:] = children

    clean(root)
    for name in ("width", "height", "version"):
        root.attrib.pop(name, None)
    root.attrib.update(
        {"id": uid, "class": "csm-chart", "width": "100%", "role": "img", "aria-label": label}
    )
    style = root.find(f"{{{SVG_NS}}}defs/{{{SVG_NS}}}style")
    if style is not None:
        style.text = (
            f"#{uid} *{{stroke-linejoin:round;stroke-linecap:butt}}#{uid} text{{{_FONT_DECL}}}"
        )
    title = ET.Element(f"{{{SVG_NS}}}title")
    title.text = label
    root.insert(0, title)
    return ET.tostring(root, encoding="unicode")


def _no_data(label: str, height: float = 64.0) -> str:
    """A small, chart-wide SVG saying there is nothing to draw."""
    width = WIDTH_IN * 72
    escaped = html.escape(label, quote=True)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="csm-chart csm-no-data" width="100%" '
        f'viewBox="0 0 {width:g} {height:g}" role="img" aria-label="{escaped}: no data">'
        f"<title>{escaped}: no data</title>"
        f'<rect x="0.5" y="0.5" width="{width - 1:g}" height="{height - 1:g}" rx="6" '
        f'fill="none" stroke="{GRID}" stroke-dasharray="4 3"/>'
        f'<text x="{width / 2:g}" y="{height / 2 + 4:g}" text-anchor="middle" '
        f'font-family="\'DejaVu Sans\', Helvetica, Arial, sans-serif" font-size="{FONT_SIZE + 1:g}" '
        f'fill="{MUTED}">no data</text></svg>'
    )


# --------------------------------------------------------------------------- numbers


def _trim(text: str) -> str:
    return text.rstrip("0").rstrip(".") if "." in text else text


def _compact(value: float) -> str:
    """12,300 -> 12.3k, 1,250,000 -> 1.25M; small numbers as they are."""
    size = abs(value)
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if size >= limit * 0.9995:
            scaled = size / limit
            decimals = 0 if scaled >= 99.95 else 1 if scaled >= 9.995 else 2
            return _trim(f"{scaled:.{decimals}f}") + suffix
    return _trim(f"{size:,.2f}")


def _signed(value: float, body: str) -> str:
    return f"{MINUS}{body}" if value < 0 and body.strip("0.,$€£") else body


def _money(value: float, currency: str) -> str:
    """Axis-style currency: $12.3k, −€800, 1.2M SEK."""
    symbol = CURRENCY_SYMBOLS.get(currency)
    body = _compact(value)
    return _signed(value, f"{symbol}{body}" if symbol else f"{body} {currency}")


def _axis_formatter(unit: str, currency: str) -> tuple[Any, str]:
    """(tick formatter, axis label) for a unit."""
    from matplotlib.ticker import FuncFormatter, PercentFormatter

    kind = unit_kind(unit)
    code = currency if unit == "currency" else unit
    if kind == "currency":
        symbol = CURRENCY_SYMBOLS.get(code)
        if symbol:
            return FuncFormatter(lambda v, _pos: _money(v, code)), ""
        return FuncFormatter(lambda v, _pos: _signed(v, _compact(v))), code
    if kind == "ratio":
        return PercentFormatter(xmax=1.0, decimals=None), ""
    if kind == "count":
        return FuncFormatter(
            lambda v, _pos: _signed(v, _compact(v) if abs(v) >= 1e5 else f"{abs(v):,.0f}")
        ), ""
    label = {"days": "days", "hours": "hours", "months": "months"}.get(unit, "")
    if kind == "other" and unit not in ("number", "months"):
        label = unit
    return FuncFormatter(lambda v, _pos: _signed(v, _trim(f"{abs(v):,.2f}"))), label


# --------------------------------------------------------------------------- shared axes


def _period_labels(periods: Sequence[str]) -> list[str]:
    """Month periods as "Nov" with the year under the first and every January; quarters
    alike ("Q1" / "2026"); anything else unchanged. Long series keep every k-th label."""
    n = len(periods)
    step = max(1, math.ceil(n / 13))
    monthly = all(re.fullmatch(r"\d{4}-\d{2}", p) for p in periods)
    quarterly = all(re.fullmatch(r"\d{4}-Q[1-4]", p) for p in periods)
    labels: list[str] = []
    shown_year = None
    for i, period in enumerate(periods):
        if i % step:
            labels.append("")
            continue
        if monthly or quarterly:
            year, rest = period[:4], period[5:]
            short = MONTHS[int(rest) - 1] if monthly else rest
            labels.append(short if year == shown_year else f"{short}\n{year}")
            shown_year = year
        else:
            labels.append(period)
    return labels


def _period_axis(ax: Axes, periods: Sequence[str], show: bool = True) -> None:
    ax.set_xticks(range(len(periods)))
    ax.set_xticklabels(_period_labels(periods) if show else [""] * len(periods))
    extra = max(0, 5 - len(periods)) / 2  # a lone period keeps a bar's usual width
    ax.set_xlim(-0.6 - extra, len(periods) - 0.4 + extra)


def _value_grid(ax: Axes) -> None:
    ax.grid(axis="y")
    ax.grid(axis="x", visible=False)
    ax.tick_params(axis="both", length=0)


def _floats(frame: pl.DataFrame, column: str) -> list[float]:
    """A column as floats with null, NaN and inf as NaN (matplotlib draws those as gaps)."""
    if column not in frame.columns:
        return [math.nan] * frame.height
    values = frame.get_column(column).cast(pl.Float64)
    values = pl.select(pl.when(values.is_finite()).then(values).otherwise(float("nan"))).to_series()
    return values.to_list()


def _finite(values: Sequence[float]) -> list[float]:
    return [v for v in values if v is not None and math.isfinite(v)]


def _periods(frame: pl.DataFrame) -> list[str]:
    return frame.get_column("period").cast(pl.String).to_list()


def _luminance(color: Any) -> float:
    from matplotlib.colors import to_rgb

    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in to_rgb(color))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _text_on(color: Any) -> str:
    """Dark or white text, whichever contrasts more with the fill."""
    return INK if _luminance(color) > 0.35 else "#ffffff"
