"""Survey metrics (METRICS.md "Surveys"): NPS and its companions, CSAT, CES.

Fixtures are a handful of answers; every expected value is written as the arithmetic that
produces it. Every test runs on polars and DuckDB. Published worked examples from vendor
documentation are reproduced at the end, with their source.
"""

from __future__ import annotations

import math

import polars as pl
import pytest
from conftest import ENGINES, check, value, values

from cs_metrics.api import compute_metrics
from cs_metrics.errors import DataError, ExitCode, SpecError

NPS = "filter: \"survey = 'nps'\""
CSAT = "filter: \"survey = 'csat'\""
CES = "filter: \"survey = 'ces'\""


def spec_yaml(metrics: dict[str, str], sources: str = "surveys: {path: surveys.csv}", extra=""):
    lines = ["version: 1", "currency: USD", "sources:"]
    lines += ["  " + line for line in sources.strip().splitlines()]
    lines += extra.strip().splitlines()
    lines.append("metrics:")
    lines += [f"  {name}: {definition}" for name, definition in metrics.items()]
    return "\n".join(lines) + "\n"


def row(frame: pl.DataFrame, metric: str, period: str, **dims: str) -> dict:
    f = frame.filter((pl.col("metric") == metric) & (pl.col("period") == period))
    for k, v in dims.items():
        f = f.filter(pl.col(k) == v)
    assert f.height == 1, f"expected one row for {metric} {period} {dims}, got {f.height}"
    return f.row(0, named=True)


def moe(p: float, d: float, n: int) -> float:
    """1.96 x 100 x sqrt((p + d - (p - d)^2) / n), p and d the promoter/detractor shares."""
    return 1.96 * 100 * math.sqrt((p + d - (p - d) ** 2) / n)


# ---- the main fixture ------------------------------------------------------------------
# Line numbers (header = line 1) matter for the error tests.
# NPS, January 2026 (all answers): 10, 9, 6, 8, 3 -> promoters 10, 9; passive 8;
#   detractors 6, 3. Respondent u3 answers twice in January (6 on Jan 10, 8 on Jan 31 at
#   23:59:59): with per_respondent: latest only the 8 counts -> 10, 9, 8, 3.
# NPS, December 2025: one 0 on Dec 31 at 23:59:59 (not January).
# NPS, February 2026: 10 on Feb 1 at 00:00:00 and 9 -> all promoters.
# NPS, March 2026: no answers.
# CSAT, January: 5, 4, 4, 3, 1 (u3 answers 4 then 3). CES, January: 7, 6, 5, 4, 2, 1.
SURVEYS = """
    account_id,respondent_id,submitted_at,score,survey
    a1,u1,2025-12-31 23:59:59,0,nps
    a1,u1,2026-01-01 00:00:00,10,nps
    a1,u2,2026-01-15 12:00:00,9,nps
    a2,u3,2026-01-10 09:00:00,6,nps
    a2,u3,2026-01-31 23:59:59,8,nps
    a3,u4,2026-01-20 10:00:00,3,nps
    a3,u5,2026-02-01 00:00:00,10,nps
    a1,u1,2026-02-28 08:00:00,9,nps
    a1,u1,2026-01-05,5,csat
    a1,u2,2026-01-06,4,csat
    a2,u3,2026-01-07,4,csat
    a2,u3,2026-01-08,3,csat
    a3,u4,2026-01-09,1,csat
    a1,u1,2026-01-05,7,ces
    a1,u2,2026-01-05,6,ces
    a2,u3,2026-01-05,5,ces
    a2,u6,2026-01-05,4,ces
    a3,u4,2026-01-05,2,ces
    a3,u5,2026-01-05,1,ces
"""
ACCOUNTS = """
    account_id,plan
    a1,pro
    a2,pro
    a3,basic
"""
MAIN_METRICS = {
    "nps": f"{{type: nps, {NPS}}}",
    "responses": f"{{type: nps_responses, {NPS}}}",
    "promoters": f"{{type: nps_promoters, {NPS}}}",
    "passives": f"{{type: nps_passives, {NPS}}}",
    "detractors": f"{{type: nps_detractors, {NPS}}}",
    "moe": f"{{type: nps_margin_of_error, {NPS}}}",
    "nps_f": '{type: formula, expr: "100 * (promoters - detractors) / responses"}',
    "nps_latest": f"{{type: nps, {NPS}, per_respondent: latest}}",
    "responses_latest": f"{{type: nps_responses, {NPS}, per_respondent: latest}}",
    "moe_latest": f"{{type: nps_margin_of_error, {NPS}, per_respondent: latest}}",
    "nps_8_5": f"{{type: nps, {NPS}, promoter_at: 8, detractor_at: 5}}",
    "passives_8_5": f"{{type: nps_passives, {NPS}, promoter_at: 8, detractor_at: 5}}",
    "nps_5pt": f"{{type: nps, {CSAT}, scale: [1, 5], promoter_at: 5, detractor_at: 3}}",
    "csat": f"{{type: csat, {CSAT}}}",
    "csat_top": f"{{type: csat, {CSAT}, satisfied_at: 5}}",
    "csat_latest": f"{{type: csat, {CSAT}, per_respondent: latest}}",
    "csat_mean": f"{{type: csat_mean, {CSAT}}}",
    "csat_mean_latest": f"{{type: csat_mean, {CSAT}, per_respondent: latest}}",
    "ces": f"{{type: ces, {CES}}}",
    "ces_easy_rate": f"{{type: ces_easy_rate, {CES}}}",
    "ces_easy6": f"{{type: ces_easy_rate, {CES}, easy_at: 6}}",
    "ces_10pt": f"{{type: ces_easy_rate, {CES}, scale: [0, 10], easy_at: 7}}",
}
DIMS = """
dimensions:
  plan: plan
"""

