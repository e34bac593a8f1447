"""Definition policies (docs/policies.md): policy:, --policy, definitions: and
`csm compare-policies`, on one small billing export where the vendors disagree.

March 2026 is the period; s-1 is 2026-02-28 and e is 2026-03-31. End dates are exclusive.
Nine accounts, one subscription each:

  c1  100/month from Jan, ongoing                                  -> kept by every policy
  c2  200 with a forever discount of 20 (MRR 180 everywhere)
  c3  300 with a once discount of 30: MRR 270, but 300 under stripe (forever discounts only)
  c4  400, cancellation asked Feb 25, ended Mar 20, paid through Apr 1:
      churned in March, except under profitwell (churn at the end of the paid period)
  c5  50 from Mar 3 to Mar 17: signs up and cancels within March (never at s-1 nor at e)
  c6  500, past_due since Feb 15: baremetrics churns it after 30 days (Mar 17); the others
      keep counting it
  c7  600, unpaid since Mar 12: stripe and profitwell churn it at once (Mar 12); baremetrics
      after 30 days (Apr 11, so still a customer at e); chartmogul keeps counting it
  c8  80 from Mar 1 in a trial (status trialing): not MRR under any policy
  c9  70 from Mar 10, ongoing: a new customer everywhere

Customers at s-1 (Feb 28): c1 c2 c3 c4 c6 c7 = 6 under every policy.
"""

from __future__ import annotations

import csv
import io
import json

import pytest
from conftest import ENGINES, write_spec
from helpers import invoke

SUBS = """
    subscription_id,account_id,start_date,end_date,amount,discount,discount_duration,status,status_date,canceled_at,paid_through
    s1,c1,2026-01-01,,100,,,active,,,
    s2,c2,2026-01-01,,200,20,forever,active,,,
    s3,c3,2026-01-01,,300,30,once,active,,,
    s4,c4,2026-01-01,2026-03-20,400,,,canceled,,2026-02-25,2026-04-01
    s5,c5,2026-03-03,2026-03-17,50,,,canceled,,2026-03-10,
    s6,c6,2026-01-01,,500,,,past_due,2026-02-15,,
    s7,c7,2026-01-01,,600,,,unpaid,2026-03-12,,
    s8,c8,2026-03-01,,80,,,trialing,,,
    s9,c9,2026-03-10,,70,,,active,,,
"""
METRICS = """
metrics:
  mrr: {type: mrr}
  customers: {type: customers}
  new_customers: {type: new_customers}
  churned_customers: {type: churned_customers}
  customer_churn_rate: {type: customer_churn_rate}
"""


def spec_text(extra: str = "") -> str:
    head = "version: 1\nas_of: 2026-04-30\n" + extra
    return head + "sources:\n  subscriptions: {path: subs.csv}\n" + METRICS


def make(tmp_path, extra: str = "", subs: str = SUBS):
    return write_spec(tmp_path, spec_text(extra), {"subs.csv": subs})


def computed(spec, *args: str, period: str = "2026-03") -> dict[str, float | None]:
    out = invoke(["compute", "--spec", spec, "--period", period, "-f", "csv", *args]).stdout
    return {
        r["metric"]: (float(r["value"]) if r["value"] else None)
        for r in csv.DictReader(io.StringIO(out))
    }


# Hand-computed March values per policy.
# MRR at e: the accounts still paying on Mar 31, after each policy's discounts.
#   chartmogul  c1 100 + c2 180 + c3 270 + c6 500 + c7 600 + c9 70           = 1720
#   baremetrics c1 100 + c2 180 + c3 270 + c7 600 + c9 70  (c6 gone Mar 17)  = 1220
#   stripe      c1 100 + c2 180 + c3 300 + c6 500 + c9 70  (c7 gone Mar 12)  = 1150
#   profitwell  c1 100 + c2 180 + c3 270 + c4 400 + c6 500 + c9 70 (c7 gone)  = 1520
# Logo churn (customers at s-1 = 6; c9 is new in March everywhere):
#   chartmogul  churned c4; c5 left out                       -> 1 / 6
#   baremetrics churned c4, c6; plus c5 in the numerator      -> (2 + 1) / 6 = 0.5
#   stripe      churned c4, c7; c5 in numerator and denominator,
#               denominator also the new c9                   -> (2 + 1) / (6 + 1 + 1) = 0.375
#   profitwell  churned c7 (c4 paid through Apr 1); c5 left out -> 1 / 6
EXPECTED = {
    "chartmogul": {"mrr": 1720, "customers": 6, "churned_customers": 1, "rate": 1 / 6},
    "baremetrics": {"mrr": 1220, "customers": 5, "churned_customers": 2, "rate": 3 / 6},
    "stripe": {"mrr": 1150, "customers": 5, "churned_customers": 2, "rate": 3 / 8},
    "profitwell": {"mrr": 1520, "customers": 6, "churned_customers": 1, "rate": 1 / 6},
}


