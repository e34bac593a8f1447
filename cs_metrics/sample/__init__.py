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

The package: ``lifecycle`` simulates the accounts (accounts, subscriptions, account-months),
``activity`` draws what they do (usage, tickets, surveys, activities), ``billing`` the money
(invoices, orders, spend, fx); ``base`` holds what they share. This module writes the files.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date
from pathlib import Path

import polars as pl

from cs_metrics.sample.activity import activities_frame, surveys_frame, tickets_frame, usage_month
from cs_metrics.sample.base import Window, stream
from cs_metrics.sample.billing import fx_frame, invoices_frame, orders_frame, spend_frame
from cs_metrics.sample.lifecycle import accounts_frame, months_frame, simulate, subs_frame

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
    win = Window(end, months)
    out_dir.mkdir(parents=True, exist_ok=True)
    usage_dir = out_dir / "usage"
    usage_dir.mkdir(exist_ok=True)
    for old in sorted(usage_dir.glob("events-*.parquet")):
        old.unlink()  # a re-run with another window must not leave stale months behind

    sim = simulate(accounts, win, stream(seed, "lifecycle"))
    ids = pl.Series("id", sim.accounts["id"], dtype=pl.String)
    am = months_frame(sim, seed)
    subs = subs_frame(sim)
    written: dict[str, list[Path]] = {}

    written["accounts"] = [_write_csv(accounts_frame(sim), out_dir / "accounts.csv")]
    public_subs = subs.sort(
        "started_at", "customer", "subscription_id", "price", maintain_order=True
    ).drop("_acc", "_kind")
    written["subscriptions"] = [_write_csv(public_subs, out_dir / "subscriptions.csv")]

    orders = orders_frame(am, ids, seed)
    invoices = invoices_frame(subs, orders, sim.tax_rate, win, seed)
    written["invoices"] = [_write_csv(invoices, out_dir / "invoices.csv")]
    written["orders"] = [_write_csv(orders.drop("_acc"), out_dir / "orders.csv")]

    tickets = tickets_frame(am, ids, win, seed)
    ticket_cols = [
        "id", "organization_id", "created", "first_reply_at", "solved_at", "replies", "reopens",
        "status", "via", "satisfaction_rating",
    ]  # fmt: skip
    written["tickets"] = [_write_csv(tickets.select(ticket_cols), out_dir / "tickets.csv")]
    written["surveys"] = [
        _write_csv(surveys_frame(am, tickets, ids, win, seed), out_dir / "surveys.csv")
    ]
    written["activities"] = [
        _write_csv(activities_frame(am, ids, seed), out_dir / "activities.csv")
    ]
    written["spend"] = [_write_csv(spend_frame(accounts, win, seed), out_dir / "spend.csv")]
    written["fx"] = [_write_csv(fx_frame(win, seed), out_dir / "fx.csv", float_precision=4)]

    # Months are generated in order from one stream (so the bytes never depend on timing);
    # writing a month's file overlaps with generating the next one.
    rng = stream(seed, "usage")
    usage_files: list[Path] = []
    by_month = am.partition_by("m", as_dict=True, maintain_order=True)
    with ThreadPoolExecutor(max_workers=2) as pool:
        pending: list[Future] = []
        for m, start in enumerate(win.month_starts[:-1]):
            events = usage_month(by_month.get((m,), am.clear()), ids, rng)
            path = usage_dir / f"events-{start:%Y-%m}.parquet"
            pending.append(pool.submit(_write_parquet, events, path))
            usage_files.append(path)
            while len(pending) > 2:  # bound the memory held by months in flight
                pending.pop(0).result()
        for fut in pending:
            fut.result()
    written["usage"] = usage_files
    return {role: written[role] for role in ROLES}
