"""Source presets (issue 12 part 1): ``sources.<role>.preset: NAME`` reads a vendor's own
export with no ``columns:`` mapping.

Every preset has one small file in the vendor's layout under tests/fixtures/presets/
(written by us, a handful of rows) that runs through the real CLI; the expected values are
hand-computed, with the arithmetic beside them. docs/presets.md documents the layouts.
"""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path
from textwrap import dedent

import pytest
from helpers import invoke

from cs_metrics.presets import PRESET_NAMES, PRESETS, norm

FIXTURES = Path(__file__).parent / "fixtures" / "presets"


def project(tmp_path: Path, sources: str, metrics: str, *files: str, extra: str = "") -> Path:
    """A spec (as_of 2026-02-28) beside copies of the named fixture files; its path."""
    for name in files:
        shutil.copy(FIXTURES / name, tmp_path / name)
    spec = tmp_path / "metrics.yaml"
    text = "version: 1\ncurrency: USD\nas_of: 2026-02-28\n" + extra
    text += "sources:\n" + _indent(sources) + "metrics:\n" + _indent(metrics)
    spec.write_text(text)
    return spec


def _indent(block: str) -> str:
    return "".join("  " + line + "\n" for line in dedent(block).strip().splitlines())


def compute(spec: Path, *args: str, code: int = 0, stderr: str | list[str] | None = None):
    r = invoke(
        ["compute", "--spec", spec, "-f", "csv", "--from", "2025-12", "--to", "2026-02", *args],
        code=code,
        stderr=stderr,
    )
    if code:
        return r
    return {
        (row["period"], row["metric"]): row["value"]
        for row in csv.DictReader(io.StringIO(r.stdout))
    }


def num(values: dict, period: str, metric: str) -> float | None:
    v = values[(period, metric)]
    return None if v == "" else float(v)


REVENUE = """
mrr: {type: mrr}
customers: {type: customers}
"""


# ---- billing -----------------------------------------------------------------------------
def test_stripe_subscriptions_export(tmp_path):
    spec = project(
        tmp_path,
        "subscriptions: {path: stripe_subscriptions.csv, preset: stripe}",
        REVENUE,
        "stripe_subscriptions.csv",
    )
    v = compute(spec)
    # sub_1 cus_A 49.00 x quantity 2 monthly from Dec 1: 98 in every month
    # sub_2 cus_B 1200.00 / 12 = 100 from Nov 15, canceled: Ended At Jan 10 -> 0 in Jan
    # sub_3 cus_C trialing until Feb 3: paid from the trial's end -> 49 in Feb only
    # sub_4 cus_D incomplete_expired: never paid, dropped
    # sub_5 cus_E past_due 30 and sub_6 cus_F unpaid 20 from Dec 5: still counted under the
    # default policy (past-due and unpaid rows are the definition policy's to end, not the
    # preset's: test_stripe_export_under_each_policy)
    # sub_7 cus_G 10 from Jan 15, cancel at period end: ends at Current Period End, Feb 15
    assert num(v, "2025-12", "mrr") == pytest.approx(98 + 100 + 30 + 20)  # 248
    assert num(v, "2026-01", "mrr") == pytest.approx(98 + 30 + 20 + 10)  # 158
    assert num(v, "2026-02", "mrr") == pytest.approx(98 + 49 + 30 + 20)  # 197
    assert num(v, "2025-12", "customers") == 4  # A B E F
    assert num(v, "2026-01", "customers") == 4  # A E F G
    assert num(v, "2026-02", "customers") == 4  # A C E F


# The same export under each definition policy: the preset gives the policies the columns
# they read (status, status_date = Current Period Start, canceled_at, paid_through =
# Current Period End). cus_E is past_due since Jan 10, cus_F unpaid since Jan 5; cus_B
# (yearly, 100/month) was canceled on Jan 10 but paid through Nov 15 2026.
#   January (at Jan 31)                               February (at Feb 28)
#   chartmogul  A 98 + E 30 + F 20 + G 10 = 158       A 98 + C 49 + E 30 + F 20 = 197
#   baremetrics E and F count 30 days: Feb 9, Feb 4   E, F gone:  98 + 49 = 147
#               so at Jan 31 as chartmogul: 158
#   stripe      F churns at once (Jan 5): 98+30+10=138 98 + 49 + 30 = 177
#   profitwell  F churns at once; B kept to the end   98 + 100 + 49 + 30 = 277
#               of its paid period: 98+100+30+10=238
STRIPE_BY_POLICY = {
    "chartmogul": (158, 197),
    "baremetrics": (158, 147),
    "stripe": (138, 177),
    "profitwell": (238, 277),
}


