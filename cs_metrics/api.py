"""The library behind the CLI: plain functions that commands call (and users may too)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING

from cs_metrics.errors import UsageError
from cs_metrics.periods import GRAINS, Period, last_complete, parse_period, series

if TYPE_CHECKING:
    from cs_metrics.result import MetricResult
    from cs_metrics.spec import Spec


def today(spec: Spec | None, as_of: str | None) -> date:
    """'Today': --as-of, else the spec's as_of, else the clock."""
    if as_of:
        try:
            return date.fromisoformat(as_of)
        except ValueError:
            raise UsageError(f"--as-of {as_of!r} is not a date: write YYYY-MM-DD") from None
    if spec is not None and spec.model.as_of:
        return spec.model.as_of
    return date.today()


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
    """The periods a command covers: --period, a --from/--to series, or the last complete one."""
    g = grain or spec.model.grain
    if g not in GRAINS:
        raise UsageError(f"--grain {g!r}: use one of {', '.join(GRAINS)}")
    if period and (start or end):
        raise UsageError("use either --period or --from/--to, not both")
    now = today(spec, as_of)
    if period:
        return [parse_period(period)]
    if start or end:
        last = parse_period(end) if end else last_complete(now, g)
        first = parse_period(start) if start else last
        if first.start > last.end:
            raise UsageError(f"--from {first.label} is after --to {last.label}")
        return series(first, last, g)
    p = last_complete(now, g)
    if trend:
        return series(p.shift(-(trend - 1)), p, g)
    return [p]


def compute_metrics(
    spec: Spec,
    names: Sequence[str] | None = None,
    *,
    period: str | None = None,
    start: str | None = None,
    end: str | None = None,
    grain: str | None = None,
    as_of: str | None = None,
    by: Sequence[str] = (),
    engine: str = "polars",
) -> MetricResult:
    from cs_metrics.engine import compute

    periods = resolve_periods(spec, period=period, start=start, end=end, grain=grain, as_of=as_of)
    return compute(spec, list(names) if names else None, periods, list(by), engine)
