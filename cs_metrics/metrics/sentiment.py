"""Survey metrics: NPS, CSAT and CES from the surveys source (METRICS.md "Surveys").

A metric's ``filter`` selects the survey (``filter: "survey = 'nps'"``). Without a filter,
when the source has a ``survey`` column, a metric reads the answers of its own survey
(``nps``, ``csat`` or ``ces``, case-insensitive), so built-in metrics work on a mixed export;
a filter replaces that default. Every metric here works on the same rows, built once per
(selection, scale, on_invalid) and shared:

1. answers submitted in a computed period (``submitted_at``), with a score (an empty
   score is no answer);
2. scores outside the metric's ``scale`` are data errors: the run stops (exit 65) naming
   file:row and the score, unless the metric sets ``on_invalid: drop``, which leaves them
   out with a warning;
3. ``per_respondent: latest`` keeps each respondent's latest answer in the period
   (respondent = respondent_id, else account_id; ties on submitted_at go to the answer
   on the later line of the export);
4. per period (and dimension): responses n, answers at or above a "high" threshold, at or
   below a "low" threshold, and the sum of scores. Every formula is built from those.

Without dimensions every period has a row: counts are 0 and rates, means and scores are
null with a note when there are no responses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import narwhals.stable.v2 as nw

from cs_metrics.errors import SpecError
from cs_metrics.metrics.base import Context, MetricRequest, Option, metric_type, ratio
from cs_metrics.metrics.common import count_if, value_frame

if TYPE_CHECKING:
    import polars as pl

ROLE = "surveys"
NO_RESPONSES = "no survey responses in the period"
Z95 = 1.96  # two-sided 95 % normal quantile
SHOWN = 10  # bad rows named in a message


# ---- options ---------------------------------------------------------------------------
def _common_options(scale: tuple[float, float]) -> dict[str, Option]:
    return {
        "scale": Option(
            tuple[float, float],
            scale,
            "lowest and highest valid score; a score outside it is a data error",
        ),
        "per_respondent": Option(
            Literal["all", "latest"],
            "all",
            "all answers, or only each respondent's latest answer in the period "
            "(respondent_id, else account_id)",
        ),
        "on_invalid": Option(
            Literal["error", "drop"],
            "error",
            "a score outside the scale: error (exit 65, naming file:row) or drop (left out, "
            "with a warning)",
        ),
    }


NPS_OPTIONS = {
    **_common_options((0.0, 10.0)),
    "promoter_at": Option(float, 9.0, "lowest promoter score (promoters: score >= promoter_at)"),
    "detractor_at": Option(
        float, 6.0, "highest detractor score (detractors: score <= detractor_at)"
    ),
}
CSAT_SCALE = _common_options((1.0, 5.0))
CSAT_OPTIONS = {
    **CSAT_SCALE,
    "satisfied_at": Option(float, 4.0, "lowest satisfied score (satisfied: score >= satisfied_at)"),
}
CES_SCALE = _common_options((1.0, 7.0))
CES_OPTIONS = {
    **CES_SCALE,
    "easy_at": Option(float, 5.0, "lowest 'easy' score (higher = easier; easy: score >= easy_at)"),
}


# ---- shared rows -------------------------------------------------------------------------
RowsKey = tuple[str | None, str | None, float, float, str]  # filter, survey, lo, hi, on_invalid


@dataclass
class _Checked:
    """The answers in the computed periods with in-scale scores, and who uses them."""

    rows: nw.LazyFrame
    key: RowsKey
    names: list[str] = field(default_factory=list)


def _num(x: float) -> str:
    return f"{x:g}"


def _where(ctx: Context, req: MetricRequest, *key: str) -> str:
    if req.name in ctx.spec.model.metrics:
        return f" (at {ctx.spec.where('metrics', req.name, *key)})"
    return ""


def _scale(ctx: Context, req: MetricRequest) -> tuple[float, float]:
    lo, hi = (float(x) for x in req.options["scale"])
    if not lo < hi:
        raise SpecError(
            f"metric {req.name}: scale [{_num(lo)}, {_num(hi)}] must list the lowest score "
            f"first and the highest second{_where(ctx, req, 'scale')}"
        )
    return lo, hi


def _threshold(ctx: Context, req: MetricRequest, name: str, scale: tuple[float, float]) -> float:
    value = float(req.options[name])
    lo, hi = scale
    if not lo <= value <= hi:
        raise SpecError(
            f"metric {req.name}: {name} {_num(value)} is outside its scale "
            f"{_num(lo)}-{_num(hi)}{_where(ctx, req, name)}: set {name} (or scale) so that "
            "the threshold is a score on the scale"
        )
    return value


def _checked(ctx: Context, req: MetricRequest, kind: str, scale: tuple[float, float]) -> _Checked:
    lo, hi = scale
    on_invalid = req.options.get("on_invalid") or "error"
    # without a filter, a source with a survey column is narrowed to this metric's survey
    default = None if req.filter or "survey" not in ctx.columns(ROLE) else kind
    key: RowsKey = (req.filter, default, lo, hi, on_invalid)
    state: _Checked = ctx.cached(
        ("survey-rows", *key), lambda: _build_checked(ctx, key, scale, on_invalid)
    )
    if req.name not in state.names:
        state.names.append(req.name)
    if default:
        _warn_unmatched_survey(ctx, req, default)
    return state


def _survey_kind() -> nw.Expr:
    return nw.col("survey").str.strip_chars().str.to_lowercase()


def _build_checked(
    ctx: Context, key: RowsKey, scale: tuple[float, float], on_invalid: str
) -> _Checked:
    condition, default = key[0], key[1]
    lo, hi = scale
    rows = ctx.filtered(ROLE, condition)
    if default:
        rows = rows.filter(_survey_kind() == default)
    rows = ctx.assign_period(rows, "submitted_at").filter(~nw.col("score").is_null())
    score = nw.col("score")
    outside = (score < lo) | (score > hi)
    state = _Checked(rows.filter(~outside), key)
    drop = on_invalid == "drop"
    which = (
        f" matching {condition!r}" if condition else f" of survey {default!r}" if default else ""
    )

    def fmt(df: pl.DataFrame) -> str | None:
        n = df.height
        if n == 0:
            return None
        df = df.sort("__file", "__row")
        shown = ", ".join(
            f"{r['__file']}:{r['__row']} (score {_num(r['score'])})"
            for r in df.head(SHOWN).iter_rows(named=True)
        )
        more = f" and {n - SHOWN} more" if n > SHOWN else ""
        names = ", ".join(state.names)
        metrics = f"metric{'s' if len(state.names) > 1 else ''} {names}"
        answers = "answer" if n == 1 else "answers"
        scale = f"{_num(lo)}-{_num(hi)}"
        if drop:
            return (
                f"{metrics}: left out {n} survey {answers}{which} with a score outside the "
                f"scale {scale} (on_invalid: drop): {shown}{more}"
            )
        return (
            f"{n} survey {answers}{which} {'has' if n == 1 else 'have'} a score outside the "
            f"scale {scale} of {metrics}: {shown}{more}: fix the export, set the metric's "
            "scale, or set on_invalid: drop on the metric to leave them out"
        )

    ctx.notice(rows.filter(outside).select("__file", "__row", "score"), fmt, error=not drop)
    return state


def _warn_unmatched_survey(ctx: Context, req: MetricRequest, kind: str) -> None:
    """Without a filter a metric reads survey = its kind; warn when no answer has it."""
    names: list[str] = ctx.cached(("survey-kind", kind), lambda: _register_kind_notice(ctx, kind))
    if req.name not in names:
        names.append(req.name)


def _register_kind_notice(ctx: Context, kind: str) -> list[str]:
    names: list[str] = []

    def fmt(df: pl.DataFrame) -> str | None:
        found = sorted(str(s) for s in df["survey"].to_list() if s is not None)
        if not found or kind in {f.strip().lower() for f in found}:
            return None
        return (
            f"{', '.join(names)}: no filter, so only answers with survey = '{kind}' count, and "
            f"the surveys source has none (its surveys: {', '.join(found)}): set e.g. "
            f"filter: \"survey = '{found[0]}'\" on the metric"
        )

    ctx.notice(ctx.source(ROLE).select("survey").unique(), fmt)
    return names


def _latest(ctx: Context, rows: nw.LazyFrame) -> nw.LazyFrame:
    """Each respondent's latest answer in each period (one row per respondent and period)."""
    cols = ctx.columns(ROLE)
    who = (
        nw.coalesce(nw.col("respondent_id"), nw.col("account_id"))
        if "respondent_id" in cols
        else nw.col("account_id")
    )
    rows = rows.with_columns(who.alias("__resp"))
    # latest submitted_at; ties -> the last file, then the last row (deterministic)
    for col in ("submitted_at", "__file", "__row"):
        rows = (
            rows.with_columns(nw.col(col).max().over("period", "__resp").alias("__max"))
            .filter(nw.col(col) == nw.col("__max"))
            .drop("__max")
        )
    return rows.drop("__resp")


