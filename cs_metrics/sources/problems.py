"""The error path: a read failure turned into a message naming the file and row, and the
bad values found by the check frames, reported with file, row, column, raw text and fix
(a ``date_format`` that would read them, the number options)."""

from __future__ import annotations

import codecs
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cs_metrics.errors import DataError, InputMissingError, Problem
from cs_metrics.sources.base import CURRENCY_SYMBOLS, MAX_REPORTED, _named
from cs_metrics.sources.head import (
    _header_line,
    _not_utf8,
    _open,
    _read_all,
    _sniff,
)
from cs_metrics.spec.models import Source

if TYPE_CHECKING:
    import polars as pl

if TYPE_CHECKING:
    import polars as pl


def _ndjson_problem(path: Path) -> str | None:
    import json

    try:
        with _open(path) as fh:
            for n, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    value = json.loads(line)
                except ValueError as exc:
                    msg = exc.msg if isinstance(exc, json.JSONDecodeError) else "not UTF-8"
                    return (
                        f"{path}:{n}: the line is not valid JSON ({msg}): each line of an "
                        "NDJSON file must be one JSON object"
                    )
                if not isinstance(value, dict):
                    return f"{path}:{n}: the line is a JSON {type(value).__name__}, not an object"
    except OSError:
        return None
    return None


