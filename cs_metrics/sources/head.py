"""The first bytes of a file, read eagerly (cheap): the encoding (byte-order marks, bytes
that are not UTF-8), the delimiter (guessed from the header when none is given) and the
header itself (duplicate or blank names)."""

from __future__ import annotations

import codecs
import csv
import gzip
import io
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cs_metrics.errors import DataError, InputMissingError
from cs_metrics.spec.models import Source

if TYPE_CHECKING:
    pass

if TYPE_CHECKING:
    pass


HEAD_BYTES = 1 << 16  # read eagerly from each file: encoding, delimiter, header
DELIMITERS = (",", ";", "\t", "|")

# spec encoding name -> Python codec
CODECS = {
    "utf8": "utf-8",
    "utf-8": "utf-8",
    "utf8-lossy": "utf-8",
    "utf16": "utf-16",
    "utf-16": "utf-16",
    "latin1": "latin-1",
    "latin-1": "latin-1",
    "iso-8859-1": "latin-1",
    "cp1252": "cp1252",
    "windows-1252": "cp1252",
}
# canonical column -> names vendors use for it (warned about, never used silently)


# ---- the first bytes: encoding, delimiter, header ------------------------------------------
@dataclass
class _Text:
    """What the first bytes of a CSV file say."""

    header: list[str]
    delimiter: str
    data: bytes | None  # the whole file re-encoded as UTF-8, when it is not UTF-8
    rows_in_head: bool  # a data row follows the header within the first bytes
    complete: bool  # the first bytes are the whole file
    notes: list[str]


def _open(path: Path) -> Any:
    return gzip.open(path, "rb") if path.name.lower().endswith(".gz") else path.open("rb")


def _read_head(path: Path) -> tuple[bytes, bool]:
    try:
        with _open(path) as fh:
            head = fh.read(HEAD_BYTES + 1)
    except (OSError, EOFError) as exc:
        if isinstance(exc, gzip.BadGzipFile | EOFError):
            raise DataError(f"cannot read {path}: not a valid gzip file ({exc})") from None
        raise InputMissingError(f"cannot read {path}: {exc.strerror or exc}") from None
    return head[:HEAD_BYTES], len(head) <= HEAD_BYTES


def _not_utf8(path: Path, role: str, data: bytes, pos: int) -> DataError:
    line = data[:pos].count(b"\n") + 1
    return DataError(
        f"{path}:{line}: byte 0x{data[pos]:02X} is not UTF-8 text: set "
        f"sources.{role}.options.encoding to the file's encoding (latin1, cp1252 for Windows "
        "exports, utf16) or utf8-lossy to replace such bytes"
    )


def _decode(path: Path, role: str, source: Source) -> tuple[str, bytes | None, bool, list[str]]:
    """(head text, the whole file as UTF-8 when it must be re-encoded, complete, notes)."""
    head, complete = _read_head(path)
    declared = source.options.encoding
    codec = CODECS[declared]
    notes: list[str] = []
    whole: bytes | None = None
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        codec = "utf-16"
        if declared not in ("utf16", "utf-16"):
            notes.append(f"{path}: read as UTF-16 (the file starts with its byte-order mark)")
    elif head.startswith(codecs.BOM_UTF8):
        codec = "utf-8"
    elif codec != "utf-8" and codec != "utf-16":  # latin-1 / cp1252: unless it is UTF-8
        whole = _read_all(path)
        try:
            whole.decode("utf-8")
            if not whole.isascii():
                codec = "utf-8"
                notes.append(
                    f"{path}: read as UTF-8, not {declared}: its bytes are valid UTF-8 "
                    "text (a mixed export?)"
                )
        except UnicodeDecodeError:
            pass
    if codec != "utf-16" and b"\x00" in head[:1024]:
        raise DataError(
            f"{path}: the file has NUL bytes: UTF-16 text without a byte-order mark (set "
            f"sources.{role}.options.encoding: utf16), or not a text file at all"
        )
    if codec == "utf-8":
        if declared != "utf8-lossy":
            try:
                codecs.getincrementaldecoder("utf-8")().decode(head, final=complete)
            except UnicodeDecodeError as exc:
                raise _not_utf8(path, role, head, exc.start) from None
        text = head.decode("utf-8", errors="replace").removeprefix("\ufeff")
        return text, None, complete, notes
    whole = whole if whole is not None else _read_all(path)
    try:
        decoded = whole.decode(codec)
    except UnicodeDecodeError as exc:
        line = whole[: exc.start].count(b"\n") + 1
        raise DataError(
            f"{path}:{line}: bytes that are not {declared} text: set "
            f"sources.{role}.options.encoding to the file's encoding"
        ) from None
    decoded = decoded.removeprefix("\ufeff")
    return decoded[:HEAD_BYTES], decoded.encode("utf-8"), len(decoded) <= HEAD_BYTES, notes


