"""The health model (METRICS.md "Health score"): per-account scores, bands and segments.

The scores of a run come from one engine call, which computes every component's
per-account input (``<metric>``, or ``<metric>_change`` / ``<metric>_delta`` for
``change: relative | absolute``) plus ``customers`` and ``mrr`` for the scored periods and
the one before; everything after that is vectorised polars over the small collected
per-account frame. The caller passes that call in (``compute``): ``cs_metrics.health``
passes ``engine.compute``, and so does the engine itself for the portfolio health metrics
(``health_avg`` ...), so this module sits below the engine and never imports it.

Scoring, per account and period (only customers: MRR > 0 at the period end):

* component score: ``scale: [worst, best]`` maps linearly to 0-100, clipped (worst > best
  inverts); ``thresholds`` steps are tried in order and the first whose ``above`` the value
  strictly exceeds gives the score, the last step (no ``above``) being the default.
* a missing value (no row, null, NaN or infinite) is left out (``renormalize``: the score is
  sum(w x s) / sum(w of the components with a value)), scored 0 (``zero``) or 50
  (``neutral``); with ``zero``/``neutral`` the denominator is the sum of all weights.
* ``coverage`` = the share of the weight whose component had a value (0-1). With
  ``renormalize`` and no value at all the score is null.
* band: bands sorted by cut-off; a score strictly below a cut-off is that band (a score of
  exactly 40 with ``red: 40`` is not red); a score at or above the highest cut-off is the top
  band, named by a cut-off of 100 (``green: 100``), else ``green``.
* ``segments``: an account in the first segment whose ``when`` (SQL over account
  attributes) it matches uses that segment's components and weights; the others use all
  components with their own weights. A ``segment`` column is added.
* ``weakest``: the two components with the largest weight x (100 - score) (components that
  had no value under ``renormalize`` do not count; ties by spec order).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import narwhals.stable.v2 as nw
import polars as pl

from cs_metrics.errors import SpecError, UsageError
from cs_metrics.sources.shared import shared_frame, shared_reads
from cs_metrics.suggest import did_you_mean

if TYPE_CHECKING:
    from cs_metrics.periods import Period
    from cs_metrics.result import MetricResult
    from cs_metrics.spec import Spec
    from cs_metrics.spec.models import Health, HealthComponent

# engine.compute: (spec, names, periods, dims, engine) -> MetricResult
Compute = Callable[..., "MetricResult"]

FIXED = ["period", "account", "score", "band", "previous_score", "score_change", "coverage"]


def health_of(spec: Spec) -> Health:
    """The spec's ``health:`` block, or a SpecError saying how to add one."""
    health = spec.model.health
    if health is None:
        raise SpecError(
            f"{spec.path} has no health: block; add one, e.g.\n"
            "health:\n  components:\n"
            "    usage: {metric: active_users, change: relative, weight: 30, scale: [-0.5, 0.1]}\n"
            "    nps: {metric: nps, weight: 20, scale: [-100, 100]}\n"
            "  bands: {red: 40, yellow: 70}"
        )
    for name, comp in health.components.items():
        if comp.scale is None and comp.thresholds is None:
            where = spec.where("health", "components", name)
            raise SpecError(
                f"{where + ': ' if where else ''}health.components.{name}: give it "
                "scale: [worst, best] or thresholds: [{above: N, score: S}, ..., {score: S}]"
            )
    return health


def input_metric(comp: HealthComponent) -> str:
    """The metric name a component reads."""
    suffix = {"relative": "_change", "absolute": "_delta", None: ""}[comp.change]
    return comp.metric + suffix


def component_score(comp: HealthComponent, value: pl.Expr) -> pl.Expr:
    """0-100 score of a component's value (null where the value is null)."""
    if comp.scale is not None:
        worst, best = comp.scale
        return ((value - worst) / (best - worst) * 100.0).clip(0.0, 100.0)
    steps = comp.thresholds or []
    expr: pl.Expr = pl.lit(float(steps[-1].score))
    for step in reversed(steps[:-1]):
        expr = pl.when(value > step.above).then(pl.lit(float(step.score))).otherwise(expr)
    return pl.when(value.is_null()).then(None).otherwise(expr)


def band_expr(health: Health, score: pl.Expr) -> pl.Expr:
    below, top = health.band_steps()
    expr: pl.Expr = pl.lit(top)
    for name, cut in reversed(below):
        expr = pl.when(score < cut).then(pl.lit(name)).otherwise(expr)
    return pl.when(score.is_null()).then(pl.lit(None, pl.String)).otherwise(expr)


def band_order(health: Health) -> list[str]:
    """Band names from worst to best."""
    below, top = health.band_steps()
    return [name for name, _ in below] + [top]


