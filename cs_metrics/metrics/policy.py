"""Definition policies: the choices SaaS-metrics vendors disagree on, as named options.

A *policy* (``policy:`` in the spec, ``--policy`` on the command line) is a named bundle
of definition options reproducing one vendor's published definitions (docs/policies.md
lists each choice and its public source). ``definitions:`` in the spec sets single
options on top of the policy's. The default, ``chartmogul``, is csm's historical
definitions: under it no hook below changes a plan.

The options (:data:`DEFINITIONS`):

* ``churn_denominator`` / ``same_period_churn`` — the logo churn rate's denominator
  (customers at the start, or also the customers new or returning in the period) and
  whether an account that starts and stops paying within the period counts as churned.
  :func:`logo_churn` adds ``logo_churned`` and ``logo_base`` to the MRR summary.
* ``discounts``, ``trials``, ``past_due_days``, ``unpaid_days``, ``churn_date`` — which
  billing lines count and when they stop: :func:`adjust_lines` rewrites the lines before
  the MRR model reads them (so every MRR-based metric follows).

The hooks are called from :mod:`cs_metrics.metrics.mrr`; this module imports nothing of
the package but the author API, so the spec models can build the ``definitions:`` model
from :data:`DEFINITIONS` without a cycle.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import narwhals.stable.v2 as nw

from cs_metrics.metrics.base import REGISTRY, Context, MetricRequest

POLICIES = ("chartmogul", "baremetrics", "stripe", "profitwell")
DEFAULT_POLICY = "chartmogul"

# subscription status values (lower-cased) that each option reads
TRIAL_STATUSES = ("trialing", "trial", "in_trial", "free_trial")
PAST_DUE_STATUSES = ("past_due", "delinquent")
UNPAID_STATUSES = ("unpaid",)

# metric types whose value the logo-churn options change (besides formulas over them)
LOGO_TYPES = frozenset({"customer_churn_rate", "customer_retention_rate", "ltv", "ltv_to_cac"})
LOGO_RATES = ("customer_churn_rate", "customer_retention_rate")  # their formula follows
BILLING_ROLES = ("subscriptions", "invoices")  # the sources the MRR model reads
SAME_PERIOD = "same_period_churned"  # accounts that started and stopped paying within P


@dataclass(frozen=True)
class Definition:
    """One definition option: its choices (None: a number of days, or null), help text,
    each policy's value, what it changes (``logo``: the logo churn rate and what is built
    on it; ``mrr``: every MRR-based metric) and the billing columns it reads."""

    name: str
    choices: tuple[str, ...] | None
    help: str
    presets: dict[str, Any]
    affects: str
    reads: tuple[str, ...] = ()
    roles: tuple[str, ...] = ("subscriptions",)  # the billing sources it applies to


def _preset(cm: Any, bm: Any, st: Any, pw: Any) -> dict[str, Any]:
    return dict(zip(POLICIES, (cm, bm, st, pw), strict=True))


DEFINITIONS: dict[str, Definition] = {
    d.name: d
    for d in (
        Definition(
            "churn_denominator",
            ("start", "start_plus_new"),
            "logo churn rate denominator: customers at the start of the period (start), or "
            "those plus the accounts new or returning in the period (start_plus_new)",
            _preset("start", "start", "start_plus_new", "start"),
            "logo",
            roles=BILLING_ROLES,
        ),
        Definition(
            "same_period_churn",
            ("excluded", "counted"),
            "an account that starts and stops paying within one period: left out of logo "
            "churn (excluded), or counted as churned (counted; with start_plus_new also in "
            "the denominator)",
            _preset("excluded", "counted", "counted", "excluded"),
            "logo",
            roles=BILLING_ROLES,
        ),
        Definition(
            "discounts",
            ("all", "forever", "none"),
            "which discounts reduce MRR: every discount (all), only those whose "
            "discount_duration is forever or empty (forever), or none",
            _preset("all", "all", "forever", "all"),
            "mrr",
            ("discount", "discount_duration"),
            BILLING_ROLES,
        ),
        Definition(
            "trials",
            ("excluded", "counted"),
            "subscription lines whose status is trialing (or trial, in_trial, free_trial): "
            "not MRR (excluded) or MRR at their amount (counted)",
            _preset("excluded", "excluded", "excluded", "excluded"),
            "mrr",
            ("status",),
        ),
        Definition(
            "past_due_days",
            None,
            "a subscription whose status is past_due still counts for this many days after "
            "its status_date, then churns (0: churned at once; null: counted until it ends)",
            _preset(None, 30, None, None),
            "mrr",
            ("status", "status_date"),
        ),
        Definition(
            "unpaid_days",
            None,
            "the same for status unpaid (the end of dunning): days it still counts after its "
            "status_date (0: churned at once; null: counted until it ends)",
            _preset(None, 30, 0, 0),
            "mrr",
            ("status", "status_date"),
        ),
        Definition(
            "churn_date",
            ("end_date", "paid_through", "canceled_at"),
            "when a cancelled subscription stops counting: at its end_date, at the end of "
            "its paid period (paid_through), or when the cancellation was asked for "
            "(canceled_at)",
            _preset("end_date", "end_date", "end_date", "paid_through"),
            "mrr",
            ("paid_through", "canceled_at"),
        ),
    )
}


def preset(policy: str) -> dict[str, Any]:
    """The options of a policy."""
    return {name: d.presets[policy] for name, d in DEFINITIONS.items()}


def effective(model: Any) -> dict[str, Any]:
    """The options a spec model uses: its policy's, with its ``definitions:`` on top."""
    policy = getattr(model, "policy", None) or DEFAULT_POLICY
    out = preset(policy)
    overrides = getattr(model, "definitions", None)
    if overrides is not None:
        for name, value in overrides.model_dump(exclude_unset=True).items():
            if value is not None or DEFINITIONS[name].choices is None:
                out[name] = value  # null is a choice only for the day counts
    return out


