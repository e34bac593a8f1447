"""Markdown: the tables for people (GitHub pipe tables, columns padded to line up), plain
record frames, and the escaping every markdown writer in csm shares."""

from __future__ import annotations

from typing import Any

import polars as pl
from rich.cells import cell_len

from cs_metrics.render.layout import Block


def md_escape(text: str) -> str:
    """Text for a markdown table cell or list item: backslash and pipe escaped."""
    return text.replace("\\", "\\\\").replace("|", "\\|")


def md_cell(text: Any) -> str:
    """Any value as one line of a markdown table cell (a newline would end the row)."""
    return md_escape(str(text)).replace("\n", " ")


def md_table(headers: list[str], rows: list[list[str]], right: set[int] | None = None) -> list[str]:
    """A compact pipe table (no padding); columns in ``right`` are right-aligned."""
    right = right or set()
    lines = ["| " + " | ".join(md_cell(h) for h in headers) + " |"]
    lines.append("|" + "|".join("---:" if i in right else "---" for i in range(len(headers))) + "|")
    lines += ["| " + " | ".join(md_cell(c) for c in r) + " |" for r in rows]
    return lines


def frame_markdown(
    frame: pl.DataFrame, rows: list[dict[str, Any]], md_float: str | None = None
) -> str:
    """A plain record frame (``rows``: its rows as JSON-ready dicts) as a pipe table;
    ``md_float`` formats floats (e.g. ".2f"), null is an empty cell."""

    def cell(v: Any) -> str:
        if v is None:
            return ""
        if md_float and isinstance(v, float):
            return format(v, md_float)
        return str(v).replace("|", "\\|")

    head = "| " + " | ".join(frame.columns) + " |\n" + "|" + "---|" * frame.width + "\n"
    return head + "".join("| " + " | ".join(cell(v) for v in r.values()) + " |\n" for r in rows)


def blocks_markdown(blocks: list[Block]) -> str:
    if not blocks:
        return "_No metric values for the requested period._\n"

    parts: list[str] = []
    for block in blocks:
        rows: list[list[str]] = []
        for row in block.rows:
            if isinstance(row, str):
                rows.append([f"**{md_escape(row)}**"] + [""] * (len(block.headers) - 1))
            else:
                rows.append([md_escape(c.text) for c in row])
        header = [md_escape(h) for h in block.headers]
        widths = [max(3, cell_len(h)) for h in header]
        for cells in rows:
            widths = [max(w, cell_len(c)) for w, c in zip(widths, cells, strict=True)]

        def line(cells: list[str], justify: list[str], widths: list[int] = widths) -> str:
            padded = [
                " " * (w - cell_len(c)) + c if j == "right" else c + " " * (w - cell_len(c))
                for c, j, w in zip(cells, justify, widths, strict=True)
            ]
            return "| " + " | ".join(padded) + " |"

        rule = [
            "-" * (w - 1) + ":" if j == "right" else "-" * w
            for j, w in zip(block.justify, widths, strict=True)
        ]
        lines = [f"### {md_escape(block.title)}", "", line(header, block.justify)]
        lines.append("| " + " | ".join(rule) + " |")
        lines += [line(cells, block.justify) for cells in rows]
        if block.notes:
            lines.append("")
            lines += [f"- {md_escape(n)}" for n in block.notes]
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


def alerts_markdown(
    frame: pl.DataFrame, period: str, units: dict[str, str] | None = None, currency: str = "USD"
) -> str:
    """The alert hits for people, as the terminal groups them: a section per playbook (most
    severe first, as the frame is ordered) with its severity, count and action once, then a
    row per account with its name, owner and the values its condition used."""
    from cs_metrics.render.terminal import ALERT_FIXED, alert_value, people_columns

    units = units or {}
    if not frame.height:
        return f"_No alerts fired in {md_escape(period)}._\n"
    people = people_columns(frame)
    parts = [f"## Alerts · {md_escape(period)}"]
    for (alert,) in frame.select("alert").unique(maintain_order=True).rows():
        hits = frame.filter(pl.col("alert") == alert)
        first = hits.row(0, named=True)
        n = hits.height
        values = [c for c in hits.columns if c not in ALERT_FIXED and hits[c].drop_nulls().len()]
        lines = [
            f"### {md_escape(alert)} · {md_escape(str(first['severity']))} · "
            f"{n} account{'s' if n != 1 else ''}"
        ]
        if first["action"]:
            lines += ["", f"Action: {md_cell(first['action'])}"]
        headers = ["account", *people, *values]
        right = {i for i, c in enumerate(headers) if c in values and hits.schema[c].is_numeric()}
        rows = [
            [
                str(r["account"]),
                *["" if r[c] is None else str(r[c]) for c in people],
                *[alert_value(r[c], units.get(c, ""), currency) for c in values],
            ]
            for r in hits.iter_rows(named=True)
        ]
        lines += ["", *md_table(headers, rows, right)]
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"