EXPECTED = {
    "2026-01": {
        "nps": 100 * (2 - 2) / 5,
        "responses": 5,
        "promoters": 2,  # 10, 9
        "passives": 1,  # 8
        "detractors": 2,  # 6, 3
        "moe": moe(2 / 5, 2 / 5, 5),  # = 1.96 x 100 x sqrt(0.8 / 5) = 78.4
        "nps_f": 100 * (2 - 2) / 5,
        "nps_latest": 100 * (2 - 1) / 4,  # 10, 9, 8, 3: u3's 6 is replaced by its 8
        "responses_latest": 4,
        "moe_latest": moe(2 / 4, 1 / 4, 4),
        "nps_8_5": 100 * (3 - 1) / 5,  # promoters 10, 9, 8; detractors 3
        "passives_8_5": 1,  # 6
        "nps_5pt": 100 * (1 - 2) / 5,  # CSAT answers 5, 4, 4, 3, 1: promoter 5; detractors 3, 1
        "csat": 3 / 5,  # 5, 4, 4
        "csat_top": 1 / 5,  # 5
        "csat_latest": 2 / 4,  # 5, 4, 3 (u3's latest), 1
        "csat_mean": (5 + 4 + 4 + 3 + 1) / 5,
        "csat_mean_latest": (5 + 4 + 3 + 1) / 4,
        "ces": (7 + 6 + 5 + 4 + 2 + 1) / 6,
        "ces_easy_rate": 3 / 6,  # 7, 6, 5
        "ces_easy6": 2 / 6,  # 7, 6
        "ces_10pt": 1 / 6,  # 7
    },
    "2026-02": {
        "nps": 100 * (2 - 0) / 2,  # all promoters
        "responses": 2,
        "promoters": 2,
        "passives": 0,
        "detractors": 0,
        "moe": moe(1, 0, 2),  # = 0: no spread
        "nps_latest": 100.0,
        "csat": None,
        "csat_mean": None,
        "ces": None,
        "ces_easy_rate": None,
        "responses_latest": 0 + 2,
    },
    "2026-03": {  # no answers: counts 0, scores and rates null
        "nps": None,
        "responses": 0,
        "promoters": 0,
        "passives": 0,
        "detractors": 0,
        "moe": None,
        "nps_f": None,
        "nps_latest": None,
        "csat": None,
        "csat_mean": None,
        "ces": None,
        "ces_easy_rate": None,
    },
}


@pytest.fixture
def main_spec(make_spec):
    return make_spec(
        spec_yaml(
            MAIN_METRICS,
            "surveys: {path: surveys.csv}\naccounts: {path: accounts.csv}",
            DIMS,
        ),
        {"surveys.csv": SURVEYS, "accounts.csv": ACCOUNTS},
    )


