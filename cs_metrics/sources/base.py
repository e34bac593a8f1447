"""What reading a source gives the engine (:class:`Scanned`) and the limits shared by the
reading modules."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from cs_metrics.spec.models import Source

if TYPE_CHECKING:
    import polars as pl

if TYPE_CHECKING:
    import polars as pl


MAX_REPORTED = 10  # bad values shown per run
CURRENCY_SYMBOLS = "$€£¥₹"

Notice = tuple["pl.LazyFrame", Callable[["pl.DataFrame"], str | None]]


@dataclass
class Scanned:
    role: str
    frame: pl.LazyFrame  # canonical, typed columns (+ __file, __row for diagnostics)
    files: list[Path]
    checks: list[pl.LazyFrame] = field(default_factory=list)  # file, row, column, raw, problem
    columns: list[str] = field(default_factory=list)
    source: Source | None = None
    # what reading decided (columns matched, delimiter guessed, 0 rows ...), for stderr
    warnings: list[str] = field(default_factory=list)
    # frames collected with the results; the function turns one into a warning (or None)
    notices: list[Notice] = field(default_factory=list)


def _named(name: str, original: str) -> str:
    return name if name == original else f"{name} (file column {original!r})"
