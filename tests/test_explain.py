"""`csm explain`: definition, value, inputs and the arithmetic behind them."""

from __future__ import annotations

import json

import pytest
from conftest import write_spec
from helpers import invoke
from test_alerts import ACCOUNTS, SUBS

from cs_metrics.explain import explain_metric
from cs_metrics.spec import load_spec

SPEC = """
version: 1
sources:
  subscriptions: {path: subs.csv}
  accounts: {path: accounts.csv}
dimensions:
  size: "CASE WHEN employees >= 50 THEN 'big' ELSE 'small' END"
metrics:
  mrr: {type: mrr}
  logo_churn: {type: customer_churn_rate}
  pro_churn: {type: customer_churn_rate, filter: "plan = 'pro'"}
  arpa_f: {type: formula, expr: "mrr / customers"}
"""


def spec_at(tmp_path):
    return write_spec(tmp_path, SPEC, {"subs.csv": SUBS, "accounts.csv": ACCOUNTS})


def test_churn_rate_arithmetic(tmp_path):
    # March: customers at Feb 28 = a1..a4 (4); a2 ends Mar 1 -> 1 churned; 1/4 = 25 %
    path = spec_at(tmp_path)
    res = invoke(f"explain logo_churn --spec {path} -p 2026-03 --no-color")
    assert "1 churned / 4 customers at start = 25.0 %" in res.stdout
    assert "churned_customers / customers at s-1" in res.stdout
    assert "subscriptions" in res.stdout and "subs.csv" in res.stdout
    assert "previous 2026-02: 0.0 %" in res.stdout


def test_filter_applies_to_inputs(tmp_path):
    # pro accounts: a1, a3 (neither churns in March)
    facts = explain_metric(load_spec(spec_at(tmp_path)), "pro_churn", period="2026-03")
    assert facts["filter"] == "plan = 'pro'"
    assert facts["arithmetic"] == "0 churned / 2 customers at start = 0.0 %"


def test_nrr_and_formula_and_change(tmp_path):
    spec = load_spec(spec_at(tmp_path))
    nrr = explain_metric(spec, "nrr", period="2026-03")
    # 670 at start, a2's 200 churned: 470 / 670
    assert nrr["value"] == round(470 / 670, 9)
    assert nrr["arithmetic"].startswith("$470.00 retained MRR ($670.00 at start")
    f = explain_metric(spec, "arpa_f", period="2026-03")
    assert f["arithmetic"] == "$530.00 / 4 = 132.50"
    ch = explain_metric(spec, "mrr_change", period="2026-03")
    assert ch["arithmetic"] == "($530.00 - $670.00) / |$670.00| = -20.9 %"


def test_by_dimension(tmp_path):
    facts = explain_metric(
        load_spec(spec_at(tmp_path)), "logo_churn", period="2026-03", by=["size"]
    )
    rows = {r["size"]: r for r in facts["rows"]}
    # small: a2 (10), a3 (40) -> a2 churned; big: a1, a4
    assert rows["small"]["arithmetic"] == "1 churned / 2 customers at start = 50.0 %"
    assert rows["big"]["value"] == 0


def test_null_value_reason(tmp_path):
    path = spec_at(tmp_path)
    res = invoke(f"explain logo_churn --spec {path} -p 2025-11 --no-color")
    assert "null because: no customers at the start of the period" in res.stdout
    res = invoke(f"explain logo_churn --spec {path} -p 2025-11 -f json")
    facts = json.loads(res.stdout)
    assert facts["value"] is None
    assert facts["note"] == "no customers at the start of the period"


def test_json(tmp_path):
    res = invoke(f"explain logo_churn --spec {spec_at(tmp_path)} -p 2026-03 --format json")
    facts = json.loads(res.stdout)
    assert facts["type"] == "customer_churn_rate" and facts["value"] == 0.25
    assert facts["previous"] == 0.0 and facts["unit"] == "ratio"
    assert [i["value"] for i in facts["inputs"]] == [1.0, 4.0]
    assert facts["sources"][0]["role"] == "subscriptions"


def test_unknown_metric(tmp_path):
    invoke(
        f"explain logo_chrn --spec {spec_at(tmp_path)} -p 2026-03",
        code=2,
        stderr="did you mean 'logo_churn'",
    )


