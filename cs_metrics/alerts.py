"""Alerts (playbooks): SQL conditions over one account's metric values and attributes.

For a period, every alert's ``when`` is parsed; the identifiers it names are sorted into
metrics (spec metrics, built-in types, ``<metric>_change`` / ``_delta``), health
(``health``, ``health_score``, ``band``) and account attributes (columns of the accounts
source, or declared dimensions). All referenced metrics are computed in one engine run
``--by account``, pivoted to one row per account, joined to the attributes, and each
condition is evaluated with the same SQL whitelist as filters and formulas.

The result is one row per hit: ``period, account, alert, severity, action`` and one column
per name any shown alert's condition used (null where an alert did not use it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cs_metrics.errors import SpecError, UsageError

if TYPE_CHECKING:
    import polars as pl

    from cs_metrics.periods import Period
    from cs_metrics.spec import Spec

SEVERITIES = ("low", "medium", "high", "critical")
HEALTH_NAMES = ("health", "health_score", "band", "health_change")
FIXED_COLUMNS = ["period", "account", "alert", "severity", "action"]


@dataclass
class AlertRefs:
    """What one alert's condition names, by kind (each in order of first mention)."""

    metrics: list[str]
    health: list[str]
    attributes: list[str]

    @property
    def names(self) -> list[str]:
        return [*self.metrics, *self.health, *self.attributes]


def severity_rank(level: str) -> int:
    if level not in SEVERITIES:
        raise UsageError(f"--severity {level!r}: use one of {', '.join(SEVERITIES)}")
    return SEVERITIES.index(level)


def _is_metric(spec: Spec, name: str) -> bool:
    from cs_metrics.engine import CHANGE_NAME
    from cs_metrics.metrics.registry import REGISTRY, load_all

    load_all()
    known = set(spec.model.metrics) | set(REGISTRY)
    if name in known:
        return True
    m = CHANGE_NAME.match(name)
    return bool(m and m[1] in known)


def _account_columns(spec: Spec) -> list[str]:
    if "accounts" not in spec.model.sources:
        return []
    from cs_metrics.sources.shared import shared_scan

    return [c for c in shared_scan(spec, "accounts").columns if c != "account_id"]


def references(spec: Spec, index: int, attributes: list[str] | None = None) -> AlertRefs:
    """Sort the identifiers of alert ``index``'s condition into metrics, health, attributes."""
    from cs_metrics.expr import parse_expr
    from cs_metrics.metrics.registry import REGISTRY
    from cs_metrics.spec import did_you_mean

    alert = spec.model.alerts[index]
    expr = parse_expr(alert.when)
    names = _ordered_columns(alert.when, expr.columns)
    refs = AlertRefs([], [], [])
    attrs = attributes if attributes is not None else None
    for name in names:
        if name in HEALTH_NAMES:
            refs.health.append(name)
        elif _is_metric(spec, name):
            refs.metrics.append(name)
        else:
            if attrs is None:
                attrs = _account_columns(spec)
            if name in attrs or name in spec.model.dimensions:
                refs.attributes.append(name)
                continue
            where = spec.where("alerts", index, "when")
            changes = [f"{m}_{k}" for m in spec.model.metrics for k in ("change", "delta")]
            options = [*spec.model.metrics, *changes, *REGISTRY, *attrs, *spec.model.dimensions]
            if "accounts" not in spec.model.sources:
                hint = "; account attributes need sources.accounts in the spec"
            else:
                hint = f"; account attributes: {', '.join(attrs) or '(none)'}"
            raise SpecError(
                f"alert {alert.name} ({alert.when!r}) names {name!r}, which is neither a metric "
                f"nor an account attribute{did_you_mean(name, options)}{hint} (at {where})"
            )
    return refs


def _ordered_columns(text: str, columns: frozenset[str]) -> list[str]:
    """The condition's identifiers in the order they appear in its text."""
    import re

    pos = {}
    for c in columns:
        m = re.search(rf"(?<![A-Za-z0-9_]){re.escape(c)}(?![A-Za-z0-9_])", text)
        pos[c] = m.start() if m else len(text)
    return sorted(columns, key=lambda c: (pos[c], c))


