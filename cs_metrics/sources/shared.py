"""One run's reads, shared: each source is scanned once per command, whatever reads it.

Inside :func:`shared_reads` (a command's work: the metrics, the health pass computed within,
alerts, people's names and owners, health segments, a report's pages), every reader of a
source gets the same :class:`Scanned` (files resolved, header and types read once), and the
rows the engine parsed into memory are reused by the readers that come after it. Outside it,
each call scans the files itself (a caller that reads a source once has nothing to share).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from cs_metrics.sources.base import Scanned
from cs_metrics.sources.scan import scan_source

if TYPE_CHECKING:
    import polars as pl

    from cs_metrics.spec import Spec

# (spec file, role, source, how it is read) -> [Scanned, rows in memory, bad rows]: the
# engine fills in the rows and checks when it parses the source (engine.Context.source).
_READS: ContextVar[dict[Any, list[Any]] | None] = ContextVar("csm_reads", default=None)


@contextmanager
def shared_reads() -> Iterator[None]:
    """Every read inside shares its sources (the outermost call holds them)."""
    if _READS.get() is not None:
        yield
        return
    token = _READS.set({})
    try:
        yield
    finally:
        _READS.reset(token)


def shared_entry(
    spec: Spec, role: str, read: Callable[[], Any] | None = None, *, how: str = "polars"
) -> list[Any]:
    """[Scanned, rows, bad rows] of the role in this run (``read()`` the first time;
    default: :func:`scan_source`). ``how`` tells reads that differ apart (Spark's own)."""
    reads = _READS.get()
    key = (str(spec.path), role, repr(spec.model.sources[role]), how)
    if reads is not None and key in reads:
        return reads[key]
    if read is None:
        read = lambda: scan_source(spec.base_dir, role, spec.model.sources[role])  # noqa: E731
    entry = [read(), None, None]
    if reads is not None:
        reads[key] = entry
    return entry


def shared_scan(spec: Spec, role: str) -> Scanned:
    """The role's :class:`Scanned`, once per run."""
    return shared_entry(spec, role)[0]


def shared_frame(spec: Spec, role: str) -> pl.LazyFrame:
    """The role's typed rows: those the engine already parsed in this run (in memory), else
    the lazy scan of its files."""
    entry = shared_entry(spec, role)
    return entry[0].frame if entry[1] is None else entry[1].lazy()
