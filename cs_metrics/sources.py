"""Reading sources: files -> typed polars LazyFrames with canonical column names.

Every engine sees the same typed inputs: files are scanned by polars (lazily), columns
renamed to their canonical names, and messy text parsed with ``strict=False``. For every
parsed column a *check frame* lists the rows where text was present but did not parse, so
a bad value is reported with file, row, column and the raw text (see ``Scanned.checks``).
"""

from __future__ import annotations

import glob as globmod
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cs_metrics.errors import DataError, InputMissingError, Problem
from cs_metrics.presets import apply_preset, finish_preset
from cs_metrics.spec import did_you_mean
from cs_metrics.spec.models import ROLE_COLUMNS, Source

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
MAX_REPORTED = 10  # bad values shown per run


@dataclass
class Scanned:
    role: str
    frame: pl.LazyFrame  # canonical, typed columns (+ __file, __row for diagnostics)
    files: list[Path]
    checks: list[pl.LazyFrame] = field(default_factory=list)  # file, row, column, raw, problem
    columns: list[str] = field(default_factory=list)
    source: Source | None = None


def resolve_files(spec_dir: Path, role: str, source: Source) -> list[Path]:
    paths = [source.path] if isinstance(source.path, str) else list(source.path)
    files: list[Path] = []
    for p in paths:
        full = Path(p) if Path(p).is_absolute() else spec_dir / p
        if any(ch in p for ch in "*?["):
            matched = sorted(Path(m) for m in globmod.glob(str(full), recursive=True))
            if not matched:
                raise InputMissingError(
                    f"sources.{role}.path: no file matches {full}: check the pattern "
                    "(paths are relative to the spec file)"
                )
            files += matched
        elif not full.is_file():
            raise InputMissingError(
                f"sources.{role}.path: file {full} not found: check the path "
                "(paths are relative to the spec file)"
            )
        else:
            files.append(full)
    return files


def _format(source: Source, path: Path) -> str:
    if source.format:
        return source.format
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    ext = suffixes[-1] if suffixes else ""
    return {
        ".tsv": "tsv",
        ".tab": "tsv",
        ".parquet": "parquet",
        ".pq": "parquet",
        ".ndjson": "ndjson",
        ".jsonl": "ndjson",
    }.get(ext, "csv")


def _scan_file(path: Path, source: Source, fmt: str) -> pl.LazyFrame:
    import polars as pl

    opts = source.options
    try:
        if fmt == "parquet":
            return pl.scan_parquet(path)
        if fmt == "ndjson":
            return pl.scan_ndjson(path, infer_schema_length=1000)
        sep = opts.delimiter or ("\t" if fmt == "tsv" else ",")
        kwargs: dict[str, Any] = dict(
            separator=sep,
            infer_schema=False,  # everything as text; we parse and report bad values
            null_values=opts.null_values or None,
            skip_rows=opts.skip_rows,
        )
        if opts.encoding in ("utf8", "utf8-lossy"):
            return pl.scan_csv(path, encoding=opts.encoding, **kwargs)
        text = path.read_bytes().decode(opts.encoding)
        return pl.read_csv(text.encode("utf-8"), **kwargs).lazy()
    except OSError as exc:
        raise InputMissingError(f"cannot read {path}: {exc}") from None


