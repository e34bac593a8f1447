"""``summary.html``: one self-contained page (inline CSS and SVG charts; no scripts, fonts,
images or links to fetch, so it opens from disk, offline, and prints on A4): KPI cards
with value, previous value and change coloured by direction; MRR movements, retention,
churn, NPS, health bands and cohort charts (each only when the spec has its sources);
the accounts needing attention; the alerts fired; breakdowns; every metric; and an
appendix with the definitions used. The page skeleton and stylesheet are the ones every
csm page uses (:mod:`cs_metrics.render.html`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from cs_metrics.render.html import esc, html_td, page
from cs_metrics.render.numbers import NULL, format_value
from cs_metrics.report import charts as ch
from cs_metrics.report.charts import BAND_COLORS, band_key
from cs_metrics.report.data import (
    MOVEMENT_TYPES,
    ReportData,
    health_bands_frame,
    metric_series,
    point,
    roles_frame,
)
from cs_metrics.report.tables import (
    ATTENTION_ROWS,
    Table,
    all_metrics_blocks,
    attention_frame,
    breakdown_matrix,
    policy_line,
    tables,
)
from cs_metrics.report.words import (
    alert_values,
    fmt,
    grain_word,
    highlights,
    metric_change,
    metric_label,
    nice_label,
    period_title,
    role_label,
    score_text,
    short_period,
    stale_text,
)

ALERTS_PER_KIND = 8  # hits per alert in summary.html


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
    out: list[Chart] = []
    n = len(data.periods)
    span = f"last {n} {grain_word(data, n)}" if n > 1 else data.period.label
    cur = data.currency
    frame = roles_frame(data, MOVEMENT_TYPES)
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
    frame = roles_frame(data, ("nrr", "grr"))
    if frame is not None:
        series = {c: role_label(data, c) for c in frame.columns[1:]}
        out.append(
            Chart(
                "retention",
                "Revenue retention",
                f"{span} · NRR counts expansion, GRR only losses",
                ch.trend(frame, series, "ratio", cur),
            )
        )
    frame = roles_frame(data, ("customer_churn_rate", "gross_mrr_churn_rate"))
    if frame is not None:
        series = {c: role_label(data, c) for c in frame.columns[1:]}
        out.append(
            Chart(
                "churn",
                "Churn",
                f"{span} · share of customers and of MRR lost in the period",
                ch.trend(frame, series, "ratio", cur),
            )
        )
    frame = roles_frame(data, ("nps",))
    if frame is not None:
        out.append(
            Chart(
                "nps",
                "Net Promoter Score",
                f"{span} · promoters minus detractors, -100 to 100",
                ch.trend(frame, {"nps": role_label(data, "nps")}, "score", cur),
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


def _chip(text: str, tone: str) -> str:
    cls = tone if tone in ("good", "bad") else "neutral"
    return f'<span class="chip {cls}">{esc(text)}</span>'


def _kpi_html(data: ReportData, name: str) -> str:
    value, previous, unit, note = point(data, name)
    text, tone = metric_change(data, name, value, previous, unit)
    label = metric_label(data, name)
    prev_text = (
        f"vs {fmt(data, previous, unit)} in {short_period(data.previous)}"
        if previous is not None
        else f"no value for {short_period(data.previous)}"
    )
    values = metric_series(data, name)
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
    order = data.band_order
    out = {}
    for i, b in enumerate(order):
        fallback = (
            BAND_FALLBACK[0]
            if i == 0
            else BAND_FALLBACK[2]
            if i == len(order) - 1
            else BAND_FALLBACK[1]
        )
        out[b] = BAND_COLORS.get(band_key(b), fallback)
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
            f'<td class="r">{score_text(r["score"])}</td><td class="r">{change}</td>'
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
                f"<td>{esc(alert_values(data, h, value_cols))}</td></tr>"
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


def _breakdown_html(data: ReportData, dim: str) -> str:
    metrics, values, cells, total = breakdown_matrix(data, dim)
    head = "<th>Metric</th>" + "".join(f'<th class="r">{esc(str(v))}</th>' for v in values)
    rows = []
    for m in metrics:
        tds = []
        for v in values:
            value, unit = cells.get((m, v), (None, data.main.metrics[m].unit))
            tds.append(f'<td class="r">{esc(fmt(data, value, unit))}</td>')
        rows.append(f"<tr><td>{esc(metric_label(data, m))}</td>{''.join(tds)}</tr>")
    more = ""
    if total > len(values):
        more = f'<p class="more">the {len(values)} largest of {total} values shown</p>'
    return (
        f'<section class="card breakdown" id="by-{esc(dim)}"><h2>By {esc(dim)}</h2>'
        f'<p class="hint">{esc(data.period.label)} · the headline metrics; every metric by '
        f"{esc(dim)} is in breakdown_{esc(dim)}.csv and its sheet</p>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>{more}</section>"
    )


def _blocks_html(data: ReportData, blocks: list[Any]) -> str:
    """The family-grouped metric table, with a sparkline of each metric's trend."""
    by_label = {metric_label(data, n): n for n in data.shown}
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
                values = metric_series(data, name) if name else []
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
    policy_name = data.spec.model.policy
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
            opts = esc(r["options"])
            if r["policy"]:
                opts += ("<br>" if opts else "") + (
                    f'<span class="muted">policy {esc(policy_name)}: {esc(r["policy"])}</span>'
                )
            rows.append(
                f"<tr><td>{name}</td><td>{what}</td><td>{opts}</td>"
                f'<td class="muted">{unit}</td></tr>'
            )
    return (
        '<section class="card" id="definitions"><h2>Definitions used</h2>'
        '<p class="hint">every number in this report as computed: formula, options (defaults '
        "marked), the definition options of the policy that change it, unit and the sources "
        f'read</p><p class="hint" id="policy">{esc(policy_line(data))}</p>'
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
        '<header class="top"><div>',
        f'<div class="eyebrow">csm · {esc(s.name)} report</div>',
        f"<h1>{esc(title)}</h1>",
        f'<div class="sub"><span class="pill">{esc(period_title(data.period))}</span>'
        f"<span>compared with {esc(period_title(data.previous))}</span></div>",
        "</div>",
        f'<div class="meta">period <b>{esc(data.period.label)}</b> · data as of '
        f"<b>{esc(data.data_end.isoformat())}</b> · policy <b>{esc(data.spec.model.policy)}</b>"
        + (f'<br><b class="stale">{esc(stale_text(data))}</b>' if data.stale else "")
        + "<br>generated "
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
    return page(f"{title} · {period_title(data.period)}", out)
