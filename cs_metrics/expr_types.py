"""The kinds of values a user expression compares (text, number, date, boolean), checked
before anything runs: a text column compared with a number fails on DuckDB with a
BinderException and on polars with a ComputeError, neither naming the column, so
:func:`type_error` finds the first such clash in a parsed :class:`~cs_metrics.expr.Expr`
and says which column, what it holds and the fix.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import narwhals.stable.v2 as nw
from sqlglot import exp

from cs_metrics.errors import ExprError, Problem, SpecError
from cs_metrics.expr import _DATE_RE, Expr, _chain, _Translator

__all__ = ["DTYPE_KINDS", "check_frame_types", "dtype_kind", "frame_type_error", "type_error"]

_BUCKET_RE = re.compile(r"[<>~≤≥]?\s*\d[\d\s.,%+kKmM<>–-]*")  # 51-200, 1,000+, <10, 10k-50k

TEXT, NUMBER, DATE, BOOLEAN = "text", "number", "date", "boolean"
# spec dtypes (sources.<role>.dtypes, the canonical columns) -> the kind a comparison needs
DTYPE_KINDS = {
    "string": TEXT,
    "int": NUMBER,
    "float": NUMBER,
    "bool": BOOLEAN,
    "date": DATE,
    "datetime": DATE,
}


def dtype_kind(dtype: Any) -> str | None:
    """The kind of a narwhals dtype (None: one no comparison rule covers)."""
    if dtype == nw.String or dtype == nw.Categorical or dtype == nw.Enum:
        return TEXT
    if dtype.is_numeric():
        return NUMBER
    if dtype == nw.Date or dtype == nw.Datetime:
        return DATE
    return BOOLEAN if dtype == nw.Boolean else None


_CLASHES = ({TEXT, NUMBER}, {DATE, TEXT}, {DATE, NUMBER})


def type_error(
    expr: Expr,
    kinds: Mapping[str, str],
    values: Callable[[str], list[str]] | None = None,
) -> ExprError | None:
    """The first comparison, arithmetic or LIKE that mixes kinds no engine can compare
    (text with a number, a date with text or a number), given the kinds of the columns
    that are known (column -> "text", "number", "date", "boolean"; see DTYPE_KINDS).
    Unknown columns are not judged. ``values(column)`` may give a few of a text
    column's values for the message (a bucket such as '51-200' is text, not a number).

    DuckDB fails on these with a BinderException and polars with a ComputeError, and
    neither names the column: checked before anything runs, the message does."""
    return _Typer(expr.text, kinds, values).check(expr.tree)


def frame_type_error(expr: Expr, frame: Any) -> ExprError | None:
    """:func:`type_error` against a narwhals (lazy) frame's schema, before the engine
    runs the expression; a text column compared with a number is shown with a few of
    its distinct values (e.g. '51-200'), which are read only then."""
    schema = frame.collect_schema()
    kinds = {name: kind for name, dtype in schema.items() if (kind := dtype_kind(dtype))}

    def values(column: str) -> list[str]:
        col = nw.col(column)
        rows = (
            frame.select(col.cast(nw.String))
            .filter(~col.is_null())
            .unique()
            .sort(column)
            .head(50)
            .collect()
        )
        return [str(v) for v in rows[column].to_list()]

    return type_error(expr, kinds, values)


def check_frame_types(
    expr: Expr, frame: Any, spec: Any, path: tuple[Any, ...] = (), what: str = ""
) -> None:
    """Raise a SpecError located at the expression in the spec when it compares a column
    with a value of another kind in ``frame`` (a column typed only by the data, e.g. an
    accounts attribute holding buckets like '51-200'): run before the engine, which would
    fail with an unlocated error. ``path`` is the expression's place in the spec; without
    it (a metric's filter or option), the spec is searched for the expression's text."""
    err = frame_type_error(expr, frame)
    if err is None:
        return
    if not path:
        data = getattr(spec.loaded, "data", None)
        metrics = data.get("metrics") if isinstance(data, dict) else None
        found = _find_text(metrics, expr.text, ("metrics",)) or _find_text(data, expr.text)
        path, what = found or ((), what)
    what = what or ".".join(str(p) for p in path) or "expression"
    raise SpecError(
        f"invalid spec {spec.path}",
        [Problem(f"{what}: {err.message}", spec.where(*path), code="expression-type")],
    )


def _find_text(data: Any, text: str, path: tuple[Any, ...] = ()) -> tuple[tuple, str] | None:
    """(path, dotted name) of the first string in the spec equal to ``text``."""
    if isinstance(data, str):
        return (path, ".".join(str(p) for p in path)) if data.strip() == text.strip() else None
    items = (
        data.items()
        if isinstance(data, dict)
        else enumerate(data)
        if isinstance(data, list)
        else ()
    )
    for key, value in items:
        if (found := _find_text(value, text, (*path, key))) is not None:
            return found
    return None


# --------------------------------------------------------------------------- types

_COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE)
_ARITHMETIC = (exp.Add, exp.Sub, exp.Mul, exp.Div)


class _Typer:
    """Infers the kind of each node of a whitelisted tree and finds the first clash."""

    def __init__(
        self, text: str, kinds: Mapping[str, str], values: Callable[[str], list[str]] | None
    ) -> None:
        self.tr = _Translator(text, nw.col)
        self.kinds = kinds
        self.values = values

    def check(self, tree: exp.Expression) -> ExprError | None:
        try:
            self.kind(tree)
        except ExprError as exc:
            return exc
        return None

    def kind(self, node: exp.Expression | None) -> str | None:
        if node is None or isinstance(node, exp.Null):
            return None
        if isinstance(node, exp.Paren):
            return self.kind(node.this)
        if isinstance(node, exp.Column):
            return self.kinds.get(node.name)
        if isinstance(node, exp.Literal):
            return TEXT if node.is_string else NUMBER
        if isinstance(node, exp.Boolean):
            return BOOLEAN
        if isinstance(node, exp.Cast):
            self.kind(node.this)
            return DATE if node.to.is_type("date") else NUMBER
        if isinstance(node, exp.And | exp.Or):
            for operand in _chain(node):
                self.kind(operand)
            return BOOLEAN
        if isinstance(node, exp.Not | exp.Is):
            self.kind(node.this)
            return BOOLEAN
        if isinstance(node, _COMPARISONS):
            self.clash(node, node.this, [node.expression])
            return BOOLEAN
        if isinstance(node, exp.Between):
            self.clash(node, node.this, [node.args["low"], node.args["high"]])
            return BOOLEAN
        if isinstance(node, exp.In):
            self.clash(node, node.this, list(node.expressions))
            return BOOLEAN
        if isinstance(node, exp.Escape):
            return self.kind(node.this)
        if isinstance(node, exp.Like | exp.ILike):
            kind = self.kind(node.this)
            if kind in (NUMBER, DATE, BOOLEAN):
                keyword = "ILIKE" if isinstance(node, exp.ILike) else "LIKE"
                raise self.fail(
                    f"{keyword} matches text, but {self.describe(node.this, kind)} is not text",
                    "compare it with =, <, > or BETWEEN instead",
                    node,
                )
            return BOOLEAN
        if isinstance(node, (*_ARITHMETIC, exp.Neg)):
            operands = [node.this] if isinstance(node, exp.Neg) else [node.this, node.expression]
            kinds = [self.kind(o) for o in operands]
            for operand, kind in zip(operands, kinds, strict=True):
                if kind in (TEXT, BOOLEAN):
                    raise self.fail(
                        f"arithmetic needs numbers, but {self.describe(operand, kind)} is not one",
                        self.text_fix(operand),
                        node,
                    )
            return None if DATE in kinds else NUMBER
        if isinstance(node, exp.Abs):
            self.kind(node.this)
            return NUMBER
        if isinstance(node, exp.Case):
            subject = node.this
            found: str | None = None
            for branch in node.args.get("ifs") or []:
                if subject is not None:
                    self.clash(branch, subject, [branch.this])
                else:
                    self.kind(branch.this)
                found = found or self.kind(branch.args.get("true"))
            return self.kind(node.args.get("default")) or found
        found = None
        for child in node.iter_expressions():  # COALESCE, LEAST, GREATEST
            found = found or self.kind(child)
        return found

    def clash(
        self, node: exp.Expression, subject: exp.Expression, others: list[exp.Expression]
    ) -> None:
        left = self.kind(subject)
        for other in others:
            right = self.kind(other)
            if left is None or right is None or {left, right} not in _CLASHES:
                continue
            column, literal, column_kind, literal_kind = subject, other, left, right
            if not isinstance(subject, exp.Column) and isinstance(other, exp.Column):
                column, literal, column_kind, literal_kind = other, subject, right, left
            raise self.fail(
                f"{self.describe(column, column_kind)} is compared with "
                f"{self.describe(literal, literal_kind)}",
                self.fix(column, column_kind, literal, literal_kind),
                literal if isinstance(column, exp.Column) else node,
            )

    def fail(self, problem: str, fix: str, node: exp.Expression) -> ExprError:
        pos = self.tr.position(node)
        where = f" at position {pos}" if pos is not None else ""
        return ExprError(f'{problem}{where} in "{self.tr.text}": {fix}', self.tr.text, pos)

    def describe(self, node: exp.Expression, kind: str) -> str:
        while isinstance(node, exp.Paren):
            node = node.this
        if isinstance(node, exp.Column):
            return f"column {node.name} ({kind})"
        found, value = self.tr.constant(node)
        if found:
            shown = f"'{value}'" if isinstance(value, str) else f"DATE '{value}'"
            if isinstance(value, int | float) and not isinstance(value, bool):
                shown = str(value)
            return f"the {kind} {shown}"
        return f"{node.sql()} ({kind})"

    def sample(self, node: exp.Expression) -> str:
        """' (its values look like '51-200', '11-50')' for a text column, when known."""
        while isinstance(node, exp.Paren):
            node = node.this
        if self.values is None or not isinstance(node, exp.Column):
            return ""
        try:  # only number-like labels: a name or an e-mail is customer data
            shown = [v for v in self.values(node.name) if _BUCKET_RE.fullmatch(v)][:3]
        except Exception:  # a sample is only an aid to the message
            return ""
        return f" (its values look like {', '.join(repr(v) for v in shown)})" if shown else ""

    def text_fix(self, node: exp.Expression) -> str:
        return (
            f"CAST(... AS DOUBLE) turns text holding numbers into numbers{self.sample(node)}, or "
            "declare the column's type under sources.<role>.dtypes"
        )

    def fix(
        self, column: exp.Expression, column_kind: str, other: exp.Expression, other_kind: str
    ) -> str:
        found, value = self.tr.constant(other)
        it = "the column" if isinstance(_unparen(column), exp.Column) else "it"
        if column_kind == TEXT and other_kind == NUMBER:
            quoted = f" ('{value}')" if found else ""
            return (
                f"{it} holds text{self.sample(column)}, not numbers: compare it with text"
                f"{quoted}, map its values to numbers with CASE, or use CAST(... AS DOUBLE) if "
                "every value is a number"
            )
        if column_kind == NUMBER and other_kind == TEXT:
            if found and isinstance(value, str) and _is_number(value):
                return f"write the number without quotes ({value})"
            return f"{it} holds numbers: compare it with a number"
        if column_kind == DATE and other_kind == TEXT:
            if found and isinstance(value, str) and _DATE_RE.fullmatch(value.strip()):
                return f"write a date as DATE '{value.strip()}'"
            return "compare a date with DATE 'YYYY-MM-DD'"
        if column_kind == DATE:
            return "compare a date with DATE 'YYYY-MM-DD'"
        return f"compare values of one kind ({column_kind} with {column_kind})"


def _unparen(node: exp.Expression) -> exp.Expression:
    while isinstance(node, exp.Paren):
        node = node.this
    return node


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
