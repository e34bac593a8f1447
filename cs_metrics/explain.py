"""`csm explain METRIC`: a metric's definition, its value for a period, and its inputs.

The inputs come from a small per-type table of related built-in metrics (for
``customer_churn_rate``: churned customers in the period and customers at its start),
computed in the same engine run as the metric itself, with the metric's own filter and
options, so that the arithmetic line ("17 churned / 42 customers at start = 40.5 %")
reproduces the value. Formulas show their inputs substituted; ``<metric>_change`` /
``_delta`` show the two values compared; every other type shows its formula text.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cs_metrics.spec import Spec

Vals = dict[str, float]
Fmt = Callable[[str], str]  # input key -> its value formatted


@dataclasses.dataclass(frozen=True)
class Related:
    """Inputs (key, built-in type, 'cur' or 'prev', label) and how they give the value."""

    inputs: tuple[tuple[str, str, str, str], ...]
    line: Callable[[Vals, Fmt], str]
    needs_window_1: bool = False


def _start(key: str, t: str, label: str) -> tuple[str, str, str, str]:
    return (key, t, "prev", label)


def _in(key: str, t: str, label: str) -> tuple[str, str, str, str]:
    return (key, t, "cur", label)


CHURN_INPUTS = (
    _in("churned", "churned_customers", "churned customers in the period"),
    _start("start", "customers", "customers at the start"),
)
MOVES = {
    "new": _in("new", "new_mrr", "new MRR"),
    "reactivation": _in("reactivation", "reactivation_mrr", "reactivation MRR"),
    "expansion": _in("expansion", "expansion_mrr", "expansion MRR"),
    "contraction": _in("contraction", "contraction_mrr", "contraction MRR"),
    "churned": _in("churned", "churned_mrr", "churned MRR"),
    "start": _start("start", "mrr", "MRR at the start"),
}


def _m(*keys: str) -> tuple[tuple[str, str, str, str], ...]:
    return tuple(MOVES[k] for k in keys)


RELATED: dict[str, Related] = {
    "customer_churn_rate": Related(
        CHURN_INPUTS,
        lambda v, f: f"{f('churned')} churned / {f('start')} customers at start",
    ),
    "customer_retention_rate": Related(
        CHURN_INPUTS,
        lambda v, f: f"1 - {f('churned')} churned / {f('start')} customers at start",
    ),
    "gross_mrr_churn_rate": Related(
        _m("churned", "contraction", "start"),
        lambda v, f: (
            f"({f('churned')} churned + {f('contraction')} contraction) / {f('start')} MRR at start"
        ),
    ),
    "net_mrr_churn_rate": Related(
        _m("churned", "contraction", "expansion", "reactivation", "start"),
        lambda v, f: (
            f"({f('churned')} churned + {f('contraction')} contraction - "
            f"{f('expansion')} expansion - {f('reactivation')} reactivation) / "
            f"{f('start')} MRR at start"
        ),
    ),
    "nrr": Related(
        _m("start", "expansion", "contraction", "churned"),
        lambda v, f: (
            f"{f('=retained')} retained MRR ({f('start')} at start + "
            f"{f('expansion')} expansion - {f('contraction')} contraction - {f('churned')} "
            f"churned) / {f('start')} MRR at start"
        ),
        needs_window_1=True,
    ),
    "grr": Related(
        _m("start", "contraction", "churned"),
        lambda v, f: (
            f"{f('=kept')} kept MRR ({f('start')} at start - "
            f"{f('contraction')} contraction - {f('churned')} churned) / {f('start')} MRR at start"
        ),
        needs_window_1=True,
    ),
    "arpa": Related(
        (_in("mrr", "mrr", "MRR at the end"), _in("customers", "customers", "customers")),
        lambda v, f: f"{f('mrr')} MRR / {f('customers')} customers",
    ),
    "asp": Related(
        (_in("new", "new_mrr", "new MRR"), _in("n", "new_customers", "new customers")),
        lambda v, f: f"{f('new')} new MRR / {f('n')} new customers",
    ),
    "quick_ratio": Related(
        _m("new", "expansion", "reactivation", "churned", "contraction"),
        lambda v, f: (
            f"({f('new')} new + {f('expansion')} expansion + {f('reactivation')} "
            f"reactivation) / ({f('churned')} churned + {f('contraction')} contraction)"
        ),
    ),
    "net_new_mrr": Related(
        _m("new", "reactivation", "expansion", "contraction", "churned"),
        lambda v, f: (
            f"{f('new')} new + {f('reactivation')} reactivation + "
            f"{f('expansion')} expansion - {f('contraction')} contraction - {f('churned')} churned"
        ),
    ),
    "arr": Related((_in("mrr", "mrr", "MRR"),), lambda v, f: f"12 x {f('mrr')} MRR"),
    "ltv": Related(
        (_in("arpa", "arpa", "ARPA"), _in("churn", "customer_churn_rate", "customer churn rate")),
        lambda v, f: f"{f('arpa')} ARPA x gross margin / {f('churn')} churn",
    ),
    "nps": Related(
        (
            _in("p", "nps_promoters", "promoters"),
            _in("d", "nps_detractors", "detractors"),
            _in("n", "nps_responses", "responses"),
        ),
        lambda v, f: f"100 x ({f('p')} promoters - {f('d')} detractors) / {f('n')} responses",
    ),
    "tickets_per_customer": Related(
        (_in("t", "tickets", "tickets created"), _in("c", "customers", "customers at the end")),
        lambda v, f: f"{f('t')} tickets / {f('c')} customers",
    ),
    "stickiness": Related(
        (_in("dau", "dau", "DAU"), _in("users", "active_users", "active users")),
        lambda v, f: f"{f('dau')} DAU / {f('users')} active users",
    ),
    "ltv_to_cac": Related(
        (_in("ltv", "ltv", "LTV"), _in("cac", "cac", "CAC")),
        lambda v, f: f"{f('ltv')} LTV / {f('cac')} CAC",
    ),
    "cac_payback_months": Related(
        (_in("cac", "cac", "CAC"), _in("asp", "asp", "ASP")),
        lambda v, f: f"{f('cac')} CAC / ({f('asp')} ASP x gross margin)",
    ),
}

DERIVED: dict[str, Callable[[Vals], float | None]] = {
    "=retained": lambda v: v["start"] + v["expansion"] - v["contraction"] - v["churned"],
    "=kept": lambda v: v["start"] - v["contraction"] - v["churned"],
}


def _sources(spec: Spec, mtype: Any, options: dict[str, Any]) -> list[dict[str, Any]]:
    from cs_metrics.errors import CsmError
    from cs_metrics.sources import resolve_files

    roles: list[str] = []
    for need in mtype.requires:
        configured = [r for r in need.split("|") if r in spec.model.sources]
        chosen = options.get("source") if options.get("source") in configured else None
        roles += [chosen] if chosen else configured[:1] or need.split("|")[:1]
    if not mtype.requires and options.get("source"):
        roles.append(str(options["source"]))
    out = []
    for role in dict.fromkeys(roles):
        src = spec.model.sources.get(role)
        files: list[str] = []
        if src is not None:
            try:
                files = [str(p) for p in resolve_files(spec.base_dir, role, src)]
            except CsmError:
                files = [str(getattr(src, "path", ""))]
        out.append({"role": role, "configured": src is not None, "files": files})
    return out


def explain_metric(
    spec: Spec,
    name: str,
    *,
    period: str | None = None,
    as_of: str | None = None,
    by: list[str] | None = None,
    engine: str = "polars",
) -> dict[str, Any]:
    """Every fact `csm explain` shows, as a JSON-ready dict."""
    import polars as pl

    from cs_metrics.engine import CHANGE, compute, requests_for
    from cs_metrics.metrics.policy import (
        LOGO_RATES,
        applicable,
        effective,
        formula_of,
        logo_changed,
        overridden,
    )
    from cs_metrics.render import format_value
    from cs_metrics.timeframe import data_end, incomplete, resolve_periods

    by = list(by or [])
    req = next(r for r in requests_for(spec, [name]) if r.name == name)  # unknown: exit 2
    cur = resolve_periods(spec, period=period, as_of=as_of)[0]
    facts: dict[str, Any] = {"metric": name, "period": cur.label}
    facts["previous_period"] = cur.previous().label
    opts = effective(spec.model)
    by_name = {r.name: r for r in requests_for(spec, [name])}
    facts["policy"] = {
        "name": spec.model.policy,
        "options": {n: opts[n] for n in applicable(name, by_name, spec.model.sources)},
        "from_definitions": sorted(overridden(spec.model)),
    }
    defined = spec.model.metrics.get(name)
    if req.type == CHANGE:
        base = req.options["base"]
        kind = req.options["kind"]
        facts |= {
            "type": f"{kind} of {base}",
            "formula": f"({base} - previous {base}) / |previous {base}|"
            if kind == "change"
            else f"{base} - previous {base}",
        }
        inputs_spec: list[tuple[str, str, str, str]] = [
            ("value", base, "cur", f"{base} in {cur.label}"),
            ("previous", base, "prev", f"{base} in {cur.previous().label}"),
        ]
        related: Related | None = None
        extra_names: dict[str, str] = {}
    else:
        mt = req.mtype
        facts |= {
            "type": req.type,
            "family": mt.family,
            "formula": req.options["expr"] if req.type == "formula" else mt.formula,
            "description": (defined.description if defined else None) or mt.description,
            "options": {
                k: v for k, v in req.options.items() if v is not None and k not in ("expr",)
            },
            "filter": req.filter,
            "sources": _sources(spec, mt, req.options),
        }
        related = RELATED.get(req.type)
        if related and related.needs_window_1 and int(req.options.get("window") or 1) != 1:
            related = None
        extra_names = {}
        inputs_spec = []
        if req.type in LOGO_RATES and logo_changed(opts):  # the policy's logo churn
            facts["formula"] = formula_of(req.type, mt.formula, opts)
            related = _logo_parts(req.type, opts, mt)
            inputs_spec = [(k, f"{name}.{col}", "cur", lab) for k, col, _, lab in related.inputs]
        elif related:
            for key, t, when, label in related.inputs:
                if defined is not None:  # same filter and options as the metric itself
                    extra_names[t] = f"explain__{t}"
                    inputs_spec.append((key, f"explain__{t}", when, label))
                else:
                    inputs_spec.append((key, t, when, label))
        elif req.type == "formula":
            for dep in req.deps():
                inputs_spec.append((dep, dep, "cur", dep))
        elif mt.parts:  # the counts and sums the metric's own computation is made of
            related = _parts(mt, req.options)
            inputs_spec = [(col, f"{name}.{col}", "cur", lab) for col, (lab, _) in mt.parts.items()]

    run_spec = spec
    if extra_names:
        metrics = dict(spec.model.metrics)
        for t, alias in extra_names.items():
            metrics[alias] = defined.model_copy(update={"type": t})
        run_spec = dataclasses.replace(
            spec, model=spec.model.model_copy(update={"metrics": metrics})
        )
    own = f"{name}."  # <metric>.<part> rows come with the metric (compute's parts=True)
    names = list(dict.fromkeys([name, *(n for _, n, _, _ in inputs_spec if not n.startswith(own))]))
    result = compute(run_spec, names, [cur], by, engine, parts=True)
    facts["warnings"] = result.warnings + incomplete([cur], data_end(spec, as_of))
    meta = result.metrics[name]
    facts["unit"] = meta.unit
    facts["currency"] = result.currency
    facts["label"] = meta.label or name
    currency = result.currency
    frame = result.frame
    rows: list[dict[str, Any]] = []
    main = frame.filter(pl.col("metric") == name)
    for r in main.iter_rows(named=True):
        dims = {d: r[d] for d in by}
        row: dict[str, Any] = {
            **dims,
            "value": r["value"],
            "previous": r["previous"],
            "note": r["note"] or (None if r["value"] is not None else _null_when(req)),
            "display": format_value(r["value"], meta.unit, currency),
        }
        if inputs_spec:
            sub = frame
            for d in by:
                sub = sub.filter(pl.col(d).is_null() if dims[d] is None else pl.col(d) == dims[d])
            inputs = []
            vals: dict[str, float] = {}
            units: dict[str, str] = {}
            for key, metric, when, label in inputs_spec:
                hit = sub.filter(pl.col("metric") == metric)
                v = None
                if hit.height:
                    v = hit["value"][0] if when == "cur" else hit["previous"][0]
                unit = result.metrics[metric].unit if metric in result.metrics else meta.unit
                units[key] = unit
                inputs.append(
                    {
                        "name": key,
                        "metric": metric.removeprefix("explain__").removeprefix(own),
                        "period": cur.label if when == "cur" else cur.previous().label,
                        "label": label,
                        "value": v,
                        "display": format_value(v, unit, currency),
                    }
                )
                if v is not None:
                    vals[key] = v
            row["inputs"] = inputs
            row["arithmetic"] = _arithmetic(
                req, related, inputs_spec, vals, units, currency, row["display"]
            )
        rows.append(row)
    facts["rows"] = rows
    if not by and rows:
        facts |= {k: rows[0][k] for k in ("value", "previous", "note", "display")}
        facts["inputs"] = rows[0].get("inputs", [])
        facts["arithmetic"] = rows[0].get("arithmetic")
    facts["by"] = by
    return facts


def _parts(mt: Any, options: dict[str, Any]) -> Related:
    """A metric type's declared parts as explain inputs, its ``explain`` text as the line."""
    values = {k: o.default for k, o in mt.options.items() if o.default is not ...}
    values |= {k: v for k, v in options.items() if v is not None}

    def line(v: Vals, f: Fmt) -> str:
        shown = {
            k: (", ".join(map(str, x)) if isinstance(x, list) else x) for k, x in values.items()
        }
        return mt.explain.format_map(shown | {col: f(col) for col in mt.parts})

    inputs = tuple((col, col, "cur", label) for col, (label, _) in mt.parts.items())
    return Related(inputs, line)


