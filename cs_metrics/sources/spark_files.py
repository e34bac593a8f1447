"""The Spark reader's files: local ones decided on by the polars reader's own functions
(:func:`read_local`), URIs in spark_remote.py;
both typed by :func:`_typed` with the rules of spark_parse.py."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cs_metrics.sources.base import MAX_REPORTED
from cs_metrics.sources.files import _format
from cs_metrics.sources.parse import _DTYPE_NAMES, MONEY_LIMIT
from cs_metrics.sources.spark_base import (
    NOT_UTF8,
    SPARK_NULL,
    SparkScanned,
    pick_candidate,
    spark_type_name,
)
from cs_metrics.sources.spark_parse import (
    F,
    already_typed,
    interval_months,
    kind,
    number_text,
    parse,
    strip,
)
from cs_metrics.spec.models import ROLE_COLUMNS, Source

OWN_IDS = ("order_id", "ticket_id")  # as scan.OWN_IDS: required in the header only
DECIDED = ("date", "datetime", "float", "int")


@dataclass
class _Part:
    """Files read by one Spark read: the same header and the same decisions."""

    fmt: str
    paths: list[str]
    header: list[str]  # the file's column names (CSV: checked, blank ones __blank<n>)
    rename: dict[str, str]  # file column -> canonical name
    clash: list[str]  # file columns dropped (a canonical name mapped from another column)
    cleans: dict[str, bool] = field(default_factory=dict)
    dates: dict[str, int | None] = field(default_factory=dict)
    delimiter: str = ","
    remote: bool = False


def _literal(path: Path) -> str:
    """A local file's path for Spark, its glob characters escaped (Hadoop reads
    ``a[1].csv`` as a pattern)."""
    return re.sub(r"([\\*?\[\]{}])", r"\\\1", str(path.absolute()))


def _q(name: str) -> Any:
    return F().col("`" + name.replace("`", "``") + "`")


def _decide(part: _Part, role: str, source: Source, sample: Any, text: set[str]) -> None:
    """Which number columns need cleaning and which date format each date column has,
    from the first rows (``sample``, a polars frame with canonical names), as scan.py."""
    from cs_metrics.sources.parse import _cleans

    canon = ROLE_COLUMNS[role]
    tz = source.options.timezone or "UTC"
    for h in part.header:
        name = part.rename.get(h, h)
        if h in part.clash or h not in text:
            continue
        dtype = canon[name][0] if name in canon else source.dtypes.get(name)
        if dtype in ("float", "int"):
            part.cleans[name] = _cleans(name, source.options, sample)
        elif dtype in ("date", "datetime"):
            part.dates[name] = pick_candidate(name, sample, tz)


def _csv_options(source: Source, delimiter: str) -> dict[str, Any]:
    opts = source.options
    quote = opts.quote_char
    return {
        "sep": delimiter,
        "quote": quote if quote is not None else "\u0000",
        "escape": quote if quote is not None else "\u0000",  # a quote is doubled, as RFC 4180
        "multiLine": True,  # a quoted field may hold a line break (polars reads it so)
        "nullValue": SPARK_NULL,  # an empty field is null; a quoted "" stays ''
        "mode": "PERMISSIVE",
    }


def _read_csv(session: Any, part: _Part, source: Source) -> Any:
    from pyspark.sql import types as T

    names = [*part.header, "__extra"]
    schema = T.StructType([T.StructField(n, T.StringType(), True) for n in names])
    reader = session.read.options(
        header=True, enforceSchema=True, **_csv_options(source, part.delimiter)
    )
    return _with_file(reader.schema(schema).csv(part.paths))


def _with_file(df: Any) -> Any:
    return df.select("*", F().col("_metadata.file_path").alias("__file"))


def _typed(df: Any, part: _Part, role: str, source: Source) -> tuple[Any, Any, list[Any]]:
    """(typed frame, (its bad rows, what is wrong with them), notices) of one Spark read
    of raw columns."""
    f = F()
    canon = ROLE_COLUMNS[role]
    opts = source.options
    kinds = {fld.name: kind(fld.dataType) for fld in df.schema.fields}
    csv_file = part.fmt in ("csv", "tsv")
    cols, names, bad, conds, notices = [], [], [], [], []
    raws: dict[str, Any] = {}
    typed: dict[str, Any] = {}

    def problem(cond: Any, name: str, original: str, raw: Any, text: Any) -> None:
        conds.append(cond)
        bad.append((cond, name, original, raw, text))

    for h in part.header:
        if h in part.clash:
            continue
        name = part.rename.get(h, h)
        c = _q(h)
        if csv_file and opts.null_values:
            c = f.when(c.isin(*opts.null_values), f.lit(None)).otherwise(c)
        raws[name] = c
        dtype = canon[name][0] if name in canon else source.dtypes.get(name)
        if dtype is None or name.startswith("__"):
            cols.append(c.alias(name))
            names.append(name)
            continue
        current = kinds[h]
        raw = c if current == "string" else c.cast("string")
        stripped = strip(raw)
        parsed = parse(
            c, dtype, current, opts, part.cleans.get(name, False), part.dates.get(name), stripped
        )
        cols.append(parsed.alias(name))
        names.append(name)
        typed[name] = parsed
        if name in canon and canon[name][1] and name not in OWN_IDS and not source.preset:
            problem(
                raw.isNull() | (stripped == ""),
                name,
                h,
                f.lit(""),
                f"is empty, but every {role} row needs a {name} (a row with fewer fields "
                "than the header has its last ones empty): fill it in the export, or remove "
                "the row",
            )
        if dtype != "string" and not already_typed(current, dtype):
            problem(
                raw.isNotNull() & (stripped != "") & parsed.isNull(),
                name,
                h,
                raw,
                f"is not {_DTYPE_NAMES[dtype]}",
            )
        if dtype == "float":
            finite = ~f.isnan(parsed) & (f.abs(parsed) != float("inf"))
            problem(
                parsed.isNotNull() & ~(f.abs(parsed) < MONEY_LIMIT),
                name,
                h,
                raw,
                f.when(
                    finite, f.lit(f"is too large (over {MONEY_LIMIT:.0e}): an export error?")
                ).otherwise(f.lit("is not a finite number: fix the export")),
            )
            if current == "string" and part.cleans.get(name):
                cleaned = number_text(stripped, opts)[1] & parsed.isNotNull()
                notices.append((name, h, cleaned, raw))
    if csv_file:
        extra = _q("__extra")
        shown = "tab" if part.delimiter == "\t" else repr(part.delimiter)
        problem(
            extra.isNotNull(),
            "",
            "",
            extra,
            f"is a field beyond the header's {len(part.header)}: quote values that contain "
            f"the delimiter {shown}, or set sources.{role}.options.delimiter",
        )
        if opts.encoding != "utf8-lossy":  # Spark reads bad bytes as U+FFFD
            text_cols = [raws[n] for n in raws]
            if text_cols:
                hit = f.lit(False)
                for c in text_cols:
                    hit = hit | f.coalesce(c.contains("\ufffd"), f.lit(False))
                problem(hit, "", "", f.lit(""), NOT_UTF8)
    present = set(raws)
    if role == "subscriptions" and "interval" in present:
        original = next(h for h in part.header if part.rename.get(h, h) == "interval")
        months = interval_months(raws["interval"])
        cols.append(months.alias("interval_months"))
        names.append("interval_months")
        problem(
            months.isNull() | ~(months > 0),
            "interval",
            original,
            raws["interval"],
            "is not an interval (day, week, month, quarter, year or a number of months)",
        )
    pairs = {
        "subscriptions": ("start_date", "end_date"),
        "invoices": ("period_start", "period_end"),
    }
    if role in pairs and set(pairs[role]) <= present:
        start, end = pairs[role]
        fix = (
            "fix the dates, or leave end_date empty for an ongoing subscription"
            if role == "subscriptions"
            else "fix the dates (period_end is the day after the period)"
        )
        s_expr, e_expr = typed[start], typed[end]
        original = next((h for h in part.header if part.rename.get(h, h) == end), end)
        problem(e_expr < s_expr, end, original, e_expr, f"is before {start} on the same row: {fix}")
    frame = df.select(
        *(c for c, name in zip(cols, names, strict=True) if not name.startswith("__"))
    )
    checks = details = None
    if bad:
        any_bad = conds[0]
        for cond in conds[1:]:
            any_bad = any_bad | cond
        checks = df.filter(f.coalesce(any_bad, f.lit(False)))
        details = _details(checks, bad, role)
    spark_notices = [
        df.filter(cleaned).select(
            f.count(f.lit(1)).alias("n"),
            f.first(raw).alias("example"),
            f.lit(name).alias("column"),
            f.lit(h).alias("file_column"),
        )
        for name, h, cleaned, raw in notices
    ]
    return frame, (checks, details), spark_notices


def _details(checks: Any, bad: list[tuple[Any, ...]], role: str) -> Callable[[], Any]:
    """The bad rows' file, column, raw text and problem (built when a value is bad)."""

    def build() -> Any:
        f = F()
        rows = [
            f.when(
                cond,
                f.struct(
                    f.lit(name).alias("column"),
                    raw.cast("string").alias("raw"),
                    (f.lit(text) if isinstance(text, str) else text).alias("problem"),
                    f.lit(original).alias("file_column"),
                ),
            )
            for cond, name, original, raw, text in bad
        ]
        found = f.filter(f.array(*rows), lambda x: x.isNotNull())
        return (
            checks.select(f.col("__file").alias("file"), f.explode(found).alias("b"))
            .select("file", "b.*", f.lit(role).alias("role"))
            .limit(MAX_REPORTED)
        )

    return build


