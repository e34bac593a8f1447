"""Hostile and broken specs (issue 15): every case is one clear message on stderr with
file:line:col, exit 78 (invalid spec) or 66 (the spec cannot be read), no traceback, and
no hang or memory blow-up. Run through the CLI the way a user would meet them."""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

import pytest

from cs_metrics.spec.loader import MAX_BYTES, MAX_DEPTH, MAX_NODES, load_yaml_text
from tests.helpers import invoke

BASE = """\
version: 1
as_of: 2026-10-31
sources:
  accounts:
    path: accounts.csv
  subscriptions:
    path: subs.csv
    columns: {account_id: customer, start_date: started, amount: price, plan: plan_name}
metrics:
  mrr: {type: mrr}
"""

ACCOUNTS = "account_id,region,employees\na1,EMEA,12\na2,NA,51-200\n"
SUBS = "customer,started,price,plan_name\na1,2026-01-01,100,pro\na2,2026-02-01,50,basic\n"


def write(tmp_path: Path, text: str | bytes, name: str = "metrics.yaml") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    (tmp_path / "accounts.csv").write_text(ACCOUNTS)
    (tmp_path / "subs.csv").write_text(SUBS)
    return path


def validate(path: Path, *, code: int = 78, stderr=None):
    result = invoke(["validate", "--spec", path], code=code, stderr=stderr)
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    return result


def bounded(fn, *, seconds: float = 5.0, megabytes: float = 50.0):
    """Run fn twice: assert it returns within ``seconds``, and that its peak allocation
    stays under ``megabytes`` (tracemalloc, which slows the run: Python allocations, which
    is where YAML expands)."""
    start = time.perf_counter()
    out = fn()
    elapsed = time.perf_counter() - start
    assert elapsed < seconds, f"took {elapsed:.1f} s"
    tracemalloc.start()
    try:
        fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < megabytes * 1e6, f"peak {peak / 1e6:.0f} MB"
    return out


# --------------------------------------------------------------------------- unsafe YAML

BILLION_LAUGHS = """\
version: 1
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def test_alias_bomb_is_refused_fast_with_bounded_memory(tmp_path):
    """9**9 (387 million) "lol"s from ten lines: this used to run for minutes. The count
    crosses MAX_NODES (100,000) inside f (9**6 = 531,441 values), reported at f's key."""
    ld = bounded(lambda: load_yaml_text(BILLION_LAUGHS, "m.yaml"))
    assert ld.data is None
    [p] = ld.problems
    assert p.location == "m.yaml:7:1"
    assert f"more than {MAX_NODES:,} values" in p.message and "alias" in p.message
    path = write(tmp_path, BILLION_LAUGHS)
    start = time.perf_counter()
    validate(path, stderr=[f"{path}:7:1: error: f: the spec expands to more than 100,000"])
    assert time.perf_counter() - start < 5


def test_an_alias_inside_its_own_anchor_is_refused(tmp_path):
    """a: &a [*a] is a list that contains itself: building it used to recurse until
    RecursionError (exit 70)."""
    path = write(tmp_path, "version: 1\na: &a [*a]\n")
    validate(path, stderr=f"{path}:2:4: error: an alias *name inside the value its &name")


def test_aliases_within_the_limits_still_work():
    text = "a: &x [1, 2, 3]\nb: [*x, *x, *x]\n"
    ld = load_yaml_text(text, "m.yaml")
    assert ld.problems == [] and ld.data["b"] == [[1, 2, 3]] * 3


@pytest.mark.parametrize(
    ("nested", "where"),
    [
        # flow lists: the root mapping is level 1, x's list level 2 at column 4
        ("x: " + "[" * 5000 + "]" * 5000, f"2:{4 + MAX_DEPTH - 1}"),
        # flow maps: the key `a` of the mapping at level MAX_DEPTH - 1 (4 columns a level)
        ("x: " + "{a: " * 3000 + "1" + "}" * 3000, f"2:{4 + 4 * (MAX_DEPTH - 2) + 1}"),
        ("x:\n" + "".join("  " * (i + 1) + "a:\n" for i in range(300)), f"{MAX_DEPTH + 1}:"),
    ],
    ids=["lists", "maps", "indented"],
)
def test_deep_nesting_is_refused_with_a_position(tmp_path, nested, where):
    """PyYAML's composer recurses once per level: 5,000 [ used to end in RecursionError."""
    text = "version: 1\n" + nested + "\n"
    ld = bounded(lambda: load_yaml_text(text, "m.yaml"))
    [p] = ld.problems
    assert p.location.startswith(f"m.yaml:{where}")
    assert f"more than {MAX_DEPTH} levels deep" in p.message
    validate(write(tmp_path, text), stderr="levels deep")