def _read_all(path: Path) -> bytes:
    try:
        with _open(path) as fh:
            return fh.read()
    except OSError as exc:
        raise InputMissingError(f"cannot read {path}: {exc.strerror or exc}") from None


def _reader(text: str, delimiter: str, quote: str | None) -> Any:
    if quote is None:
        return csv.reader(io.StringIO(text), delimiter=delimiter, quoting=csv.QUOTE_NONE)
    return csv.reader(io.StringIO(text), delimiter=delimiter, quotechar=quote)


def _header_line(text: str, skip: int) -> str:
    return "".join(text.splitlines(keepends=True)[skip:])


def _sniff(path: Path, role: str, source: Source, fmt: str) -> _Text:
    opts = source.options
    text, data, complete, notes = _decode(path, role, source)
    body = _header_line(text, opts.skip_rows)
    if not body.strip():
        raise DataError(
            f"{path}: the file is empty (no header line"
            f"{f' after {opts.skip_rows} skipped' if opts.skip_rows else ''}): "
            "export it again, or remove it from the source"
        )
    delimiter = guess_delimiter(body.splitlines()[0], opts, fmt, str(path), role, notes)
    rows = _reader(body, delimiter, opts.quote_char)
    try:
        header = next(rows)
        rows_in_head = any(any(v.strip() for v in r) for r in rows)
    except csv.Error:
        header = body.splitlines()[0].split(delimiter)
        rows_in_head = True
    return _Text(header, delimiter, data, rows_in_head, complete, notes)


def guess_delimiter(line: str, opts: Any, fmt: str, where: str, role: str, notes: list[str]) -> str:
    """The delimiter of a CSV/TSV file from its header ``line``: the option, else the one
    of DELIMITERS that splits the line into most fields (ties: a comma); a guess other than
    a comma is said in ``notes``."""
    delimiter = opts.delimiter or ("\t" if fmt == "tsv" else ",")
    if opts.delimiter is None and fmt == "csv":
        counts = {d: len(next(_reader(line, d, opts.quote_char), [])) for d in DELIMITERS}
        best = max(DELIMITERS, key=lambda d: counts[d])  # ties: the first, a comma
        if counts[best] > counts[","]:
            delimiter = best
            shown = "tab" if best == "\t" else repr(best)
            notes.append(
                f"{where}: fields separated by {shown} (guessed from the header line; "
                f"set sources.{role}.options.delimiter to change it)"
            )
    return delimiter


def _check_header(path: Path, header: list[str]) -> list[str]:
    """Unique names for the scan: blank names become __blank<n>; duplicates are an error."""
    names, seen = [], {}
    for i, raw in enumerate(header, start=1):
        name = raw
        if not name.strip():
            names.append(f"__blank{i}")
            continue
        if name in seen:
            raise DataError(
                f"{path}: the header names column {name!r} twice (columns {seen[name]} and "
                f"{i}): rename one of them in the export, then map it under sources.<role>.columns"
            )
        seen[name] = i
        names.append(name)
    return names
