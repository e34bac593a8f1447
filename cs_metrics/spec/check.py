"""Whole-spec rules (phase three): references between objects, expressions, cycles."""

from __future__ import annotations

import re
import string
from typing import Any

from cs_metrics.errors import ExprError, Problem
from cs_metrics.metrics.registry import REGISTRY
from cs_metrics.spec.models import REPORT_PLACEHOLDERS
from cs_metrics.suggest import did_you_mean

NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
RESERVED = {"period", "metric", "value", "unit", "account", "previous", "note"}


def _expr_problem(
    spec: Any,
    text: str,
    where: tuple[Any, ...],
    what: str,
    kinds: dict[str, str] | None = None,
) -> Problem | None:
    """The expression's syntax problem, or (given the kinds of the columns it may name)
    its first comparison of text with a number and the like."""
    from cs_metrics.expr import parse_expr
    from cs_metrics.expr_types import type_error

    try:
        parsed = parse_expr(text)
    except ExprError as exc:
        return Problem(f"{what}: {exc.message}", spec.where(*where), code="expression")
    if kinds and (exc := type_error(parsed, kinds)) is not None:
        return Problem(f"{what}: {exc.message}", spec.where(*where), code="expression-type")
    return None


def role_kinds(model: Any, role: str) -> dict[str, str]:
    """Column -> kind of a source's columns whose type the spec fixes: its required canonical
    columns, the canonical ones it maps under columns:, and those it types under dtypes:
    (any other column's type is only known once the file is read)."""
    from cs_metrics.expr_types import DTYPE_KINDS
    from cs_metrics.spec.models import ROLE_COLUMNS

    src = model.sources.get(role)
    if src is None:
        return {}
    kinds = {
        name: DTYPE_KINDS[dtype]
        for name, (dtype, required) in ROLE_COLUMNS[role].items()
        if required or name in src.columns
    }
    kinds.update({name: DTYPE_KINDS[dtype] for name, dtype in src.dtypes.items()})
    return kinds


def filter_kinds(model: Any, metric: Any) -> dict[str, str]:
    """The known column kinds a metric's filter runs over: its source's (when several roles
    may be read, the columns every one of them types alike). A column that the source may
    not have falls back to the account attributes at run time, so those are not judged."""
    roles: list[str] = []
    source = getattr(metric, "source", None)
    if isinstance(source, str) and source:
        roles = [source]
    elif metric.type in REGISTRY:
        roles = [
            r
            for need in REGISTRY[metric.type].requires
            for r in need.split("|")
            if r in model.sources
        ]
    if not roles:
        return {}
    per_role = [role_kinds(model, r) for r in dict.fromkeys(roles)]
    first, *rest = per_role
    return {c: k for c, k in first.items() if all(other.get(c) == k for other in rest)}


def raw_expression_problems(spec: Any) -> list[Problem]:
    """SQL syntax of every expression, read from the YAML itself: run when the structure is
    invalid (so the whole-spec rules cannot run), so that one run reports both kinds."""
    data = spec.loaded.data if isinstance(spec.loaded.data, dict) else {}
    found: list[tuple[str, tuple[Any, ...], str]] = []
    for name, text in (
        (data.get("dimensions") or {}).items() if isinstance(data.get("dimensions"), dict) else []
    ):
        found.append((text, ("dimensions", name), f"dimension {name}"))
    metrics = data.get("metrics")
    for name, metric in metrics.items() if isinstance(metrics, dict) else []:
        if not isinstance(metric, dict):
            continue
        found.append((metric.get("filter"), ("metrics", name, "filter"), f"metrics.{name}.filter"))
        if metric.get("type") == "formula":
            found.append((metric.get("expr"), ("metrics", name, "expr"), f"metrics.{name}.expr"))
    alerts = data.get("alerts")
    for i, alert in enumerate(alerts if isinstance(alerts, list) else []):
        if isinstance(alert, dict):
            found.append(
                (alert.get("when"), ("alerts", i, "when"), f"alert {alert.get('name', i)}")
            )
    return [
        p
        for text, where, what in found
        if isinstance(text, str) and (p := _expr_problem(spec, text, where, what))
    ]


