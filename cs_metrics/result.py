"""What the engine hands to renderers: collected polars frames plus metadata.

``MetricResult.frame`` is long form, one row per (period, dimension values, metric):

============== ========= ==========================================================
column         dtype     meaning
============== ========= ==========================================================
period         String    the period label as the user writes it (2026-10, 2026-Q3 ...)
<dim>...       String    one column per ``--by`` dimension, named as the dimension
                         (``--by account`` gives ``account``); absent without --by
metric         String    metric name from the spec
value          Float64   the number, or null when undefined
unit           String    currency code, ratio, count, days, hours, months, score, number
previous       Float64   the same metric's value in the period before (null if none)
note           String    why ``value`` is null (null when it is not)
============== ========= ==========================================================

Rows are sorted by period, then dimension values, then the spec's metric order.
``previous`` and ``note`` are for people (tables, explain); machine formats drop them.

``labels`` are columns beside ``account`` that name it for people (``name``, ``owner``:
:mod:`cs_metrics.people`); they travel with the account id into every format.
``ranks`` (the dimension columns plus ``rank``), when set, orders the rows within a
period (``--sort``); ``as_asked`` says the metrics were named on the command line, so
tables show them in that order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import polars as pl

MACHINE_COLUMNS = ("period", "metric", "value", "unit")  # plus the dimension columns

# ``value`` is rounded to VALUE_DECIMALS, so that float summation order (engines, row
# order) never shows in output. From a million up, 9 decimals are beyond a float's ~15.9
# significant digits, so float summation order (engines, row order, polars' streaming)
# would show (3895752.040008 vs 3895752.040007999): such values (sums of MRR snapshots,
# themselves rounded to 6 decimals) are rounded to 6. Not every money value: arpa =
# 1.083333 / 2 = 0.5416665 would sit on the rounding edge, and engines break such ties
# differently.
VALUE_DECIMALS = 9
LARGE, LARGE_DECIMALS = 1e6, 6


@dataclass(frozen=True)
class MetricMeta:
    name: str
    family: str  # revenue | customers | sentiment | support | usage | acquisition | team | custom
    unit: str
    label: str = ""  # human title; defaults to the name
    higher_is_better: bool | None = True  # None: neutral (arrows not coloured)


@dataclass
class MetricResult:
    frame: pl.DataFrame
    dims: list[str] = field(default_factory=list)
    metrics: dict[str, MetricMeta] = field(default_factory=dict)  # in spec order
    periods: list[str] = field(default_factory=list)  # requested periods, in order
    currency: str = "USD"
    warnings: list[str] = field(default_factory=list)
    rows_read: dict[str, int] = field(default_factory=dict)  # source role -> rows parsed
    spans: dict[str, Any] = field(default_factory=dict)  # role -> freshness.Span (dates read)
    stale: dict[str, Any] = field(default_factory=dict)  # role -> last date, before the periods
    labels: list[str] = field(default_factory=list)  # name, owner beside the account
    ranks: pl.DataFrame | None = None  # dims + rank: the row order within a period
    as_asked: bool = False  # metrics named on the command line: keep their order

    @property
    def keys(self) -> list[str]:
        """The columns that identify a row beside the period: the dimensions, with the
        labels right after ``account``."""
        if not self.labels:
            return list(self.dims)
        if "account" not in self.dims:
            return [*self.dims, *self.labels]
        i = self.dims.index("account") + 1
        return [*self.dims[:i], *self.labels, *self.dims[i:]]

    def machine_frame(self, wide: bool = False) -> pl.DataFrame:
        """The frame as machine formats show it (long, or one column per metric)."""
        import polars as pl

        cols = ["period", *self.keys, "metric", "value", "unit"]
        long = self.frame.select(cols)
        if not wide:
            return long
        order = [m for m in self.metrics if m in set(long["metric"].unique().to_list())]
        wide_df = long.pivot(on="metric", index=["period", *self.keys], values="value")
        missing = [m for m in order if m not in wide_df.columns]
        if missing:
            wide_df = wide_df.with_columns(pl.lit(None, pl.Float64).alias(m) for m in missing)
        return wide_df.select(["period", *self.keys, *order])