def check(got: dict[str, float | None], want: dict[str, float]) -> None:
    assert got["mrr"] == pytest.approx(want["mrr"])
    assert got["customers"] == want["customers"]
    assert got["new_customers"] == 1  # c9 (c8 is a trial, c5 gone by e)
    assert got["churned_customers"] == want["churned_customers"]
    assert got["customer_churn_rate"] == pytest.approx(want["rate"], abs=1e-9)


@ENGINES
@pytest.mark.parametrize("policy", list(EXPECTED))
def test_policy_in_the_spec(tmp_path, policy, engine):
    spec = make(tmp_path, f"policy: {policy}\n")
    check(computed(spec, "--engine", engine), EXPECTED[policy])


@pytest.mark.parametrize("policy", list(EXPECTED))
def test_policy_option_overrides_the_spec(tmp_path, policy):
    spec = make(tmp_path, "policy: baremetrics\n")
    check(computed(spec, "--policy", policy), EXPECTED[policy])


# The issue's own example, alone: four customers all of March (a1-a4, 100 each) and one,
# b1, that signs up on Mar 5 and cancels on Mar 20. Nothing else differs, so only the
# logo-churn options move the rate:
#   chartmogul  b1 left out:                        0 / 4           = 0
#   baremetrics b1 in the numerator:                1 / 4           = 0.25
#   stripe      b1 in the numerator and denominator: 1 / (4 + 1)    = 0.2
#   profitwell  b1 left out (a first-month cancellation is not churn): 0 / 4 = 0
# MRR at Mar 31 is 400 under every policy (b1 is gone by then).
SAME_MONTH = """
    account_id,start_date,end_date,amount
    a1,2026-01-01,,100
    a2,2026-01-01,,100
    a3,2026-01-01,,100
    a4,2026-01-01,,100
    b1,2026-03-05,2026-03-20,100
"""
SAME_MONTH_RATE = {"chartmogul": 0, "baremetrics": 0.25, "stripe": 0.2, "profitwell": 0}


@pytest.mark.parametrize("policy", list(SAME_MONTH_RATE))
def test_sign_up_and_cancel_in_the_month(tmp_path, policy):
    got = computed(make(tmp_path, f"policy: {policy}\n", SAME_MONTH))
    assert got["customer_churn_rate"] == pytest.approx(SAME_MONTH_RATE[policy])
    assert got["mrr"] == 400
    assert got["churned_customers"] == 0  # the movement count: b1 was never at s-1


def test_default_is_chartmogul(tmp_path):
    check(computed(make(tmp_path)), EXPECTED["chartmogul"])


def test_definitions_override_single_options(tmp_path):
    # stripe with the customers at the start as denominator: (2 + 1) / 6 = 0.5
    spec = make(tmp_path, "policy: stripe\ndefinitions: {churn_denominator: start}\n")
    assert computed(spec)["customer_churn_rate"] == pytest.approx(0.5)
    # chartmogul counting trials: c8's 80 joins the MRR (1720 + 80 = 1800), a new customer
    spec = make(tmp_path, "definitions: {trials: counted}\n")
    got = computed(spec)
    assert got["mrr"] == pytest.approx(1800)
    assert got["new_customers"] == 2
    # baremetrics keeping past-due and unpaid lines until they end (null days): c6 and c7
    # stay, MRR 1720 as under chartmogul; churn c4 plus c5 -> (1 + 1) / 6
    spec = make(
        tmp_path, "policy: baremetrics\ndefinitions: {past_due_days: null, unpaid_days: null}\n"
    )
    got = computed(spec)
    assert got["mrr"] == pytest.approx(1720)
    assert got["customer_churn_rate"] == pytest.approx(2 / 6)
    # null for an option with named choices is "the policy's": stripe's forever discounts
    spec = make(tmp_path, "policy: stripe\ndefinitions: {discounts: null}\n")
    assert computed(spec)["mrr"] == pytest.approx(1150)