def _logo_parts(mtype_name: str, opts: dict[str, Any], mt: Any) -> Related:
    """The logo churn rate's parts (policy.logo_churn) as explain inputs, the line in the
    words of the policy's options: what it counts as churned and what it divides by."""
    from cs_metrics.metrics.policy import LOGO_RATES, SAME_PERIOD, logo_arithmetic

    cols = ["churned_customers", "customers_start"]
    if opts["same_period_churn"] == "counted":
        cols.append(SAME_PERIOD)
    if opts["churn_denominator"] == "start_plus_new":
        cols += ["new_customers", "reactivated_customers"]
    inputs = tuple((col, col, "cur", mt.parts[col][0]) for col in cols)
    prefix = "1 - " if mtype_name != LOGO_RATES[0] else ""
    return Related(inputs, lambda v, f: prefix + logo_arithmetic(opts, f))


def _null_when(req: Any) -> str | None:
    from cs_metrics.engine import CHANGE

    if req.type == CHANGE:
        return "no value for this or the previous period"
    return req.mtype.null_when or None


def _arithmetic(
    req: Any,
    related: Related | None,
    inputs_spec: list[tuple[str, str, str, str]],
    vals: dict[str, float],
    units: dict[str, str],
    currency: str,
    shown: str,
) -> str | None:
    """'a / b = value' with the input numbers, or None when an input is missing."""
    from cs_metrics.engine import CHANGE
    from cs_metrics.render import format_value

    if any(k not in vals for k, *_ in inputs_spec):
        return None

    def fmt(key: str) -> str:
        if key.startswith("="):
            return format_value(DERIVED[key](vals), units.get("start", "number"), currency)
        return format_value(vals[key], units[key], currency)

    if req.type == CHANGE:
        a, b = fmt("value"), fmt("previous")
        if req.options["kind"] == "change":
            return f"({a} - {b}) / |{b}| = {shown}"
        return f"{a} - {b} = {shown}"
    if related is not None:
        return f"{related.line(vals, fmt)} = {shown}"
    if req.type == "formula":
        import re

        text = req.options["expr"]
        for key in sorted(vals, key=len, reverse=True):
            text = re.sub(rf"(?<![A-Za-z0-9_]){re.escape(key)}(?![A-Za-z0-9_])", fmt(key), text)
        return f"{text} = {shown}"
    return None
