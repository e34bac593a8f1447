"""Render a :class:`~cs_metrics.report.ReportData` as the files of a report bundle.

* ``summary.html`` — one self-contained page (inline CSS and SVG charts; no scripts, fonts,
  images or links to fetch, so it opens from disk, offline, and prints on A4): KPI cards
  with value, previous value and change coloured by direction; MRR movements, retention,
  churn, NPS, health bands and cohort charts (each only when the spec has its sources);
  the accounts needing attention; the alerts fired; breakdowns; every metric; and an
  appendix with the definitions used.
* ``summary.md`` — the same content as Markdown tables (for a wiki, a ticket, an email).
* ``metrics.xlsx`` — one sheet per table, numbers as numbers with currency / percent
  formats, header row frozen, filters on, columns sized.
* ``<table>.csv`` — the same tables in machine format: full precision, no thousands
  separators, empty cells for null.

The tables (:func:`tables`) are the single source for xlsx and csv, so the two agree.
"""

from __future__ import annotations

import html
import io
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from cs_metrics.render import Sheet, format_change, format_value, html_td, write_sheets

if TYPE_CHECKING:
    from cs_metrics.report import ReportData
    from cs_metrics.result import MetricMeta

esc = html.escape
NULL = "—"
ATTENTION_ROWS = 15  # accounts shown in the summaries (all of them are in the tables)
ALERT_ROWS = 25  # hits in summary.md
ALERTS_PER_KIND = 8  # hits per alert in summary.html
BREAKDOWN_COLUMNS = 8
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


# --------------------------------------------------------------------------- tables


@dataclass
class Table:
    """One table of the bundle: a CSV file and an XLSX sheet with the same content.

    ``units`` gives a column's unit; ``row_units`` names, for a column whose unit varies by
    row (long tables), the column holding each row's unit.
    """

    name: str
    title: str
    frame: pl.DataFrame
    units: dict[str, str] = field(default_factory=dict)
    row_units: dict[str, str] = field(default_factory=dict)


def tables(data: ReportData) -> list[Table]:
    out = [metrics_table(data)]
    out += [breakdown_table(data, d) for d in data.breakdowns]
    out.append(trend_table(data))
    if data.health is not None:
        out += [health_bands_table(data), health_accounts_table(data)]
    if data.alerts is not None:
        out.append(alerts_table(data))
    if data.cohorts is not None:
        out.append(cohorts_table(data))
    out.append(definitions_table(data))
    return out


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


def _labels(data: ReportData) -> dict[str, str]:
    return {n: (m.label or nice_label(n)) for n, m in data.main.metrics.items()}


def _with_change(frame: pl.DataFrame) -> pl.DataFrame:
    from cs_metrics.engine import VALUE_DECIMALS

    v, p = pl.col("value"), pl.col("previous")
    return frame.with_columns(
        (v - p).round(VALUE_DECIMALS).alias("change"),
        pl.when(p.is_not_null() & (p != 0))
        .then((v - p) / p.abs())
        .round(VALUE_DECIMALS)
        .alias("change_pct"),
    )


def metrics_table(data: ReportData) -> Table:
    from cs_metrics.report import period_rows

    labels = _labels(data)
    frame = _with_change(period_rows(data))
    frame = frame.select(
        "period",
        "metric",
        pl.col("metric").replace_strict(labels, default=None).alias("label"),
        "value",
        "unit",
        "previous",
        "change",
        "change_pct",
    )
    rank = {m: i for i, m in enumerate(data.shown)}
    frame = frame.sort(pl.col("metric").replace_strict(rank, default=len(rank)))
    return Table(
        "metrics",
        f"Metrics, {data.period.label}",
        _finite(frame),
        units={"change_pct": "ratio"},
        row_units={"value": "unit", "previous": "unit", "change": "unit"},
    )


def breakdown_table(data: ReportData, dim: str) -> Table:
    res = data.breakdowns[dim]
    labels = _labels(data)
    rank = {m: i for i, m in enumerate(data.shown)}
    frame = _with_change(res.frame).select(
        "period",
        dim,
        "metric",
        pl.col("metric").replace_strict(labels, default=None).alias("label"),
        "value",
        "unit",
        "previous",
        "change",
    )
    frame = frame.sort(
        pl.col(dim), pl.col("metric").replace_strict(rank, default=len(rank)), nulls_last=True
    )
    return Table(
        f"breakdown_{dim}",
        f"Metrics by {dim}, {data.period.label}",
        _finite(frame),
        row_units={"value": "unit", "previous": "unit", "change": "unit"},
    )


def trend_table(data: ReportData) -> Table:
    from cs_metrics.report import series_frame

    frame = series_frame(data)
    units = {n: _unit(data, m) for n, m in data.main.metrics.items()}
    return Table(
        "trend",
        f"Series, {data.periods[0].label} to {data.period.label}",
        _finite(frame),
        units=units,
    )


def _unit(data: ReportData, meta: MetricMeta) -> str:
    return data.currency if meta.unit == "currency" else meta.unit


def health_bands_frame(data: ReportData) -> pl.DataFrame:
    """band, accounts, previous_accounts, change, mrr, previous_mrr (worst band first)."""
    assert data.health is not None
    cur, prev = data.period.label, data.previous.label
    h = data.health.with_columns(pl.col("band").fill_null("(no score)"))
    per = h.group_by("period", "band").agg(
        pl.len().cast(pl.Int64).alias("accounts"), pl.col("mrr").sum().alias("mrr")
    )
    now = per.filter(pl.col("period") == cur).drop("period")
    before = per.filter(pl.col("period") == prev).select(
        "band",
        pl.col("accounts").alias("previous_accounts"),
        pl.col("mrr").alias("previous_mrr"),
    )
    order = [*data.band_order, "(no score)"]
    bands = pl.DataFrame({"band": order, "__i": list(range(len(order)))})
    out = (
        bands.join(now, on="band", how="left")
        .join(before, on="band", how="left")
        .with_columns(
            pl.col("accounts").fill_null(0),
            pl.col("previous_accounts").fill_null(0),
            pl.col("mrr").fill_null(0.0),
            pl.col("previous_mrr").fill_null(0.0),
        )
        .filter(
            (pl.col("band") != "(no score)")
            | (pl.col("accounts") + pl.col("previous_accounts") > 0)
        )
        .sort("__i")
    )
    return out.select(
        pl.lit(cur).alias("period"),
        pl.when(pl.col("band") != "(no score)").then(pl.col("band")).alias("band"),
        "accounts",
        "previous_accounts",
        (pl.col("accounts") - pl.col("previous_accounts")).alias("change"),
        "mrr",
        "previous_mrr",
    )


def health_bands_table(data: ReportData) -> Table:
    c = data.currency
    return Table(
        "health_bands",
        f"Health bands, {data.period.label} vs {data.previous.label}",
        health_bands_frame(data),
        units={
            "accounts": "count",
            "previous_accounts": "count",
            "change": "count",
            "mrr": c,
            "previous_mrr": c,
        },
    )