@ENGINES
def test_every_survey_metric_by_hand(main_spec, engine):
    f = values(main_spec, start="2026-01", end="2026-03", engine=engine)
    for period, expected in EXPECTED.items():
        check(f, period, expected)
    assert f.filter(pl.col("value").is_not_null())["value"].is_finite().all()
    assert value(f, "moe", "2026-01") == pytest.approx(1.96 * 100 * math.sqrt(0.8 / 5))
    assert value(f, "moe", "2026-01") == pytest.approx(78.4)


@ENGINES
def test_units_previous_and_notes(main_spec, engine):
    f = values(main_spec, start="2026-01", end="2026-03", engine=engine)
    units = {m: row(f, m, "2026-01")["unit"] for m in MAIN_METRICS if m != "nps_f"}
    assert units["nps"] == units["moe"] == units["csat_mean"] == units["ces"] == "score"
    assert units["csat"] == units["ces_easy_rate"] == "ratio"
    assert units["responses"] == units["promoters"] == units["passives"] == "count"
    # December's only answer is a 0 at 23:59:59 on Dec 31: NPS -100, January's previous
    assert row(f, "nps", "2026-01")["previous"] == pytest.approx(100 * (0 - 1) / 1)
    for metric in ("nps", "moe", "csat", "ces"):
        assert row(f, metric, "2026-03")["note"] == "no survey responses in the period"
    assert row(f, "responses", "2026-03")["note"] is None


@ENGINES
def test_latest_versus_all_for_one_respondent_answering_twice(make_spec, engine):
    spec = make_spec(
        spec_yaml(
            {
                "all": f"{{type: nps, {NPS}}}",
                "latest": f"{{type: nps, {NPS}, per_respondent: latest}}",
                "n_latest": f"{{type: nps_responses, {NPS}, per_respondent: latest}}",
            }
        ),
        {
            "surveys.csv": """
                account_id,respondent_id,submitted_at,score,survey
                a1,u1,2026-01-03 09:00:00,2,nps
                a1,u1,2026-01-28 09:00:00,10,nps
                a1,u2,2026-01-04 09:00:00,9,nps
                a1,u1,2026-02-02 09:00:00,0,nps
            """
        },
    )
    f = values(spec, period="2026-01", engine=engine)
    check(
        f,
        "2026-01",
        {
            "all": 100 * (2 - 1) / 3,  # 2, 10, 9
            "latest": 100 * (2 - 0) / 2,  # u1's latest in January is 10 (Feb's 0 is not in P)
            "n_latest": 2,
        },
    )


@ENGINES
def test_latest_falls_back_to_account_and_breaks_ties_by_line(make_spec, engine):
    # no respondent_id column: the respondent is the account. a3 answers twice at the
    # same second: the later line of the export (9) wins.
    spec = make_spec(
        spec_yaml({"latest": "{type: nps, per_respondent: latest}"}),
        {
            "surveys.csv": """
                account_id,submitted_at,score
                a1,2026-01-02,10
                a1,2026-01-20,0
                a2,2026-01-05,10
                a3,2026-01-10 10:00:00,0
                a3,2026-01-10 10:00:00,9
            """
        },
    )
    f = values(spec, period="2026-01", engine=engine)
    check(f, "2026-01", {"latest": 100 * (2 - 1) / 3})  # a1: 0, a2: 10, a3: 9