@pytest.mark.parametrize("policy", list(STRIPE_BY_POLICY))
def test_stripe_export_under_each_policy(tmp_path, policy):
    spec = project(
        tmp_path,
        "subscriptions: {path: stripe_subscriptions.csv, preset: stripe}",
        "mrr: {type: mrr}",
        "stripe_subscriptions.csv",
        extra=f"policy: {policy}\n",
    )
    v = compute(spec, stderr=[])
    jan, feb = STRIPE_BY_POLICY[policy]
    assert num(v, "2026-01", "mrr") == pytest.approx(jan)
    assert num(v, "2026-02", "mrr") == pytest.approx(feb)


def test_stripe_export_churn_at_the_cancellation_request(tmp_path):
    # cus_G asked on Jan 20 to cancel at the period's end (Feb 15): with churn_date
    # canceled_at it stops counting on Jan 20, so at Jan 31: 158 - 10 = 148
    spec = project(
        tmp_path,
        "subscriptions: {path: stripe_subscriptions.csv, preset: stripe}",
        "mrr: {type: mrr}",
        "stripe_subscriptions.csv",
        extra="definitions: {churn_date: canceled_at}\n",
    )
    assert num(compute(spec), "2026-01", "mrr") == pytest.approx(148)


def test_stripe_times_are_utc_and_follow_the_timezone_option(tmp_path):
    """'(UTC)' columns are UTC: with timezone Asia/Tokyo (+9) sub_2's end, Jan 10 12:00 UTC,
    is Jan 10 21:00 there (still Jan 10), but cus_E's start Dec 10 07:00 UTC is Dec 10
    16:00: nothing moves across a month, so December is unchanged. A time 2025-11-30 20:00
    UTC would be Dec 1 05:00 in Tokyo: it starts in December there, not November."""
    text = (FIXTURES / "stripe_subscriptions.csv").read_text().splitlines()
    late = "sub_8,cus_H,Theta,h@theta.example,price_mini_monthly,Mini,1,usd,month,5.00,active,"
    late += "2025-11-30 20:00,2025-11-30 20:00,2026-01-30 20:00,2026-02-28 20:00,,,,false,"
    (tmp_path / "stripe_subscriptions.csv").write_text("\n".join([*text, late]) + "\n")
    utc = project(
        tmp_path,
        "subscriptions: {path: stripe_subscriptions.csv, preset: stripe}",
        "new_customers: {type: new_customers}",
    )
    v = compute(utc, "--from", "2025-11")
    assert num(v, "2025-11", "new_customers") == 2  # cus_B (Nov 15) and cus_H (Nov 30 UTC)
    tokyo = project(
        tmp_path,
        "subscriptions: {path: stripe_subscriptions.csv, preset: stripe, "
        "options: {timezone: Asia/Tokyo}}",
        "new_customers: {type: new_customers}",
    )
    v = compute(tokyo, "--from", "2025-11")
    assert num(v, "2025-11", "new_customers") == 1  # cus_B only: cus_H starts Dec 1 in Tokyo


def test_stripe_invoice_line_items_dashboard_and_sigma(tmp_path):
    # il_1 cus_A 100.00 for Jan 1 - Feb 1 (one month): 100 on Jan 31
    # il_2 cus_A 500.00 'invoiceitem' without proration: a one-off charge, not MRR
    # il_3 cus_B 1200.00 for Jan 15 2026 - Jan 15 2027 (12 months): 100
    # il_4 cus_A 50.00 proration for Jan 16 - Feb 1: 16 days = 16 x 12/365 months
    jan = 100 + 100 + 50 / (16 * 12 / 365)  # 295.052083...
    for name in ("stripe_invoice_lines.csv", "stripe_sigma_invoice_lines.csv"):
        spec = project(
            tmp_path, f"invoices: {{path: {name}, preset: stripe}}", "mrr: {type: mrr}", name
        )
        v = compute(spec)
        assert num(v, "2025-12", "mrr") == 0
        assert num(v, "2026-01", "mrr") == pytest.approx(jan, abs=1e-5), name
        assert num(v, "2026-02", "mrr") == pytest.approx(100), name  # only il_3 covers Feb 28