def _union(frames: list[Any]) -> Any:
    out = frames[0]
    for more in frames[1:]:
        out = out.unionByName(more, allowMissingColumns=True)
    return out


def _cleaned_fmt(path: str) -> Any:
    def fmt(df: Any) -> str | None:
        from cs_metrics.sources.base import _named

        n = int(df["n"][0]) if df.height else 0
        if not n:
            return None
        name, original = df["column"][0], df["file_column"][0]
        return (
            f"{path}: column {_named(name, original)}: read {n} value(s) written with a "
            f"currency symbol or thousands separators, e.g. {df['example'][0]!r}"
        )

    return fmt


# ---- local files: decided on by the polars reader ------------------------------------------
def read_local(session: Any, spec_dir: Path, role: str, source: Source) -> SparkScanned | str:
    """The source's local files read by Spark; or why the polars reader must read them."""
    import polars as pl

    from cs_metrics.sources.columns import _match_columns
    from cs_metrics.sources.head import _sniff
    from cs_metrics.sources.parse import _sample
    from cs_metrics.sources.scan import _scan_file, scan_source

    canon = ROLE_COLUMNS[role]
    # the polars reader's own checks and decisions (header, columns, warnings, errors,
    # the output types): it reads each file's first bytes and rows, not the files
    sc = scan_source(spec_dir, role, source)
    target = sc.frame.collect_schema()
    groups: dict[Any, _Part] = {}
    for path in sc.files:
        fmt = _format(source, path)
        if fmt == "ndjson":
            return f"{path}: NDJSON"
        delimiter = ","
        if fmt in ("csv", "tsv"):
            text = _sniff(path, role, source, fmt)
            if text.data is not None:
                return f"{path}: not UTF-8 text (read as UTF-16)"
            delimiter = text.delimiter
        scanned = _scan_file(path, source, fmt, role)
        header, schema = scanned.header, scanned.schema
        rename, _notes = _match_columns(path, role, source, header)
        clash = [h for h in header if h in canon and h not in rename and h in rename.values()]
        part = _Part(fmt, [_literal(path)], header, rename, clash, delimiter=delimiter)
        lf = scanned.frame.drop(clash).rename(rename)
        sample = _sample(lf, schema, rename, canon, source, scanned.empty)
        text_cols = {h for h, t in schema.items() if t == pl.String}
        _decide(part, role, source, sample, text_cols)
        key = (
            fmt,
            tuple(header),
            delimiter,
            tuple(sorted(part.cleans.items())),
            tuple(sorted(part.dates.items(), key=lambda kv: kv[0])),
            str(schema) if fmt == "parquet" else "",
        )
        if key in groups:
            groups[key].paths += part.paths
        else:
            groups[key] = part
    frames, checks, details, notices = [], [], [], []
    for part in groups.values():
        if part.fmt == "parquet":
            df = _with_file(session.read.parquet(*part.paths))
        else:
            df = _read_csv(session, part, source)
        frame, (bad, detail), found = _typed(df, part, role, source)
        frames.append(frame)
        if bad is not None:
            checks.append(bad)
            details.append(detail)
        notices += [(n, _cleaned_fmt(part.paths[0])) for n in found]
    frame = _union(frames)
    frame = _infer_local(frame, target, role, source)
    mismatch = _type_mismatch(frame, target, role, source)
    if mismatch:
        return mismatch
    if frame.columns != sc.columns:
        frame = frame.select(*sc.columns)
    if role == "subscriptions" and {"subscription_id", "start_date"} <= set(sc.columns):
        notices.append(_overlap_notice(frame, (spec_dir, source)))
    return SparkScanned(
        role,
        frame,
        list(sc.columns),
        list(sc.warnings),
        checks,
        [str(p) for p in sc.files],
        source,
        spec_dir,
        notices=notices,
        _details=details,
    )


