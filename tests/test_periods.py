"""Periods: parsing every form, labels, shifting, the last complete period, series, and
how ``api.resolve_periods`` turns the command-line options into the periods to compute."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import pairwise

import pytest

from cs_metrics import api, timeframe
from cs_metrics.errors import ExitCode, UsageError
from cs_metrics.periods import (
    GRAINS,
    Period,
    add_months,
    last_complete,
    make_range,
    parse_period,
    period_of,
    series,
)

D = date.fromisoformat


def labels(periods: list[Period]) -> list[str]:
    return [p.label for p in periods]


# --------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("text", "start", "end", "grain", "label"),
    [
        ("2026-10", "2026-10-01", "2026-10-31", "month", "2026-10"),
        ("2026-02", "2026-02-01", "2026-02-28", "month", "2026-02"),
        ("2024-02", "2024-02-01", "2024-02-29", "month", "2024-02"),  # leap year
        ("2026-1", "2026-01-01", "2026-01-31", "month", "2026-01"),  # normalised label
        ("2026-Q1", "2026-01-01", "2026-03-31", "quarter", "2026-Q1"),
        ("2026-Q2", "2026-04-01", "2026-06-30", "quarter", "2026-Q2"),
        ("2026-Q3", "2026-07-01", "2026-09-30", "quarter", "2026-Q3"),
        ("2026-Q4", "2026-10-01", "2026-12-31", "quarter", "2026-Q4"),
        ("2026q3", "2026-07-01", "2026-09-30", "quarter", "2026-Q3"),
        ("2026", "2026-01-01", "2026-12-31", "year", "2026"),
        ("2026-W41", "2026-10-05", "2026-10-11", "week", "2026-W41"),
        ("2026-W01", "2025-12-29", "2026-01-04", "week", "2026-W01"),  # starts in 2025
        ("2026-w1", "2025-12-29", "2026-01-04", "week", "2026-W01"),
        ("2026W41", "2026-10-05", "2026-10-11", "week", "2026-W41"),
        ("2026-W53", "2026-12-28", "2027-01-03", "week", "2026-W53"),  # 2026 has 53 weeks
        ("2020-W53", "2020-12-28", "2021-01-03", "week", "2020-W53"),
        (
            "2026-01-01..2026-03-15",
            "2026-01-01",
            "2026-03-15",
            "range",
            "2026-01-01..2026-03-15",
        ),
        ("2026-05-05..2026-05-05", "2026-05-05", "2026-05-05", "range", "2026-05-05..2026-05-05"),
        ("  2026-10 ", "2026-10-01", "2026-10-31", "month", "2026-10"),  # surrounding space
    ],
)
def test_parse_every_form(text, start, end, grain, label):
    p = parse_period(text)
    assert p == Period(D(start), D(end), grain, label)


def test_label_round_trips():
    for text in ("2026-10", "2026-Q3", "2026", "2026-W41", "2026-W01", "2026-01-01..2026-03-15"):
        assert parse_period(text).label == text
        assert parse_period(parse_period(text).label) == parse_period(text)


def test_days():
    assert parse_period("2026-01-01..2026-03-15").days == 74
    assert parse_period("2026-02").days == 28
    assert parse_period("2026-W10").days == 7
    assert parse_period("2024").days == 366
    assert parse_period("2026-05-05..2026-05-05").days == 1


def test_periods_order_by_start():
    ps = [parse_period(t) for t in ("2026-03", "2025-12", "2026-01")]
    assert labels(sorted(ps)) == ["2025-12", "2026-01", "2026-03"]


@pytest.mark.parametrize(
    ("day", "grain", "label"),
    [
        ("2026-10-15", "month", "2026-10"),
        ("2026-12-31", "quarter", "2026-Q4"),
        ("2026-04-01", "quarter", "2026-Q2"),
        ("2026-07-04", "year", "2026"),
        ("2027-01-01", "week", "2026-W53"),  # a Friday in ISO week 53 of 2026
        ("2027-01-03", "week", "2026-W53"),  # Sunday: still 2026-W53
        ("2027-01-04", "week", "2027-W01"),  # Monday
        ("2025-12-29", "week", "2026-W01"),  # Monday in December, ISO year 2026
        ("2025-12-28", "week", "2025-W52"),
    ],
)
def test_period_of_labels(day, grain, label):
    p = period_of(D(day), grain)
    assert p.label == label
    assert p.start <= D(day) <= p.end
    if grain == "week":
        assert p.start.isoweekday() == 1 and p.days == 7


def test_quarter_ends():
    assert [parse_period(f"2026-Q{q}").end for q in (1, 2, 3, 4)] == [
        D("2026-03-31"),
        D("2026-06-30"),
        D("2026-09-30"),
        D("2026-12-31"),
    ]
    # every quarter ends the day before the next one starts
    q = parse_period("2025-Q1")
    for _ in range(8):
        nxt = q.shift(1)
        assert nxt.start == q.end + timedelta(days=1)
        q = nxt


@pytest.mark.parametrize(
    ("day", "n", "expected"),
    [
        ("2026-01-31", 1, "2026-02-28"),
        ("2024-01-31", 1, "2024-02-29"),
        ("2026-03-31", -1, "2026-02-28"),
        ("2026-11-15", 2, "2027-01-15"),
        ("2026-01-15", -1, "2025-12-15"),
        ("2026-05-31", 12, "2027-05-31"),
        ("2026-05-31", -25, "2024-04-30"),
    ],
)
def test_add_months_clips_to_month_end(day, n, expected):
    assert add_months(D(day), n) == D(expected)


# --------------------------------------------------------------------------- previous / shift


@pytest.mark.parametrize(
    ("text", "previous"),
    [
        ("2026-01", "2025-12"),
        ("2026-03", "2026-02"),
        ("2026-Q1", "2025-Q4"),
        ("2026-Q3", "2026-Q2"),
        ("2026", "2025"),
        ("2026-W41", "2026-W40"),
        ("2026-W01", "2025-W52"),  # 2025 has 52 ISO weeks
        ("2021-W01", "2020-W53"),  # 2020 has 53
        ("2027-W01", "2026-W53"),
        ("2026-01-01..2026-01-31", "2025-12-01..2025-12-31"),  # a range moves by its length
        ("2026-03-01..2026-03-10", "2026-02-19..2026-02-28"),
    ],
)
def test_previous(text, previous):
    assert parse_period(text).previous().label == previous


@pytest.mark.parametrize(
    ("text", "n", "expected"),
    [
        ("2026-10", 0, "2026-10"),
        ("2026-10", 3, "2027-01"),
        ("2026-10", -22, "2024-12"),
        ("2026-Q4", 1, "2027-Q1"),
        ("2026-Q1", -5, "2024-Q4"),
        ("2026", 2, "2028"),
        ("2026-W52", 1, "2026-W53"),
        ("2026-W53", 1, "2027-W01"),
        ("2026-W52", 2, "2027-W01"),
        ("2025-W52", 1, "2026-W01"),
        ("2026-W01", -52, "2025-W01"),  # 2025 has 52 weeks
        ("2021-W01", -1, "2020-W53"),
        ("2026-01-01..2026-01-10", 2, "2026-01-21..2026-01-30"),
    ],
)
def test_shift(text, n, expected):
    assert parse_period(text).shift(n).label == expected


def test_shift_is_reversible():
    for text in ("2026-01", "2026-Q1", "2026", "2026-W01", "2026-W53", "2026-02-01..2026-02-28"):
        p = parse_period(text)
        for n in (1, 5, 53):
            assert p.shift(n).shift(-n) == p


# --------------------------------------------------------------------------- last complete


@pytest.mark.parametrize(
    ("as_of", "grain", "expected"),
    [
        ("2026-11-01", "month", "2026-10"),
        ("2026-11-15", "month", "2026-10"),
        ("2026-10-31", "month", "2026-09"),  # today is not over, so October is not complete
        ("2026-01-01", "month", "2025-12"),
        ("2026-03-31", "quarter", "2025-Q4"),
        ("2026-04-01", "quarter", "2026-Q1"),
        ("2026-01-10", "quarter", "2025-Q4"),
        ("2026-06-30", "year", "2025"),
        ("2026-01-01", "year", "2025"),
        ("2026-10-12", "week", "2026-W41"),  # a Monday: last week is complete
        ("2026-10-18", "week", "2026-W41"),  # Sunday of W42
        ("2026-01-01", "week", "2025-W52"),  # Thursday of 2026-W01
        ("2027-01-04", "week", "2026-W53"),
    ],
)
def test_last_complete(as_of, grain, expected):
    p = last_complete(D(as_of), grain)
    assert p.label == expected
    assert p.end < D(as_of)


def test_last_complete_every_grain_ends_before_as_of_and_is_latest():
    for grain in GRAINS:
        for day in ("2026-01-01", "2026-02-28", "2026-12-31", "2024-02-29"):
            p = last_complete(D(day), grain)
            assert p.grain == grain
            assert p.end < D(day) <= p.shift(1).end


# --------------------------------------------------------------------------- series


def test_series_months_across_a_year_boundary():
    s = series(parse_period("2025-11"), parse_period("2026-02"), "month")
    assert labels(s) == ["2025-11", "2025-12", "2026-01", "2026-02"]


def test_series_quarters_across_a_year_boundary():
    s = series(parse_period("2025-Q3"), parse_period("2026-Q2"), "quarter")
    assert labels(s) == ["2025-Q3", "2025-Q4", "2026-Q1", "2026-Q2"]


def test_series_weeks_across_a_53_week_year():
    s = series(parse_period("2026-W52"), parse_period("2027-W02"), "week")
    assert labels(s) == ["2026-W52", "2026-W53", "2027-W01", "2027-W02"]


def test_series_years():
    assert labels(series(parse_period("2024"), parse_period("2026"), "year")) == [
        "2024",
        "2025",
        "2026",
    ]


def test_series_single_period():
    assert labels(series(parse_period("2026-03"), parse_period("2026-03"), "month")) == ["2026-03"]


def test_series_at_another_grain_covers_both_ends():
    # months given, quarters asked: the quarters containing the first start and last end
    s = series(parse_period("2026-02"), parse_period("2026-05"), "quarter")
    assert labels(s) == ["2026-Q1", "2026-Q2"]
    # a quarter given, months asked
    s = series(parse_period("2025-Q4"), parse_period("2025-Q4"), "month")
    assert labels(s) == ["2025-10", "2025-11", "2025-12"]
    # a range given, weeks asked
    s = series(make_range(D("2026-01-01"), D("2026-01-12")), parse_period("2026-W02"), "week")
    assert labels(s) == ["2026-W01", "2026-W02"]


def test_series_is_contiguous():
    s = series(parse_period("2024-01"), parse_period("2026-12"), "month")
    assert len(s) == 36
    for a, b in pairwise(s):
        assert b.start == a.end + timedelta(days=1)


# --------------------------------------------------------------------------- invalid input

FORMS = ("2026-10", "2026-Q3", "2026", "2026-W41", "2026-01-01..2026-03-15")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "last month",
        "Oct 2026",
        "2026/10",
        "26-10",
        "2026-10-01",  # a single day is written as a range
        "2026-13",
        "2026-00",
        "2026-Q0",
        "2026-Q5",
        "2026-W00",
        "2026-W54",
        "2025-W53",  # 2025 has only 52 ISO weeks
        "2026-02-30..2026-03-01",
        "2026-1-1..2026-2-1",
        "2026-01-01...2026-02-01",
    ],
)
def test_invalid_period_lists_the_accepted_forms(text):
    with pytest.raises(UsageError) as info:
        parse_period(text)
    err = info.value
    assert err.exit_code == ExitCode.USAGE
    assert repr(text) in err.message
    for form in FORMS:
        assert form in err.message


def test_range_ending_before_it_starts():
    with pytest.raises(UsageError, match="ends before it starts"):
        parse_period("2026-03-31..2026-01-01")


def test_unknown_grain():
    with pytest.raises(UsageError, match="week, month, quarter, year"):
        period_of(D("2026-01-01"), "fortnight")


# --------------------------------------------------------------------------- resolve_periods


@pytest.fixture
def spec(make_spec):
    """A spec with a fixed 'today' (as_of 2026-04-15); no sources needed to resolve periods."""
    return make_spec("version: 1\nas_of: 2026-04-15\n")


def resolve(spec, **kw) -> list[str]:
    return labels(api.resolve_periods(spec, **kw))


def test_default_is_the_last_complete_period_relative_to_as_of(spec):
    assert resolve(spec) == ["2026-03"]


@pytest.mark.parametrize(
    ("grain", "expected"),
    [("week", "2026-W15"), ("month", "2026-03"), ("quarter", "2026-Q1"), ("year", "2025")],
)
def test_default_for_each_grain(spec, grain, expected):
    # 2026-04-15 is the Wednesday of 2026-W16
    assert resolve(spec, grain=grain) == [expected]


def test_spec_grain_is_the_default_grain(make_spec):
    spec = make_spec("version: 1\nas_of: 2026-04-15\ngrain: quarter\n")
    assert resolve(spec) == ["2026-Q1"]
    assert resolve(spec, grain="month") == ["2026-03"]  # --grain wins


def test_as_of_option_beats_the_spec(spec):
    assert resolve(spec, as_of="2026-01-10") == ["2025-12"]


def test_period_option(spec):
    assert resolve(spec, period="2026-Q2") == ["2026-Q2"]
    assert resolve(spec, period="2026-W41", grain="month") == ["2026-W41"]  # grain irrelevant


def test_from_only_runs_to_the_last_complete(spec):
    assert resolve(spec, start="2026-01") == ["2026-01", "2026-02", "2026-03"]
    assert resolve(spec, start="2025-12", as_of="2026-02-01") == ["2025-12", "2026-01"]


def test_to_only_is_that_one_period(spec):
    assert resolve(spec, end="2026-01") == ["2026-01"]


def test_from_and_to(spec):
    assert resolve(spec, start="2025-11", end="2026-02") == [
        "2025-11",
        "2025-12",
        "2026-01",
        "2026-02",
    ]


def test_from_and_to_at_another_grain(spec):
    assert resolve(spec, start="2025-Q4", end="2026-Q1", grain="month") == [
        "2025-10",
        "2025-11",
        "2025-12",
        "2026-01",
        "2026-02",
        "2026-03",
    ]
    assert resolve(spec, start="2025-11", end="2026-02", grain="quarter") == ["2025-Q4", "2026-Q1"]
    assert resolve(spec, start="2025-W52", end="2026-W02", grain="week") == [
        "2025-W52",
        "2026-W01",
        "2026-W02",
    ]


def test_trend(spec):
    assert resolve(spec, trend=3) == ["2026-01", "2026-02", "2026-03"]
    assert resolve(spec, trend=1) == ["2026-03"]
    assert resolve(spec, trend=4, grain="quarter") == ["2025-Q2", "2025-Q3", "2025-Q4", "2026-Q1"]


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"period": "2026-01", "start": "2025-12"}, "not both"),
        ({"period": "2026-01", "end": "2026-02"}, "not both"),
        ({"start": "2026-03", "end": "2026-01"}, "after"),
        ({"grain": "fortnight"}, "week, month, quarter, year"),
        ({"as_of": "15/04/2026"}, "YYYY-MM-DD"),
        ({"period": "2026-13"}, "2026-Q3"),
        ({"start": "soon"}, "2026-Q3"),
    ],
)
def test_resolve_errors(spec, kw, match):
    with pytest.raises(UsageError, match=match):
        api.resolve_periods(spec, **kw)


def test_without_as_of_today_is_the_clock(make_spec, monkeypatch):
    class FixedDate(date):
        @classmethod
        def today(cls):
            return cls(2026, 7, 4)

    monkeypatch.setattr(timeframe, "date", FixedDate)
    spec = make_spec("version: 1\n")
    assert resolve(spec) == ["2026-06"]
    assert resolve(spec, grain="quarter") == ["2026-Q2"]
    # without as_of, the data is taken to be complete through yesterday
    assert api.data_end(None, None) == date(2026, 7, 3)
    assert api.data_end(None, "2026-01-02") == date(2026, 1, 2)


def test_as_of_on_a_period_end_makes_that_period_complete(make_spec):
    # SPEC.md's example: sample data ending 2026-10-31 with as_of: 2026-10-31 reports October
    spec = make_spec("version: 1\nas_of: 2026-10-31\n")
    assert resolve(spec) == ["2026-10"]
    assert resolve(spec, as_of="2026-10-30") == ["2026-09"]
