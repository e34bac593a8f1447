"""`csm compare-policies` output: a metric per row, a policy per column, then the options.

Machine formats (csv, tsv, json, ndjson, parquet) carry :class:`PolicyComparison`'s
``frame`` as it is (full-precision values, ``differs_by``); the formats for people (the
terminal, markdown, html, xlsx) show values with their unit and, below, the options of
each policy with the ones they disagree on marked.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.markup import escape
from rich.table import Table

from cs_metrics.atomic import atomic_write, atomic_write_text
from cs_metrics.metrics.policy import POLICIES
from cs_metrics.render.html import page
from cs_metrics.render.machine import frame_text, write_frame
from cs_metrics.render.markdown import md_escape, md_table
from cs_metrics.render.numbers import format_value
from cs_metrics.render.xlsx import Sheet, write_sheets

if TYPE_CHECKING:
    from rich.console import Console

    from cs_metrics.compare import PolicyComparison

TITLE = "csm compare-policies"


def _value_rows(cmp: PolicyComparison) -> list[list[str]]:
    rows = []
    for r in cmp.frame.iter_rows(named=True):
        name = cmp.labels.get(r["metric"]) or r["metric"]
        cells = [format_value(r[p], r["unit"], cmp.currency) for p in POLICIES]
        rows.append([name, *cells, r["differs_by"] or "—"])
    return rows


def _option_rows(cmp: PolicyComparison) -> list[list[str]]:
    return [
        [r["option"] + (" *" if r["differs"] else ""), *[r[p] for p in POLICIES]]
        for r in cmp.definitions.iter_rows(named=True)
    ]


HEADERS = ["metric", *POLICIES, "differs by"]
OPTION_HEADERS = ["option", *POLICIES]
FOOTNOTE = "* the policies disagree on this option (docs/policies.md gives each vendor's source)"


def comparison_table(cmp: PolicyComparison, console: Console) -> None:
    """The two tables on a terminal."""
    table = Table(title=f"Metrics under each policy, {cmp.period}", title_justify="left")
    for i, h in enumerate(HEADERS):
        table.add_column(h, justify="right" if 0 < i <= len(POLICIES) else "left", overflow="fold")
    for row in _value_rows(cmp):
        table.add_row(*(escape(c) for c in row))
    console.print(table)
    options = Table(title="Definitions", title_justify="left", caption=FOOTNOTE)
    for h in OPTION_HEADERS:
        options.add_column(h, overflow="fold")
    for row in _option_rows(cmp):
        options.add_row(*(escape(c) for c in row))
    console.print(options)


def comparison_markdown(cmp: PolicyComparison) -> str:
    right = set(range(1, len(POLICIES) + 1))
    lines = [f"## Metrics under each policy, {md_escape(cmp.period)}", ""]
    lines += md_table(HEADERS, _value_rows(cmp), right)
    lines += ["", "## Definitions", ""]
    lines += md_table(OPTION_HEADERS, _option_rows(cmp))
    lines += ["", md_escape(FOOTNOTE)]
    return "\n".join(lines) + "\n"


def _html(cmp: PolicyComparison) -> str:
    from html import escape as h

    def table(headers: list[str], rows: list[list[str]]) -> str:
        head = "".join(f"<th>{h(c)}</th>" for c in headers)
        body = "".join("<tr>" + "".join(f"<td>{h(c)}</td>" for c in r) + "</tr>" for r in rows)
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

    return page(
        f"{TITLE} {cmp.period}",
        [
            f"<h1>Metrics under each policy, {h(cmp.period)}</h1>",
            table(HEADERS, _value_rows(cmp)),
            "<h2>Definitions</h2>",
            table(OPTION_HEADERS, _option_rows(cmp)),
            f"<p>{h(FOOTNOTE)}</p>",
        ],
    )


def comparison_text(cmp: PolicyComparison, kind: str) -> str:
    """csv / tsv / json / ndjson (the records) or markdown (both tables)."""
    if kind == "markdown":
        return comparison_markdown(cmp)
    return frame_text(cmp.frame, kind, what=TITLE)


def write_comparison(cmp: PolicyComparison, path: Path, kind: str) -> None:
    """Write the comparison to ``path`` in the format ``kind``, atomically."""
    if kind == "markdown":
        atomic_write_text(path, comparison_markdown(cmp))
    elif kind == "html":
        atomic_write_text(path, _html(cmp))
    elif kind == "xlsx":
        atomic_write(
            path,
            lambda tmp: write_sheets(
                tmp,
                [
                    Sheet("policies", cmp.frame, row_units={p: "unit" for p in POLICIES}),
                    Sheet("definitions", cmp.definitions),
                ],
            ),
        )
    else:
        write_frame(cmp.frame, path, kind, title=TITLE)