def _infer_local(frame: Any, target: Any, role: str, source: Source) -> Any:
    """parse._infer_attributes: the text attributes the polars reader typed (from its
    first 5000 rows), typed the same way."""
    import polars as pl

    from cs_metrics.sources.spark_parse import INT_RE, candidate, to_float

    if role != "accounts":
        return frame
    f = F()
    kinds = {fld.name: kind(fld.dataType) for fld in frame.schema.fields}
    casts = {}
    for name, dtype in target.items():
        if name in ROLE_COLUMNS["accounts"] or name in source.dtypes or kinds.get(name) != "string":
            continue
        text = strip(_q(name))
        if dtype == pl.Int64:
            casts[name] = f.when(text.rlike(INT_RE), text.try_cast("bigint"))
        elif dtype == pl.Float64:
            casts[name] = to_float(text)
        elif dtype == pl.Date:
            casts[name] = candidate(text, 6, "UTC").cast("date")
    if not casts:
        return frame
    return frame.select(*(casts[c].alias(c) if c in casts else _q(c) for c in frame.columns))


def _type_mismatch(frame: Any, target: Any, role: str, source: Source) -> str | None:
    """A typed column whose Spark type is not the polars reader's (never a silent change)."""
    have = {fld.name: fld.dataType.simpleString() for fld in frame.schema.fields}
    for name, dtype in target.items():
        if name.startswith("__"):
            continue
        want = spark_type_name(dtype)
        if name not in have:
            return f"column {name} is missing on Spark"
        typed = name in ROLE_COLUMNS[role] or name in source.dtypes or name == "interval_months"
        if want is not None and have[name] != want and (typed or want != "string"):
            return f"column {name} is {have[name]} on Spark, {want} in polars"
    return None


