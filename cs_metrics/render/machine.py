"""Machine formats (csv, tsv, json, ndjson, parquet) and the writers for every format.

A :class:`~cs_metrics.result.MetricResult` is written in the long form of SPEC.md, or wide
with ``--wide``; plain record frames (csm health, alerts, cohorts) as they are. Numbers
keep full precision, NaN and inf are null. :func:`render_text`, :func:`write_file`,
:func:`write_frame` and :func:`emit_frame` pick the writer for a format, including the
ones for people (markdown, html) and xlsx.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from cs_metrics.atomic import atomic_write, atomic_write_text
from cs_metrics.errors import UsageError
from cs_metrics.render.formats import EXTENSIONS, TEXT_FORMATS, format_for_output
from cs_metrics.render.html import blocks_page, frame_page
from cs_metrics.render.layout import build_blocks
from cs_metrics.render.markdown import blocks_markdown, frame_markdown
from cs_metrics.render.order import metric_rank, period_rank
from cs_metrics.render.xlsx import Sheet, write_cohorts_xlsx, write_sheets
from cs_metrics.result import MetricResult

if TYPE_CHECKING:
    from cs_metrics.cohorts import Cohorts


def machine_frame(result: MetricResult, wide: bool = False) -> pl.DataFrame:
    """The frame machine formats write: sorted, non-finite numbers as null."""
    frame = result.machine_frame(wide=wide)
    keys: list[Any] = [period_rank(result), pl.col("period")]
    keys += [pl.col(d) for d in result.dims]
    if not wide:
        keys.append(metric_rank(result))
    return finite(frame.sort(keys, nulls_last=True, maintain_order=True))


def render_text(result: MetricResult, fmt: str, wide: bool = False) -> str:
    """The document for a text format: csv, tsv, json, ndjson, markdown (or html)."""
    if fmt in ("csv", "tsv", "json", "ndjson"):
        return frame_text(machine_frame(result, wide), fmt)
    if fmt == "markdown":
        return blocks_markdown(build_blocks(result))
    if fmt == "html":
        return blocks_page(build_blocks(result), result)
    raise UsageError(
        f"format {fmt!r} is not a text format; use one of {', '.join(TEXT_FORMATS)}, "
        "or write parquet/xlsx with -o FILE"
    )


def write_file(result: MetricResult, path: Path, fmt: str, wide: bool = False) -> None:
    """Write ``result`` to ``path`` atomically in ``fmt`` (``auto``: from the extension).

    ``wide`` applies to the machine formats; markdown and html use the layout for people,
    and xlsx always has both a wide "metrics" sheet and a "long" sheet.
    """
    path = Path(path)
    if fmt == "auto":
        fmt = format_for_output(str(path), "auto", is_tty=False)
    if fmt in TEXT_FORMATS:
        atomic_write_text(path, render_text(result, fmt, wide))
    elif fmt == "parquet":
        frame = machine_frame(result, wide)
        atomic_write(path, lambda tmp: frame.write_parquet(tmp))
    elif fmt == "xlsx":
        atomic_write(path, lambda tmp: _write_xlsx(result, tmp))
    else:
        raise UsageError(
            f"cannot write {path} as {fmt!r}; file formats are {', '.join(sorted(EXTENSIONS))}"
        )


def _write_xlsx(result: MetricResult, tmp: Path) -> None:
    long = machine_frame(result)
    wide = machine_frame(result, wide=True)
    units = dict(
        long.select("metric", "unit")
        .unique(subset="metric", keep="first", maintain_order=True)
        .iter_rows()
    )
    for name, meta in result.metrics.items():
        units.setdefault(name, meta.unit)
    keys = 1 + len(result.dims)
    write_sheets(
        tmp,
        [
            Sheet(
                "metrics",
                wide,
                units={c: units.get(c, "") for c in wide.columns[keys:]},
                freeze=keys,
            ),
            Sheet("long", long, row_units={"value": "unit"}, freeze=keys),
        ],
        result.currency,
    )


# --------------------------------------------------------------------------- plain frames


def finite(frame: pl.DataFrame) -> pl.DataFrame:
    """NaN and inf in float columns as null (machine formats have no NaN)."""
    floats = [c for c, t in frame.schema.items() if t.is_float()]
    return frame.with_columns(
        pl.when(pl.col(c).is_finite()).then(pl.col(c)).otherwise(None).alias(c) for c in floats
    )


def jsonable(v: Any) -> Any:
    """A cell as JSON: non-finite floats as null, dates and times as ISO text."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return v


def frame_text(
    frame: pl.DataFrame, kind: str, *, what: str = "csm", md_float: str | None = None
) -> str:
    """A plain record frame (csm health, alerts, cohorts) as csv / tsv / json / ndjson /
    markdown text; ``md_float`` formats floats in markdown (e.g. ".2f")."""
    frame = finite(frame)
    if kind in ("csv", "tsv"):
        return frame.write_csv(separator="," if kind == "csv" else "\t")
    rows = [{k: jsonable(v) for k, v in r.items()} for r in frame.iter_rows(named=True)]
    if kind == "json":
        return json.dumps(rows, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    if kind == "ndjson":
        return "".join(
            json.dumps(r, ensure_ascii=False, allow_nan=False, separators=(",", ":")) + "\n"
            for r in rows
        )
    if kind == "markdown":
        return frame_markdown(frame, rows, md_float)
    raise UsageError(
        f"{what} cannot write {kind}; use csv, tsv, json, ndjson, markdown, parquet, html or xlsx"
    )


def write_frame(
    frame: pl.DataFrame, path: Path, kind: str, title: str = "csm", md_float: str | None = None
) -> None:
    """Write a plain record frame (csm health, alerts, cohorts) in any format, atomically."""
    frame = finite(frame)
    if kind == "parquet":
        atomic_write(path, lambda tmp: frame.write_parquet(tmp))
    elif kind == "xlsx":
        atomic_write(path, lambda tmp: _frame_xlsx(frame, tmp, title))
    elif kind == "html":
        atomic_write_text(path, frame_page(frame, title))
    else:
        atomic_write_text(path, frame_text(frame, kind, what=title, md_float=md_float))


def emit_frame(
    out: Any,
    frame: pl.DataFrame,
    kind: str,
    output: str | None,
    table: Any,
    *,
    title: str,
    warnings: Iterable[str] = (),
    md_float: str | None = None,
) -> None:
    """Warnings to stderr, then the frame to ``-o`` FILE, as a table (``table(console)``) or
    as text on stdout: the output step of the commands that print plain record frames."""
    for w in warnings:
        out.warn(w)
    if output and output != "-":
        write_frame(frame, Path(output), kind, title=title, md_float=md_float)
        out.info(f"wrote {output}")
    elif kind == "table":
        with out.paged():
            table(out.out)
    else:
        out.data(frame_text(frame, kind, what=title, md_float=md_float))


def _frame_xlsx(frame: pl.DataFrame, tmp: Path, title: str) -> None:
    write_sheets(tmp, [Sheet(title, frame)])


def write_cohorts(result: Cohorts, path: Path, kind: str) -> None:
    """Write the cohort records to ``path`` atomically in the format ``kind``; a workbook
    also gets a triangle sheet per basis."""
    if kind == "xlsx":
        atomic_write(path, lambda tmp: write_cohorts_xlsx(result, tmp))
    else:
        write_frame(result.frame, path, kind, title="csm cohorts")