def health_accounts_frame(data: ReportData) -> pl.DataFrame:
    """Every scored account of the period, worst first, with MRR at risk and its alerts."""
    assert data.health is not None
    h = data.health.filter(pl.col("period") == data.period.label)
    h = h.with_columns(
        (pl.col("mrr") * (100.0 - pl.col("score")) / 100.0).alias("mrr_at_risk"),
        pl.col("account").cast(pl.String),
    )
    if data.account_names:
        names = pl.DataFrame(
            {"account": list(data.account_names), "name": list(data.account_names.values())},
            schema={"account": pl.String, "name": pl.String},
        )
        h = h.join(names, on="account", how="left")
    if data.alerts is not None and data.alerts.height:
        fired = (
            data.alerts.select(pl.col("account").cast(pl.String), "alert")
            .unique(maintain_order=True)
            .group_by("account", maintain_order=True)
            .agg(pl.col("alert").str.join(", ").alias("alerts"))
        )
        h = h.join(fired, on="account", how="left")
    fixed = ["period", "account", "name", "band", "score", "previous_score", "score_change"]
    fixed += ["mrr", "mrr_at_risk", "weakest", "alerts", "coverage"]
    first = [c for c in fixed if c in h.columns]
    rest = [c for c in h.columns if c not in first]
    return _finite(h.select(*first, *rest).sort(["score", "account"], nulls_last=True))


def health_accounts_table(data: ReportData) -> Table:
    frame = health_accounts_frame(data)
    units = {c: "score" for c in ("score", "previous_score", "score_change")}
    units |= {"mrr": data.currency, "mrr_at_risk": data.currency, "coverage": "ratio"}
    hb = data.spec.model.health
    for comp_name, comp in hb.components.items():
        units[comp_name] = "score"
        units[f"{comp_name}_value"] = value_unit(data, _input_name(comp))
    return Table(
        "health_accounts",
        f"Account health, {data.period.label}",
        frame,
        units={k: v for k, v in units.items() if k in frame.columns},
    )


def attention_frame(data: ReportData) -> pl.DataFrame:
    """Accounts in the worst band, most MRR at risk first; else the lowest scores."""
    frame = health_accounts_frame(data)
    worst = data.band_order[0] if data.band_order else None
    red = frame.filter(pl.col("band") == worst)
    if red.height:
        return red.sort(["mrr_at_risk", "account"], descending=[True, False], nulls_last=True)
    return frame.filter(pl.col("score").is_not_null()).head(10)


def _input_name(comp: Any) -> str:
    from cs_metrics.health import input_metric

    return input_metric(comp)


def value_unit(data: ReportData, name: str) -> str:
    """The unit of a metric-like name used in alerts and health inputs."""
    from cs_metrics.engine import CHANGE_NAME
    from cs_metrics.metrics.registry import REGISTRY, load_all, unit_of

    load_all()
    if name in data.main.metrics:
        return _unit(data, data.main.metrics[name])
    if name in ("health", "health_score", "health_change"):
        return "score"
    spec_metrics = data.spec.model.metrics
    if name in spec_metrics:
        m = spec_metrics[name]
        u = unit_of(REGISTRY[m.type], m.model_dump())
        return data.currency if u == "currency" else u
    if name in REGISTRY:
        u = unit_of(REGISTRY[name], {})
        return data.currency if u == "currency" else u
    if (m := CHANGE_NAME.match(name)) and (m[1] in spec_metrics or m[1] in REGISTRY):
        return "ratio" if m[2] == "change" else value_unit(data, m[1])
    return ""


def alerts_table(data: ReportData) -> Table:
    assert data.alerts is not None
    frame = data.alerts
    if data.account_names and "account" in frame.columns:
        names = pl.DataFrame(
            {"account": list(data.account_names), "name": list(data.account_names.values())},
            schema={"account": pl.String, "name": pl.String},
        )
        frame = frame.with_columns(pl.col("account").cast(pl.String)).join(
            names, on="account", how="left", maintain_order="left"
        )
        cols = [
            "period",
            "account",
            "name",
            *[c for c in frame.columns if c not in ("period", "account", "name")],
        ]
        frame = frame.select(cols)
    fixed = {"period", "account", "name", "alert", "severity", "action"}
    units = {
        c: u
        for c in frame.columns
        if c not in fixed and frame.schema[c].is_numeric() and (u := value_unit(data, c))
    }
    return Table("alerts", f"Alerts fired, {data.period.label}", _finite(frame), units=units)


def cohorts_table(data: ReportData) -> Table:
    assert data.cohorts is not None
    c = data.currency
    units = {
        "customers_start": "count",
        "customers": "count",
        "logo_retention": "ratio",
        "mrr_start": c,
        "mrr": c,
        "revenue_retention": "ratio",
    }
    return Table(
        "cohorts",
        f"Retention by {data.cohorts.grain} cohort",
        _finite(data.cohorts.frame),
        units=units,
    )


def definitions_frame(data: ReportData) -> pl.DataFrame:
    """section, name, label, type, unit, definition, options, sources: every definition used."""
    from cs_metrics.metrics.registry import REGISTRY, load_all, unit_of

    load_all()
    rows: list[dict[str, Any]] = []
    spec_metrics = data.spec.model.metrics
    for name, meta in data.main.metrics.items():
        if name in spec_metrics:
            m = spec_metrics[name]
            mt = REGISTRY[m.type]
            skip = {"type", "label", "description", "filter"} | (
                {"expr"} if m.type == "formula" else set()
            )
            values = m.model_dump(exclude=skip)
            explicit = m.model_fields_set
            definition = m.expr if m.type == "formula" else mt.formula
            opts = [
                f"{k}={_opt(v)}" + ("" if k in explicit else " (default)")
                for k, v in values.items()
                if not (v is None and k not in explicit)
            ]
            sources = _sources(mt, values, data.spec.model.sources)
            where = m.filter or ""
            mtype = m.type
            description = m.description or mt.description
        else:
            mt = REGISTRY[name]
            definition = mt.formula
            opts = [
                f"{k}={_opt(o.default)} (default)"
                for k, o in mt.options.items()
                if o.default is not None
            ]
            sources = _sources(mt, {}, data.spec.model.sources)
            where = ""
            mtype = name
            description = mt.description
        u = unit_of(mt, {}) if meta.unit == "" else meta.unit
        rows.append(
            {
                "section": "metric",
                "name": name,
                "label": meta.label or nice_label(name),
                "type": mtype,
                "unit": data.currency if u == "currency" else u,
                "definition": definition,
                "filter": where,
                "options": ", ".join(opts),
                "sources": sources,
                "description": description or "",
            }
        )
    hb = data.spec.model.health
    if data.health is not None and hb is not None:
        total = sum(c.weight for c in hb.components.values())
        for cname, comp in hb.components.items():
            if comp.scale is not None:
                how = f"linear from {comp.scale[0]:g} (score 0) to {comp.scale[1]:g} (score 100), clipped"
            else:
                steps = [
                    (
                        f"above {s.above:g}: {s.score:g}"
                        if s.above is not None
                        else f"else {s.score:g}"
                    )
                    for s in comp.thresholds or []
                ]
                how = "thresholds: " + "; ".join(steps)
            rows.append(
                _def_row(
                    "health",
                    cname,
                    "",
                    "score",
                    f"{_input_name(comp)}: {how}",
                    f"weight={comp.weight:g} ({comp.weight / total:.0%} of the score)",
                )
            )
        below, top = hb.band_steps()
        bands = "; ".join(f"{n}: score below {c:g}" for n, c in below) + f"; {top}: the rest"
        rows.append(
            _def_row(
                "health",
                "score",
                "health score",
                "score",
                "sum(weight x component score) / sum(weight) over the components with a value; "
                + bands,
                f"missing={hb.missing}",
            )
        )
    if data.alerts is not None:
        for alert in data.spec.model.alerts:
            rows.append(
                _def_row(
                    "alert",
                    alert.name,
                    alert.action,
                    "",
                    alert.when,
                    f"severity={alert.severity}",
                )
            )
    if data.cohorts is not None:
        rows.append(
            _def_row(
                "cohort",
                "cohorts",
                f"{data.cohorts.grain} cohorts",
                "ratio",
                "an account's cohort is the period of its first day of positive MRR; "
                "logo_retention = cohort accounts with MRR > 0 at the end of period cohort+age / "
                "accounts in the cohort; revenue_retention = their MRR then / the cohort's "
                "starting MRR; 'all' is the weighted average over the cohorts that reached the age",
                f"grain={data.cohorts.grain}, cohorts={len(data.cohorts.cohorts)}",
            )
        )
    schema = {
        k: pl.String
        for k in ("section", "name", "label", "type", "unit", "definition", "filter", "options")
    }
    schema |= {"sources": pl.String, "description": pl.String}
    return pl.DataFrame(rows, schema=schema)


