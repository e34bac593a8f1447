"""What the Spark reader gives (:class:`SparkScanned`), its error reports and the
helpers shared by its modules; cs_metrics/sources/spark.py is the entry point.

Reading a source on Spark (``--engine spark``): Spark reads the files itself (CSV,
Parquet, globs, and any URI Spark can read: ``s3a://``, ``hdfs://``, ``file://`` ...), so
no data passes through the driver; the frame has the polars reader's canonical typed
columns (cs_metrics/sources/scan.py), parsed by the same rules (spark_parse.py).

Local files are checked and decided on exactly as the polars reader does: its own
functions read each file's first bytes and rows (header, delimiter, which date format
and whether number text needs cleaning) and give its warnings and errors; Spark then
reads the whole files with those decisions. A bad value found by Spark in a local file
is reported by the polars reader (file, row, column, raw text and fix). A remote path is
decided on from its first rows read through Spark, and its bad values are reported with
file, column and value (Spark does not know row numbers).

What the Spark reader cannot honour for a local file (a preset, an encoding other than
UTF-8, skip_rows, date_format, NDJSON) is read by the polars reader and its rows handed
to Spark (``SparkScanned.fallback`` says why; printed under --debug); for a remote path
it is an error naming the setting. docs/inputs.md, "Reading on Spark".
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cs_metrics.errors import DataError, Problem
from cs_metrics.sources import parse
from cs_metrics.sources.base import MAX_REPORTED, _named
from cs_metrics.sources.files import is_uri
from cs_metrics.sources.parse import date_candidates
from cs_metrics.spec.models import Source

OWN_IDS = ("order_id", "ticket_id")  # as scan.OWN_IDS
NOT_UTF8 = "has bytes that are not UTF-8 text"
SPARK_NULL = "\u0001"  # Spark's nullValue: an empty field is null, a quoted "" is ''


@dataclass
class SparkScanned:
    role: str
    frame: Any  # pyspark DataFrame: canonical typed columns (as Scanned.frame, no __ columns)
    columns: list[str]  # canonical/output columns, as Scanned.columns
    warnings: list[str]  # what reading decided (columns matched, delimiter guessed ...)
    checks: list[Any]  # pyspark DataFrames of bad rows (the file's columns), or []
    files: list[str] = field(default_factory=list)  # local paths, or the URIs as given
    source: Source | None = None
    spec_dir: Path | None = None
    # why the polars reader read the rows instead (local files only), else None
    fallback: str | None = None
    # (pyspark DataFrame, fmt): fmt(the frame collected to polars) -> a warning or None
    notices: list[tuple[Any, Callable[[Any], str | None]]] = field(default_factory=list)
    _polars_checks: list[Any] = field(default_factory=list)  # of a fallback read
    # per check: builds the bad rows' file, column, raw text and problem (MAX_REPORTED)
    _details: list[Callable[[], Any]] = field(default_factory=list)

    @property
    def remote(self) -> bool:
        return any(is_uri(f) for f in self.files)

    def check(self) -> None:
        """Raise the polars reader's DataError when the source has bad values (one Spark
        job; nothing when there are none)."""
        import polars as pl

        from cs_metrics.sources.problems import raise_for_checks

        if self._polars_checks:
            raise_for_checks(pl.concat(pl.collect_all(self._polars_checks)))
        if not self.checks:
            return
        try:
            bad = self.checks[0]
            for more in self.checks[1:]:
                bad = bad.select("__file").unionByName(more.select("__file"))
            if bad.isEmpty():  # the common case: one job that stops at the first bad row
                return
        except Exception as exc:  # a file Spark cannot read: its header, its bytes ...
            if type(exc).__name__ in ("KeyboardInterrupt", "SystemExit"):
                raise
            raise spark_read_error(self.role, self.files, exc) from None
        if not self.remote and self.source is not None and self.spec_dir is not None:
            _polars_report(self.spec_dir, self.role, self.source)
        details = [build() for build in self._details]
        found = details[0]
        for more in details[1:]:
            found = found.unionByName(more)
        rows = [r.asDict() for r in found.limit(MAX_REPORTED).collect()]
        if not self.remote:  # U+FFFD in the text itself: the polars reader reads it too
            rows = [r for r in rows if r["problem"] != NOT_UTF8]
        if rows:
            raise _spark_report(rows)


def spark_read_error(role: str, files: list[str], exc: BaseException) -> DataError:
    """A Spark job's failure to read a source's files, named by file and cause."""
    text = str(exc)
    found = re.search(r"while reading file (\S+?)\.?\s", text)
    where = found.group(1) if found else (files[0] if len(files) == 1 else f"sources.{role}")
    header = re.search(r"CSV header does not conform to the schema\.\s*Header: ([^\n]*)", text)
    if header:
        return DataError(
            f"{where}: its header ({header.group(1).strip()}) is not the first file's: Spark "
            f"reads every file of sources.{role}.path with the first file's columns, in its "
            "order; export the files alike, or give each layout its own path list entry"
        )
    lines = [
        ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("at ")
    ]
    cause = next((ln for ln in reversed(lines) if "Exception:" in ln), lines[0] if lines else "")
    return DataError(f"Spark cannot read {where} (sources.{role}): {cause[:300]}")


def _polars_report(spec_dir: Path, role: str, source: Source) -> None:
    """The polars reader's exact error (rows and fixes) for local files, if it finds one."""
    import polars as pl

    from cs_metrics.sources.problems import raise_for_checks
    from cs_metrics.sources.scan import explain_read_error, scan_source

    sc = scan_source(spec_dir, role, source)
    try:
        bad = pl.collect_all(sc.checks) if sc.checks else []
    except pl.exceptions.PolarsError as exc:
        raise explain_read_error([sc], exc) from None
    if bad:
        raise_for_checks(pl.concat(bad))