def _overlap_notice(frame: Any, where: tuple[Path, Source] | None) -> tuple[Any, Any]:
    """checks._overlap_notice on Spark: subscription rows that start before an earlier
    row of the same subscription_id ends. Rows have no numbers on Spark: for local files
    the polars reader words the notice (file:row), read again only when there is one."""
    from datetime import date

    from pyspark.sql import Window

    f = F()
    end = f.col("end_date") if "end_date" in frame.columns else f.lit(None).cast("date")
    rows = frame.filter(f.col("subscription_id").isNotNull()).select(
        "subscription_id", "start_date", f.coalesce(end, f.lit(date(9999, 12, 31))).alias("e")
    )
    w = (
        Window.partitionBy("subscription_id")
        .orderBy("start_date", "e")
        .rowsBetween(Window.unboundedPreceding, -1)
    )
    reach = rows.withColumn("reach", f.max("e").over(w))
    found = reach.filter(f.col("start_date") < f.col("reach")).agg(
        f.count(f.lit(1)).alias("n"),
        f.slice(f.array_sort(f.collect_set("subscription_id")), 1, MAX_REPORTED).alias("ids"),
    )

    def fmt(df: Any) -> str | None:
        n = int(df["n"][0]) if df.height else 0
        if not n:
            return None
        if where is not None:
            from cs_metrics.sources.checks import _overlap_notice as polars_notice
            from cs_metrics.sources.scan import scan_source

            sc = scan_source(where[0], "subscriptions", where[1])
            lf, polars_fmt = polars_notice(sc.frame, sc.columns)
            return polars_fmt(lf.collect())
        ids = ", ".join(df["ids"][0])
        return (
            f"subscriptions: {n} row(s) start before an earlier row of the same "
            f"subscription_id ends (subscription_id {ids}): both count toward MRR; end the "
            "earlier row where the next begins"
        )

    return found, fmt