@pytest.mark.parametrize(
    ("metric", "recompute"),
    [
        ("nps", lambda i: 100 * (i["p"] - i["d"]) / i["n"]),
        ("tickets_per_customer", lambda i: i["t"] / i["c"]),
        ("stickiness", lambda i: i["dau"] / i["users"]),
        ("ltv_to_cac", lambda i: i["ltv"] / i["cac"]),
        # types that declare their parts (registry `parts=`): the counts behind the value
        ("csat", lambda i: i["n_high"] / i["n"]),
        ("ces", lambda i: i["total"] / i["n"]),
        ("ces_easy_rate", lambda i: i["n_high"] / i["n"]),
        ("first_contact_resolution_rate", lambda i: i["first_contact"] / i["resolved"]),
        ("touched_customers_rate", lambda i: i["touched"] / i["customers"]),
        ("integration_adoption", lambda i: i["num"] / i["den"]),
        ("activation_rate", lambda i: i["done"] / i["signups"]),
        ("active_days_per_user", lambda i: i["user_days"] / i["users"]),
        ("trial_conversion_rate", lambda i: i["won"] / i["trials"]),
        ("renewal_rate", lambda i: i["renewed"] / i["ending"]),
        ("customers_per_owner", lambda i: i["customers"] / i["owners"]),
    ],
)
def test_explain_inputs_reproduce_the_value_beyond_revenue(metric, recompute):
    """On the sample spec, the inputs explain shows give back the value it shows."""
    from conftest import REPO

    r = invoke(["explain", metric, "--spec", str(REPO / "metrics.yaml"), "-f", "json"])
    row = json.loads(r.stdout)["rows"][0]
    inputs = {i["name"]: i["value"] for i in row["inputs"]}
    assert row["value"] == pytest.approx(recompute(inputs), rel=1e-6)


def test_parts_arithmetic_and_counts_of_medians():
    """The declared explain text, with the parts and the options filled in."""
    from conftest import REPO

    spec = str(REPO / "metrics.yaml")
    r = invoke(["explain", "activation_rate", "--spec", spec, "-f", "json"])
    facts = json.loads(r.stdout)
    i = {x["name"]: x["value"] for x in facts["inputs"]}
    assert facts["arithmetic"] == (
        f"{i['done']:.0f} completed within 14 days / {i['signups']:.0f} signups = {facts['display']}"
    )
    r = invoke(["explain", "resolution_hours_p90", "--spec", spec, "-f", "json"])
    facts = json.loads(r.stdout)
    assert [x["name"] for x in facts["inputs"]] == ["n"] and facts["inputs"][0]["value"] > 0
    assert facts["arithmetic"].startswith("p90 over ")
    assert facts["arithmetic"].endswith(f"resolved tickets = {facts['display']}")
    r = invoke(["explain", "onboarding_days", "--spec", spec, "-f", "json"])
    facts = json.loads(r.stdout)
    n = facts["inputs"][0]["value"]
    assert facts["arithmetic"] == f"median over {n:.0f} accounts onboarded = {facts['display']}"


@pytest.mark.parametrize("engine", ["polars", "duckdb"])
def test_parts_by_account(engine):
    """Per account the parts add up too (and both engines agree on them)."""
    from conftest import REPO

    r = invoke(
        [
            "explain",
            "csat",
            "--spec",
            str(REPO / "metrics.yaml"),
            "-f",
            "json",
            "--by",
            "plan",
            "--engine",
            engine,
        ]
    )
    rows = [x for x in json.loads(r.stdout)["rows"] if x["value"] is not None]
    assert rows
    for row in rows:
        i = {x["name"]: x["value"] for x in row["inputs"]}
        assert row["value"] == pytest.approx(i["n_high"] / i["n"], rel=1e-6)


def test_by_account_names_the_account(tmp_path):
    # name and owner beside the id (issue 13): the accounts have a name, no owner column
    path = spec_at(tmp_path)
    facts = json.loads(invoke(f"explain mrr --spec {path} -p 2026-03 --by account -f json").stdout)
    assert facts["labels"] == ["name", "owner"]
    assert [(r["account"], r["name"], r["owner"], r["value"]) for r in facts["rows"]] == [
        ("a1", "Acme", None, 150.0),
        ("a2", "Beta", None, 0.0),
        ("a3", "Gamma", None, 240.0),
        ("a4", "Delta", None, 80.0),
        ("a5", "Eps", None, 60.0),
    ]
    out = invoke(f"explain mrr --spec {path} -p 2026-03 --by account").stdout
    assert "Acme" in out and "owner" not in out  # an empty owner column is not shown