def differing(policies: tuple[str, ...] = POLICIES) -> list[str]:
    """The options on which the given policies do not all agree."""
    return [
        name for name, d in DEFINITIONS.items() if len({repr(d.presets[p]) for p in policies}) > 1
    ]


def describe(value: Any) -> str:
    """An option's value as the docs and compare-policies print it."""
    return "null" if value is None else str(value)


def overridden(model: Any) -> set[str]:
    """The options a spec's ``definitions:`` sets over its policy's."""
    policy = getattr(model, "policy", None) or DEFAULT_POLICY
    mine = effective(model)
    return {name for name, value in mine.items() if repr(value) != repr(preset(policy)[name])}


def billing_role(req: MetricRequest, configured: Any) -> str | None:
    """The billing source (subscriptions or invoices) whose MRR model a metric reads, or
    None when it reads none: its ``source`` option, else the first configured one."""
    mtype = REGISTRY.get(req.type)
    if mtype is None:
        return None
    needs = [need.split("|") for need in mtype.requires]
    reads = any(set(alts) & set(BILLING_ROLES) for alts in needs)
    # feature_adoption of: customers; the health metrics score the paying customers (and
    # sum their MRR) when there is a billing source
    scored = mtype.family == "health" and any(r in configured for r in BILLING_ROLES)
    if not reads and not scored and req.options.get("of") != "customers":
        return None
    chosen = req.options.get("source")
    if chosen in BILLING_ROLES and chosen in configured:
        return str(chosen)
    have = [r for r in BILLING_ROLES if r in configured]
    return have[0] if have else BILLING_ROLES[0]


def applicable(name: str, requests: dict[str, MetricRequest], configured: Any) -> list[str]:
    """The options that can change metric ``name``: those of the billing source its MRR
    model reads (the logo-churn ones only for the logo churn rate and what is built on it),
    through formulas and changes to the metrics they are computed from. ``requests``: the
    run's requests by name (the engine's ``requests_for``), ``configured``: the spec's
    source roles."""
    found: set[str] = set()
    seen: set[str] = set()

    def walk(n: str) -> None:
        req = requests.get(n)
        if req is None or n in seen:
            return
        seen.add(n)
        deps = req.deps()
        for dep in deps:
            walk(dep)
        role = None if deps else billing_role(req, configured)
        if role is None:
            return
        for d in DEFINITIONS.values():
            if role in d.roles and (d.affects != "logo" or req.type in LOGO_TYPES):
                found.add(d.name)

    walk(name)
    return [n for n in DEFINITIONS if n in found]


def shown(
    opts: dict[str, Any], names: list[str], own: frozenset[str] | set[str] = frozenset()
) -> str:
    """``name=value`` of the options ``names``, those the spec sets itself marked."""
    return ", ".join(
        f"{n}={describe(opts[n])}" + (" (definitions:)" if n in own else "") for n in names
    )


