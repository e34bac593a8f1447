"""The Spark reader's URIs (``s3a://``, ``hdfs://``, ``file://`` ...): Spark lists and
reads the files; what the polars reader decides from a file's first bytes and rows
(header, delimiter, date formats, number cleaning, account attribute types) is decided
from the first rows Spark reads, once for all the files of the path (every CSV file's
header must be the first's: Spark checks each)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cs_metrics.errors import DataError, InputMissingError, UsageError
from cs_metrics.sources.files import _format
from cs_metrics.sources.head import _check_header, _reader, guess_delimiter
from cs_metrics.sources.parse import SAMPLE_ROWS
from cs_metrics.sources.spark_base import SparkScanned
from cs_metrics.sources.spark_files import (
    _csv_options,
    _decide,
    _infer_local,
    _overlap_notice,
    _Part,
    _q,
    _typed,
    _with_file,
)
from cs_metrics.sources.spark_parse import F
from cs_metrics.spec.models import ROLE_COLUMNS, Source

# spec encoding -> Spark's charset name
CHARSETS = {
    "utf8": "UTF-8",
    "utf-8": "UTF-8",
    "utf8-lossy": "UTF-8",
    "utf16": "UTF-16",
    "utf-16": "UTF-16",
    "latin1": "ISO-8859-1",
    "latin-1": "ISO-8859-1",
    "iso-8859-1": "ISO-8859-1",
    "cp1252": "windows-1252",
    "windows-1252": "windows-1252",
}


def _refuse(source: Source, role: str, uri: str) -> None:
    """Settings the Spark reader cannot honour for a URI: an error naming the setting."""
    opts = source.options
    where = f"sources.{role}"
    setting = None
    if source.preset:
        setting = f"{where}.preset ({source.preset})"
    elif opts.skip_rows:
        setting = f"{where}.options.skip_rows"
    elif opts.date_format:
        setting = f"{where}.options.date_format"
    elif (source.format or _format(source, Path(uri))) == "ndjson":
        setting = f"{where}.format (ndjson)"
    if setting:
        raise UsageError(
            f"{where}.path: {uri} is read by Spark, which does not read {setting} for a URI "
            "yet: convert the files (CSV with ISO dates, or Parquet), or copy them to a local "
            "path, where csm reads them first"
        )


def _spark_failure(role: str, uri: str, exc: Exception) -> InputMissingError:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    hint = ""
    if "No FileSystem for scheme" in text or "UnsupportedFileSystem" in text:
        hint = " (Spark needs the file system's connector on its classpath, e.g. hadoop-aws for s3a://)"
    return InputMissingError(f"sources.{role}.path: Spark cannot read {uri}: {text}{hint}")


def read_remote(session: Any, role: str, source: Source, uris: list[str]) -> SparkScanned:
    """The URIs' rows read by Spark, decided on from their first rows."""

    from cs_metrics.sources.columns import _match_columns
    from cs_metrics.sources.parse import _infer_attributes

    for uri in uris:
        _refuse(source, role, uri)
    fmts = {source.format or _format(source, Path(u)) for u in uris}
    if len(fmts) > 1:
        raise UsageError(
            f"sources.{role}.path: the URIs name files of different formats ({', '.join(sorted(fmts))}): "
            "give one format per source"
        )
    fmt = fmts.pop()
    shown = uris[0] if len(uris) == 1 else f"{uris[0]} (and {len(uris) - 1} more)"
    warnings: list[str] = []
    try:
        if fmt == "parquet":
            df = _with_file(session.read.parquet(*uris))
            header = [c for c in df.columns if c != "__file"]
            delimiter = ","
        else:
            header, delimiter, notes = _header(session, role, source, fmt, uris, shown)
            warnings += notes
            df = _read_csv(session, source, uris, header, delimiter)
    except (UsageError, DataError):
        raise
    except Exception as exc:  # the path does not exist, no connector for the scheme ...
        raise _spark_failure(role, shown, exc) from None
    canon = ROLE_COLUMNS[role]
    rename, notes = _match_columns(shown, role, source, header)  # type: ignore[arg-type]
    warnings += notes
    clash = [h for h in header if h in canon and h not in rename and h in rename.values()]
    part = _Part(fmt, list(uris), header, rename, clash, delimiter=delimiter, remote=True)
    kinds = {fld.name: fld.dataType.simpleString() for fld in df.schema.fields}
    text_cols = {h for h in header if kinds.get(h) == "string"}
    wanted = []
    for h in header:
        name = rename.get(h, h)
        dtype = canon[name][0] if name in canon else source.dtypes.get(name)
        if h in text_cols and h not in clash and dtype in ("date", "datetime", "float", "int"):
            wanted.append(_q(h).alias(name))
    sample = _collect(df.select(*wanted).limit(SAMPLE_ROWS), role, uris) if wanted else None
    _decide(part, role, source, sample, text_cols)
    frame, (bad, detail), found = _typed(df, part, role, source)
    if role == "accounts":
        attrs = [
            c
            for c, t in frame.dtypes
            if t == "string" and c not in canon and c not in source.dtypes
        ]
        if attrs:
            head = _collect(frame.select(*attrs).limit(5000), role, uris)
            target = _infer_attributes(head.lazy(), source).collect_schema()
            frame = _infer_local(frame, target, role, source)
    columns = list(frame.columns)
    notices = [(n, _remote_cleaned(shown)) for n in found]
    if role == "subscriptions" and {"subscription_id", "start_date"} <= set(columns):
        notices.append(_overlap_notice(frame, None))
    return SparkScanned(
        role,
        frame,
        columns,
        list(dict.fromkeys(warnings)),
        [bad] if bad is not None else [],
        list(uris),
        source,
        None,
        notices=notices,
        _details=[detail] if detail is not None else [],
    )