def _health_frame(
    spec: Spec, periods: list[Period], engine: str, warnings: list[str] | None
) -> pl.DataFrame:
    """period, account, health (= health_score), band, health_change from `csm health`."""
    import polars as pl

    try:
        from cs_metrics.health import score_health  # type: ignore[import-not-found]
    except ImportError:
        raise SpecError(
            "an alert condition names health / health_score / band, but health scoring is not "
            "available yet in this version of csm: remove it from the alert for now"
        ) from None
    try:
        res = score_health(spec, list(periods), engine)
    except TypeError as exc:
        raise SpecError(f"health scoring cannot be used by alerts yet: {exc}") from None
    df, health_warnings = res if isinstance(res, tuple) else (res, [])
    df = getattr(df, "frame", df)
    if "score" not in df.columns or "account" not in df.columns:
        raise SpecError("health scoring cannot be used by alerts yet (no account/score)")
    if warnings is not None:
        warnings += [w for w in health_warnings if w not in warnings]
    change = "score_change" if "score_change" in df.columns else None
    return df.select(
        pl.col("period").cast(pl.String),
        pl.col("account").cast(pl.String),
        pl.col("score").cast(pl.Float64).alias("health"),
        pl.col("score").cast(pl.Float64).alias("health_score"),
        (pl.col("band") if "band" in df.columns else pl.lit(None, pl.String))
        .cast(pl.String)
        .alias("band"),
        (pl.col(change) if change else pl.lit(None)).cast(pl.Float64).alias("health_change"),
    )


def _attribute_frame(spec: Spec, names: list[str]) -> pl.DataFrame:
    """account (String) plus the named attributes / dimensions, one row per account."""
    import narwhals.stable.v2 as nw
    import polars as pl

    from cs_metrics.expr import parse_expr
    from cs_metrics.sources.shared import shared_frame, shared_scan

    sc = shared_scan(spec, "accounts")
    exprs = []
    for n in names:
        if n in sc.columns:
            exprs.append(nw.col(n))
        else:  # a declared dimension: SQL over the account attributes
            exprs.append(parse_expr(spec.model.dimensions[n]).to_narwhals().alias(n))
    lf = nw.from_native(shared_frame(spec, "accounts")).select(
        nw.col("account_id").cast(nw.String).alias("account"), *exprs
    )
    return (
        lf.collect(backend="polars")
        .to_native()
        .filter(pl.col("account").is_not_null())
        .unique(["account"], keep="first", maintain_order=True)
    )