@ENGINES
def test_by_account_and_by_plan(main_spec, engine):
    names = ["nps", "responses", "nps_latest", "csat", "ces"]
    f = values(main_spec, names, period="2026-01", by=["account"], engine=engine)
    # a1: 10, 9; a2: 6, 8 (latest 8); a3: 3
    check(f, "2026-01", {"nps": 100 * (2 - 0) / 2, "responses": 2, "csat": 2 / 2}, account="a1")
    check(f, "2026-01", {"nps": 100 * (0 - 1) / 2, "nps_latest": 0 / 1}, account="a2")
    check(f, "2026-01", {"nps": 100 * (0 - 1) / 1, "ces": (2 + 1) / 2}, account="a3")
    check(f, "2026-01", {"csat": 1 / 2}, account="a2")  # 4, 3
    g = values(main_spec, names, period="2026-01", by=["plan"], engine=engine)
    # pro = a1 + a2: 10, 9, 6, 8; basic = a3: 3
    check(g, "2026-01", {"nps": 100 * (2 - 1) / 4, "responses": 4}, plan="pro")
    check(g, "2026-01", {"nps_latest": 100 * (2 - 0) / 3}, plan="pro")  # 10, 9, 8
    check(g, "2026-01", {"nps": -100.0, "responses": 1, "csat": 0 / 1}, plan="basic")
    check(g, "2026-01", {"ces": (7 + 6 + 5 + 4) / 4}, plan="pro")
    # a group without answers in P has no row (like every metric --by a dimension)
    h = values(main_spec, ["nps"], period="2026-03", by=["plan"], engine=engine)
    assert h.filter(pl.col("metric") == "nps").height == 0


# ---- invalid scores --------------------------------------------------------------------
BAD = """
    account_id,submitted_at,score,survey
    a1,2026-01-05,9,nps
    a2,2026-01-06,11,nps
    a3,2026-01-07,7,nps
    a4,2026-01-08,-1,nps
    a5,2025-06-01,12,nps
    a6,2026-01-09,7,csat
"""


@ENGINES
def test_score_outside_the_scale_is_a_data_error_naming_file_and_row(make_spec, engine):
    spec = make_spec(spec_yaml({"nps": f"{{type: nps, {NPS}}}"}), {"surveys.csv": BAD})
    with pytest.raises(DataError) as err:
        values(spec, period="2026-01", engine=engine)
    assert err.value.exit_code == ExitCode.DATA_ERROR == 65
    text = str(err.value)
    path = str(spec.base_dir / "surveys.csv")
    assert f"{path}:3 (score 11)" in text
    assert f"{path}:5 (score -1)" in text
    assert "2 survey answers" in text and "0-10" in text and "on_invalid: drop" in text
    # the June 2025 answer (line 6) is not in the computed periods; the csat 7 is filtered out
    assert "score 12" not in text and "score 7" not in text


@ENGINES
def test_on_invalid_drop_leaves_them_out_with_a_warning(make_spec, engine):
    spec = make_spec(
        spec_yaml(
            {
                "nps": f"{{type: nps, {NPS}, on_invalid: drop}}",
                "n": f"{{type: nps_responses, {NPS}, on_invalid: drop}}",
            }
        ),
        {"surveys.csv": BAD},
    )
    result = compute_metrics(spec, period="2026-01", engine=engine)
    check(result.frame, "2026-01", {"nps": 100 * (1 - 0) / 2, "n": 2})  # 9, 7
    warnings = [w for w in result.warnings if "left out" in w]
    assert len(warnings) == 1, result.warnings  # one warning for both metrics
    assert "metrics nps, n" in warnings[0] and "2 survey answers" in warnings[0]
    assert "surveys.csv:3 (score 11)" in warnings[0]


@ENGINES
def test_a_custom_scale_changes_what_is_valid(make_spec, engine):
    # CSAT on a 1-10 scale: 7 and 9 are valid there, satisfied at 8 or more
    spec = make_spec(
        spec_yaml({"csat10": f"{{type: csat, {CSAT}, scale: [1, 10], satisfied_at: 8}}"}),
        {
            "surveys.csv": """
                account_id,submitted_at,score,survey
                a1,2026-01-05,9,csat
                a2,2026-01-06,7,csat
                a3,2026-01-07,10,csat
            """
        },
    )
    check(values(spec, period="2026-01", engine=engine), "2026-01", {"csat10": 2 / 3})
    # the default 1-5 scale rejects them
    default = make_spec(
        spec_yaml({"csat": f"{{type: csat, {CSAT}}}"}),
        {"surveys.csv": "account_id,submitted_at,score,survey\na1,2026-01-05,9,csat\n"},
    )
    with pytest.raises(DataError, match="outside the scale 1-5"):
        values(default, period="2026-01", engine=engine)


