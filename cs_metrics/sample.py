"""Seeded, realistic synthetic exports for every source role (``csm sample``).

``generate()`` writes the files a B2B SaaS company would pull out of its systems, with the
column names those systems use (Stripe / Chargebee billing, Zendesk tickets, Delighted
surveys, Segment events), so a spec must map them to the canonical names (SPEC.md).
``sample_data/SOURCES.yaml`` holds that mapping for the default output.

The story behind the numbers
----------------------------
Every account has a latent *health* that drifts month to month (a mean-reverting random
walk around an account-specific level that itself drifts, plus occasional shocks such as
a champion leaving). Health drives what the exports show: active users and events,
tickets and their resolution time, survey scores, CSM touches, add-on purchases,
expansions and contractions. Churn is decided at each renewal point from the health of
the month before; most churners (not all) also disengage in the 1-3 months before they
leave. Some healthy-looking accounts churn anyway (acquired, went out of business) and
many accounts that dip recover, so a health score backtested on this data is useful but
not perfect.

Determinism: all randomness comes from :class:`random.Random` streams seeded with
``f"{seed}:{stream}"``; bulk random columns are drawn as bytes from those streams, rows are
sorted before writing, floats are written with a fixed precision, so the same seed gives
byte-identical files.

Usage events are generated with vectorised polars operations (one row per account-month,
exploded into events), so ``generate(accounts=50_000, months=36)`` takes seconds.
"""

from __future__ import annotations

import math
import random
from calendar import monthrange
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

import polars as pl
import pyarrow as pa

__all__ = ["ROLES", "generate"]

ROLES = (
    "accounts",
    "subscriptions",
    "invoices",
    "tickets",
    "surveys",
    "usage",
    "spend",
    "orders",
    "activities",
    "fx",
)

EPOCH = date(1970, 1, 1)
US_PER_DAY = 86_400 * 1_000_000
US_PER_HOUR = 3_600 * 1_000_000
CURRENCY = "USD"

TIERS = ("starter", "growth", "pro", "enterprise")
PER_SEAT_MONTHLY = (15.0, 29.0, 49.0, 89.0)  # list price per seat and month
TIER_SEATS = ((1, 5), (3, 25), (10, 80), (25, 600))
TIER_HEALTH = (-0.1, 0.0, 0.1, 0.25)
INTERVAL_MONTHS = {"month": 1, "quarter": 3, "year": 12}

REGIONS = ("NA", "EMEA", "APAC", "LATAM")
REGION_WEIGHTS = (0.5, 0.3, 0.15, 0.05)
INDUSTRIES = (
    "Software",
    "Fintech",
    "Healthcare",
    "Retail",
    "Education",
    "Manufacturing",
    "Media",
    "Logistics",
)
OWNERS = (
    "Ava Patel",
    "Ben Okafor",
    "Chloe Martin",
    "Diego Alvarez",
    "Emma Schmidt",
    "Farah Haddad",
)
OWNER_TOUCH = (1.2, 1.0, 0.75, 1.05, 0.9, 1.15)  # how attentive each CSM is

