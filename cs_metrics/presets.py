"""Source presets: a vendor's own export layout, read with no ``columns:`` mapping.

``sources.<role>.preset: NAME`` names a vendor (stripe, chargebee, recurly, baremetrics,
zendesk, intercom, delighted, typeform, segment, amplitude). Each preset is DATA: for each
role it supports, one or more :class:`Layout` s (the columns the vendor's export has, and
the conventions its values follow). Reading a file:

1. :func:`apply_preset` (called by ``sources.scan_source`` right after the header is
   read) picks the layout whose required columns the file has, renames the vendor's
   columns to canonical ones and rewrites their raw text in place where the vendor's
   convention differs from csm's (amounts in cents -> /100, Unix-epoch or UTC timestamps
   -> ISO 8601 with an offset, interval x interval_count -> months). The rows are not
   touched yet, so every bad value is still reported by sources.py with its file and row.
2. :func:`finish_preset` (called once the canonical columns are typed) applies the rules
   that need typed values: rows of excluded statuses are dropped, ended statuses get an
   end date, MRR starts at the trial's end, and the like.

Explicit ``columns:`` entries still win over the preset's mapping for the canonical
columns they name (their column is read as csm reads any column: no preset conversion).
docs/presets.md documents every layout and the public page it comes from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cs_metrics.errors import DataError, SpecError

if TYPE_CHECKING:
    import polars as pl

    from cs_metrics.spec.models import Source

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
    ends={"canceled": ("_canceled_at",), "unpaid": ("_period_start",)},
    scheduled_end=("_cancel_at_period_end", "_period_end"),
    paid_from_trial_end=True,
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
        _cb("account_id", "customer_id", required=True),
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
    ),
    exclude={"_status": ("future", "failed")},
    ends={"paused": ("_period_end",)},
    paid_from_trial_end=True,
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
    ),
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
        Preset("zendesk", "Zendesk", {"tickets": (ZENDESK_TICKETS,)}),
        Preset("intercom", "Intercom", {"tickets": (INTERCOM_CONVERSATIONS,)}),
        Preset("delighted", "Delighted", {"surveys": (DELIGHTED_RESPONSES,)}),
        Preset("typeform", "Typeform", {"surveys": (TYPEFORM_RESPONSES,)}),
        Preset("segment", "Segment", {"usage": (SEGMENT_EVENTS,)}),
        Preset("amplitude", "Amplitude", {"usage": (AMPLITUDE_EVENTS,)}),
    )
}
PRESET_NAMES = tuple(PRESETS)


# ---- resolving a file's layout -----------------------------------------------------------
@dataclass
class Resolved:
    layout: Layout
    found: dict[str, str]  # target -> file column
    via_cents: frozenset[str] = frozenset()  # targets read from a column in cents
    index: int = 0  # the layout's position among the preset's layouts for the role


def layouts_for(name: str, role: str) -> tuple[Layout, ...]:
    """The layouts of preset ``name`` for ``role``; a SpecError names the known ones."""
    preset = PRESETS.get(name)
    if preset is None:
        raise SpecError(
            f"sources.{role}.preset: unknown preset {name!r}; known presets: "
            f"{', '.join(PRESET_NAMES)}"
        )
    if role not in preset.layouts:
        fitting = [p.name for p in PRESETS.values() if role in p.layouts]
        raise SpecError(
            f"sources.{role}.preset: {name} has no layout for the {role} source (it reads "
            f"{', '.join(preset.layouts)}); presets for {role}: "
            f"{', '.join(fitting) or 'none'}"
        )
    return preset.layouts[role]


def resolve(
    name: str, role: str, header: list[str], explicit: dict[str, str], path: Path | str
) -> Resolved:
    """Pick the layout of ``header`` (the first whose required columns are all there,
    counting canonical columns mapped under ``columns:``); a DataError names the expected
    and the found columns when none fits."""
    by_norm: dict[str, str] = {}
    for h in header:
        by_norm.setdefault(norm(h), h)
    taken = set(explicit.values())
    misses: list[tuple[Layout, list[Col]]] = []
    for index, layout in enumerate(layouts_for(name, role)):
        found: dict[str, str] = {}
        cents: set[str] = set()
        missing: list[Col] = []
        for col in layout.columns:
            if col.target in explicit:
                continue
            hit = next((n for n in col.names if n in by_norm and by_norm[n] not in taken), None)
            if hit is None:
                if col.required:
                    missing.append(col)
                continue
            found[col.target] = by_norm[hit]
            if hit in col.cents:
                cents.add(col.target)
        if not missing:
            return Resolved(layout, found, frozenset(cents), index)
        misses.append((layout, missing))
    layout, missing = min(misses, key=lambda m: len(m[1]))
    expected = [_show(c) for c in layout.columns if c.required]
    lacking = ", ".join(_show(c) for c in missing)
    hint = f" ({layout.hint})" if layout.hint else ""
    other = _fitting_preset(name, role, by_norm, explicit)
    fix = (
        f"this looks like a {other} export: set preset: {other}"
        if other
        else ("use the preset that matches the export")
    )
    raise DataError(
        f"{path}: sources.{role}.preset {name} reads the {layout.title}, which has the "
        f"columns {', '.join(expected)}; this file has no {lacking}{hint}. Its columns: "
        f"{', '.join(header)}. Fix: {fix}, or map the column under sources.{role}.columns"
    )


def _fitting_preset(
    name: str, role: str, by_norm: dict[str, str], explicit: dict[str, str]
) -> str | None:
    """Another preset for ``role`` whose layout has all its required columns in the file."""
    for other in PRESETS.values():
        if other.name == name:
            continue
        for layout in other.layouts.get(role, ()):
            if all(
                c.target in explicit or any(n in by_norm for n in c.names)
                for c in layout.columns
                if c.required
            ):
                return other.name
    return None


def _show(col: Col) -> str:
    return repr(col.label)


# ---- hook 1: mapping + text conversions (before the columns are typed) -------------------
def apply_preset(
    lf: pl.LazyFrame, header: list[str], source: Source, role: str, path: Path
) -> tuple[pl.LazyFrame, list[str]]:
    """Rename a preset's columns to canonical names and convert their raw text in place.

    Returns the frame and its new header; without ``preset:`` both come back unchanged.
    """
    import polars as pl

    name = getattr(source, "preset", None)
    if not name:
        return lf, header
    res = resolve(name, role, header, dict(source.columns), path)
    layout = res.layout
    schema = lf.collect_schema()
    exprs: list[pl.Expr] = []
    for col in layout.columns:
        column = res.found.get(col.target)
        if column is None:
            continue
        raw = _text(pl.col(column), schema[column])
        if col.kind == "amount":
            scale = 100.0 if col.target in res.via_cents else layout.amount_scale
            expr = _scaled(raw, scale)
            currency = res.found.get("currency")
            if scale != 1.0 and currency is not None:
                # minor units: in a zero-decimal currency (JPY, KRW, ...) 1 unit is 1 yen
                code = _text(pl.col(currency), schema[currency]).str.to_uppercase()
                expr = pl.when(code.is_in(list(ZERO_DECIMAL))).then(raw).otherwise(expr)
        elif col.kind == "time":
            expr = _time_text(raw)
        elif col.kind == "unit":
            count = res.found.get("_count")
            expr = _months(raw, _text(pl.col(count), schema[count]) if count else None)
        else:
            expr = raw
        out = HELPER + col.target[1:] if col.target.startswith("_") else col.target
        exprs.append(expr.alias(out))
    for rule in layout.rules:
        if rule in _RULES_TEXT:
            exprs = _RULES_TEXT[rule](exprs)
    # which layout was read, for finish_preset (a column name: the frame stays lazy)
    exprs.append(pl.lit(None, pl.String).alias(f"{HELPER}layout_{res.index}"))
    produced = {e.meta.output_name() for e in exprs}
    consumed = set(res.found.values())
    # the vendor's columns are replaced by the canonical ones; a file column that already
    # bears a produced name (and is not the source of one) is dropped, as sources.py does
    keep = [h for h in header if h not in consumed and h not in produced]
    lf = lf.select([pl.col(h) for h in keep] + exprs)
    return lf, list(lf.collect_schema().names())


def _text(expr: pl.Expr, dtype: Any) -> pl.Expr:
    """The raw value as stripped text (a struct of groups, as Amplitude writes: its first
    non-null value, the first element of a list)."""
    import polars as pl

    if isinstance(dtype, pl.Struct):
        parts = []
        for f in dtype.fields:
            part = expr.struct.field(f.name)
            if isinstance(f.dtype, pl.List):
                part = part.list.first()
            parts.append(part.cast(pl.String))
        return pl.coalesce(parts) if parts else pl.lit(None, pl.String)
    if isinstance(dtype, pl.List):
        expr = expr.list.first()
    return expr.cast(pl.String).str.strip_chars()


def _scaled(raw: pl.Expr, scale: float) -> pl.Expr:
    """Amount text divided by ``scale``; text that is not a number stays (and is reported)."""
    import polars as pl

    if scale == 1.0:
        return raw
    n = raw.cast(pl.Float64, strict=False)
    return pl.when(n.is_not_null()).then((n / scale).cast(pl.String)).otherwise(raw)


_NAIVE = ("%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M")
_AWARE = ("%Y-%m-%dT%H:%M:%S%.f%#z", "%Y-%m-%d %H:%M:%S%.f%#z")


def _time_text(raw: pl.Expr) -> pl.Expr:
    """A vendor timestamp as ISO 8601 text with a UTC offset: Unix epoch numbers (seconds,
    or milliseconds from 12 digits on) and date-times without an offset are UTC, as the vendors write them;
    sources.py then converts to options.timezone. Dates without a time, and text that does
    not parse, are left as they are."""
    import polars as pl

    n = raw.cast(pl.Float64, strict=False)
    # 1e11 seconds is the year 5138 and 1e11 milliseconds 1973: larger numbers are ms
    ms = pl.when(n >= 1e11).then(n).otherwise(n * 1000.0).cast(pl.Int64, strict=False)
    candidates = [
        pl.when(raw.str.contains(r"^\d{9,13}(\.\d+)?$")).then(
            pl.from_epoch(ms, time_unit="ms").cast(pl.Datetime("us"))
        )
    ]
    candidates += [
        raw.str.to_datetime(f, strict=False, time_zone="UTC")
        .dt.replace_time_zone(None)
        .cast(pl.Datetime("us"))
        for f in _AWARE
    ]
    candidates += [raw.str.to_datetime(f, strict=False).cast(pl.Datetime("us")) for f in _NAIVE]
    dt = pl.coalesce(candidates)
    return (
        pl.when(dt.is_not_null())
        .then(dt.dt.strftime("%Y-%m-%dT%H:%M:%S%.f") + "+00:00")
        .otherwise(raw)
    )


def _months(unit: pl.Expr, count: pl.Expr | None) -> pl.Expr:
    """interval unit x interval count -> months as text (sources.py reads a number of
    months); an unknown unit stays as it is, so sources.py reports it."""
    import polars as pl

    low = unit.str.to_lowercase().str.strip_suffix("s").str.replace(r"ly$", "")
    low = low.replace({"dai": "day", "annual": "year", "annually": "year"})
    per = low.replace_strict(UNIT_MONTHS, default=None, return_dtype=pl.Float64)
    n = pl.lit(1.0) if count is None else count.cast(pl.Float64, strict=False).fill_null(1.0)
    return pl.when(per.is_not_null()).then((per * n).cast(pl.String)).otherwise(unit)


def _rule_stripe_line_type(exprs: list[pl.Expr]) -> list[pl.Expr]:
    """Stripe's line type: a proration line (proration = true) is 'proration', a
    'subscription' line stays, any other line (an invoice item) is 'one_off' (not MRR)."""
    import polars as pl

    names = {e.meta.output_name(): e for e in exprs}
    kind = names.get("line_type")
    if kind is None:
        return exprs
    proration = names.get(HELPER + "proration")
    low = kind.str.to_lowercase()
    line = pl.when(low.is_null() | (low == "")).then(pl.lit(None, pl.String))
    if proration is not None:
        line = line.when(proration.str.to_lowercase().is_in(["true", "t", "yes", "1"])).then(
            pl.lit("proration")
        )
    line = (
        line.when(low == "subscription").then(pl.lit("subscription")).otherwise(pl.lit("one_off"))
    )
    return [e for e in exprs if e.meta.output_name() != "line_type"] + [line.alias("line_type")]


def _rule_user_fallback(exprs: list[pl.Expr]) -> list[pl.Expr]:
    """user_id: the identified user, else the anonymous / device id."""
    import polars as pl

    names = {e.meta.output_name(): e for e in exprs}
    anon = names.get(HELPER + "anonymous_id")
    if anon is None:
        return exprs
    user = names.get("user_id")
    both = (
        anon if user is None else pl.when(user.is_null() | (user == "")).then(anon).otherwise(user)
    )
    return [e for e in exprs if e.meta.output_name() != "user_id"] + [both.alias("user_id")]


_RULES_TEXT = {"stripe_line_type": _rule_stripe_line_type, "user_fallback": _rule_user_fallback}


# ---- hook 2: rules over typed values (after the columns are parsed) ----------------------
def finish_preset(lf: pl.LazyFrame, source: Source, role: str) -> pl.LazyFrame:
    """Drop excluded statuses, end ended ones, start MRR at the trial's end, derive the
    vendor-specific columns; then drop the helper columns."""
    import polars as pl

    from cs_metrics.sources import _parse

    name = getattr(source, "preset", None)
    if not name:
        return lf
    names = lf.collect_schema().names()
    helpers = {c[len(HELPER) :]: c for c in names if c.startswith(HELPER)}
    chosen = next((h for h in helpers if h.startswith("layout_")), "layout_0")
    layout = layouts_for(name, role)[int(chosen.removeprefix("layout_"))]
    opts = source.options

    def col(target: str) -> pl.Expr | None:
        if target.startswith("_"):
            h = helpers.get(target[1:])
            return None if h is None else pl.col(h)
        return pl.col(target) if target in names else None

    def when_date(target: str, dtype: str) -> pl.Expr | None:
        c = col(target)
        if c is None or not target.startswith("_"):
            return c
        return _parse(helpers[target[1:]], dtype, pl.String, opts)

    def status(target: str) -> pl.Expr | None:
        c = col(target)
        return None if c is None else c.cast(pl.String).str.strip_chars().str.to_lowercase()

    for target, values in layout.exclude.items():
        s = status(target)
        if s is not None:
            lf = lf.filter(s.is_null() | ~s.is_in(list(values)))
    if "end_date" in names or layout.ends or layout.scheduled_end:
        end = pl.col("end_date") if "end_date" in names else pl.lit(None, pl.Date)
        st = status("_status")
        fallbacks = []
        if st is not None:
            for value, targets in layout.ends.items():
                dates = [d for d in (when_date(t, "date") for t in targets) if d is not None]
                if dates:
                    fallbacks.append(pl.when(st == value).then(pl.coalesce(dates)))
        if layout.scheduled_end:
            flag, target = (
                status(layout.scheduled_end[0]),
                when_date(layout.scheduled_end[1], "date"),
            )
            if flag is not None and target is not None:
                fallbacks.append(pl.when(flag.is_in(["true", "t", "yes", "1"])).then(target))
        if fallbacks:
            lf = lf.with_columns(pl.coalesce([end, *fallbacks]).alias("end_date"))
    if layout.paid_from_trial_end:
        trial = when_date("_trial_end", "date")
        if trial is not None and "start_date" in names:
            start = pl.col("start_date")
            later = trial.is_not_null() & (trial > start)
            if "end_date" in lf.collect_schema().names():
                # ended before its trial did: it never paid (not a zero-length line)
                end = pl.col("end_date")
                lf = lf.filter(~(later & end.is_not_null() & (end <= trial)).fill_null(False))
            lf = lf.with_columns(pl.when(later).then(trial).otherwise(start).alias("start_date"))
    if layout.resolved_if and "resolved_at" in names and "status" in names:
        st = status("status")
        lf = lf.with_columns(
            pl.when(st.is_in(list(layout.resolved_if)))
            .then(pl.col("resolved_at"))
            .otherwise(None)
            .alias("resolved_at")
        )
    if "first_reply_minutes" in layout.rules and "first_reply_minutes" in helpers:
        minutes = pl.col(helpers["first_reply_minutes"]).cast(pl.String).str.strip_chars()
        minutes = minutes.cast(pl.Float64, strict=False)
        lf = lf.with_columns(
            pl.when(minutes.is_not_null())
            .then(
                pl.col("created_at") + pl.duration(seconds=(minutes * 60).round(0).cast(pl.Int64))
            )
            .otherwise(None)
            .cast(pl.Datetime("us"))
            .alias("first_response_at")
        )
    return lf.drop([c for c in names if c.startswith(HELPER)])