def test_churn_at_cancellation_date(tmp_path):
    # c4 asked to cancel on Feb 25: with churn_date canceled_at it churns in February.
    # February: customers at Jan 31 = c1 c2 c3 c4 c6 c7 = 6, churned c4 -> 1 / 6.
    # March: customers at Feb 28 = 5 (c4 gone), churned none (c5 left out) -> 0 / 5 = 0.
    spec = make(tmp_path, "definitions: {churn_date: canceled_at}\n")
    assert computed(spec, period="2026-02")["customer_churn_rate"] == pytest.approx(1 / 6)
    march = computed(spec)
    assert march["customer_churn_rate"] == 0
    assert march["mrr"] == pytest.approx(1720)  # c4 is gone by Mar 31 either way


def test_past_due_days_from_the_spec(tmp_path):
    # past_due_days 10: c6 (past due since Feb 15) churns on Feb 25, in February:
    # March MRR 1720 - 500 = 1220, customers at s-1 = 5, churned c4 -> 1 / 5
    spec = make(tmp_path, "definitions: {past_due_days: 10}\n")
    got = computed(spec)
    assert got["mrr"] == pytest.approx(1220)
    assert got["customer_churn_rate"] == pytest.approx(1 / 5)


def test_missing_columns_warn_and_fall_back(tmp_path):
    # without status_date, paid_through and discount_duration the options cannot apply:
    # each says so once, and the lines count as under the default definitions
    subs = """
        account_id,start_date,end_date,amount,discount,status
        c1,2026-01-01,,100,10,past_due
        c2,2026-01-01,2026-03-20,200,,canceled
    """
    spec = make(tmp_path, "policy: profitwell\ndefinitions: {discounts: forever}\n", subs)
    result = invoke(
        ["compute", "--spec", spec, "--period", "2026-03", "-f", "csv", "mrr"],
        stderr=[
            "churn_date: paid_through needs a paid_through column",
            "unpaid_days: 0 needs a status_date column",
            "discounts: forever needs a discount_duration column",
        ],
    )
    assert "2026-03,mrr,90.0,USD" in result.stdout  # c1 100 - 10; c2 ended Mar 20


def test_unknown_policy(tmp_path):
    spec = make(tmp_path)
    invoke(["compute", "--spec", spec, "--policy", "chartmogull"], code=2, stderr="--policy")
    bad = make(tmp_path, "policy: chartmogull\n")
    invoke(["compute", "--spec", bad], code=78, stderr="policy")
    bad = make(tmp_path, "definitions: {discounts: some}\n")
    invoke(["compute", "--spec", bad], code=78, stderr="discounts")


# ---- csm compare-policies --------------------------------------------------------------
def test_compare_policies_csv(tmp_path):
    spec = make(tmp_path)
    out = invoke(["compare-policies", "--spec", spec, "--period", "2026-03", "-f", "csv"]).stdout
    rows = {r["metric"]: r for r in csv.DictReader(io.StringIO(out))}
    assert list(next(iter(rows.values()))) == [
        "period",
        "metric",
        "unit",
        "chartmogul",
        "baremetrics",
        "stripe",
        "profitwell",
        "differs_by",
    ]
    for policy, want in EXPECTED.items():
        assert float(rows["mrr"][policy]) == pytest.approx(want["mrr"])
        assert float(rows["customer_churn_rate"][policy]) == pytest.approx(want["rate"], abs=1e-9)
    # every policy agrees on new customers: nothing to explain
    assert rows["new_customers"]["differs_by"] == ""
    # MRR: c3's once discount (discounts), c6 (past_due_days), c7 (unpaid_days), c4
    # (churn_date); the logo-churn options cannot change it
    assert rows["mrr"]["differs_by"] == "discounts, past_due_days, unpaid_days, churn_date"
    # the churn rate: also same_period_churn (c5); start_plus_new alone changes it too
    # (6 + 1 new = 7: 1 / 7 instead of 1 / 6)
    assert rows["customer_churn_rate"]["differs_by"] == (
        "churn_denominator, same_period_churn, past_due_days, unpaid_days, churn_date"
    )


