"""The tables for people on a terminal, with Rich: colour and width as the console has them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich import box
from rich.cells import cell_len
from rich.table import Table
from rich.text import Text

from cs_metrics.render.layout import Block, build_blocks
from cs_metrics.result import MetricResult

if TYPE_CHECKING:
    from rich.console import Console

_RICH_STYLE = {"good": "green", "bad": "red", "muted": "dim", "strong": "bold", "": ""}


def render_table(result: MetricResult, console: Console) -> None:
    """Print the tables for people on ``console`` (colour, width as it is configured)."""
    blocks = build_blocks(result)
    if not blocks:
        console.print(Text("No metric values for the requested period.", style="dim"))
        return
    for index, block in enumerate(blocks):
        block = _fit(block, console.width)
        table = Table(
            title=block.title,
            title_justify="left",
            title_style="bold",
            caption=block.caption or None,
            caption_justify="left",
            caption_style="dim",
            box=box.SIMPLE_HEAD,
            header_style="bold",
        )
        for i, (header, justify) in enumerate(zip(block.headers, block.justify, strict=True)):
            no_wrap = justify == "right" or i == block.trend_column
            table.add_column(header, justify=justify, no_wrap=no_wrap)  # type: ignore[arg-type]
        for row_index, row in enumerate(block.rows):
            if isinstance(row, str):
                if row_index:
                    table.add_section()
                table.add_row(Text(row, style="bold"), *([""] * (len(block.headers) - 1)))
            else:
                table.add_row(*(Text(c.text, style=_RICH_STYLE[c.tone]) for c in row))
        if index:
            console.print()
        console.print(table)
        for note in block.notes:
            console.print(Text(note, style="dim"))


def _fit(block: Block, width: int) -> Block:
    """Keep the latest period columns that fit ``width`` (at least one)."""
    if not block.period_columns:
        return block

    widths = [cell_len(h) for h in block.headers]
    for row in block.rows:
        if isinstance(row, str):
            widths[0] = max(widths[0], cell_len(row))
            continue
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], cell_len(cell.text))
    periods = set(block.period_columns)
    used = 1 + sum(w + 3 for i, w in enumerate(widths) if i not in periods)
    keep = 0
    for i in reversed(block.period_columns):
        if used + widths[i] + 3 > width and keep:
            break
        used += widths[i] + 3
        keep += 1
    return block.keep_last_periods(keep)