def test_chargebee_subscriptions(tmp_path):
    spec = project(
        tmp_path,
        "subscriptions: {path: chargebee_subscriptions.csv, preset: chargebee}",
        REVENUE,
        "chargebee_subscriptions.csv",
    )
    v = compute(spec)
    # prices in cents, timestamps in Unix epoch seconds (UTC)
    # sub_a 1000 c = 10.00 x quantity 3, monthly, from Dec 1: 30
    # sub_b 60000 c = 600.00 every 6 months = 100/month from Dec 15, cancelled Jan 15
    # sub_c in_trial until Feb 10, 2000 c = 20.00: paid from the trial's end -> Feb only
    # sub_d future: dropped
    # sub_e non_renewing 12000 c = 120.00 / 12 = 10 from Nov 1; cancels Nov 2026
    # sub_f paused 5000 c = 50.00 from Dec 1: ends at pause_date Jan 20
    assert num(v, "2025-12", "mrr") == pytest.approx(30 + 100 + 10 + 50)  # 190
    assert num(v, "2026-01", "mrr") == pytest.approx(30 + 10)  # 40
    assert num(v, "2026-02", "mrr") == pytest.approx(30 + 20 + 10)  # 60
    assert num(v, "2026-02", "customers") == 3  # cust_1 cust_3 cust_5


def test_chargebee_ui_export_with_table_prefixes(tmp_path):
    """Chargebee's Import & Export download names columns `subscriptions.<field>` and the
    customer `customers.id`, and may write statuses as words ('In Trial', 'Non Renewing')."""
    (tmp_path / "Subscriptions.csv").write_text(
        "subscriptions.id,customers.id,subscriptions.plan_id,subscriptions.plan_quantity,"
        "subscriptions.plan_unit_price,subscriptions.billing_period,"
        "subscriptions.billing_period_unit,subscriptions.currency_code,subscriptions.status,"
        "subscriptions.started_at,subscriptions.trial_end,subscriptions.cancelled_at,"
        "subscriptions.current_term_end\n"
        "s1,c1,basic,1,1000,1,month,USD,Active,2025-12-01,,,2026-03-01\n"
        "s2,c2,basic,2,1000,1,month,USD,Future,2026-03-01,,,\n"
        "s3,c3,pro,1,6000,3,month,USD,Non Renewing,2025-12-01,,2026-06-01,2026-03-01\n"
        "s4,c4,basic,1,1000,1,month,USD,In Trial,2026-01-20,2026-02-03,,2026-02-03\n"
    )
    spec = project(tmp_path, "subscriptions: {path: Subscriptions.csv, preset: chargebee}", REVENUE)
    v = compute(spec)
    # c1 1000 c = 10.00 monthly; c2 Future: dropped; c3 6000 c = 60.00 per 3 months = 20
    # until its scheduled cancellation (Jun 1); c4 in trial to Feb 3: 10 from Feb 3
    assert num(v, "2026-01", "mrr") == pytest.approx(10 + 20)
    assert num(v, "2026-02", "mrr") == pytest.approx(10 + 20 + 10)
    assert num(v, "2026-02", "customers") == 3