@pytest.mark.parametrize("fmt", ["tsv", "json", "ndjson", "markdown", "table"])
def test_compare_policies_formats(tmp_path, fmt):
    spec = make(tmp_path)
    args = ["compare-policies", "mrr", "customer_churn_rate", "--spec", spec, "--period"]
    out = invoke([*args, "2026-03", "-f", fmt]).stdout
    if fmt == "json":
        rows = json.loads(out)
        assert [r["metric"] for r in rows] == ["mrr", "customer_churn_rate"]
        assert rows[0]["stripe"] == 1150
    elif fmt == "ndjson":
        assert json.loads(out.splitlines()[1])["baremetrics"] == 0.5
    elif fmt == "tsv":
        assert out.splitlines()[1].startswith("2026-03\tmrr\tUSD\t1720.0\t1220.0\t1150.0\t1520.0")
    else:  # for people: values with their unit, then the options of each policy
        assert "$1,720" in out and "$1,150" in out and "37.5 %" in out
        assert "start_plus_new" in out and "paid_through" in out


@pytest.mark.parametrize("ext", ["csv", "tsv", "json", "ndjson", "md", "html", "xlsx", "parquet"])
def test_compare_policies_output_file(tmp_path, ext):
    """Every -o format: the four values (MRR 1720 / 1220 / 1150 / 1520 and the churn rate
    1/6, 1/2, 3/8, 1/6) and, per metric, the options that make them differ; the formats for
    people (md, html, xlsx) also every policy's options, the disagreeing ones marked."""
    import polars as pl

    spec = make(tmp_path)
    target = tmp_path / f"cmp.{ext}"
    args = ["compare-policies", "mrr", "customer_churn_rate", "--spec", spec, "-p", "2026-03"]
    invoke([*args, "-o", target], stderr=f"wrote {target}")
    mrr_cause = "discounts, past_due_days, unpaid_days, churn_date"
    if ext in ("md", "html"):
        text = target.read_text()
        for shown in ("$1,720", "$1,220", "$1,150", "$1,520", "16.7 %", "50.0 %", "37.5 %"):
            assert shown in text
        assert mrr_cause in text
        assert "churn_denominator *" in text and "start_plus_new" in text  # the options
        assert "trials *" not in text  # every policy excludes trials: not marked
        return
    if ext == "xlsx":
        import openpyxl

        book = openpyxl.load_workbook(target)
        rows = list(book["policies"].iter_rows(values_only=True))
        assert rows[0] == (
            "period", "metric", "unit", *EXPECTED, "differs_by",
        )  # fmt: skip
        assert rows[1][3:] == (1720, 1220, 1150, 1520, mrr_cause)
        assert book["policies"]["D2"].number_format.startswith("$")  # money, by the row's unit
        assert book["policies"]["D3"].number_format.endswith("%")  # the rate as a percentage
        options = {r[0]: r for r in book["definitions"].iter_rows(values_only=True)}
        assert options["unpaid_days"] == ("unpaid_days", "null", "30", "0", "0", True)
        assert options["trials"][-1] is False
        return
    frame = {
        "csv": pl.read_csv,
        "tsv": lambda p: pl.read_csv(p, separator="\t"),
        "json": pl.read_json,
        "ndjson": pl.read_ndjson,
        "parquet": pl.read_parquet,
    }[ext](target)
    rows = {r["metric"]: r for r in frame.iter_rows(named=True)}
    assert [rows["mrr"][p] for p in EXPECTED] == [1720, 1220, 1150, 1520]
    rates = [rows["customer_churn_rate"][p] for p in EXPECTED]
    assert rates == pytest.approx([1 / 6, 0.5, 0.375, 1 / 6])
    assert rows["mrr"]["differs_by"] == mrr_cause


def test_compare_policies_sets_the_spec_definitions_aside(tmp_path):
    spec = make(tmp_path, "definitions: {trials: counted}\n")
    result = invoke(
        ["compare-policies", "mrr", "--spec", spec, "--period", "2026-03", "-f", "csv"],
        stderr="definitions: are not applied here",
    )
    assert "2026-03,mrr,USD,1720.0,1220.0,1150.0,1520.0" in result.stdout


# ---- what a run shows of its policy: explain, the report's definitions -----------------
def explained(spec, metric: str, *args: str) -> dict:
    out = invoke(["explain", metric, "--spec", spec, "--period", "2026-03", "-f", "json", *args])
    return json.loads(out.stdout)