def _csv_problem(path: Path, role: str, src: Source, fmt: str) -> str | None:
    """The first CSV record that cannot be read: bytes that are not UTF-8, a stray quote."""
    opts = src.options
    try:
        data = _read_all(path)
    except InputMissingError:
        return None
    if opts.encoding in ("utf8", "utf-8") and not data.startswith(
        (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
    ):
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            return _not_utf8(path, role, data, exc.start).message
    try:
        text = _sniff(path, role, src, fmt)
    except DataError as err:
        return err.message
    if opts.quote_char is None:
        return None
    body = _header_line((text.data or data).decode("utf-8", "replace"), opts.skip_rows)
    found = _bad_quote(body, text.delimiter, opts.quote_char)
    if found is None:
        return None
    record, value, kind = found
    row = 1 + opts.skip_rows + record
    q = opts.quote_char
    never = f"or set sources.{role}.options.quote_char: null if the file never quotes fields"
    if kind == "stray":
        return (
            f"{path}:{row}: {value!r} has a {q} inside an unquoted field: quote the field and "
            f"double the {q} in the export ({_quoted(value, q)}), {never}"
        )
    if kind == "after":
        return (
            f"{path}:{row}: {value!r}: text follows a closing {q}; a {q} inside a quoted field "
            f"must be doubled ({_quoted(value.strip(q), q)}), {never}"
        )
    return f"{path}:{row}: a quoted field is never closed: fix the quotes in the export, {never}"


def _quoted(value: str, quote: str) -> str:
    return quote + value.replace(quote, quote * 2) + quote


def _bad_quote(body: str, delim: str, quote: str) -> tuple[int, str, str] | None:
    """(record number, 0 = header; the raw field; stray | after | open) of the first field
    whose quotes a CSV reader cannot follow, or None."""
    record, i, n = 0, 0, len(body)
    field_start, inside, opened_at, begin = True, False, 0, 0

    def raw_field(j: int) -> str:
        end = j
        while end < n and body[end] not in (delim, "\n", "\r"):
            end += 1
        return body[begin:end]

    while i < n:
        ch = body[i]
        if inside:
            if ch == quote:
                if i + 1 < n and body[i + 1] == quote:
                    i += 2
                    continue
                inside = False
                if i + 1 < n and body[i + 1] not in (delim, "\n", "\r"):
                    return opened_at, raw_field(i), "after"
            i += 1
            continue
        if ch == delim or ch == "\n":
            record += ch == "\n"
            field_start, begin = True, i + 1
        elif ch == quote and field_start:
            inside, opened_at, field_start = True, record, False
        elif ch == quote:
            return record, raw_field(i), "stray"
        elif ch != "\r":
            field_start = False
        i += 1
    return (opened_at, "", "open") if inside else None


# ---- reporting ---------------------------------------------------------------------------
DATE_FORMATS = (
    "%m/%d/%Y",
    "%d/%m/%Y",
    "%d.%m.%Y",
    "%d-%m-%Y",
    "%m-%d-%Y",
    "%Y/%m/%d",
    "%Y.%m.%d",
    "%Y%m%d",
    "%m/%d/%y",
    "%d/%m/%y",
    "%d.%m.%y",
    "%d %b %Y",
    "%b %d, %Y",
    "%d-%b-%Y",
    "%d %B %Y",
    "%B %d, %Y",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y %H:%M:%S",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %I:%M:%S %p",
)


def suggest_date_format(values: list[str]) -> list[str]:
    """The strftime formats (of a common list) that read every one of ``values``."""
    from datetime import datetime

    fits = []
    for fmt in DATE_FORMATS:
        try:
            for v in values:
                datetime.strptime(v.strip(), fmt)
        except ValueError:
            continue
        fits.append(fmt)
    return fits


def _hint(r: dict[str, Any], dates: dict[tuple[str, str], list[str]]) -> str:
    raw = str(r["raw"]).strip()
    where = f"sources.{r.get('role') or '<role>'}.options"
    opts = where + ":"
    if "is not a date" in r["problem"] or "is not a timestamp" in r["problem"]:
        fits = dates.get((r["file"], r["column"]), [])
        if fits:
            alt = f" (or {fits[1]!r})" if len(fits) > 1 else ""
            return f": set {where}.date_format: {fits[0]!r}{alt}"
        return f": set {where}.date_format to the format of the file"
    if "is not a number" in r["problem"] or "is not a whole number" in r["problem"]:
        bare = re.sub(
            rf"^[+-]?\s*[{re.escape(CURRENCY_SYMBOLS)}]\s*|\s*[{CURRENCY_SYMBOLS}]$", "", raw
        )
        if re.fullmatch(r"[+-]?\d{1,3}(,\d{3})+", bare):
            return (
                f": set {opts} {{thousands: ','}} (or {{decimal: ','}} if ',' is the decimal mark)"
            )
        if re.fullmatch(r"[+-]?\d{1,3}(\.\d{3})*,\d+", bare) or re.fullmatch(r"[+-]?\d+,\d+", bare):
            return f": set {opts} {{decimal: ',', thousands: '.'}}"
        if re.fullmatch(r"[+-]?\d{1,3}(\.\d{3})+", bare):
            return f": set {opts} {{thousands: '.', decimal: ','}} if '.' groups thousands"
    return ""


def raise_for_checks(bad: pl.DataFrame, total_hint: str = "") -> None:
    """Turn collected check rows into one DataError naming file, row, column and value."""
    if bad.height == 0:
        return
    shown = bad.sort("file", "row").head(MAX_REPORTED)
    rows = list(shown.iter_rows(named=True))
    dates: dict[tuple[str, str], list[str]] = {}
    for r in rows:
        if "is not a date" in r["problem"] or "is not a timestamp" in r["problem"]:
            dates.setdefault((r["file"], r["column"]), []).append(str(r["raw"]))
    dates = {k: suggest_date_format(v) for k, v in dates.items()}
    problems = []
    for r in rows:
        column = r["column"]
        if column:
            original = r.get("file_column") or column
            named = f"column {_named(column, original)}: "
        else:
            named = ""
        problems.append(
            Problem(
                f"{named}{r['raw']!r} {r['problem']}{_hint(r, dates)}",
                f"{r['file']}:{r['row']}",
                code="bad-value",
            )
        )
    roles = {r.get("role") for r in rows} - {None}
    role = roles.pop() if len(roles) == 1 else "<role>"
    raise DataError(
        f"invalid values in the input data ({bad.height}{'+' if bad.height >= MAX_REPORTED else ''} "
        f"shown below): fix the export, map the right column, or set sources.{role}.options "
        "(date_format, decimal, thousands, null_values, timezone)",
        problems,
    )
