"""`csm compare-policies`: the same metrics for one period under every definition policy.

Each policy (metrics/policy.py, docs/policies.md) is computed with its own options only:
the spec's ``policy:`` and ``definitions:`` are set aside, so the columns are the vendors'
definitions applied to the same data. ``frame`` has one row per metric:

=========== ========= ==========================================================
column      dtype     meaning
=========== ========= ==========================================================
period      String    the period
metric      String    the metric's name
unit        String    its unit (a currency code for money)
<policy>    Float64   the value under chartmogul, baremetrics, stripe, profitwell
differs_by  String    when the values differ: the options the policies disagree on
                      that change this metric when set alone over chartmogul's
                      (comma-separated; all of them when only a combination does)
=========== ========= ==========================================================

``definitions`` has one row per option: ``option``, each policy's value (as text) and
``differs`` (whether the policies disagree on it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import polars as pl

from cs_metrics.engine import compute
from cs_metrics.metrics.policy import DEFAULT_POLICY, DEFINITIONS, POLICIES, describe, differing
from cs_metrics.timeframe import data_end, incomplete, resolve_periods

if TYPE_CHECKING:
    from cs_metrics.periods import Period
    from cs_metrics.result import MetricResult
    from cs_metrics.spec import Spec


@dataclass
class PolicyComparison:
    frame: pl.DataFrame  # period, metric, unit, one column per policy, differs_by
    definitions: pl.DataFrame  # option, one column per policy, differs
    period: str
    currency: str
    labels: dict[str, str] = field(default_factory=dict)  # metric -> its label, if any
    warnings: list[str] = field(default_factory=list)


def compare_policies(
    spec: Spec,
    names: Sequence[str] | None = None,
    *,
    period: str | None = None,
    as_of: str | None = None,
    engine: str = "polars",
) -> PolicyComparison:
    periods = resolve_periods(spec, period=period, as_of=as_of)
    label = periods[0].label
    wanted = list(names) if names else None
    model = spec.model
    warnings: list[str] = []
    if model.definitions.model_dump(exclude_unset=True):
        warnings.append(
            "the spec's definitions: are not applied here: each column is one policy's own "
            "definitions (docs/policies.md)"
        )
    kind = type(model.definitions)
    runs: dict[str, MetricResult] = {}
    for policy in POLICIES:
        runs[policy] = _run(spec, policy, kind(), wanted, periods, engine)
    order, units, labels, values = _table(runs, label)
    first_warnings = list(runs[DEFAULT_POLICY].warnings)
    for policy in POLICIES[1:]:
        for w in runs[policy].warnings:
            if w not in first_warnings and f"{policy}: {w}" not in warnings:
                warnings.append(f"{policy}: {w}")
    # what makes a metric differ: each option the policies disagree on, set alone over the
    # default policy to each other policy's value, and the metrics that change with it
    differing_metrics = [m for m in order if len({repr(v) for v in values[m].values()}) > 1]
    causes: dict[str, list[str]] = {m: [] for m in order}
    if differing_metrics:
        base = values
        for option in differing():
            d = DEFINITIONS[option]
            others = {repr(d.presets[p]): d.presets[p] for p in POLICIES}
            others.pop(repr(d.presets[DEFAULT_POLICY]), None)
            for choice in others.values():
                run = _run(
                    spec,
                    DEFAULT_POLICY,
                    kind.model_validate({option: choice}),
                    wanted,
                    periods,
                    engine,
                )
                changed = _table({DEFAULT_POLICY: run}, label)[3]
                for m in differing_metrics:
                    got = changed.get(m, {}).get(DEFAULT_POLICY)
                    if repr(got) != repr(base[m][DEFAULT_POLICY]) and option not in causes[m]:
                        causes[m].append(option)
    data: dict[str, list[object]] = {"period": [], "metric": [], "unit": []}
    data.update({p: [] for p in POLICIES})
    data["differs_by"] = []
    for name in order:
        data["period"].append(label)
        data["metric"].append(name)
        data["unit"].append(units[name])
        for p in POLICIES:
            data[p].append(values[name].get(p))
        if name in differing_metrics and not causes[name]:
            causes[name] = differing()
        data["differs_by"].append(", ".join(causes[name]))
    schema = {"period": pl.String, "metric": pl.String, "unit": pl.String}
    schema.update({p: pl.Float64 for p in POLICIES})
    schema["differs_by"] = pl.String
    frame = pl.DataFrame(data, schema=schema)
    defs: dict[str, list[object]] = {"option": list(DEFINITIONS)}
    for p in POLICIES:
        defs[p] = [describe(d.presets[p]) for d in DEFINITIONS.values()]
    disagree = differing()
    defs["differs"] = [name in disagree for name in DEFINITIONS]
    warnings = [*first_warnings, *warnings, *incomplete(periods, data_end(spec, as_of))]
    return PolicyComparison(
        frame=frame,
        definitions=pl.DataFrame(defs),
        period=label,
        currency=model.currency,
        labels=labels,
        warnings=warnings,
    )


def _run(
    spec: Spec,
    policy: str,
    definitions: Any,
    wanted: list[str] | None,
    periods: list[Period],
    engine: str,
) -> MetricResult:
    """The metrics under ``policy`` with exactly ``definitions`` over it."""
    model = spec.model.model_copy(update={"policy": policy, "definitions": definitions})
    return compute(replace(spec, model=model), wanted, periods, [], engine)


def _table(
    runs: dict[str, MetricResult], label: str
) -> tuple[list[str], dict[str, str], dict[str, str], dict[str, dict[str, float | None]]]:
    """Metric order, units, labels and metric -> policy -> value of the period ``label``."""
    order: list[str] = []
    units: dict[str, str] = {}
    labels: dict[str, str] = {}
    values: dict[str, dict[str, float | None]] = {}
    for policy, result in runs.items():
        for r in result.frame.filter(pl.col("period") == label).iter_rows(named=True):
            if r["metric"] not in units:
                order.append(r["metric"])
                units[r["metric"]] = r["unit"]
            values.setdefault(r["metric"], {})[policy] = r["value"]
        for name, meta in result.metrics.items():
            if meta.label:
                labels[name] = meta.label
    return order, units, labels, values