def test_nesting_a_real_spec_needs_is_fine():
    text = "a:\n" + "".join("  " * (i + 1) + "a:\n" for i in range(20)) + "  " * 21 + "1\n"
    assert load_yaml_text(text, "m.yaml").problems == []


@pytest.mark.parametrize(
    "tagged",
    [
        "!!python/object/apply:os.system ['touch pwned']",
        "!!python/name:os.system",
        "!!python/object/new:os.system [ls]",
        "!!binary aGVsbG8=",
    ],
)
def test_python_and_other_tags_are_refused_never_run(tmp_path, tagged):
    path = write(tmp_path, f"version: 1\nx: {tagged}\n")
    validate(path, stderr=[f"{path}:2:4:", "unsupported YAML tag", "never run"])
    assert not (tmp_path / "pwned").exists()


# --------------------------------------------------------------------------- bytes


def test_latin1_spec_names_the_byte_and_its_position(tmp_path):
    path = write(tmp_path, "version: 1\ncurrency: \xa3\n".encode("latin-1"))
    validate(
        path,
        stderr=[
            f"invalid spec {path}: not UTF-8 text",
            f"{path}:2:11: error: byte 0xA3 is not UTF-8",
            "Latin-1 or Windows-1252",
            "re-save the spec as UTF-8",
        ],
    )


def test_utf16_spec_says_utf16(tmp_path):
    path = write(tmp_path, "version: 1\n".encode("utf-16"))
    validate(path, stderr=f"{path}:1:1: error: the spec is UTF-16 text; csm reads UTF-8")


def test_utf8_with_a_byte_order_mark_is_fine(tmp_path):
    path = write(tmp_path, b"\xef\xbb\xbf" + BASE.encode())
    invoke(["validate", "--spec", path], stderr="are valid")


def test_control_character_has_a_position_and_one_line(tmp_path):
    path = write(tmp_path, b"version: 1\ncurrency: US\x00D\n")
    result = validate(path, stderr=f"{path}:2:13: error: character #x0000 is not allowed")
    assert "<unicode string>" not in result.stderr  # PyYAML's excerpt used to follow


