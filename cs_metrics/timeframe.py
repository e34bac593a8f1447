"""The periods a command covers, and the day the data is complete for.

``resolve_periods`` turns the command-line options (--period, --from/--to, --trend,
--grain, --as-of) into periods; ``data_end`` is the last complete day; ``incomplete``
warns about periods that end after it. Every command and the report use these three.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

from cs_metrics.errors import UsageError
from cs_metrics.periods import GRAINS, Period, last_complete, parse_period, period_of, series

if TYPE_CHECKING:
    from cs_metrics.spec import Spec


def data_end(spec: Spec | None, as_of: str | None) -> date:
    """The last day the data is complete for: --as-of, else the spec's as_of, else yesterday.

    A period is complete when it ends on or before this day, so ``as_of: 2026-10-31`` (a
    data set that ends that day) reports October, and on 2026-11-01 the clock does too.
    """
    if as_of:
        try:
            return date.fromisoformat(as_of)
        except ValueError:
            raise UsageError(f"--as-of {as_of!r} is not a date: write YYYY-MM-DD") from None
    if spec is not None and spec.model.as_of:
        return spec.model.as_of
    return date.today() - timedelta(days=1)


def incomplete(periods: list[Period], end: date) -> list[str]:
    """Warnings for periods that end after the data does (their values are partial)."""
    late = [p.label for p in periods if p.end > end]
    if not late:
        return []
    which = late[0] if len(late) == 1 else f"{late[0]} .. {late[-1]}"
    return [
        f"{which} {'is' if len(late) == 1 else 'are'} not complete: the data is as of "
        f"{end.isoformat()} (values are partial)"
    ]


def resolve_periods(
    spec: Spec,
    *,
    period: str | None = None,
    start: str | None = None,
    end: str | None = None,
    grain: str | None = None,
    as_of: str | None = None,
    trend: int | None = None,
) -> list[Period]:
    """The periods a command covers: --period, a --from/--to series, the last ``trend``
    periods (ending at the last complete one, or at the one of ``end``), or the last
    complete one."""
    g = grain or spec.model.grain
    if g not in GRAINS:
        raise UsageError(f"--grain {g!r}: use one of {', '.join(GRAINS)}")
    if period and (start or end):
        raise UsageError("use either --period or --from/--to, not both")
    if trend is not None:
        if trend < 1:
            raise UsageError(
                f"--trend {trend}: give how many periods to show, at least 1 "
                "(e.g. --trend 12 for the last 12 months at the month grain)"
            )
        if period or start:
            raise UsageError(
                f"--trend counts back from the last complete period (or --to); "
                f"drop {'--period' if period else '--from'}, or use --from/--to without --trend"
            )
    now = data_end(spec, as_of) + timedelta(days=1)
    if period:
        return [parse_period(period)]
    if trend is not None:
        last = period_of(parse_period(end).end, g) if end else last_complete(now, g)
        try:
            first = last.shift(-(trend - 1))
        except (ValueError, OverflowError):
            raise UsageError(f"--trend {trend} goes back before the year 1") from None
        return series(first, last, g)
    if start or end:
        last = parse_period(end) if end else last_complete(now, g)
        first = parse_period(start) if start else last
        if first.start > last.end:
            raise UsageError(f"--from {first.label} is after --to {last.label}")
        return series(first, last, g)
    return [last_complete(now, g)]
