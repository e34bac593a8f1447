"""Typing the text columns: dates and timestamps, numbers (decimal and thousands marks,
currency symbols), booleans, intervals, inferred account attributes; and the check
frames that list the rows where text was present but did not parse."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cs_metrics.errors import DataError, InputMissingError
from cs_metrics.sources.base import CURRENCY_SYMBOLS
from cs_metrics.sources.problems import (
    _ndjson_problem,
)
from cs_metrics.spec.models import ROLE_COLUMNS, Source

if TYPE_CHECKING:
    import polars as pl

if TYPE_CHECKING:
    import polars as pl


DATETIME_FORMATS_TZ = ("%Y-%m-%dT%H:%M:%S%.f%#z", "%Y-%m-%d %H:%M:%S%.f%#z")
DATETIME_FORMATS = (
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M",
)
TRUE_TEXT = ("true", "t", "yes", "y", "1")
FALSE_TEXT = ("false", "f", "no", "n", "0")
# subscription interval -> months
INTERVAL_MONTHS = {
    "day": 12 / 365,
    "daily": 12 / 365,
    "week": 12 / 52,
    "weekly": 12 / 52,
    "month": 1.0,
    "monthly": 1.0,
    "quarter": 3.0,
    "quarterly": 3.0,
    "year": 12.0,
    "yearly": 12.0,
    "annual": 12.0,
    "annually": 12.0,
}

MONEY_COLUMNS = ("amount", "discount")
MONEY_LIMIT = 1e15  # larger amounts are export errors (or overflow the sums)


def _schema(lf: pl.LazyFrame, path: Path, fmt: str) -> Any:
    import polars as pl

    try:
        return lf.collect_schema()
    except pl.exceptions.PolarsError as exc:
        detail = str(exc).splitlines()[0]
        if fmt == "parquet":
            raise DataError(
                f"{path} is not a readable Parquet file ({detail}): it may be truncated or "
                "corrupt; export it again"
            ) from None
        raise DataError(_ndjson_problem(path) or f"cannot read {path}: {detail}") from None
    except OSError as exc:
        raise InputMissingError(f"cannot read {path}: {exc.strerror or exc}") from None


def _already_typed(current: Any, dtype: str) -> bool:
    """True when a (Parquet/NDJSON) column already has the target type: nothing can fail."""
    import polars as pl

    if dtype in ("date", "datetime"):
        return isinstance(current, pl.Date | pl.Datetime)
    if dtype == "float":
        return current.is_numeric()
    if dtype == "int":
        return current.is_integer()
    return dtype == "bool" and current == pl.Boolean


def _nested(current: Any) -> bool:
    import polars as pl

    return isinstance(current, pl.List | pl.Array | pl.Struct | pl.Binary | pl.Object)


def _number_text(text: pl.Expr, opts: Any) -> tuple[pl.Expr, pl.Expr]:
    """(cleaned text, true where an unambiguous currency/thousands form was cleaned).

    A currency symbol before or after the number is dropped; with ``thousands``/``decimal``
    set those marks are read (a thousands mark must group by three); without them only
    '1,234.56' (commas grouping by three, then a decimal point) is read as 1234.56 —
    '1,234' could be 1.234 in a decimal-comma export and is reported with the fix.
    """
    import polars as pl

    sym = re.escape(CURRENCY_SYMBOLS)
    bare = text.str.replace(rf"^([+-]?)\s*[{sym}]\s*", "${1}").str.replace(rf"\s*[{sym}]$", "")
    cleaned = bare
    if opts.thousands is not None:
        t, d = re.escape(opts.thousands), re.escape(opts.decimal or ".")
        grouped = bare.str.contains(rf"^[+-]?\d{{1,3}}({t}\d{{3}})+({d}\d*)?$")
        cleaned = (
            pl.when(bare.str.contains(t) & ~grouped)
            .then(None)
            .otherwise(bare.str.replace_all(opts.thousands, "", literal=True))
        )
    elif opts.decimal is None:
        us = bare.str.contains(r"^[+-]?\d{1,3}(,\d{3})+\.\d+$")
        cleaned = pl.when(us).then(bare.str.replace_all(",", "", literal=True)).otherwise(bare)
    if opts.decimal is not None:
        cleaned = cleaned.str.replace(opts.decimal, ".", literal=True)
    auto = (cleaned != text) if opts.decimal is None and opts.thousands is None else pl.lit(False)
    return cleaned, auto


def _cleans(col: str, opts: Any, sample: pl.DataFrame | None) -> bool:
    """Whether number text needs cleaning: options say so, or the file's first rows have a
    value that only reads after it (a clean file keeps the fast plain cast; a later value
    with a symbol is reported, never misread)."""
    import polars as pl

    if opts.decimal is not None or opts.thousands is not None:
        return True
    if sample is None or col not in sample.columns:
        return False
    text = pl.col(col).cast(pl.String).str.strip_chars()
    fixed = _number_text(text, opts)[0].cast(pl.Float64, strict=False).is_not_null()
    return bool(sample.select((text.cast(pl.Float64, strict=False).is_null() & fixed).any()).item())


def _parse(
    col: str, dtype: str, current: Any, opts: Any, sample: pl.DataFrame | None = None
) -> pl.Expr:
    """Expression turning the raw column into ``dtype`` (null where it does not parse).

    For text dates without ``date_format``, ``sample`` (the file's first rows) picks the one
    format that reads all of them, so the whole column is parsed once, not once per format.
    """
    import polars as pl

    c = pl.col(col)
    if dtype == "string":
        return c.cast(pl.String)
    if current.is_numeric() and dtype in ("int", "float"):
        return c.cast(pl.Int64 if dtype == "int" else pl.Float64, strict=False)
    if current == pl.Boolean and dtype == "bool":
        return c
    if isinstance(current, pl.Datetime | pl.Date) and dtype in ("date", "datetime"):
        expr = c
        if isinstance(current, pl.Datetime) and current.time_zone:
            expr = expr.dt.convert_time_zone(opts.timezone or "UTC").dt.replace_time_zone(None)
        expr = expr.cast(pl.Datetime("us"))
        return expr.dt.date() if dtype == "date" else expr
    text = c.cast(pl.String).str.strip_chars()
    if dtype in ("float", "int"):
        number = _number_text(text, opts)[0] if _cleans(col, opts, sample) else text
    if dtype == "float":
        return number.cast(pl.Float64, strict=False)
    if dtype == "int":
        return pl.coalesce(
            number.cast(pl.Int64, strict=False),
            pl.when(text.str.to_lowercase().is_in(TRUE_TEXT))
            .then(1)
            .when(text.str.to_lowercase().is_in(FALSE_TEXT))
            .then(0)
            .otherwise(None)
            .cast(pl.Int64),
        )
    if dtype == "bool":
        low = text.str.to_lowercase()
        return pl.when(low.is_in(TRUE_TEXT)).then(True).when(low.is_in(FALSE_TEXT)).then(False)
    # dates and datetimes
    tz = opts.timezone or "UTC"
    if opts.date_format:
        fmt = opts.date_format
        if dtype == "date" and not any(x in fmt for x in ("%H", "%M", "%S", "%z", "%T")):
            return text.str.to_date(fmt, strict=False)
        dt = text.str.to_datetime(fmt, strict=False)
        if "%z" in fmt:
            dt = text.str.to_datetime(fmt, strict=False, time_zone="UTC")
            dt = dt.dt.convert_time_zone(tz).dt.replace_time_zone(None)
        return dt.dt.date() if dtype == "date" else dt.cast(pl.Datetime("us"))
    candidates = date_candidates(text, tz)
    chosen = pick_candidate(candidates, col, sample)
    dt = pl.coalesce(candidates) if chosen is None else candidates[chosen]
    return dt.dt.date() if dtype == "date" else dt


def date_candidates(text: pl.Expr, tz: str) -> list[pl.Expr]:
    """The text date forms csm reads without a ``date_format``, in the order it tries them
    (offsets converted to ``tz``, then naive timestamps, then plain dates): microseconds."""
    import polars as pl

    out = [
        text.str.to_datetime(f, strict=False, time_zone="UTC")
        .dt.convert_time_zone(tz)
        .dt.replace_time_zone(None)
        .cast(pl.Datetime("us"))
        for f in DATETIME_FORMATS_TZ
    ]
    out += [text.str.to_datetime(f, strict=False).cast(pl.Datetime("us")) for f in DATETIME_FORMATS]
    out.append(text.str.to_date("%Y-%m-%d", strict=False).cast(pl.Datetime("us")))
    return out


def pick_candidate(candidates: list[pl.Expr], col: str, sample: pl.DataFrame | None) -> int | None:
    """The first candidate that reads every present value of the file's first rows (None:
    each value is read by the first candidate that can)."""
    import polars as pl

    if sample is None or col not in sample.columns:
        return None
    present = sample.filter(pl.col(col).str.strip_chars() != "")
    if not present.height:
        return None
    for i, candidate in enumerate(candidates):
        if present.select(candidate.is_null().any()).item() is False:
            return i
    return None


_DTYPE_NAMES = {
    "string": "text",
    "int": "a whole number",
    "float": "a number",
    "bool": "true/false",
    "date": "a date (YYYY-MM-DD)",
    "datetime": "a timestamp (ISO 8601)",
}


def _check(
    lf: pl.LazyFrame,
    path: Path,
    role: str,
    column: str,
    file_column: str,
    condition: pl.Expr,
    raw: pl.Expr,
    problem: pl.Expr | str,
) -> pl.LazyFrame:
    import polars as pl

    return lf.filter(condition).select(
        pl.lit(str(path)).alias("file"),
        pl.col("__row").cast(pl.Int64).alias("row"),
        pl.lit(column).alias("column"),
        raw.cast(pl.String).alias("raw"),
        (pl.lit(problem) if isinstance(problem, str) else problem).alias("problem"),
        pl.lit(role).alias("role"),
        pl.lit(file_column).alias("file_column"),
    )


SAMPLE_ROWS = 500


def _sample(
    lf: pl.LazyFrame,
    schema: Any,
    rename: dict[str, str],
    canon: dict[str, Any],
    source: Source,
    empty: bool = False,
) -> pl.DataFrame | None:
    """The first rows of the file's text date and number columns (canonical names), to
    pick a date format and see whether numbers need cleaning (one small read)."""
    import polars as pl

    if empty:
        return None
    cols = []
    for h, t in schema.items():
        name = rename.get(h, h)
        dtype = canon[name][0] if name in canon else source.dtypes.get(name)
        if dtype in ("date", "datetime", "float", "int") and t == pl.String:
            cols.append(name)
    if not cols:
        return None
    try:
        return lf.select(cols).head(SAMPLE_ROWS).collect()
    except pl.exceptions.PolarsError:
        return None  # the full read reports it, with the file and row


def _interval_months(
    lf: pl.LazyFrame, path: Path, role: str, original: str
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    import polars as pl

    text = pl.col("interval").cast(pl.String).str.strip_chars().str.to_lowercase()
    months = (
        pl.when(text.is_null() | (text == ""))
        .then(1.0)
        .otherwise(
            pl.coalesce(
                text.replace_strict(INTERVAL_MONTHS, default=None, return_dtype=pl.Float64),
                text.cast(pl.Float64, strict=False),
            )
        )
    )
    lf = lf.with_columns(months.alias("interval_months"))
    bad = _check(
        lf,
        path,
        role,
        "interval",
        original,
        pl.col("interval_months").is_null() | ~(pl.col("interval_months") > 0),
        pl.col("interval"),
        "is not an interval (day, week, month, quarter, year or a number of months)",
    )
    return lf, bad


def _infer_attributes(frame: pl.LazyFrame, source: Source) -> pl.LazyFrame:
    """Give undeclared text attributes of accounts a numeric/date type when all values fit."""
    import polars as pl

    schema = frame.collect_schema()
    text_cols = [
        c
        for c, t in schema.items()
        if t == pl.String
        and c not in ROLE_COLUMNS["accounts"]
        and c not in source.dtypes
        and not c.startswith("__")
    ]
    if not text_cols:
        return frame
    sample = frame.select(text_cols).head(5000).collect()  # scan_source explains a failure
    casts = []
    for c in text_cols:
        s = sample[c].str.strip_chars()
        present = s.is_not_null() & (s != "")
        if present.sum() == 0:
            continue
        for dtype in (pl.Int64, pl.Float64):
            parsed = s.cast(dtype, strict=False)
            if (parsed.is_null() & present).sum() == 0:
                casts.append(pl.col(c).str.strip_chars().cast(dtype, strict=False))
                break
        else:
            parsed = s.str.to_date("%Y-%m-%d", strict=False)
            if (parsed.is_null() & present).sum() == 0:
                casts.append(pl.col(c).str.strip_chars().str.to_date("%Y-%m-%d", strict=False))
    return frame.with_columns(casts) if casts else frame