# The logo churn rate's arithmetic in each policy's words (c5 is the account that started
# and stopped within March; customers at s-1 = 6, new c9 = 1, reactivated 0):
#   chartmogul  1 churned (c4) / 6                                    (the plain formula)
#   baremetrics (2 churned (c4 c6) + 1 (c5)) / 6                      = 50.0 %
#   stripe      (2 churned (c4 c7) + 1 (c5)) / (6 + 1 new + 0 + 1)    = 37.5 %
#   profitwell  1 churned (c7) / 6                                    (the plain formula)
ARITHMETIC = {
    "chartmogul": "1 churned / 6 customers at start = 16.7 %",
    "baremetrics": "(2 churned + 1 started and stopped in the period) / 6 customers at the "
    "start = 50.0 %",
    "stripe": "(2 churned + 1 started and stopped in the period) / (6 customers at the start"
    " + 1 new + 0 reactivated + 1 started and stopped) = 37.5 %",
    "profitwell": "1 churned / 6 customers at start = 16.7 %",
}


@pytest.mark.parametrize("policy", list(ARITHMETIC))
def test_explain_shows_the_policy_and_its_arithmetic(tmp_path, policy):
    facts = explained(make(tmp_path), "customer_churn_rate", "--policy", policy)
    assert facts["arithmetic"] == ARITHMETIC[policy]
    assert facts["policy"]["name"] == policy
    # every option can change the logo churn rate: all seven, with this policy's values
    assert list(facts["policy"]["options"]) == [
        "churn_denominator",
        "same_period_churn",
        "discounts",
        "trials",
        "past_due_days",
        "unpaid_days",
        "churn_date",
    ]
    assert (
        facts["policy"]["options"]["unpaid_days"]
        == {
            "chartmogul": None,
            "baremetrics": 30,
            "stripe": 0,
            "profitwell": 0,
        }[policy]
    )
    if policy == "stripe":
        assert facts["formula"] == (
            "(churned_customers + accounts that started and stopped paying in P) / "
            "(customers at s-1 + new_customers + reactivated customers + those accounts)"
        )


def test_explain_names_only_the_options_that_change_the_metric(tmp_path):
    files = {"subs.csv": SUBS, "surveys.csv": "account_id,submitted_at,score\nc1,2026-03-05,9\n"}
    text = spec_text("policy: stripe\ndefinitions: {past_due_days: 14}\n").replace(
        "  subscriptions: {path: subs.csv}\n",
        "  subscriptions: {path: subs.csv}\n  surveys: {path: surveys.csv}\n",
    )
    spec = write_spec(
        tmp_path, text + "  nps: {type: nps}\n  x: {type: formula, expr: 'mrr * 2'}\n", files
    )
    # MRR: the billing options, not the logo-churn ones; a formula over it: the same
    for metric in ("mrr", "x"):
        facts = explained(spec, metric)
        assert list(facts["policy"]["options"]) == [
            "discounts",
            "trials",
            "past_due_days",
            "unpaid_days",
            "churn_date",
        ]
        assert facts["policy"]["from_definitions"] == ["past_due_days"]
    out = invoke(["explain", "mrr", "--spec", spec, "--period", "2026-03"]).stdout
    assert "policy:  stripe: discounts=forever, trials=excluded, past_due_days=14" in out
    assert "past_due_days=14 (definitions:)" in out
    # NPS reads no billing source: no option applies, and the text shows no policy line
    assert explained(spec, "nps")["policy"]["options"] == {}
    assert "policy:" not in invoke(["explain", "nps", "--spec", spec, "-p", "2026-03"]).stdout


