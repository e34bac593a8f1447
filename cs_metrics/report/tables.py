"""The tables of a bundle (:func:`tables`): the single source of its CSV files and of the
sheets of ``metrics.xlsx`` (:func:`xlsx_bytes`), so the two agree; and the frames the
summaries draw from them."""

from __future__ import annotations

import io
from dataclasses import dataclass, field, replace
from typing import Any

import polars as pl

from cs_metrics.engine import VALUE_DECIMALS, requests_for
from cs_metrics.metrics import policy
from cs_metrics.metrics.base import MetricRequest
from cs_metrics.metrics.registry import REGISTRY, load_all, unit_of
from cs_metrics.render.layout import Block, build_blocks
from cs_metrics.render.machine import finite
from cs_metrics.render.numbers import finite_value
from cs_metrics.render.xlsx import Sheet, write_sheets
from cs_metrics.report.data import (
    ReportData,
    health_bands_frame,
    input_name,
    metric_unit,
    period_rows,
    series_frame,
    value_unit,
)
from cs_metrics.report.words import metric_label, metric_labels, nice_label
from cs_metrics.result import MetricResult

ATTENTION_ROWS = 15  # accounts shown in the summaries (all of them are in the tables)
BREAKDOWN_COLUMNS = 8


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


def _with_change(frame: pl.DataFrame) -> pl.DataFrame:
    v, p = pl.col("value"), pl.col("previous")
    return frame.with_columns(
        (v - p).round(VALUE_DECIMALS).alias("change"),
        pl.when(p.is_not_null() & (p != 0))
        .then((v - p) / p.abs())
        .round(VALUE_DECIMALS)
        .alias("change_pct"),
    )


def metrics_table(data: ReportData) -> Table:
    labels = metric_labels(data)
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
        finite(frame),
        units={"change_pct": "ratio"},
        row_units={"value": "unit", "previous": "unit", "change": "unit"},
    )


def breakdown_table(data: ReportData, dim: str) -> Table:
    res = data.breakdowns[dim]
    labels = metric_labels(data)
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
        finite(frame),
        row_units={"value": "unit", "previous": "unit", "change": "unit"},
    )


def trend_table(data: ReportData) -> Table:
    frame = series_frame(data)
    units = {n: metric_unit(data, m) for n, m in data.main.metrics.items()}
    return Table(
        "trend",
        f"Series, {data.periods[0].label} to {data.period.label}",
        finite(frame),
        units=units,
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
        names = _names_frame(data)
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
    return finite(h.select(*first, *rest).sort(["score", "account"], nulls_last=True))


def _names_frame(data: ReportData) -> pl.DataFrame:
    """account, name: the accounts source's names, to join onto account rows."""
    return pl.DataFrame(
        {"account": list(data.account_names), "name": list(data.account_names.values())},
        schema={"account": pl.String, "name": pl.String},
    )


def health_accounts_table(data: ReportData) -> Table:
    frame = health_accounts_frame(data)
    units = {c: "score" for c in ("score", "previous_score", "score_change")}
    units |= {"mrr": data.currency, "mrr_at_risk": data.currency, "coverage": "ratio"}
    hb = data.spec.model.health
    for comp_name, comp in hb.components.items():
        units[comp_name] = "score"
        units[f"{comp_name}_value"] = value_unit(data, input_name(comp))
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


def alerts_table(data: ReportData) -> Table:
    assert data.alerts is not None
    frame = data.alerts
    if data.account_names and "account" in frame.columns:
        names = _names_frame(data)
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
    return Table("alerts", f"Alerts fired, {data.period.label}", finite(frame), units=units)


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
        finite(data.cohorts.frame),
        units=units,
    )


def definitions_frame(data: ReportData) -> pl.DataFrame:
    """section, name, label, type, unit, definition, options, sources, policy: every
    definition used; ``policy`` is the definition options (docs/policies.md) that can change
    the row's numbers, with the run's values (:func:`policy_options`)."""
    load_all()
    rows: list[dict[str, Any]] = []
    spec_metrics = data.spec.model.metrics
    by_policy = policy_options(data)
    in_force = policy.effective(data.spec.model)
    for name, meta in data.main.metrics.items():
        if name in spec_metrics:
            m = spec_metrics[name]
            mt = REGISTRY[m.type]
            skip = {"type", "label", "description", "filter"} | (
                {"expr"} if m.type == "formula" else set()
            )
            values = m.model_dump(exclude=skip)
            explicit = m.model_fields_set
            definition = (
                m.expr if m.type == "formula" else policy.formula_of(m.type, mt.formula, in_force)
            )
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
            definition = policy.formula_of(name, mt.formula, in_force)
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
                "policy": by_policy.get(name, ""),
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
                    f"{input_name(comp)}: {how}",
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
            | {"policy": by_policy.get("", "")}
        )
    schema = {
        k: pl.String
        for k in ("section", "name", "label", "type", "unit", "definition", "filter", "options")
    }
    schema |= {"sources": pl.String, "description": pl.String, "policy": pl.String}
    return pl.DataFrame(rows, schema=schema)


def policy_options(data: ReportData) -> dict[str, str]:
    """Metric -> ``option=value, ...`` of the definition options that can change it under
    the run's policy (those the spec's ``definitions:`` sets marked); ``""`` -> the cohorts'
    (the MRR options of the billing source)."""
    spec = data.spec
    opts = policy.effective(spec.model)
    own = policy.overridden(spec.model)
    sources = spec.model.sources
    requests = {r.name: r for r in requests_for(spec, list(data.main.metrics))}
    out = {
        name: policy.shown(opts, policy.applicable(name, requests, sources), own)
        for name in data.main.metrics
    }
    cohorts = {"": MetricRequest("", "mrr", {})}  # cohorts read the MRR model as mrr does
    out[""] = policy.shown(opts, policy.applicable("", cohorts, sources), own)
    return out


def policy_line(data: ReportData) -> str:
    """The definition policy in force, for the summaries' definitions section."""
    model = data.spec.model
    own = sorted(policy.overridden(model))
    text = f"Definition policy: {model.policy} (docs/policies.md gives each option's source)"
    if own:
        text += "; set over it by definitions: " + ", ".join(own)
    return text


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
        "policy": "",
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
        (m, d): (finite_value(v), u)
        for d, m, v, u in frame.select(dim, "metric", "value", "unit").iter_rows()
    }
    return metrics, values[:BREAKDOWN_COLUMNS], cells, len(values)


def all_metrics_blocks(data: ReportData) -> list[Block]:
    frame = period_rows(data)
    result = MetricResult(
        frame=frame,
        dims=[],
        metrics={
            n: replace(data.main.metrics[n], label=metric_label(data, n))
            for n in data.shown
            if n in data.main.metrics
        },
        periods=[data.period.label],
        currency=data.currency,
    )
    return build_blocks(result)
