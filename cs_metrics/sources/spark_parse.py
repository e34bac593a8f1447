"""The polars reader's parsing rules (cs_metrics/sources/parse.py) as Spark column
expressions, for the Spark reader (cs_metrics/sources/spark.py).

Each rule is written so that Spark's own, more lenient casts cannot read a value polars
would not: a regular expression first checks the text has a shape polars accepts (Spark
reads '1d' and '12.0' as numbers, '2024-01' as a date), then the text is converted with
the ``try_`` functions (null, never an error, whatever ``spark.sql.ansi.enabled`` says).
Timestamps are ``TIMESTAMP_NTZ`` (a wall-clock time, as polars' naive ``Datetime``), so
the session's time zone never shifts a value. pyspark is imported inside the functions.
"""

from __future__ import annotations

import re
from typing import Any

from cs_metrics.sources.base import CURRENCY_SYMBOLS
from cs_metrics.sources.parse import FALSE_TEXT, INTERVAL_MONTHS, TRUE_TEXT

# Java regular expressions; (?U): \s and \d are Unicode classes, as in Rust's regex crate
_WS = r"(?U)^\s+|\s+$"
FLOAT_RE = r"^[+-]?((\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|(?i:inf|infinity|nan))$"
INT_RE = r"^[+-]?[0-9]+$"
_DATE = r"\+?([0-9]{1,4})-([0-9]{1,2})-([0-9]{1,2})"
_HMS = r"([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2})(\.[0-9]+)?"
_HM = r"([0-9]{1,2}):([0-9]{1,2})"
_TZ = r"\s*(Z|z|[+-][0-9]{2}(:?[0-9]{2})?)"
# the polars reader's candidates, in its order (parse.DATETIME_FORMATS_TZ,
# DATETIME_FORMATS, then %Y-%m-%d): (regex, has seconds, has an offset)
CANDIDATES = (
    (f"^{_DATE}T{_HMS}{_TZ}$", True, True),
    (rf"^{_DATE}\s+{_HMS}{_TZ}$", True, True),
    (f"^{_DATE}T{_HMS}$", True, False),
    (rf"^{_DATE}\s+{_HMS}$", True, False),
    (f"^{_DATE}T{_HM}$", False, False),
    (rf"^{_DATE}\s+{_HM}$", False, False),
    (f"^{_DATE}$", False, False),
)


def F() -> Any:
    from pyspark.sql import functions

    return functions


def strip(c: Any) -> Any:
    """polars' ``str.strip_chars()``: Unicode white space at both ends."""
    return F().regexp_replace(c, _WS, "")


def number_text(text: Any, opts: Any) -> tuple[Any, Any]:
    """parse._number_text: (cleaned text, true where a currency/thousands form was cleaned)."""
    f = F()
    sym = re.escape(CURRENCY_SYMBOLS)
    bare = f.regexp_replace(text, rf"(?U)^([+-]?)\s*[{sym}]\s*", "$1")
    bare = f.regexp_replace(bare, rf"(?U)\s*[{sym}]$", "")
    cleaned = bare
    if opts.thousands is not None:
        t, d = re.escape(opts.thousands), re.escape(opts.decimal or ".")
        grouped = bare.rlike(rf"(?U)^[+-]?\d{{1,3}}({t}\d{{3}})+({d}\d*)?$")
        cleaned = f.when(bare.contains(opts.thousands) & ~grouped, f.lit(None)).otherwise(
            f.replace(bare, f.lit(opts.thousands), f.lit(""))
        )
    elif opts.decimal is None:
        us = bare.rlike(r"(?U)^[+-]?\d{1,3}(,\d{3})+\.\d+$")
        cleaned = f.when(us, f.replace(bare, f.lit(","), f.lit(""))).otherwise(bare)
    if opts.decimal is not None:  # the first mark only, as polars' str.replace
        cleaned = f.regexp_replace(cleaned, "(?s)^(.*?)" + re.escape(opts.decimal), "$1.")
    auto = (cleaned != text) if opts.decimal is None and opts.thousands is None else f.lit(False)
    return cleaned, auto


def to_float(text: Any) -> Any:
    f = F()
    return f.when(text.rlike(FLOAT_RE), text.try_cast("double"))


def to_int(number: Any, text: Any) -> Any:
    f = F()
    low = f.lower(text)
    flag = f.when(low.isin(*TRUE_TEXT), f.lit(1)).when(low.isin(*FALSE_TEXT), f.lit(0))
    return f.coalesce(f.when(number.rlike(INT_RE), number.try_cast("bigint")), flag.cast("bigint"))


def to_bool(text: Any) -> Any:
    f = F()
    low = f.lower(text)
    return f.when(low.isin(*TRUE_TEXT), f.lit(True)).when(low.isin(*FALSE_TEXT), f.lit(False))


