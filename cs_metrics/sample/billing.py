"""Money: invoice lines consistent with the subscriptions, add-on orders, marketing spend
and fx rates."""

from __future__ import annotations

import math
from datetime import timedelta

import polars as pl

from cs_metrics.sample.base import (
    CURRENCY,
    INTERVAL_MONTHS,
    US_PER_HOUR,
    Window,
    epoch_day,
    explode,
    poisson_counts,
    stream,
    timestamp,
    uniform,
)

CHANNELS = (("google_ads", 0.34), ("linkedin_ads", 0.24), ("capterra", 0.12), ("content", 0.14))
EVENT_CHANNEL_SHARE = 0.16  # conferences: lumpy, a few weeks a year


def orders_frame(am: pl.DataFrame, ids: pl.Series, seed: int) -> pl.DataFrame:
    rng = stream(seed, "orders")
    paid = am.filter(pl.col("paid"))
    base = paid.with_columns(
        lam=0.012 * (1 + pl.col("tier")) * (0.5 + pl.col("eo")) * pl.col("frac")
        + pl.when(pl.col("age") == 0).then(0.3 + 0.1 * pl.col("tier")).otherwise(0.0)
    )
    o = explode(base, poisson_counts(base, "lam", rng))
    n = o.height
    # onboarding packages in the first month, else training / storage / migration add-ons
    price = pl.Series([500.0, 1500.0, 3500.0, 7500.0]).gather(o["tier"])
    addon = pl.Series([99.0, 450.0, 1200.0, 2400.0])
    o = o.with_columns(
        u_kind=uniform(rng, n),
        u_amt=uniform(rng, n),
        day=pl.col("lo")
        + (uniform(rng, n) * pl.col("span").clip(upper_bound=10)).floor().cast(pl.Int64),
        day2=pl.col("lo") + (uniform(rng, n) * pl.col("span")).floor().cast(pl.Int64),
        us=((8 + 10 * uniform(rng, n)) * US_PER_HOUR).cast(pl.Int64),
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
        ordered=timestamp(
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


def invoices_frame(
    subs: pl.DataFrame, orders: pl.DataFrame, tax_rate: list[float], win: Window, seed: int
) -> pl.DataFrame:
    """Invoice lines consistent with the subscriptions: one line per billing period (each a
    whole number of calendar months), $0 lines for trials, tax lines, one-off lines for the
    orders and a couple of refunds."""
    rng = stream(seed, "invoices")
    end_ed = epoch_day(win.end)
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
    rec = explode(rec, rec["n"]).with_columns(
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


def spend_frame(n_accounts: int, win: Window, seed: int) -> pl.DataFrame:
    rng = stream(seed, "spend")
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


def fx_frame(win: Window, seed: int) -> pl.DataFrame:
    rng = stream(seed, "fx")
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
