"""One source: files -> one typed polars LazyFrame with canonical columns, its check
frames, notices and what reading decided (:func:`scan_source`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cs_metrics.errors import DataError, InputMissingError
from cs_metrics.presets.apply import apply_preset, finish_preset
from cs_metrics.sources.base import MAX_REPORTED, Notice, Scanned, _named
from cs_metrics.sources.checks import _order_checks, _overlap_notice
from cs_metrics.sources.columns import (
    _match_columns,
)
from cs_metrics.sources.files import _format, _resolve
from cs_metrics.sources.head import (
    _check_header,
    _sniff,
)
from cs_metrics.sources.parse import (
    _DTYPE_NAMES,
    MONEY_LIMIT,
    _already_typed,
    _check,
    _cleans,
    _infer_attributes,
    _interval_months,
    _nested,
    _number_text,
    _parse,
    _sample,
    _schema,
)
from cs_metrics.sources.problems import (
    _csv_problem,
    _ndjson_problem,
)
from cs_metrics.spec.models import ROLE_COLUMNS, Source

if TYPE_CHECKING:
    import polars as pl

if TYPE_CHECKING:
    import polars as pl


OWN_IDS = ("order_id", "ticket_id")  # required in the header, not on every row


# ---- scanning ----------------------------------------------------------------------------
@dataclass
class _File:
    frame: pl.LazyFrame
    header: list[str]  # the names of the frame's columns, file order (before renaming)
    schema: Any
    header_row: int  # the line number of the header (0 for Parquet / NDJSON)
    notes: list[str]
    empty: bool = False  # known to have no rows
    delimiter: str = ","


def _scan_file(path: Path, source: Source, fmt: str, role: str = "") -> _File:
    import polars as pl

    role = role or "<role>"
    opts = source.options
    try:
        if fmt in ("parquet", "ndjson"):
            if fmt == "parquet":
                lf = pl.scan_parquet(path, glob=False)  # a file named a[1].parquet is no pattern
            else:
                if path.stat().st_size == 0:
                    raise DataError(f"{path}: the file is empty: export it again, or remove it")
                # scan_ndjson has no glob=False: a path with glob characters as bytes
                src = path.read_bytes() if any(ch in str(path) for ch in "*?[") else path
                lf = pl.scan_ndjson(src, infer_schema_length=1000)
            schema = _schema(lf, path, fmt)
            return _File(lf, list(schema.names()), schema, 0, [])
        text = _sniff(path, role, source, fmt)
        names = _check_header(path, text.header)
        schema = pl.Schema({n: pl.String for n in [*names, "__extra"]})
        empty = text.complete and not text.rows_in_head
        if empty:
            lf = pl.LazyFrame(schema=schema)
        else:
            kwargs: dict[str, Any] = dict(
                has_header=False,
                skip_rows=opts.skip_rows + 1,
                separator=text.delimiter,
                quote_char=opts.quote_char,
                schema=schema,
                missing_columns="insert",  # a short row: its missing fields are null
                truncate_ragged_lines=True,  # an extra field lands in __extra (checked)
                null_values=opts.null_values or None,
            )
            if text.data is not None:
                lf = pl.scan_csv(text.data, **kwargs)
            else:
                enc = "utf8-lossy" if opts.encoding == "utf8-lossy" else "utf8"
                lf = pl.scan_csv(path, encoding=enc, glob=False, **kwargs)
        notes = list(text.notes)
        if empty:
            notes.append(f"{path}: 0 rows (only a header): did the export fail?")
        return _File(
            lf, names, lf.collect_schema(), 1 + opts.skip_rows, notes, empty, text.delimiter
        )
    except OSError as exc:
        raise InputMissingError(f"cannot read {path}: {exc.strerror or exc}") from None


def scan_source(
    spec_dir: Path, role: str, source: Source, *, infer_attributes: bool = True
) -> Scanned:
    """Scan every file of a source into one typed LazyFrame with canonical columns."""
    import polars as pl

    canon = ROLE_COLUMNS[role]
    files, warnings = _resolve(spec_dir, role, source)
    frames, checks, notices = [], [], []
    for path in files:
        fmt = _format(source, path)
        scanned = _scan_file(path, source, fmt, role)
        lf, header, schema = scanned.frame, scanned.header, scanned.schema
        warnings += scanned.notes
        if source.preset:  # sources.<role>.preset: the vendor's names and conventions
            lf, header = apply_preset(lf, header, source, role, path)
            schema = lf.collect_schema()
        rename, notes = _match_columns(path, role, source, header)
        warnings += notes
        present = {rename.get(h, h) for h in header}
        # columns renamed away that clash with a canonical name are dropped from the frame
        clash = [h for h in header if h in canon and h not in rename and h in rename.values()]
        file_column = {rename.get(h, h): h for h in header if h not in clash}
        lf = lf.drop(clash).rename(rename)
        lf = lf.with_row_index("__row", offset=scanned.header_row + 1)
        exprs, file_checks = [], []
        sample = _sample(lf, schema, rename, canon, source, scanned.empty)
        for name, original in file_column.items():
            dtype = canon[name][0] if name in canon else source.dtypes.get(name)
            if dtype is None or name.startswith("__"):
                continue
            current = schema[original]
            if _nested(current) and dtype != "string":
                raise DataError(
                    f"{path}: column {_named(name, original)} is {current} in the file, not "
                    f"{_DTYPE_NAMES[dtype]}: export it as a plain column"
                )
            parsed = _parse(name, dtype, current, source.options, sample)
            exprs.append(parsed.alias(name))
            raw = pl.col(name).cast(pl.String)
            # a preset's own rules drop rows it cannot use (a future Recurly activation)
            # (a row's own id may be empty: an order without order_id is still an order)
            if name in canon and canon[name][1] and name not in OWN_IDS and not source.preset:
                file_checks.append(_required_check(lf, path, role, name, original, current))
            if dtype != "string" and not _already_typed(current, dtype):
                file_checks.append(
                    _check(
                        lf,
                        path,
                        role,
                        name,
                        original,
                        raw.is_not_null() & (raw.str.strip_chars() != "") & parsed.is_null(),
                        raw,
                        f"is not {_DTYPE_NAMES[dtype]}",
                    )
                )
            if dtype == "float":
                limit = MONEY_LIMIT  # amounts, scores, rates, usage values alike
                file_checks.append(
                    _check(
                        lf,
                        path,
                        role,
                        name,
                        original,
                        parsed.is_not_null() & ~(parsed.abs() < limit),
                        raw,
                        pl.when(parsed.is_finite())
                        .then(pl.lit(f"is too large (over {limit:.0e}): an export error?"))
                        .otherwise(pl.lit("is not a finite number: fix the export")),
                    )
                )
                if current == pl.String and _cleans(name, source.options, sample):
                    text = raw.str.strip_chars()
                    cleaned = _number_text(text, source.options)[1] & parsed.is_not_null()
                    notices.append(_cleaned_notice(lf, path, name, original, cleaned, raw))
        if "__extra" in schema:
            file_checks.append(
                _check(
                    lf,
                    path,
                    role,
                    "",
                    "",
                    pl.col("__extra").is_not_null(),
                    pl.col("__extra"),
                    f"is a field beyond the header's {len(header)}: quote values that "
                    f"contain the delimiter {_shown(scanned.delimiter)}, or set "
                    f"sources.{role}.options.delimiter",
                )
            )
        lf = lf.with_columns(exprs).drop("__extra", strict=False)
        lf = finish_preset(lf, source, role)  # sources.<role>.preset: rules over typed values
        if role == "subscriptions" and "interval" in present:
            lf, chk = _interval_months(lf, path, role, file_column.get("interval", "interval"))
            file_checks.append(chk)
        file_checks += _order_checks(lf, path, role, present, file_column)
        checks.append(pl.concat(file_checks).head(MAX_REPORTED) if file_checks else None)
        frames.append(lf.with_columns(pl.lit(str(path)).alias("__file")))
    frame = pl.concat(frames, how="diagonal_relaxed") if len(frames) > 1 else frames[0]
    if role == "accounts" and infer_attributes:
        try:
            frame = _infer_attributes(frame, source)
        except pl.exceptions.PolarsError as exc:  # the first rows cannot be read (a quote)
            raise explain_read_error([Scanned(role, frame, files, source=source)], exc) from None
    out_cols = [c for c in frame.collect_schema().names() if not c.startswith("__")]
    if role == "subscriptions" and {"subscription_id", "start_date"} <= set(out_cols):
        notices.append(_overlap_notice(frame, out_cols))
    return Scanned(
        role,
        frame,
        files,
        [c for c in checks if c is not None],
        out_cols,
        source,
        list(dict.fromkeys(warnings)),
        notices,
    )


def _required_check(
    lf: pl.LazyFrame, path: Path, role: str, name: str, original: str, current: Any
) -> pl.LazyFrame:
    """A required column left empty: an error, never a row silently left out of the sums.
    A row with fewer fields than the header reads its missing fields as empty (polars
    cannot tell the two apart), so a short row missing a required value lands here.
    A typed file column (a Parquet timestamp, a number) is empty only when null: it is
    not formatted as text to look for blanks (that cost 0.5 s over 7M timestamps)."""
    import polars as pl

    col = pl.col(name)
    typed = current.is_numeric() or current.is_temporal() or current == pl.Boolean
    empty = (
        col.is_null() if typed else col.is_null() | (col.cast(pl.String).str.strip_chars() == "")
    )
    return _check(
        lf,
        path,
        role,
        name,
        original,
        empty,
        pl.lit(""),
        f"is empty, but every {role} row needs a {name} (a row with fewer fields than the "
        "header has its last ones empty): fill it in the export, or remove the row",
    )


def _shown(delimiter: str) -> str:
    return "tab" if delimiter == "\t" else repr(delimiter)


def _cleaned_notice(
    lf: pl.LazyFrame, path: Path, name: str, original: str, cleaned: pl.Expr, raw: pl.Expr
) -> Notice:
    import polars as pl

    frame = lf.filter(cleaned).select(pl.len().alias("n"), raw.first().alias("example"))

    def fmt(df: pl.DataFrame) -> str | None:
        n = int(df["n"][0]) if df.height else 0
        if not n:
            return None
        return (
            f"{path}: column {_named(name, original)}: read {n} value(s) written with a "
            f"currency symbol or thousands separators, e.g. {df['example'][0]!r}"
        )

    return frame, fmt


# ---- the error path ----------------------------------------------------------------------
def explain_read_error(scanned: list[Scanned], exc: Exception) -> DataError:
    """Turn an engine's read failure into an error naming the file (and row or line).

    Only runs on the error path: each source's files are read again, one at a time, to find
    the one that fails; then the CSV record (a stray quote, a field count), the NDJSON line
    or the bytes that are not UTF-8 are located with Python's own readers.
    """
    import polars as pl

    first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    for sc in scanned:
        src = sc.source
        if src is None:
            continue
        for path in sc.files:
            fmt = _format(src, path)
            try:
                _scan_file(path, src, fmt, sc.role).frame.collect()
                continue
            except pl.exceptions.PolarsError as file_exc:
                detail = str(file_exc).splitlines()[0]
            except DataError as file_err:
                return file_err
            if fmt == "ndjson":
                return DataError(_ndjson_problem(path) or f"cannot read {path}: {detail}")
            if fmt == "parquet":
                return DataError(
                    f"{path} is not a readable Parquet file ({detail}): it may be truncated "
                    "or corrupt; export it again"
                )
            return DataError(
                _csv_problem(path, sc.role, src, fmt) or f"cannot read {path}: {detail}"
            )
    return DataError(f"cannot read the input data: {first_line}")