def logo_changed(opts: dict[str, Any]) -> bool:
    """Whether the options make the logo churn rate other than churned / customers at s-1."""
    return opts["same_period_churn"] == "counted" or opts["churn_denominator"] == "start_plus_new"


def logo_formula(opts: dict[str, Any]) -> str:
    """The logo churn rate's formula under the options (the catalogue's is the default's)."""
    counted = opts["same_period_churn"] == "counted"
    num = "churned_customers" + (
        " + accounts that started and stopped paying in P" if counted else ""
    )
    den = "customers at s-1"
    if opts["churn_denominator"] == "start_plus_new":
        den += " + new_customers + reactivated customers" + (" + those accounts" if counted else "")
    wrap = lambda text: f"({text})" if " + " in text else text  # noqa: E731
    return f"{wrap(num)} / {wrap(den)}"


def formula_of(mtype: str, formula: str, opts: dict[str, Any]) -> str:
    """A metric type's formula text under the options: the logo churn and retention rates'
    follow the policy, every other formula is the catalogue's."""
    if mtype not in LOGO_RATES or not logo_changed(opts):
        return formula
    return ("1 - " if mtype != LOGO_RATES[0] else "") + logo_formula(opts)


def logo_arithmetic(opts: dict[str, Any], f: Callable[[str], str]) -> str:
    """The logo churn rate's arithmetic over its parts (``f``: a part's number as text)."""
    counted = opts["same_period_churn"] == "counted"
    same = f"{f(SAME_PERIOD)} started and stopped in the period"
    num = f"{f('churned_customers')} churned"
    if counted:
        num = f"({num} + {same})"
    den = f"{f('customers_start')} customers at the start"
    if opts["churn_denominator"] == "start_plus_new":
        den = f"({den} + {f('new_customers')} new + {f('reactivated_customers')} reactivated" + (
            f" + {f(SAME_PERIOD)} started and stopped)" if counted else ")"
        )
    return f"{num} / {den}"


def settings(ctx: Context) -> dict[str, Any]:
    return ctx.cached(("policy",), lambda: effective(ctx.spec.model))


# ---- hook 1: billing lines ----------------------------------------------------------
def adjust_lines(
    ctx: Context, role: str, frame: nw.LazyFrame, cols: set[str]
) -> tuple[nw.LazyFrame, set[str]]:
    """The billing rows (and the columns to read) under the run's options: trials left
    out, discounts kept or dropped, past-due, unpaid and cancelled lines ended earlier.
    Under the default options the rows come back untouched."""
    opts = settings(ctx)
    frame, cols = _discounts(ctx, role, frame, cols, opts["discounts"])
    if role != "subscriptions":
        return frame, cols
    # 'Past Due', 'past-due' and past_due are one status (exports write them all)
    status = nw.col("status").str.strip_chars().str.to_lowercase().str.replace_all(r"[\s-]+", "_")
    if opts["trials"] == "excluded" and "status" in cols:
        frame = frame.filter(status.is_null() | ~status.is_in(TRIAL_STATUSES))
    end = nw.col("end_date") if "end_date" in cols else nw.lit(None, nw.Date)
    start = nw.col("start_date")
    changed = False
    churn_at = opts["churn_date"]
    if churn_at != "end_date":
        if churn_at not in cols:
            _warn(
                ctx,
                f"churn_date: {churn_at} needs a {churn_at} column in the subscriptions source; "
                "churn is recognised at end_date",
            )
        else:
            when = nw.col(churn_at)
            cancelled = ~end.is_null()
            if churn_at == "paid_through" and "canceled_at" in cols:
                cancelled = cancelled | ~nw.col("canceled_at").is_null()
            if churn_at == "canceled_at":
                use = ~when.is_null() & (end.is_null() | (when < end))
            else:
                use = cancelled & ~when.is_null()
            end = nw.when(use).then(_not_before(when, start)).otherwise(end)
            changed = True
    for option, statuses in (
        ("past_due_days", PAST_DUE_STATUSES),
        ("unpaid_days", UNPAID_STATUSES),
    ):
        days = opts[option]
        if days is None or "status" not in cols:
            continue
        if "status_date" not in cols:
            _warn(
                ctx,
                f"{option}: {days} needs a status_date column (when the subscription became "
                f"{statuses[0]}) in the subscriptions source; those lines count until they end",
            )
            continue
        cut = nw.col("status_date").dt.offset_by(f"{int(days)}d").cast(nw.Date)
        hit = status.is_in(statuses) & ~nw.col("status_date").is_null()
        end = (
            nw.when(hit & (end.is_null() | (cut < end)))
            .then(_not_before(cut, start))
            .otherwise(end)
        )
        changed = True
    if changed:
        frame = frame.with_columns(end.cast(nw.Date).alias("end_date"))
        cols = cols | {"end_date"}
    return frame, cols


