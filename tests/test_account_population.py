"""Issue 11.5 and 11.8: which accounts get a row.

* ``--by account`` gives every account in the data a row in every period (0 for sums and
  counts, null with a note for ratios); ``--drop-empty`` keeps only the rows an account's
  own data gives.
* ``csm health`` and ``csm alerts`` score the paying customers when a billing source
  exists, otherwise every account of the accounts source (a Gainsight-style setup with
  accounts and usage only).
"""

from __future__ import annotations

import csv
import io
import json

import polars as pl
import pytest
from conftest import write_spec
from helpers import invoke

from cs_metrics import api

# a Stripe-like export: acme pays Jan-Feb (ends 2020-03-01), bolt from Feb on, cora from
# 2020-04-15 on; dora is in the CRM export only; a Zendesk-like ticket export
FILES = {
    "subscriptions.csv": """
        account_id,start_date,end_date,amount
        acme,2020-01-01,2020-03-01,100
        bolt,2020-02-01,,50
        cora,2020-04-15,,30
        """,
    "accounts.csv": """
        account_id,name
        acme,Acme
        bolt,Bolt
        cora,Cora
        dora,Dora
        """,
    "tickets.csv": """
        ticket_id,account_id,created_at
        t1,acme,2020-03-04 10:00:00
        t2,bolt,2020-05-04 10:00:00
        """,
}
SPEC = """
    sources:
      subscriptions: {path: subscriptions.csv}
      accounts: {path: accounts.csv}
      tickets: {path: tickets.csv}
    metrics:
      mrr: {type: mrr}
      arpa: {type: arpa}
      tickets: {type: tickets}
    as_of: 2020-05-31
    """
ARGS = "compute mrr arpa tickets --from 2020-01 --to 2020-05 --by account -f csv"


@pytest.fixture
def spec(tmp_path):
    return write_spec(tmp_path, SPEC, FILES)


def rows(text: str) -> dict[tuple[str, str, str], str]:
    return {
        (r["period"], r["account"], r["metric"]): r["value"]
        for r in csv.DictReader(io.StringIO(text))
    }


def test_every_account_has_a_row_in_every_period(spec):
    got = rows(invoke(f"{ARGS} --spec {spec}").stdout)
    # 4 accounts (3 billed, dora from the accounts source) x 5 periods x 3 metrics
    assert len(got) == 4 * 5 * 3
    assert got[("2020-04", "acme", "mrr")] == "0.0"  # churned 2020-03-01: 0, not missing
    assert got[("2020-04", "acme", "arpa")] == ""  # a ratio of nothing: null
    assert got[("2020-01", "cora", "mrr")] == "0.0"  # before its first day
    assert got[("2020-01", "dora", "tickets")] == "0"  # never billed, no tickets: 0
    assert got[("2020-03", "acme", "tickets")] == "1"
    assert got[("2020-05", "cora", "mrr")] == "30.0"
    # the rows add up to the totals: 2020-05 MRR = bolt 50 + cora 30 = 80
    total = invoke(f"compute mrr --period 2020-05 -f csv --spec {spec}").stdout
    assert "2020-05,mrr,80.0,USD" in total
    assert sum(float(v) for (p, _, m), v in got.items() if (p, m) == ("2020-05", "mrr")) == 80.0


def test_null_ratios_carry_a_note(spec):
    loaded = api.load_spec(spec)
    res = api.compute_metrics(loaded, ["arpa"], start="2020-01", end="2020-05", by=["account"])
    acme = res.frame.filter((pl.col("account") == "acme") & (pl.col("period") == "2020-04"))
    assert acme["value"].to_list() == [None]
    assert acme["note"].to_list() == ["no customers at the end of the period"]
    # json: the value is null, the row is there
    out = json.loads(
        invoke(f"compute arpa --period 2020-04 --by account -f json --spec {spec}").stdout
    )
    assert {
        "period": "2020-04",
        "account": "acme",
        "name": "Acme",
        "owner": None,
        "metric": "arpa",
        "value": None,
        "unit": "USD",
    } in out