def _def_row(
    section: str, name: str, label: str, unit: str, definition: str, options: str
) -> dict[str, Any]:
    return {
        "section": section,
        "name": name,
        "label": label,
        "type": section,
        "unit": unit,
        "definition": definition,
        "filter": "",
        "options": options,
        "sources": "",
        "description": "",
    }


def _opt(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_opt(v) for v in value) + "]"
    if isinstance(value, float) and value.is_integer():
        return f"{value:g}"
    return str(value)


def _sources(mt: Any, values: dict[str, Any], configured: Any = ()) -> str:
    """The source roles a metric reads: its ``source`` option, else for each requirement the
    first configured alternative (``subscriptions|invoices`` -> subscriptions)."""
    if values.get("source"):
        return str(values["source"])
    used = []
    for need in mt.requires:
        options = need.split("|")
        have = [r for r in options if r in configured]
        used.append(have[0] if have else " or ".join(options))
    return ", ".join(used) or "metrics"


def definitions_table(data: ReportData) -> Table:
    return Table("definitions", "Definitions used", definitions_frame(data))


def _finite(frame: pl.DataFrame) -> pl.DataFrame:
    floats = [c for c, t in frame.schema.items() if t.is_float()]
    return frame.with_columns(
        pl.when(pl.col(c).is_finite()).then(pl.col(c)).otherwise(None).alias(c) for c in floats
    )


# --------------------------------------------------------------------------- the bundle


def bundle_files(data: ReportData) -> dict[str, Callable[[Path], None]]:
    """file name -> writer, for the report's formats (rendered in memory first, so a
    failure while rendering never touches the file system)."""
    tabs = tables(data)
    files: dict[str, Callable[[Path], None]] = {}
    formats = data.settings.formats
    if "html" in formats:
        files["summary.html"] = _text(render_html(data, tabs))
    if "md" in formats:
        files["summary.md"] = _text(render_markdown(data, tabs))
    if "xlsx" in formats:
        blob = xlsx_bytes(data, tabs)
        files["metrics.xlsx"] = lambda path: path.write_bytes(blob)
    if "csv" in formats:
        for t in tabs:
            files[f"{t.name}.csv"] = _text(t.frame.write_csv())
    return files


def _text(content: str) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        with open(path, "w", encoding="utf-8", newline="") as fh:
            fh.write(content)

    return write


# --------------------------------------------------------------------------- xlsx


def xlsx_bytes(data: ReportData, tabs: list[Table]) -> bytes:
    """The workbook: one sheet per table, number formats by unit, header frozen."""
    buf = io.BytesIO()
    write_sheets(
        buf,
        [Sheet(t.name, t.frame, units=t.units, row_units=t.row_units) for t in tabs],
        data.currency,
        properties={
            "title": data.settings.title,
            "subject": data.period.label,
            "created": data.generated.replace(tzinfo=None),
        },
    )
    return buf.getvalue()


# --------------------------------------------------------------------------- words


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


def _point(data: ReportData, name: str) -> tuple[float | None, float | None, str, str | None]:
    rows = data.main.frame.filter(
        (pl.col("period") == data.period.label) & (pl.col("metric") == name)
    )
    if rows.height == 0:
        return None, None, data.main.metrics[name].unit, None
    r = rows.row(0, named=True)
    return _num(r["value"]), _num(r["previous"]), r["unit"], r["note"]


def _num(v: Any) -> float | None:
    return float(v) if v is not None and math.isfinite(v) else None


def _series(data: ReportData, name: str) -> list[float | None]:
    frame = data.main.frame.filter(pl.col("metric") == name).select("period", "value")
    by = {p: _num(v) for p, v in frame.iter_rows()}
    return [by.get(p.label) for p in data.periods]


def _label(data: ReportData, name: str) -> str:
    meta = data.main.metrics.get(name)
    return meta.label if meta is not None and meta.label else nice_label(name)


def fmt(data: ReportData, value: float | None, unit: str) -> str:
    return format_value(value, unit, data.currency)


def _roles_frame(data: ReportData, types: tuple[str, ...]) -> pl.DataFrame | None:
    """period + a column per chart input type (renamed from the metric that provides it)."""
    have = [t for t in types if t in data.roles]
    if not have:
        return None
    from cs_metrics.report import series_frame

    wide = series_frame(data)
    return wide.select("period", *[pl.col(data.roles[t]).alias(t) for t in have])


@dataclass
class Chart:
    key: str
    title: str
    hint: str
    svg: str
    wide: bool = True  # every chart spans the page (their text is sized for it)
    extra: str = ""  # html under the chart


def charts(data: ReportData) -> list[Chart]:
    """The charts the spec has data for, in page order."""
    from cs_metrics import charts as ch
    from cs_metrics.report import MOVEMENT_TYPES

    out: list[Chart] = []
    n = len(data.periods)
    span = f"last {n} {_grain_word(data, n)}" if n > 1 else data.period.label
    cur = data.currency
    frame = _roles_frame(data, MOVEMENT_TYPES)
    if frame is not None and "mrr" in frame.columns:
        out.append(
            Chart(
                "mrr",
                "MRR and its movements",
                f"{span} · ending MRR above; new, expansion and reactivation up, contraction "
                "and churn down; ◆ net new MRR",
                ch.mrr_movements(frame, cur),
                wide=True,
            )
        )
    frame = _roles_frame(data, ("nrr", "grr"))
    if frame is not None:
        series = {c: _role_label(data, c) for c in frame.columns[1:]}
        out.append(
            Chart(
                "retention",
                "Revenue retention",
                f"{span} · NRR counts expansion, GRR only losses",
                ch.trend(frame, series, "ratio", cur),
            )
        )
    frame = _roles_frame(data, ("customer_churn_rate", "gross_mrr_churn_rate"))
    if frame is not None:
        series = {c: _role_label(data, c) for c in frame.columns[1:]}
        out.append(
            Chart(
                "churn",
                "Churn",
                f"{span} · share of customers and of MRR lost in the period",
                ch.trend(frame, series, "ratio", cur),
            )
        )
    frame = _roles_frame(data, ("nps",))
    if frame is not None:
        out.append(
            Chart(
                "nps",
                "Net Promoter Score",
                f"{span} · promoters minus detractors, -100 to 100",
                ch.trend(frame, {"nps": _role_label(data, "nps")}, "score", cur),
            )
        )
    if data.health is not None:
        every = health_bands_frame(data)
        bands = every.filter(pl.col("band").is_not_null())
        prev, now = short_period(data.previous), short_period(data.period)
        out.append(
            Chart(
                "health",
                "Health bands",
                f"accounts per band, {now} vs {prev}; MRR per band",
                ch.health_bands(bands, data.band_order, currency=cur, labels=(prev, now)),
                wide=True,
                extra=_bands_table_html(data, every),
            )
        )
    if data.cohorts is not None and data.cohorts.frame.height:
        basis = data.settings.cohorts.basis if data.settings.cohorts else "both"
        word = data.cohorts.grain + "s"
        for value, title, on in (
            ("logo_retention", "Logo retention by cohort", basis in ("logo", "both")),
            ("revenue_retention", "Revenue retention by cohort", basis in ("revenue", "both")),
        ):
            if on:
                out.append(
                    Chart(
                        f"cohort-{value.split('_')[0]}",
                        title,
                        f"{data.cohorts.grain} cohorts by first paid day; {word} since start →; "
                        "the bottom row is the weighted average",
                        ch.cohort_heatmap(
                            data.cohorts.frame, value, age_label=f"{word.capitalize()} since start"
                        ),
                        wide=True,
                    )
                )
    return out