def _collect(df: Any, role: str, uris: list[str]) -> Any:
    """A few first rows, to polars (the decisions' sample); a file Spark cannot read is
    a DataError naming it."""
    import polars as pl

    from cs_metrics.sources.spark_base import spark_read_error

    try:
        return pl.from_arrow(df.toArrow())
    except Exception as exc:
        raise spark_read_error(role, uris, exc) from None


def _remote_cleaned(shown: str) -> Any:
    from cs_metrics.sources.spark_files import _cleaned_fmt

    return _cleaned_fmt(shown)


def _header(
    session: Any, role: str, source: Source, fmt: str, uris: list[str], shown: str
) -> tuple[list[str], str, list[str]]:
    """The first file's header line (read through Spark) and the delimiter."""
    opts = source.options
    first = session.read.text(uris).limit(1).collect()
    if not first or not str(first[0][0]).strip():
        raise DataError(f"{shown}: the file is empty (no header line): export it again")
    line = str(first[0][0]).removeprefix("\ufeff")
    notes: list[str] = []
    delimiter = guess_delimiter(line, opts, fmt, shown, role, notes)
    header = next(_reader(line, delimiter, opts.quote_char), [])
    names = _check_header(shown, header)  # type: ignore[arg-type]
    blank = [i for i, n in enumerate(names, start=1) if n.startswith("__blank")]
    if blank:
        raise DataError(
            f"{shown}: header column {blank[0]} has no name: Spark checks every file's "
            "header against the first's by name, so name every column in the export"
        )
    return names, delimiter, notes


def _read_csv(
    session: Any, source: Source, uris: list[str], header: list[str], delimiter: str
) -> Any:
    """Every file's header checked against ``header`` (Spark's enforceSchema=false); a
    record with more fields than the header keeps the first extra one in __extra."""
    from pyspark.sql import types as T

    f = F()
    fields = [T.StructField(n, T.StringType(), True) for n in header]
    schema = T.StructType([*fields, T.StructField("__corrupt", T.StringType(), True)])
    options = _csv_options(source, delimiter)
    options["encoding"] = CHARSETS[source.options.encoding]
    df = (
        session.read.options(
            header=True, enforceSchema=False, columnNameOfCorruptRecord="__corrupt", **options
        )
        .schema(schema)
        .csv(uris)
    )
    wide = ", ".join(f"c{i} STRING" for i in range(len(header) + 1))
    extra = f.from_csv(f.col("__corrupt"), wide, {k: str(v) for k, v in options.items()})
    df = df.select(
        *(_q(n) for n in header),
        f.when(f.col("__corrupt").isNotNull(), extra[f"c{len(header)}"]).alias("__extra"),
        f.col("_metadata.file_path").alias("__file"),
    )
    return df