def test_recurly_subscriptions(tmp_path):
    spec = project(
        tmp_path,
        "subscriptions: {path: recurly_subscriptions.csv, preset: recurly}",
        REVENUE,
        "recurly_subscriptions.csv",
    )
    v = compute(spec)
    # acct_1 300.00 every 3 months = 100 from Dec 1
    # acct_2 25.00 x 2 = 50 from Dec 1; canceled, expires Feb 1 -> counted to Jan 31
    # acct_3 40.00 from Nov 10; expired Jan 10
    # acct_4 future: dropped (no activation yet)
    # acct_5 15.00, trial ends Jan 20: paid from Jan 20
    assert num(v, "2025-12", "mrr") == pytest.approx(100 + 50 + 40)  # 190
    assert num(v, "2026-01", "mrr") == pytest.approx(100 + 50 + 15)  # 165
    assert num(v, "2026-02", "mrr") == pytest.approx(100 + 15)  # 115


def test_baremetrics_import_template(tmp_path):
    spec = project(
        tmp_path,
        "subscriptions: {path: baremetrics.csv, preset: baremetrics}",
        REVENUE + "churned_mrr: {type: churned_mrr}\n",
        "baremetrics.csv",
    )
    v = compute(spec)
    # plan_amount is in cents; plan_interval x plan_interval_count is the billing period
    # cus_1 5000 c = 50.00 every 1 month, quantity 1, from Jan 1: 50
    # cus_2 30000 c = 300.00 every 3 months, quantity 2: 300 x 2 / 3 = 200 from Jan 10
    # cus_3 120000 c = 1200.00 every year: 100 from Dec 1, canceled Jan 20
    assert num(v, "2025-12", "mrr") == pytest.approx(100)
    assert num(v, "2026-01", "mrr") == pytest.approx(50 + 200)  # 250
    assert num(v, "2026-01", "churned_mrr") == pytest.approx(100)
    assert num(v, "2026-01", "customers") == 2


def test_zuora_rate_plan_charges(tmp_path):
    spec = project(
        tmp_path,
        "subscriptions: {path: zuora_rate_plan_charges.csv, preset: zuora}",
        REVENUE,
        "zuora_rate_plan_charges.csv",
    )
    v = compute(spec)
    # RatePlanCharge.MRR is already monthly. A00001 100 from Dec 1 (its OneTime charge is
    # not recurring revenue); A00002 amended on Jan 15 from 50 to 80: the Expired row is
    # the version before the amendment (counting it would add 50 for ever); A00003 200 from
    # Dec 10, cancelled on Jan 20 effective Feb 10; A00004 a Draft: never started
    assert num(v, "2025-12", "mrr") == pytest.approx(100 + 50 + 200)  # 350
    assert num(v, "2026-01", "mrr") == pytest.approx(100 + 80 + 200)  # 380
    assert num(v, "2026-02", "mrr") == pytest.approx(100 + 80)  # 180
    assert num(v, "2026-02", "customers") == 2
    # churn at the cancellation date (Subscription.CancelledDate): A00003 is gone by Jan 31
    spec = project(
        tmp_path,
        "subscriptions: {path: zuora_rate_plan_charges.csv, preset: zuora}",
        REVENUE,
        extra="definitions: {churn_date: canceled_at}\n",
    )
    assert num(compute(spec), "2026-01", "mrr") == pytest.approx(100 + 80)


def test_minor_units_of_a_zero_decimal_currency_are_not_divided(tmp_path):
    """'Cents' are the currency's minor unit: a yen has none, so 5000 JPY is 5000 yen."""
    text = (FIXTURES / "baremetrics.csv").read_text().replace(",USD,", ",JPY,")
    (tmp_path / "baremetrics.csv").write_text(text)
    spec = project(
        tmp_path,
        "subscriptions: {path: baremetrics.csv, preset: baremetrics}",
        "mrr: {type: mrr}",
    ).read_text()
    (tmp_path / "metrics.yaml").write_text(spec.replace("currency: USD", "currency: JPY"))
    v = compute(tmp_path / "metrics.yaml")
    # cus_1 5000 monthly + cus_2 30000 x 2 / 3 = 20000
    assert num(v, "2026-01", "mrr") == pytest.approx(5000 + 20000)


