"""What the accounts do, drawn from their account-months: product events (usage), support
tickets, survey answers and CSM activities."""

from __future__ import annotations

import math
import random

import polars as pl

from cs_metrics.sample.base import (
    OWNER_TOUCH,
    OWNERS,
    US_PER_DAY,
    US_PER_HOUR,
    Window,
    epoch_day,
    explode,
    normal,
    pick,
    poisson_counts,
    stream,
    timestamp,
    uniform,
    user_id_of,
)

EVENTS = (
    ("login", 0.34),
    ("dashboard_viewed", 0.26),
    ("report_created", 0.12),
    ("report_sent", 0.10),
    ("export_csv", 0.08),
    ("invite_sent", 0.06),
    ("integration_connected", 0.04),
)

COMMENTS = (
    # negative
    "Too many bugs lately, reports keep failing.",
    "Support took days to answer.",
    "Hard to set up, our team stopped using it.",
    "Missing the integrations we need.",
    "Getting expensive for what we use.",
    'The new "insights" page is confusing, please bring the old one back.',
    # neutral
    "Does the job, but the UI could be faster.",
    "Fine overall, exports are a bit clunky.",
    "Good product, onboarding was slow.",
    "OK. Would like more dashboard templates.",
    "Decent, but pricing per seat hurts as we grow.",
    "Works, although search is hit and miss.",
    # positive
    "Love the scheduled reports!",
    "Our CSM is fantastic, very responsive.",
    "Saves my team hours every week.",
    "Best reporting tool we have tried.",
    "Setup was quick and support is great.",
    "Easy to use, everyone on the team adopted it.",
)

EVENT_NAMES = pl.Series("event_name", [name for name, _ in EVENTS], dtype=pl.String)


def _code(u: pl.Expr, weights: tuple[float, ...]) -> pl.Expr:
    """A categorical draw as an integer code: how many cumulative thresholds ``u`` passed."""
    total, cum, code = sum(weights), 0.0, pl.lit(0, pl.Int64)
    for w in weights[:-1]:
        cum += w / total
        code = code + (u >= cum).cast(pl.Int64)
    return code


def usage_month(am_m: pl.DataFrame, ids: pl.Series, rng: random.Random) -> pl.DataFrame:
    """One month of Segment-like events: each account-month row exploded into its events."""
    base = am_m.select("acc", "lo", "span", "au", "eo").with_columns(
        lam=pl.col("au") * (0.6 + 4.4 * pl.col("eo")) * pl.col("span") / 30.4
    )
    ev = explode(base, poisson_counts(base, "lam", rng)).select("acc", "lo", "span", "au")
    n = ev.height
    us_in_day = ((uniform(rng, n) + uniform(rng, n)) / 2 * US_PER_DAY).cast(pl.Int64)
    ev = ev.select(
        "acc",
        ts=(
            (pl.col("lo") + (uniform(rng, n) * pl.col("span")).cast(pl.Int64)) * US_PER_DAY
            + us_in_day
        )
        // 1000,
        user=(uniform(rng, n).pow(1.6) * pl.col("au")).cast(pl.Int64),
        code=_code(uniform(rng, n), tuple(w for _, w in EVENTS)),
        uv=uniform(rng, n),
    ).sort("ts", maintain_order=True)  # stable: ties keep the (deterministic) generation order
    name = EVENT_NAMES.gather(ev["code"])
    return ev.select(
        account_id=ids.gather(ev["acc"]),
        user_id=user_id_of(pl.col("acc"), pl.col("user")),
        ts=pl.col("ts").cast(pl.Datetime("ms")),
        event_name=name,
        value=pl.when(name == "report_sent")
        .then((1 + pl.col("uv") * 8).floor())
        .when(name == "export_csv")
        .then((20 + pl.col("uv").pow(3) * 5000).floor())
        .when(name == "invite_sent")
        .then((1 + pl.col("uv") * 3).floor())
        .when(name.is_in(["report_created", "integration_connected"]))
        .then(pl.lit(1.0))
        .otherwise(pl.lit(None, pl.Float64)),
    )


