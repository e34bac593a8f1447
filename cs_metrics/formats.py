"""Which output format a command writes: ``--format`` and the extension of ``-o FILE``.

The bottom layer (no polars): the CLI checks both before any work (cs_metrics.cli.options)."""

from __future__ import annotations

from pathlib import Path

from cs_metrics.errors import UsageError

FORMATS = ("auto", "table", "csv", "tsv", "json", "ndjson", "markdown")
EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".json": "json",
    ".ndjson": "ndjson",
    ".parquet": "parquet",
    ".md": "markdown",
    ".html": "html",
    ".xlsx": "xlsx",
}
TEXT_FORMATS = ("csv", "tsv", "json", "ndjson", "markdown", "html")


def format_for_output(path: str | None, fmt: str, is_tty: bool) -> str:
    """The concrete format for ``--format fmt`` and ``-o path``.

    A file path decides by its extension (an explicit ``--format`` must agree with it);
    no path or ``-`` means stdout, where ``auto`` is a table on a terminal and CSV when
    piped.
    """
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    if path is None or path == "-":
        if fmt == "auto":
            return "table" if is_tty else "csv"
        return fmt
    suffix = Path(path).suffix.lower()
    by_ext = EXTENSIONS.get(suffix)
    if by_ext is None:
        what = f"extension {suffix!r}" if suffix else "no extension"
        raise UsageError(
            f"cannot tell the output format of {path} ({what}); name the file with one of "
            f"{' '.join(EXTENSIONS)}, or use -o - to write to stdout"
        )
    if fmt not in ("auto", by_ext):
        raise UsageError(
            f"--format {fmt} does not match {path}, which is written as {by_ext}; "
            f"drop --format, or give the file the extension of the format you want"
        )
    return by_ext