def test_oversized_spec_is_refused_without_reading_it(tmp_path):
    path = write(tmp_path, "version: 1\n" + "# padding\n" * (MAX_BYTES // 10 + 1))
    validate(path, stderr=["the spec is 1,048,", "the limit is 1,048,576"])


# --------------------------------------------------------------------------- not a file


def test_spec_directory_points_at_the_file_inside(tmp_path):
    """SPEC.md: 66 is 'an input file missing or unreadable'; a directory is not a file."""
    write(tmp_path, BASE)
    result = invoke(
        ["validate", "--spec", tmp_path],
        code=66,
        stderr=[
            f"spec {tmp_path} (from --spec) is a directory, not a file",
            f"--spec {tmp_path / 'metrics.yaml'}",
        ],
    )
    assert "not found" not in result.stderr


def test_spec_directory_from_the_environment(tmp_path):
    invoke(
        ["validate"],
        code=66,
        env={"CSM_SPEC": str(tmp_path)},
        stderr=f"spec {tmp_path} (from $CSM_SPEC) is a directory, not a file",
    )


def test_spec_device_is_not_a_regular_file():
    invoke(["validate", "--spec", "/dev/null"], code=66, stderr="is not a regular file")


# --------------------------------------------------------------------------- wrong values

HEALTH = (
    BASE
    + """\
health:
  components:
    c: {metric: mrr, scale: [0, 1000]}
"""
)


def at(text: str, needle: str) -> str:
    """'line:col' of the first occurrence of needle."""
    idx = text.index(needle)
    return f"{text.count(chr(10), 0, idx) + 1}:{idx - (text.rfind(chr(10), 0, idx) + 1) + 1}"


@pytest.mark.parametrize(
    ("line", "needle", "message"),
    [
        (
            '    w: {metric: mrr, weight: "high", scale: [0, 1]}',
            "weight",
            "health.components.w.weight: 'high' is not a number",
        ),
        (
            "    w: {metric: mrr, weight: 0, scale: [0, 1]}",
            "weight",
            "health.components.w.weight: must be greater than 0, got 0",
        ),
        (
            "    w: {metric: mrr, weight: -3, scale: [0, 1]}",
            "weight",
            "health.components.w.weight: must be greater than 0, got -3",
        ),
        (
            "    w: {metric: mrr, weight: .inf, scale: [0, 1]}",
            "weight",
            "health.components.w.weight: inf is not a finite number",
        ),
        (
            "    w: {metric: mrr, scale: [10, 10]}",
            "scale",
            "health.components.w.scale: worst and best must differ, got [10, 10]",
        ),
        (
            "    w: {metric: mrr, scale: [1, 2, 3]}",
            "scale",
            "health.components.w.scale: write [worst, best], two numbers, e.g. [0, 10]; got "
            "[1, 2, 3]",
        ),
        (
            "    w: {metric: mrr, thresholds: [{above: 30, score: 50}, {above: 60, score: 0}, "
            "{score: 100}]}",
            "thresholds",
            "health.components.w.thresholds: step 2 (above: 60) can never apply: step 1 "
            "(above: 30) already takes every value above 30",
        ),
    ],
    ids=[
        "text-weight",
        "zero-weight",
        "negative-weight",
        "inf-weight",
        "flat-scale",
        "3-scale",
        "steps-order",
    ],
)
def test_bad_health_component_values_are_located(tmp_path, line, needle, message):
    text = HEALTH + line + "\n"
    path = write(tmp_path, text)
    where = at(text, line).split(":")[0] + ":" + str(line.index(needle) + 1)
    validate(path, stderr=f"{path}:{where}: error: {message}")


def test_health_bands_out_of_order_are_an_error_with_the_fix(tmp_path):
    """{red: 70, yellow: 40} was accepted: bands are ordered by cut-off, so yellow (below
    40) became the worst band and red the middle one."""
    text = HEALTH + "  bands: {red: 70, yellow: 40}\n"
    path = write(tmp_path, text)
    validate(
        path,
        stderr=[
            f"{path}:{at(text, 'bands')}: error: health.bands: out of order: red: 70 comes "
            "before yellow: 40",
            "(did you mean {red: 40, yellow: 70}?)",
        ],
    )


def test_bands_in_order_still_load(tmp_path):
    text = HEALTH + "  bands: {red: 30, yellow: 60, green: 85, champion: 100}\n"
    invoke(["validate", "--spec", write(tmp_path, text)], stderr="are valid")


@pytest.mark.parametrize(
    ("setting", "needle", "message"),
    [
        (
            "grain: fortnight\n",
            "grain",
            "grain: 'fortnight' is not allowed; allowed: 'week', 'month', 'quarter' or 'year'",
        ),
        (
            "health:\n  components:\n    c: {metric: mrr, scale: [0, 1]}\n  missing: ignore\n",
            "missing",
            "health.missing: 'ignore' is not allowed; allowed: 'renormalize', 'zero' or 'neutral'",
        ),
        (
            "alerts:\n  - {name: big, when: 'mrr > 1', severity: urgent}\n",
            "severity",
            "alerts.0.severity: 'urgent' is not allowed; allowed: 'low', 'medium', 'high' or "
            "'critical'",
        ),
        (
            "alerts:\n  - {name: big, when: 'mrr > 1', severity: hihg}\n",
            "severity",
            "alerts.0.severity: 'hihg' is not allowed (did you mean 'high'?)",
        ),
    ],
    ids=["grain", "missing", "severity", "did-you-mean"],
)
def test_bad_enum_values_are_echoed_beside_the_allowed_ones(tmp_path, setting, needle, message):
    text = BASE + setting
    path = write(tmp_path, text)
    validate(path, stderr=f"{path}:{at(text, needle)}: error: {message}")


def test_bad_encoding_option_is_echoed(tmp_path):
    text = BASE.replace(
        "    path: accounts.csv\n", "    path: accounts.csv\n    options: {encoding: ebcdic}\n"
    )
    path = write(tmp_path, text)
    validate(
        path,
        stderr=f"{path}:{at(text, 'encoding')}: error: sources.accounts.options.encoding: "
        "'ebcdic' is not allowed; allowed: 'utf8', 'utf-8', 'utf8-lossy', 'utf16', 'utf-16', "
        "'latin1', 'latin-1', 'iso-8859-1', 'cp1252' or 'windows-1252'",
    )


# --------------------------------------------------------------------------- SQL


def with_metric(options: str, extra: str = "") -> str:
    return BASE + f"  m2: {{type: mrr, {options}}}\n" + extra


def filter_spec(text: str) -> str:
    import json

    return with_metric(f"filter: {json.dumps(text)}")


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("plan = 'x'; DROP TABLE x", 'only one expression is allowed: found ";" at position 10'),
        (
            "read_csv('/etc/passwd') IS NOT NULL",
            "function READ_CSV() is not allowed in expressions (allowed: COALESCE, ABS, LEAST, "
            "GREATEST) at position 0",
        ),
        ("lower(plan) = 'pro'", "function LOWER() is not allowed in expressions"),
        ("plan IN (SELECT plan FROM x)", "unknown construct SELECT at position 8"),
        ("getenv('HOME') = 'x'", "function GETENV() is not allowed"),
    ],
    ids=["semicolon", "read_csv", "unknown-function", "subquery", "getenv"],
)
def test_sql_outside_the_whitelist_is_a_spec_error(tmp_path, sql, message):
    text = filter_spec(sql)
    path = write(tmp_path, text)
    invoke(
        ["compute", "m2", "--spec", path],
        code=78,
        stderr=f"{path}:{at(text, 'filter')}: error: metrics.m2.filter: {message}",
    )