def _role_label(data: ReportData, t: str) -> str:
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


def _grain_word(data: ReportData, n: int) -> str:
    g = data.period.grain
    word = {"month": "month", "quarter": "quarter", "year": "year", "week": "week"}.get(g, "period")
    return word + ("s" if n != 1 else "")


# --------------------------------------------------------------------------- html

CSS = """
:root{--bg:#f4f6fb;--card:#fff;--ink:#0f172a;--text:#334155;--muted:#64748b;--faint:#94a3b8;
--line:#e2e8f0;--soft:#f1f5f9;--accent:#6366f1;--good:#047857;--good-bg:#d1fae5;--bad:#b91c1c;
--bad-bg:#fee2e2;--warn:#92400e;--warn-bg:#fef3c7}
*{box-sizing:border-box}
html{-webkit-print-color-adjust:exact;print-color-adjust:exact}
body{margin:0;background:var(--bg);color:var(--text);
font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
.page{max-width:1180px;margin:0 auto;padding:28px 28px 40px}
header.top{display:flex;justify-content:space-between;align-items:flex-end;gap:24px;
margin-bottom:20px;flex-wrap:wrap}
.eyebrow{font-size:11.5px;font-weight:700;letter-spacing:.09em;text-transform:uppercase;
color:var(--accent)}
h1{margin:4px 0 6px;font-size:28px;line-height:1.15;color:var(--ink);letter-spacing:-.015em}
.sub{color:var(--muted);display:flex;gap:8px;align-items:center;flex-wrap:wrap}
.pill{display:inline-block;padding:2px 10px;border-radius:999px;background:#e0e7ff;color:#3730a3;
font-weight:600;font-size:12px}
.meta{color:var(--muted);font-size:12px;text-align:right}
.meta b{color:var(--text);font-weight:600}
.highlights{display:flex;flex-wrap:wrap;gap:8px;list-style:none;padding:0;margin:0 0 16px}
.highlights li{background:var(--card);border:1px solid var(--line);border-radius:999px;
padding:4px 12px;font-size:13px;color:var(--ink)}
.notice{background:var(--warn-bg);color:var(--warn);border:1px solid #fde68a;border-radius:12px;
padding:10px 14px;margin:0 0 16px;font-size:13px}
.notice ul{margin:4px 0 0;padding-left:18px}
.kpis{display:grid;grid-template-columns:repeat(4,minmax(0,1fr));gap:14px;margin-bottom:14px}
.card{background:var(--card);border:1px solid var(--line);border-radius:14px;padding:16px 18px;
box-shadow:0 1px 2px rgba(15,23,42,.04),0 6px 16px -8px rgba(15,23,42,.08)}
.kpi{display:flex;flex-direction:column;min-height:128px}
.kpi .label{font-size:11.5px;color:var(--muted);font-weight:600;text-transform:uppercase;
letter-spacing:.05em;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.kpi .value{font-size:25px;font-weight:700;color:var(--ink);margin:6px 0 2px;
font-variant-numeric:tabular-nums;letter-spacing:-.01em;white-space:nowrap}
.kpi .prev{font-size:12px;color:var(--muted)}
.kpi .foot{display:flex;align-items:flex-end;justify-content:space-between;gap:8px;margin-top:auto;
padding-top:8px}
.kpi .spark svg{display:block;width:96px;height:26px}
.chip{display:inline-flex;align-items:center;gap:3px;padding:2px 8px;border-radius:999px;
font-weight:600;font-size:12px;white-space:nowrap;font-variant-numeric:tabular-nums}
.chip.good{background:var(--good-bg);color:var(--good)}
.chip.bad{background:var(--bad-bg);color:var(--bad)}
.chip.neutral{background:var(--soft);color:#475569}
.grid{display:grid;grid-template-columns:repeat(2,minmax(0,1fr));gap:14px;margin-bottom:14px}
.wide{grid-column:1/-1}
.card h2{font-size:15.5px;color:var(--ink);margin:0 0 2px;letter-spacing:-.005em}
.hint{color:var(--muted);font-size:12.5px;margin:0 0 10px}
.chart svg{display:block;width:100%;height:auto}
section.card{margin-bottom:14px}
table{width:100%;border-collapse:collapse;font-variant-numeric:tabular-nums;font-size:13px}
th{font-size:11px;text-transform:uppercase;letter-spacing:.05em;color:var(--muted);font-weight:600;
text-align:left;padding:7px 10px;border-bottom:1px solid var(--line);white-space:nowrap}
td{padding:7px 10px;border-bottom:1px solid var(--soft);vertical-align:top}
tr:last-child td{border-bottom:0}
.r{text-align:right;white-space:nowrap}
.muted{color:var(--faint)}
.good{color:var(--good)}.bad{color:var(--bad)}
tr.family th{background:#f8fafc;color:var(--text);font-size:11px;padding-top:9px}
.band{display:inline-block;padding:1px 8px;border-radius:999px;font-size:11.5px;font-weight:600;
color:#fff}
.sev{display:inline-block;padding:1px 8px;border-radius:6px;font-size:11px;font-weight:700;
text-transform:uppercase;letter-spacing:.04em}
.sev.critical{background:#7f1d1d;color:#fff}.sev.high{background:var(--bad-bg);color:var(--bad)}
.sev.medium{background:var(--warn-bg);color:var(--warn)}.sev.low{background:var(--soft);color:#475569}
.acct b{color:var(--ink);font-weight:600}.acct small{display:block;color:var(--faint);font-size:11px}
.alerts-sum{display:grid;grid-template-columns:repeat(auto-fill,minmax(250px,1fr));gap:10px;
margin:4px 0 14px}
.alert-card{border:1px solid var(--line);border-radius:10px;padding:10px 12px;background:#fcfcfd}
.alert-card .n{font-size:22px;font-weight:700;color:var(--ink)}
.alert-card .what{font-weight:600;color:var(--ink)}
.alert-card .act{color:var(--muted);font-size:12.5px}
.more{color:var(--muted);font-size:12.5px;margin:8px 0 0}
.bands-mini{margin-top:8px}
.bands-mini td,.bands-mini th{padding:5px 10px}
.defs{table-layout:fixed}
.defs td{font-size:12px;padding:5px 10px;overflow-wrap:anywhere}
.defs td:first-child{font-weight:600;color:var(--ink);overflow-wrap:break-word}
.defs td small{display:block;font-weight:400;color:var(--faint);font-size:11px}
.defs code,.hits code{font-size:11.5px;background:var(--soft);padding:1px 4px;border-radius:4px}
table.all td{padding:5px 10px}
td.spark{padding-top:3px;padding-bottom:0}td.spark svg{display:inline-block;vertical-align:middle}
.hits tr.family th{text-transform:none;letter-spacing:0;font-size:12.5px;color:var(--ink)}
.hits .act{font-weight:400;color:var(--muted)}
footer{color:var(--muted);font-size:12px;margin-top:18px;line-height:1.6}
footer code{font-size:11.5px}
@media (max-width:960px){.kpis{grid-template-columns:repeat(2,minmax(0,1fr))}
.grid{grid-template-columns:1fr}}
@page{size:A4;margin:12mm}
@media print{body{background:#fff;font-size:12px}.page{max-width:none;padding:0}
.card{box-shadow:none;break-inside:avoid}.kpis{grid-template-columns:repeat(4,minmax(0,1fr))}
.grid{grid-template-columns:repeat(2,minmax(0,1fr))}section.card{break-inside:auto}
tr{break-inside:avoid}h2{break-after:avoid}}
""".strip()