def test_a_subscription_canceled_during_its_trial_never_paid(tmp_path):
    """sub_9 trials from Jan 20 to Feb 3 but ends Jan 25: no MRR at all, and no line that
    ends before it starts (which would net a negative MRR)."""
    text = (FIXTURES / "stripe_subscriptions.csv").read_text().splitlines()
    gone = "sub_9,cus_J,Iota,j@iota.example,price_pro_monthly,Pro,1,usd,month,49.00,canceled,"
    gone += "2026-01-20 08:00,2026-01-20 08:00,2026-01-20 08:00,2026-02-03 08:00,"
    gone += "2026-01-20 08:00,2026-02-03 08:00,2026-01-25 08:00,false,2026-01-25 08:00"
    (tmp_path / "stripe_subscriptions.csv").write_text("\n".join([*text, gone]) + "\n")
    spec = project(
        tmp_path, "subscriptions: {path: stripe_subscriptions.csv, preset: stripe}", REVENUE
    )
    r = invoke(["compute", "--spec", spec, "-f", "csv", "--period", "2026-02"])
    assert "warning" not in r.stderr
    v = {(x["period"], x["metric"]): x["value"] for x in csv.DictReader(io.StringIO(r.stdout))}
    assert num(v, "2026-02", "mrr") == pytest.approx(98 + 49 + 30 + 20)  # as without sub_9
    assert num(v, "2026-02", "customers") == 4


# ---- support -----------------------------------------------------------------------------
SUPPORT = """
tickets: {type: tickets}
frt: {type: first_response_hours}
res: {type: resolution_hours}
fcr: {type: first_contact_resolution_rate}
open: {type: open_tickets}
"""


def test_zendesk_ticket_export(tmp_path):
    spec = project(
        tmp_path,
        "tickets: {path: zendesk_tickets.csv, preset: zendesk}",
        SUPPORT,
        "zendesk_tickets.csv",
    )
    v = compute(spec)
    # 101 Acme: first reply 90 min, solved after 6 h, 1 reply
    # 102 Acme: first reply 30 min, solved after 48 h, 3 replies
    # 103 Beta: first reply 240 min, unsolved
    # 104 Beta: deleted -> dropped
    # 105 Beta: first reply 60 min, solved after 24 h, 0 replies
    assert num(v, "2026-01", "tickets") == 4
    assert num(v, "2026-01", "frt") == pytest.approx((1.0 + 1.5) / 2)  # 0.5 1 1.5 4 -> 1.25
    assert num(v, "2026-01", "res") == pytest.approx(24)  # median of 6, 48, 24
    assert num(v, "2026-01", "fcr") == pytest.approx(2 / 3)  # replies <= 1: 101, 105
    assert num(v, "2026-01", "open") == 1  # 103


def test_freshdesk_ticket_export(tmp_path):
    spec = project(
        tmp_path,
        "tickets: {path: freshdesk_tickets.csv, preset: freshdesk}",
        SUPPORT,
        "freshdesk_tickets.csv",
    )
    v = compute(spec)
    # 1 Acme, Closed: first response after 1.5 h (Initial response time), resolved after 6 h
    #   (Resolved time), 1 agent interaction
    # 2 Acme, Resolved: first response after 0.5 h, resolved after 48 h, 3 interactions
    # 3 Beta, Open: first response after 4 h, unresolved
    # 4 Beta, Open again (reopened): its old Resolved time does not count; 1 h to respond
    assert num(v, "2026-01", "tickets") == 4
    assert num(v, "2026-01", "frt") == pytest.approx((1.0 + 1.5) / 2)  # 0.5 1 1.5 4 -> 1.25
    assert num(v, "2026-01", "res") == pytest.approx((6 + 48) / 2)  # median of 6, 48: 27
    assert num(v, "2026-01", "fcr") == pytest.approx(1 / 2)  # one interaction: ticket 1
    assert num(v, "2026-01", "open") == 2  # 3 and 4


def test_intercom_conversations(tmp_path):
    spec = project(
        tmp_path,
        "tickets: {path: intercom_conversations.csv, preset: intercom}",
        "tickets: {type: tickets}\nfrt: {type: first_response_hours}\n"
        "res: {type: resolution_hours}\nopen: {type: open_tickets}",
        "intercom_conversations.csv",
    )
    v = compute(spec)
    # epoch seconds; c1 first admin reply +2 h, closed +5 h; c2 reply +30 min, closed once
    # but open again (reopened): not resolved; c3 reply +1 h, snoozed
    assert num(v, "2026-01", "tickets") == 3
    assert num(v, "2026-01", "frt") == pytest.approx(1.0)  # median of 2, 0.5, 1
    assert num(v, "2026-01", "res") == pytest.approx(5.0)  # c1 only
    assert num(v, "2026-01", "open") == 2  # c2, c3


