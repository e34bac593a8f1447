"""``summary.md``: the content of ``summary.html`` as Markdown tables (for a wiki, a
ticket, an email)."""

from __future__ import annotations

import polars as pl

from cs_metrics.render.markdown import blocks_markdown, md_cell, md_table
from cs_metrics.render.numbers import NULL, finite_value, format_value
from cs_metrics.report.data import ReportData, health_bands_frame, metric_unit, point, series_frame
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
    highlights,
    metric_change,
    metric_label,
    period_title,
    score_text,
    stale_text,
)

ALERT_ROWS = 25  # hits in summary.md


def stale_banner(data: ReportData) -> str:
    text = stale_text(data)
    return f" · **{md_cell(text)}**" if text else ""


def render_markdown(data: ReportData, tabs: list[Table] | None = None) -> str:
    tabs = tabs if tabs is not None else tables(data)
    s = data.settings
    cur = data.currency
    lines = [
        f"# {md_cell(s.title)} — {md_cell(period_title(data.period))}",
        "",
        f"Period **{data.period.label}** compared with {data.previous.label} · data as of "
        f"{data.data_end.isoformat()}{stale_banner(data)} · policy {data.spec.model.policy} · "
        "generated "
        f"{data.generated.strftime('%Y-%m-%d %H:%M')} "
        f"by `csm report` from `{data.spec.path}`",
        "",
    ]
    points = highlights(data)
    if points:
        lines += [f"- {md_cell(h)}" for h in points] + [""]
    if data.warnings:
        lines += ["> **Read with care**", ">"]
        lines += [f"> - {md_cell(w)}" for w in data.warnings]
        lines.append("")
    if data.headline:
        lines += ["## Headline", ""]
        rows = []
        for n in data.headline:
            value, previous, unit, _ = point(data, n)
            text, _tone = metric_change(data, n, value, previous, unit)
            rows.append(
                [metric_label(data, n), fmt(data, value, unit), fmt(data, previous, unit), text]
            )
        lines += md_table(
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
        lines += md_table(
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
                        score_text(r["score"]),
                        NULL if sc is None else f"{sc:+.1f}",
                        format_value(r["mrr"], cur, cur),
                        format_value(r["mrr_at_risk"], cur, cur),
                        r["weakest"] or "",
                        (r.get("alerts") or ""),
                    ]
                )
            lines += md_table(
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
                        alert_values(data, r, value_cols),
                        r["action"] or "",
                    ]
                )
            lines += md_table(["Severity", "Alert", "Account", "Values", "Action"], rows)
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
            [metric_label(data, m)]
            + [fmt(data, *cells.get((m, v), (None, data.main.metrics[m].unit))) for v in values]
            for m in metrics
        ]
        lines += md_table(["Metric", *map(str, values)], rows, set(range(1, len(values) + 1)))
        if total > len(values):
            lines += [
                "",
                f"The {len(values)} largest of {total} values; all in breakdown_{dim}.csv.",
            ]
        lines.append("")
    blocks = all_metrics_blocks(data)
    if blocks:
        body = blocks_markdown(blocks).replace(f"### {data.period.label}\n\n", "", 1)
        lines += ["## All metrics", "", body.rstrip("\n"), ""]
    defs = next(t.frame for t in tabs if t.name == "definitions")
    lines += ["## Definitions used", "", md_cell(policy_line(data)) + ".", ""]
    rows = [
        [
            r["section"],
            r["name"],
            r["definition"] + (f" [where {r['filter']}]" if r["filter"] else ""),
            r["options"],
            r["policy"],
            r["unit"],
        ]
        for r in defs.iter_rows(named=True)
    ]
    policy = f"Policy {data.spec.model.policy}"
    lines += md_table(["Kind", "Name", "Definition", "Options", policy, "Unit"], rows)
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
    wide = series_frame(data)
    rows = []
    for r in wide.iter_rows(named=True):
        row = [r["period"]]
        for t, _ in cols:
            name = data.roles[t]
            row.append(fmt(data, finite_value(r[name]), metric_unit(data, data.main.metrics[name])))
        rows.append(row)
    return md_table(["Period", *[h for _, h in cols]], rows, set(range(1, len(cols) + 1)))


def _md_cohorts(data: ReportData, value: str) -> list[str]:
    assert data.cohorts is not None
    frame = data.cohorts.frame
    ages = sorted(frame["age"].unique().to_list())
    cohorts = [*data.cohorts.cohorts, "all"]
    cells = {
        (c, a): finite_value(v) for c, a, v in frame.select("cohort", "age", value).iter_rows()
    }
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
    return md_table(["Cohort", "Accounts", *map(str, ages)], rows, set(range(1, len(ages) + 2)))
