"""The catalogue of built-in metric types.

A metric family is one module under ``cs_metrics.metrics``; each type registers itself here
with :func:`metric_type`, naming its family, unit, required source roles, formula text and
options. The spec models, ``csm metrics`` and the docs are all generated from this table,
so adding a metric touches one place.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

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


@dataclass(frozen=True)
class Option:
    type: Any
    default: Any
    help: str


def unit_of(mtype: MetricType, options: dict[str, Any]) -> str:
    """The metric's unit given its options (an explicit ``unit`` option wins)."""
    if options.get("unit"):
        return str(options["unit"])
    return mtype.unit(options) if callable(mtype.unit) else mtype.unit


@dataclass(frozen=True)
class MetricType:
    name: str
    family: str
    unit: str | Callable[[dict[str, Any]], str]  # "currency": the spec's currency code
    requires: tuple[str, ...]  # source roles; "a|b" means either
    formula: str
    description: str
    compute: Callable[..., Any]
    options: dict[str, Option] = field(default_factory=dict)
    higher_is_better: bool | None = True
    null_when: str = ""  # the reason a value is null, for people
    parts: dict[str, tuple[str, str]] = field(default_factory=dict)  # column -> (label, unit)
    explain: str = ""  # the arithmetic over the parts, "{num} x / {den} y"


REGISTRY: dict[str, MetricType] = {}

# Options every metric accepts (besides ``type``).
COMMON_OPTIONS = {
    "filter": Option(
        str | None, None, "SQL condition over the source rows (and account attributes)"
    ),
    "label": Option(str | None, None, "title shown in tables and reports"),
    "description": Option(str | None, None, "free text shown by `csm metrics` and `csm explain`"),
}


def metric_type(
    name: str,
    *,
    family: str,
    unit: str | Callable[[dict[str, Any]], str],
    requires: tuple[str, ...],
    formula: str,
    description: str = "",
    options: dict[str, Option] | None = None,
    higher_is_better: bool | None = True,
    null_when: str = "",
    parts: dict[str, tuple[str, str]] | None = None,
    explain: str = "",
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a metric type; the decorated function computes it (see engine.Context).

    ``parts`` names the columns of the function's result that the value is made of
    (column -> (label, unit); unit "currency" is the spec's currency), and ``explain`` is
    the arithmetic over them, with ``{column}`` placeholders: ``csm explain`` shows
    "{first_contact} resolved at first contact / {resolved} resolved" with the numbers.
    """

    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        if name in REGISTRY:
            raise RuntimeError(f"metric type {name} registered twice")
        REGISTRY[name] = MetricType(
            name=name,
            family=family,
            unit=unit,
            requires=requires,
            formula=formula,
            description=description,
            compute=fn,
            options=dict(options or {}),
            higher_is_better=higher_is_better,
            null_when=null_when,
            parts=dict(parts or {}),
            explain=explain,
        )
        return fn

    return deco


def load_all() -> dict[str, MetricType]:
    """Import every family module of this package so that the registry is complete."""
    import importlib
    import pkgutil

    import cs_metrics.metrics as package

    for info in pkgutil.iter_modules(package.__path__):
        if info.name not in ("registry", "common"):
            importlib.import_module(f"cs_metrics.metrics.{info.name}")
    return REGISTRY