def candidate(text: Any, index: int, tz: str) -> Any:
    """Candidate ``index`` of CANDIDATES as a TIMESTAMP_NTZ (null where it does not read):
    an offset is applied and the time shown in ``tz``, as polars' convert_time_zone."""
    f = F()
    regex, seconds, offset = CANDIDATES[index]

    def group(i: int) -> Any:
        return f.regexp_extract(text, regex, i)

    def num(i: int) -> Any:
        return group(i).try_cast("int")

    if index == 6:
        hour, minute, sec = f.lit(0), f.lit(0), f.lit(0).cast("decimal(16,6)")
    else:
        hour, minute = num(4), num(5)
        sec = f.lit(0).cast("decimal(16,6)")
        if seconds:  # the fraction truncated to microseconds, as polars does
            frac = f.substring(group(7), 1, 7)
            sec = f.concat(group(6), frac).try_cast("decimal(16,6)")
    ts = f.try_make_timestamp_ntz(num(1), num(2), num(3), hour, minute, sec)
    if offset:
        zone = group(8)
        sign = f.when(zone.startswith("-"), f.lit(-1)).otherwise(f.lit(1))
        hh = f.substring(zone, 2, 2).try_cast("int")
        mm = f.coalesce(f.regexp_extract(zone, r"([0-9]{2})$", 1).try_cast("int"), f.lit(0))
        mm = f.when(f.length(zone) > 3, mm).otherwise(f.lit(0))
        minutes = f.when(zone.isin("Z", "z"), f.lit(0)).when(
            (hh < 24) & (mm < 60), sign * (hh * 60 + mm)
        )
        ts = ts - f.make_dt_interval(f.lit(0), f.lit(0), minutes, f.lit(0))
        if tz != "UTC":
            ts = f.convert_timezone(f.lit("UTC"), f.lit(tz), ts)
    return f.when(text.rlike(regex), ts)


def instant_to_local(c: Any, tz: str) -> Any:
    """A TIMESTAMP (an instant) as the wall-clock TIMESTAMP_NTZ in ``tz``, whatever the
    session's time zone."""
    f = F()
    epoch = f.lit("1970-01-01 00:00:00").cast("timestamp_ntz")
    utc = f.timestamp_add("MICROSECOND", f.unix_micros(c), epoch)
    return utc if tz == "UTC" else f.convert_timezone(f.lit("UTC"), f.lit(tz), utc)


def kind(spark_type: Any) -> str:
    """What a file column already is: string, int, float, bool, date, ntz, instant or
    nested (the polars reader's ``current`` dtype, seen from Spark)."""
    from pyspark.sql import types as T

    if isinstance(spark_type, T.StringType | T.VarcharType | T.CharType):
        return "string"
    if isinstance(spark_type, T.ByteType | T.ShortType | T.IntegerType | T.LongType):
        return "int"
    if isinstance(spark_type, T.FloatType | T.DoubleType | T.DecimalType):
        return "float"
    if isinstance(spark_type, T.BooleanType):
        return "bool"
    if isinstance(spark_type, T.DateType):
        return "date"
    if isinstance(spark_type, T.TimestampNTZType):
        return "ntz"
    if isinstance(spark_type, T.TimestampType):
        return "instant"
    return "nested"


def already_typed(current: str, dtype: str) -> bool:
    """parse._already_typed: a typed file column nothing can fail to convert."""
    if dtype in ("date", "datetime"):
        return current in ("date", "ntz", "instant")
    if dtype == "float":
        return current in ("int", "float")
    if dtype == "int":
        return current == "int"
    return dtype == "bool" and current == "bool"


def parse(
    c: Any,
    dtype: str,
    current: str,
    opts: Any,
    cleans: bool,
    date_candidate: int | None,
    text: Any = None,
) -> Any:
    """parse._parse as a Spark expression. ``cleans``: number text is cleaned (decided
    from the file's first rows as the polars reader does); ``date_candidate``: the one
    date format that reads the first rows (None: the first that reads each value);
    ``text``: the column as stripped text, when the caller has it."""
    f = F()
    if dtype == "string":
        return c.cast("string")
    if current in ("int", "float") and dtype in ("int", "float"):
        return c.try_cast("bigint" if dtype == "int" else "double")
    if current == "bool" and dtype == "bool":
        return c
    tz = opts.timezone or "UTC"
    if current in ("date", "ntz", "instant") and dtype in ("date", "datetime"):
        expr = instant_to_local(c, tz) if current == "instant" else c.cast("timestamp_ntz")
        return expr.cast("date") if dtype == "date" else expr
    text = strip(c.cast("string")) if text is None else text
    number = text
    if dtype in ("float", "int") and cleans:
        number = number_text(text, opts)[0]
    if dtype == "float":
        return to_float(number)
    if dtype == "int":
        return to_int(number, text)
    if dtype == "bool":
        return to_bool(text)
    if opts.date_format:  # the Spark reader falls back before this
        raise ValueError("date_format is read by the polars reader")
    if date_candidate is not None:
        dt = candidate(text, date_candidate, tz)
    else:
        dt = f.coalesce(*(candidate(text, i, tz) for i in range(len(CANDIDATES))))
    return dt.cast("date") if dtype == "date" else dt


def interval_months(c: Any) -> Any:
    """parse._interval_months: the subscription interval in months (null: not one)."""
    f = F()
    text = f.lower(strip(c.cast("string")))
    mapping = f.create_map(*(x for k, v in INTERVAL_MONTHS.items() for x in (f.lit(k), f.lit(v))))
    return f.when(text.isNull() | (text == ""), f.lit(1.0)).otherwise(
        f.coalesce(f.try_element_at(mapping, text), to_float(text))
    )