def tickets_frame(am: pl.DataFrame, ids: pl.Series, win: Window, seed: int) -> pl.DataFrame:
    rng = stream(seed, "tickets")
    onboarding = pl.when(pl.col("age") == 0).then(2.0).when(pl.col("age") == 1).then(1.4)
    base = am.with_columns(
        lam=(0.08 + 0.05 * pl.col("seats").sqrt())
        * (0.5 + 1.8 * (1 - pl.col("eo")))
        * pl.col("frac")
        * onboarding.otherwise(1.0)
        * pl.when(pl.col("paid")).then(1.0).otherwise(0.5)
    )
    t = explode(base, poisson_counts(base, "lam", rng)).select("acc", "lo", "span", "eo", "au")
    n = t.height
    end_us = epoch_day(win.end_excl) * US_PER_DAY
    ill = 1 - pl.col("eo")
    t = t.with_columns(
        day=pl.col("lo") + (uniform(rng, n) * pl.col("span")).floor().cast(pl.Int64),
        us=((7 + 11 * uniform(rng, n)) * US_PER_HOUR).cast(pl.Int64),
        via=pick(
            uniform(rng, n),
            (("email", 0.45), ("web", 0.3), ("chat", 0.15), ("api", 0.05), ("phone", 0.05)),
        ),
        fr_h=(math.log(2.0) + 0.9 * ill + 1.0 * normal(rng, n)).exp(),
        res_h=(math.log(14.0) + 1.4 * ill + 1.1 * normal(rng, n)).exp(),
        u_never=uniform(rng, n),
        u_abandon=uniform(rng, n),
        u_rep=uniform(rng, n),
        u_reopen=uniform(rng, n),
        u_status=uniform(rng, n),
        u_sat=uniform(rng, n),
        u_good=uniform(rng, n),
        u_csat=uniform(rng, n),
        u_ces=uniform(rng, n),
        u_person=uniform(rng, n),
        u_stime=uniform(rng, n),
        z_csat=normal(rng, n),
        z_ces=normal(rng, n),
    )
    t = t.with_columns(
        created=timestamp(pl.col("day"), pl.col("us")),
        fr_h=pl.when(pl.col("via") == "chat").then(pl.col("fr_h") / 4).otherwise(pl.col("fr_h")),
    )
    created_us = pl.col("created").cast(pl.Int64)
    fr_us = created_us + (pl.col("fr_h") * US_PER_HOUR).cast(pl.Int64)
    sol_us = fr_us + (pl.col("res_h") * US_PER_HOUR).cast(pl.Int64)
    replied = (pl.col("u_never") >= 0.025) & (fr_us < end_us)
    solved = replied & (pl.col("u_abandon") >= 0.015) & (sol_us < end_us)
    t = t.with_columns(
        first_reply_at=pl.when(replied).then(fr_us).cast(pl.Datetime("us")),
        solved_at=pl.when(solved).then(sol_us).cast(pl.Datetime("us")),
        solved=solved,
        replied=replied,
    )
    geo = (-pl.col("u_rep").log() * (0.8 + 0.5 * (1 + pl.col("res_h") / 24).log())).floor()
    closed_before = (end_us - 4 * US_PER_DAY) > sol_us
    t = t.with_columns(
        replies=pl.when(pl.col("solved"))
        .then(1 + geo)
        .when(pl.col("replied"))
        .then(geo.clip(1))
        .otherwise(0)
        .cast(pl.Int64),
        reopens=pl.when(pl.col("solved") & (pl.col("u_reopen") < 0.04 + 0.1 * ill))
        .then(pl.when(pl.col("u_reopen") < 0.01).then(2).otherwise(1))
        .otherwise(0)
        .cast(pl.Int64),
        status=pl.when(pl.col("solved") & closed_before)
        .then(pl.lit("closed"))
        .when(pl.col("solved"))
        .then(pl.lit("solved"))
        .when(~pl.col("replied"))
        .then(pl.lit("new"))
        .when(pl.col("u_status") < 0.6)
        .then(pl.lit("open"))
        .otherwise(pl.lit("pending")),
        satisfaction_rating=pl.when(pl.col("solved") & (pl.col("u_sat") < 0.3))
        .then(
            pl.when(
                pl.col("u_good")
                < 0.5 + 0.45 * pl.col("eo") - pl.when(pl.col("res_h") > 72).then(0.15).otherwise(0)
            )
            .then(pl.lit("good"))
            .otherwise(pl.lit("bad"))
        )
        .when(pl.col("solved") & (pl.col("u_sat") < 0.55))
        .then(pl.lit("offered"))
        .otherwise(pl.lit("unoffered")),
    )
    t = t.sort("created", "acc", "via", "fr_h", "res_h", maintain_order=True).with_row_index("seq")
    # a realistic glitch: exactly two tickets whose first reply is logged after they were solved
    eligible = t.filter(pl.col("status") == "closed")["seq"]
    if eligible.len() >= 2:
        picks = sorted(rng.sample(range(eligible.len()), 2))
        glitch = [eligible[p] for p in picks]
        t = t.with_columns(
            first_reply_at=pl.when(pl.col("seq").is_in(glitch))
            .then(pl.col("solved_at") + pl.duration(hours=1 + (pl.col("u_good") * 30).floor()))
            .otherwise(pl.col("first_reply_at"))
        )
    return t.with_columns(
        id=(pl.col("seq") + 10_001).cast(pl.Int64), organization_id=ids.gather(t["acc"])
    )