def test_report_definitions_show_the_policy(tmp_path):
    report = "reports:\n" + "".join(
        f"  {name}:\n    metrics: [mrr, customer_churn_rate]\n    formats: [{formats}]\n"
        f"    health: false\n    alerts: false\n    cohorts: false\n    out_dir: {name}\n"
        for name, formats in (("r", "md, html, csv"), ("md", "md"))
    )
    spec = write_spec(
        tmp_path,
        spec_text("definitions: {unpaid_days: 0}\n") + report,
        {"subs.csv": SUBS},
    )
    invoke(["report", "r", "--spec", spec, "--period", "2026-03", "--policy", "stripe"])
    md = (tmp_path / "r" / "summary.md").read_text()
    assert "· policy stripe ·" in md
    # unpaid_days 0 is stripe's own value: nothing is set over the policy
    assert "Definition policy: stripe (docs/policies.md gives each option's source)." in md
    rows = {line.split(" | ")[1]: line for line in md.splitlines() if line.startswith("| metric |")}
    assert (
        "churn_denominator=start_plus_new, same_period_churn=counted" in rows["customer_churn_rate"]
    )
    assert (
        "(churned_customers + accounts that started and stopped paying in P)"
        in rows["customer_churn_rate"]
    )
    assert "discounts=forever" in rows["mrr"] and "churn_denominator" not in rows["mrr"]
    html = (tmp_path / "r" / "summary.html").read_text()
    assert "policy <b>stripe</b>" in html
    assert "policy stripe: churn_denominator=start_plus_new" in html
    defs = {r["name"]: r for r in csv.DictReader((tmp_path / "r" / "definitions.csv").open())}
    assert defs["mrr"]["policy"] == (
        "discounts=forever, trials=excluded, past_due_days=null, unpaid_days=0, churn_date=end_date"
    )
    # a spec's definitions: over the policy is named as such
    invoke(["report", "md", "--spec", spec, "--period", "2026-03"])
    md = (tmp_path / "md" / "summary.md").read_text()
    assert (
        "Definition policy: chartmogul (docs/policies.md gives each option's source); set "
        "over it by definitions: unpaid_days." in md
    )
    assert "unpaid_days=0 (definitions:)" in md


# ---- --by account: the accounts that start and stop within the period -----------------
# Per account, the logo churn rate's numerator and denominator (explain's parts) add up to
# the whole's under every policy. c5 (Mar 3 - Mar 17) is counted by baremetrics and stripe:
#   chartmogul  numerators c4 = 1;            denominators c1 c2 c3 c4 c6 c7 = 6 -> 1 / 6
#   baremetrics numerators c4 c6 + c5 = 3;    denominators the same 6            -> 3 / 6
#   stripe      numerators c4 c7 + c5 = 3;    denominators 6 + c9 (new) + c5 = 8 -> 3 / 8
#   profitwell  numerators c7 = 1;            denominators 6                     -> 1 / 6
# c5's own rate: stripe 1 / 1 = 100 %; baremetrics 1 / 0: null (it was no customer at the
# start), with a note saying why; chartmogul and profitwell leave it out (0 / 0).
SUMS = {"chartmogul": (1, 6), "baremetrics": (3, 6), "stripe": (3, 8), "profitwell": (1, 6)}


@pytest.mark.parametrize("policy", list(SUMS))
def test_by_account_adds_up_to_the_whole(tmp_path, policy):
    spec = make(tmp_path, f"policy: {policy}\n")
    facts = explained(spec, "customer_churn_rate", "--by", "account")
    parts = {r["account"]: {i["metric"]: i["value"] for i in r["inputs"]} for r in facts["rows"]}
    rows = {r["account"]: r for r in facts["rows"]}
    churned = sum(p["churned_customers"] + p.get("same_period_churned", 0) for p in parts.values())
    # (chartmogul and profitwell explain with the metrics churned_customers and customers
    # at s-1; the policies that change the formula, with its parts)
    base = sum(p.get("customers_start", p.get("customers")) for p in parts.values())
    if policy == "stripe":
        base += sum(p["new_customers"] + p["reactivated_customers"] for p in parts.values())
        base += sum(p["same_period_churned"] for p in parts.values())
    assert (churned, base) == SUMS[policy]
    assert churned / base == pytest.approx(EXPECTED[policy]["rate"])
    c5 = rows["c5"]
    if policy == "stripe":
        assert c5["value"] == 1.0
    else:
        assert c5["value"] is None
    if policy == "baremetrics":
        assert "started and stopped paying within the period" in c5["note"]
    # --drop-empty keeps only accounts with data of the metric: c5 has a row where the
    # policy counts it
    out = invoke(
        [
            "compute",
            "customer_churn_rate",
            "--spec",
            spec,
            "-p",
            "2026-03",
            "--by",
            "account",
            "--drop-empty",
            "-f",
            "csv",
        ]
    ).stdout
    accounts = {r["account"] for r in csv.DictReader(io.StringIO(out))}
    assert ("c5" in accounts) == (policy in ("baremetrics", "stripe"))
