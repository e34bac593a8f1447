"""Which files a source names: globs (each real file once, through symlink loops), checks
that each is a readable file, and its format from the extension or the spec."""

from __future__ import annotations

import glob as globmod
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from cs_metrics.errors import InputMissingError, UsageError
from cs_metrics.spec.models import Source

if TYPE_CHECKING:
    pass

if TYPE_CHECKING:
    pass


URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")


def is_uri(path: str) -> bool:
    """``scheme://...`` (s3a://, hdfs://, file://): a path only Spark reads, as it is."""
    return bool(URI.match(path))


# ---- files -----------------------------------------------------------------------------
def resolve_files(spec_dir: Path, role: str, source: Source) -> list[Path]:
    return _resolve(spec_dir, role, source)[0]


def _resolve(spec_dir: Path, role: str, source: Source) -> tuple[list[Path], list[str]]:
    """The source's files, each real file once (a glob through a symlink loop, or two
    paths naming one file, would count its rows again), and notes on what was skipped."""
    paths = [source.path] if isinstance(source.path, str) else list(source.path)
    where = f"sources.{role}.path"
    files: list[Path] = []
    seen: set[Path] = set()
    skipped = 0
    for p in paths:
        if is_uri(p):
            raise UsageError(
                f"{where}: {p!r} is a URI, which only --engine spark reads (Spark reads the "
                "files itself): run with --engine spark, or give a local path (relative to "
                "the spec file)"
            )
        full = Path(p) if Path(p).is_absolute() else spec_dir / p
        if any(ch in p for ch in "*?["):
            matched = sorted(Path(m) for m in globmod.glob(str(full), recursive=True))
            if not matched:
                raise InputMissingError(
                    f"{where}: no file matches {p!r} ({full}): check the pattern "
                    "(paths are relative to the spec file)"
                )
            found = [m for m in matched if m.is_file()]
            if not found:
                raise InputMissingError(
                    f"{where}: {p!r} matches only directories ({matched[0]} ...): "
                    "end the pattern with the files' names, e.g. exports/*.csv"
                )
        else:
            _check_file(full, where)
            found = [full]
        for f in found:
            try:
                real = f.resolve(strict=True)
            except (OSError, RuntimeError):
                continue  # a dangling match of a glob
            if real in seen:
                skipped += 1
                continue
            seen.add(real)
            files.append(f)
    notes = []
    if skipped:
        notes.append(
            f"{where}: {skipped} path(s) name a file already read (symlinks or repeated "
            "paths); each file is read once"
        )
    return files, notes


def _check_file(full: Path, where: str) -> None:
    if full.is_file():
        return
    hint = "check the path (paths are relative to the spec file)"
    if full.is_dir():
        raise InputMissingError(
            f"{where}: {full} is a directory, not a file: name the file, or use a glob "
            f"such as {Path(full.name) / '*.csv'}"
        )
    if full.is_symlink():
        try:
            full.resolve(strict=True)
        except RuntimeError:
            raise InputMissingError(
                f"{where}: {full} is a symlink loop: point it at a file"
            ) from None
        except OSError:
            target = os.readlink(full)
            raise InputMissingError(
                f"{where}: {full} is a broken symlink (to {target}): {hint}"
            ) from None
    try:
        full.stat()
    except OSError as exc:
        if exc.errno == 40:  # ELOOP: a loop in a parent directory
            raise InputMissingError(f"{where}: {full}: symlink loop in the path") from None
    raise InputMissingError(f"{where}: file {full} not found: {hint}")


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