# ---- surveys -----------------------------------------------------------------------------
def test_delighted_responses(tmp_path):
    spec = project(
        tmp_path,
        "surveys: {path: delighted_responses.csv, preset: delighted}",
        "nps: {type: nps}\nresponses: {type: nps_responses}",
        "delighted_responses.csv",
    )
    v = compute(spec)
    # January (created_at in epoch seconds, UTC): 10 9 7 3 10 -> promoters 3, detractors 1
    assert num(v, "2026-01", "nps") == pytest.approx(100 * (3 - 1) / 5)  # 40
    # r6 at 2026-02-01 00:01 UTC is February: score 0 -> one detractor
    assert num(v, "2026-02", "nps") == pytest.approx(-100)
    assert num(v, "2026-02", "responses") == 1


def test_typeform_responses_with_the_question_mapped(tmp_path):
    spec = project(
        tmp_path,
        "surveys:\n  path: typeform_responses.csv\n  preset: typeform\n"
        '  columns: {score: "How likely are you to recommend us to a friend?"}',
        "nps: {type: nps}",
        "typeform_responses.csv",
    )
    v = compute(spec)
    # January: 9 6 10 8 -> promoters 2 (9, 10), detractors 1 (6); the partial response
    # (Response Type partial, a 0 never submitted) is not read
    assert num(v, "2026-01", "nps") == pytest.approx(100 * (2 - 1) / 4)  # 25
    assert num(v, "2026-02", "nps") == pytest.approx(-100)  # one 2


def test_typeform_without_the_score_column_says_what_to_map(tmp_path):
    spec = project(
        tmp_path,
        "surveys: {path: typeform_responses.csv, preset: typeform}",
        "nps: {type: nps}",
        "typeform_responses.csv",
    )
    r = compute(spec, code=65, stderr=["typeform_responses.csv", "'score'", "question text"])
    assert "Traceback" not in r.stderr


# ---- usage -------------------------------------------------------------------------------
USAGE = "users: {type: active_users}\naccounts: {type: active_accounts}"


@pytest.mark.parametrize(
    ("preset", "name"),
    [("segment", "segment_events.csv"), ("amplitude", "amplitude_events.ndjson")],
)
def test_event_exports(tmp_path, preset, name):
    spec = project(tmp_path, f"usage: {{path: {name}, preset: {preset}}}", USAGE, name)
    v = compute(spec)
    # January: u1 (twice), an anonymous / device-only user, u2 -> 3 users in acme and beta;
    # Segment's identify call and Amplitude's $identify / session_start are not activity
    # (they would add a user and the gamma account); February: u4 / u5 in gamma
    assert num(v, "2026-01", "users") == 3
    assert num(v, "2026-01", "accounts") == 2
    assert num(v, "2026-02", "users") == 1


def test_epoch_milliseconds_are_told_from_seconds(tmp_path):
    """Amplitude's `time` is Unix milliseconds, Intercom's Unix seconds: 1767603600000 ms and
    1767603600 s are both 2026-01-05 09:00 UTC; 1769903940000 ms is 2026-01-31 23:59 UTC."""
    lines = [
        '{"user_id": "u1", "event_type": "Open", "event_time": 1767603600000, "account_id": "a"}',
        '{"user_id": "u2", "event_type": "Open", "event_time": 1767603600, "account_id": "b"}',
        '{"user_id": "u3", "event_type": "Open", "event_time": 1769903940000, "account_id": "b"}',
    ]
    (tmp_path / "events.ndjson").write_text("\n".join(lines) + "\n")
    spec = project(tmp_path, "usage: {path: events.ndjson, preset: amplitude}", USAGE)
    v = compute(spec)
    assert num(v, "2026-01", "users") == 3
    assert num(v, "2026-02", "users") == 0


