"""The metric author API: everything a metric family module needs from the rest of csm.

A family is one module under ``cs_metrics/metrics/``, listed in ``registry.load_all``. Each
metric type is a function ``(ctx, req) -> narwhals LazyFrame`` registered with
:func:`metric_type`. It reads the sources through ``ctx`` (a :class:`Context`, which
``cs_metrics.engine.Context`` implements) and returns the columns ``period``, the
dimension columns (``ctx.group_cols()``), ``value`` and optionally ``note`` (why the value
is null) and the ``parts`` it declares. It raises :class:`Unavailable` when the configured
sources cannot give the metric (reported to the user, not fatal).

Families import only this module, ``metrics.common``, the MRR model ``metrics.mrr``,
``expr``, ``periods`` and ``errors``: never the engine, the spec or health, so the
arrows between the layers point one way (engine -> families -> this module). They import
polars inside the functions that need it: the spec models load every family, and reading
a spec (or `csm schema`) does not need polars.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import narwhals.stable.v2 as nw
    import polars as pl

    from cs_metrics.periods import Period
    from cs_metrics.spec import Spec

EPS = 1e-9  # MRR (and other money) below this is 0

# ---- the catalogue ---------------------------------------------------------------------


@dataclass(frozen=True)
class Option:
    type: Any
    default: Any
    help: str


@dataclass(frozen=True)
class MetricType:
    name: str
    family: str
    unit: str | Callable[[dict[str, Any]], str]  # "currency": the spec's currency code
    requires: tuple[str, ...]  # source roles; "a|b" means either
    formula: str
    description: str
    compute: Callable[..., Any]
    options: dict[str, Option] = field(default_factory=dict)
    higher_is_better: bool | None = True
    null_when: str = ""  # the reason a value is null, for people
    parts: dict[str, tuple[str, str]] = field(default_factory=dict)  # column -> (label, unit)
    explain: str = ""  # the arithmetic over the parts, "{num} x / {den} y"


# Every metric type, by name (complete once ``registry.load_all()`` has run).
REGISTRY: dict[str, MetricType] = {}

# Options every metric accepts (besides ``type``).
COMMON_OPTIONS = {
    "filter": Option(
        str | None, None, "SQL condition over the source rows (and account attributes)"
    ),
    "label": Option(str | None, None, "title shown in tables and reports"),
    "description": Option(str | None, None, "free text shown by `csm metrics` and `csm explain`"),
}


def unit_of(mtype: MetricType, options: dict[str, Any]) -> str:
    """The metric's unit given its options (an explicit ``unit`` option wins)."""
    if options.get("unit"):
        return str(options["unit"])
    return mtype.unit(options) if callable(mtype.unit) else mtype.unit


