"""Periods: parsing, labels, the last complete period and series.

A period is a closed date range [start, end] with a label written the way users write it:
``2026-10`` (month), ``2026-Q3`` (quarter), ``2026`` (year), ``2026-W41`` (ISO week) or
``2026-01-01..2026-03-15`` (a date range, both ends inclusive).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from cs_metrics.errors import UsageError

GRAINS = ("week", "month", "quarter", "year")

_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_QUARTER = re.compile(r"^(\d{4})-?Q([1-4])$", re.IGNORECASE)
_YEAR = re.compile(r"^(\d{4})$")
_WEEK = re.compile(r"^(\d{4})-?W(\d{1,2})$", re.IGNORECASE)
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$")
_FORMS = "write 2026-10 (month), 2026-Q3, 2026, 2026-W41 or 2026-01-01..2026-03-15"


@dataclass(frozen=True, order=True)
class Period:
    start: date
    end: date  # inclusive last day
    grain: str  # week | month | quarter | year | range
    label: str

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def shift(self, n: int) -> Period:
        """The period n grains later (negative: earlier). A range shifts by its length."""
        if self.grain == "range":
            delta = timedelta(days=self.days * n)
            return make_range(self.start + delta, self.end + delta)
        if self.grain == "week":
            return period_of(self.start + timedelta(weeks=n), "week")
        months = {"month": 1, "quarter": 3, "year": 12}[self.grain] * n
        return period_of(add_months(self.start, months), self.grain)

    def previous(self) -> Period:
        return self.shift(-1)


def add_months(d: date, n: int) -> date:
    """Same day n months later, clipped to the month's last day."""
    idx = d.year * 12 + d.month - 1 + n
    y, m = divmod(idx, 12)
    return date(y, m + 1, min(d.day, _month_days(y, m + 1)))


def _month_days(y: int, m: int) -> int:
    nxt = date(y + (m == 12), m % 12 + 1, 1)
    return (nxt - timedelta(days=1)).day


def make_range(start: date, end: date) -> Period:
    return Period(start, end, "range", f"{start.isoformat()}..{end.isoformat()}")


def period_of(d: date, grain: str) -> Period:
    """The period of the given grain that contains day d."""
    if grain == "month":
        s = date(d.year, d.month, 1)
        return Period(s, date(d.year, d.month, _month_days(d.year, d.month)), grain, f"{d:%Y-%m}")
    if grain == "quarter":
        q = (d.month - 1) // 3
        s = date(d.year, 3 * q + 1, 1)
        e = add_months(s, 3) - timedelta(days=1)
        return Period(s, e, grain, f"{d.year}-Q{q + 1}")
    if grain == "year":
        return Period(date(d.year, 1, 1), date(d.year, 12, 31), grain, str(d.year))
    if grain == "week":
        iso = d.isocalendar()
        s = d - timedelta(days=iso.weekday - 1)
        return Period(s, s + timedelta(days=6), grain, f"{iso.year}-W{iso.week:02d}")
    raise UsageError(f"unknown grain {grain!r}: use one of {', '.join(GRAINS)}")


def parse_period(text: str) -> Period:
    """Parse a period label; raises UsageError with the accepted forms."""
    t = text.strip()
    try:
        if m := _RANGE.match(t):
            s, e = date.fromisoformat(m[1]), date.fromisoformat(m[2])
            if e < s:
                raise UsageError(f"period {text!r} ends before it starts")
            return make_range(s, e)
        if m := _MONTH.match(t):
            return period_of(date(int(m[1]), int(m[2]), 1), "month")
        if m := _QUARTER.match(t):
            return period_of(date(int(m[1]), 3 * int(m[2]) - 2, 1), "quarter")
        if m := _YEAR.match(t):
            return period_of(date(int(m[1]), 1, 1), "year")
        if m := _WEEK.match(t):
            monday = date.fromisocalendar(int(m[1]), int(m[2]), 1)
            return period_of(monday, "week")
    except ValueError as exc:
        raise UsageError(f"period {text!r} is not a valid date ({exc}): {_FORMS}") from None
    raise UsageError(f"cannot read period {text!r}: {_FORMS}")


def last_complete(as_of: date, grain: str) -> Period:
    """The latest period of this grain that ended before ``as_of`` (as_of is 'today')."""
    return period_of(as_of, grain).previous()


def series(first: Period, last: Period, grain: str) -> list[Period]:
    """Periods of ``grain`` from the one containing first.start to the one containing last.end."""
    p, stop = period_of(first.start, grain), period_of(last.end, grain)
    out = []
    while p.start <= stop.start:
        out.append(p)
        p = p.shift(1)
    return out