# ---- errors and overrides ----------------------------------------------------------------
def test_a_file_of_another_vendor_is_a_data_error_naming_expected_and_found(tmp_path):
    spec = project(
        tmp_path,
        "subscriptions: {path: stripe_subscriptions.csv, preset: baremetrics}",
        REVENUE,
        "stripe_subscriptions.csv",
    )
    r = compute(
        spec,
        code=65,
        stderr=[
            "stripe_subscriptions.csv",
            "Baremetrics manual subscription import template",
            "'customer_oid'",  # expected
            "Customer ID",  # found
            "this looks like a stripe export: set preset: stripe",
        ],
    )
    assert r.stdout == ""
    assert "Traceback" not in r.stderr


def test_the_expected_columns_are_named_as_the_vendor_writes_them(tmp_path):
    spec = project(
        tmp_path,
        "subscriptions: {path: baremetrics.csv, preset: stripe}",
        REVENUE,
        "baremetrics.csv",
    )
    compute(
        spec,
        code=65,
        stderr=[
            "Stripe Dashboard subscriptions export",
            "'Customer ID'",
            "'Status'",
            "baremetrics",
        ],
    )


def test_unknown_preset_is_a_spec_error_listing_the_known_ones(tmp_path):
    spec = project(
        tmp_path,
        "subscriptions: {path: baremetrics.csv, preset: paddle}",
        REVENUE,
        "baremetrics.csv",
    )
    r = invoke(["compute", "--spec", spec], code=78, stderr=["preset", "'stripe'", "'zendesk'"])
    assert "Traceback" not in r.stderr


def test_a_preset_for_another_role_is_a_spec_error(tmp_path):
    spec = project(
        tmp_path,
        "subscriptions: {path: baremetrics.csv, preset: zendesk}",
        REVENUE,
        "baremetrics.csv",
    )
    invoke(
        ["compute", "--spec", spec],
        code=78,
        stderr=["zendesk has no layout for the subscriptions source", "baremetrics"],
    )


def test_explicit_columns_override_single_preset_columns(tmp_path):
    """columns: wins for the canonical columns it names; the rest stays the preset's.
    Accounts keyed by customer_email instead of customer_oid: cus_1 and cus_2 share one
    address here, so January has one customer with 50 + 200 = 250."""
    text = (FIXTURES / "baremetrics.csv").read_text().replace("bob@example.com", "ann@example.com")
    (tmp_path / "baremetrics.csv").write_text(text)
    spec = project(
        tmp_path,
        "subscriptions: {path: baremetrics.csv, preset: baremetrics, "
        "columns: {account_id: customer_email}}",
        REVENUE,
    )
    v = compute(spec)
    assert num(v, "2026-01", "mrr") == pytest.approx(250)  # amounts still in cents
    assert num(v, "2026-01", "customers") == 1


def test_a_bad_amount_is_reported_with_its_row_and_raw_text(tmp_path):
    text = (FIXTURES / "baremetrics.csv").read_text().replace(",30000,", ",30k,")
    (tmp_path / "baremetrics.csv").write_text(text)
    spec = project(tmp_path, "subscriptions: {path: baremetrics.csv, preset: baremetrics}", REVENUE)
    compute(spec, code=65, stderr=["baremetrics.csv:3", "'30k'", "amount"])


def test_every_preset_has_a_fixture_and_a_documented_layout():
    doc = (Path(__file__).parent.parent / "docs" / "presets.md").read_text()
    fixtures = {p.name.split("_")[0].split(".")[0] for p in FIXTURES.iterdir()}
    for name in PRESET_NAMES:
        assert name in fixtures, f"no fixture for preset {name}"
        assert f"`{name}`" in doc, f"docs/presets.md does not document {name}"
        for layouts in PRESETS[name].layouts.values():
            for layout in layouts:
                assert layout.url in doc, f"{layout.title}: its source page is not in the doc"


def test_header_names_match_whatever_their_case_and_punctuation():
    assert norm("Current Period End (UTC)") == "current_period_end_utc"
    assert norm("context.groupId") == "context_groupid"
    assert norm("#") == "#"
