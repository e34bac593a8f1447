"""The engine: plans every requested metric over shared steps computed once per run.

Metric functions (``cs_metrics.metrics.*``) are pure: they receive a :class:`Context` (the
author API's ``metrics.base.Context``) and their metric's request, and return a narwhals
LazyFrame with columns ``period``, the dimension columns, ``value`` and optionally
``note`` (why the value is null). The engine adds ``metric`` and ``unit``, casts to the
output schema, concatenates everything, evaluates formula metrics over that, and collects
to polars at its edge.

Stages: each source is parsed once per run (:meth:`Context.source`; health computed inside
the run shares the reads, :func:`shared_reads`), each shared step a family builds with
``ctx.cached`` is computed once when built (:meth:`Context.materialise`), and the metrics,
selects over those small frames, are collected together with the data checks and notices.

Engines: ``polars`` (sources in memory, large ones streamed). ``duckdb`` and ``spark`` run
the same narwhals plan on DuckDB relations / Spark DataFrames (the session: cs_metrics.spark).
DuckDB's inputs are the polars-parsed frames; Spark reads the files itself with the same
parsing rules (cs_metrics.sources.spark), so every engine sees identical typed data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import narwhals.stable.v2 as nw
import polars as pl

from cs_metrics import scoring
from cs_metrics.errors import CsmError, DataError, SpecError, UsageError
from cs_metrics.freshness import Span, span_exprs, span_of, stale, stale_warnings
from cs_metrics.metrics.base import (
    CHANGE,
    CHANGE_NAME,
    EPS,
    Calendar,
    MetricRequest,
    Unavailable,
    check_columns,
    ratio,
)
from cs_metrics.metrics.common import day_of
from cs_metrics.metrics.mrr import customer_accounts
from cs_metrics.metrics.registry import REGISTRY, load_all, unit_of
from cs_metrics.periods import Period
from cs_metrics.result import LARGE, LARGE_DECIMALS, VALUE_DECIMALS, MetricMeta, MetricResult
from cs_metrics.sources import explain_read_error, raise_for_checks
from cs_metrics.sources.shared import shared_entry, shared_reads
from cs_metrics.spec import Spec
from cs_metrics.suggest import did_you_mean

ENGINES = ("polars", "duckdb", "spark")
NO_ACCOUNT_DATA = "no data for this account in the period"
# The accounts that get a row in every period per account (Context.complete):
POPULATIONS = {
    "data": "every account in the data: with a row in any source keyed by account_id "
    "(accounts, billing, tickets, surveys, usage, activities), at any date (--by account)",
    "customers": "the paying customers of each period (MRR > 0 at its end) when a billing "
    "source exists, else every account of the accounts source (health and alerts)",
    "none": "none: only the rows an account's own data gives (--drop-empty)",
}

# Sources up to this size (on disk, Parquet counted 8x: it is compressed) are read into
# memory once per run; larger ones are scanned by each step that reads them (less memory).
IN_MEMORY_BYTES = 64 * 2**20


def _large(sc: Any) -> bool:
    size = 0
    for path in sc.files:
        try:
            n = path.stat().st_size
        except OSError:
            continue
        size += n * (8 if path.suffix.lower() in (".parquet", ".pq") else 1)
    return size > IN_MEMORY_BYTES


@dataclass
class Context:
    """One run's sources, periods and dimensions: what metric functions read
    (the author API's ``metrics.base.Context``, which this class implements)."""

    spec: Spec
    calendar: Calendar
    dims: list[str]
    engine: str = "polars"
    warnings: list[str] = field(default_factory=list)
    checks: list[Any] = field(default_factory=list)  # polars LazyFrames of bad rows
    notices: list[tuple[nw.LazyFrame, Callable[[Any], str | None], bool]] = field(
        default_factory=list
    )
    _scanned: dict[str, Any] = field(default_factory=dict)
    _frames: dict[str, nw.LazyFrame] = field(default_factory=dict)
    _cache: dict[Any, Any] = field(default_factory=dict)
    _con: Any = None
    rows_read: dict[str, int] = field(default_factory=dict)  # role -> rows parsed, per run
    spans: dict[str, Span] = field(default_factory=dict)  # role -> dates covered (freshness)
    stale: dict[str, Any] = field(default_factory=dict)  # role -> last date, if before the run
    population: str = "data"  # per-account rows csm adds: see complete() and POPULATIONS
    types: frozenset[str] = frozenset()  # the metric types this run computes (empty: unknown)

    # ---- engine plumbing -------------------------------------------------------------
    def table(self, data: dict[str, list[Any]] | pl.DataFrame) -> nw.LazyFrame:
        """A small in-memory table on this engine."""
        df = data if isinstance(data, pl.DataFrame) else pl.DataFrame(data)
        return self._lift(df.lazy())

    def _lift(self, lf: pl.LazyFrame) -> nw.LazyFrame:
        check_engine(self.engine)
        if self.engine == "duckdb":
            import duckdb  # only this engine needs it: not paid by polars runs

            if self._con is None:
                self._con = duckdb.connect()
                self._con.execute("SET TimeZone = 'UTC'")
            arrow = lf.collect().to_arrow()
            return nw.from_native(self._con.from_arrow(arrow))
        if self.engine == "spark":
            from cs_metrics import spark  # pyspark: only this engine pays for it

            return nw.from_native(spark.lift(self._spark(), lf))
        return nw.from_native(lf)

    def _spark(self) -> Any:
        """This run's Spark session (cs_metrics.spark: local, Connect or the active one)."""
        if self._con is None:
            from cs_metrics import spark

            self._con = spark.session(self.spec.model.engine_options)
        return self._con

    def notice(
        self, frame: nw.LazyFrame, fmt: Callable[[pl.DataFrame], str | None], *, error: bool = False
    ) -> None:
        """Collect ``frame`` with the results; ``fmt`` turns it into a warning (or error) or None."""
        self.notices.append((frame, fmt, error))

    def cached(self, key: Any, build: Callable[[], Any]) -> Any:
        """``build()`` once per run; a frame is computed then, once, and shared from memory
        by every plan that reads it (a lazy copy in each metric's plan is computed again
        for each copy that projection pushdown made different)."""
        if key not in self._cache:
            value = build()
            if isinstance(value, nw.LazyFrame):
                value = self.materialise(value)
            self._cache[key] = value
        return self._cache[key]

    def materialise(self, frame: nw.LazyFrame) -> nw.LazyFrame:
        """The frame computed now, as a lazy frame over its rows in memory."""
        native = frame.to_native()
        try:
            if self.engine == "polars":
                return nw.from_native(native.collect().lazy())
            if self.engine == "spark":
                from cs_metrics.spark import materialise

                return nw.from_native(materialise(native))
            return nw.from_native(self._con.from_arrow(native.to_arrow_table()))
        except pl.exceptions.PolarsError as exc:
            raise explain_read_error(list(self._scanned.values()), exc) from exc

    # ---- sources ---------------------------------------------------------------------
    def has(self, role: str) -> bool:
        return role in self.spec.model.sources

    def _shared(self, role: str) -> list[Any]:
        """[Scanned, rows, bad rows] of the role, shared by the reads of this run
        (cs_metrics.sources.shared: the engine runs, health, alerts, names and owners)."""
        if self.engine != "spark":
            return shared_entry(self.spec, role)
        from cs_metrics.sources.spark import read_source  # Spark reads the files itself

        source = self.spec.model.sources[role]
        read = lambda: read_source(self._spark(), self.spec.base_dir, role, source)  # noqa: E731
        return shared_entry(self.spec, role, read, how="spark")

    def scanned(self, role: str) -> Any:
        if role not in self._scanned:
            if not self.has(role):
                raise Unavailable(f"needs the {role} source: add sources.{role} to the spec")
            sc = self._shared(role)[0]
            self._scanned[role] = sc
            # what reading decided (columns matched, delimiter guessed ...) and data notices
            self.warnings += [w for w in sc.warnings if w not in self.warnings]
            for frame, fmt in sc.notices:
                self.notice(nw.from_native(frame), fmt)
        return self._scanned[role]

    def source(self, role: str) -> nw.LazyFrame:
        """The role's rows with canonical typed columns, on this engine.

        Every source is parsed once per run, its rows and bad-value checks in one collect,
        and the metrics' plans start from the rows in memory: one big plan that scans the
        files lazily re-reads them for every metric whose pruned copy of the scan differs.
        """
        if role not in self._frames and self.engine == "spark":
            from cs_metrics import spark

            sc, entry = self.scanned(role), self._shared(role)
            if entry[1] is None:  # checked, numbered, checkpointed, counted with its dates
                entry[1], entry[2] = spark.typed_rows(sc)
            frame, counted = entry[1], entry[2]
            self.rows_read[role] = int(counted["n"][0])
            self._note_span(role, self.rows_read[role], counted)
            self._frames[role] = nw.from_native(frame)
        if role not in self._frames:
            sc = self.scanned(role)
            if self.engine == "polars" and _large(sc):  # streamed: its shared steps are kept
                self.checks += sc.checks
                self._frames[role] = nw.from_native(sc.frame)
                return self._frames[role]
            entry = self._shared(role)
            if entry[1] is None:
                try:
                    rows, *bad = pl.collect_all([sc.frame, *sc.checks])
                except pl.exceptions.PolarsError as exc:
                    raise explain_read_error([sc], exc) from exc
                entry[1], entry[2] = rows, (pl.concat(bad) if bad else None)
            rows, bad = entry[1], entry[2]
            self.rows_read[role] = rows.height
            self._note_span(role, rows.height, rows.select(span_exprs(role, sc.columns)))
            if bad is not None and bad.height:
                if self.engine != "polars":  # other engines check when they lift the rows
                    raise_for_checks(bad)
                self.checks.append(bad.lazy())  # reported with the results, every file's
            self._frames[role] = self._lift(rows.lazy())
        return self._frames[role]

    def _note_span(self, role: str, rows: int, df: pl.DataFrame) -> None:
        span = span_of(role, self.columns(role), rows, df)
        if span is not None:
            self.spans[role] = span

    def check_freshness(self) -> None:
        """Warn about sources whose data ends before the run's last period starts."""
        last = self.calendar.periods[-1]
        found = stale(self.spans, last)
        self.warnings += [w for w in stale_warnings(self.spans, last) if w not in self.warnings]
        self.stale.update(found)

    def _raise_checks(self, checks: list[Any]) -> None:
        if checks:
            raise_for_checks(pl.concat(pl.collect_all(checks)))

    def columns(self, role: str) -> list[str]:
        return self.scanned(role).columns

    def filtered(
        self, role: str, condition: str | None, *, account_col: str = "account_id"
    ) -> nw.LazyFrame:
        """Rows of a source that satisfy a metric's SQL filter (which may name account attributes)."""
        frame = self.source(role)
        if not condition:
            return frame
        from cs_metrics.expr import parse_expr  # sqlglot: only for specs with SQL text
        from cs_metrics.expr_types import check_frame_types

        expr = parse_expr(condition)
        own = set(self.columns(role))
        missing = [c for c in expr.columns if c not in own]
        if missing and role != "accounts" and self.has("accounts") and account_col in own:
            attrs = [c for c in self.columns("accounts") if c != "account_id"]
            unknown = [c for c in missing if c not in attrs]
            if not unknown:
                extra = self.source("accounts").select(
                    nw.col("account_id").alias(account_col), *[nw.col(c) for c in missing]
                )
                frame = frame.join(extra, on=account_col, how="left")
                missing = []
        if missing:
            options = sorted(
                own | (set(self.columns("accounts")) if self.has("accounts") else set())
            )
            raise DataError(
                f"filter {condition!r} names column {missing[0]!r}{did_you_mean(missing[0], options)}, "
                f"which the {role} source does not have; columns: {', '.join(c for c in options if not c.startswith('__'))}"
            )
        check_frame_types(expr, frame, self.spec)
        return frame.filter(expr.to_narwhals())

    # ---- periods and dimensions ------------------------------------------------------
    def periods_table(self) -> nw.LazyFrame:
        return self.cached("calendar", lambda: self.table(self.calendar.rows()))

    def assign_period(self, frame: nw.LazyFrame, date_col: str) -> nw.LazyFrame:
        """Add ``period`` to dated rows (rows outside the computed periods are dropped)."""
        days = self.cached("days", lambda: self.table(self.calendar.days()))
        return frame.with_columns(self.day(frame, date_col).alias("__day")).join(
            days, on="__day", how="inner"
        )

    @staticmethod
    def day(frame: nw.LazyFrame, column: str) -> nw.Expr:
        """The column as a Date: a timestamp's day, or the date itself."""
        col = nw.col(column)
        return day_of(col) if frame.collect_schema()[column] == nw.Datetime else col.cast(nw.Date)

    def dims_table(self) -> nw.LazyFrame | None:
        """account_id -> one String column per requested dimension (None without --by)."""
        if not self.dims:
            return None

        def build() -> nw.LazyFrame:
            named = [d for d in self.dims if d != "account"]
            if not named:
                return None
            if not self.has("accounts"):
                raise SpecError(
                    f"--by {named[0]} needs the accounts source (dimensions are account attributes): "
                    "add sources.accounts to the spec"
                )
            from cs_metrics.expr import parse_expr  # sqlglot: only for specs with SQL text
            from cs_metrics.expr_types import check_frame_types

            accounts = self.source("accounts")
            cols = set(self.columns("accounts"))
            exprs = []
            for d in named:
                text = self.spec.model.dimensions[d]
                e = parse_expr(text)
                unknown = [c for c in e.columns if c not in cols]
                if unknown:
                    raise DataError(
                        f"dimension {d} ({text!r}) names column {unknown[0]!r}"
                        f"{did_you_mean(unknown[0], cols)}, which the accounts source does not have "
                        f"(at {self.spec.where('dimensions', d)})"
                    )
                check_frame_types(e, accounts, self.spec, ("dimensions", d), f"dimension {d}")
                exprs.append(e.to_narwhals().cast(nw.String).alias(d))
            return accounts.select(nw.col("account_id"), *exprs).unique(["account_id"], keep="any")

        return self.cached("dims", build)

    def group_cols(self) -> list[str]:
        return list(self.dims)

    def with_dims(self, frame: nw.LazyFrame, account_col: str = "account_id") -> nw.LazyFrame:
        """Attach the dimension columns to per-account rows."""
        if not self.dims:
            return frame
        table = self.dims_table()
        if table is not None:
            frame = frame.join(
                table.rename({"account_id": account_col}), on=account_col, how="left"
            )
        if "account" in self.dims:
            frame = frame.with_columns(nw.col(account_col).cast(nw.String).alias("account"))
        return frame

    def complete(self, frame: nw.LazyFrame, fill: dict[str, Any]) -> nw.LazyFrame:
        """Give every period a row: sums and counts of nothing are the ``fill`` values (0).

        Per account (``--by account``), the accounts of the run's ``population`` get a row
        in every period too (:data:`POPULATIONS`): an account with no events, tickets or MRR
        in the period has 0 of them, not "no data" (a quiet account is the one to worry
        about). Metrics without a fill (means, medians) are null for it, and ratios of
        nothing are null with their note.
        """
        if self.dims:
            return self._complete_accounts(frame, fill)
        cal = self.periods_table().select("period")
        out = cal.join(frame, on="period", how="left")
        if not fill:  # e.g. mean/median/pNN: a period without rows stays null
            return out
        return out.with_columns(*[nw.col(c).fill_null(v) for c, v in fill.items()])

    def _complete_accounts(self, frame: nw.LazyFrame, fill: dict[str, Any]) -> nw.LazyFrame:
        members = self.account_population()
        if members is None:
            return frame
        keys = ["period", "account"]  # the other dimensions are attributes of the account
        customers = self.with_dims(members).select("period", *self.group_cols())
        quiet = customers.join(frame.select(*keys), on=keys, how="anti")
        schema = frame.collect_schema()
        rows = quiet.select(
            *[
                nw.col(c)
                if c in self.group_cols() or c == "period"
                else (nw.lit(fill[c]) if c in fill else nw.lit(None)).cast(schema[c]).alias(c)
                for c in schema.names()
            ]
        )
        return nw.concat([frame, rows], how="vertical")

    def account_population(self) -> nw.LazyFrame | None:
        """(account_id, period) of the accounts ``complete`` gives a row per period (None:
        none added). See :data:`POPULATIONS`."""
        if "account" not in self.dims or self.population == "none":
            return None
        if self.population == "customers":
            if self.has("subscriptions") or self.has("invoices"):
                return customer_accounts(self)
            return self._every_period(["accounts"]) if self.has("accounts") else None
        return self._every_period(None)

    def _every_period(self, roles: list[str] | None) -> nw.LazyFrame:
        """Every period x every account of ``roles`` (None: of every source keyed by
        account_id). A source the metrics read gives the rows this run holds (in memory,
        not the files again); any other is scanned for its account_id column alone, with no
        value checks and no freshness (a source the metrics do not read cannot fail them)."""

        def build() -> nw.LazyFrame:
            wanted = roles if roles is not None else list(self.spec.model.sources)
            ids = []
            for role in wanted:
                sc = self._scanned.get(role)
                if sc is None:
                    try:  # a source the metrics do not read cannot fail them
                        sc = self._shared(role)[0]
                    except CsmError:
                        continue
                if "account_id" not in sc.columns:
                    continue
                # this engine's rows (polars in memory, Spark checkpointed) when read; DuckDB's
                # are relations, and its ids are lifted from polars frames below
                held = self._frames.get(role) if self.engine != "duckdb" else None
                frame = held if held is not None else nw.from_native(sc.frame)
                ids.append(frame.select(nw.col("account_id").cast(nw.String)))
            accounts = nw.concat(ids).filter(~nw.col("account_id").is_null()).unique()
            cal = self.periods_table().select("period")
            if self.engine == "spark":  # the ids are Spark frames already
                return accounts.join(cal, how="cross")
            return self._lift(accounts.to_native()).join(cal, how="cross")

        return self.cached(("population", tuple(roles or ())), build)

    # ---- health ----------------------------------------------------------------------
    def health_scores(self, by: list[str]) -> tuple[pl.DataFrame, list[str]]:
        """Per-account health scores of every computed period (a run of its own)."""
        return scoring.score_health(self.spec, self.calendar.periods, self.engine, by, compute)


def requests_for(spec: Spec, names: Iterable[str] | None) -> list[MetricRequest]:
    """The metrics to compute: the requested names (spec metrics or built-in types) or all."""
    load_all()
    defined = spec.model.metrics
    wanted = list(names) if names else list(defined)
    if not wanted:
        raise SpecError(
            f"{spec.path} defines no metrics: add a metrics: section, or name built-in metrics "
            "(`csm metrics` lists them)"
        )
    out: list[MetricRequest] = []
    seen: set[str] = set()

    def add(name: str, via: str | None) -> None:
        if name in seen:
            return
        if name in defined:
            m = defined[name]
            opts = m.model_dump(exclude={"type", "filter", "label", "description"})
            req = MetricRequest(name, m.type, opts, m.filter, m.label)
        elif name in REGISTRY:
            req = MetricRequest(
                name, name, {k: o.default for k, o in REGISTRY[name].options.items()}
            )
        elif (m := CHANGE_NAME.match(name)) and (m[1] in defined or m[1] in REGISTRY):
            req = MetricRequest(name, CHANGE, {"base": m[1], "kind": m[2]})
        else:
            known = list(defined) + list(REGISTRY)
            where = f" (used by {via})" if via else ""
            raise UsageError(
                f"unknown metric {name!r}{where}{did_you_mean(name, known)}: "
                "`csm metrics` lists built-in metrics; the spec's are under metrics:"
            )
        for dep in req.deps():
            add(dep, name)
        seen.add(name)
        out.append(req)

    for n in wanted:
        add(n, None)
    return out


def _meta(req: MetricRequest, metas: dict[str, MetricMeta], currency: str) -> MetricMeta:
    if req.type == CHANGE:
        base = metas[req.options["base"]]
        unit = "ratio" if req.options["kind"] == "change" else base.unit
        label = f"{base.label or base.name} {req.options['kind']}"
        return MetricMeta(req.name, base.family, unit, req.label or label, base.higher_is_better)
    mt = req.mtype
    unit = unit_of(mt, req.options)
    unit = currency if unit == "currency" else unit
    family = "custom" if mt.name == "formula" else mt.family
    return MetricMeta(req.name, family, unit, req.label or "", mt.higher_is_better)


def check_engine(engine: str) -> None:
    if engine not in ENGINES:
        raise UsageError(f"unknown engine {engine!r}: use one of {', '.join(ENGINES)}")


def compute(
    spec: Spec,
    names: Iterable[str] | None,
    periods: list[Period],
    dims: list[str] | None = None,
    engine: str = "polars",
    parts: bool = False,
    population: str = "data",
) -> MetricResult:
    """Compute metrics for the given periods (and their predecessor, for 'previous').

    With ``parts``, each asked metric whose type declares parts also gives one row per part
    named ``<metric>.<part>`` (the counts and sums its value is made of, for `csm explain`).
    ``population``: which accounts get a row in every period with ``--by account``
    (:data:`POPULATIONS`).
    Runs inside one :func:`shared_reads` (health computed within reuses its sources).
    """
    with shared_reads():
        return _compute(spec, names, periods, dims, engine, parts, population)


def _compute(
    spec: Spec,
    names: Iterable[str] | None,
    periods: list[Period],
    dims: list[str] | None,
    engine: str,
    parts: bool,
    population: str,
) -> MetricResult:
    check_engine(engine)
    dims = list(dims or [])
    for d in dims:
        if d != "account" and d not in spec.model.dimensions:
            declared = ["account", *spec.model.dimensions]
            raise SpecError(
                f"--by {d}: no such dimension{did_you_mean(d, declared)}; declared: "
                f"{', '.join(declared)} (add it under dimensions: in {spec.path})"
            )
    requests = requests_for(spec, names)
    cal = Calendar([periods[0].previous(), *periods])
    types = frozenset(r.type for r in requests)  # e.g. usage counts weeks only for wau
    ctx = Context(spec, cal, dims, engine, population=population, types=types)
    currency = spec.model.currency
    keys = ["period", *dims]
    frames: dict[str, nw.LazyFrame] = {}
    metas: dict[str, MetricMeta] = {}
    asked = set(names) if names else set(spec.model.metrics)  # not a formula's own inputs
    extra: list[str] = []  # <metric>.<part> rows
    for req in requests:  # dependencies come before the metrics built from them
        meta = metas[req.name] = _meta(req, metas, currency)
        if req.type == "formula":
            frames[req.name] = _standardise(
                ctx, _formula(frames, req, keys), keys, req.name, meta.unit, ""
            )
        elif req.type == CHANGE:
            out = _change(ctx, frames[req.options["base"]], req.options["kind"], keys)
            frames[req.name] = _standardise(ctx, out, keys, req.name, meta.unit, "")
        else:
            out, why = None, ""
            try:
                out = req.mtype.compute(ctx, req)
            except Unavailable as exc:
                why = f"unavailable: {exc}"
                ctx.warnings.append(f"{req.name} is {why}")
            frames[req.name] = _standardise(ctx, out, keys, req.name, meta.unit, why)
            if parts and out is not None and req.name in asked:
                for col, (label, unit) in req.mtype.parts.items():
                    part = f"{req.name}.{col}"
                    unit = currency if unit == "currency" else unit
                    metas[part] = MetricMeta(part, meta.family, unit, label, None)
                    frames[part] = _standardise(
                        ctx, out.select(*keys, nw.col(col).alias("value")), keys, part, unit, ""
                    )
                    extra.append(part)
        if engine == "duckdb":  # DuckDB binds a whole relation tree at every step:
            frames[req.name] = ctx.materialise(frames[req.name])  # keep each one shallow
    shown = [r.name for r in requests if r.name in asked] + extra
    long = nw.concat([frames[n] for n in shown], how="vertical")
    if "account" in dims and population != "none":  # rows complete() added: say why null
        long = long.with_columns(
            nw.when(nw.col("value").is_null() & nw.col("note").is_null())
            .then(nw.lit(NO_ACCOUNT_DATA))
            .otherwise(nw.col("note"))
            .alias("note")
        )
    result = collect(ctx, long)
    result = _finish(result, cal, dims, shown)
    return MetricResult(
        frame=result,
        dims=dims,
        metrics={n: metas[n] for n in shown},
        periods=[p.label for p in periods],
        currency=currency,
        warnings=ctx.warnings,  # the spec's own warnings are `csm validate`'s to show
        rows_read=dict(sorted(ctx.rows_read.items())),
        spans=dict(sorted(ctx.spans.items())),
        stale=dict(ctx.stale),
    )


def _standardise(
    ctx: Context, out: nw.LazyFrame | None, keys: list[str], name: str, unit: str, missing_note: str
) -> nw.LazyFrame:
    if out is None:
        base = ctx.periods_table().select("period")
        for d in keys[1:]:
            base = base.with_columns(nw.lit(None, nw.String).alias(d))
        out = base.with_columns(
            nw.lit(None, nw.Float64).alias("value"), nw.lit(missing_note).alias("note")
        )
    cols = out.collect_schema().names()
    note = nw.col("note").cast(nw.String) if "note" in cols else nw.lit(None, nw.String)
    return out.select(
        nw.col("period").cast(nw.String),
        *[nw.col(d).cast(nw.String) for d in keys[1:]],
        nw.lit(name).alias("metric"),
        # rounded so that float summation order (engines, row order) never shows in output
        _rounded(nw.col("value").cast(nw.Float64)),
        nw.lit(unit).alias("unit"),
        note.alias("note"),
    )


def _rounded(value: nw.Expr) -> nw.Expr:
    return (
        nw.when(value.abs() >= LARGE)
        .then(value.round(LARGE_DECIMALS))
        .otherwise(value.round(VALUE_DECIMALS))
    )


def _formula(frames: dict[str, nw.LazyFrame], req: MetricRequest, keys: list[str]) -> nw.LazyFrame:
    """A formula over a wide frame of its inputs (one column per metric it names)."""
    from cs_metrics.expr import parse_expr  # sqlglot: only for specs with SQL text

    expr = parse_expr(req.options["expr"])
    deps = req.deps()
    long = nw.concat([frames[d] for d in deps], how="vertical")
    wide = long.group_by(*keys).agg(
        *[
            nw.when(nw.col("metric") == d).then(nw.col("value")).max().alias(f"__m_{d}")
            for d in deps
        ]
    )
    value = expr.to_narwhals(lambda c: nw.col(f"__m_{c}"))
    why = f"an input of {req.options['expr']} is null or a division by zero"
    return wide.with_columns(value.cast(nw.Float64).alias("value")).with_columns(
        nw.when(nw.col("value").is_null()).then(nw.lit(why)).alias("note")
    )


NULL_KEY = "\u0000"  # stands in for a null dimension value in self-joins (null never matches)


def _change(ctx: Context, base: nw.LazyFrame, kind: str, keys: list[str]) -> nw.LazyFrame:
    """<metric>_change (relative) or <metric>_delta (absolute) vs the previous period."""
    dims = keys[1:]
    idx = ctx.periods_table().select("period", "p_idx")
    cur = base.join(idx, on="period")
    if dims:
        cur = cur.with_columns(*[nw.col(d).fill_null(NULL_KEY) for d in dims])
    prior = cur.select((nw.col("p_idx") + 1).alias("p_idx"), *dims, nw.col("value").alias("prior"))
    rows = cur.join(prior, on=["p_idx", *dims], how="left")
    v, p = nw.col("value"), nw.col("prior")
    if kind == "delta":
        value, note = (
            v - p,
            nw.when(p.is_null() | v.is_null()).then(
                nw.lit("no value for this or the previous period")
            ),
        )
    else:
        value, note = ratio(v - p, p.abs(), "no value for the previous period, or it was 0")
    return rows.select(
        "period",
        *[
            nw.when(nw.col(d) == NULL_KEY)
            .then(nw.lit(None, nw.String))
            .otherwise(nw.col(d))
            .alias(d)
            for d in dims
        ],
        value.alias("value"),
        note.alias("note"),
    )


def _row_counts(ctx: Context) -> dict[str, pl.LazyFrame]:
    """role -> a one-row plan counting the rows of each source this run scanned (``n``), with
    their first and last dates (cs_metrics.freshness)."""
    return {
        role: sc.frame.select(pl.len().alias("n"), *span_exprs(role, sc.columns))
        for role, sc in ctx._scanned.items()
        if role not in ctx.rows_read
    }


def collect(ctx: Context, long: nw.LazyFrame) -> pl.DataFrame:
    """Collect a run's result with its data checks and notices (one collect_all on polars)."""
    try:
        if ctx.engine == "polars":
            unread = [  # sources only looked at (columns), never read: still checked
                c for role, sc in ctx._scanned.items() if role not in ctx._frames for c in sc.checks
            ]
            checks = [*ctx.checks, *unread]
            natives = [long.to_native(), *(f.to_native() for f, _, _ in ctx.notices), *checks]
            counted = _row_counts(ctx)  # rows read per source, in the same collect
            out, *rest = pl.collect_all([*natives, *counted.values()])
            rest, counts = rest[: len(rest) - len(counted)], rest[len(rest) - len(counted) :]
            for role, c in zip(counted, counts, strict=True):
                ctx.rows_read[role] = int(c["n"][0])
                ctx._note_span(role, int(c["n"][0]), c)
            noticed, bad = rest[: len(ctx.notices)], rest[len(ctx.notices) :]
            if bad:
                raise_for_checks(pl.concat(bad))
        else:
            ctx._raise_checks(ctx.checks)
            frames = [long, *(f for f, _, _ in ctx.notices)]
            if ctx.engine == "spark":  # one Spark job for them all
                from cs_metrics import spark

                out, *noticed = spark.collect_all([f.to_native() for f in frames])
            else:
                out, *noticed = [f.collect(backend="polars").to_native() for f in frames]
        ctx.check_freshness()
        for (_, fmt, error), df in zip(ctx.notices, noticed, strict=True):
            message = fmt(df)
            if message and error:
                raise DataError(message)
            if message:
                ctx.warnings.append(message)
        return out
    except CsmError:
        raise
    except pl.exceptions.PolarsError as exc:
        raise explain_read_error(list(ctx._scanned.values()), exc) from exc


def _finish(frame: pl.DataFrame, cal: Calendar, dims: list[str], names: list[str]) -> pl.DataFrame:
    """Add 'previous', drop the extra leading period, sort deterministically."""
    labels = [p.label for p in cal.periods]
    idx = pl.DataFrame({"period": labels, "__i": list(range(len(labels)))})
    order = pl.DataFrame({"metric": names, "__m": list(range(len(names)))})
    f = frame.join(idx, on="period").join(order, on="metric")
    prev = f.select(
        (pl.col("__i") + 1).alias("__i"), *dims, "metric", pl.col("value").alias("previous")
    )
    f = f.join(prev, on=["__i", *dims, "metric"], how="left", nulls_equal=True)
    f = f.filter(pl.col("__i") > 0).sort(["__i", *dims, "__m"], nulls_last=True)
    return f.select("period", *dims, "metric", "value", "unit", "previous", "note")


__all__ = [  # the names other modules import from here (some defined in metrics.base)
    "CHANGE",
    "CHANGE_NAME",
    "ENGINES",
    "EPS",
    "VALUE_DECIMALS",
    "Calendar",
    "Context",
    "MetricRequest",
    "Unavailable",
    "check_columns",
    "check_engine",
    "collect",
    "compute",
    "ratio",
    "requests_for",
]
