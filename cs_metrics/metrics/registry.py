"""The catalogue of built-in metric types.

A metric family is one module under ``cs_metrics.metrics``, listed in :func:`load_all`;
each type registers itself with ``metric_type`` (the author API, ``metrics.base``), naming
its family, unit, required source roles, formula text and options. The spec models,
``csm metrics`` and the docs are all generated from this table, so adding a metric touches
one place.
"""

from __future__ import annotations

from cs_metrics.metrics.base import (
    COMMON_OPTIONS,
    REGISTRY,
    MetricType,
    Option,
    metric_type,
    unit_of,
)

FAMILIES = (
    "revenue",
    "customers",
    "sentiment",
    "support",
    "usage",
    "acquisition",
    "team",
    "health",
    "custom",
)


def load_all() -> dict[str, MetricType]:
    """Import every family module so that the registry is complete.

    The registry lists the types in catalogue order (`csm metrics`, docs/metrics.md): the
    family modules in the order below, each module's types in the order it defines them.
    """
    # imported here, not at the top: the spec models import this module, and the families
    # import narwhals, which `csm --help` must not pay for
    from cs_metrics.metrics import (
        acquisition,
        generic,
        orders,
        portfolio,
        revenue,
        sentiment,
        support,
        team,
        usage,
    )

    modules = (revenue, acquisition, generic, orders, portfolio, sentiment, support, team, usage)
    rank = {m.__name__: i for i, m in enumerate(modules)}
    order = sorted(REGISTRY, key=lambda n: rank.get(REGISTRY[n].compute.__module__, len(rank)))
    if list(REGISTRY) != order:  # a family module imported before another one: reorder
        types = {n: REGISTRY.pop(n) for n in order}
        REGISTRY.update(types)
    return REGISTRY


__all__ = [
    "COMMON_OPTIONS",
    "FAMILIES",
    "REGISTRY",
    "MetricType",
    "Option",
    "load_all",
    "metric_type",
    "unit_of",
]
