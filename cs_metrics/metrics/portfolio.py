"""Portfolio health metrics for `csm compute`: the spec's health score, summarised.

They run the health scoring (cs_metrics.health, through ``ctx.health_scores``) for the
computed periods and summarise its per-account scores per period and dimension, so
`health_avg` or the MRR in the red band sit beside the other metrics, in series, `--by` a
dimension and in formulas.
"""

from __future__ import annotations

from typing import Any

import narwhals.stable.v2 as nw

from cs_metrics.errors import SpecError
from cs_metrics.metrics.base import Context, MetricRequest, Option, Unavailable, metric_type

BAND_OPTION = {"band": Option(str, ..., "band name from health.bands (e.g. red)")}


def _scores(ctx: Context) -> Any:
    """Per-account scores for every computed period (polars), computed once per run."""

    def build() -> Any:
        if ctx.spec.model.health is None:
            raise Unavailable("needs a health: block in the spec")
        try:
            frame, warnings = ctx.health_scores(list(ctx.dims))
        except SpecError as exc:
            raise Unavailable(f"health scoring failed: {exc.message}") from None
        ctx.warnings.extend(w for w in warnings if w not in ctx.warnings)
        if "account" in ctx.dims:
            import polars as pl

            frame = frame.with_columns(pl.col("account").cast(pl.String))
        return frame

    return ctx.cached("health_scores", build)


def _summary(
    ctx: Context, agg: Any, *, band: str | None = None, fill: float | None = None
) -> nw.LazyFrame:
    import polars as pl

    scores = _scores(ctx)
    if band is not None:
        scores = scores.filter(pl.col("band") == band)
    keys = ["period", *ctx.group_cols()]
    out = (
        scores.group_by(keys).agg(agg.alias("value"))
        if scores.height
        else pl.DataFrame(
            {k: [] for k in keys} | {"value": []},
            schema={**{k: pl.String for k in keys}, "value": pl.Float64},
        )
    )
    frame = ctx.table(out.with_columns(pl.col("value").cast(pl.Float64)))
    return ctx.complete(frame, {"value": fill} if fill is not None else {})


@metric_type(
    "health_avg",
    family="health",
    unit="score",
    requires=(),
    formula="mean health score of the customers scored in P (the spec's health: block)",
    description="average account health",
    null_when="no account was scored",
)
def health_avg(ctx: Context, req: MetricRequest) -> nw.LazyFrame:
    import polars as pl

    return _summary(ctx, pl.col("score").mean())


@metric_type(
    "health_band_accounts",
    family="health",
    unit="count",
    requires=(),
    formula="customers whose health band in P is `band`",
    options=BAND_OPTION,
    higher_is_better=None,
)
def health_band_accounts(ctx: Context, req: MetricRequest) -> nw.LazyFrame:
    import polars as pl

    return _summary(ctx, pl.len(), band=_band(ctx, req), fill=0.0)


@metric_type(
    "health_band_mrr",
    family="health",
    unit="currency",
    requires=(),
    formula="MRR at the end of P of the customers in health band `band`",
    options=BAND_OPTION,
    higher_is_better=None,
)
def health_band_mrr(ctx: Context, req: MetricRequest) -> nw.LazyFrame:
    import polars as pl

    return _summary(ctx, pl.col("mrr").sum(), band=_band(ctx, req), fill=0.0)


def _band(ctx: Context, req: MetricRequest) -> str:
    band = req.options.get("band")
    health = ctx.spec.model.health
    if health is None:
        raise Unavailable("needs a health: block in the spec")
    names = list(health.bands)
    if band not in names and band != "green":
        raise Unavailable(f"band {band!r} is not one of {', '.join([*names, 'green'])}")
    return band
