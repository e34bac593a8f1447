"""HTML: ONE page skeleton (``templates/page.html``) and ONE stylesheet
(``templates/page.css``) for every page csm writes — ``csm compute -o x.html``, the health,
alerts and cohorts pages, and the report's ``summary.html``.

Pages are self-contained: the CSS is inlined, there are no scripts, fonts, images or
links to fetch, so a page opens from disk, offline.
"""

from __future__ import annotations

import html
import math
from functools import cache
from importlib import resources
from string import Template

import polars as pl

from cs_metrics.render.layout import Block, Cell, span
from cs_metrics.render.order import period_order
from cs_metrics.result import MetricResult

esc = html.escape
_RIGHT = ' class="r"'


def _template(name: str) -> str:
    return resources.files("cs_metrics").joinpath("templates", name).read_text(encoding="utf-8")


@cache
def page_css() -> str:
    """The stylesheet every page inlines."""
    return _template("page.css").strip()


@cache
def _skeleton() -> Template:
    return Template(_template("page.html"))


def page(title: str, body: list[str]) -> str:
    """A whole page: ``title`` (plain text, escaped here) and ``body`` (html lines)."""
    return _skeleton().substitute(title=esc(title), css=page_css(), body="\n".join(body))


def html_td(cell: Cell, justify: str) -> str:
    """One table cell as HTML: right-aligned numbers, the cell's tone as a class."""
    classes = " ".join(c for c in ("r" if justify == "right" else "", cell.tone) if c)
    attr = f' class="{classes}"' if classes else ""
    return f"<td{attr}>{esc(cell.text)}</td>"


def _warnings(warnings: list[str]) -> list[str]:
    if not warnings:
        return []
    items = "".join(f"<li>{esc(w)}</li>" for w in warnings)
    return [f'<div class="notice" id="warnings"><b>Read with care</b><ul>{items}</ul></div>']


def blocks_page(blocks: list[Block], result: MetricResult) -> str:
    """The tables for people as a page, with ``result.warnings`` under them (a file has
    no stderr beside it)."""
    periods = period_order(result)
    heading = "Customer-success metrics" + (f" · {span(periods)}" if periods else "")
    out = [f"<h1>{esc(heading)}</h1>"]
    if not blocks:
        out.append('<p class="muted">No metric values for the requested period.</p>')
    for block in blocks:
        out.append('<section class="card">')
        out.append(f"<h2>{esc(block.title)}</h2>")
        out.append("<table>")
        heads = "".join(
            f'<th{_RIGHT if j == "right" else ""} scope="col">{esc(h)}</th>'
            for h, j in zip(block.headers, block.justify, strict=True)
        )
        out.append(f"<thead><tr>{heads}</tr></thead>")
        out.append("<tbody>")
        for row in block.rows:
            if isinstance(row, str):
                out.append(
                    f'<tr class="family"><th colspan="{len(block.headers)}" scope="rowgroup">'
                    f"{esc(row)}</th></tr>"
                )
                continue
            cells = (
                html_td(cell, justify) for cell, justify in zip(row, block.justify, strict=True)
            )
            out.append(f"<tr>{''.join(cells)}</tr>")
        out.append("</tbody>")
        out.append("</table>")
        if block.notes:
            out.append('<p class="more">' + "<br>".join(esc(n) for n in block.notes) + "</p>")
        out.append("</section>")
    out += _warnings(list(result.warnings))
    return page(heading, out)


def frame_page(frame: pl.DataFrame, title: str) -> str:
    """A plain record frame (csm health, alerts, cohorts) as a page with one table."""
    head = "".join(f'<th scope="col">{esc(c)}</th>' for c in frame.columns)
    body = []
    for row in frame.iter_rows():
        cells = []
        for v in row:
            if isinstance(v, float):
                cells.append(f'<td class="r">{"" if not math.isfinite(v) else f"{v:,.2f}"}</td>')
            else:
                cells.append(f"<td>{'' if v is None else esc(str(v))}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    return page(
        title,
        [
            f"<h1>{esc(title)}</h1>",
            '<section class="card">',
            "<table>",
            f"<thead><tr>{head}</tr></thead>",
            "<tbody>",
            *body,
            "</tbody>",
            "</table>",
            "</section>",
        ],
    )
