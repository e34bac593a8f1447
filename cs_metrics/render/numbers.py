"""Numbers as people read them: values with their unit, changes with a toned arrow, and
one-character sparklines.

Values carry their unit: currency with symbol and separators ($12,300; €, £ for EUR and
GBP, otherwise the code as a suffix; cents only below 1,000), ratios as percent with one
decimal (5.0 %), counts as integers with separators, days and hours with one decimal and
the unit, scores with one decimal. Change is the difference in percentage points for
ratios ("+1.2 pp"), in points for scores ("+3.0 pts"), and the relative change otherwise
("+4.5 %"; the absolute change when the previous value is 0).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}
NULL = "—"
UP, DOWN = "▲", "▼"
SPARKS = "▁▂▃▄▅▆▇█"
SPARK_NULL = "·"  # not a space: html collapses spaces and markdown trims them


def finite_value(value: Any) -> float | None:
    """``value`` as a float, or None when it is missing, NaN or infinite."""
    return float(value) if value is not None and math.isfinite(value) else None


def unit_kind(unit: str) -> str:
    """currency | ratio | count | days | hours | score | other."""
    if unit in ("ratio", "count", "days", "hours", "score"):
        return unit
    if unit == "currency" or (len(unit) == 3 and unit.isalpha() and unit.isupper()):
        return "currency"
    return "other"


def _number(value: float, decimals: int) -> str:
    text = f"{value:,.{decimals}f}"
    return text[1:] if text.startswith("-") and float(text.replace(",", "")) == 0 else text


def format_value(value: float | None, unit: str, currency: str = "USD") -> str:
    """A value as people read it ($12,300, 5.0 %, 1,204, 3.5 days); "—" when missing."""
    if value is None or not math.isfinite(value):
        return NULL
    kind = unit_kind(unit)
    if kind == "currency":
        code = currency if unit == "currency" else unit
        digits = _number(abs(value), 0 if abs(value) >= 1000 else 2)
        sign = "-" if value < 0 and digits.strip("0.,") else ""
        symbol = CURRENCY_SYMBOLS.get(code)
        return f"{sign}{symbol}{digits}" if symbol else f"{sign}{digits} {code}"
    if kind == "ratio":
        return f"{_number(value * 100, 1)} %"
    if kind == "count":
        if abs(value - round(value)) < 1e-9:
            return _number(round(value), 0)
        return _number(value, 1)
    if kind == "days":
        return f"{_number(value, 1)} days"
    if kind == "hours":
        return f"{_number(value, 1)} hours"
    if kind == "score":
        return _number(value, 1)
    if unit == "number":
        return _number(value, 2)
    return f"{_number(value, 2)} {unit}".rstrip()


def format_change(
    value: float | None,
    previous: float | None,
    unit: str,
    currency: str = "USD",
    higher_is_better: bool | None = True,
) -> tuple[str, str]:
    """The change from ``previous`` to ``value`` and its tone (good/bad/""/muted)."""
    if value is None or previous is None or not math.isfinite(value - previous):
        return NULL, "muted"
    kind = unit_kind(unit)
    diff = value - previous
    if kind == "ratio":
        magnitude, text = diff * 100, f"{_number(abs(diff) * 100, 1)} pp"
    elif kind == "score":
        magnitude, text = diff, f"{_number(abs(diff), 1)} pts"
    elif previous == 0:
        magnitude, text = diff, format_value(abs(diff), unit, currency)
    else:
        magnitude = diff / abs(previous) * 100
        text = f"{_number(abs(magnitude), 1)} %"
    if round(magnitude, 1) == 0:
        zero = {"ratio": "0.0 pp", "score": "0.0 pts"}.get(kind, "0.0 %")
        return zero, "muted"
    up = magnitude > 0
    tone = "" if higher_is_better is None else ("good" if up == higher_is_better else "bad")
    return f"{UP if up else DOWN} {'+' if up else '-'}{text}", tone


def sparkline(values: Iterable[float | None]) -> str:
    """One character per value, ``▁`` at the series' minimum to ``█`` at its maximum.

    A missing (or NaN/inf) value is ``·``; a flat series, or a single value, is a mid line
    of ``▄``. The result always has one character per value.
    """
    points = [finite_value(v) for v in values]
    present = [v for v in points if v is not None]
    if not present:
        return SPARK_NULL * len(points)
    lo, hi = min(present), max(present)
    span = hi / 2 - lo / 2  # halves: hi - lo may overflow
    if span <= 0 or math.isclose(lo, hi, rel_tol=1e-9):
        return "".join(SPARK_NULL if v is None else SPARKS[3] for v in points)
    top = len(SPARKS) - 1
    return "".join(
        SPARK_NULL if v is None else SPARKS[min(top, int((v / 2 - lo / 2) / span * top + 0.5))]
        for v in points
    )


def trend_tone(values: Iterable[float | None], higher_is_better: bool | None = True) -> str:
    """good | bad when the last value differs from the first (missing ones skipped), else ""."""
    present = [v for v in map(finite_value, values) if v is not None]
    if higher_is_better is None or len(present) < 2:
        return ""
    first, last = present[0], present[-1]
    if math.isclose(first, last, rel_tol=1e-9):
        return ""
    return "good" if (last > first) == higher_is_better else "bad"