def summary(
    ctx: Context,
    req: MetricRequest,
    kind: str,
    scale: tuple[float, float],
    high: float | None = None,
    low: float | None = None,
) -> nw.LazyFrame:
    """Per period and dimension: n (responses), total (sum of scores) and, when given,
    n_high (score >= high) and n_low (score <= low). Counts are Int64; 0 without answers."""
    per = req.options.get("per_respondent") or "all"
    state = _checked(ctx, req, kind, scale)
    key = ("survey-summary", *state.key, per, high, low)

    def build() -> nw.LazyFrame:
        rows = state.rows
        if per == "latest":
            rows = _latest(ctx, rows)
        rows = ctx.with_dims(rows)
        score = nw.col("score")
        aggs = [
            nw.len().cast(nw.Int64).alias("n"),
            score.sum().cast(nw.Float64).alias("total"),
        ]
        fill: dict[str, float] = {"n": 0, "total": 0.0}
        if high is not None:
            aggs.append(count_if(score >= high).alias("n_high"))
            fill["n_high"] = 0
        if low is not None:
            aggs.append(count_if(score <= low).alias("n_low"))
            fill["n_low"] = 0
        agg = rows.group_by("period", *ctx.group_cols()).agg(*aggs)
        return ctx.complete(agg, fill)

    return ctx.cached((*key, tuple(ctx.dims)), build)