def whole_spec_problems(spec: Any) -> list[Problem]:
    m = spec.model
    problems: list[Problem] = []
    metric_names = set(m.metrics)

    for name in m.metrics:
        if not NAME.match(name):
            problems.append(
                Problem(
                    f"metric name {name!r} must be lower_snake_case (letters, digits, _) so that "
                    "formulas and alerts can name it",
                    spec.where("metrics", name),
                    code="name",
                )
            )
    for name, text in m.dimensions.items():
        if name in RESERVED:
            problems.append(
                Problem(
                    f"dimension name {name!r} is reserved: pick another name",
                    spec.where("dimensions", name),
                    code="name",
                )
            )
        if p := _expr_problem(
            spec, text, ("dimensions", name), f"dimension {name}", role_kinds(m, "accounts")
        ):
            problems.append(p)

    graph: dict[str, list[str]] = {}
    for name, metric in m.metrics.items():
        if metric.filter and (
            p := _expr_problem(
                spec,
                metric.filter,
                ("metrics", name, "filter"),
                f"metrics.{name}.filter",
                filter_kinds(m, metric),
            )
        ):
            problems.append(p)
        if metric.type == "formula":
            from cs_metrics.expr import parse_expr  # sqlglot: only for specs with SQL text

            where = ("metrics", name, "expr")
            try:
                refs = sorted(parse_expr(metric.expr).columns)
            except ExprError as exc:
                problems.append(
                    Problem(
                        f"metrics.{name}.expr: {exc.message}", spec.where(*where), code="expression"
                    )
                )
                continue
            graph[name] = [
                _base(r, metric_names) for r in refs if _base(r, metric_names) in metric_names
            ]
            for ref in refs:
                if not _known(ref, metric_names):
                    problems.append(
                        Problem(
                            f"metrics.{name}.expr names unknown metric {ref!r}"
                            f"{did_you_mean(ref, [*metric_names, *REGISTRY])}: define it under metrics:",
                            spec.where(*where),
                            code="unknown-metric",
                        )
                    )
        elif metric.type == "aggregate":
            if metric.source not in m.sources:
                problems.append(
                    Problem(
                        f"metrics.{name}: source {metric.source!r} is not configured"
                        f"{did_you_mean(metric.source, m.sources)}; configured: {', '.join(m.sources) or 'none'}",
                        spec.where("metrics", name, "source"),
                        code="unknown-source",
                    )
                )
            from cs_metrics.metrics.generic import AGG_PATTERN

            if not AGG_PATTERN.match(metric.agg or ""):
                problems.append(
                    Problem(
                        f"metrics.{name}.agg {metric.agg!r} is not count, sum, mean, median, min, max, "
                        "count_distinct or pNN",
                        spec.where("metrics", name, "agg"),
                        code="agg",
                    )
                )
            elif metric.agg not in ("count",) and not metric.column:
                problems.append(
                    Problem(
                        f"metrics.{name}: agg {metric.agg} needs a column",
                        spec.where("metrics", name),
                        code="agg",
                    )
                )
        else:
            mt = REGISTRY[metric.type]
            for need in mt.requires:
                if not any(r in m.sources for r in need.split("|")):
                    problems.append(
                        Problem(
                            f"metrics.{name} ({metric.type}) needs the {need.replace('|', ' or ')} source, "
                            "which is not configured: it will be reported as unavailable",
                            spec.where("metrics", name),
                            level="warning",
                            code="unavailable",
                        )
                    )

    for cycle in _cycles(graph):
        problems.append(
            Problem(
                f"formula cycle: {' -> '.join([*cycle, cycle[0]])}: a formula cannot depend on itself",
                spec.where("metrics", cycle[0], "expr"),
                code="cycle",
            )
        )

    if m.health:
        for i, seg in enumerate(m.health.segments or []):
            where = ("health", "segments", i, "when")
            what = f"health.segments.{seg.name}.when"
            if p := _expr_problem(spec, seg.when, where, what, role_kinds(m, "accounts")):
                problems.append(p)
        for cname, comp in m.health.components.items():
            if not _known(comp.metric, metric_names):
                problems.append(
                    Problem(
                        f"health.components.{cname}: unknown metric {comp.metric!r}"
                        f"{did_you_mean(comp.metric, [*metric_names, *REGISTRY])}",
                        spec.where("health", "components", cname, "metric"),
                        code="unknown-metric",
                    )
                )
    for i, alert in enumerate(m.alerts):
        if p := _expr_problem(spec, alert.when, ("alerts", i, "when"), f"alert {alert.name}"):
            problems.append(p)
    problems += report_problems(spec, metric_names)
    return problems


REPORT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


