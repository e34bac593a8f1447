"""Reading a source on Spark (``--engine spark``): :func:`read_source`.

Spark reads the files itself (CSV, Parquet, globs, and any URI Spark can read:
``s3a://``, ``hdfs://``, ``file://`` ...), so no data passes through the driver; the frame
has the polars reader's canonical typed columns (cs_metrics/sources/scan.py), parsed by
the same rules (spark_parse.py). See spark_base.py for what each part does.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from cs_metrics.errors import UsageError
from cs_metrics.sources.spark_base import SparkScanned, is_uri, spark_schema
from cs_metrics.sources.spark_files import read_local
from cs_metrics.sources.spark_remote import read_remote
from cs_metrics.spec.models import Source

__all__ = ["SparkScanned", "is_uri", "read_source", "session_timestamps", "unsupported"]


# ---- the entry point ---------------------------------------------------------------------
def read_source(session: Any, spec_dir: Path, role: str, source: Source) -> SparkScanned:
    """The source's rows as a Spark DataFrame with the polars reader's canonical typed
    columns, its checks and what reading decided (see the module docstring)."""
    paths = [source.path] if isinstance(source.path, str) else list(source.path)
    remote = [p for p in paths if is_uri(p)]
    if remote:
        if len(remote) != len(paths):
            raise UsageError(
                f"sources.{role}.path mixes local paths and URIs ({remote[0]}): give all "
                "as URIs (file:///abs/path for a local file) or all as local paths"
            )
        return read_remote(session, role, source, remote)
    reason = unsupported(source)
    if reason is None:
        read = read_local(session, spec_dir, role, source)
        if isinstance(read, SparkScanned):
            return read
        reason = read
    return _fallback(session, spec_dir, role, source, reason)


def unsupported(source: Source) -> str | None:
    """A setting the Spark reader does not read itself, named; None when it reads them all."""
    opts = source.options
    if source.preset:
        return f"preset: {source.preset}"
    if opts.encoding not in ("utf8", "utf-8", "utf8-lossy"):
        return f"options.encoding: {opts.encoding}"
    if opts.skip_rows:
        return f"options.skip_rows: {opts.skip_rows}"
    if opts.date_format:
        return f"options.date_format: {opts.date_format!r}"
    if source.format == "ndjson":
        return "format: ndjson"
    return None


def _fallback(session: Any, spec_dir: Path, role: str, source: Source, reason: str) -> SparkScanned:
    """The polars reader's rows handed to Spark (local files the Spark reader cannot read
    as the spec says: ``reason``)."""
    import polars as pl

    from cs_metrics.output import debug_enabled
    from cs_metrics.sources.scan import explain_read_error, scan_source

    sc = scan_source(spec_dir, role, source)
    out = [c for c in sc.frame.collect_schema().names() if not c.startswith("__")]
    try:
        # __file and __row kept: the metrics' warnings name a row by them
        rows, *bad = pl.collect_all([sc.frame.select(*out, "__file", "__row"), *sc.checks])
    except pl.exceptions.PolarsError as exc:
        raise explain_read_error([sc], exc) from None
    note = f"sources.{role}: read by the polars reader and handed to Spark ({reason})"
    if debug_enabled():
        print(f"debug: {note}", file=sys.stderr)
    frame = session.createDataFrame(rows.to_arrow(), schema=spark_schema(rows.schema))
    return SparkScanned(
        role,
        frame,
        sc.columns,
        list(sc.warnings),
        [],
        [str(f) for f in sc.files],
        source,
        spec_dir,
        note,
        _polars_checks=[b.lazy() for b in bad if b.height],
    )


def session_timestamps(frame: Any) -> Any:
    """``frame`` with its TIMESTAMP_NTZ columns as TIMESTAMP (what ``createDataFrame`` makes
    of polars' naive datetimes). Exact when the session's time zone is UTC, as csm pins it;
    for an engine whose plans were written against lifted frames."""
    from pyspark.sql import functions as F

    ntz = {name for name, t in frame.dtypes if t == "timestamp_ntz"}
    if not ntz:
        return frame
    return frame.select(
        *(
            F.col(f"`{c}`").cast("timestamp").alias(c) if c in ntz else F.col(f"`{c}`")
            for c in frame.columns
        )
    )