def test_a_4000_term_or_filter_runs(tmp_path):
    """sqlglot builds a 4,000-deep tree for a OR b OR ...; translating it recursed 4,000
    deep (RecursionError, exit 70). The chain is regrouped as a balanced tree: plan is
    'pro' for a1 (100) and 'basic' for a2 (50); p0..p3997 match nothing, so the filter
    keeps a1 only: MRR 100 in 2026-10."""
    sql = " OR ".join([*(f"plan = 'p{i}'" for i in range(3998)), "plan = 'pro'", "plan = 'x'"])
    path = write(tmp_path, filter_spec(sql))
    invoke(["compute", "m2", "--period", "2026-10", "--spec", path], stdout="2026-10,m2,100.0,USD")


def test_a_4000_term_and_filter_runs_on_duckdb_too(tmp_path):
    """a2 (basic, 50) is the only account whose plan is none of p0..p3999."""
    sql = " AND ".join(f"plan <> 'p{i}'" for i in range(4000)) + " AND plan <> 'pro'"
    path = write(tmp_path, filter_spec(sql))
    invoke(
        ["compute", "m2", "--period", "2026-10", "--spec", path, "--engine", "duckdb"],
        stdout="2026-10,m2,50.0,USD",
    )


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        (
            "(" * 40 + "plan = 'x'" + ")" * 40,
            "nests 40 levels deep (parentheses inside each other; the limit is 32)",
        ),
        ("(" * 5000 + "plan = 'x'" + ")" * 5000, "nests 5000 levels deep"),
        (
            " + ".join(["amount"] * 4000) + " > 1",
            "deep (parentheses, NOT, CASE or arithmetic inside each other; the limit is 100)",
        ),
        ("NOT " * 5000 + "plan = 'x'", "nests too many levels deep"),
    ],
    ids=["40-parens", "5000-parens", "4000-plus", "5000-not"],
)
def test_deeply_nested_expressions_are_refused(tmp_path, sql, message):
    path = write(tmp_path, filter_spec(sql))
    start = time.perf_counter()
    result = validate(path, stderr=["metrics.m2.filter: expression", message])
    assert time.perf_counter() - start < 10
    assert len(result.stderr) < 1000  # the expression is shortened in the message


# --------------------------------------------------------------------------- types