def _header(lf: pl.LazyFrame, path: Path) -> list[str]:
    import polars as pl

    try:
        return list(lf.collect_schema().names())
    except pl.exceptions.PolarsError as exc:
        raise DataError(f"cannot read {path}: {str(exc).splitlines()[0]}") from None
    except OSError as exc:
        raise InputMissingError(f"cannot read {path}: {exc}") from None


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
    if dtype == "float":
        return text.cast(pl.Float64, strict=False)
    if dtype == "int":
        return pl.coalesce(
            text.cast(pl.Int64, strict=False),
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
    candidates = [
        text.str.to_datetime(f, strict=False, time_zone="UTC")
        .dt.convert_time_zone(tz)
        .dt.replace_time_zone(None)
        .cast(pl.Datetime("us"))
        for f in DATETIME_FORMATS_TZ
    ]
    candidates += [
        text.str.to_datetime(f, strict=False).cast(pl.Datetime("us")) for f in DATETIME_FORMATS
    ]
    candidates.append(text.str.to_date("%Y-%m-%d", strict=False).cast(pl.Datetime("us")))
    dt = pl.coalesce(candidates)
    if sample is not None and col in sample.columns:
        present = sample.filter(pl.col(col).str.strip_chars() != "")
        if present.height:
            for candidate in candidates:
                if present.select(candidate.is_null().any()).item() is False:
                    dt = candidate
                    break
    return dt.dt.date() if dtype == "date" else dt


_DTYPE_NAMES = {
    "string": "text",
    "int": "a whole number",
    "float": "a number",
    "bool": "true/false",
    "date": "a date (YYYY-MM-DD)",
    "datetime": "a timestamp (ISO 8601)",
}


def scan_source(
    spec_dir: Path, role: str, source: Source, *, infer_attributes: bool = True
) -> Scanned:
    """Scan every file of a source into one typed LazyFrame with canonical columns."""
    import polars as pl

    canon = ROLE_COLUMNS[role]
    files = resolve_files(spec_dir, role, source)
    frames, checks = [], []
    for path in files:
        fmt = _format(source, path)
        lf = _scan_file(path, source, fmt)
        header = _header(lf, path)
        lf, header = apply_preset(lf, header, source, role, path)  # sources.<role>.preset
        schema = lf.collect_schema()
        rename: dict[str, str] = {}
        for canonical, column in source.columns.items():
            if column not in header:
                raise DataError(
                    f"{path}: sources.{role}.columns maps {canonical} to column {column!r}, "
                    f"but the file has no such column{did_you_mean(column, header)}; "
                    f"its columns: {', '.join(header)}"
                )
            rename[column] = canonical
        present = {rename.get(h, h) for h in header}
        for canonical, (_dtype, required) in canon.items():
            if required and canonical not in present:
                raise DataError(
                    f"{path}: the {role} source needs a column {canonical!r}"
                    f"{did_you_mean(canonical, header)}: map it under sources.{role}.columns "
                    f"(e.g. {canonical}: <column in the file>); its columns: {', '.join(header)}"
                )
        # columns renamed away that clash with a canonical name are dropped from the frame
        clash = [h for h in header if h in canon and h not in rename and h in rename.values()]
        lf = lf.drop(clash).rename(rename)
        header_row = 1 + source.options.skip_rows if fmt in ("csv", "tsv") else 0
        lf = lf.with_row_index("__row", offset=header_row + 1)
        exprs, file_checks = [], []
        sample = _date_sample(lf, schema, rename, canon, source)
        for name in (rename.get(h, h) for h in header if h not in clash):
            dtype = canon[name][0] if name in canon else source.dtypes.get(name)
            if dtype is None:
                continue
            current = schema[next(h for h in header if rename.get(h, h) == name)]
            parsed = _parse(name, dtype, current, source.options, sample)
            exprs.append(parsed.alias(name))
            if dtype != "string" and not _already_typed(current, dtype):
                raw = pl.col(name).cast(pl.String)
                file_checks.append(
                    lf.filter(
                        raw.is_not_null() & (raw.str.strip_chars() != "") & parsed.is_null()
                    ).select(
                        pl.lit(str(path)).alias("file"),
                        pl.col("__row").cast(pl.Int64).alias("row"),
                        pl.lit(name).alias("column"),
                        raw.alias("raw"),
                        pl.lit(f"is not {_DTYPE_NAMES[dtype]}").alias("problem"),
                    )
                )
        lf = lf.with_columns(exprs)
        lf = finish_preset(lf, source, role)  # sources.<role>.preset: rules over typed values
        if role == "subscriptions" and "interval" in present:
            lf, chk = _interval_months(lf, path)
            file_checks.append(chk)
        checks.append(pl.concat(file_checks).head(MAX_REPORTED) if file_checks else None)
        frames.append(lf.with_columns(pl.lit(str(path)).alias("__file")))
    frame = pl.concat(frames, how="diagonal_relaxed") if len(frames) > 1 else frames[0]
    if role == "accounts" and infer_attributes:
        frame = _infer_attributes(frame, source)
    out_cols = [c for c in frame.collect_schema().names() if not c.startswith("__")]
    return Scanned(role, frame, files, [c for c in checks if c is not None], out_cols, source)


SAMPLE_ROWS = 500


def _date_sample(
    lf: pl.LazyFrame, schema: Any, rename: dict[str, str], canon: dict[str, Any], source: Source
) -> pl.DataFrame | None:
    """The first rows of the file's text date columns (canonical names), to pick a format."""
    import polars as pl

    if source.options.date_format:
        return None
    cols = []
    for h, t in schema.items():
        name = rename.get(h, h)
        dtype = canon[name][0] if name in canon else source.dtypes.get(name)
        if dtype in ("date", "datetime") and t == pl.String:
            cols.append(name)
    if not cols:
        return None
    try:
        return lf.select(cols).head(SAMPLE_ROWS).collect()
    except pl.exceptions.PolarsError:
        return None  # the full read reports it, with the file and row


def _interval_months(lf: pl.LazyFrame, path: Path) -> tuple[pl.LazyFrame, pl.LazyFrame]:
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
    bad = lf.filter(pl.col("interval_months").is_null() | (pl.col("interval_months") <= 0)).select(
        pl.lit(str(path)).alias("file"),
        pl.col("__row").cast(pl.Int64).alias("row"),
        pl.lit("interval").alias("column"),
        pl.col("interval").cast(pl.String).alias("raw"),
        pl.lit("is not an interval (day, week, month, quarter, year or a number of months)").alias(
            "problem"
        ),
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
    sample = frame.select(text_cols).head(5000).collect()
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


def explain_read_error(scanned: list[Scanned], exc: Exception) -> DataError:
    """Turn an engine's read failure into an error naming the file (and row, for ragged CSV).

    Only runs on the error path: each source's files are read again, one at a time, to find
    the one that fails; for CSV the first row whose field count differs from the header's
    is located with the csv module.
    """
    import csv

    import polars as pl

    first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    for sc in scanned:
        src = sc.source
        if src is None:
            continue
        for path in sc.files:
            fmt = _format(src, path)
            try:
                _scan_file(path, src, fmt).collect()
                continue
            except pl.exceptions.PolarsError as file_exc:
                detail = str(file_exc).splitlines()[0]
            where = str(path)
            if fmt in ("csv", "tsv") and not path.name.endswith(".gz"):
                sep = src.options.delimiter or ("\t" if fmt == "tsv" else ",")
                try:
                    with path.open(newline="", encoding="utf-8", errors="replace") as fh:
                        for _ in range(src.options.skip_rows):
                            fh.readline()
                        rows = csv.reader(fh, delimiter=sep)
                        width = len(next(rows, []))
                        for n, row in enumerate(rows, start=2 + src.options.skip_rows):
                            if row and len(row) != width:
                                where = f"{path}:{n}"
                                detail = (
                                    f"row has {len(row)} fields but the header has {width}: "
                                    "quote values that contain the delimiter, or set "
                                    f"sources.{sc.role}.options.delimiter"
                                )
                                break
                except (OSError, csv.Error):
                    pass
            return DataError(f"cannot read {where}: {detail}")
    return DataError(f"cannot read the input data: {first_line}")


def raise_for_checks(bad: pl.DataFrame, total_hint: str = "") -> None:
    """Turn collected check rows into one DataError naming file, row, column and value."""
    if bad.height == 0:
        return
    problems = [
        Problem(
            f"column {r['column']}: {r['raw']!r} {r['problem']}",
            f"{r['file']}:{r['row']}",
            code="bad-value",
        )
        for r in bad.sort("file", "row").head(MAX_REPORTED).iter_rows(named=True)
    ]
    raise DataError(
        f"invalid values in the input data ({bad.height}{'+' if bad.height >= MAX_REPORTED else ''} "
        "shown below): fix the export, map the right column, or set sources.<role>.options "
        "(date_format, null_values, timezone)",
        problems,
    )
