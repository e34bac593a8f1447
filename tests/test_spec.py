"""The spec layer: the YAML loader (positions, duplicate keys, ambiguous booleans, syntax
errors), structural problems mapped to file:line:col with did-you-mean, whole-spec rules,
and where the spec is found."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest

from cs_metrics.errors import ExitCode, InputMissingError, Problem, SpecError
from cs_metrics.spec import DEFAULT_SPEC, Spec, find_spec, load_spec, parse_spec
from cs_metrics.spec.check import RESERVED
from cs_metrics.spec.loader import load_yaml_text

FILE = "m.yaml"


def loaded(text: str):
    return load_yaml_text(dedent(text).lstrip("\n"), FILE)


def parse(text: str) -> Spec:
    return parse_spec(loaded(text), Path(FILE))


def problems(text: str) -> list[Problem]:
    """The problems a spec text raises (it must be invalid)."""
    with pytest.raises(SpecError) as info:
        parse(text)
    assert info.value.exit_code == ExitCode.CONFIG
    return info.value.problems


def at(text: str, needle: str, nth: int = 0) -> str:
    """'m.yaml:line:col' of the nth occurrence of needle in the dedented text."""
    text = dedent(text).lstrip("\n")
    idx = -1
    for _ in range(nth + 1):
        idx = text.index(needle, idx + 1)
    line = text.count("\n", 0, idx) + 1
    col = idx - (text.rfind("\n", 0, idx) + 1) + 1
    return f"{FILE}:{line}:{col}"


def only(text: str) -> Problem:
    found = problems(text)
    assert len(found) == 1, [str(p) for p in found]
    return found[0]


# --------------------------------------------------------------------------- loader

POSITIONS = """\
version: 1
sources:
  accounts:
    path: a.csv
    columns: {account_id: id}
metrics:
  mrr: {type: mrr}
  list: [first, second]
