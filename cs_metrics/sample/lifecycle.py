"""The accounts' story: sign-up, trial, plan, latent health month by month, expansions,
contractions and churn at renewal (accounts, subscriptions and the account-months every
other export is drawn from)."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date, timedelta

import polars as pl

from cs_metrics.sample.base import (
    CURRENCY,
    INTERVAL_MONTHS,
    OWNER_TOUCH,
    OWNERS,
    Window,
    add_months,
    anchor,
    epoch_day,
    normal,
    sigmoid,
    stream,
    uniform,
    weighted,
)

TIERS = ("starter", "growth", "pro", "enterprise")
PER_SEAT_MONTHLY = (15.0, 29.0, 49.0, 89.0)  # list price per seat and month
TIER_SEATS = ((1, 5), (3, 25), (10, 80), (25, 600))
TIER_HEALTH = (-0.1, 0.0, 0.1, 0.25)

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


def simulate(n_accounts: int, win: Window, rng: random.Random) -> _Sim:
    rnd, gauss = rng.random, rng.gauss
    n_months = win.months
    ms_ed = [epoch_day(d) for d in win.month_starts]
    end, end_excl = win.end, win.end_excl
    end_excl_ed = epoch_day(end_excl)
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
        region = weighted(rng, REGIONS, REGION_WEIGHTS)
        owner = rng.randrange(len(OWNERS))
        if tier == 3:
            period = "year" if rnd() < 0.75 else "quarter"
        elif tier == 2:
            period = weighted(rng, ("month", "quarter", "year"), (0.5, 0.15, 0.35))
        elif tier == 1:
            period = weighted(rng, ("month", "quarter", "year"), (0.75, 0.1, 0.15))
        else:
            period = "month" if rnd() < 0.95 else "quarter"
        disc_pct = weighted(rng, (0.0, 0.1, 0.15, 0.2), (0.86, 0.05, 0.05, 0.04))
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
            converted = rnd() < sigmoid(1.4 * (h0 + gauss(0, 0.4)) - 0.6)
            delay = 0 if rnd() < 0.7 else rng.randint(1, 6)
            paid_start = anchor(trial_end + timedelta(days=delay)) if converted else None
            if rnd() < 0.6:  # a $0 trial version in billing (else the trial is CRM-only)
                add_sub(i, sid, trial_start, trial_end, 0.0, "month", min(seats, 3), 0.0,
                        TIERS[tier], "trial")  # fmt: skip
        else:
            paid_start = signup + timedelta(days=rng.randint(0, 21))
            paid_start = anchor(paid_start)
            if period == "year" and rnd() < 0.5:
                paid_start = add_months(paid_start.replace(day=1), 1)
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
                nxt = add_months(boundary, im)
                if nxt > end:
                    versions.append((v_start, None, cur_tier, cur_period, cur_seats, disc_pct))
                    break
                j = max(win.month_of(nxt) - 1 - si, 0)
                hh = h[j]
                p_m = 0.002 + 0.085 * sigmoid(-2.5 * hh)  # monthly churn hazard
                p_churn = 1 - (1 - p_m) ** im
                if cur_period == "year":
                    p_churn *= 0.55  # contracts renew more reliably
                p_exp = 1 - (1 - 0.08 * sigmoid(3 * (hh - 1.0)) * (2.5 if fast_grower else 1)) ** im
                p_con = 1 - (1 - 0.035 * sigmoid(-3 * (hh - 0.1))) ** im
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
                    back = anchor(
                        add_months(churned_at, rng.randint(2, 9))
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
                    c_start = add_months(v[0], rng.randint(0, room))
                    c_stop = add_months(c_start, n_cr)
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
                renewal = add_months(renewal, im)
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
            a_ed, b_ed = epoch_day(a), epoch_day(b)
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
            am["e"].append(sigmoid(h[j] + adj[j]) if paid else sigmoid(h0))
            am["seats"].append(p_seats)
            am["tier"].append(p_tier)
            am["paid"].append(paid)
            am["age"].append(m - first_m)
            am["owner"].append(owner)

    return _Sim(accounts=acc, subs=subs, months=am, tax_rate=tax_rate)


def accounts_frame(sim: _Sim) -> pl.DataFrame:
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


def subs_frame(sim: _Sim) -> pl.DataFrame:
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


def months_frame(sim: _Sim, seed: int) -> pl.DataFrame:
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
    rng = stream(seed, "months")
    n = df.height
    return df.with_columns(
        span=pl.col("hi") - pl.col("lo"),
        frac=(pl.col("hi") - pl.col("lo")) / 30.4,
        eo=(pl.col("e") + 0.08 * normal(rng, n)).clip(0.02, 0.98),
        u_au=uniform(rng, n),
    ).with_columns(
        au=(pl.col("seats") * (0.1 + 0.6 * pl.col("eo")) * (0.9 + 0.2 * pl.col("u_au")))
        .round()
        .cast(pl.Int64)
        .clip(1, pl.col("seats"))
    )