@pytest.mark.parametrize("engine", ["polars", "duckdb"])
def test_text_column_compared_with_a_number_names_the_column(tmp_path, engine):
    """plan (subscriptions.columns maps it: a string) > 5 was a BinderException on DuckDB
    (exit 70) and an unlocated ComputeError on polars (exit 65)."""
    text = filter_spec("plan > 5")
    path = write(tmp_path, text)
    invoke(
        ["compute", "m2", "--spec", path, "--engine", engine],
        code=78,
        stderr=[
            f"{path}:{at(text, 'filter')}: error: metrics.m2.filter: column plan (text) is "
            'compared with the number 5 at position 7 in "plan > 5"',
            "compare it with text ('5')",
        ],
    )


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        (
            "dimensions:\n  size: \"CASE WHEN employees >= 100 THEN 'big' ELSE 'small' END\"\n",
            "dimension size: column employees (text) is compared with the number 100",
        ),
        (
            "health:\n  components:\n    c: {metric: mrr, scale: [0, 1]}\n  segments:\n"
            "    - {name: big, when: 'employees > 50'}\n",
            "health.segments.big.when: column employees (text) is compared with the number 50",
        ),
    ],
    ids=["dimension", "segment"],
)
def test_declared_text_attribute_compared_with_a_number(tmp_path, setting, message):
    """accounts declare employees as text (its values are buckets such as 51-200)."""
    text = (
        BASE.replace(
            "    path: accounts.csv\n", "    path: accounts.csv\n    dtypes: {employees: string}\n"
        )
        + setting
    )
    validate(write(tmp_path, text), stderr=message)


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("amount = 'x'", "column amount (number) is compared with the text 'x'"),
        ("amount = '5'", "write the number without quotes (5)"),
        ("start_date > '2026-01-01'", "write a date as DATE '2026-01-01'"),
        ("plan LIKE 'p%' AND amount LIKE '1%'", "LIKE matches text, but column amount (number)"),
        ("plan * 2 > 1", "arithmetic needs numbers, but column plan (text) is not one"),
    ],
)
def test_other_kind_clashes_on_typed_columns(tmp_path, sql, message):
    validate(write(tmp_path, filter_spec(sql)), stderr=message)


@pytest.mark.parametrize(
    "sql",
    [
        "plan = 'pro'",
        "amount > 5",
        "start_date >= DATE '2026-01-01'",
        "CAST(plan AS DOUBLE) > 5",
        "region = 'EMEA'",  # an account attribute: its type is only known from the file
        "employees > 5",
    ],
)
def test_comparisons_of_one_kind_or_unknown_columns_are_not_judged(tmp_path, sql):
    invoke(["validate", "--spec", write(tmp_path, filter_spec(sql))], stderr="are valid")


def test_frame_check_shows_number_like_buckets_but_not_names():
    """For the engine, before running: the kinds come from the frame; a text column's
    values are shown only when number-like (a company name is customer data)."""
    import duckdb
    import narwhals.stable.v2 as nw
    import polars as pl

    from cs_metrics.expr import parse_expr
    from cs_metrics.expr_types import frame_type_error

    df = pl.DataFrame(
        {"employees": ["51-200", "11-50", None, "1,000+", "51-200"], "name": list("abcde")}
    )
    rel = duckdb.sql("select * from df")
    for frame in (nw.from_native(df.lazy()), nw.from_native(rel)):
        err = frame_type_error(parse_expr("employees >= 100"), frame)
        assert err is not None and err.position == 13
        assert "column employees (text) is compared with the number 100" in err.message
        assert "its values look like '1,000+', '11-50', '51-200'" in err.message
        err = frame_type_error(parse_expr("name > 3"), frame)
        assert "column name (text)" in err.message and "values look like" not in err.message
        assert frame_type_error(parse_expr("employees = '51-200'"), frame) is None


def test_nesting_through_aliases_is_limited_too():
    """40 levels anchored, used 40 levels deep: 80 levels once built (the composer saw
    at most 41)."""
    deep = "[" * 40 + "1" + "]" * 40
    text = f"a: &x {deep}\nb: {'[' * 39}*x{']' * 39}\n"
    ld = bounded(lambda: load_yaml_text(text, "m.yaml"))
    [p] = ld.problems
    assert p.location.startswith("m.yaml:2:")
    assert p.message.startswith("b: the spec nests lists and mappings more than 64 levels")