def _weights(health: Health, segmented: bool) -> dict[str, pl.Expr]:
    """component -> its weight for each row (by the row's ``segment`` when segmented)."""
    default = health.weights_for(None)
    if not segmented:
        return {n: pl.lit(w) for n, w in default.items()}
    out = {}
    for name, w in default.items():
        expr: pl.Expr = pl.lit(w)
        for seg in reversed(health.segments or []):
            seg_w = health.weights_for(seg)[name]
            expr = pl.when(pl.col("segment") == seg.name).then(pl.lit(seg_w)).otherwise(expr)
        out[name] = expr
    return out


def score_frame(health: Health, wide: pl.DataFrame, dims: list[str]) -> pl.DataFrame:
    """Score a wide per-account frame (period, account, dims, [segment,] customers, mrr, one
    column per input metric) -> period, account, dims, [segment,] score, band, coverage,
    <c>, <c>_value, mrr, weakest. Only rows with customers > 0 are kept.

    With a ``segment`` column, each row uses its segment's components and weights (a
    component that does not apply has weight 0 and a null score)."""
    comps = health.components
    segmented = "segment" in wide.columns
    weight = _weights(health, segmented)
    frame = wide.filter(pl.col("customers").fill_null(0) > 0)
    values = []
    for name, comp in comps.items():
        v = pl.col(input_metric(comp)).cast(pl.Float64)
        values.append(pl.when(v.is_finite()).then(v).otherwise(None).alias(f"{name}_value"))
    frame = frame.with_columns(values)
    frame = frame.with_columns(
        pl.when(weight[name] > 0)
        .then(component_score(comp, pl.col(f"{name}_value")))
        .otherwise(None)
        .alias(name)
        for name, comp in comps.items()
    )
    fill = {"renormalize": None, "zero": 0.0, "neutral": 50.0}[health.missing]
    # a component that does not apply (weight 0) stays null: filling it is harmless (x 0)
    used = {name: pl.col(name) if fill is None else pl.col(name).fill_null(fill) for name in comps}
    total = pl.sum_horizontal(weight.values())
    have = pl.sum_horizontal(
        pl.when(pl.col(n).is_null()).then(0.0).otherwise(weight[n]) for n in comps
    )
    num = pl.sum_horizontal((used[n] * weight[n]).fill_null(0.0) for n in comps)
    den = have if fill is None else total
    score = pl.when(den > 0).then(num / den).otherwise(None)
    frame = frame.with_columns(score.alias("score"), (have / total).alias("coverage"))
    frame = frame.with_columns(band_expr(health, pl.col("score")).alias("band"))
    frame = frame.with_columns(_weakest(health, used, weight).alias("weakest"))
    return frame.select(
        "period",
        "account",
        *dims,
        *(["segment"] if segmented else []),
        "score",
        "band",
        "coverage",
        *[c for n in comps for c in (n, f"{n}_value")],
        pl.col("mrr").cast(pl.Float64),
        "weakest",
    )


def _weakest(health: Health, used: dict[str, pl.Expr], weight: dict[str, pl.Expr]) -> pl.Expr:
    """The (up to) two components pulling the score down most, as 'a, b'."""
    names = list(health.components)
    pulls = [
        (weight[n] * (100.0 - used[n])).fill_null(-1.0) - i * 1e-9  # ties: spec order first
        for i, n in enumerate(names)
    ]
    # build a list of (pull, name) structs per row, keep those with pull > 0, top two by pull
    items = pl.concat_list(
        pl.struct(p.alias("pull"), pl.lit(n).alias("name"))
        for n, p in zip(names, pulls, strict=True)
    )
    top = (
        items.list.sort(descending=True)
        .list.eval(
            pl.element().filter(pl.element().struct.field("pull") > 1e-6).struct.field("name")
        )
        .list.head(2)
        .list.join(", ")
    )
    top = pl.when(top != "").then(top)
    return top


def component_inputs(health: Health) -> list[str]:
    return list(dict.fromkeys(input_metric(c) for c in health.components.values()))


def compute_inputs(
    spec: Spec, periods: list[Period], dims: list[str], engine: str, compute: Compute
) -> tuple[pl.DataFrame, list[str]]:
    """Wide per-account inputs for the given periods: period, account, dims, customers, mrr,
    one column per input metric. Returns the frame and the engine's warnings. The engine
    run and the accounts read for segments share their reads (sources.shared)."""
    with shared_reads():
        return _compute_inputs(spec, periods, dims, engine, compute)


def _compute_inputs(
    spec: Spec, periods: list[Period], dims: list[str], engine: str, compute: Compute
) -> tuple[pl.DataFrame, list[str]]:
    health = health_of(spec)
    billed = has_billing(spec)
    base = ["customers", "mrr"] if billed else []  # without billing: no MRR to read
    names = list(dict.fromkeys([*base, *component_inputs(health)]))
    try:
        result = compute(spec, names, periods, ["account", *dims], engine, population="customers")
    except UsageError as exc:
        if str(exc).startswith("unknown metric"):
            raise SpecError(f"{spec.path}: health: {exc}") from None
        raise
    keys = ["period", "account", *dims]
    long = result.frame.select(*keys, "metric", "value").filter(pl.col("account").is_not_null())
    wide = long.pivot(on="metric", index=keys, values="value")
    missing = [n for n in names if n not in wide.columns]
    wide = wide.with_columns(pl.lit(None, pl.Float64).alias(n) for n in missing)
    if not billed:  # every account of the accounts source is scored (population_text)
        wide = _without_billing(spec, wide)
    if health.segments:
        segments = account_segments(spec, health)
        wide = wide.join(segments, on="account", how="left")
    return wide, result.warnings