@pytest.mark.parametrize(
    "definition, message",
    [
        ("{type: nps, scale: [1, 5]}", "promoter_at 9 is outside its scale 1-5"),
        ("{type: nps, promoter_at: 6, detractor_at: 6}", "detractor_at 6 must be below"),
        ("{type: csat, scale: [5, 1]}", "scale [5, 1]"),
        ("{type: ces_easy_rate, easy_at: 9}", "easy_at 9 is outside its scale 1-7"),
    ],
)
def test_thresholds_outside_the_scale_are_spec_errors(make_spec, definition, message):
    spec = make_spec(spec_yaml({"m": definition}), {"surveys.csv": SURVEYS})
    with pytest.raises(SpecError) as err:
        values(spec, period="2026-01")
    assert err.value.exit_code == ExitCode.CONFIG == 78
    assert message in str(err.value)
    assert "metrics.yaml:" in str(err.value)


@ENGINES
def test_without_a_filter_each_metric_reads_its_own_survey(make_spec, engine):
    # the built-in types (not defined in this spec) over a source mixing three surveys
    spec = make_spec(spec_yaml({"x": f"{{type: csat, {CSAT}}}"}), {"surveys.csv": SURVEYS})
    names = ["nps", "nps_responses", "csat", "csat_mean", "ces", "ces_easy_rate"]
    result = compute_metrics(spec, names, period="2026-01", engine=engine)
    check(
        result.frame,
        "2026-01",
        {
            "nps": 100 * (2 - 2) / 5,  # survey = 'nps' only: 10 9 6 8 3
            "nps_responses": 5,
            "csat": 3 / 5,  # 5 4 4 3 1: the NPS 9s and 10s are not CSAT data errors
            "csat_mean": (5 + 4 + 4 + 3 + 1) / 5,
            "ces": (7 + 6 + 5 + 4 + 2 + 1) / 6,
            "ces_easy_rate": 3 / 6,
        },
    )
    assert not [w for w in result.warnings if "survey" in w], result.warnings


@ENGINES
def test_without_a_filter_an_unknown_survey_name_warns(make_spec, engine):
    spec = make_spec(
        spec_yaml({"x": "{type: nps_responses, filter: \"survey = 'NPS 2026'\"}"}),
        {
            "surveys.csv": """
                account_id,submitted_at,score,survey
                a1,2026-01-05,9,NPS 2026
                a2,2026-01-06,3,NPS 2026
            """
        },
    )
    result = compute_metrics(spec, ["x", "nps"], period="2026-01", engine=engine)
    check(result.frame, "2026-01", {"x": 2, "nps": None})  # the filter replaces the default
    warning = [w for w in result.warnings if "no filter" in w]
    assert len(warning) == 1 and warning[0].startswith("nps: ")
    assert "survey = 'nps'" in warning[0] and "NPS 2026" in warning[0]


@ENGINES
def test_no_survey_source_is_unavailable(make_spec, engine):
    spec = make_spec(
        spec_yaml({"nps": "{type: nps}"}, "subscriptions: {path: subs.csv}"),
        {"subs.csv": "account_id,start_date,amount\na1,2026-01-01,10\n"},
    )
    result = compute_metrics(spec, period="2026-01", engine=engine)
    r = row(result.frame, "nps", "2026-01")
    assert r["value"] is None and "surveys" in r["note"]


# ---- published worked examples ---------------------------------------------------------
def answers(survey: str, counts: dict[float, int]) -> str:
    """A surveys CSV: counts[score] answers of each score, one respondent each, in Jan 2026."""
    lines = ["account_id,respondent_id,submitted_at,score,survey"]
    i = 0
    for score, n in counts.items():
        for _ in range(n):
            i += 1
            lines.append(f"a{i % 7},r{i},2026-01-{1 + i % 28:02d} 12:00:00,{score:g},{survey}")
    return "\n".join(lines) + "\n"


@ENGINES
def test_published_delighted_nps_example(make_spec, engine):
    # Delighted Help Center, "NPS Projects" (help.delighted.com/article/531-nps-surveys):
    # 10 promoters (50 %), 5 passives (25 %), 5 detractors (25 %) -> 50 - 25 = 25.
    spec = make_spec(
        spec_yaml({"nps": f"{{type: nps, {NPS}}}", "n": f"{{type: nps_responses, {NPS}}}"}),
        {"surveys.csv": answers("nps", {10: 6, 9: 4, 8: 3, 7: 2, 6: 2, 3: 2, 0: 1})},
    )
    check(values(spec, period="2026-01", engine=engine), "2026-01", {"nps": 25, "n": 20})