def _spark_report(rows: list[dict[str, Any]]) -> DataError:
    """Bad values found by Spark, named by file, column and value (no row numbers)."""
    from cs_metrics.sources.problems import _hint, suggest_date_format

    for r in rows:  # Spark's file:/x is the file:///x of the spec
        r["file"] = re.sub(r"^file:/(?!/)", "file:///", str(r["file"]))
    rows = sorted(rows, key=lambda r: (str(r["file"]), str(r["column"])))
    dates: dict[tuple[str, str], list[str]] = {}
    for r in rows:
        if "is not a date" in r["problem"] or "is not a timestamp" in r["problem"]:
            dates.setdefault((r["file"], r["column"]), []).append(str(r["raw"]))
    fits = {k: suggest_date_format(v) for k, v in dates.items()}
    problems = []
    for r in rows:
        named = f"column {_named(r['column'], r['file_column'] or r['column'])}: "
        problems.append(
            Problem(
                f"{named if r['column'] else ''}{r['raw']!r} {r['problem']}{_hint(r, fits)}",
                str(r["file"]),
                code="bad-value",
            )
        )
    role = rows[0].get("role") or "<role>"
    more = "+" if len(rows) >= MAX_REPORTED else ""
    return DataError(
        f"invalid values in the input data ({len(rows)}{more} shown below): fix the export, "
        f"map the right column, or set sources.{role}.options "
        "(date_format, decimal, thousands, null_values, timezone)",
        problems,
    )


SPARK_TYPES = {
    "String": "string",
    "Int64": "bigint",
    "Int32": "int",
    "Int16": "smallint",
    "Int8": "tinyint",
    "Float64": "double",
    "Float32": "float",
    "Boolean": "boolean",
    "Date": "date",
}


def spark_type_name(dtype: Any) -> str | None:
    """The Spark SQL type of a polars dtype (None: no plain equivalent)."""
    import polars as pl

    if isinstance(dtype, pl.Datetime):
        return "timestamp" if dtype.time_zone else "timestamp_ntz"
    return SPARK_TYPES.get(str(dtype.base_type()))


def spark_schema(schema: Any) -> Any:
    from pyspark.sql import types as T

    fields = []
    for name, dtype in schema.items():
        t = spark_type_name(dtype)
        parsed = T._parse_datatype_string(t) if t else T.StringType()
        fields.append(T.StructField(name, parsed, True))
    return T.StructType(fields)


def polars_candidates(col: str, tz: str) -> list[Any]:
    """parse._parse's date candidates (in its order) over the text column ``col``."""
    import polars as pl

    return date_candidates(pl.col(col).cast(pl.String).str.strip_chars(), tz)


def pick_candidate(col: str, sample: Any, tz: str) -> int | None:
    """The polars reader's choice: the first candidate that reads every present value of
    the file's first rows (None: each value is read by the first candidate that can)."""
    return parse.pick_candidate(polars_candidates(col, tz), col, sample)