def _out(
    ctx: Context, frame: nw.LazyFrame, value: nw.Expr, note: nw.Expr | None = None
) -> nw.LazyFrame:
    return value_frame(frame, ["period", *ctx.group_cols()], value, note, ("n", "n_high", "total"))


# ---- NPS -------------------------------------------------------------------------------
def _nps_summary(ctx: Context, req: MetricRequest) -> nw.LazyFrame:
    scale = _scale(ctx, req)
    promoter = _threshold(ctx, req, "promoter_at", scale)
    detractor = _threshold(ctx, req, "detractor_at", scale)
    if not detractor < promoter:
        raise SpecError(
            f"metric {req.name}: detractor_at {_num(detractor)} must be below promoter_at "
            f"{_num(promoter)}{_where(ctx, req, 'detractor_at')}"
        )
    return summary(ctx, req, "nps", scale, high=promoter, low=detractor)


NPS_FORMULA = (
    "100 x (promoters - detractors) / responses; promoter: score >= promoter_at (9), "
    "detractor: score <= detractor_at (6)"
)


@metric_type(
    "nps",
    family="sentiment",
    unit="score",
    requires=(ROLE,),
    formula=NPS_FORMULA,
    description="Net Promoter Score, -100..100 (filter selects the survey)",
    options=NPS_OPTIONS,
    null_when=NO_RESPONSES,
)
def nps(ctx: Context, req: MetricRequest) -> nw.LazyFrame:
    s = _nps_summary(ctx, req)
    v, n = ratio((nw.col("n_high") - nw.col("n_low")) * 100.0, nw.col("n"), NO_RESPONSES)
    return _out(ctx, s, v, n)


def _nps_count(name: str, column: str, formula: str, description: str, higher: bool | None):
    def compute(ctx: Context, req: MetricRequest) -> nw.LazyFrame:
        s = _nps_summary(ctx, req)
        c = nw.col
        expr = c("n") - c("n_high") - c("n_low") if column == "passives" else c(column)
        return _out(ctx, s, expr)

    metric_type(
        name,
        family="sentiment",
        unit="count",
        requires=(ROLE,),
        formula=formula,
        description=description,
        options=NPS_OPTIONS,
        higher_is_better=higher,
    )(compute)


_nps_count("nps_responses", "n", "answers counted by nps", "responses behind the NPS", higher=None)
_nps_count(
    "nps_promoters", "n_high", "answers with score >= promoter_at", "NPS promoters", higher=True
)
_nps_count(
    "nps_passives",
    "passives",
    "answers with detractor_at < score < promoter_at",
    "NPS passives",
    higher=None,
)
_nps_count(
    "nps_detractors",
    "n_low",
    "answers with score <= detractor_at",
    "NPS detractors",
    higher=False,
)


