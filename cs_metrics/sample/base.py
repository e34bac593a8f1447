"""What every generator of the sample shares: the window, seeded random streams and
vectorised draws, and the constants more than one export uses."""

from __future__ import annotations

import math
import random
from calendar import monthrange
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache

import polars as pl
import pyarrow as pa

EPOCH = date(1970, 1, 1)
US_PER_DAY = 86_400 * 1_000_000
US_PER_HOUR = 3_600 * 1_000_000
CURRENCY = "USD"

INTERVAL_MONTHS = {"month": 1, "quarter": 3, "year": 12}


OWNERS = (
    "Ava Patel",
    "Ben Okafor",
    "Chloe Martin",
    "Diego Alvarez",
    "Emma Schmidt",
    "Farah Haddad",
)
OWNER_TOUCH = (1.2, 1.0, 0.75, 1.05, 0.9, 1.15)  # how attentive each CSM is


def epoch_day(d: date) -> int:
    """Epoch day of a date."""
    return (d - EPOCH).days


@lru_cache(maxsize=65_536)
def add_months(d: date, k: int) -> date:
    y, m = divmod(d.month - 1 + k, 12)
    y += d.year
    return date(y, m + 1, min(d.day, monthrange(y, m + 1)[1]))


def anchor(d: date) -> date:
    """A billing anchor: days 29-31 move to the 1st of the next month (every period is then
    a whole number of calendar months, whatever the month lengths)."""
    return d if d.day <= 28 else add_months(d.replace(day=1), 1)


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def stream(seed: int, name: str) -> random.Random:
    return random.Random(f"{seed}:{name}")


def uniform(rng: random.Random, n: int) -> pl.Series:
    """n uniforms in (0, 1) drawn from ``rng`` in bulk (deterministic, no per-value loop)."""
    if n == 0:
        return pl.Series("u", [], dtype=pl.Float64)
    buf = pa.py_buffer(rng.randbytes(4 * n))
    raw = pl.from_arrow(pa.Array.from_buffers(pa.uint32(), n, [None, buf]))
    assert isinstance(raw, pl.Series)
    return ((raw.cast(pl.Float64) + 0.5) / 4_294_967_296.0).alias("u")


def normal(rng: random.Random, n: int) -> pl.Series:
    """n standard normals (Box-Muller over two bulk uniform draws)."""
    u1, u2 = uniform(rng, n), uniform(rng, n)
    return ((-2.0 * u1.log()).sqrt() * (2.0 * math.pi * u2).cos()).alias("z")


def poisson_counts(df: pl.DataFrame, lam: str, rng: random.Random) -> pl.Series:
    """Poisson counts for the ``lam`` column of ``df``: exact inversion of the CDF with one
    uniform per row for rates up to 12, a rounded normal approximation above."""
    n = df.height
    rate = df[lam].cast(pl.Float64).fill_null(0.0).clip(0.0)
    u, z = uniform(rng, n), normal(rng, n)
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


def explode(df: pl.DataFrame, counts: pl.Series) -> pl.DataFrame:
    """Repeat each row of ``df`` counts[i] times (row order kept: row 0's copies first)."""
    return (
        df.with_columns(counts.alias("_n"))
        .filter(pl.col("_n") > 0)
        .with_columns(_k=pl.int_ranges(0, pl.col("_n")))
        .explode("_k")
        .drop("_n")
    )


def pick(u: pl.Expr, choices: tuple[tuple[str, float], ...]) -> pl.Expr:
    """A categorical draw: the choice whose cumulative-weight bracket contains ``u``."""
    total = sum(w for _, w in choices)
    cum = 0.0
    expr = None
    for name, w in choices[:-1]:
        cum += w / total
        expr = (pl.when(u < cum) if expr is None else expr.when(u < cum)).then(pl.lit(name))
    last = pl.lit(choices[-1][0])
    return last if expr is None else expr.otherwise(last)


def user_id_of(acc: pl.Expr, user: pl.Expr) -> pl.Expr:
    """An opaque, unique, numeric-looking user id (a bijection of account x user index)."""
    key = (acc * 10_000 + user).cast(pl.UInt64)
    return ((key * 2_654_435_761) % 4_294_967_296 + 1_000_000_000).cast(pl.String)


def weighted(rng: random.Random, items: tuple, weights: tuple[float, ...]):
    x = rng.random() * sum(weights)
    for item, w in zip(items, weights, strict=True):
        x -= w
        if x < 0:
            return item
    return items[-1]


def timestamp(day: pl.Expr, us_in_day: pl.Expr) -> pl.Expr:
    """A naive UTC timestamp from an epoch day and microseconds into that day."""
    return (day.cast(pl.Int64) * US_PER_DAY + us_in_day.cast(pl.Int64)).cast(pl.Datetime("us"))


@dataclass(frozen=True)
class Window:
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
            self, "month_starts", tuple(add_months(start, i) for i in range(self.months + 1))
        )

    @property
    def end_excl(self) -> date:
        return self.end + timedelta(days=1)

    def month_of(self, d: date) -> int:
        return (d.year - self.start.year) * 12 + d.month - self.start.month