def evaluate_alerts(
    spec: Spec,
    period: str | None = None,
    engine: str = "polars",
    as_of: str | None = None,
    *,
    new_only: bool = False,
    min_severity: str | None = None,
    warnings: list[str] | None = None,
) -> pl.DataFrame:
    """The hits of the spec's alerts for ``period`` (default: the last complete one).

    ``new_only`` keeps hits that did not also fire for the same account in the previous
    period; ``min_severity`` drops alerts below that level. Warnings of the metric run
    (unavailable metrics, partial periods) are appended to ``warnings``.
    """
    import narwhals.stable.v2 as nw
    import polars as pl

    from cs_metrics.engine import compute
    from cs_metrics.expr import parse_expr
    from cs_metrics.timeframe import data_end, incomplete, resolve_periods

    floor = severity_rank(min_severity) if min_severity else 0
    cur = resolve_periods(spec, period=period, as_of=as_of)[0]
    periods = [cur.previous(), cur] if new_only else [cur]
    alerts = [
        (i, a) for i, a in enumerate(spec.model.alerts) if SEVERITIES.index(a.severity) >= floor
    ]
    if not alerts:
        return _empty([])

    attrs_known = _account_columns(spec)
    refs = {i: references(spec, i, attrs_known) for i, _ in alerts}
    metric_names = _unique(n for r in refs.values() for n in r.metrics)
    attr_names = _unique(n for r in refs.values() for n in r.attributes)
    wants_health = any(r.health for r in refs.values())

    labels = pl.DataFrame({"period": [p.label for p in periods]})
    wide: pl.DataFrame | None = None
    if metric_names:
        result = compute(spec, metric_names, periods, ["account"], engine, population="customers")
        if warnings is not None:
            warnings += result.warnings + incomplete(periods, data_end(spec, as_of))
        long = result.frame.filter(pl.col("account").is_not_null())
        wide = long.pivot(on="metric", index=["period", "account"], values="value")
        for m in metric_names:
            if m not in wide.columns:
                wide = wide.with_columns(pl.lit(None, pl.Float64).alias(m))
    if wants_health:
        health = _health_frame(spec, periods, engine, warnings)
        wide = (
            health
            if wide is None
            else wide.join(health, on=["period", "account"], how="full", coalesce=True)
        )
    if attr_names:
        attrs = _attribute_frame(spec, attr_names)
        if wide is None:  # conditions over attributes only: every account, every period
            wide = labels.join(attrs, how="cross")
        else:
            wide = wide.join(attrs, on="account", how="left")
    if wide is None:  # a condition naming nothing (e.g. "1 = 1"): nothing to evaluate over
        return _empty([])

    hits = []
    for i, alert in alerts:
        cond = parse_expr(alert.when).to_narwhals()
        used = refs[i].names
        try:
            mask = nw.from_native(wide).select(cond.alias("__hit")).to_native()["__hit"]
            if mask.dtype not in (pl.Boolean, pl.Null):
                raise TypeError(f"it gives {mask.dtype}, not true/false")
            matched = wide.filter(mask.cast(pl.Boolean).fill_null(False))
        except (pl.exceptions.PolarsError, TypeError, ValueError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise SpecError(
                f"alert {alert.name}: cannot evaluate {alert.when!r} ({first}); it must be a "
                f"true/false condition over metrics and account attributes "
                f"(at {spec.where('alerts', i, 'when')})"
            ) from None
        fired = matched.select(
            "period",
            "account",
            pl.lit(alert.name).alias("alert"),
            pl.lit(alert.severity).alias("severity"),
            pl.lit(alert.action).alias("action"),
            pl.lit(SEVERITIES.index(alert.severity)).alias("__sev"),
            pl.lit(i).alias("__i"),
            *used,
        )
        hits.append(fired)
    value_cols = _unique(n for i, _ in alerts for n in refs[i].names)
    out = pl.concat(hits, how="diagonal_relaxed")
    if new_only:
        before = out.filter(pl.col("period") == periods[0].label).select("account", "alert")
        out = out.filter(pl.col("period") == cur.label).join(
            before, on=["account", "alert"], how="anti"
        )
    out = out.sort(["__sev", "__i", "account"], descending=[True, False, False])
    return out.select(*FIXED_COLUMNS, *value_cols) if out.height else _empty(value_cols, out)


def _empty(value_cols: list[str], like: pl.DataFrame | None = None) -> pl.DataFrame:
    import polars as pl

    if like is not None:
        return like.select(*FIXED_COLUMNS, *value_cols).clear()
    return pl.DataFrame(schema={c: pl.String for c in FIXED_COLUMNS})


def _unique(items: Any) -> list[str]:
    return list(dict.fromkeys(items))


def value_unit(spec: Spec, name: str) -> str:
    """The unit of a name an alert condition uses: a metric's unit (the currency code for
    money), ``ratio`` for ``<metric>_change``, the metric's for ``_delta``, ``score`` for
    health; "" for account attributes."""
    from cs_metrics.engine import CHANGE_NAME
    from cs_metrics.metrics.base import unit_of
    from cs_metrics.metrics.registry import REGISTRY, load_all

    load_all()
    currency = spec.model.currency
    if name in ("health", "health_score", "health_change"):
        return "score"
    metrics = spec.model.metrics
    unit = ""
    if name in metrics and metrics[name].type in REGISTRY:
        unit = unit_of(REGISTRY[metrics[name].type], metrics[name].model_dump())
    elif name in REGISTRY:
        unit = unit_of(REGISTRY[name], {})
    elif (m := CHANGE_NAME.match(name)) and (m[1] in metrics or m[1] in REGISTRY):
        return "ratio" if m[2] == "change" else value_unit(spec, m[1])
    return currency if unit == "currency" else unit


ALERT_SORTS = ("severity", "account", "name", "owner")


def sort_hits(
    hits: pl.DataFrame, spec: Spec, sort: str | None = None, top: int | None = None
) -> pl.DataFrame:
    """The hits grouped by playbook (most severe first, then spec order), each playbook's
    hits sorted by ``sort`` and only its first ``top``.

    ``sort``: severity (the default: account order), account, name, owner (A to Z), or a
    value a condition used (highest first); ``KEY:asc`` / ``KEY:desc`` turns it."""
    import polars as pl

    from cs_metrics.ranking import parse_sort

    order = {a.name: i for i, a in enumerate(spec.model.alerts)}
    fixed = {*FIXED_COLUMNS, "name", "owner"}
    values = [c for c in hits.columns if c not in fixed]
    key, desc = parse_sort(sort or "severity", [*ALERT_SORTS, *values], set(values))
    sev = pl.col("severity").replace_strict(
        {s: -i for i, s in enumerate(SEVERITIES)}, default=0, return_dtype=pl.Int64
    )
    group = pl.col("alert").replace_strict(order, default=len(order), return_dtype=pl.Int64)
    keys: list[Any] = [sev, group]
    descending = [False, False]
    if key != "severity":
        keys.append(pl.col(key))
        descending.append(desc)
    keys.append(pl.col("account"))
    descending.append(False)
    out = hits.sort(keys, descending=descending, nulls_last=True, maintain_order=True)
    if top:
        out = out.filter(pl.int_range(pl.len()).over("alert") < top)
    return out