@metric_type(
    "nps_margin_of_error",
    family="sentiment",
    unit="score",
    requires=(ROLE,),
    formula="1.96 x 100 x sqrt((p + d - (p - d)^2) / n), p and d the promoter and detractor "
    "shares, n the responses",
    description="half-width of the NPS's 95 % confidence interval, in points",
    options=NPS_OPTIONS,
    higher_is_better=False,
    null_when=NO_RESPONSES,
)
def nps_margin_of_error(ctx: Context, req: MetricRequest) -> nw.LazyFrame:
    s = _nps_summary(ctx, req)
    p, note = ratio(nw.col("n_high"), nw.col("n"), NO_RESPONSES)
    d, _ = ratio(nw.col("n_low"), nw.col("n"), NO_RESPONSES)
    var = p + d - (p - d) * (p - d)  # variance of one answer scored +1 / 0 / -1
    var = nw.when(var < 0.0).then(nw.lit(0.0)).otherwise(var)  # float rounding only
    n = nw.col("n").cast(nw.Float64)
    value = nw.when(n > 0).then(Z95 * 100.0 * (var / n).sqrt())
    return _out(ctx, s, value, note)


# ---- CSAT ------------------------------------------------------------------------------
@metric_type(
    "csat",
    family="sentiment",
    unit="ratio",
    requires=(ROLE,),
    formula="responses with score >= satisfied_at (4) / responses",
    description="customer satisfaction: share of satisfied answers (scale 1-5 by default)",
    options=CSAT_OPTIONS,
    null_when=NO_RESPONSES,
    parts={"n_high": ("satisfied responses", "count"), "n": ("responses", "count")},
    explain="{n_high} satisfied / {n} responses",
)
def csat(ctx: Context, req: MetricRequest) -> nw.LazyFrame:
    scale = _scale(ctx, req)
    s = summary(ctx, req, "csat", scale, high=_threshold(ctx, req, "satisfied_at", scale))
    v, n = ratio(nw.col("n_high"), nw.col("n"), NO_RESPONSES)
    return _out(ctx, s, v, n)


def _mean(ctx: Context, req: MetricRequest, kind: str) -> nw.LazyFrame:
    s = summary(ctx, req, kind, _scale(ctx, req))
    v, n = ratio(nw.col("total"), nw.col("n"), NO_RESPONSES)
    return _out(ctx, s, v, n)


@metric_type(
    "csat_mean",
    family="sentiment",
    unit="score",
    requires=(ROLE,),
    formula="sum of scores / responses",
    description="mean CSAT score",
    options=CSAT_SCALE,
    null_when=NO_RESPONSES,
    parts={"total": ("sum of scores", "number"), "n": ("responses", "count")},
    explain="{total} summed scores / {n} responses",
)
def csat_mean(ctx: Context, req: MetricRequest) -> nw.LazyFrame:
    return _mean(ctx, req, "csat")


# ---- CES -------------------------------------------------------------------------------
@metric_type(
    "ces",
    family="sentiment",
    unit="score",
    requires=(ROLE,),
    formula="sum of scores / responses (scale 1-7, higher = easier)",
    description="customer effort score: the mean answer",
    options=CES_SCALE,
    null_when=NO_RESPONSES,
    parts={"total": ("sum of scores", "number"), "n": ("responses", "count")},
    explain="{total} summed scores / {n} responses",
)
def ces(ctx: Context, req: MetricRequest) -> nw.LazyFrame:
    return _mean(ctx, req, "ces")


@metric_type(
    "ces_easy_rate",
    family="sentiment",
    unit="ratio",
    requires=(ROLE,),
    formula="responses with score >= easy_at (5) / responses",
    description="share of answers that found it easy",
    options=CES_OPTIONS,
    null_when=NO_RESPONSES,
    parts={"n_high": ("easy responses", "count"), "n": ("responses", "count")},
    explain="{n_high} easy / {n} responses",
)
def ces_easy_rate(ctx: Context, req: MetricRequest) -> nw.LazyFrame:
    scale = _scale(ctx, req)
    s = summary(ctx, req, "ces", scale, high=_threshold(ctx, req, "easy_at", scale))
    v, n = ratio(nw.col("n_high"), nw.col("n"), NO_RESPONSES)
    return _out(ctx, s, v, n)