"""


def test_loader_data_and_no_problems():
    ld = loaded(POSITIONS)
    assert ld.problems == []
    assert ld.data == {
        "version": 1,
        "sources": {"accounts": {"path": "a.csv", "columns": {"account_id": "id"}}},
        "metrics": {"mrr": {"type": "mrr"}, "list": ["first", "second"]},
    }


@pytest.mark.parametrize(
    ("path", "line_col"),
    [
        ((), (1, 1)),
        (("version",), (1, 1)),
        (("sources",), (2, 1)),
        (("sources", "accounts"), (3, 3)),
        (("sources", "accounts", "path"), (4, 5)),
        (("sources", "accounts", "columns"), (5, 5)),
        (("sources", "accounts", "columns", "account_id"), (5, 15)),
        (("metrics", "mrr"), (7, 3)),
        (("metrics", "mrr", "type"), (7, 9)),
        (("metrics", "list", 0), (8, 10)),
        (("metrics", "list", 1), (8, 17)),
    ],
)
def test_loader_records_line_and_column_per_path(path, line_col):
    ld = loaded(POSITIONS)
    assert ld.positions[path] == line_col
    assert ld.where(path) == f"{FILE}:{line_col[0]}:{line_col[1]}"


def test_where_falls_back_to_the_deepest_known_parent():
    ld = loaded(POSITIONS)
    assert ld.where(("metrics", "mrr", "no_such_key")) == f"{FILE}:7:3"
    assert ld.where(("nothing", "here")) == f"{FILE}:1:1"


def test_positions_are_a_side_table_not_in_the_data():
    ld = loaded(POSITIONS)
    assert "__line__" not in str(ld.data)
    assert all(isinstance(k, tuple) for k in ld.positions)


def test_empty_file_is_an_empty_mapping():
    ld = loaded("")
    assert ld.data == {} and ld.problems == []
    assert loaded("# only a comment\n").data == {}


def test_duplicate_key_is_a_problem_at_the_second_occurrence():
    text = """\
    metrics:
      mrr: {type: mrr}
      arr: {type: arr}
      mrr: {type: nrr}
    """
    ld = loaded(text)
    assert len(ld.problems) == 1
    p = ld.problems[0]
    assert p.code == "duplicate-key"
    assert p.location == at(text, "mrr:", 1)
    assert "duplicate key 'mrr'" in p.message and "first defined on line 2" in p.message
    assert ld.data["metrics"]["mrr"] == {"type": "mrr"}  # the first is kept, nothing silent


def test_duplicate_keys_at_several_depths():
    text = """\
    version: 1
    sources:
      accounts: {path: a.csv, path: b.csv}
    version: 1
    """
    ld = loaded(text)
    assert [p.location for p in ld.problems] == [
        at(text, "path", 1),
        at(text, "version", 1),
    ]


def test_duplicate_key_makes_the_spec_invalid():
    p = only("metrics:\n  mrr: {type: mrr}\n  mrr: {type: mrr}\n")
    assert p.code == "duplicate-key"


def test_a_merged_key_is_overridden_by_the_mappings_own_as_yaml_says():
    """`<<: *anchor` shares a definition and the mapping's own keys override what it merges
    (YAML's merge key): not a duplicate. Two own keys of one name still are."""
    text = """\
    metrics:
      churn: &churn {type: customer_churn_rate, filter: "plan = 'basic'", label: Churn}
      churn_pro:
        <<: *churn
        filter: "plan = 'pro'"
    """
    ld = loaded(text)
    assert ld.problems == []
    assert ld.data["metrics"]["churn_pro"] == {
        "type": "customer_churn_rate",
        "filter": "plan = 'pro'",
        "label": "Churn",
    }
    assert ld.where(("metrics", "churn_pro", "filter")) == at(text, "filter", 1)
    spec = parse(text)
    assert spec.model.metrics["churn_pro"].filter == "plan = 'pro'"
    twice = loaded(text + "    filter: \"plan = 'max'\"\n")
    assert [p.code for p in twice.problems] == ["duplicate-key"]
    assert twice.problems[0].location == at(text + "    filter:", "filter", 2)


def test_of_several_merged_mappings_the_first_wins():
    ld = loaded(
        """\
        a: &a {x: 1, y: 1}
        b: &b {x: 2, z: 2}
        c: {<<: [*a, *b]}
        """
    )
    assert ld.problems == []
    assert ld.data["c"] == {"x": 1, "y": 1, "z": 2}


@pytest.mark.parametrize("word", ["yes", "no", "on", "off", "Yes", "NO", "On", "OFF"])
def test_ambiguous_boolean_values(word):
    text = f"metrics:\n  mrr: {{type: mrr, label: {word}}}\n"
    ld = loaded(text)
    assert [p.code for p in ld.problems] == ["ambiguous-bool"]
    p = ld.problems[0]
    assert p.location == at(text, word)
    assert f"{word!r} is read as a boolean" in p.message
    assert "true or false" in p.message and f"'{word}'" in p.message


def test_ambiguous_boolean_as_a_key():
    ld = loaded("on: 1\n")
    assert ld.problems[0].code == "ambiguous-bool"
    assert ld.problems[0].location == f"{FILE}:1:1"


@pytest.mark.parametrize(
    "value", ["true", "false", "True", "'yes'", '"no"', "y", "n", "yes please"]
)
def test_unambiguous_values_are_fine(value):
    ld = loaded(f"a: {value}\n")
    assert ld.problems == []


@pytest.mark.parametrize(
    ("text", "where", "what"),
    [
        ("version: 1\nmetrics:\n  mrr: {type: mrr\nas_of: 2026-01-01\n", "4:6", "flow mapping"),
        ("a:\n\tb: 1\n", "2:1", "'\\t'"),
        ("a: 'unterminated\nb: 2\n", "3:1", "quoted scalar"),
        ("a: [1, 2\n", "2:1", "flow sequence"),
        ("a: 1\n b: 2\n", "2:3", "mapping values are not allowed"),
    ],
)
def test_syntax_error_has_a_position(text, where, what):
    ld = load_yaml_text(text, FILE)
    assert ld.data is None
    assert len(ld.problems) == 1
    p = ld.problems[0]
    assert p.code == "yaml"
    assert p.location == f"{FILE}:{where}"
    assert p.message.startswith("YAML syntax error")
    assert what in p.message
    with pytest.raises(SpecError) as info:
        parse_spec(ld, Path(FILE))
    assert info.value.problems == [p]


def test_unsafe_scalar_tag_is_refused_with_a_position_on_one_line():
    ld = load_yaml_text("a: 1\nb: !!python/object:os.system ls\n", FILE)
    assert ld.data is None
    p = ld.problems[0]
    assert p.location == f"{FILE}:2:4"
    assert "constructor" in p.message
    assert "\n" not in p.message  # not PyYAML's multi-line excerpt


@pytest.mark.parametrize(
    "value", ["!!python/object/apply:os.system [ls]", "!!set {a, b}", "!custom {a: 1}"]
)
def test_tags_on_collections_are_refused(value):
    """The builder walks collections itself; a tag on one used to be silently ignored."""
    text = f"a: 1\nb: {value}\n"
    ld = load_yaml_text(text, FILE)
    assert [p.code for p in ld.problems] == ["yaml"]
    assert ld.problems[0].location == f"{FILE}:2:4"
    assert "unsupported YAML tag" in ld.problems[0].message


def test_anchors_and_merge_keys_work():
    ld = loaded("a: &x {k: 1}\nb: *x\nc: {<<: *x, j: 2}\n")
    assert ld.problems == []
    assert ld.data == {"a": {"k": 1}, "b": {"k": 1}, "c": {"k": 1, "j": 2}}


def test_invalid_yaml_date_is_a_problem_not_a_crash():
    """YAML reads 2026-13-45 as a timestamp; the ValueError used to escape (exit 70)."""
    text = "version: 1\nas_of: 2026-13-45\n"
    p = only(text)
    assert p.location == at(text, "2026-13-45")
    assert "'2026-13-45' is not a valid date" in p.message and "YYYY-MM-DD" in p.message


def test_yaml_dates_are_dates():
    spec = parse("version: 1\nas_of: 2026-10-31\n")
    assert str(spec.model.as_of) == "2026-10-31"


def test_spec_must_be_a_mapping():
    p = only("- a\n- b\n")
    assert "must be a mapping" in p.message


# --------------------------------------------------------------------------- structure

SOURCES = """\
sources:
  accounts: {path: accounts.csv}
  subscriptions: {path: subs.csv}
"""


@pytest.mark.parametrize(
    ("text", "key", "suggestion", "owner"),
    [
        (
            f"version: 1\n{SOURCES}metircs:\n  mrr: {{type: mrr}}\n",
            "metircs",
            "metrics",
            "the spec",
        ),
        (
            "sources:\n  accounts: {path: a.csv, colums: {}}\n",
            "colums",
            "columns",
            "sources.accounts",
        ),
        (
            "sources:\n  subscriptions:\n    path: s.csv\n    options: {delimeter: ';'}\n",
            "delimeter",
            "delimiter",
            "sources.subscriptions.options",
        ),
        (
            f"{SOURCES}metrics:\n  mrr: {{type: mrr, fitler: \"plan = 'pro'\"}}\n",
            "fitler",
            "filter",
            "metrics.mrr",
        ),
        (f"{SOURCES}metrics:\n  nrr: {{type: nrr, windw: 3}}\n", "windw", "window", "metrics.nrr"),
        (
            f"{SOURCES}metrics:\n  mrr: {{type: mrr}}\nhealth:\n  components:\n    m: {{metric: mrr, wieght: 2}}\n",
            "wieght",
            "weight",
            "health.components.m",
        ),
        (
            f"{SOURCES}metrics:\n  mrr: {{type: mrr}}\nalerts:\n  - {{name: low, when: 'mrr < 1', severty: high}}\n",
            "severty",
            "severity",
            "alerts.0",
        ),
    ],
    ids=[
        "top-level",
        "source",
        "source-options",
        "metric-filter",
        "metric-option",
        "health",
        "alert",
    ],
)
def test_unknown_key_with_did_you_mean_at_several_depths(text, key, suggestion, owner):
    p = only(text)
    assert p.code == "unknown-key"
    assert p.location == at(text, key)
    assert f"unknown key {key!r} in {owner}" in p.message
    assert f"did you mean {suggestion!r}?" in p.message
    assert "allowed:" in p.message and suggestion in p.message.split("allowed:")[1]


def test_unknown_key_without_a_close_match_lists_the_allowed_keys():
    p = only("zzzz: 1\n")
    assert "did you mean" not in p.message
    assert "allowed: version, currency, grain" in p.message


def test_unknown_metric_type_with_suggestion():
    text = f"{SOURCES}metrics:\n  churn: {{type: customer_churn}}\n"
    p = only(text)
    assert p.code == "unknown-type"
    assert p.location == at(text, "churn:")
    assert "unknown metric type 'customer_churn'" in p.message
    assert "did you mean 'customer_churn_rate'?" in p.message


def test_metric_without_a_type():
    text = f"{SOURCES}metrics:\n  m: {{filter: x}}\n"
    p = only(text)
    assert p.code == "missing-type" and p.location == at(text, "m:")


def test_missing_required_key_points_at_its_parent():
    text = "sources:\n  accounts: {columns: {}}\n"
    p = only(text)
    assert p.code == "missing"
    assert p.location == at(text, "accounts")
    assert "sources.accounts.path" in p.message


@pytest.mark.parametrize(
    ("text", "needle", "message"),
    [
        ("grain: monthly\n", "grain", "'month'"),
        ("version: 2\n", "version", "1"),
        ("currency: usd\n", "currency", "pattern"),
        ("sources:\n  surveys: {path: s.csv, format: xlsx}\n", "format", "'parquet'"),
        ("sources:\n  surveys: {path: s.csv, options: {skip_rows: -1}}\n", "skip_rows", "0"),
        ("sources: []\n", "sources", "dictionary"),
        ("metrics:\n  nrr: {type: nrr, window: soon}\n", "window", "integer"),
    ],
)
def test_type_and_enum_errors_have_positions(text, needle, message):
    p = only(text)
    assert p.location == at(text, needle)
    assert message in p.message


def test_unknown_source_role_with_suggestion():
    text = "sources:\n  accounts: {path: a.csv}\n  subscription: {path: s.csv}\n"
    p = only(text)
    assert p.code == "unknown-role"
    assert p.location == at(text, "subscription:")
    assert "did you mean 'subscriptions'?" in p.message
    assert "roles: accounts, subscriptions" in p.message


def test_non_canonical_column_key_for_a_non_accounts_role():
    text = "sources:\n  invoices:\n    path: i.csv\n    columns: {ammount: total, account_id: customer}\n"
    p = only(text)
    assert p.code == "unknown-column"
    assert p.location == at(text, "ammount")
    assert "'ammount' is not a canonical column of invoices" in p.message
    assert "did you mean 'amount'?" in p.message


def test_accounts_may_map_any_attribute():
    spec = parse(
        "sources:\n  accounts: {path: a.csv, columns: {account_id: id, tier: plan_name}}\n"
    )
    assert spec.model.sources["accounts"].columns == {"account_id": "id", "tier": "plan_name"}


def test_structure_problems_are_all_reported_in_file_order():
    text = f"""\
    grain: monthly
    {SOURCES.replace(chr(10), chr(10) + "    ").rstrip()}
      tickets: {{path: t.csv, colums: {{}}}}
    metrics:
      m: {{type: mmr}}
      n: {{type: nrr, windw: 3}}
    dimension: {{}}
    """
    found = problems(text)
    locations = [p.location for p in found]
    assert locations == [
        at(text, "grain"),
        at(text, "colums"),
        at(text, "m:"),
        at(text, "windw"),
        at(text, "dimension:"),
    ]
    assert [p.level for p in found] == ["error"] * 5


def test_loader_and_structure_problems_are_reported_together():
    text = "metircs: {}\nmetircs: {}\nlabel: yes\n"
    found = problems(text)
    assert {p.code for p in found} >= {"duplicate-key", "unknown-key", "ambiguous-bool"}
    assert [p.location for p in found] == sorted(
        (p.location for p in found), key=lambda s: tuple(int(x) for x in s.split(":")[1:])
    )


def test_spec_error_message_counts_the_problems():
    with pytest.raises(SpecError) as info:
        parse("zzz: 1\nyyy: 2\n")
    assert info.value.message == f"invalid spec {FILE}: 2 problems"
    rendered = info.value.render().splitlines()
    assert rendered[0] == f"invalid spec {FILE}: 2 problems"
    assert rendered[1].startswith(f"{FILE}:1:1: error: unknown key 'zzz'")


# --------------------------------------------------------------------------- whole spec


def test_formula_cycle_between_two_metrics():
    text = f"""\
    {SOURCES.replace(chr(10), chr(10) + "    ").rstrip()}
    metrics:
      a: {{type: formula, expr: "b + 1"}}
      b: {{type: formula, expr: "a * 2"}}
    """
    p = only(text)
    assert p.code == "cycle"
    assert "formula cycle: a -> b -> a" in p.message
    assert p.location == at(text, "expr", 0)


def test_formula_self_cycle():
    p = only('metrics:\n  x: {type: formula, expr: "x + 1"}\n')
    assert p.code == "cycle" and "formula cycle: x -> x" in p.message


def test_longer_cycle_reported_once_and_acyclic_chains_are_fine():
    text = """\
    metrics:
      a: {type: formula, expr: "b"}
      b: {type: formula, expr: "c"}
      c: {type: formula, expr: "a"}
      d: {type: formula, expr: "e + e"}
      e: {type: formula, expr: "f * 2"}
      f: {type: formula, expr: "mrr"}
    """
    found = problems(text)
    assert [p.message.split(":")[0] for p in found] == ["formula cycle"]
    assert "a -> b -> c -> a" in found[0].message


def test_formula_naming_an_unknown_metric():
    text = 'metrics:\n  mrr: {type: mrr}\n  r: {type: formula, expr: "mrr / cutomers_x"}\n'
    p = only(text)
    assert p.code == "unknown-metric"
    assert p.location == at(text, "expr")
    assert "unknown metric 'cutomers_x'" in p.message


def test_formula_may_name_builtin_metric_types():
    spec = parse(f'{SOURCES}metrics:\n  ratio: {{type: formula, expr: "arr / customers"}}\n')
    assert spec.warnings == []


def test_bad_sql_in_a_filter_has_a_position():
    text = f"{SOURCES}metrics:\n  m: {{type: mrr, filter: \"plan = = 'x'\"}}\n"
    p = only(text)
    assert p.code == "expression"
    assert p.location == at(text, "filter")
    assert p.message.startswith("metrics.m.filter: ")


def test_bad_sql_in_a_dimension_has_a_position():
    text = "dimensions:\n  plan: plan\n  fit: 'CASE WHEN employees > 50'\n"
    p = only(text)
    assert p.code == "expression"
    assert p.location == at(text, "fit")
    assert "dimension fit" in p.message


def test_bad_sql_in_an_alert_condition():
    text = f"{SOURCES}metrics:\n  mrr: {{type: mrr}}\nalerts:\n  - {{name: low, when: 'mrr <'}}\n"
    p = only(text)
    assert p.code == "expression" and "alert low" in p.message
    assert p.location == at(text, "when")


def test_python_is_not_sql():
    p = only("metrics:\n  x: {type: formula, expr: \"__import__('os').system('ls')\"}\n")
    assert p.code == "expression"


@pytest.mark.parametrize("name", sorted(RESERVED))
def test_reserved_dimension_names(name):
    text = f"dimensions:\n  {name}: plan\n"
    p = only(text)
    assert p.code == "name"
    assert f"dimension name {name!r} is reserved" in p.message
    assert p.location == at(text, name)


def test_metric_names_must_be_snake_case():
    text = "metrics:\n  MRR: {type: mrr}\n  mrr-2: {type: mrr}\n"
    found = problems(text)
    assert [p.code for p in found] == ["name", "name"]


def test_metric_needing_an_unconfigured_source_is_a_warning():
    spec = parse("sources:\n  accounts: {path: a.csv}\nmetrics:\n  mrr: {type: mrr}\n")
    assert len(spec.warnings) == 1
    w = spec.warnings[0]
    assert w.level == "warning" and w.code == "unavailable"
    assert "subscriptions or invoices" in w.message
    assert w.location == f"{FILE}:4:3"


def test_aggregate_over_an_unconfigured_source_is_an_error():
    text = (
        "sources:\n  accounts: {path: a.csv}\nmetrics:\n  t: {type: aggregate, source: tickets}\n"
    )
    p = only(text)
    assert p.code == "unknown-source"
    assert p.location == at(text, "source: tickets")


def test_aggregate_agg_is_checked():
    text = "sources:\n  tickets: {path: t.csv}\nmetrics:\n  t: {type: aggregate, source: tickets, agg: avg}\n  u: {type: aggregate, source: tickets, agg: sum}\n"
    found = problems(text)
    assert [p.code for p in found] == ["agg", "agg"]
    assert "'avg' is not count" in found[0].message
    assert "needs a column" in found[1].message


def test_health_component_naming_an_unknown_metric():
    text = f"{SOURCES}metrics:\n  mrr: {{type: mrr}}\nhealth:\n  components:\n    m: {{metric: mrrr}}\n"
    p = only(text)
    assert p.code == "unknown-metric"
    assert "did you mean 'mrr'?" in p.message
    assert p.location == at(text, "metric: mrrr")


def test_whole_spec_problems_are_all_reported_in_file_order():
    text = """\
    dimensions:
      period: plan
    metrics:
      a: {type: formula, expr: "b"}
      b: {type: formula, expr: "a"}
      c: {type: formula, expr: "nope"}
      d: {type: mrr, filter: "plan = "}
    """
    found = problems(text)
    assert [p.code for p in found] == ["name", "cycle", "unknown-metric", "expression"]
    lines = [int(p.location.split(":")[1]) for p in found]
    assert lines == sorted(lines)


def test_valid_spec_loads(tmp_path):
    path = tmp_path / "metrics.yaml"
    path.write_text(
        dedent(
            """\
            version: 1
            currency: EUR
            grain: quarter
            as_of: 2026-10-31
            sources:
              accounts: {path: a.csv, columns: {account_id: id}}
              subscriptions: {path: s.csv, options: {delimiter: ";", null_values: ["-"]}}
            dimensions: {plan: plan, fit: "CASE WHEN employees >= 50 THEN 'good' ELSE 'bad' END"}
            metrics:
              mrr: {type: mrr}
              pro_mrr: {type: mrr, filter: "plan = 'pro'", label: Pro MRR}
              share: {type: formula, expr: "pro_mrr / mrr", unit: ratio}
            """
        )
    )
    spec = load_spec(path)
    assert spec.warnings == []
    assert spec.base_dir == tmp_path
    assert list(spec.model.metrics) == ["mrr", "pro_mrr", "share"]
    assert spec.model.grain == "quarter" and spec.model.currency == "EUR"
    assert spec.where("metrics", "share", "expr") == f"{path}:12:26"


def test_spec_not_utf8(tmp_path):
    path = tmp_path / "metrics.yaml"
    path.write_bytes("currency: \xa3\n".encode("latin-1"))
    with pytest.raises(SpecError, match="UTF-8"):
        load_spec(path)


# --------------------------------------------------------------------------- find_spec


@pytest.fixture
def dirs(tmp_path, monkeypatch):
    """cwd with a metrics.yaml, an env spec and an explicit spec, all distinct files."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    (cwd / DEFAULT_SPEC).write_text("version: 1\n")
    env = tmp_path / "env.yaml"
    env.write_text("version: 1\n")
    explicit = tmp_path / "explicit.yaml"
    explicit.write_text("version: 1\n")
    monkeypatch.chdir(cwd)
    monkeypatch.delenv("CSM_SPEC", raising=False)
    return cwd, env, explicit


def test_find_spec_option_beats_env_and_cwd(dirs, monkeypatch):
    _cwd, env, explicit = dirs
    monkeypatch.setenv("CSM_SPEC", str(env))
    assert find_spec(explicit) == explicit
    assert find_spec(str(explicit)) == explicit


def test_find_spec_env_beats_cwd(dirs, monkeypatch):
    _cwd, env, _explicit = dirs
    monkeypatch.setenv("CSM_SPEC", str(env))
    assert find_spec(None) == env


def test_find_spec_defaults_to_cwd(dirs):
    assert find_spec(None) == Path(DEFAULT_SPEC)
    assert find_spec(None).resolve() == (dirs[0] / DEFAULT_SPEC).resolve()


def test_find_spec_empty_env_is_ignored(dirs, monkeypatch):
    monkeypatch.setenv("CSM_SPEC", "")
    assert find_spec(None) == Path(DEFAULT_SPEC)


def test_find_spec_missing_option(dirs, tmp_path):
    with pytest.raises(InputMissingError, match="--spec") as info:
        find_spec(tmp_path / "nope.yaml")
    assert info.value.exit_code == ExitCode.NO_INPUT
    assert "nope.yaml" in info.value.message


def test_find_spec_missing_env_does_not_fall_back(dirs, monkeypatch, tmp_path):
    monkeypatch.setenv("CSM_SPEC", str(tmp_path / "gone.yaml"))
    with pytest.raises(InputMissingError, match=r"\$CSM_SPEC"):
        find_spec(None)


def test_find_spec_nothing_found_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CSM_SPEC", raising=False)
    with pytest.raises(InputMissingError) as info:
        find_spec(None)
    msg = info.value.message
    assert "`csm init`" in msg and "--spec" in msg and "CSM_SPEC" in msg


def test_find_spec_directory_is_not_a_spec(dirs, tmp_path):
    with pytest.raises(InputMissingError):
        find_spec(tmp_path)


def test_structure_and_expression_problems_in_one_run():
    """A misspelt key used to hide every SQL error until it was fixed (a second run)."""
    text = """
    version: 1
    sources:
      subscriptions: {path: s.csv}
    dimensions:
      big: "seats >"
    metrics:
      mrr: {type: mrr, fliter: "x = 1"}
      ent: {type: mrr, filter: "plan = = 'x'"}
      f: {type: formula, expr: "mrr +* 2"}
    alerts:
      - {name: a, when: "mrr >> 2", severity: high, action: x}
    """
    found = problems(text)
    # positions are those of the keys holding the expressions
    assert [p.location for p in found] == [
        at(text, "big"),
        at(text, "fliter"),
        at(text, "filter"),
        at(text, "expr"),
        at(text, "when"),
    ]
    assert "did you mean 'filter'" in found[1].message
    assert found[2].message.startswith("metrics.ent.filter: cannot parse")


# ---- the two parsers ---------------------------------------------------------------------
# libyaml parses (PyYAML's C parser: the spec loads ~4x faster, 14 ms against 52 ms for the
# repo's metrics.yaml); PyYAML's own composer, resolver and constructor build the values, and
# any error is worded by the pure-Python loader. Both must give the same data, positions and
# problems for every document.
TRICKY = """\
version: 1
flags: {a: yes, b: 'no', c: "on", d: off, e: true, f: ~}
dates: [2026-10-31, 2026-13-45, '2026-01-01']
numbers: [1, -2.5, 1e3, 0x1f, .inf]
base: &base {type: mrr, filter: "plan = 'pro'"}
metrics:
  mrr: *base
  mrr2:
    <<: *base
    label: MRR (pro)
  mrr2: {type: arpa}
text: |
  two
  lines
folded: >
  one
  line
"""


def _both(text: str):
    from cs_metrics.spec import loader

    fast = loader.load_yaml_text(text, FILE)
    saved = loader._CParser
    loader._CParser = None  # the pure-Python loader alone
    try:
        pure = loader.load_yaml_text(text, FILE)
    finally:
        loader._CParser = saved
    return fast, pure


@pytest.mark.parametrize(
    "text",
    [
        TRICKY,
        (Path(__file__).parent.parent / "metrics.yaml").read_text(),
        (Path(__file__).parent.parent / "cs_metrics" / "templates" / "metrics.yaml").read_text(),
        "a: [1, 2\nb: 3\n",  # a syntax error
        "a: 1\n\tb: 2\n",  # a tab
        "a: \x00\n",  # a control character
        "a: &x [*x]\n",  # an alias inside its own anchor
        "[" * 70 + "]" * 70,  # too deep
        "a: !!python/name:os.system x\n",
    ],
    ids=["tricky", "metrics.yaml", "template", "syntax", "tab", "nul", "self-alias", "deep", "tag"],
)
def test_the_c_parser_and_the_pure_loader_agree(text):
    from cs_metrics.spec import loader

    if loader._CParser is None:
        pytest.skip("PyYAML here has no libyaml")
    fast, pure = _both(text)
    assert fast.data == pure.data
    assert fast.positions == pure.positions
    assert [(p.message, p.location) for p in fast.problems] == [
        (p.message, p.location) for p in pure.problems
    ]


def test_a_valid_spec_is_parsed_by_libyaml(monkeypatch):
    """The fast path is the one taken: the pure-Python loader is not built for a valid spec
    (an ambiguous yes still reported: libyaml marks a plain scalar's style "", not None)."""
    from cs_metrics.spec import loader

    if loader._CParser is None:
        pytest.skip("PyYAML here has no libyaml")

    def refused(text):
        raise AssertionError("the pure-Python loader parsed a valid spec")

    monkeypatch.setattr(loader, "_SpecLoader", refused)
    out = loaded(TRICKY)
    assert out.data["metrics"]["mrr"] == {"type": "mrr", "filter": "plan = 'pro'"}
    codes = sorted(p.code for p in out.problems)
    assert codes == ["ambiguous-bool", "ambiguous-bool", "duplicate-key", "yaml"], out.problems