def surveys_frame(
    am: pl.DataFrame, tickets: pl.DataFrame, ids: pl.Series, win: Window, seed: int
) -> pl.DataFrame:
    rng = stream(seed, "surveys")
    end_us = epoch_day(win.end_excl) * US_PER_DAY
    paid = am.filter(pl.col("paid")).with_columns(lam=pl.col("au") * 0.025)
    nps = explode(paid, poisson_counts(paid, "lam", rng)).select(
        "acc", "m", "lo", "span", "au", "eo"
    )
    n = nps.height
    nps = nps.with_columns(
        survey_type=pl.lit("nps"),
        created=timestamp(
            pl.col("lo") + (uniform(rng, n) * pl.col("span")).floor().cast(pl.Int64),
            (uniform(rng, n) * US_PER_DAY).cast(pl.Int64),
        ),
        user=(uniform(rng, n) * pl.col("au")).floor().cast(pl.Int64),
        score=(2.5 + 8.0 * pl.col("eo") + 1.7 * normal(rng, n)).round().clip(0, 10).cast(pl.Int64),
        u_twice=uniform(rng, n),
        u_when=uniform(rng, n),
        z_again=normal(rng, n),
    )
    # some respondents answer twice in the same month
    mend = pl.Series([epoch_day(d) for d in win.month_starts]).gather(nps["m"] + 1) * US_PER_DAY
    again = (
        nps.with_columns(mend=mend.clip(upper_bound=end_us))
        .filter(pl.col("u_twice") < 0.05)
        .with_columns(
            created=(
                pl.col("created").cast(pl.Int64)
                + (pl.col("u_when") * (pl.col("mend") - 1 - pl.col("created").cast(pl.Int64))).cast(
                    pl.Int64
                )
            ).cast(pl.Datetime("us")),
            score=(pl.col("score") + pl.col("z_again").round()).clip(0, 10).cast(pl.Int64),
        )
    )
    keep = ["acc", "user", "created", "survey_type", "score"]
    parts = [nps.select(keep), again.select(keep)]

    # CSAT and CES after solved tickets
    solved = tickets.filter(pl.col("solved_at").is_not_null())
    after = pl.col("solved_at").cast(pl.Int64) + (
        (0.1 + 20 * pl.col("u_stime")) * US_PER_HOUR
    ).cast(pl.Int64)
    slow = pl.when(pl.col("res_h") > 48).then(0.5).otherwise(0.0)
    csat = solved.filter(pl.col("u_csat") < 0.25).select(
        "acc",
        user=(pl.col("u_person") * pl.col("au")).floor().cast(pl.Int64),
        created=after.cast(pl.Datetime("us")),
        survey_type=pl.lit("csat"),
        score=(2.6 + 2.6 * pl.col("eo") + 0.9 * pl.col("z_csat") - slow)
        .round()
        .clip(1, 5)
        .cast(pl.Int64),
    )
    ces_t = solved.filter(pl.col("u_ces") < 0.08).select(
        "acc",
        user=(pl.col("u_person") * pl.col("au")).floor().cast(pl.Int64),
        created=after.cast(pl.Datetime("us")),
        survey_type=pl.lit("ces"),
        score=(2.6 + 4.0 * pl.col("eo") + 1.1 * pl.col("z_ces")).round().clip(1, 7).cast(pl.Int64),
    )
    # CES after onboarding (second month of the subscription)
    onb = am.filter(pl.col("paid") & (pl.col("age") == 1)).with_columns(lam=pl.lit(0.9))
    ces_o = explode(onb, poisson_counts(onb, "lam", rng))
    k = ces_o.height
    ces_o = ces_o.select(
        "acc",
        user=(uniform(rng, k) * pl.col("au")).floor().cast(pl.Int64),
        created=timestamp(
            pl.col("lo") + (uniform(rng, k) * pl.col("span")).floor().cast(pl.Int64),
            (uniform(rng, k) * US_PER_DAY).cast(pl.Int64),
        ),
        survey_type=pl.lit("ces"),
        score=(2.6 + 4.0 * pl.col("eo") + 1.1 * normal(rng, k)).round().clip(1, 7).cast(pl.Int64),
    )
    parts += [csat, ces_t, ces_o]
    s = pl.concat(parts).filter(pl.col("created").cast(pl.Int64) < end_us)
    s = s.sort("created", "acc", "user", "survey_type", "score", maintain_order=True)
    n = s.height
    scale = (
        pl.when(pl.col("survey_type") == "nps")
        .then(pl.when(pl.col("score") <= 6).then(0).when(pl.col("score") <= 8).then(1).otherwise(2))
        .when(pl.col("survey_type") == "csat")
        .then(pl.when(pl.col("score") <= 2).then(0).when(pl.col("score") == 3).then(1).otherwise(2))
        .otherwise(
            pl.when(pl.col("score") <= 3).then(0).when(pl.col("score") == 4).then(1).otherwise(2)
        )
    )
    comments = pl.Series(COMMENTS)
    s = s.with_columns(
        cidx=(scale * 6 + (uniform(rng, n) * 6).floor().clip(0, 5)).cast(pl.Int64),
        has=uniform(rng, n) < 0.35,
    )
    return s.select(
        person=user_id_of(pl.col("acc"), pl.col("user")),
        account=ids.gather(s["acc"]),
        created_at="created",
        survey_type="survey_type",
        score="score",
        comment=pl.when(pl.col("has")).then(comments.gather(s["cidx"])).otherwise(None),
    )