def _not_before(day: nw.Expr, start: nw.Expr) -> nw.Expr:
    """``day``, or ``start`` when it is earlier (a line never ends before it starts)."""
    return nw.when(day < start).then(start).otherwise(day)


def _discounts(
    ctx: Context, role: str, frame: nw.LazyFrame, cols: set[str], choice: str
) -> tuple[nw.LazyFrame, set[str]]:
    if "discount" not in cols or choice == "all":
        return frame, cols
    if choice == "none":
        return frame, cols - {"discount"}
    if "discount_duration" not in cols:
        _warn(
            ctx,
            f"discounts: forever needs a discount_duration column (forever, once, repeating) in "
            f"the {role} source; every discount is counted",
        )
        return frame, cols
    duration = nw.col("discount_duration").str.to_lowercase().str.strip_chars()
    kept = nw.when(duration.is_null() | (duration == "forever")).then(nw.col("discount"))
    return frame.with_columns(kept.otherwise(nw.lit(0.0)).alias("discount")), cols


def _warn(ctx: Context, message: str) -> None:
    if message not in ctx.warnings:
        ctx.warnings.append(message)


# ---- hook 2: logo churn ---------------------------------------------------------------
def logo_churn(
    ctx: Context,
    agg: nw.LazyFrame,
    window: int,
    spans: Callable[[], nw.LazyFrame],
    snapshots: Callable[[], nw.LazyFrame],
) -> nw.LazyFrame:
    """The MRR summary with ``logo_churned`` and ``logo_base``: the logo churn rate's
    numerator and denominator under the run's options.

    By default they are ``churned_customers`` and ``customers_start``, and
    ``same_period_churned`` is 0. With
    ``same_period_churn: counted``, the accounts that had MRR at some day of the period
    but none at s-1 nor at e (``spans``: positive-MRR spans; ``snapshots``: the accounts
    with MRR at s-1 or e) are ``same_period_churned``, added to the numerator; with
    ``start_plus_new`` the denominator adds new and reactivated customers (and those
    same-period accounts). A group (an account, with ``--by account``) that has only such
    accounts gets a row with 0 for every other column, so the per-group numerators and
    denominators add up to the whole's.
    """
    c = nw.col
    opts = settings(ctx)
    counted = opts["same_period_churn"] == "counted"
    plus_new = opts["churn_denominator"] == "start_plus_new"
    if window != 1 or not (counted or plus_new):
        return agg.with_columns(
            c("churned_customers").alias("logo_churned"),
            c("customers_start").alias("logo_base"),
            nw.lit(0, nw.Int64).alias(SAME_PERIOD),
        )
    keys = ["period", *ctx.group_cols()]
    if counted:
        cal = ctx.periods_table().select("period", "p_start", "p_end")
        touched = (
            spans()
            .join(cal, how="cross")
            .filter(
                (c("since") <= c("p_end")) & (c("until").is_null() | (c("until") > c("p_start")))
            )
            .select("account_id", "period")
            .unique()
        )
        held = snapshots().select("account_id", "period")
        brief = touched.join(held, on=["account_id", "period"], how="anti")
        per = ctx.with_dims(brief).group_by(*keys).agg(nw.len().cast(nw.Int64).alias(SAME_PERIOD))
        # a group whose only accounts started and stopped within the period (with --by
        # account: such an account, when the run adds no row for it) gets a row of zeros
        schema = agg.collect_schema()
        missing = per.join(agg.select(*keys), on=keys, how="anti").select(
            *[c(n) if n in keys else nw.lit(0).cast(schema[n]).alias(n) for n in schema.names()],
            SAME_PERIOD,
        )
        agg = agg.join(per, on=keys, how="left").with_columns(c(SAME_PERIOD).fill_null(0))
        agg = nw.concat([agg, missing], how="vertical")
    else:
        agg = agg.with_columns(nw.lit(0, nw.Int64).alias(SAME_PERIOD))
    base = c("customers_start")
    if plus_new:
        base = base + c("new_customers") + c("reactivated_customers") + c(SAME_PERIOD)
    return agg.with_columns(
        (c("churned_customers") + c(SAME_PERIOD)).alias("logo_churned"), base.alias("logo_base")
    )