def highlights(data: ReportData) -> list[str]:
    """The month in a few phrases: MRR, logos won and lost, the worst band, alerts."""
    out = []
    prev = short_period(data.previous)
    if "mrr" in data.roles:
        name = data.roles["mrr"]
        value, previous, unit, _ = _point(data, name)
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
    won = [_point(data, by_type[t])[0] for t in ("new_customers",) if t in by_type]
    lost = [_point(data, by_type[t])[0] for t in ("churned_customers",) if t in by_type]
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


def _chip(text: str, tone: str) -> str:
    cls = tone if tone in ("good", "bad") else "neutral"
    return f'<span class="chip {cls}">{esc(text)}</span>'


def _change(
    data: ReportData, name: str, value: float | None, previous: float | None, unit: str
) -> tuple[str, str]:
    meta = data.main.metrics.get(name)
    hib = meta.higher_is_better if meta is not None else None
    return format_change(value, previous, unit, data.currency, hib)


def _kpi_html(data: ReportData, name: str) -> str:
    from cs_metrics import charts as ch

    value, previous, unit, note = _point(data, name)
    text, tone = _change(data, name, value, previous, unit)
    label = _label(data, name)
    prev_text = (
        f"vs {fmt(data, previous, unit)} in {short_period(data.previous)}"
        if previous is not None
        else f"no value for {short_period(data.previous)}"
    )
    values = _series(data, name)
    spark = ""
    if sum(v is not None for v in values) > 1:
        color = {"good": "#059669", "bad": "#dc2626"}.get(tone, "#6366f1")
        spark = ch.sparkline_svg(
            values, 96, 26, color=color, label=f"{label}, last {len(values)} periods"
        )
    title = f' title="{esc(note)}"' if value is None and note else ""
    return (
        f'<div class="card kpi" data-metric="{esc(name)}">'
        f'<div class="label" title="{esc(label)}">{esc(label)}</div>'
        f'<div class="value"{title}>{esc(fmt(data, value, unit))}</div>'
        f'<div class="prev">{esc(prev_text)}</div>'
        f'<div class="foot">{_chip(text, tone)}<span class="spark">{spark}</span></div>'
        "</div>"
    )


BAND_FALLBACK = ("#ef4444", "#f59e0b", "#22c55e")


def band_colors(data: ReportData) -> dict[str, str]:
    from cs_metrics.charts import BAND_COLORS

    order = data.band_order
    out = {}
    for i, b in enumerate(order):
        key = b.lower().replace(" ", "_").replace("-", "_")
        fallback = (
            BAND_FALLBACK[0]
            if i == 0
            else BAND_FALLBACK[2]
            if i == len(order) - 1
            else BAND_FALLBACK[1]
        )
        out[b] = BAND_COLORS.get(key, fallback)
    return out


def _band(data: ReportData, band: str | None) -> str:
    if band is None:
        return '<span class="muted">no score</span>'
    color = band_colors(data).get(band, "#94a3b8")
    ink = "#0f172a" if color in ("#facc15", "#f59e0b") else "#fff"
    return f'<span class="band" style="background:{color};color:{ink}">{esc(band)}</span>'


