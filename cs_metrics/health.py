"""Per-account health scores (METRICS.md "Health score") and their churn backtest.

The scoring itself (components, bands, segments, weakest) is the health model in
``cs_metrics.scoring``; this module runs it on the engine (``engine.compute``) for
`csm health`, alerts and reports, and backtests it against churn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from cs_metrics.engine import compute
from cs_metrics.errors import UsageError
from cs_metrics.scoring import (
    FIXED,
    account_segments,
    band_expr,
    band_order,
    component_inputs,
    component_score,
    compute_inputs,
    has_billing,
    health_of,
    input_metric,
    score_frame,
)
from cs_metrics.scoring import score_health as _score_health

if TYPE_CHECKING:
    from cs_metrics.periods import Period
    from cs_metrics.spec import Spec
    from cs_metrics.spec.models import Health


def score_health(
    spec: Spec,
    periods: Period | list[Period],
    engine: str = "polars",
    by: list[str] | None = None,
) -> tuple[pl.DataFrame, list[str]]:
    """Health of every customer account in each period, with the previous period's score.

    Returns (frame, warnings); frame columns: period, account, <by dims>, score, band,
    previous_score, score_change, coverage, <c>, <c>_value per component, mrr, weakest;
    sorted by period, then score ascending (worst first), then account.
    """
    return _score_health(spec, periods, engine, by, compute)


# ---------------------------------------------------------------------------- backtest


def backtest(
    spec: Spec,
    periods: list[Period],
    horizon: int,
    data_end: object,
    engine: str = "polars",
) -> tuple[pl.DataFrame, list[str]]:
    """Churn within ``horizon`` periods of each scored period, per band.

    An account churned when it is not a customer (MRR 0, or no subscription) at the end of
    any of the next ``horizon`` periods. Periods whose horizon runs past the data are left
    out (with a warning). Rows: period, band, accounts, churned, churn_rate, lift (the band's
    churn rate over the top band's in the same period); plus rows with period ``all`` over
    every backtested period. Bands are listed worst first.
    """
    health = health_of(spec)
    if horizon < 1:
        raise UsageError("--horizon must be at least 1")
    if not has_billing(spec):
        raise UsageError(
            "csm health --backtest counts churn, which needs a billing source: add "
            "sources.subscriptions or sources.invoices"
        )
    usable = [p for p in periods if p.shift(horizon).end <= data_end]  # type: ignore[operator]
    warnings: list[str] = []
    dropped = [p.label for p in periods if p not in usable]
    if dropped:
        warnings.append(
            f"left out {', '.join(dropped)}: their {horizon}-period churn horizon runs past the "
            f"data (as of {data_end})"
        )
    if not usable:
        raise UsageError(
            f"no period between {periods[0].label} and {periods[-1].label} has {horizon} "
            "complete periods after it; pick an earlier --from/--to or a shorter --horizon"
        )
    last = usable[-1].shift(horizon)
    calc = [usable[0].previous(), *_series(usable[0], last)]
    wide, w = compute_inputs(spec, calc, [], engine, compute)
    warnings += w
    scored = score_frame(health, wide, []).filter(pl.col("score").is_not_null())
    idx = pl.DataFrame({"period": [p.label for p in calc], "p_idx": list(range(len(calc)))})
    customers = (
        wide.filter(pl.col("customers").fill_null(0) > 0)
        .join(idx, on="period")
        .select("account", "p_idx")
    )
    scored = scored.join(idx, on="period").filter(pl.col("period").is_in([p.label for p in usable]))
    # kept: the number of the next `horizon` periods the account is still a customer in
    future = scored.select("account", "p_idx").join(customers, on="account", suffix="_f")
    kept = (
        future.filter(
            (pl.col("p_idx_f") > pl.col("p_idx")) & (pl.col("p_idx_f") <= pl.col("p_idx") + horizon)
        )
        .group_by("account", "p_idx")
        .agg(pl.len().alias("kept"))
    )
    rows = scored.join(kept, on=["account", "p_idx"], how="left").with_columns(
        (pl.col("kept").fill_null(0) < horizon).alias("churned")
    )
    per = _per_band(rows, ["period", "p_idx"], health)
    overall = _per_band(rows.with_columns(pl.lit("all").alias("period")), ["period"], health)
    overall = overall.with_columns(pl.lit(len(calc), per.schema["p_idx"]).alias("p_idx"))
    out = pl.concat([per, overall.select(per.columns)])
    order = {b: i for i, b in enumerate(band_order(health))}
    out = out.with_columns(pl.col("band").replace_strict(order, default=None).alias("b_idx"))
    out = out.sort("p_idx", "b_idx").drop("p_idx", "b_idx")
    return out, warnings


def _per_band(rows: pl.DataFrame, keys: list[str], health: Health) -> pl.DataFrame:
    per = rows.group_by(*keys, "band").agg(
        pl.len().alias("accounts"), pl.col("churned").sum().cast(pl.Int64).alias("churned")
    )
    per = per.with_columns(pl.col("accounts").cast(pl.Int64))
    per = per.with_columns((pl.col("churned") / pl.col("accounts")).alias("churn_rate"))
    top = band_order(health)[-1]
    best = per.filter(pl.col("band") == top).select(*keys, pl.col("churn_rate").alias("best_rate"))
    per = per.join(best, on=keys, how="left")
    lift = pl.when(pl.col("best_rate") > 0).then(pl.col("churn_rate") / pl.col("best_rate"))
    return per.with_columns(lift.alias("lift")).drop("best_rate")


def _series(first: Period, last: Period) -> list[Period]:
    """first, first + 1, ... up to the period ending with last (ranges shift by their length)."""
    out = [first]
    while out[-1].end < last.end:
        out.append(out[-1].shift(1))
    return out


# ---------------------------------------------------------------- csm health: the listing
def band_summary(frame: pl.DataFrame, hb: Health) -> pl.DataFrame:
    """band -> accounts and MRR (worst band first; unscored accounts last, band null)."""
    order = band_order(hb)
    per = frame.group_by("band").agg(pl.len().alias("accounts"), pl.col("mrr").sum().alias("mrr"))
    rank = pl.col("band").replace_strict({b: i for i, b in enumerate(order)}, default=len(order))
    return per.sort(rank)


def select_accounts(
    frame: pl.DataFrame, hb: Health, bands: list[str] | None, sort: str, top: int | None
) -> pl.DataFrame:
    """Filter by band, sort (score ascending, MRR at risk descending, or name / owner /
    account A to Z), keep the first N.

    Adds ``mrr_at_risk`` = MRR x (100 - score) / 100."""
    frame = frame.with_columns(
        (pl.col("mrr") * (100.0 - pl.col("score")) / 100.0).alias("mrr_at_risk")
    )
    if bands:
        known = band_order(hb)
        unknown = [b for b in bands if b not in known]
        if unknown:
            raise UsageError(f"--band {unknown[0]!r}: the spec's bands are {', '.join(known)}")
        frame = frame.filter(pl.col("band").is_in(bands))
    if sort == "mrr_at_risk":
        frame = frame.sort(["mrr_at_risk", "account"], descending=[True, False], nulls_last=True)
    elif sort in ("name", "owner") and sort in frame.columns:  # A to Z, then worst first
        frame = frame.sort([sort, "score", "account"], nulls_last=True)
    elif sort == "account":
        frame = frame.sort("account", nulls_last=True)
    else:
        frame = frame.sort(["score", "account"], nulls_last=True)
    return frame.head(top) if top else frame


__all__ = [
    "FIXED",
    "account_segments",
    "backtest",
    "band_expr",
    "band_order",
    "band_summary",
    "component_inputs",
    "component_score",
    "health_of",
    "input_metric",
    "score_frame",
    "score_health",
    "select_accounts",
]