def metric_type(
    name: str,
    *,
    family: str,
    unit: str | Callable[[dict[str, Any]], str],
    requires: tuple[str, ...],
    formula: str,
    description: str = "",
    options: dict[str, Option] | None = None,
    higher_is_better: bool | None = True,
    null_when: str = "",
    parts: dict[str, tuple[str, str]] | None = None,
    explain: str = "",
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a metric type; the decorated function computes it (see :class:`Context`).

    ``parts`` names the columns of the function's result that the value is made of
    (column -> (label, unit); unit "currency" is the spec's currency), and ``explain`` is
    the arithmetic over them, with ``{column}`` placeholders: ``csm explain`` shows
    "{first_contact} resolved at first contact / {resolved} resolved" with the numbers.
    """

    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        if name in REGISTRY:
            raise RuntimeError(f"metric type {name} registered twice")
        REGISTRY[name] = MetricType(
            name=name,
            family=family,
            unit=unit,
            requires=requires,
            formula=formula,
            description=description,
            compute=fn,
            options=dict(options or {}),
            higher_is_better=higher_is_better,
            null_when=null_when,
            parts=dict(parts or {}),
            explain=explain,
        )
        return fn

    return deco


# ---- requests --------------------------------------------------------------------------


class Unavailable(Exception):
    """A metric cannot be computed with the configured sources (reported, not fatal)."""


CHANGE = "__change"  # the request type of <metric>_change / <metric>_delta
CHANGE_NAME = re.compile(r"^(.+)_(change|delta)$")


@dataclass
class MetricRequest:
    """One metric of the spec, a built-in asked for by type name, or a change of either."""

    name: str
    type: str
    options: dict[str, Any]
    filter: str | None = None
    label: str | None = None

    @property
    def mtype(self) -> MetricType:
        return REGISTRY[self.type]

    def deps(self) -> list[str]:
        """Metrics this one is computed from (formulas and changes)."""
        if self.type == "formula":
            # sqlglot: not imported with the spec models (which import this module)
            from cs_metrics.expr import parse_expr

            return sorted(parse_expr(self.options["expr"]).columns)
        if self.type == CHANGE:
            return [self.options["base"]]
        return []


# ---- helpers ---------------------------------------------------------------------------


def ratio(num: nw.Expr, den: nw.Expr, why: str) -> tuple[nw.Expr, nw.Expr]:
    """num / den as Float64; null (with the reason) where den is 0 or null."""
    # narwhals is imported here, not at the top: the spec models import this module (through
    # the registry), and `csm --help` must not pay for narwhals
    import narwhals.stable.v2 as nw

    ok = ~den.is_null() & (den != 0)
    value = nw.when(ok).then(num.cast(nw.Float64) / den.cast(nw.Float64))
    note = nw.when(~ok | den.is_null()).then(nw.lit(why))
    return value, note


def check_columns(ctx: Context, role: str, needed: Iterable[str], metric: str) -> None:
    """Raise Unavailable when an optional canonical column a metric needs is absent."""
    have = set(ctx.columns(role))
    for col in needed:
        if col not in have:
            raise Unavailable(
                f"needs column {col} in the {role} source: map it under sources.{role}.columns"
            )


# ---- the context -----------------------------------------------------------------------


@dataclass
class Calendar:
    """The computed periods (the first one is only there to give the next its 'previous')."""

    periods: list[Period]

    def rows(self) -> dict[str, list[Any]]:
        return {
            "period": [p.label for p in self.periods],
            "p_idx": list(range(len(self.periods))),
            "p_start": [p.start for p in self.periods],
            "p_end": [p.end for p in self.periods],
            "p_base": [p.start - timedelta(days=1) for p in self.periods],
        }

    def days(self) -> dict[str, list[Any]]:
        """One row per day of every period: day -> period (joins dated rows to periods)."""
        out: dict[str, list[Any]] = {"__day": [], "period": []}
        for p in self.periods:
            for i in range(p.days):
                out["__day"].append(p.start + timedelta(days=i))
                out["period"].append(p.label)
        return out


@runtime_checkable
class Context(Protocol):
    """What a metric function may ask of the engine; ``cs_metrics.engine.Context`` is the
    implementation. Frames are narwhals LazyFrames on the run's engine (polars or DuckDB)."""

    spec: Spec  # the validated spec: spec.model (currency, health, metrics ...), spec.where()
    calendar: Calendar  # the computed periods
    dims: list[str]  # the --by dimensions; "account" gives one row per account
    engine: str  # "polars" or "duckdb"
    warnings: list[str]  # messages shown to the user after the run
    types: frozenset[str]  # the metric types this run computes (empty: not known)

    # ---- plumbing
    def table(self, data: dict[str, list[Any]] | pl.DataFrame) -> nw.LazyFrame:
        """A small in-memory table on this engine."""
        ...

    def notice(
        self, frame: nw.LazyFrame, fmt: Callable[[pl.DataFrame], str | None], *, error: bool = False
    ) -> None:
        """Collect ``frame`` with the results; ``fmt`` turns it into a warning (or error) or None."""
        ...

    def cached(self, key: Any, build: Callable[[], Any]) -> Any:
        """``build()``, once per run and key (plans shared by several metrics)."""
        ...

    # ---- sources
    def has(self, role: str) -> bool:
        """Whether the spec configures the source role."""
        ...

    def source(self, role: str) -> nw.LazyFrame:
        """The role's rows with canonical typed columns (Unavailable without the source)."""
        ...

    def columns(self, role: str) -> list[str]:
        """The columns the role's rows have (canonical names and extra columns)."""
        ...

    def filtered(
        self, role: str, condition: str | None, *, account_col: str = "account_id"
    ) -> nw.LazyFrame:
        """Rows of a source that satisfy a metric's SQL filter (which may name account attributes)."""
        ...

    # ---- periods and dimensions
    def periods_table(self) -> nw.LazyFrame:
        """One row per computed period: period, p_idx, p_start, p_end, p_base (s - 1)."""
        ...

    def assign_period(self, frame: nw.LazyFrame, date_col: str) -> nw.LazyFrame:
        """Add ``period`` to dated rows (rows outside the computed periods are dropped)."""
        ...

    def day(self, frame: nw.LazyFrame, column: str) -> nw.Expr:
        """The column as a Date: a timestamp's day, or the date itself."""
        ...

    def group_cols(self) -> list[str]:
        """The dimension columns a metric's result is grouped by, besides period."""
        ...

    def with_dims(self, frame: nw.LazyFrame, account_col: str = "account_id") -> nw.LazyFrame:
        """Attach the dimension columns to per-account rows."""
        ...

    def complete(self, frame: nw.LazyFrame, fill: dict[str, Any]) -> nw.LazyFrame:
        """Give every period (and, per account, every paying customer) a row; ``fill``
        gives the values of sums and counts of nothing (0)."""
        ...

    # ---- health
    def health_scores(self, by: list[str]) -> tuple[pl.DataFrame, list[str]]:
        """Per-account health scores of every computed period, and their warnings
        (``cs_metrics.health.score_health``); a SpecError when they cannot be scored."""
        ...