HEALTHY_REASONS = (
    "company acquired",
    "went out of business",
    "budget cuts",
    "switched to competitor",
)
UNHEALTHY_REASONS = (
    "low adoption",
    "missing features",
    "switched to competitor",
    "budget cuts",
    "poor support experience",
    "too expensive",
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

CHANNELS = (("google_ads", 0.34), ("linkedin_ads", 0.24), ("capterra", 0.12), ("content", 0.14))
EVENT_CHANNEL_SHARE = 0.16  # conferences: lumpy, a few weeks a year

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

_ADJ = (
    "Blue", "Bright", "Silver", "Northern", "Rapid", "Clear", "Golden", "Quiet", "Bold", "Green",
    "Summit", "Urban", "Prime", "Iron", "Coastal", "Crimson", "Swift", "Lunar", "Solar", "Cedar",
    "Maple", "Polar", "Vivid", "Noble", "Amber", "Atlas", "Granite", "Harbor", "Pioneer", "Velvet",
)  # fmt: skip
_NOUN = (
    "Harbor", "Peak", "River", "Forge", "Leaf", "Signal", "Bridge", "Canyon", "Field", "Orbit",
    "Pine", "Stone", "Wave", "Spark", "Arrow", "Beacon", "Crest", "Grove", "Falcon", "Meadow",
    "Anchor", "Compass", "Harvest", "Lantern", "Vertex", "Willow", "Quarry", "Ridge", "Tide", "Ember",
)  # fmt: skip
_SUFFIX = (
    "Labs", "Inc", "Systems", "Analytics", "Group", "Health", "Logistics", "Studio", "Partners",
    "Software", "Foods", "Capital", "Works", "Learning", "Media", "Retail",
)  # fmt: skip
_ID_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_ID_TABLE = bytes(ord(_ID_CHARS[b % 62]) for b in range(256))  # random byte -> base62 char


# --------------------------------------------------------------------------- helpers


def _ed(d: date) -> int:
    """Epoch day of a date."""
    return (d - EPOCH).days


@lru_cache(maxsize=65_536)
def _add_months(d: date, k: int) -> date:
    y, m = divmod(d.month - 1 + k, 12)
    y += d.year
    return date(y, m + 1, min(d.day, monthrange(y, m + 1)[1]))


def _anchor(d: date) -> date:
    """A billing anchor: days 29-31 move to the 1st of the next month (every period is then
    a whole number of calendar months, whatever the month lengths)."""
    return d if d.day <= 28 else _add_months(d.replace(day=1), 1)


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _stream(seed: int, name: str) -> random.Random:
    return random.Random(f"{seed}:{name}")


def _uniform(rng: random.Random, n: int) -> pl.Series:
    """n uniforms in (0, 1) drawn from ``rng`` in bulk (deterministic, no per-value loop)."""
    if n == 0:
        return pl.Series("u", [], dtype=pl.Float64)
    buf = pa.py_buffer(rng.randbytes(4 * n))
    raw = pl.from_arrow(pa.Array.from_buffers(pa.uint32(), n, [None, buf]))
    assert isinstance(raw, pl.Series)
    return ((raw.cast(pl.Float64) + 0.5) / 4_294_967_296.0).alias("u")


def _normal(rng: random.Random, n: int) -> pl.Series:
    """n standard normals (Box-Muller over two bulk uniform draws)."""
    u1, u2 = _uniform(rng, n), _uniform(rng, n)
    return ((-2.0 * u1.log()).sqrt() * (2.0 * math.pi * u2).cos()).alias("z")


def _poisson_counts(df: pl.DataFrame, lam: str, rng: random.Random) -> pl.Series:
    """Poisson counts for the ``lam`` column of ``df``: exact inversion of the CDF with one
    uniform per row for rates up to 12, a rounded normal approximation above."""
    n = df.height
    rate = df[lam].cast(pl.Float64).fill_null(0.0).clip(0.0)
    u, z = _uniform(rng, n), _normal(rng, n)
    small = rate.clip(upper_bound=12.0)
    p = (-small).exp()
    cdf = p
    count = pl.Series("n", [0] * n, dtype=pl.Int64) if n else pl.Series("n", [], dtype=pl.Int64)
    for k in range(1, 60):
        more = u > cdf
        if not more.any():
            break
        count = count + more.cast(pl.Int64)
        p = p * small / k
        cdf = cdf + p
    big = (rate + rate.sqrt() * z).round().clip(0.0).cast(pl.Int64)
    return pl.select(pl.when(rate <= 12.0).then(count).otherwise(big).alias("n")).to_series()


def _explode(df: pl.DataFrame, counts: pl.Series) -> pl.DataFrame:
    """Repeat each row of ``df`` counts[i] times (row order kept: row 0's copies first)."""
    return (
        df.with_columns(counts.alias("_n"))
        .filter(pl.col("_n") > 0)
        .with_columns(_k=pl.int_ranges(0, pl.col("_n")))
        .explode("_k")
        .drop("_n")
    )


def _pick(u: pl.Expr, choices: tuple[tuple[str, float], ...]) -> pl.Expr:
    """A categorical draw: the choice whose cumulative-weight bracket contains ``u``."""
    total = sum(w for _, w in choices)
    cum = 0.0
    expr = None
    for name, w in choices[:-1]:
        cum += w / total
        expr = (pl.when(u < cum) if expr is None else expr.when(u < cum)).then(pl.lit(name))
    last = pl.lit(choices[-1][0])
    return last if expr is None else expr.otherwise(last)


def _user_id(acc: pl.Expr, user: pl.Expr) -> pl.Expr:
    """An opaque, unique, numeric-looking user id (a bijection of account x user index)."""
    key = (acc * 10_000 + user).cast(pl.UInt64)
    return ((key * 2_654_435_761) % 4_294_967_296 + 1_000_000_000).cast(pl.String)


def _weighted(rng: random.Random, items: tuple, weights: tuple[float, ...]):
    x = rng.random() * sum(weights)
    for item, w in zip(items, weights, strict=True):
        x -= w
        if x < 0:
            return item
    return items[-1]


def _write_csv(df: pl.DataFrame, path: Path, *, float_precision: int = 2) -> Path:
    df.write_csv(
        path,
        float_precision=float_precision,
        date_format="%Y-%m-%d",
        datetime_format="%Y-%m-%d %H:%M:%S",
        null_value="",
    )
    return path


def _write_parquet(df: pl.DataFrame, path: Path) -> None:
    df.write_parquet(path, compression="zstd", statistics=True)


def _ts(day: pl.Expr, us_in_day: pl.Expr) -> pl.Expr:
    """A naive UTC timestamp from an epoch day and microseconds into that day."""
    return (day.cast(pl.Int64) * US_PER_DAY + us_in_day.cast(pl.Int64)).cast(pl.Datetime("us"))


# --------------------------------------------------------------------------- window


@dataclass(frozen=True)
class _Window:
    end: date
    months: int
    start: date = field(init=False)
    month_starts: tuple[date, ...] = field(init=False)  # months + 1 entries

    def __post_init__(self) -> None:
        if self.months < 1:
            raise ValueError("months must be >= 1")
        first = self.end.year * 12 + self.end.month - 1 - (self.months - 1)
        start = date(first // 12, first % 12 + 1, 1)
        object.__setattr__(self, "start", start)
        object.__setattr__(
            self, "month_starts", tuple(_add_months(start, i) for i in range(self.months + 1))
        )

    @property
    def end_excl(self) -> date:
        return self.end + timedelta(days=1)

    def month_of(self, d: date) -> int:
        return (d.year - self.start.year) * 12 + d.month - self.start.month


# --------------------------------------------------------------------------- lifecycle


@dataclass
class _Sim:
    accounts: dict[str, list] = field(default_factory=dict)
    subs: dict[str, list] = field(default_factory=dict)
    months: dict[str, list] = field(default_factory=dict)  # one row per account-month
    tax_rate: list[float] = field(default_factory=list)


def _company(rng: random.Random, taken: dict[str, int]) -> str:
    name = f"{rng.choice(_ADJ)} {rng.choice(_NOUN)} {rng.choice(_SUFFIX)}"
    k = taken.get(name, 0) + 1
    taken[name] = k
    return name if k == 1 else f"{name} {k}"


def _new_id(rng: random.Random, prefix: str, taken: set[str]) -> str:
    while True:
        x = prefix + rng.randbytes(14).translate(_ID_TABLE).decode("ascii")
        if x not in taken:
            taken.add(x)
            return x


def _price(tier: int, period: str) -> float:
    m = PER_SEAT_MONTHLY[tier]
    return {"month": m, "quarter": round(m * 3 * 0.95, 2), "year": m * 10}[period]


def _simulate(n_accounts: int, win: _Window, rng: random.Random) -> _Sim:
    rnd, gauss = rng.random, rng.gauss
    n_months = win.months
    ms_ed = [_ed(d) for d in win.month_starts]
    end, end_excl = win.end, win.end_excl
    end_excl_ed = _ed(end_excl)
    n_days = (end_excl - win.start).days
    growth = 1.0  # sign-ups at the end of the window are (1 + growth) x those at the start

    acc = {
        k: []
        for k in (
            "id", "company", "created_at", "trial_start", "trial_end", "onboarded_at", "plan",
            "region", "industry", "employees", "owner", "renewal_date", "churn_reason",
        )
    }  # fmt: skip
    subs = {
        k: []
        for k in (
            "subscription_id", "customer", "started_at", "ended_at", "price", "billing_period",
            "seats", "discount_amount", "currency", "plan_name", "_acc", "_kind",
        )
    }  # fmt: skip
    am = {k: [] for k in ("acc", "m", "lo", "hi", "e", "seats", "tier", "paid", "age", "owner")}
    tax_rate: list[float] = []
    names: dict[str, int] = {}
    ids: set[str] = set()

    def add_sub(i, sid, start, stop, price, period, seats, disc, plan, kind):
        subs["subscription_id"].append(sid)
        subs["customer"].append(acc["id"][i])
        subs["started_at"].append(start)
        subs["ended_at"].append(stop)
        subs["price"].append(price)
        subs["billing_period"].append(period)
        subs["seats"].append(seats)
        subs["discount_amount"].append(disc)
        subs["currency"].append(CURRENCY)
        subs["plan_name"].append(plan)
        subs["_acc"].append(i)
        subs["_kind"].append(kind)

    for i in range(n_accounts):
        # ---- who they are
        x = rnd()
        t = (math.sqrt(1 + (2 * growth + growth * growth) * x) - 1) / growth
        signup = win.start + timedelta(days=min(int(t * n_days), n_days - 1))
        employees = max(2, min(20_000, round(math.exp(gauss(3.3, 1.3)))))
        size = math.log(employees) + gauss(0, 0.7)
        tier = 0 if size < 2.9 else 1 if size < 4.3 else 2 if size < 5.9 else 3
        lo_s, hi_s = TIER_SEATS[tier]
        seats = max(lo_s, min(hi_s, round(employees * (0.1 + 0.5 * rnd())), 3 * employees))
        region = _weighted(rng, REGIONS, REGION_WEIGHTS)
        owner = rng.randrange(len(OWNERS))
        if tier == 3:
            period = "year" if rnd() < 0.75 else "quarter"
        elif tier == 2:
            period = _weighted(rng, ("month", "quarter", "year"), (0.5, 0.15, 0.35))
        elif tier == 1:
            period = _weighted(rng, ("month", "quarter", "year"), (0.75, 0.1, 0.15))
        else:
            period = "month" if rnd() < 0.95 else "quarter"
        disc_pct = _weighted(rng, (0.0, 0.1, 0.15, 0.2), (0.86, 0.05, 0.05, 0.04))
        if period == "year" and rnd() < 0.15:
            disc_pct = max(disc_pct, 0.1)
        fast_grower = rnd() < 0.2
        mu = 0.8 + TIER_HEALTH[tier] + 0.4 * (OWNER_TOUCH[owner] - 1) + gauss(0, 0.6)
        h0 = mu + gauss(0, 0.5)
        acc["id"].append(_new_id(rng, "cus_", ids))
        acc["company"].append(_company(rng, names))
        acc["created_at"].append(signup)
        acc["region"].append(region)
        acc["industry"].append(rng.choice(INDUSTRIES))
        acc["employees"].append(employees)
        acc["owner"].append(OWNERS[owner])
        if region == "EMEA":
            tax_rate.append(0.2)
        elif region == "NA" and rnd() < 0.4:
            tax_rate.append(0.0725)
        else:
            tax_rate.append(0.0)

        # ---- health path for every month from sign-up to the end of the window
        si = win.month_of(signup)
        h = []
        hv = h0
        for _ in range(si, n_months):
            mu += gauss(0, 0.06)
            hv += 0.2 * (mu - hv) + gauss(0, 0.3)
            if rnd() < 0.03:  # a shock: champion leaves, re-org, outage...
                hv -= 0.8 + 1.2 * rnd()
            h.append(hv)
        adj = [0.0] * len(h)

        # ---- trial, conversion, first paid day
        trial = tier < 3 and rnd() < 0.27
        paid_start: date | None
        sid = _new_id(rng, "sub_", ids)
        trial_start = trial_end = None
        if trial:
            trial_start = signup
            trial_end = signup + timedelta(days=30 if rnd() < 0.2 else 14)
            converted = rnd() < _sigmoid(1.4 * (h0 + gauss(0, 0.4)) - 0.6)
            delay = 0 if rnd() < 0.7 else rng.randint(1, 6)
            paid_start = _anchor(trial_end + timedelta(days=delay)) if converted else None
            if rnd() < 0.6:  # a $0 trial version in billing (else the trial is CRM-only)
                add_sub(i, sid, trial_start, trial_end, 0.0, "month", min(seats, 3), 0.0,
                        TIERS[tier], "trial")  # fmt: skip
        else:
            paid_start = signup + timedelta(days=rng.randint(0, 21))
            paid_start = _anchor(paid_start)
            if period == "year" and rnd() < 0.5:
                paid_start = _add_months(paid_start.replace(day=1), 1)
        acc["trial_start"].append(trial_start)
        acc["trial_end"].append(trial_end)

        # ---- paid lifecycle: versions, churn, reactivation
        versions: list[tuple[date, date | None, int, str, int, float]] = []
        first_churn: date | None = None
        churn_reason: str | None = None
        start = paid_start if paid_start is not None and paid_start <= end else None
        while start is not None:
            chain_from = len(versions)
            v_start, cur_tier, cur_period, cur_seats = start, tier, period, seats
            boundary = start
            churned_at = None
            while True:
                im = INTERVAL_MONTHS[cur_period]
                nxt = _add_months(boundary, im)
                if nxt > end:
                    versions.append((v_start, None, cur_tier, cur_period, cur_seats, disc_pct))
                    break
                j = max(win.month_of(nxt) - 1 - si, 0)
                hh = h[j]
                p_m = 0.002 + 0.085 * _sigmoid(-2.5 * hh)  # monthly churn hazard
                p_churn = 1 - (1 - p_m) ** im
                if cur_period == "year":
                    p_churn *= 0.55  # contracts renew more reliably
                p_exp = (
                    1 - (1 - 0.08 * _sigmoid(3 * (hh - 1.0)) * (2.5 if fast_grower else 1)) ** im
                )
                p_con = 1 - (1 - 0.035 * _sigmoid(-3 * (hh - 0.1))) ** im
                x = rnd()
                if x < p_churn:
                    versions.append((v_start, nxt, cur_tier, cur_period, cur_seats, disc_pct))
                    churned_at = nxt
                    churn_reason = (
                        rng.choice(HEALTHY_REASONS) if hh > 0.5 else rng.choice(UNHEALTHY_REASONS)
                    )
                    if rnd() < 0.12:
                        churn_reason = None  # reason not recorded
                    break
                x -= p_churn
                new = None
                if x < p_exp:  # expansion
                    if cur_tier < 3 and rnd() < 0.3:
                        new = (
                            cur_tier + 1,
                            cur_period,
                            max(cur_seats, TIER_SEATS[cur_tier + 1][0]),
                        )
                    else:
                        add = max(1, round(cur_seats * (0.1 + 0.5 * rnd())))
                        new = (cur_tier, cur_period, min(cur_seats + add, 5_000))
                    if new[1] == "month" and new[0] >= 1 and rnd() < 0.2:
                        new = (new[0], "year", new[2])  # moves to an annual contract
                elif x < p_exp + p_con:  # contraction
                    if cur_seats > 1 and (cur_tier == 0 or rnd() < 0.7):
                        cut = max(1, round(cur_seats * (0.1 + 0.3 * rnd())))
                        new = (cur_tier, cur_period, max(1, cur_seats - cut))
                    elif cur_tier > 0:
                        new = (cur_tier - 1, cur_period, cur_seats)
                if new is not None and new != (cur_tier, cur_period, cur_seats):
                    versions.append((v_start, nxt, cur_tier, cur_period, cur_seats, disc_pct))
                    v_start = nxt
                    cur_tier, cur_period, cur_seats = new
                boundary = nxt
            for v in versions[chain_from:]:
                add_sub(i, sid, v[0], v[1], _price(v[2], v[3]), v[3], v[4],
                        round(_price(v[2], v[3]) * v[4] * v[5], 2), TIERS[v[2]], "paid")  # fmt: skip
            tier, period, seats = cur_tier, cur_period, cur_seats
            start = None
            if churned_at is not None:
                if first_churn is None:
                    first_churn = churned_at
                m_churn = win.month_of(churned_at) - si
                if rnd() < 0.75:  # most churners disengage first, over 1-3 months
                    lead = rng.randint(1, 3)
                    depth = 0.7 + 1.0 * rnd()
                    for k in range(0, lead + 1):
                        if 0 <= m_churn - k < len(adj):
                            adj[m_churn - k] -= depth * min(1.0, (lead - k + 1) / lead)
                # win-back months later
                if (
                    churn_reason not in ("went out of business", "company acquired")
                    and rnd() < 0.22
                ):
                    back = _anchor(
                        _add_months(churned_at, rng.randint(2, 9))
                        + timedelta(days=rng.randint(0, 27))
                    )
                    if back <= end:
                        start = back
                        sid = _new_id(rng, "sub_", ids)
                        jb = win.month_of(back) - si
                        for k in range(jb, len(h)):
                            h[k] += 0.9
                        seats = max(TIER_SEATS[tier][0], round(seats * (0.5 + 0.5 * rnd())))
                        if tier == 3 and period == "month":
                            period = "year"
                        disc_pct = 0.2 if rnd() < 0.5 else 0.0
                        churn_reason = None

        # ---- a temporary service credit (a negative line netted against MRR)
        if versions and rnd() < 0.04:
            for v in versions:
                mrr = (_price(v[2], v[3]) * v[4] * (1 - v[5])) / INTERVAL_MONTHS[v[3]]
                stop = v[1] or end_excl
                n_cr = 2 if rnd() < 0.6 else 3
                room = (stop.year - v[0].year) * 12 + stop.month - v[0].month - n_cr
                if mrr >= 70 and room >= 0:
                    amount = 20.0 if mrr < 200 else 50.0 if mrr < 1000 else 100.0
                    c_start = _add_months(v[0], rng.randint(0, room))
                    c_stop = _add_months(c_start, n_cr)
                    if c_stop <= stop:
                        add_sub(i, _new_id(rng, "sub_", ids), c_start, c_stop, -amount, "month",
                                1, 0.0, "credit", "credit")  # fmt: skip
                    break

        # ---- CRM attributes that depend on the story
        paid_versions = versions
        if paid_versions:
            acc["plan"].append(TIERS[paid_versions[-1][2]])
        else:  # a trial that did not convert (yet), or a contract starting after the window
            acc["plan"].append("trial" if trial else TIERS[tier])
        onboarded = None
        if paid_versions:
            median = (14, 21, 30, 45)[paid_versions[0][2]]
            days = round(median * math.exp(gauss(0, 0.5) - 0.3 * (h0 - 0.8)))
            onboarded = paid_versions[0][0] + timedelta(days=max(1, days))
            if onboarded > end or (first_churn is not None and onboarded >= first_churn):
                onboarded = None
        acc["onboarded_at"].append(onboarded)
        renewal = None
        last = paid_versions[-1] if paid_versions else None
        if last is not None and last[1] is None:
            im = INTERVAL_MONTHS[last[3]]
            renewal = last[0]
            while renewal <= end:
                renewal = _add_months(renewal, im)
        acc["renewal_date"].append(renewal)
        active_at_end = last is not None and last[1] is None
        acc["churn_reason"].append(churn_reason if (paid_versions and not active_at_end) else None)

        # ---- one row per account-month with any coverage (trial or paid)
        rows: dict[int, list] = {}
        pieces: list[tuple[date, date, int, int, bool]] = []
        if trial_start is not None:
            pieces.append((trial_start, min(trial_end, end_excl), min(seats, 3), tier, False))
        for v in paid_versions:
            pieces.append((v[0], v[1] or end_excl, v[4], v[2], True))
        for a, b, p_seats, p_tier, paid in pieces:
            a_ed, b_ed = _ed(a), _ed(b)
            for m in range(win.month_of(a), win.month_of(b - timedelta(days=1)) + 1):
                lo, hi = max(ms_ed[m], a_ed), min(ms_ed[m + 1], b_ed, end_excl_ed)
                if lo >= hi:
                    continue
                row = rows.get(m)
                if row is None:
                    rows[m] = [lo, hi, p_seats, p_tier, paid]
                else:
                    row[0], row[1] = min(row[0], lo), max(row[1], hi)
                    if paid:
                        row[2], row[3], row[4] = p_seats, p_tier, True
        first_m = min(rows) if rows else 0
        for m in sorted(rows):
            lo, hi, p_seats, p_tier, paid = rows[m]
            j = m - si
            am["acc"].append(i)
            am["m"].append(m)
            am["lo"].append(lo)
            am["hi"].append(hi)
            am["e"].append(_sigmoid(h[j] + adj[j]) if paid else _sigmoid(h0))
            am["seats"].append(p_seats)
            am["tier"].append(p_tier)
            am["paid"].append(paid)
            am["age"].append(m - first_m)
            am["owner"].append(owner)

    return _Sim(accounts=acc, subs=subs, months=am, tax_rate=tax_rate)


# --------------------------------------------------------------------------- frames


def _accounts_frame(sim: _Sim) -> pl.DataFrame:
    a = sim.accounts
    return pl.DataFrame(
        {
            "id": a["id"],
            "company": a["company"],
            "created_at": pl.Series(a["created_at"], dtype=pl.Date),
            "trial_start": pl.Series(a["trial_start"], dtype=pl.Date),
            "trial_end": pl.Series(a["trial_end"], dtype=pl.Date),
            "onboarded_at": pl.Series(a["onboarded_at"], dtype=pl.Date),
            "plan": pl.Series(a["plan"], dtype=pl.String),
            "region": pl.Series(a["region"], dtype=pl.String),
            "industry": pl.Series(a["industry"], dtype=pl.String),
            "employees": pl.Series(a["employees"], dtype=pl.Int64),
            "owner": pl.Series(a["owner"], dtype=pl.String),
            "renewal_date": pl.Series(a["renewal_date"], dtype=pl.Date),
            "churn_reason": pl.Series(a["churn_reason"], dtype=pl.String),
        }
    ).sort("created_at", "id", maintain_order=True)


def _subs_frame(sim: _Sim) -> pl.DataFrame:
    s = sim.subs
    return pl.DataFrame(
        {
            "subscription_id": pl.Series(s["subscription_id"], dtype=pl.String),
            "customer": pl.Series(s["customer"], dtype=pl.String),
            "started_at": pl.Series(s["started_at"], dtype=pl.Date),
            "ended_at": pl.Series(s["ended_at"], dtype=pl.Date),
            "price": pl.Series(s["price"], dtype=pl.Float64),
            "billing_period": pl.Series(s["billing_period"], dtype=pl.String),
            "seats": pl.Series(s["seats"], dtype=pl.Int64),
            "discount_amount": pl.Series(s["discount_amount"], dtype=pl.Float64),
            "currency": pl.Series(s["currency"], dtype=pl.String),
            "plan_name": pl.Series(s["plan_name"], dtype=pl.String),
            "_acc": pl.Series(s["_acc"], dtype=pl.Int64),
            "_kind": pl.Series(s["_kind"], dtype=pl.String),
        }
    )


def _months_frame(sim: _Sim, seed: int) -> pl.DataFrame:
    """Account-months with the observable engagement and active users for that month."""
    m = sim.months
    df = pl.DataFrame(
        {
            "acc": pl.Series(m["acc"], dtype=pl.Int64),
            "m": pl.Series(m["m"], dtype=pl.Int64),
            "lo": pl.Series(m["lo"], dtype=pl.Int64),
            "hi": pl.Series(m["hi"], dtype=pl.Int64),
            "e": pl.Series(m["e"], dtype=pl.Float64),
            "seats": pl.Series(m["seats"], dtype=pl.Int64),
            "tier": pl.Series(m["tier"], dtype=pl.Int64),
            "paid": pl.Series(m["paid"], dtype=pl.Boolean),
            "age": pl.Series(m["age"], dtype=pl.Int64),
            "owner": pl.Series(m["owner"], dtype=pl.Int64),
        }
    )
    rng = _stream(seed, "months")
    n = df.height
    return df.with_columns(
        span=pl.col("hi") - pl.col("lo"),
        frac=(pl.col("hi") - pl.col("lo")) / 30.4,
        eo=(pl.col("e") + 0.08 * _normal(rng, n)).clip(0.02, 0.98),
        u_au=_uniform(rng, n),
    ).with_columns(
        au=(pl.col("seats") * (0.1 + 0.6 * pl.col("eo")) * (0.9 + 0.2 * pl.col("u_au")))
        .round()
        .cast(pl.Int64)
        .clip(1, pl.col("seats"))
    )


EVENT_NAMES = pl.Series("event_name", [name for name, _ in EVENTS], dtype=pl.String)


def _code(u: pl.Expr, weights: tuple[float, ...]) -> pl.Expr:
    """A categorical draw as an integer code: how many cumulative thresholds ``u`` passed."""
    total, cum, code = sum(weights), 0.0, pl.lit(0, pl.Int64)
    for w in weights[:-1]:
        cum += w / total
        code = code + (u >= cum).cast(pl.Int64)
    return code


def _usage_month(am_m: pl.DataFrame, ids: pl.Series, rng: random.Random) -> pl.DataFrame:
    """One month of Segment-like events: each account-month row exploded into its events."""
    base = am_m.select("acc", "lo", "span", "au", "eo").with_columns(
        lam=pl.col("au") * (0.6 + 4.4 * pl.col("eo")) * pl.col("span") / 30.4
    )
    ev = _explode(base, _poisson_counts(base, "lam", rng)).select("acc", "lo", "span", "au")
    n = ev.height
    us_in_day = ((_uniform(rng, n) + _uniform(rng, n)) / 2 * US_PER_DAY).cast(pl.Int64)
    ev = ev.select(
        "acc",
        ts=(
            (pl.col("lo") + (_uniform(rng, n) * pl.col("span")).cast(pl.Int64)) * US_PER_DAY
            + us_in_day
        )
        // 1000,
        user=(_uniform(rng, n).pow(1.6) * pl.col("au")).cast(pl.Int64),
        code=_code(_uniform(rng, n), tuple(w for _, w in EVENTS)),
        uv=_uniform(rng, n),
    ).sort("ts", maintain_order=True)  # stable: ties keep the (deterministic) generation order
    name = EVENT_NAMES.gather(ev["code"])
    return ev.select(
        account_id=ids.gather(ev["acc"]),
        user_id=_user_id(pl.col("acc"), pl.col("user")),
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


def _tickets(am: pl.DataFrame, ids: pl.Series, win: _Window, seed: int) -> pl.DataFrame:
    rng = _stream(seed, "tickets")
    onboarding = pl.when(pl.col("age") == 0).then(2.0).when(pl.col("age") == 1).then(1.4)
    base = am.with_columns(
        lam=(0.08 + 0.05 * pl.col("seats").sqrt())
        * (0.5 + 1.8 * (1 - pl.col("eo")))
        * pl.col("frac")
        * onboarding.otherwise(1.0)
        * pl.when(pl.col("paid")).then(1.0).otherwise(0.5)
    )
    t = _explode(base, _poisson_counts(base, "lam", rng)).select("acc", "lo", "span", "eo", "au")
    n = t.height
    end_us = _ed(win.end_excl) * US_PER_DAY
    ill = 1 - pl.col("eo")
    t = t.with_columns(
        day=pl.col("lo") + (_uniform(rng, n) * pl.col("span")).floor().cast(pl.Int64),
        us=((7 + 11 * _uniform(rng, n)) * US_PER_HOUR).cast(pl.Int64),
        via=_pick(
            _uniform(rng, n),
            (("email", 0.45), ("web", 0.3), ("chat", 0.15), ("api", 0.05), ("phone", 0.05)),
        ),
        fr_h=(math.log(2.0) + 0.9 * ill + 1.0 * _normal(rng, n)).exp(),
        res_h=(math.log(14.0) + 1.4 * ill + 1.1 * _normal(rng, n)).exp(),
        u_never=_uniform(rng, n),
        u_abandon=_uniform(rng, n),
        u_rep=_uniform(rng, n),
        u_reopen=_uniform(rng, n),
        u_status=_uniform(rng, n),
        u_sat=_uniform(rng, n),
        u_good=_uniform(rng, n),
        u_csat=_uniform(rng, n),
        u_ces=_uniform(rng, n),
        u_person=_uniform(rng, n),
        u_stime=_uniform(rng, n),
        z_csat=_normal(rng, n),
        z_ces=_normal(rng, n),
    )
    t = t.with_columns(
        created=_ts(pl.col("day"), pl.col("us")),
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


def _surveys(
    am: pl.DataFrame, tickets: pl.DataFrame, ids: pl.Series, win: _Window, seed: int
) -> pl.DataFrame:
    rng = _stream(seed, "surveys")
    end_us = _ed(win.end_excl) * US_PER_DAY
    paid = am.filter(pl.col("paid")).with_columns(lam=pl.col("au") * 0.025)
    nps = _explode(paid, _poisson_counts(paid, "lam", rng)).select(
        "acc", "m", "lo", "span", "au", "eo"
    )
    n = nps.height
    nps = nps.with_columns(
        survey_type=pl.lit("nps"),
        created=_ts(
            pl.col("lo") + (_uniform(rng, n) * pl.col("span")).floor().cast(pl.Int64),
            (_uniform(rng, n) * US_PER_DAY).cast(pl.Int64),
        ),
        user=(_uniform(rng, n) * pl.col("au")).floor().cast(pl.Int64),
        score=(2.5 + 8.0 * pl.col("eo") + 1.7 * _normal(rng, n)).round().clip(0, 10).cast(pl.Int64),
        u_twice=_uniform(rng, n),
        u_when=_uniform(rng, n),
        z_again=_normal(rng, n),
    )
    # some respondents answer twice in the same month
    mend = pl.Series([_ed(d) for d in win.month_starts]).gather(nps["m"] + 1) * US_PER_DAY
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
    ces_o = _explode(onb, _poisson_counts(onb, "lam", rng))
    k = ces_o.height
    ces_o = ces_o.select(
        "acc",
        user=(_uniform(rng, k) * pl.col("au")).floor().cast(pl.Int64),
        created=_ts(
            pl.col("lo") + (_uniform(rng, k) * pl.col("span")).floor().cast(pl.Int64),
            (_uniform(rng, k) * US_PER_DAY).cast(pl.Int64),
        ),
        survey_type=pl.lit("ces"),
        score=(2.6 + 4.0 * pl.col("eo") + 1.1 * _normal(rng, k)).round().clip(1, 7).cast(pl.Int64),
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
        cidx=(scale * 6 + (_uniform(rng, n) * 6).floor().clip(0, 5)).cast(pl.Int64),
        has=_uniform(rng, n) < 0.35,
    )
    return s.select(
        person=_user_id(pl.col("acc"), pl.col("user")),
        account=ids.gather(s["acc"]),
        created_at="created",
        survey_type="survey_type",
        score="score",
        comment=pl.when(pl.col("has")).then(comments.gather(s["cidx"])).otherwise(None),
    )


def _activities(am: pl.DataFrame, ids: pl.Series, seed: int) -> pl.DataFrame:
    rng = _stream(seed, "activities")
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
    a = _explode(base, _poisson_counts(base, "lam", rng))
    a = a.with_columns(
        kind=_pick(_uniform(rng, a.height), (("email", 0.5), ("call", 0.3), ("meeting", 0.2)))
    )
    # quarterly business reviews for larger accounts, references from happy ones
    qbr = am.filter(pl.col("paid") & (pl.col("tier") >= 2) & (pl.col("age") % 3 == 2))
    qbr = qbr.with_columns(u=_uniform(rng, qbr.height)).filter(
        pl.col("u") < 0.35 + 0.55 * pl.col("eo")
    )
    paid = am.filter(pl.col("paid"))
    ref = paid.with_columns(u=_uniform(rng, paid.height)).filter(
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
    other = (pl.col("owner") + 1 + (_uniform(rng, n) * 5).floor().cast(pl.Int64)) % len(OWNERS)
    a = a.with_columns(
        occurred=_ts(
            pl.col("lo") + (_uniform(rng, n) * pl.col("span")).floor().cast(pl.Int64),
            ((8 + 10 * _uniform(rng, n)) * US_PER_HOUR).cast(pl.Int64),
        ),
        who=pl.when(_uniform(rng, n) < 0.92).then(pl.col("owner")).otherwise(other),
    ).sort("occurred", "acc", "kind", "who", maintain_order=True)
    return a.select(
        account=ids.gather(a["acc"]),
        occurred_at="occurred",
        kind="kind",
        owner=pl.Series(list(OWNERS)).gather(a["who"]),
    )


def _orders(am: pl.DataFrame, ids: pl.Series, seed: int) -> pl.DataFrame:
    rng = _stream(seed, "orders")
    paid = am.filter(pl.col("paid"))
    base = paid.with_columns(
        lam=0.012 * (1 + pl.col("tier")) * (0.5 + pl.col("eo")) * pl.col("frac")
        + pl.when(pl.col("age") == 0).then(0.3 + 0.1 * pl.col("tier")).otherwise(0.0)
    )
    o = _explode(base, _poisson_counts(base, "lam", rng))
    n = o.height
    # onboarding packages in the first month, else training / storage / migration add-ons
    price = pl.Series([500.0, 1500.0, 3500.0, 7500.0]).gather(o["tier"])
    addon = pl.Series([99.0, 450.0, 1200.0, 2400.0])
    o = o.with_columns(
        u_kind=_uniform(rng, n),
        u_amt=_uniform(rng, n),
        day=pl.col("lo")
        + (_uniform(rng, n) * pl.col("span").clip(upper_bound=10)).floor().cast(pl.Int64),
        day2=pl.col("lo") + (_uniform(rng, n) * pl.col("span")).floor().cast(pl.Int64),
        us=((8 + 10 * _uniform(rng, n)) * US_PER_HOUR).cast(pl.Int64),
        first=(pl.col("age") == 0) & (pl.col("_k") == 0),
    )
    o = o.with_columns(
        total=pl.when(pl.col("first"))
        .then(price)
        .otherwise(
            addon.gather((o["u_kind"] * 4).floor().cast(pl.Int64).clip(0, 3))
            * (1 + pl.col("tier") * 0.5)
            * (1 + (pl.col("u_amt") * 4).floor())
        ),
        ordered=_ts(
            pl.when(pl.col("first")).then(pl.col("day")).otherwise(pl.col("day2")), pl.col("us")
        ),
    ).sort("ordered", "acc", "total", maintain_order=True)
    return o.with_row_index("seq").select(
        order_id=pl.format("ord_{}", (pl.col("seq") + 100_001).cast(pl.String)),
        customer_id=ids.gather(o["acc"]),
        ordered_at="ordered",
        total="total",
        _acc="acc",
    )


def _invoices(
    subs: pl.DataFrame, orders: pl.DataFrame, tax_rate: list[float], win: _Window, seed: int
) -> pl.DataFrame:
    """Invoice lines consistent with the subscriptions: one line per billing period (each a
    whole number of calendar months), $0 lines for trials, tax lines, one-off lines for the
    orders and a couple of refunds."""
    rng = _stream(seed, "invoices")
    end_ed = _ed(win.end)
    im = pl.col("billing_period").replace_strict(INTERVAL_MONTHS, return_dtype=pl.Int64)
    s = subs.with_columns(
        im=im,
        stop=pl.coalesce(pl.col("ended_at"), pl.lit(win.end_excl + timedelta(days=400))),
        m0=pl.col("started_at").dt.year().cast(pl.Int64) * 12 + pl.col("started_at").dt.month() - 1,
        d0=pl.col("started_at").dt.day(),
    )
    trial = s.filter(pl.col("_kind") == "trial").with_columns(
        ps=pl.col("started_at"), pe=pl.col("ended_at")
    )
    rec = s.filter(pl.col("_kind") != "trial")
    # periods starting on or before the end of the window, and before the version stops
    mstop = pl.col("stop").dt.year().cast(pl.Int64) * 12 + pl.col("stop").dt.month() - 1
    mend = win.end.year * 12 + win.end.month - 1
    months_to_stop = (
        mstop - pl.col("m0") + pl.when(pl.col("stop").dt.day() > pl.col("d0")).then(1).otherwise(0)
    )
    months_to_end = mend - pl.col("m0") + pl.when(pl.col("d0") <= win.end.day).then(1).otherwise(0)
    rec = rec.with_columns(
        n=pl.min_horizontal(
            (months_to_stop + pl.col("im") - 1) // pl.col("im"),
            (months_to_end + pl.col("im") - 1) // pl.col("im"),
        ).clip(0)
    )
    rec = _explode(rec, rec["n"]).with_columns(
        a=pl.col("m0") + pl.col("_k") * pl.col("im"),
        b=pl.col("m0") + (pl.col("_k") + 1) * pl.col("im"),
    )
    rec = rec.with_columns(
        ps=pl.date(pl.col("a") // 12, pl.col("a") % 12 + 1, pl.col("d0")),
        pe=pl.date(pl.col("b") // 12, pl.col("b") % 12 + 1, pl.col("d0")),
    ).filter(pl.col("ps").cast(pl.Int64) <= end_ed)
    cols = ["_acc", "customer", "ps", "pe", "amount", "line_kind", "discount"]
    lines = pl.concat(
        [
            x.with_columns(
                amount=(pl.col("price") * pl.col("seats")).round(2),
                line_kind=pl.lit("subscription"),
                discount=pl.col("discount_amount"),
            ).select(cols)
            for x in (trial, rec)
        ]
    )
    taxes = pl.Series(tax_rate, dtype=pl.Float64)
    tax = (
        lines.with_columns(rate=taxes.gather(lines["_acc"]))
        .filter((pl.col("rate") > 0) & (pl.col("amount") > 0))
        .with_columns(
            amount=((pl.col("amount") - pl.col("discount")) * pl.col("rate")).round(2),
            line_kind=pl.lit("tax"),
            discount=pl.lit(0.0),
        )
        .select(cols)
    )
    one_off = orders.select(
        "_acc",
        customer=pl.col("customer_id"),
        ps=pl.col("ordered_at").dt.date(),
        pe=pl.col("ordered_at").dt.date() + pl.duration(days=1),
        amount=pl.col("total"),
        line_kind=pl.lit("one_time"),
        discount=pl.lit(0.0),
    )
    paid_lines = lines.filter(pl.col("amount") > 0).sort(
        "ps", "customer", "pe", "amount", maintain_order=True
    )
    n_ref = min(paid_lines.height, max(2, len(tax_rate) // 120))
    picks = sorted(rng.sample(range(paid_lines.height), n_ref)) if n_ref else []
    refunds = (
        paid_lines.with_row_index("_i")
        .filter(pl.col("_i").is_in(picks))
        .with_columns(
            amount=-(pl.col("amount") - pl.col("discount")).round(2),
            line_kind=pl.lit("refund"),
            discount=pl.lit(0.0),
        )
        .select(cols)
    )
    if refunds.height >= 2:  # one of them partial
        refunds = refunds.with_columns(
            amount=pl.when(pl.int_range(pl.len()) == 0)
            .then((pl.col("amount") / 2).round(2))
            .otherwise(pl.col("amount"))
        )
    kind_order = {"subscription": 0, "tax": 1, "one_time": 2, "refund": 3}
    all_lines = pl.concat([lines, tax, one_off, refunds]).with_columns(
        ko=pl.col("line_kind").replace_strict(kind_order, return_dtype=pl.Int64)
    )
    # one invoice per customer and issue day; refunds are credit notes of their own
    all_lines = all_lines.sort(
        "ps", "customer", "ko", "pe", "amount", "discount", maintain_order=True
    )
    key = (
        pl.col("ps").cast(pl.Int64).cast(pl.String)
        + "|"
        + pl.col("customer")
        + "|"
        + (pl.col("line_kind") == "refund").cast(pl.String)
    )
    all_lines = all_lines.with_columns(inv=key.rle_id() + 1)
    return all_lines.select(
        invoice_id=pl.format("in_{}", (pl.col("inv") + 1_000_000).cast(pl.String)),
        customer_id="customer",
        line_period_start="ps",
        line_period_end="pe",
        amount="amount",
        line_kind="line_kind",
        discount="discount",
        currency=pl.lit(CURRENCY),
    )


def _spend(n_accounts: int, win: _Window, seed: int) -> pl.DataFrame:
    rng = _stream(seed, "spend")
    n_days = (win.end_excl - win.start).days
    day = win.start + timedelta(days=(7 - win.start.weekday()) % 7)  # first Monday
    rows: dict[str, list] = {"day": [], "channel": [], "cost": []}
    cac = 6000.0  # blended acquisition cost per sign-up
    while day <= win.end:
        t = (day - win.start).days / n_days
        expected = n_accounts * (1 + 1.0 * t) / 1.5 * 7 / n_days  # sign-ups this week
        for channel, share in CHANNELS:
            rows["day"].append(day)
            rows["channel"].append(channel)
            rows["cost"].append(round(expected * cac * share * math.exp(rng.gauss(0, 0.25)), 2))
        if rng.random() < 4 / 52:  # a conference
            rows["day"].append(day)
            rows["channel"].append("events")
            rows["cost"].append(
                round(
                    expected * cac * EVENT_CHANNEL_SHARE * 52 / 4 * math.exp(rng.gauss(0, 0.3)), 2
                )
            )
        day += timedelta(days=7)
    return pl.DataFrame(
        rows, schema={"day": pl.Date, "channel": pl.String, "cost": pl.Float64}
    ).sort("day", "channel", maintain_order=True)


def _fx(win: _Window, seed: int) -> pl.DataFrame:
    rng = _stream(seed, "fx")
    rows: dict[str, list] = {"currency": [], "rate": [], "date": []}
    eur, gbp = 1.08, 1.27
    for d in win.month_starts[:-1]:
        for cur, rate in (("EUR", eur), ("GBP", gbp), ("USD", 1.0)):
            rows["currency"].append(cur)
            rows["rate"].append(round(rate, 4))
            rows["date"].append(d)
        eur *= math.exp(rng.gauss(0, 0.015))
        gbp *= math.exp(rng.gauss(0, 0.013))
    return pl.DataFrame(rows, schema={"currency": pl.String, "rate": pl.Float64, "date": pl.Date})


# --------------------------------------------------------------------------- entry point


def generate(
    out_dir: Path,
    *,
    accounts: int = 300,
    months: int = 24,
    seed: int = 7,
    end: date = date(2026, 10, 31),
) -> dict[str, list[Path]]:
    """Write a synthetic export for every source role into ``out_dir``.

    The data covers the ``months`` calendar months ending at ``end`` (accounts sign up
    inside that window; scheduled dates such as renewals and open billing periods may lie
    after it). Returns role -> the files written. Same arguments, same bytes.
    """
    if accounts < 1:
        raise ValueError("accounts must be >= 1")
    out_dir = Path(out_dir)
    win = _Window(end, months)
    out_dir.mkdir(parents=True, exist_ok=True)
    usage_dir = out_dir / "usage"
    usage_dir.mkdir(exist_ok=True)
    for old in sorted(usage_dir.glob("events-*.parquet")):
        old.unlink()  # a re-run with another window must not leave stale months behind

    sim = _simulate(accounts, win, _stream(seed, "lifecycle"))
    ids = pl.Series("id", sim.accounts["id"], dtype=pl.String)
    am = _months_frame(sim, seed)
    subs = _subs_frame(sim)
    written: dict[str, list[Path]] = {}

    written["accounts"] = [_write_csv(_accounts_frame(sim), out_dir / "accounts.csv")]
    public_subs = subs.sort(
        "started_at", "customer", "subscription_id", "price", maintain_order=True
    ).drop("_acc", "_kind")
    written["subscriptions"] = [_write_csv(public_subs, out_dir / "subscriptions.csv")]

    orders = _orders(am, ids, seed)
    invoices = _invoices(subs, orders, sim.tax_rate, win, seed)
    written["invoices"] = [_write_csv(invoices, out_dir / "invoices.csv")]
    written["orders"] = [_write_csv(orders.drop("_acc"), out_dir / "orders.csv")]

    tickets = _tickets(am, ids, win, seed)
    ticket_cols = [
        "id", "organization_id", "created", "first_reply_at", "solved_at", "replies", "reopens",
        "status", "via", "satisfaction_rating",
    ]  # fmt: skip
    written["tickets"] = [_write_csv(tickets.select(ticket_cols), out_dir / "tickets.csv")]
    written["surveys"] = [
        _write_csv(_surveys(am, tickets, ids, win, seed), out_dir / "surveys.csv")
    ]
    written["activities"] = [_write_csv(_activities(am, ids, seed), out_dir / "activities.csv")]
    written["spend"] = [_write_csv(_spend(accounts, win, seed), out_dir / "spend.csv")]
    written["fx"] = [_write_csv(_fx(win, seed), out_dir / "fx.csv", float_precision=4)]

    # Months are generated in order from one stream (so the bytes never depend on timing);
    # writing a month's file overlaps with generating the next one.
    rng = _stream(seed, "usage")
    usage_files: list[Path] = []
    by_month = am.partition_by("m", as_dict=True, maintain_order=True)
    with ThreadPoolExecutor(max_workers=2) as pool:
        pending: list[Future] = []
        for m, start in enumerate(win.month_starts[:-1]):
            events = _usage_month(by_month.get((m,), am.clear()), ids, rng)
            path = usage_dir / f"events-{start:%Y-%m}.parquet"
            pending.append(pool.submit(_write_parquet, events, path))
            usage_files.append(path)
            while len(pending) > 2:  # bound the memory held by months in flight
                pending.pop(0).result()
        for fut in pending:
            fut.result()
    written["usage"] = usage_files
    return {role: written[role] for role in ROLES}


if __name__ == "__main__":  # python -m cs_metrics.sample [OUT_DIR]: regenerate the sample
    import sys

    generate(Path(sys.argv[1] if len(sys.argv) > 1 else "sample_data"))
