"""Machine formats (csv, tsv, json, ndjson, parquet) and the writers for every format.

A :class:`~cs_metrics.result.MetricResult` is written in a layout (:data:`LAYOUTS`): the
long form of SPEC.md, wide, or grid; plain record frames (csm health, alerts, cohorts) as
they are, float noise rounded away (:func:`denoise`). NaN and inf are null; a whole count
is an integer. :func:`render_text`, :func:`write_file`,
:func:`write_frame` and :func:`emit_frame` pick the writer for a format, including the
ones for people (markdown, html) and xlsx.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from cs_metrics.atomic import atomic_write, atomic_write_text
from cs_metrics.errors import UsageError
from cs_metrics.formats import EXTENSIONS, TEXT_FORMATS, format_for_output
from cs_metrics.render.html import blocks_page, frame_page
from cs_metrics.render.layout import build_blocks
from cs_metrics.render.markdown import blocks_markdown, frame_markdown
from cs_metrics.render.order import period_order, row_keys
from cs_metrics.render.xlsx import Sheet, write_cohorts_xlsx, write_sheets
from cs_metrics.result import MetricResult

if TYPE_CHECKING:
    from cs_metrics.cohorts import Cohorts


LAYOUTS = ("long", "wide", "grid")
PERIODS = ("period",)  # the workbook columns written as dates (the period's first day)


def check_layout(layout: str) -> str:
    """``layout`` if it is one of :data:`LAYOUTS`, else a usage error."""
    if layout not in LAYOUTS:
        raise UsageError(f"--layout {layout!r}: use one of {', '.join(LAYOUTS)}")
    return layout


def machine_frame(result: MetricResult, wide: bool = False, layout: str = "long") -> pl.DataFrame:
    """The frame machine formats write, in ``layout`` (``wide=True``: the wide layout):
    sorted, non-finite numbers as null.

    * long: ``period``, the dimensions (``name``, ``owner`` beside ``account``),
      ``metric``, ``value``, ``unit``;
    * wide: ``period``, the dimensions, one column per metric;
    * grid: the dimensions, ``metric``, ``label``, ``unit``, one column per period (the
      metric rows x period columns a spreadsheet user pastes)."""
    layout = "wide" if wide else check_layout(layout)
    if layout == "grid":
        return _grid_frame(result)
    cols = ["period", *result.keys, "metric", "value", "unit"]
    long = finite(row_keys(result, result.frame, metric=True).select(cols))
    if layout == "long":
        return long
    present = set(long["metric"].unique().to_list())
    order = [m for m in result.metrics if m in present]
    order += [m for m in long["metric"].unique(maintain_order=True) if m not in set(order)]
    index = ["period", *result.keys]
    wide_df = long.pivot(on="metric", index=index, values="value", maintain_order=True)
    missing = [m for m in order if m not in wide_df.columns]
    if missing:
        wide_df = wide_df.with_columns(pl.lit(None, pl.Float64).alias(m) for m in missing)
    return wide_df.select([*index, *order])


def _grid_frame(result: MetricResult) -> pl.DataFrame:
    long = machine_frame(result)
    keys = result.keys
    if not long.height:
        return pl.DataFrame(schema=dict.fromkeys([*keys, "metric", "label", "unit"], pl.String))
    periods = period_order(result)
    labels = {name: meta.label or name for name, meta in result.metrics.items()}
    units = long.select("metric", "unit").unique("metric", keep="first", maintain_order=True)
    rows = long.select(*keys, "metric").unique(maintain_order=True)
    grid = long.pivot(on="period", index=[*keys, "metric"], values="value", maintain_order=True)
    grid = rows.join(grid, on=[*keys, "metric"], how="left", nulls_equal=True)
    grid = grid.join(units, on="metric", how="left", maintain_order="left")
    grid = grid.with_columns(
        pl.col("metric").replace_strict(labels, default=pl.col("metric")).alias("label")
    )
    # each key's rows in metric order (rows arrive period-major)
    ordered = row_keys(result, grid.with_columns(pl.lit(None, pl.String).alias("period")))
    return ordered.select(*keys, "metric", "label", "unit", *periods)


def render_text(result: MetricResult, fmt: str, wide: bool = False, layout: str = "long") -> str:
    """The document for a text format: csv, tsv, json, ndjson, markdown (or html)."""
    if fmt in ("csv", "tsv", "json", "ndjson"):
        frame = machine_frame(result, wide, layout)
        counts = _count_cells(result, frame, wide, layout)
        return frame_text(frame, fmt, counts=counts, exact=True)
    if fmt == "markdown":
        return blocks_markdown(build_blocks(result))
    if fmt == "html":
        return blocks_page(build_blocks(result), result)
    raise UsageError(
        f"format {fmt!r} is not a text format; use one of {', '.join(TEXT_FORMATS)}, "
        "or write parquet/xlsx with -o FILE"
    )


def _count_cells(
    result: MetricResult, frame: pl.DataFrame, wide: bool, layout: str
) -> dict[str, pl.Expr]:
    """Column -> when its cell holds a count (written as an integer when it is whole)."""
    layout = "wide" if wide else layout
    if layout == "wide":
        units = dict(result.frame.select("metric", "unit").unique("metric").iter_rows())
        return {
            c: pl.lit(True)
            for c in frame.columns
            if (units.get(c) or getattr(result.metrics.get(c), "unit", "")) == "count"
        }
    is_count = pl.col("unit") == "count"
    if layout == "grid":
        skip = {*result.keys, "metric", "label", "unit"}
        return {c: is_count for c in frame.columns if c not in skip}
    return {"value": is_count}


def write_file(
    result: MetricResult, path: Path, fmt: str, wide: bool = False, layout: str | None = None
) -> None:
    """Write ``result`` to ``path`` atomically in ``fmt`` (``auto``: from the extension).

    ``layout`` (long | wide | grid; ``wide=True`` is wide) applies to the machine formats;
    markdown and html use the layout for people, and xlsx has a sheet per layout, the
    chosen one first (default: long; in xlsx the wide "metrics" sheet, then "long"; a
    "grid" sheet comes with ``layout="grid"``).
    """
    path = Path(path)
    layout = "wide" if wide else (layout and check_layout(layout))
    if fmt == "auto":
        fmt = format_for_output(str(path), "auto", is_tty=False)
    if fmt in TEXT_FORMATS:
        atomic_write_text(path, render_text(result, fmt, layout=layout or "long"))
    elif fmt == "parquet":
        frame = machine_frame(result, layout=layout or "long")
        atomic_write(path, lambda tmp: frame.write_parquet(tmp))
    elif fmt == "xlsx":
        if layout is None:
            atomic_write(path, lambda tmp: _write_xlsx(result, tmp))
        else:
            atomic_write(path, lambda tmp: _write_xlsx(result, tmp, layout))
    else:
        raise UsageError(
            f"cannot write {path} as {fmt!r}; file formats are {', '.join(sorted(EXTENSIONS))}"
        )


def _write_xlsx(result: MetricResult, tmp: Path, layout: str | None = None) -> None:
    long = machine_frame(result)
    wide = machine_frame(result, layout="wide")
    grid = machine_frame(result, layout="grid")
    units = dict(
        long.select("metric", "unit")
        .unique(subset="metric", keep="first", maintain_order=True)
        .iter_rows()
    )
    for name, meta in result.metrics.items():
        units.setdefault(name, meta.unit)
    keys = 1 + len(result.keys)
    periods = grid.columns[len(result.keys) + 3 :]
    sheets = {
        "wide": Sheet(
            "metrics",
            wide,
            units={c: units.get(c, "") for c in wide.columns[keys:]},
            freeze=keys,
            period_columns=PERIODS,
        ),
        "grid": Sheet(
            "grid",
            grid,
            row_units=dict.fromkeys(periods, "unit"),
            freeze=len(result.keys) + 2,
        ),
        "long": Sheet(
            "long", long, row_units={"value": "unit"}, freeze=keys, period_columns=PERIODS
        ),
    }
    # the chosen layout first; the grid sheet only when asked for
    order = {None: ["wide", "long"], "wide": ["wide", "long"], "long": ["long", "wide"]}.get(
        layout, ["grid", "wide", "long"]
    )
    write_sheets(tmp, [sheets[k] for k in order], result.currency)


# --------------------------------------------------------------------------- plain frames


NOISE_DECIMALS = 9  # as the engine's VALUE_DECIMALS: 60.00000000000001 is written 60.0
NOISE_BELOW = 1e6  # larger values: rounding to 9 decimals would add noise, not remove it


def finite(frame: pl.DataFrame) -> pl.DataFrame:
    """NaN and inf in float columns as null (machine formats have no NaN)."""
    floats = [c for c, t in frame.schema.items() if t.is_float()]
    return frame.with_columns(
        pl.when(pl.col(c).is_finite()).then(pl.col(c)).otherwise(None).alias(c) for c in floats
    )


def denoise(frame: pl.DataFrame) -> pl.DataFrame:
    """Float values below a million rounded to 9 decimals (as the engine rounds metric
    values), so the noise of arithmetic done after it (health scores 11.250000000000002,
    score changes, rates) never reaches a file; -0.0 as 0.0. Non-finite values as null."""
    floats = [c for c, t in frame.schema.items() if t.is_float()]
    return finite(frame).with_columns(
        pl.when(pl.col(c).abs() < NOISE_BELOW)
        .then(pl.col(c).round(NOISE_DECIMALS) + 0.0)
        .otherwise(pl.col(c))
        .alias(c)
        for c in floats
    )


def jsonable(v: Any) -> Any:
    """A cell as JSON: non-finite floats as null, dates and times as ISO text."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return v


