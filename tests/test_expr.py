"""User SQL expressions: whitelist translation, run on polars and DuckDB through narwhals."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import duckdb
import narwhals.stable.v2 as nw
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cs_metrics.errors import ExitCode, ExprError
from cs_metrics.expr import Expr, parse_expr

D = dt.date
T, F, N = True, False, None

FRAME = pl.DataFrame(
    {
        "id": [1, 2, 3, 4, 5, 6],
        "a": [1, 2, None, 4, 0, -3],
        "b": [0, 2, 1, None, 5, 3],
        "f": [1.5, None, -2.0, 0.0, 2.5, 10.0],
        "s": ["a.b", "axb", None, "A.B", "pro plan", "a_b%"],
        "d": [D(2026, 1, 1), D(2025, 12, 31), None, D(2026, 2, 1), D(2026, 1, 15), D(2024, 6, 30)],
        "ts": [
            dt.datetime(2026, 1, 1, 10),
            dt.datetime(2025, 12, 31, 23, 59),
            None,
            dt.datetime(2026, 2, 1),
            dt.datetime(2026, 1, 15, 12),
            dt.datetime(2024, 6, 30, 8),
        ],
        "plan": ["pro", "free", "pro", None, "enterprise", "free"],
        "plan name": ["pro", "free", None, "pro", "free", "enterprise"],
        "flag": [True, False, None, True, False, True],
    }
)


def _normalise(value: Any) -> Any:
    return float(value) if isinstance(value, Decimal) else value


def evaluate_on_both(frame: pl.DataFrame, expr: nw.Expr | Callable[[], nw.Expr]) -> list[Any]:
    """Evaluate ``expr`` on polars and DuckDB; assert they agree; return the values by id."""
    return evaluate_all_on_both(frame, {"result": expr})["result"]


def evaluate_all_on_both(
    frame: pl.DataFrame, exprs: dict[str, nw.Expr | Callable[[], nw.Expr]]
) -> dict[str, list[Any]]:
    """Each of ``exprs`` evaluated on polars and DuckDB, in one select per engine (a
    property example costs two queries, not two per expression); assert that they agree."""
    results = []
    lazy_frames = [
        nw.from_native(frame.lazy()),
        nw.from_native(duckdb.connect().from_arrow(frame.to_arrow())),
    ]
    for lf in lazy_frames:
        columns = [(e() if callable(e) else e).alias(f"r{i}") for i, e in enumerate(exprs.values())]
        out = lf.select(nw.col("id"), *columns).sort("id").collect(backend="polars")
        results.append([[_normalise(v) for v in out[f"r{i}"].to_list()] for i in range(len(exprs))])
    answers = {}
    for i, name in enumerate(exprs):
        polars_values, duckdb_values = results[0][i], results[1][i]
        assert _same(polars_values, duckdb_values), (name, polars_values, duckdb_values)
        answers[name] = polars_values
    return answers


def _same(left: list[Any], right: list[Any]) -> bool:
    if len(left) != len(right):
        return False
    for x, y in zip(left, right, strict=True):
        if isinstance(x, float) and isinstance(y, float | int) and not isinstance(y, bool):
            if not math.isclose(x, y, rel_tol=1e-12, abs_tol=1e-12):
                return False
        elif x != y or (type(x) is not type(y) and not _numbers(x, y)):
            return False
    return True


def _numbers(x: Any, y: Any) -> bool:
    return all(isinstance(v, int | float) and not isinstance(v, bool) for v in (x, y))


@pytest.fixture(scope="module")
def run() -> Callable[[str], list[Any]]:
    """Parse ``text`` and evaluate it on both engines over FRAME."""

    def run(text: str, resolve: Callable[[str], nw.Expr] | None = None) -> list[Any]:
        return evaluate_on_both(FRAME, parse_expr(text).to_narwhals(resolve))

    return run


# --------------------------------------------------------------------------- evaluation

CASES: list[tuple[str, list[Any]]] = [
    # comparisons (NULL compares to NULL)
    ("a = 1", [T, F, N, F, F, F]),
    ("a == 1", [T, F, N, F, F, F]),
    ("a != 2", [T, F, N, T, T, T]),
    ("a <> 2", [T, F, N, T, T, T]),
    ("a < 2", [T, F, N, F, T, T]),
    ("a <= 2", [T, T, N, F, T, T]),
    ("a > 2", [F, F, N, T, F, F]),
    ("a >= 2", [F, T, N, T, F, F]),
    ("a = NULL", [N, N, N, N, N, N]),
    ("f > a", [T, N, N, F, T, T]),
    ("plan = 'pro'", [T, F, T, N, F, F]),
    # boolean logic, three-valued
    ("a = 1 AND b = 0", [T, F, F, F, F, F]),
    ("a = 1 OR b = 1", [T, F, T, N, F, F]),
    ("NOT a = 1", [F, T, N, T, T, T]),
    ("NOT (a > 0 AND b > 0)", [T, F, N, N, T, T]),
    ("a > 0 AND NOT flag OR plan = 'enterprise'", [F, T, N, N, T, F]),
    ("flag", [T, F, N, T, F, T]),
    ("NOT flag", [F, T, N, F, T, F]),
    # arithmetic
    ("a + b", [1, 4, N, N, 5, 0]),
    ("a - b", [1, 0, N, N, -5, -6]),
    ("a * b", [0, 4, N, N, 0, -9]),
    ("a + b * 2", [1, 6, N, N, 10, 3]),
    ("(a + b) * 2", [2, 8, N, N, 10, 0]),
    ("-a", [-1, -2, N, -4, 0, 3]),
    ("a - -1", [2, 3, N, 5, 1, -2]),
    ("f * 2 + 1", [4.0, N, -3.0, 1.0, 6.0, 21.0]),
    # division: true division, null (never inf/NaN) on zero or null divisor
    ("a / b", [N, 1.0, N, N, 0.0, -1.0]),
    ("b / 2", [0.0, 1.0, 0.5, N, 2.5, 1.5]),
    ("f / a", [1.5, N, N, 0.0, N, -10 / 3]),
    ("1 / 0", [N, N, N, N, N, N]),
    ("f / f", [1.0, N, 1.0, N, 1.0, 1.0]),
    # IS
    ("a IS NULL", [F, F, T, F, F, F]),
    ("a IS NOT NULL", [T, T, F, T, T, T]),
    ("flag IS TRUE", [T, F, F, T, F, T]),
    ("flag IS FALSE", [F, T, F, F, T, F]),
    ("flag IS NOT TRUE", [F, T, T, F, T, F]),
    # IN / NOT IN
    ("a IN (1, 4)", [T, F, N, T, F, F]),
    ("a NOT IN (1, 4)", [F, T, N, F, T, T]),
    ("a IN (-3, 0)", [F, F, N, F, T, T]),
    ("a IN (1, NULL)", [T, N, N, N, N, N]),
    ("a NOT IN (1, NULL)", [F, N, N, N, N, N]),
    ("f IN (1.5, 10)", [T, N, F, F, F, T]),
    ("a IN (2.0)", [F, T, N, F, F, F]),
    ("plan IN ('pro', 'enterprise')", [T, F, T, N, T, F]),
    ("d IN (DATE '2026-01-01', DATE '2024-06-30')", [T, F, N, F, F, T]),
    # BETWEEN (inclusive)
    ("a BETWEEN 0 AND 2", [T, T, N, F, T, F]),
    ("a NOT BETWEEN 0 AND 2", [F, F, N, T, F, T]),
    ("a BETWEEN b AND 4", [T, T, N, N, F, F]),
    ("d BETWEEN DATE '2026-01-01' AND DATE '2026-01-31'", [T, F, N, F, T, F]),
    # dates
    ("d >= DATE '2026-01-01'", [T, F, N, T, T, F]),
    ("d = DATE '2025-12-31'", [F, T, N, F, F, F]),
    ("d < DATE '2026-01-01' OR d IS NULL", [F, T, T, F, F, T]),
    ("d >= CAST('2026-01-15' AS DATE)", [F, F, N, T, T, F]),
    ("ts >= DATE '2026-01-01'", [T, F, N, T, T, F]),
    ("CAST(ts AS DATE) = DATE '2026-01-01'", [T, F, N, F, F, F]),
    # casts
    ("CAST(a AS DOUBLE) * 0.5", [0.5, 1.0, N, 2.0, 0.0, -1.5]),
    ("a::double", [1.0, 2.0, N, 4.0, 0.0, -3.0]),
    # LIKE / ILIKE: % and _ are wildcards, everything else literal
    ("s LIKE 'a.b'", [T, F, N, F, F, F]),
    ("s LIKE 'a_b'", [T, T, N, F, F, F]),
    ("s LIKE 'a%'", [T, T, N, F, F, T]),
    ("s LIKE '%plan'", [F, F, N, F, T, F]),
    ("s LIKE '%'", [T, T, N, T, T, T]),
    ("s LIKE 'pro plan'", [F, F, N, F, T, F]),
    ("s LIKE '(pro|a).*'", [F, F, N, F, F, F]),
    ("s LIKE '%[.]%'", [F, F, N, F, F, F]),
    ("s NOT LIKE 'a%'", [F, F, N, T, T, F]),
    ("NOT s LIKE 'a%'", [F, F, N, T, T, F]),
    ("s LIKE 'a!_b!%' ESCAPE '!'", [F, F, N, F, F, T]),
    ("s ILIKE 'a.b'", [T, F, N, T, F, F]),
    ("s ILIKE 'A%'", [T, T, N, T, F, T]),
    ("s NOT ILIKE 'a_b'", [F, F, N, F, T, T]),
    # CASE, searched and simple, with and without ELSE
    (
        "CASE WHEN a >= 2 THEN 'big' WHEN a >= 0 THEN 'small' ELSE 'negative' END",
        ["small", "big", "negative", "big", "small", "negative"],
    ),
    ("CASE WHEN a >= 2 THEN 'big' END", [N, "big", N, "big", N, N]),
    ("CASE plan WHEN 'pro' THEN 1 WHEN 'free' THEN 0 ELSE -1 END", [1, 0, 1, -1, -1, 0]),
    ("CASE a WHEN 1 THEN 'one' END", ["one", N, N, N, N, N]),
    ("CASE WHEN a > 0 THEN a / b END", [N, 1.0, N, N, N, N]),
    ("CASE WHEN flag THEN NULL ELSE 'x' END", [N, "x", "x", N, "x", N]),
    ("CASE WHEN a > 1 THEN 1.5 ELSE 0 END", [0.0, 1.5, 0.0, 1.5, 0.0, 0.0]),
    # functions
    ("COALESCE(a, b, 0)", [1, 2, 1, 4, 0, -3]),
    ("COALESCE(f, 0)", [1.5, 0.0, -2.0, 0.0, 2.5, 10.0]),
    ("coalesce(plan, 'none')", ["pro", "free", "pro", "none", "enterprise", "free"]),
    ("ABS(a)", [1, 2, N, 4, 0, 3]),
    ("ABS(f - 2)", [0.5, N, 4.0, 2.0, 0.5, 8.0]),
    ("LEAST(a, b)", [0, 2, 1, 4, 0, -3]),
    ("GREATEST(a, b, 1)", [1, 2, 1, 4, 5, 3]),
    # literals
    ("TRUE", [T] * 6),
    ("FALSE", [F] * 6),
    ("NULL", [N] * 6),
    ("42", [42] * 6),
    ("2.5", [2.5] * 6),
    ("1e3", [1000.0] * 6),
    ("'it''s'", ["it's"] * 6),
    ("DATE '2026-01-01'", [D(2026, 1, 1)] * 6),
    # identifiers: double quotes name a column, matched as written
    ("\"plan name\" = 'pro'", [T, F, N, T, F, F]),
    ("\"plan\" = 'pro'", [T, F, T, N, F, F]),
    ('"plan" = "plan name"', [T, T, N, N, F, F]),
    ("a -- trailing comment", [1, 2, N, 4, 0, -3]),
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[0] for c in CASES])
def test_expression_on_polars_and_duckdb(
    run: Callable[[str], list[Any]], text: str, expected: list[Any]
) -> None:
    assert _same(run(text), expected), run(text)


def test_resolve_maps_names(run: Callable[..., list[Any]]) -> None:
    mapping = {"ltv": "f", "cac": "a"}
    assert _same(run("ltv / cac", lambda name: nw.col(mapping[name])), [1.5, N, N, 0.0, N, -10 / 3])


def test_resolve_errors_propagate() -> None:
    def resolve(name: str) -> nw.Expr:
        raise ExprError(f"unknown column {name!r}", "x + 1", 0)

    with pytest.raises(ExprError, match="unknown column 'x'"):
        parse_expr("x + 1").to_narwhals(resolve)


def test_filter_and_boolean_sum_are_portable() -> None:
    """Typical callers: filter rows by an expression, count rows matching a condition."""
    cond = parse_expr("plan IN ('pro', 'enterprise') AND a >= 0").to_narwhals()
    counts = []
    for lf in (
        nw.from_native(FRAME.lazy()),
        nw.from_native(duckdb.connect().from_arrow(FRAME.to_arrow())),
    ):
        filtered = lf.filter(cond).select("id").sort("id").collect(backend="polars")
        assert filtered["id"].to_list() == [1, 5]
        total = lf.select(cond.cast(nw.Int64).sum().alias("n")).collect(backend="polars")
        counts.append(_normalise(total["n"][0]))
    assert counts == [2, 2]


# --------------------------------------------------------------------------- rejection

REJECTED: list[tuple[str, str, int | None]] = [
    ("random()", "function RANDOM() is not allowed", 0),
    ("a + random() * 2", "function RANDOM() is not allowed", 4),
    ("count(*)", "function COUNT() is not allowed", 0),
    ("read_csv('/etc/passwd')", "function READ_CSV() is not allowed", 0),
    ("(select 1)", "unknown construct SELECT at position 0", 0),
    ("x IN (SELECT y FROM t)", "unknown construct SELECT", 5),
    ("EXISTS (SELECT 1)", "EXISTS", 0),
    ("a; drop table t", 'only one expression is allowed: found ";"', 1),
    ("a;", "only one expression", 1),
    ("x +", 'expression "x +" is incomplete', 2),
    ("plan = 'pro' AND", "is incomplete near position 13", 13),
    ("(a + b", 'expected ")"', 5),
    ("", "expression is empty", 0),
    ("   ", "expression is empty", 0),
    ("*", "unknown construct *", 0),
    ("sum(x) OVER (PARTITION BY y)", "window function", 0),
    ("x % 2", "% (modulo)", 2),
    ("a || b", "concatenation", 2),
    ("CAST(x AS INT)", "CAST to INT is not allowed", 5),
    ("TIMESTAMP '2026-01-01 10:00'", "CAST to TIMESTAMP is not allowed", None),
    ("t.x = 1", 'qualified name "t.x"', 0),
    ("x LIKE y", "pattern after LIKE must be a 'string' literal", 7),
    ("x LIKE 'a!' ESCAPE '!'", "ends with the ESCAPE character", 7),
    ("DATE '2026-02-30'", "invalid date '2026-02-30'", 5),
    ("'unterminated", "unterminated string", 0),
    ('"plan = 1', "unterminated quoted name", 0),
    ("x y", 'unexpected "y" at position 2', 2),
    ("plan = pro plan", 'unexpected "plan"', 11),
    ("x IN (1, y)", "only literal values", 9),
    ("x IN (1, 'a')", "mixes number and string", 9),
    ("x = ?", "parameter", 4),
    ("x IS NOT DISTINCT FROM y", "IS NOT DISTINCT FROM", 2),
    ("x = 99999999999999999999", "too large", 4),
]


@pytest.mark.parametrize(
    ("text", "message", "position"), REJECTED, ids=[repr(r[0]) for r in REJECTED]
)
def test_rejected(text: str, message: str, position: int | None) -> None:
    with pytest.raises(ExprError) as info:
        parse_expr(text)
    error = info.value
    assert message in str(error)
    assert error.text == text
    assert error.exit_code == ExitCode.CONFIG
    if position is not None:
        assert error.position == position
        if text.strip():
            assert f"position {position}" in str(error)


def test_rejection_message_lists_what_is_allowed() -> None:
    with pytest.raises(ExprError) as info:
        parse_expr("(SELECT 1)")
    assert str(info.value) == (
        'unknown construct SELECT at position 0 in "(SELECT 1)": only column names, literals, '
        "comparisons, AND/OR/NOT, IN, BETWEEN, LIKE, IS NULL, CASE, COALESCE and arithmetic "
        "are allowed"
    )
    with pytest.raises(ExprError, match=r"allowed: COALESCE, ABS, LEAST, GREATEST"):
        parse_expr("random()")


def test_position_on_later_line() -> None:
    text = "plan = 'pro'\n  AND random() > 0.5"
    with pytest.raises(ExprError) as info:
        parse_expr(text)
    assert info.value.position == text.index("random")


def test_non_text_is_rejected() -> None:
    with pytest.raises(ExprError, match="must be text"):
        parse_expr(5)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- metadata


@pytest.mark.parametrize(
    ("text", "columns"),
    [
        ("CASE WHEN employees >= 50 THEN 'good fit' ELSE 'bad fit' END", {"employees"}),
        ('"plan name" = plan AND "Plan" > 1', {"plan name", "plan", "Plan"}),
        ("COALESCE(ltv, 0) / NULLIF_GUARD", {"ltv", "NULLIF_GUARD"}),
        ("active_users_change < -0.3", {"active_users_change"}),
        ("survey = 'nps'", {"survey"}),
        ("1 + 2", set()),
        ("date >= DATE '2026-01-01' AND timestamp IS NOT NULL", {"date", "timestamp"}),
        ("comment LIKE '%great%' OR value > 1", {"comment", "value"}),
    ],
)
def test_columns(text: str, columns: set[str]) -> None:
    expr = parse_expr(text)
    assert isinstance(expr, Expr)
    assert expr.text == text
    assert expr.columns == frozenset(columns)


@pytest.mark.parametrize(
    ("text", "boolean"),
    [
        ("plan = 'pro'", True),
        ("(a > 1 OR b IS NULL)", True),
        ("NOT flag", True),
        ("x IN (1, 2)", True),
        ("x BETWEEN 1 AND 2", True),
        ("x LIKE 'a%'", True),
        ("TRUE", True),
        ("CASE WHEN a THEN b > 1 ELSE FALSE END", True),
        ("a / b", False),
        ("plan", False),
        ("CASE WHEN a > 1 THEN 'x' END", False),
        ("COALESCE(a, 0)", False),
    ],
)
def test_is_boolean(text: str, boolean: bool) -> None:
    assert parse_expr(text).is_boolean() is boolean


def test_expression_is_reusable() -> None:
    expr = parse_expr("a + 1")
    assert _same(evaluate_on_both(FRAME, expr.to_narwhals()), [2, 3, N, 5, 1, -2])
    assert _same(evaluate_on_both(FRAME, expr.to_narwhals()), [2, 3, N, 5, 1, -2])


# --------------------------------------------------------------------------- property


def _py_div(a: int | None, b: int | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def _py_case(a: int | None, b: int | None) -> int | None:
    return a if a is not None and b is not None and a > b else b


PROPERTY_EXPRS: dict[str, Callable[[int | None, int | None], Any]] = {
    "a + b * 2 > 3": lambda a, b: None if a is None or b is None else a + b * 2 > 3,
    "a - b * (a + 1)": lambda a, b: None if a is None or b is None else a - b * (a + 1),
    "a / b": _py_div,
    "-a <= b": lambda a, b: None if a is None or b is None else -a <= b,
    "CASE WHEN a > b THEN a ELSE b END": _py_case,
    "a BETWEEN -10 AND b": lambda a, b: (
        None if a is None else (False if a < -10 else None if b is None else a <= b)
    ),
    "COALESCE(a, b, 0)": lambda a, b: a if a is not None else b if b is not None else 0,
}

_ints = st.integers(min_value=-1000, max_value=1000)


@settings(max_examples=50, deadline=None)
@given(rows=st.lists(st.tuples(_ints, st.one_of(st.none(), _ints)), min_size=1, max_size=8))
def test_arithmetic_agrees_with_python(rows: list[tuple[int, int | None]]) -> None:
    frame = pl.DataFrame(
        {"id": list(range(len(rows))), "a": [r[0] for r in rows], "b": [r[1] for r in rows]},
        schema={"id": pl.Int64, "a": pl.Int64, "b": pl.Int64},
    )
    exprs = {text: parse_expr(text).to_narwhals() for text in PROPERTY_EXPRS}
    for text, got in evaluate_all_on_both(frame, exprs).items():
        expected = [PROPERTY_EXPRS[text](a, b) for a, b in rows]
        assert _same(got, expected), (text, rows, got, expected)