def out_dir_problem(template: str, where: str, what: str) -> Problem | None:
    """A bad ``out_dir`` template: an unknown placeholder, a format spec or a lone brace."""
    allowed = ", ".join("{" + p + "}" for p in REPORT_PLACEHOLDERS)
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        return Problem(
            f"{what} {template!r}: {exc}; placeholders are {allowed} (write {{{{ or }}}} for a "
            "literal brace)",
            where,
            code="placeholder",
        )
    for _, field, fmt, conv in parts:
        if field is None:
            continue
        if field not in REPORT_PLACEHOLDERS:
            return Problem(
                f"{what} {template!r}: unknown placeholder {{{field}}}"
                f"{did_you_mean(field, REPORT_PLACEHOLDERS)}; use {allowed}",
                where,
                code="placeholder",
            )
        if fmt or conv:
            return Problem(
                f"{what} {template!r}: write {{{field}}} without a format or conversion",
                where,
                code="placeholder",
            )
    return None


def report_problems(spec: Any, metric_names: set[str]) -> list[Problem]:
    """reports: names, metric and dimension references, sections without data, out_dir."""
    m = spec.model
    problems: list[Problem] = []
    billing = "subscriptions" in m.sources or "invoices" in m.sources
    targets: dict[str, str] = {}
    for name, report in m.reports.items():
        at = ("reports", name)
        if not REPORT_NAME.match(str(name)):
            problems.append(
                Problem(
                    f"report name {name!r}: use letters, digits, _ and - (it can be part of a path)",
                    spec.where(*at),
                    code="name",
                )
            )
        for i, metric in enumerate(report.metrics or []):
            if not _known(metric, metric_names):
                problems.append(
                    Problem(
                        f"reports.{name}.metrics: unknown metric {metric!r}"
                        f"{did_you_mean(metric, [*metric_names, *REGISTRY])}; define it under "
                        "metrics: (`csm metrics` lists the built-in ones)",
                        spec.where(*at, "metrics", i),
                        code="unknown-metric",
                    )
                )
        for i, dim in enumerate(report.dimensions):
            if dim not in m.dimensions:
                declared = ", ".join(m.dimensions) or "none"
                problems.append(
                    Problem(
                        f"reports.{name}.dimensions: {dim!r} is not a declared dimension"
                        f"{did_you_mean(dim, m.dimensions)}; declared: {declared} (add it under "
                        "dimensions:)",
                        spec.where(*at, "dimensions", i),
                        code="unknown-dimension",
                    )
                )
        if report.health and m.health is None:
            problems.append(
                Problem(
                    f"reports.{name}.health is true but the spec has no health: block; add one "
                    "or set health: false",
                    spec.where(*at, "health"),
                    code="report-section",
                )
            )
        if report.alerts and not m.alerts:
            problems.append(
                Problem(
                    f"reports.{name}.alerts is true but the spec has no alerts:; add some or set "
                    "alerts: false",
                    spec.where(*at, "alerts"),
                    code="report-section",
                )
            )
        if report.cohorts not in (None, False) and not billing:
            problems.append(
                Problem(
                    f"reports.{name}.cohorts needs a subscriptions or invoices source; add one "
                    "or set cohorts: false",
                    spec.where(*at, "cohorts"),
                    code="report-section",
                )
            )
        if len(set(report.formats)) != len(report.formats):
            problems.append(
                Problem(
                    f"reports.{name}.formats lists a format twice",
                    spec.where(*at, "formats"),
                    code="duplicate",
                )
            )
        where = spec.where(*at, "out_dir")
        if p := out_dir_problem(report.out_dir, where, f"reports.{name}.out_dir"):
            problems.append(p)
        elif "{name}" not in report.out_dir:
            other = targets.setdefault(report.out_dir, name)
            if other != name:
                problems.append(
                    Problem(
                        f"reports {other} and {name} both write to {report.out_dir!r}: add "
                        f"{{name}} to out_dir (e.g. reports/{{name}}/{{period}})",
                        where,
                        code="out-dir",
                    )
                )
    return problems


CHANGE_SUFFIX = re.compile(r"^(.+)_(change|delta)$")


def _base(name: str, metric_names: set[str]) -> str:
    """The metric a reference depends on (``mrr_change`` depends on ``mrr``)."""
    if name in metric_names or name in REGISTRY:
        return name
    m = CHANGE_SUFFIX.match(name)
    return m[1] if m else name


def _known(name: str, metric_names: set[str]) -> bool:
    base = _base(name, metric_names)
    return base in metric_names or base in REGISTRY


def _cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    """Each cycle once (as found by a depth-first walk)."""
    found: list[list[str]] = []
    state: dict[str, int] = {}  # 1 visiting, 2 done
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in graph.get(node, []):
            if state.get(nxt) == 1:
                found.append(stack[stack.index(nxt) :])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found