def test_drop_empty_keeps_only_rows_from_the_accounts_own_data(spec):
    got = rows(invoke(f"{ARGS} --drop-empty --spec {spec}").stdout)
    # mrr/arpa: accounts with MRR at the start or the end of the period; tickets: accounts
    # with a ticket in it. acme: Jan (0 -> 100), Feb (100 -> 100), Mar (100 -> 0)
    assert sorted(k for k in got if k[2] == "mrr") == [
        ("2020-01", "acme", "mrr"),
        ("2020-02", "acme", "mrr"),
        ("2020-02", "bolt", "mrr"),
        ("2020-03", "acme", "mrr"),
        ("2020-03", "bolt", "mrr"),
        ("2020-04", "bolt", "mrr"),
        ("2020-04", "cora", "mrr"),
        ("2020-05", "bolt", "mrr"),
        ("2020-05", "cora", "mrr"),
    ]
    assert sorted(k for k in got if k[2] == "tickets") == [
        ("2020-03", "acme", "tickets"),
        ("2020-05", "bolt", "tickets"),
    ]
    assert "dora" not in {k[1] for k in got}


def test_drop_empty_is_listed_in_help():
    invoke("compute --help", stdout="--drop-empty")


# ------------------------------------------------------------ health without billing
GAINSIGHT = {
    "accounts.csv": """
        account_id,name
        acme,Acme
        bolt,Bolt
        cora,Cora
        """,
    # ghost is not in the accounts export: not scored
    "usage.csv": """
        account_id,timestamp,user_id
        acme,2026-10-03 10:00:00,u1
        acme,2026-10-04 10:00:00,u2
        bolt,2026-10-05 10:00:00,u3
        ghost,2026-10-05 10:00:00,u9
        """,
}
GAINSIGHT_SPEC = """
    sources:
      accounts: {path: accounts.csv}
      usage: {path: usage.csv}
    metrics:
      active_users: {type: active_users}
    health:
      components:
        adoption: {metric: active_users, weight: 1, scale: [0, 2]}
      bands: {red: 40, yellow: 70}
    alerts:
      - {name: silent, when: "active_users = 0", severity: high}
    as_of: 2026-10-31
    """


@pytest.fixture
def gainsight(tmp_path):
    return write_spec(tmp_path, GAINSIGHT_SPEC, GAINSIGHT)


def test_health_without_billing_scores_every_account_of_the_accounts_source(gainsight):
    out = invoke(f"health -f csv --spec {gainsight}").stdout
    got = {r["account"]: r for r in csv.DictReader(io.StringIO(out))}
    assert sorted(got) == ["acme", "bolt", "cora"]  # not ghost
    # scale [0, 2]: acme 2 users -> 100, bolt 1 -> 50, cora 0 -> 0 (a quiet account)
    assert [got[a]["score"] for a in ("acme", "bolt", "cora")] == ["100.0", "50.0", "0.0"]
    assert [got[a]["band"] for a in ("acme", "bolt", "cora")] == ["green", "yellow", "red"]
    assert got["cora"]["mrr"] == ""  # no billing, no MRR


def test_health_table_says_which_accounts_are_scored(gainsight, tmp_path):
    invoke(
        f"health -f table --spec {gainsight}",
        stdout=["every account of the accounts source", "accounts by band: red 1"],
    )
    billed = tmp_path / "billed"
    billed.mkdir()
    spec = write_spec(billed, SPEC, FILES)
    (billed / "metrics.yaml").write_text(
        (billed / "metrics.yaml").read_text()
        + "health:\n  components:\n    support: {metric: tickets, weight: 1, scale: [2, 0]}\n"
    )
    invoke(f"health -f table --period 2020-05 --spec {spec}", stdout="the paying customers")


def test_health_without_billing_machine_formats_stay_plain(gainsight):
    res = invoke(f"health -f json --spec {gainsight}")
    assert "scored:" not in res.stdout + res.stderr
    assert len(json.loads(res.stdout)) == 3


def test_alerts_without_billing_cover_every_account(gainsight):
    out = invoke(f"alerts -f csv --spec {gainsight}").stdout
    hits = list(csv.DictReader(io.StringIO(out)))
    assert [(h["account"], h["alert"], h["active_users"]) for h in hits] == [
        ("cora", "silent", "0")
    ]


def test_backtest_without_billing_says_what_it_needs(gainsight):
    invoke(
        f"health --backtest --from 2026-01 --to 2026-03 --spec {gainsight}",
        code=2,
        stderr="needs a billing source",
    )


def test_alerts_with_billing_look_at_the_paying_customers_only(tmp_path):
    spec = write_spec(
        tmp_path,
        SPEC.rstrip()
        + '\n    alerts:\n      - {name: quiet, when: "tickets = 0", severity: low}\n',
        FILES,
    )
    out = invoke(f"alerts --period 2020-04 -f csv --spec {spec}").stdout
    # paying at 2020-04-30: bolt and cora (no tickets in April); acme churned, dora never paid
    assert sorted(r["account"] for r in csv.DictReader(io.StringIO(out))) == ["bolt", "cora"]
