"""The vendors' export layouts, as data: for each preset, per source role, the columns
the export has (with the names the vendor writes) and the conventions its values follow.
docs/presets.md documents every layout and the public page it comes from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    pass

HELPER = "__p_"  # prefix of the helper columns a preset reads (dropped after finish_preset)

# currencies whose minor unit is the unit itself (Stripe's list of zero-decimal currencies)
ZERO_DECIMAL = frozenset(
    [
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "JPY",
        "KMF",
        "KRW",
        "MGA",
        "PYG",
        "RWF",
        "UGX",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    ]
)

# statuses (normalised: lower case, spaces and dashes as _) of a trial: the preset starts
# MRR at the trial's end itself, so its status column leaves them empty for the policies
TRIAL_STATES = ("trialing", "in_trial", "trial", "free_trial")


# interval unit -> months (the same month lengths as sources.INTERVAL_MONTHS)
UNIT_MONTHS = {"day": 12 / 365, "week": 12 / 52, "month": 1.0, "quarter": 3.0, "year": 12.0}


@dataclass(frozen=True)
class Col:
    """One column a layout reads: ``target`` is a canonical column or a helper name
    (``_status``: kept as ``__p_status`` for the rules, never an output column)."""

    target: str
    names: tuple[str, ...]  # header names, normalised (see norm); the first found is used
    required: bool = False
    kind: str = "text"  # text | amount | time | unit (interval unit, combined with _count)
    cents: tuple[str, ...] = ()  # names (also in `names`) whose values are in cents
    label: str = ""  # the first name as the vendor writes it, for messages


@dataclass(frozen=True)
class Layout:
    title: str  # "Stripe Dashboard subscriptions export"
    url: str  # the public page the layout is taken from
    columns: tuple[Col, ...]
    amount_scale: float = 1.0  # amounts are divided by this (100: cents)
    exclude: dict[str, tuple[str, ...]] = field(default_factory=dict)  # column -> dropped values
    ends: dict[str, tuple[str, ...]] = field(default_factory=dict)  # status -> end columns
    scheduled_end: tuple[str, str] | None = None  # (flag, end): true flag ends at `end`
    paid_from_trial_end: bool = False  # MRR starts at _trial_end when later than start_date
    resolved_if: tuple[str, ...] = ()  # resolved_at only when the status is one of these
    rules: tuple[str, ...] = ()  # vendor-specific derivations (see _RULES_TEXT/_RULES_TYPED)
    hint: str = ""  # added to the wrong-layout error (e.g. which column to map)
    # canonical column -> the helper it copies: the columns the definition policies read
    # (status, status_date, canceled_at, paid_through; metrics/policy.py)
    policy_columns: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Preset:
    name: str
    vendor: str
    layouts: dict[str, tuple[Layout, ...]]  # role -> layouts, tried in order


def norm(name: str) -> str:
    """Header name as presets match it: lower case, runs of other characters -> '_'."""
    out = re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_")
    return out or name.strip()


def _c(target: str, *names: str, **kw: Any) -> Col:
    return Col(target, tuple(norm(n) for n in names), label=names[0], **kw)


# ---- the presets -------------------------------------------------------------------------
STRIPE_SUBSCRIPTIONS = Layout(
    "Stripe Dashboard subscriptions export (Billing > Subscriptions > Export)",
    "https://docs.stripe.com/api/subscriptions/object",
    (
        _c("account_id", "Customer ID", "Customer", required=True),
        _c(
            "start_date",
            "Start Date (UTC)",
            "Start (UTC)",
            "Created (UTC)",
            required=True,
            kind="time",
        ),
        _c("amount", "Amount", "Plan Amount", "Price Amount", required=True, kind="amount"),
        _c("_status", "Status", required=True),
        _c("end_date", "Ended At (UTC)", kind="time"),
        _c("interval", "Interval", "Plan Interval", "Price Interval", kind="unit"),
        _c("_count", "Interval Count", "Plan Interval Count", "Price Interval Count"),
        _c("quantity", "Quantity"),
        _c("currency", "Currency"),
        _c("plan", "Plan", "Price", "Plan Nickname", "Product"),
        _c("subscription_id", "id", "Subscription ID"),
        _c("_trial_end", "Trial End (UTC)", kind="time"),
        _c("_canceled_at", "Canceled At (UTC)", kind="time"),
        _c("_period_start", "Current Period Start (UTC)", kind="time"),
        _c("_period_end", "Current Period End (UTC)", kind="time"),
        _c("_cancel_at_period_end", "Cancel At Period End"),
    ),
    exclude={"_status": ("incomplete", "incomplete_expired")},
    ends={"canceled": ("_canceled_at",)},
    scheduled_end=("_cancel_at_period_end", "_period_end"),
    paid_from_trial_end=True,
    # past_due / unpaid: since the current period's renewal invoice (its start); unpaid and
    # past-due rows are the policy's to end (unpaid_days, past_due_days)
    policy_columns={
        "status": "_status",
        "status_date": "_period_start",
        "canceled_at": "_canceled_at",
        "paid_through": "_period_end",
    },
)

_STRIPE_LINE_COMMON = (
    _c("currency", "Currency"),
    _c("line_type", "Type", "Line Item Type"),
    _c("_proration", "Proration"),
    _c("discount", "Discount Amount", "Discount", kind="amount"),
)
STRIPE_LINES_DASHBOARD = Layout(
    "Stripe Dashboard invoice line items export (Invoices > Export > line items)",
    "https://docs.stripe.com/api/invoice-line-item/object",
    (
        _c("account_id", "Customer ID", "Customer", required=True),
        _c(
            "period_start",
            "Period Start (UTC)",
            "Line Item Period Start (UTC)",
            required=True,
            kind="time",
        ),
        _c(
            "period_end",
            "Period End (UTC)",
            "Line Item Period End (UTC)",
            required=True,
            kind="time",
        ),
        _c("amount", "Amount", "Line Item Amount", required=True, kind="amount"),
        _c("invoice_id", "Invoice ID", "Invoice"),
        *_STRIPE_LINE_COMMON,
    ),
    rules=("stripe_line_type",),
)
STRIPE_LINES_SIGMA = Layout(
    "Stripe Sigma invoice_line_items (joined to invoices for customer_id)",
    "https://docs.stripe.com/api/invoice-line-item/object",
    (
        _c("account_id", "customer_id", "customer", required=True),
        _c("period_start", "period_start", required=True, kind="time"),
        _c("period_end", "period_end", required=True, kind="time"),
        _c("amount", "amount", required=True, kind="amount"),
        _c("invoice_id", "invoice_id", "invoice"),
        *_STRIPE_LINE_COMMON,
    ),
    amount_scale=100.0,
    rules=("stripe_line_type",),
)

CHARGEBEE_FIELDS = "https://apidocs.eu.chargebee.com/docs/api/v1/subscriptions"


def _cb(target: str, *names: str, **kw: Any) -> Col:
    """A Chargebee column: the field name bare, as 'subscriptions.<field>' or 'Title Case'."""
    return _c(target, *names, *(f"subscriptions.{n}" for n in names), **kw)


CHARGEBEE_SUBSCRIPTIONS = Layout(
    "Chargebee subscriptions export (subscription fields as the API names them)",
    CHARGEBEE_FIELDS,
    (
        _cb("account_id", "customer_id", "customers.id", required=True),
        _cb(
            "start_date",
            "started_at",
            "activated_at",
            "start_date",
            "created_at",
            required=True,
            kind="time",
        ),
        _cb("amount", "plan_unit_price", "plan_amount", required=True, kind="amount"),
        _cb("_status", "status", required=True),
        _cb("end_date", "cancelled_at", "canceled_at", kind="time"),
        _cb("interval", "billing_period_unit", kind="unit"),
        _cb("_count", "billing_period"),
        _cb("quantity", "plan_quantity"),
        _cb("currency", "currency_code"),
        _cb("plan", "plan_id", "item_price_id"),
        _cb("subscription_id", "id", "subscription_id"),
        _cb("_trial_end", "trial_end", kind="time"),
        _cb("_term_end", "current_term_end", kind="time"),
        _cb("_pause_date", "pause_date", kind="time"),
    ),
    amount_scale=100.0,
    exclude={"_status": ("future",)},
    ends={"paused": ("_pause_date", "_term_end"), "transferred": ("_term_end",)},
    paid_from_trial_end=True,
    policy_columns={"status": "_status", "paid_through": "_term_end"},
)

RECURLY_SUBSCRIPTIONS = Layout(
    "Recurly subscriptions export (Exports > Subscriptions)",
    "https://docs.recurly.com/docs/subscriptions-exports",
    (
        _c("account_id", "account_code", required=True),
        _c("start_date", "activated_at", "subscription_activated_at", required=True, kind="time"),
        _c(
            "amount",
            "unit_amount",
            "subscription_unit_amount",
            "unit_amount_in_cents",
            required=True,
            kind="amount",
            cents=(norm("unit_amount_in_cents"),),
        ),
        _c("_status", "state", "subscription_state", required=True),
        _c("end_date", "expires_at", "subscription_expires_at", kind="time"),
        _c("interval", "plan_interval_unit", "interval_unit", kind="unit"),
        _c("_count", "plan_interval_length", "interval_length"),
        _c("quantity", "quantity", "subscription_quantity"),
        _c("currency", "currency", "subscription_currency"),
        _c("plan", "plan_code", "plan_name"),
        _c("subscription_id", "uuid", "subscription_uuid"),
        _c("_trial_end", "trial_ends_at", kind="time"),
        _c("_period_end", "current_period_ends_at", kind="time"),
        _c("_canceled_at", "canceled_at", "subscription_canceled_at", kind="time"),
    ),
    exclude={"_status": ("future", "failed")},
    ends={"paused": ("_period_end",)},
    paid_from_trial_end=True,
    policy_columns={
        "status": "_status",
        "canceled_at": "_canceled_at",
        "paid_through": "_period_end",
    },
)

BAREMETRICS_SUBSCRIPTIONS = Layout(
    "Baremetrics manual subscription import template",
    "https://help.baremetrics.com/en/articles/5380088-manual-subscription-import-guide",
    (
        _c("account_id", "customer_oid", required=True),
        _c("start_date", "subscription_started_at", required=True),
        _c("amount", "plan_amount", required=True, kind="amount"),
        _c("interval", "plan_interval", required=True, kind="unit"),
        _c("_count", "plan_interval_count"),
        _c("end_date", "subscription_canceled_at"),
        _c("quantity", "subscription_quantity"),
        _c("currency", "plan_currency"),
        _c("plan", "plan_name", "plan_oid"),
        _c("subscription_id", "subscription_oid"),
    ),
    amount_scale=100.0,
)

ZUORA_CHARGES = Layout(
    "Zuora rate plan charges (a Data Source or AQuA export of RatePlanCharge, Object.Field)",
    "https://learn.microsoft.com/en-us/power-bi/connect-data/service-connect-to-zuora",
    (
        _c(
            "account_id",
            "Account.AccountNumber",
            "Account.Id",
            "Account: Account Number",
            required=True,
        ),
        _c(
            "start_date",
            "RatePlanCharge.EffectiveStartDate",
            "Rate Plan Charge: Effective Start Date",
            required=True,
        ),
        # the charge's monthly recurring revenue, quantity and billing period applied
        _c("amount", "RatePlanCharge.MRR", "Rate Plan Charge: MRR", required=True),
        _c("_status", "Subscription.Status", "Subscription: Status", required=True),
        _c("end_date", "RatePlanCharge.EffectiveEndDate", "Rate Plan Charge: Effective End Date"),
        _c("currency", "Account.Currency", "Account: Currency"),
        _c("plan", "RatePlan.Name", "Product.Name", "Rate Plan: Name", "Product: Name"),
        _c("subscription_id", "Subscription.Name", "Subscription.Id", "Subscription: Name"),
        _c("_charge_type", "RatePlanCharge.ChargeType", "Rate Plan Charge: Charge Type"),
        _c("_cancelled", "Subscription.CancelledDate", "Subscription: Cancelled Date"),
        _c(
            "_charged_through",
            "RatePlanCharge.ChargedThroughDate",
            "Rate Plan Charge: Charged Through Date",
        ),
    ),
    # an amended subscription's earlier versions are Expired (the new version carries the
    # charges on), a Draft never started: Zuora's own gross MRR leaves both out
    exclude={
        "_status": ("expired", "draft"),
        "_charge_type": ("onetime", "one_time", "usage"),
    },
    policy_columns={
        "status": "_status",
        "canceled_at": "_cancelled",
        "paid_through": "_charged_through",
    },
    hint="export the RatePlanCharge data source with Account.AccountNumber and Subscription.Status",
)

ZENDESK_TICKETS = Layout(
    "Zendesk ticket export (Admin Center > Account > Tools > Reports, CSV; API field names too)",
    "https://developer.zendesk.com/api-reference/ticketing/tickets/ticket_metrics/",
    (
        _c("ticket_id", "Id", "Ticket ID", "zendesk_id", required=True),
        _c(
            "account_id",
            "Organization",
            "Organization id",
            "organization_id",
            "Organization name",
            required=True,
        ),
        _c("created_at", "Created at", "created_at", required=True, kind="time"),
        _c("resolved_at", "Solved at", "solved_at", kind="time"),
        _c("contacts", "Replies", "replies"),
        _c("reopened", "Reopens", "reopens"),
        _c("status", "Status"),
        _c("channel", "Via", "via"),
        _c("satisfaction", "Satisfaction Score", "satisfaction", "satisfaction_rating"),
        _c("_first_reply_minutes", "First reply time in minutes", "first_reply_time_in_minutes"),
    ),
    exclude={"status": ("deleted",)},
    rules=("first_reply_minutes",),
    hint="Zendesk's CSV names the organization 'Organization'",
)

FRESHDESK_TICKETS = Layout(
    "Freshdesk ticket export (Tickets > Export, CSV; API field names too)",
    "https://developers.freshdesk.com/api/#tickets",
    (
        _c("ticket_id", "Ticket ID", "Ticket Id", "id", required=True),
        _c(
            "account_id",
            "Company Name",
            "Company",
            "company_id",
            "Company ID",
            required=True,
        ),
        _c("created_at", "Created time", "created_at", required=True),
        _c("first_response_at", "Initial response time"),
        _c("resolved_at", "Resolved time", "resolved_at", "Closed time", "closed_at"),
        _c("contacts", "Agent interactions", "agent_interactions"),
        _c("status", "Status", "status"),
        _c("channel", "Source", "source"),
    ),
    resolved_if=("resolved", "closed", "4", "5"),
    hint="Freshdesk's export names the account 'Company Name': add that field to the export",
)

INTERCOM_CONVERSATIONS = Layout(
    "Intercom conversations (API conversation model flattened: statistics.*, source.*)",
    "https://fivetran.com/docs/connectors/applications/intercom/connector-schema",
    (
        _c("ticket_id", "id", "Conversation ID", required=True),
        _c("account_id", "company_id", "Company ID", "companies_id", required=True),
        _c(
            "created_at",
            "created_at",
            "Created at",
            "Conversation started at",
            required=True,
            kind="time",
        ),
        _c(
            "first_response_at",
            "statistics.first_admin_reply_at",
            "first_admin_reply_at",
            "First admin reply at",
            kind="time",
        ),
        _c(
            "resolved_at",
            "statistics.last_close_at",
            "last_close_at",
            "statistics.first_close_at",
            "Last closed at",
            kind="time",
        ),
        _c("reopened", "statistics.count_reopens", "count_reopens", "Reopens"),
        _c("status", "state", "State"),
        _c("channel", "source.type", "source_type", "Channel"),
        _c("satisfaction", "conversation_rating.rating", "conversation_rating_rating", "Rating"),
    ),
    resolved_if=("closed",),
    hint="conversations carry the company as company_id",
)

DELIGHTED_RESPONSES = Layout(
    "Delighted survey responses (CSV export / API survey_response fields)",
    "http://delightedapp.com/docs/api/listing-survey-responses",
    (
        _c(
            "account_id",
            "account_id",
            "customer_id",
            "company_id",
            "company",
            "person_properties.account_id",
            "person_properties.customer_id",
            "person_properties.company",
            required=True,
        ),
        _c(
            "submitted_at",
            "created_at",
            "Response timestamp",
            "Created at",
            required=True,
            kind="time",
        ),
        _c("score", "score", "Score", required=True),
        _c("survey", "survey_type", "Survey type"),
        _c("respondent_id", "person", "person_id", "Email", "Person email"),
        _c("comment", "comment", "Comment"),
    ),
    hint="Delighted keeps the account in a person property: map it with columns: {account_id: <property column>}",
)

TYPEFORM_RESPONSES = Layout(
    "Typeform responses download (Results > Responses > Download, CSV; API names too)",
    "https://developer.typeform.com/responses/reference/retrieve-responses/",
    (
        _c(
            "account_id",
            "account_id",
            "customer_id",
            "company_id",
            "hidden.account_id",
            required=True,
        ),
        _c("submitted_at", "Submit Date (UTC)", "submitted_at", required=True, kind="time"),
        _c("score", "score", required=True),
        _c("respondent_id", "#", "Response ID", "token", "response_id"),
        _c("_response_type", "Response Type", "response_type"),
    ),
    # a partial response (no Submit Date) was never submitted: not a survey response
    exclude={"_response_type": ("partial",)},
    hint="Typeform names each answer column after its question: map the score with "
    "columns: {score: <question text>} and the account hidden field with account_id",
)

SEGMENT_EVENTS = Layout(
    "Segment track events (Segment Spec common fields; warehouse or JSON export names)",
    "https://www.twilio.com/docs/segment/connections/spec/common",
    (
        _c(
            "account_id",
            "context.groupId",
            "context_group_id",
            "groupId",
            "group_id",
            required=True,
        ),
        _c(
            "timestamp",
            "timestamp",
            "original_timestamp",
            "originalTimestamp",
            required=True,
            kind="time",
        ),
        _c("user_id", "userId", "user_id"),
        _c("_anonymous_id", "anonymousId", "anonymous_id"),
        _c("event", "event", "event_text", "name"),
        _c("_type", "type"),
    ),
    exclude={"_type": ("identify", "group", "alias")},
    rules=("user_fallback",),
    hint="Segment ties an event to its account through context.groupId",
)

AMPLITUDE_EVENTS = Layout(
    "Amplitude Export API events (one JSON object per line)",
    "https://amplitude.com/docs/apis/analytics/export",
    (
        _c(
            "account_id",
            "groups",
            "account_id",
            "groups.account_id",
            "groups.company_id",
            "groups.company",
            required=True,
        ),
        _c("timestamp", "event_time", "client_event_time", required=True, kind="time"),
        _c("user_id", "user_id"),
        _c("_anonymous_id", "device_id", "amplitude_id"),
        _c("event", "event_type", required=True),
    ),
    exclude={"event": ("$identify", "$groupidentify", "session_start", "session_end")},
    rules=("user_fallback",),
    hint="Amplitude ties an event to its account through groups (the Accounts add-on)",
)

PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "stripe",
            "Stripe",
            {
                "subscriptions": (STRIPE_SUBSCRIPTIONS,),
                "invoices": (STRIPE_LINES_DASHBOARD, STRIPE_LINES_SIGMA),
            },
        ),
        Preset("chargebee", "Chargebee", {"subscriptions": (CHARGEBEE_SUBSCRIPTIONS,)}),
        Preset("recurly", "Recurly", {"subscriptions": (RECURLY_SUBSCRIPTIONS,)}),
        Preset("baremetrics", "Baremetrics", {"subscriptions": (BAREMETRICS_SUBSCRIPTIONS,)}),
        Preset("zuora", "Zuora", {"subscriptions": (ZUORA_CHARGES,)}),
        Preset("zendesk", "Zendesk", {"tickets": (ZENDESK_TICKETS,)}),
        Preset("freshdesk", "Freshdesk", {"tickets": (FRESHDESK_TICKETS,)}),
        Preset("intercom", "Intercom", {"tickets": (INTERCOM_CONVERSATIONS,)}),
        Preset("delighted", "Delighted", {"surveys": (DELIGHTED_RESPONSES,)}),
        Preset("typeform", "Typeform", {"surveys": (TYPEFORM_RESPONSES,)}),
        Preset("segment", "Segment", {"usage": (SEGMENT_EVENTS,)}),
        Preset("amplitude", "Amplitude", {"usage": (AMPLITUDE_EVENTS,)}),
    )
}
PRESET_NAMES = tuple(PRESETS)
