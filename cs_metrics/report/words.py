"""The report's words: metric labels, period titles, formatted values and changes, and the
highlights (the month in a few phrases)."""

from __future__ import annotations

from typing import Any

import polars as pl

from cs_metrics.render.numbers import NULL, format_change, format_value
from cs_metrics.report.data import ReportData, health_bands_frame, point, value_unit

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


ACRONYMS = {
    "mrr": "MRR",
    "arr": "ARR",
    "nrr": "NRR",
    "grr": "GRR",
    "nps": "NPS",
    "csat": "CSAT",
    "ces": "CES",
    "arpa": "ARPA",
    "asp": "ASP",
    "ltv": "LTV",
    "cac": "CAC",
    "dau": "DAU",
    "wau": "WAU",
    "mau": "MAU",
    "ttm": "TTM",
    "qbr": "QBR",
    "qbrs": "QBRs",
    "p90": "p90",
}


def nice_label(name: str) -> str:
    """A metric name as a title: net_new_mrr -> Net new MRR."""
    words = [ACRONYMS.get(w, w) for w in name.split("_") if w]
    if not words:
        return name
    first = words[0]
    words[0] = first if first in ACRONYMS.values() else first[:1].upper() + first[1:]
    return " ".join(words)


def metric_labels(data: ReportData) -> dict[str, str]:
    return {n: (m.label or nice_label(n)) for n, m in data.main.metrics.items()}


def period_title(p: Any) -> str:
    """October 2026, Q3 2026, 2026, week 41 of 2026, or the range."""
    if p.grain == "month":
        return f"{MONTHS[p.start.month - 1]} {p.start.year}"
    if p.grain == "quarter":
        return f"{p.label[5:]} {p.label[:4]}"
    if p.grain == "year":
        return p.label
    if p.grain == "week":
        return f"Week {int(p.label[6:])} of {p.label[:4]} ({p.start:%d %b} – {p.end:%d %b})"
    return f"{p.start.isoformat()} – {p.end.isoformat()}"


def short_period(p: Any) -> str:
    if p.grain == "month":
        return f"{MONTHS[p.start.month - 1][:3]} {p.start.year}"
    return period_title(p) if p.grain != "week" else p.label


def metric_label(data: ReportData, name: str) -> str:
    meta = data.main.metrics.get(name)
    return meta.label if meta is not None and meta.label else nice_label(name)


def fmt(data: ReportData, value: float | None, unit: str) -> str:
    return format_value(value, unit, data.currency)


def role_label(data: ReportData, t: str) -> str:
    name = data.roles[t]
    meta = data.main.metrics.get(name)
    if meta is not None and meta.label:
        return meta.label
    return {
        "nrr": "NRR",
        "grr": "GRR",
        "customer_churn_rate": "Logo churn",
        "gross_mrr_churn_rate": "Gross MRR churn",
        "nps": "NPS",
    }.get(t, name)


def grain_word(data: ReportData, n: int) -> str:
    g = data.period.grain
    word = {"month": "month", "quarter": "quarter", "year": "year", "week": "week"}.get(g, "period")
    return word + ("s" if n != 1 else "")


def stale_text(data: ReportData) -> str:
    """'stale data: usage ends 2020-12-31, ...' for the banner ('' when every source is current)."""
    if not data.stale:
        return ""
    ends = ", ".join(f"{role} ends {d or 'undated'}" for role, d in data.stale.items())
    return f"stale data: {ends}"


def highlights(data: ReportData) -> list[str]:
    """The month in a few phrases: MRR, logos won and lost, the worst band, alerts."""
    out = []
    prev = short_period(data.previous)
    if "mrr" in data.roles:
        name = data.roles["mrr"]
        value, previous, unit, _ = point(data, name)
        if value is not None and previous:
            change = (value - previous) / abs(previous)
            verb = "grew" if change > 0.0005 else "fell" if change < -0.0005 else "held"
            by = f" {abs(change) * 100:.1f} %" if verb != "held" else ""
            out.append(f"MRR {verb}{by} to {fmt(data, value, unit)}")
    by_type = {}
    for n in data.main.metrics:
        m = data.spec.model.metrics.get(n)
        t = m.type if m is not None and not m.filter else (n if m is None else None)
        if t is not None:
            by_type.setdefault(t, n)
    won = [point(data, by_type[t])[0] for t in ("new_customers",) if t in by_type]
    lost = [point(data, by_type[t])[0] for t in ("churned_customers",) if t in by_type]
    if won and lost and won[0] is not None and lost[0] is not None:
        out.append(f"{won[0]:,.0f} new customers, {lost[0]:,.0f} churned")
    if data.health is not None and data.band_order:
        bands = health_bands_frame(data)
        worst = bands.filter(pl.col("band") == data.band_order[0])
        if worst.height:
            r = worst.row(0, named=True)
            diff = r["change"]
            vs = f"{diff:+,d} vs {prev}" if diff else f"as in {prev}"
            n = r["accounts"]
            out.append(f"{n:,} account{'s' if n != 1 else ''} in the {r['band']} band ({vs})")
    if data.alerts is not None:
        n = data.alerts.height
        accounts = data.alerts["account"].n_unique() if n else 0
        out.append(
            f"{n:,} alert{'s' if n != 1 else ''} fired"
            + (f" for {accounts:,} account{'s' if accounts != 1 else ''}" if n else "")
        )
    return out


def metric_change(
    data: ReportData, name: str, value: float | None, previous: float | None, unit: str
) -> tuple[str, str]:
    meta = data.main.metrics.get(name)
    hib = meta.higher_is_better if meta is not None else None
    return format_change(value, previous, unit, data.currency, hib)


def score_text(v: float | None) -> str:
    return NULL if v is None else f"{v:.1f}"


def alert_values(data: ReportData, row: dict[str, Any], cols: list[str]) -> str:
    parts = []
    for c in cols:
        v = row.get(c)
        if v is None:
            continue
        if isinstance(v, float | int) and not isinstance(v, bool):
            unit = value_unit(data, c)
            text = fmt(data, float(v), unit) if unit else f"{v:,.4g}"
        else:
            text = str(v)
        parts.append(f"{c} = {text}")
    return ", ".join(parts)