@ENGINES
def test_published_annual_report_nps_example(make_spec, engine):
    # DELA annual report 2018, glossary "Net Promotor Score": "if research shows that 30 %
    # of the responders is a promotor and 20 % is a detractor, the NPS is +10".
    spec = make_spec(
        spec_yaml({"nps": f"{{type: nps, {NPS}}}"}),
        {"surveys.csv": answers("nps", {9: 3, 8: 3, 7: 2, 5: 2})},
    )
    check(values(spec, period="2026-01", engine=engine), "2026-01", {"nps": 30 - 20})


@ENGINES
def test_published_nps_standard_error_example(make_spec, engine):
    # Cross Validated, "How can I calculate margin of error in a NPS result?" (whuber's
    # answer): with 1/2 promoters, 1/3 passives, 1/6 detractors the NPS is 1/3 and the
    # variance of one answer (scored +1 / 0 / -1) is 5/9; CYBAEA "Net Promoter Score
    # confidence intervals 2" derives the same closed form, Var = (p + d - (p - d)^2) / n.
    # 60 answers: 30 promoters, 20 passives, 10 detractors.
    spec = make_spec(
        spec_yaml({"nps": f"{{type: nps, {NPS}}}", "moe": f"{{type: nps_margin_of_error, {NPS}}}"}),
        {"surveys.csv": answers("nps", {10: 30, 7: 20, 2: 10})},
    )
    f = values(spec, period="2026-01", engine=engine)
    p, d = 1 / 2, 1 / 6
    assert p + d - (p - d) ** 2 == pytest.approx(5 / 9)
    check(f, "2026-01", {"nps": 100 / 3, "moe": 1.96 * 100 * math.sqrt((5 / 9) / 60)})


@ENGINES
def test_published_intercom_csat_example(make_spec, engine):
    # Intercom VoC Metrics help, "What is CSAT and how is CSAT score calculated":
    # 50 responses: 10 x 5, 20 x 4, 10 x 3, 5 x 2, 5 x 1 -> CSAT = (10 + 20) / 50 = 60 %.
    spec = make_spec(
        spec_yaml({"csat": f"{{type: csat, {CSAT}}}", "mean": f"{{type: csat_mean, {CSAT}}}"}),
        {"surveys.csv": answers("csat", {5: 10, 4: 20, 3: 10, 2: 5, 1: 5})},
    )
    f = values(spec, period="2026-01", engine=engine)
    check(f, "2026-01", {"csat": 0.60, "mean": (50 + 80 + 30 + 10 + 5) / 50})


@ENGINES
def test_published_mindmesh_csat_example(make_spec, engine):
    # Mindmesh glossary, "What is a customer satisfaction score": 30 people gave a 4 and 20
    # a 5 out of 100 answers -> 50 positive / 100 = 50 %.
    spec = make_spec(
        spec_yaml({"csat": f"{{type: csat, {CSAT}}}"}),
        {"surveys.csv": answers("csat", {4: 30, 5: 20, 3: 25, 2: 15, 1: 10})},
    )
    check(values(spec, period="2026-01", engine=engine), "2026-01", {"csat": 0.50})


@ENGINES
def test_published_cys_ces_7_point_example(make_spec, engine):
    # CYS Group support, "Customer Effort Score 7-point scale to average": 1000 responses
    # (80 x 1, 210 x 2, 140 x 3, 110 x 4, 160 x 5, 180 x 6, 120 x 7) sum to 4080 -> 4.08.
    counts = {1: 80, 2: 210, 3: 140, 4: 110, 5: 160, 6: 180, 7: 120}
    spec = make_spec(
        spec_yaml({"ces": f"{{type: ces, {CES}}}", "easy": f"{{type: ces_easy_rate, {CES}}}"}),
        {"surveys.csv": answers("ces", counts)},
    )
    f = values(spec, period="2026-01", engine=engine)
    assert sum(s * n for s, n in counts.items()) == 4080
    check(f, "2026-01", {"ces": 4.08, "easy": (160 + 180 + 120) / 1000})