def _bands_table_html(data: ReportData, bands: pl.DataFrame) -> str:
    cur = data.currency
    rows = []
    for r in bands.iter_rows(named=True):
        diff = r["change"]
        worst = data.band_order and r["band"] == data.band_order[0]
        best = data.band_order and r["band"] == data.band_order[-1]
        tone = ""
        if diff and (worst or best):
            tone = "good" if (diff > 0) == bool(best) else "bad"
        sign = f"{diff:+,d}" if diff else "0"
        rows.append(
            f"<tr><td>{_band(data, r['band'])}</td>"
            f'<td class="r">{r["accounts"]:,}</td><td class="r">{r["previous_accounts"]:,}</td>'
            f'<td class="r {tone}">{sign}</td>'
            f'<td class="r">{esc(format_value(r["mrr"], cur, cur))}</td>'
            f'<td class="r">{esc(format_value(r["previous_mrr"], cur, cur))}</td></tr>'
        )
    return (
        '<table class="bands-mini"><thead><tr><th>Band</th>'
        f'<th class="r">Accounts</th><th class="r">{esc(short_period(data.previous))}</th>'
        '<th class="r">Change</th><th class="r">MRR</th>'
        f'<th class="r">MRR {esc(short_period(data.previous))}</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _account_cell(data: ReportData, account: str) -> str:
    name = data.account_names.get(account)
    if name:
        return f'<span class="acct"><b>{esc(name)}</b><small>{esc(account)}</small></span>'
    return f'<span class="acct"><b>{esc(account)}</b></span>'


def _attention_html(data: ReportData) -> str:
    frame = attention_frame(data)
    total = frame.height
    worst = data.band_order[0] if data.band_order else ""
    cur = data.currency
    in_red = frame.height and frame["band"][0] == worst
    hint = (
        f"the {total} account{'s' if total != 1 else ''} in the {worst} band, most MRR at risk "
        "first (MRR x (100 - score) / 100)"
        if in_red
        else f"no account is in the {worst} band; the lowest scores"
    )
    if total == 0:
        return (
            '<section class="card" id="attention"><h2>Accounts needing attention</h2>'
            '<p class="hint">no scored accounts in this period</p></section>'
        )
    has_alerts = "alerts" in frame.columns
    head = (
        '<tr><th>Account</th><th>Band</th><th class="r">Score</th><th class="r">Change</th>'
        '<th class="r">MRR</th><th class="r">MRR at risk</th><th>Weakest components</th>'
        + ("<th>Alerts</th>" if has_alerts else "")
        + "</tr>"
    )
    rows = []
    for r in frame.head(ATTENTION_ROWS).iter_rows(named=True):
        ch = r["score_change"]
        if ch is None:
            change = '<span class="muted">new</span>' if r["previous_score"] is None else NULL
        else:
            tone = "good" if ch > 0.05 else "bad" if ch < -0.05 else "muted"
            change = f'<span class="{tone}">{ch:+.1f}</span>'
        rows.append(
            f"<tr><td>{_account_cell(data, r['account'])}</td><td>{_band(data, r['band'])}</td>"
            f'<td class="r">{_score(r["score"])}</td><td class="r">{change}</td>'
            f'<td class="r">{esc(format_value(r["mrr"], cur, cur))}</td>'
            f'<td class="r"><b>{esc(format_value(r["mrr_at_risk"], cur, cur))}</b></td>'
            f"<td>{esc(r['weakest'] or '')}</td>"
            + (f"<td>{esc(r['alerts'] or '')}</td>" if has_alerts else "")
            + "</tr>"
        )
    more = ""
    if total > ATTENTION_ROWS:
        more = (
            f'<p class="more">and {total - ATTENTION_ROWS} more; every account is in '
            "health_accounts.csv and the health_accounts sheet</p>"
        )
    at_risk = frame["mrr_at_risk"].sum() if in_red else None
    risk = f" · {format_value(at_risk, cur, cur)} MRR at risk" if at_risk else ""
    return (
        '<section class="card" id="attention"><h2>Accounts needing attention</h2>'
        f'<p class="hint">{esc(hint)}{esc(risk)}</p>'
        f"<table><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>{more}</section>"
    )


def _score(v: float | None) -> str:
    return NULL if v is None else f"{v:.1f}"


def _alert_values(data: ReportData, row: dict[str, Any], cols: list[str]) -> str:
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


def _alerts_html(data: ReportData) -> str:
    frame = data.alerts
    assert frame is not None
    if frame.height == 0:
        return (
            '<section class="card" id="alerts"><h2>Alerts fired</h2>'
            f'<p class="hint">no alert fired in {esc(data.period.label)}</p></section>'
        )
    fixed = {"period", "account", "name", "alert", "severity", "action"}
    value_cols = [c for c in frame.columns if c not in fixed]
    frame = _with_mrr(data, frame)
    summary = frame.group_by("alert", "severity", "action", maintain_order=True).agg(
        pl.len().alias("n"), pl.col("__mrr").sum().alias("mrr")
    )
    cur = data.currency
    has_mrr = data.health is not None
    cards, rows = [], []
    for r in summary.iter_rows(named=True):
        n, sev = r["n"], esc(r["severity"])
        mrr = f" · {esc(format_value(r['mrr'], cur, cur))} MRR" if has_mrr else ""
        cards.append(
            f'<div class="alert-card"><span class="sev {sev}">{sev}</span> '
            f'<span class="what">{esc(r["alert"])}</span>'
            f'<div><span class="n">{n}</span> account{"s" if n != 1 else ""}{mrr}</div>'
            f'<div class="act">{esc(r["action"] or "")}</div></div>'
        )
        hits = frame.filter(pl.col("alert") == r["alert"]).sort(
            ["__mrr", "account"], descending=[True, False], nulls_last=True
        )
        rows.append(
            f'<tr class="family"><th colspan="{3 if has_mrr else 2}"><span class="sev {sev}">'
            f"{sev}</span> {esc(r['alert'])} · {n} account{'s' if n != 1 else ''}"
            f'<span class="act"> — {esc(r["action"] or "")}</span></th></tr>'
        )
        for h in hits.head(ALERTS_PER_KIND).iter_rows(named=True):
            mrr_cell = (
                f'<td class="r">{esc(format_value(h["__mrr"], cur, cur))}</td>' if has_mrr else ""
            )
            rows.append(
                f"<tr><td>{_account_cell(data, str(h['account']))}</td>{mrr_cell}"
                f"<td>{esc(_alert_values(data, h, value_cols))}</td></tr>"
            )
        if n > ALERTS_PER_KIND:
            rows.append(
                f'<tr><td colspan="{3 if has_mrr else 2}" class="muted">and {n - ALERTS_PER_KIND} '
                "more in alerts.csv</td></tr>"
            )
    n = frame.height
    head = "<th>Account</th>" + ('<th class="r">MRR</th>' if has_mrr else "") + "<th>Values</th>"
    return (
        '<section class="card" id="alerts"><h2>Alerts fired</h2>'
        f'<p class="hint">{n} hit{"s" if n != 1 else ""} of the spec\'s playbooks in '
        f"{esc(data.period.label)}, most severe first; within an alert, most MRR first</p>"
        f'<div class="alerts-sum">{"".join(cards)}</div>'
        f'<table class="hits"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
        "</section>"
    )


def _with_mrr(data: ReportData, frame: pl.DataFrame) -> pl.DataFrame:
    """Alert hits with the account's MRR of the period (from the health scores) as __mrr."""
    if data.health is None:
        return frame.with_columns(pl.lit(None, pl.Float64).alias("__mrr"))
    mrr = data.health.filter(pl.col("period") == data.period.label).select(
        pl.col("account").cast(pl.String), pl.col("mrr").alias("__mrr")
    )
    return frame.with_columns(pl.col("account").cast(pl.String)).join(
        mrr, on="account", how="left", maintain_order="left"
    )


def breakdown_matrix(
    data: ReportData, dim: str
) -> tuple[list[str], list[str], dict[tuple[str, str], tuple[float | None, str]], int]:
    """(metric names, dim values shown, (metric, value) -> (value, unit), all values count)."""
    res = data.breakdowns[dim]
    frame = res.frame.with_columns(pl.col(dim).fill_null("(none)"))
    metrics = [m for m in data.headline if m in set(frame["metric"].to_list())]
    if not metrics:
        metrics = [m for m in data.shown if m in set(frame["metric"].to_list())][:BREAKDOWN_COLUMNS]
    values = frame[dim].unique().sort().to_list()
    key = metrics[0] if metrics else None
    if key is not None:  # the largest groups (by the first metric) first
        first = frame.filter(pl.col("metric") == key).select(dim, "value")
        order = {d: (v if v is not None else float("-inf")) for d, v in first.iter_rows()}
        values = sorted(values, key=lambda d: (-order.get(d, float("-inf")), str(d)))
    cells = {
        (m, d): (_num(v), u)
        for d, m, v, u in frame.select(dim, "metric", "value", "unit").iter_rows()
    }
    return metrics, values[:BREAKDOWN_COLUMNS], cells, len(values)


def _breakdown_html(data: ReportData, dim: str) -> str:
    metrics, values, cells, total = breakdown_matrix(data, dim)
    head = "<th>Metric</th>" + "".join(f'<th class="r">{esc(str(v))}</th>' for v in values)
    rows = []
    for m in metrics:
        tds = []
        for v in values:
            value, unit = cells.get((m, v), (None, data.main.metrics[m].unit))
            tds.append(f'<td class="r">{esc(fmt(data, value, unit))}</td>')
        rows.append(f"<tr><td>{esc(_label(data, m))}</td>{''.join(tds)}</tr>")
    more = ""
    if total > len(values):
        more = f'<p class="more">the {len(values)} largest of {total} values shown</p>'
    return (
        f'<section class="card breakdown" id="by-{esc(dim)}"><h2>By {esc(dim)}</h2>'
        f'<p class="hint">{esc(data.period.label)} · the headline metrics; every metric by '
        f"{esc(dim)} is in breakdown_{esc(dim)}.csv and its sheet</p>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>{more}</section>"
    )


def all_metrics_blocks(data: ReportData) -> list[Any]:
    from cs_metrics.render import build_blocks
    from cs_metrics.report import period_rows
    from cs_metrics.result import MetricResult

    frame = period_rows(data)
    result = MetricResult(
        frame=frame,
        dims=[],
        metrics={
            n: replace(data.main.metrics[n], label=_label(data, n))
            for n in data.shown
            if n in data.main.metrics
        },
        periods=[data.period.label],
        currency=data.currency,
    )
    return build_blocks(result)


def _blocks_html(data: ReportData, blocks: list[Any]) -> str:
    """The family-grouped metric table, with a sparkline of each metric's trend."""
    from cs_metrics import charts as ch

    by_label = {_label(data, n): n for n in data.shown}
    out = []
    for block in blocks:
        heads = "".join(
            f"<th{' class=r' if j == 'right' else ''}>{esc(h)}</th>"
            for h, j in zip(block.headers, block.justify, strict=True)
        )
        heads += '<th class="r">Trend</th>' if len(data.periods) > 1 else ""
        width = len(block.headers) + (len(data.periods) > 1)
        rows = []
        for row in block.rows:
            if isinstance(row, str):
                rows.append(f'<tr class="family"><th colspan="{width}">{esc(row)}</th></tr>')
                continue
            tds = [html_td(cell, j) for cell, j in zip(row, block.justify, strict=True)]
            if len(data.periods) > 1:
                name = by_label.get(row[0].text)
                values = _series(data, name) if name else []
                spark = ""
                if sum(v is not None for v in values) > 1:
                    spark = ch.sparkline_svg(values, 84, 18, color="#94a3b8", label=row[0].text)
                tds.append(f'<td class="r spark">{spark}</td>')
            rows.append(f"<tr>{''.join(tds)}</tr>")
        out.append(
            f'<table class="all"><thead><tr>{heads}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
        )
        if block.notes:
            out.append('<p class="more">' + "<br>".join(esc(n) for n in block.notes) + "</p>")
    return "".join(out)


def _definitions_html(data: ReportData, defs: pl.DataFrame) -> str:
    rows = []
    titles = {"metric": "Metrics", "health": "Health score", "alert": "Alerts", "cohort": "Cohorts"}
    for section in ("metric", "health", "alert", "cohort"):
        part = defs.filter(pl.col("section") == section)
        if part.height == 0:
            continue
        rows.append(f'<tr class="family"><th colspan="4">{titles[section]}</th></tr>')
        for r in part.iter_rows(named=True):
            what = esc(r["definition"])
            if section == "alert":
                what = f"<code>{what}</code>"
            if r["filter"]:
                what += f' <span class="muted">where</span> <code>{esc(r["filter"])}</code>'
            label = r["label"] if r["label"] not in (r["name"], nice_label(r["name"])) else ""
            if section == "alert" and label:
                what += f'<br><span class="muted">then: {esc(label)}</span>'
                label = ""
            name = esc(r["name"]) + (f"<small>{esc(label)}</small>" if label else "")
            unit = " · ".join(esc(x) for x in (r["unit"], r["sources"]) if x)
            rows.append(
                f"<tr><td>{name}</td><td>{what}</td><td>{esc(r['options'])}</td>"
                f'<td class="muted">{unit}</td></tr>'
            )
    return (
        '<section class="card" id="definitions"><h2>Definitions used</h2>'
        '<p class="hint">every number in this report as computed: formula, options (defaults '
        "marked), unit and the sources read</p>"
        '<table class="defs"><colgroup><col style="width:22%"><col style="width:45%">'
        '<col style="width:19%"><col style="width:14%"></colgroup>'
        "<thead><tr><th>Name</th><th>Definition</th><th>Options</th><th>Unit · source</th></tr>"
        f"</thead><tbody>{''.join(rows)}</tbody></table></section>"
    )


def _charts_html(charts: list[Chart], section: str) -> list[str]:
    if not charts:
        return []
    out = [f'<div class="grid" id="{section}">']
    for c in charts:
        cls = "card chart wide" if c.wide else "card chart"
        out.append(
            f'<section class="{cls}" id="chart-{esc(c.key)}"><h2>{esc(c.title)}</h2>'
            f'<p class="hint">{esc(c.hint)}</p>{c.svg}{c.extra}</section>'
        )
    out.append("</div>")
    return out


def _footer(data: ReportData, tabs: list[Table]) -> str:
    rows = ", ".join(f"{r} {n:,}" for r, n in sorted(data.rows_read.items())) or "none"
    files = ["summary.html", "summary.md", "metrics.xlsx"]
    return (
        "<footer>"
        f"Generated by <b>csm report</b> on {esc(data.generated.strftime('%Y-%m-%d %H:%M %Z').strip())} "
        f"from <code>{esc(str(data.spec.path))}</code> ({esc(data.engine)} engine) · "
        f"data as of {esc(data.data_end.isoformat())}<br>"
        f"Rows read: {esc(rows)}<br>"
        f"In this bundle: {esc(', '.join(f for f in files if _has(data, f)))}"
        + (f", {len(tabs)} CSV tables" if "csv" in data.settings.formats else "")
        + "</footer>"
    )


def _has(data: ReportData, file: str) -> bool:
    ext = {"summary.html": "html", "summary.md": "md", "metrics.xlsx": "xlsx"}[file]
    return ext in data.settings.formats


def render_html(data: ReportData, tabs: list[Table] | None = None) -> str:
    tabs = tabs if tabs is not None else tables(data)
    s = data.settings
    title = s.title
    out = [
        "<!doctype html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="color-scheme" content="light">',
        f"<title>{esc(title)} · {esc(period_title(data.period))}</title>",
        f"<style>\n{CSS}\n</style>",
        "</head>",
        "<body>",
        '<div class="page">',
        '<header class="top"><div>',
        f'<div class="eyebrow">csm · {esc(s.name)} report</div>',
        f"<h1>{esc(title)}</h1>",
        f'<div class="sub"><span class="pill">{esc(period_title(data.period))}</span>'
        f"<span>compared with {esc(period_title(data.previous))}</span></div>",
        "</div>",
        f'<div class="meta">period <b>{esc(data.period.label)}</b> · data as of '
        f"<b>{esc(data.data_end.isoformat())}</b><br>generated "
        f"{esc(data.generated.strftime('%Y-%m-%d %H:%M'))}</div>",
        "</header>",
    ]
    points = highlights(data)
    if points:
        items = "".join(f"<li>{esc(h)}</li>" for h in points)
        out.append(f'<ul class="highlights" id="highlights">{items}</ul>')
    if data.warnings:
        items = "".join(f"<li>{esc(w)}</li>" for w in data.warnings)
        out.append(f'<div class="notice" id="warnings"><b>Read with care</b><ul>{items}</ul></div>')
    if data.headline:
        out.append('<section class="kpis" id="kpis">')
        out += [_kpi_html(data, n) for n in data.headline]
        out.append("</section>")
    chart_list = charts(data)
    cohort_charts = [c for c in chart_list if c.key.startswith("cohort")]
    first = [c for c in chart_list if c not in cohort_charts]
    # the month's movement first, then what to act on, then the longer view
    out += _charts_html(first, "charts")
    if data.health is not None:
        out.append(_attention_html(data))
    if data.alerts is not None:
        out.append(_alerts_html(data))
    out += _charts_html(cohort_charts, "cohorts")
    for dim in data.breakdowns:
        out.append(_breakdown_html(data, dim))
    blocks = all_metrics_blocks(data)
    if blocks:
        out.append(
            '<section class="card" id="metrics"><h2>All metrics</h2>'
            f'<p class="hint">{esc(data.period.label)} with the previous period and the change; '
            "green is better, red worse for that metric</p>"
            f"{_blocks_html(data, blocks)}</section>"
        )
    defs = next(t.frame for t in tabs if t.name == "definitions")
    out.append(_definitions_html(data, defs))
    out.append(_footer(data, [t for t in tabs]))
    out += ["</div>", "</body>", "</html>"]
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- markdown


def _md(text: str) -> str:
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _md_table(
    headers: list[str], rows: list[list[str]], right: set[int] | None = None
) -> list[str]:
    right = right or set()
    lines = ["| " + " | ".join(_md(h) for h in headers) + " |"]
    lines.append("|" + "|".join("---:" if i in right else "---" for i in range(len(headers))) + "|")
    lines += ["| " + " | ".join(_md(c) for c in r) + " |" for r in rows]
    return lines


def render_markdown(data: ReportData, tabs: list[Table] | None = None) -> str:
    from cs_metrics.render import _markdown

    tabs = tabs if tabs is not None else tables(data)
    s = data.settings
    cur = data.currency
    lines = [
        f"# {_md(s.title)} — {_md(period_title(data.period))}",
        "",
        f"Period **{data.period.label}** compared with {data.previous.label} · data as of "
        f"{data.data_end.isoformat()} · generated {data.generated.strftime('%Y-%m-%d %H:%M')} "
        f"by `csm report` from `{data.spec.path}`",
        "",
    ]
    points = highlights(data)
    if points:
        lines += [f"- {_md(h)}" for h in points] + [""]
    if data.warnings:
        lines += ["> **Read with care**", ">"]
        lines += [f"> - {_md(w)}" for w in data.warnings]
        lines.append("")
    if data.headline:
        lines += ["## Headline", ""]
        rows = []
        for n in data.headline:
            value, previous, unit, _ = _point(data, n)
            text, _tone = _change(data, n, value, previous, unit)
            rows.append([_label(data, n), fmt(data, value, unit), fmt(data, previous, unit), text])
        lines += _md_table(
            ["Metric", data.period.label, data.previous.label, "Change"], rows, {1, 2, 3}
        )
        lines.append("")
    trend = _md_trend(data)
    if trend:
        lines += ["## Trend", "", *trend, ""]
    if data.health is not None:
        bands = health_bands_frame(data)
        lines += ["## Health bands", ""]
        rows = [
            [
                r["band"] or "no score",
                f"{r['accounts']:,}",
                f"{r['previous_accounts']:,}",
                f"{r['change']:+,d}" if r["change"] else "0",
                format_value(r["mrr"], cur, cur),
            ]
            for r in bands.iter_rows(named=True)
        ]
        lines += _md_table(
            ["Band", "Accounts", data.previous.label, "Change", "MRR"], rows, {1, 2, 3, 4}
        )
        lines.append("")
        att = attention_frame(data)
        lines += ["## Accounts needing attention", ""]
        if att.height == 0:
            lines += ["No scored accounts in this period.", ""]
        else:
            rows = []
            for r in att.head(ATTENTION_ROWS).iter_rows(named=True):
                name = data.account_names.get(r["account"])
                who = f"{name} ({r['account']})" if name else r["account"]
                sc = r["score_change"]
                rows.append(
                    [
                        who,
                        r["band"] or "",
                        _score(r["score"]),
                        NULL if sc is None else f"{sc:+.1f}",
                        format_value(r["mrr"], cur, cur),
                        format_value(r["mrr_at_risk"], cur, cur),
                        r["weakest"] or "",
                        (r.get("alerts") or ""),
                    ]
                )
            lines += _md_table(
                ["Account", "Band", "Score", "Change", "MRR", "MRR at risk", "Weakest", "Alerts"],
                rows,
                {2, 3, 4, 5},
            )
            if att.height > ATTENTION_ROWS:
                lines += ["", f"…and {att.height - ATTENTION_ROWS} more in health_accounts.csv."]
            lines.append("")
    if data.alerts is not None:
        lines += ["## Alerts fired", ""]
        frame = data.alerts
        if frame.height == 0:
            lines += [f"No alert fired in {data.period.label}.", ""]
        else:
            fixed = {"period", "account", "name", "alert", "severity", "action"}
            value_cols = [c for c in frame.columns if c not in fixed]
            rows = []
            for r in frame.head(ALERT_ROWS).iter_rows(named=True):
                name = data.account_names.get(str(r["account"]))
                who = f"{name} ({r['account']})" if name else str(r["account"])
                rows.append(
                    [
                        r["severity"],
                        r["alert"],
                        who,
                        _alert_values(data, r, value_cols),
                        r["action"] or "",
                    ]
                )
            lines += _md_table(["Severity", "Alert", "Account", "Values", "Action"], rows)
            if frame.height > ALERT_ROWS:
                lines += ["", f"…and {frame.height - ALERT_ROWS} more in alerts.csv."]
            lines.append("")
    if data.cohorts is not None and data.cohorts.frame.height:
        basis = data.settings.cohorts.basis if data.settings.cohorts else "both"
        for value, title, on in (
            ("logo_retention", "Logo retention by cohort", basis in ("logo", "both")),
            ("revenue_retention", "Revenue retention by cohort", basis in ("revenue", "both")),
        ):
            if on:
                lines += [f"## {title}", "", *_md_cohorts(data, value), ""]
    for dim in data.breakdowns:
        metrics, values, cells, total = breakdown_matrix(data, dim)
        lines += [f"## By {dim}", ""]
        rows = [
            [_label(data, m)]
            + [fmt(data, *cells.get((m, v), (None, data.main.metrics[m].unit))) for v in values]
            for m in metrics
        ]
        lines += _md_table(["Metric", *map(str, values)], rows, set(range(1, len(values) + 1)))
        if total > len(values):
            lines += [
                "",
                f"The {len(values)} largest of {total} values; all in breakdown_{dim}.csv.",
            ]
        lines.append("")
    blocks = all_metrics_blocks(data)
    if blocks:
        body = _markdown(blocks).replace(f"### {data.period.label}\n\n", "", 1)
        lines += ["## All metrics", "", body.rstrip("\n"), ""]
    defs = next(t.frame for t in tabs if t.name == "definitions")
    lines += ["## Definitions used", ""]
    rows = [
        [
            r["section"],
            r["name"],
            r["definition"] + (f" [where {r['filter']}]" if r["filter"] else ""),
            r["options"],
            r["unit"],
        ]
        for r in defs.iter_rows(named=True)
    ]
    lines += _md_table(["Kind", "Name", "Definition", "Options", "Unit"], rows)
    read = ", ".join(f"{r} {n:,}" for r, n in sorted(data.rows_read.items())) or "none"
    lines += ["", f"_Rows read: {read}._", ""]
    return "\n".join(lines)


def _md_trend(data: ReportData) -> list[str]:
    cols = [
        (t, h)
        for t, h in (
            ("mrr", "MRR"),
            ("new_mrr", "New"),
            ("expansion_mrr", "Expansion"),
            ("reactivation_mrr", "Reactivation"),
            ("contraction_mrr", "Contraction"),
            ("churned_mrr", "Churned"),
            ("nrr", "NRR"),
            ("grr", "GRR"),
            ("customer_churn_rate", "Logo churn"),
            ("nps", "NPS"),
        )
        if t in data.roles
    ]
    if not cols or len(data.periods) < 2:
        return []
    wide = series_wide(data)
    rows = []
    for r in wide.iter_rows(named=True):
        row = [r["period"]]
        for t, _ in cols:
            name = data.roles[t]
            row.append(fmt(data, _num(r[name]), _unit(data, data.main.metrics[name])))
        rows.append(row)
    return _md_table(["Period", *[h for _, h in cols]], rows, set(range(1, len(cols) + 1)))


def series_wide(data: ReportData) -> pl.DataFrame:
    from cs_metrics.report import series_frame

    return series_frame(data)


def _md_cohorts(data: ReportData, value: str) -> list[str]:
    assert data.cohorts is not None
    frame = data.cohorts.frame
    ages = sorted(frame["age"].unique().to_list())
    cohorts = [*data.cohorts.cohorts, "all"]
    cells = {(c, a): _num(v) for c, a, v in frame.select("cohort", "age", value).iter_rows()}
    starts = {
        c: n
        for c, n in frame.filter(pl.col("age") == 0).select("cohort", "customers_start").iter_rows()
    }
    rows = []
    for c in cohorts:
        row = ["weighted avg" if c == "all" else c, f"{starts.get(c, 0):,}"]
        for a in ages:
            v = cells.get((c, a))
            row.append("" if v is None else f"{v * 100:.0f} %")
        rows.append(row)
    return _md_table(["Cohort", "Accounts", *map(str, ages)], rows, set(range(1, len(ages) + 2)))


__all__ = ["Table", "bundle_files", "render_html", "render_markdown", "tables", "xlsx_bytes"]
