"""How far each source's data reaches, and the warning when a run asks past it.

A source's *last date* (docs/design.md "Stale data"), per role:

* event sources (tickets, surveys, usage, spend, orders, activities): the latest value of
  their date column (a timestamp counts by its day);
* subscriptions: the latest ``start_date`` or ``end_date``; rows without an end date are
  open-ended (their MRR runs on past the last date, which is why flat MRR after it is
  suspicious) and are counted;
* invoices: the latest ``period_start`` or ``period_end``;
* accounts: the latest ``signup_date`` when the column is mapped, else not checked;
* fx: not checked (the latest rate stays in force).

The first and last dates are plain aggregates: the engine adds them to the plan that counts
each source's rows, so they come with the results in the same collect (no second scan).
A source is *stale* for a run when its last date is before the start of the last period
asked for: that period has no row of it, so its numbers there (0 tickets, flat MRR) say
nothing about the present.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import polars as pl

    from cs_metrics.periods import Period

DATE_COLUMNS: dict[str, tuple[str, ...]] = {
    "tickets": ("created_at",),
    "surveys": ("submitted_at",),
    "usage": ("timestamp",),
    "spend": ("date",),
    "orders": ("ordered_at",),
    "activities": ("occurred_at",),
    "subscriptions": ("start_date", "end_date"),
    "invoices": ("period_start", "period_end"),
    "accounts": ("signup_date",),
}
FIRST, LAST, OPEN = "__first_date", "__last_date", "__open_ended"


@dataclass(frozen=True)
class Span:
    """One source's rows and the dates they cover (``columns``: the date columns read)."""

    role: str
    rows: int
    first: date | None
    last: date | None
    columns: tuple[str, ...]
    open_ended: int | None = None  # subscriptions: rows without an end date

    def describe(self) -> str:
        """'2020-01-03 .. 2020-12-31 (start_date, end_date; 3 open-ended)' for people."""
        if self.first is None or self.last is None:
            return f"no dates in {', '.join(self.columns)}"
        extra = f"; {self.open_ended:,} open-ended" if self.open_ended else ""
        return f"{self.first} .. {self.last} ({', '.join(self.columns)}{extra})"


def dated_columns(role: str, columns: list[str]) -> tuple[str, ...]:
    """The role's date columns that the source maps (empty: the role is not checked)."""
    return tuple(c for c in DATE_COLUMNS.get(role, ()) if c in columns)


def span_exprs(role: str, columns: list[str]) -> list[pl.Expr]:
    """Aggregates giving the first and last date (and open-ended rows) of a source's rows."""
    import polars as pl

    cols = dated_columns(role, columns)
    if not cols:
        return []
    out = [
        pl.min_horizontal([pl.col(c).min().cast(pl.Date) for c in cols]).alias(FIRST),
        pl.max_horizontal([pl.col(c).max().cast(pl.Date) for c in cols]).alias(LAST),
    ]
    if role == "subscriptions":
        ended = pl.col("end_date").null_count() if "end_date" in cols else pl.len()
        out.append(ended.cast(pl.Int64).alias(OPEN))
    return out


def span_of(role: str, columns: list[str], rows: int, df: pl.DataFrame) -> Span | None:
    """The Span from a collected one-row frame of :func:`span_exprs` (None: not checked)."""
    cols = dated_columns(role, columns)
    if not cols or FIRST not in df.columns:
        return None
    first, last = df[FIRST][0], df[LAST][0]
    open_ended = int(df[OPEN][0]) if OPEN in df.columns else None
    return Span(role, rows, first, last, cols, open_ended)


def stale(spans: dict[str, Span], period: Period) -> dict[str, date | None]:
    """role -> last date of the sources whose data ends before ``period`` starts."""
    return {
        role: s.last
        for role, s in sorted(spans.items())
        if s.rows and (s.last is None or s.last < period.start)
    }


def stale_warnings(spans: dict[str, Span], period: Period) -> list[str]:
    """One warning per stale source: its last date, and how to compute as of it."""
    out = []
    for role, last in stale(spans, period).items():
        s = spans[role]
        if last is None:
            out.append(
                f"sources.{role}: no row has a date in {', '.join(s.columns)}, so nothing of it "
                f"falls in {period.label}: check the column mapping"
            )
            continue
        what = " or ".join(s.columns)
        carried = (
            f"; its {s.open_ended:,} open-ended rows carry their MRR on unchanged"
            if s.open_ended
            else ""
        )
        out.append(
            f"sources.{role}: the data ends {last} (its latest {what}{carried}), before "
            f"{period.label} starts: none of it is from {period.label}, so its numbers there may be stale; "
            f"if the export is old, pass --as-of {last} (or set as_of: {last} in the spec)"
        )
    return out


def stale_field(stale_roles: dict[str, Any]) -> str:
    """'usage:2020-12-31,subscriptions:2020-06-30' for log lines ('-' for no date)."""
    return ",".join(f"{r}:{d or '-'}" for r, d in stale_roles.items())