def has_billing(spec: Spec) -> bool:
    return any(r in spec.model.sources for r in ("subscriptions", "invoices"))


def population_text(spec: Spec) -> str:
    """Which accounts health (and alerts) score, for people (docs: README "Health")."""
    if has_billing(spec):
        return "scored: the paying customers (MRR > 0 at the period end)"
    if "accounts" in spec.model.sources:
        return "scored: every account of the accounts source (no billing source, so no MRR)"
    return "scored: every account with data (no billing or accounts source)"


def _without_billing(spec: Spec, wide: pl.DataFrame) -> pl.DataFrame:
    """No billing source: every account is a "customer" (of the accounts source when there
    is one; the engine gave each of them a row per period), without MRR."""
    wide = wide.with_columns(pl.lit(1.0).alias("customers"), pl.lit(None, pl.Float64).alias("mrr"))
    if "accounts" not in spec.model.sources:
        return wide
    ids = (
        shared_frame(spec, "accounts")
        .select(pl.col("account_id").cast(pl.String).alias("account"))
        .unique()
    )
    return wide.join(ids.collect(), on="account", how="semi")


def account_segments(spec: Spec, health: Health) -> pl.DataFrame:
    """account -> the name of the first segment whose ``when`` it matches (null: none)."""
    if "accounts" not in spec.model.sources:
        raise SpecError(
            f"{spec.path}: health.segments need the accounts source (segments select accounts "
            "by their attributes): add sources.accounts"
        )
    accounts = nw.from_native(shared_frame(spec, "accounts"))
    cols = set(accounts.collect_schema().names())
    expr: nw.Expr = nw.lit(None, nw.String)
    for i, seg in reversed(list(enumerate(health.segments or []))):
        from cs_metrics.expr import parse_expr  # sqlglot: only for specs with SQL text
        from cs_metrics.expr_types import check_frame_types

        parsed = parse_expr(seg.when)
        unknown = sorted(c for c in parsed.columns if c not in cols)
        if unknown:
            raise SpecError(
                f"{spec.where('health', 'segments', i, 'when')}: segment {seg.name!r} names "
                f"column {unknown[0]!r}{did_you_mean(unknown[0], cols)}, which the accounts "
                "source does not have"
            )
        where = ("health", "segments", i, "when")
        check_frame_types(parsed, accounts, spec, where, f"health.segments.{seg.name}.when")
        cond = parsed.to_narwhals().fill_null(False)
        expr = nw.when(cond).then(nw.lit(seg.name)).otherwise(expr)
    out = accounts.select(nw.col("account_id").alias("account"), expr.alias("segment"))
    return nw.to_native(out.unique(["account"], keep="any").collect())


def score_health(
    spec: Spec,
    periods: Period | list[Period],
    engine: str,
    by: list[str] | None,
    compute: Compute,
) -> tuple[pl.DataFrame, list[str]]:
    """Health of every customer account in each period, with the previous period's score.

    Returns (frame, warnings); frame columns: period, account, <by dims>, score, band,
    previous_score, score_change, coverage, <c>, <c>_value per component, mrr, weakest;
    sorted by period, then score ascending (worst first), then account.
    """
    health = health_of(spec)
    plist = [periods] if not isinstance(periods, list) else periods
    dims = [d for d in (by or []) if d != "account"]
    calc = [plist[0].previous(), *plist]
    wide, warnings = compute_inputs(spec, calc, dims, engine, compute)
    scored = score_frame(health, wide, dims)
    return _with_previous(scored, calc, plist, dims), warnings


def _with_previous(
    scored: pl.DataFrame, calc: list[Period], wanted: list[Period], dims: list[str]
) -> pl.DataFrame:
    idx = pl.DataFrame({"period": [p.label for p in calc], "p_idx": list(range(len(calc)))})
    cur = scored.join(idx, on="period")
    prev = cur.select(
        (pl.col("p_idx") + 1).alias("p_idx"), "account", pl.col("score").alias("previous_score")
    )
    out = cur.join(prev, on=["p_idx", "account"], how="left")
    out = out.with_columns((pl.col("score") - pl.col("previous_score")).alias("score_change"))
    out = out.filter(pl.col("period").is_in([p.label for p in wanted]))
    seg = ["segment"] if "segment" in scored.columns else []
    comps = [c for c in scored.columns if c not in {*FIXED, *dims, *seg, "mrr", "weakest"}]
    return out.sort(["p_idx", "score", "account"], nulls_last=True).select(
        *FIXED[:2], *dims, *seg, *FIXED[2:], *comps, "mrr", "weakest"
    )