def activities_frame(am: pl.DataFrame, ids: pl.Series, seed: int) -> pl.DataFrame:
    rng = stream(seed, "activities")
    tier_base = pl.Series([0.35, 0.8, 1.6, 3.0]).gather(am["tier"])
    touch = pl.Series(list(OWNER_TOUCH)).gather(am["owner"])
    base = am.with_columns(
        lam=tier_base
        * touch
        * (0.15 + 1.3 * pl.col("eo"))
        * pl.col("frac")
        * pl.when(pl.col("paid")).then(1.0).otherwise(0.5)
        + pl.when(pl.col("paid") & (pl.col("age") <= 1)).then(1.5).otherwise(0.0)
    )
    a = explode(base, poisson_counts(base, "lam", rng))
    a = a.with_columns(
        kind=pick(uniform(rng, a.height), (("email", 0.5), ("call", 0.3), ("meeting", 0.2)))
    )
    # quarterly business reviews for larger accounts, references from happy ones
    qbr = am.filter(pl.col("paid") & (pl.col("tier") >= 2) & (pl.col("age") % 3 == 2))
    qbr = qbr.with_columns(u=uniform(rng, qbr.height)).filter(
        pl.col("u") < 0.35 + 0.55 * pl.col("eo")
    )
    paid = am.filter(pl.col("paid"))
    ref = paid.with_columns(u=uniform(rng, paid.height)).filter(
        (pl.col("eo") > 0.8) & (pl.col("u") < 0.03)
    )
    cols = ["acc", "lo", "span", "owner", "kind"]
    a = pl.concat(
        [
            a.select(cols),
            qbr.with_columns(kind=pl.lit("qbr")).select(cols),
            ref.with_columns(kind=pl.lit("reference")).select(cols),
        ]
    )
    n = a.height
    other = (pl.col("owner") + 1 + (uniform(rng, n) * 5).floor().cast(pl.Int64)) % len(OWNERS)
    a = a.with_columns(
        occurred=timestamp(
            pl.col("lo") + (uniform(rng, n) * pl.col("span")).floor().cast(pl.Int64),
            ((8 + 10 * uniform(rng, n)) * US_PER_HOUR).cast(pl.Int64),
        ),
        who=pl.when(uniform(rng, n) < 0.92).then(pl.col("owner")).otherwise(other),
    ).sort("occurred", "acc", "kind", "who", maintain_order=True)
    return a.select(
        account=ids.gather(a["acc"]),
        occurred_at="occurred",
        kind="kind",
        owner=pl.Series(list(OWNERS)).gather(a["who"]),
    )