def whole_counts(frame: pl.DataFrame, counts: dict[str, pl.Expr]) -> pl.DataFrame:
    """The float columns of ``counts`` as text, a whole count without ".0" (218, not
    218.0) where the column's expression holds: the CSV cells of a frame mixing units."""
    return frame.with_columns(
        pl.when(cond & (pl.col(c) == pl.col(c).round(0)))
        .then(pl.col(c).cast(pl.Int64, strict=False).cast(pl.String))
        .otherwise(pl.col(c).cast(pl.String))
        .alias(c)
        for c, cond in counts.items()
        if c in frame.columns and frame.schema[c].is_float()
    )


def integer_counts(frame: pl.DataFrame, columns: Iterable[str]) -> pl.DataFrame:
    """The float ``columns`` as Int64 where every value is whole (218, not 218.0)."""
    whole = [
        c
        for c in columns
        if c in frame.columns
        and frame.schema[c].is_float()
        and frame.select(((pl.col(c) == pl.col(c).round(0)) | pl.col(c).is_null()).all()).item()
    ]
    return frame.with_columns(pl.col(c).cast(pl.Int64) for c in whole)


def _whole(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def frame_text(
    frame: pl.DataFrame,
    kind: str,
    *,
    what: str = "csm",
    md_float: str | None = None,
    counts: dict[str, pl.Expr] | None = None,
    exact: bool = False,
) -> str:
    """A plain record frame (csm health, alerts, cohorts) as csv / tsv / json / ndjson /
    markdown text; ``md_float`` formats floats in markdown (e.g. ".2f"); a float column of
    ``counts`` is written as an integer where its expression holds and the value is whole.
    Floats are :func:`denoise`'d unless ``exact`` (metric values, which the engine rounds)."""
    frame = finite(frame) if exact else denoise(frame)
    counts = counts or {}
    if kind in ("csv", "tsv"):
        frame = whole_counts(frame, counts)
        return frame.write_csv(separator="," if kind == "csv" else "\t")
    rows = [{k: jsonable(v) for k, v in r.items()} for r in frame.iter_rows(named=True)]
    counted = [c for c in counts if c in frame.columns and frame.schema[c].is_float()]
    if counted:
        flags = frame.select(
            (counts[c] & pl.col(c).is_not_null()).fill_null(False).alias(c) for c in counted
        )
        for row, flag in zip(rows, flags.iter_rows(named=True), strict=True):
            for c in counted:
                if flag[c]:
                    row[c] = _whole(row[c])
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
    frame = denoise(frame)
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
    counts: Iterable[str] = (),
    markdown: Callable[[pl.DataFrame], str] | None = None,
) -> None:
    """Warnings to stderr, then the frame to ``-o`` FILE, as a table (``table(console)``) or
    as text on stdout: the output step of the commands that print plain record frames.
    ``counts`` name float columns holding counts: integers when every value is whole;
    ``markdown`` writes the markdown for people (grouped) instead of one record table."""
    for w in warnings:
        out.warn(w)
    frame = integer_counts(frame, counts)
    if kind == "markdown" and markdown is not None:
        text = markdown(frame)
        if output and output != "-":
            atomic_write_text(Path(output), text)
            out.info(f"wrote {output}")
        else:
            out.data(text)
    elif output and output != "-":
        write_frame(frame, Path(output), kind, title=title, md_float=md_float)
        out.info(f"wrote {output}")
    elif kind == "table":
        with out.paged():
            table(out.out)
    else:
        out.data(frame_text(frame, kind, what=title, md_float=md_float))


def _frame_xlsx(frame: pl.DataFrame, tmp: Path, title: str) -> None:
    write_sheets(tmp, [Sheet(title, frame, period_columns=PERIODS)])


def write_cohorts(result: Cohorts, path: Path, kind: str) -> None:
    """Write the cohort records to ``path`` atomically in the format ``kind``; a workbook
    also gets a triangle sheet per basis."""
    if kind == "xlsx":
        atomic_write(path, lambda tmp: write_cohorts_xlsx(result, tmp))
    else:
        write_frame(result.frame, path, kind, title="csm cohorts")
