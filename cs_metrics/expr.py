"""User SQL expressions -> narwhals expressions, from a whitelist (ENGINE.md rule 7).

Filters, dimension expressions, formulas and alert conditions are SQL expression text.
They are parsed with sqlglot and translated node by node through :data:`_TRANSLATORS`;
any node type not in that table is rejected with an :class:`ExprError` that points at the
offending text. Nothing is evaluated and no SQL text ever reaches an engine, so the
result runs unchanged on polars, DuckDB and Spark through narwhals.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any

import narwhals.stable.v2 as nw
import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import Token, TokenType

from cs_metrics.errors import ExprError

__all__ = ["Expr", "Resolver", "parse_expr"]

Resolver = Callable[[str], nw.Expr]

ALLOWED_SUMMARY = (
    "only column names, literals, comparisons, AND/OR/NOT, IN, BETWEEN, LIKE, IS NULL, "
    "CASE, COALESCE and arithmetic are allowed"
)
ALLOWED_FUNCTIONS = ("COALESCE", "ABS", "LEAST", "GREATEST")
ALLOWED_CASTS = "CAST(... AS DOUBLE), CAST(... AS DATE) and DATE 'YYYY-MM-DD'"

_INT64_MAX = 2**63 - 1
MAX_DEPTH = 100  # nesting after AND/OR chains are flattened; a hand-written filter needs ~10
MAX_PARENS = 32  # parentheses inside each other (sqlglot's parser recurses ~16 frames a level)
MAX_CHARS = 200_000  # a 4,000-term OR is about 80,000 characters
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_REGEX_SPECIAL = frozenset("\\.^$|?*+()[]{}")
_WORDS = frozenset({TokenType.VAR, TokenType.IDENTIFIER, TokenType.STRING, TokenType.NUMBER})
_PREDICATES = (
    exp.And,
    exp.Or,
    exp.Not,
    exp.EQ,
    exp.NEQ,
    exp.GT,
    exp.GTE,
    exp.LT,
    exp.LTE,
    exp.In,
    exp.Between,
    exp.Is,
    exp.Like,
    exp.ILike,
    exp.Escape,
    exp.Boolean,
)
_LABELS: dict[type[exp.Expression], str] = {
    exp.Subquery: "SELECT",
    exp.Select: "SELECT",
    exp.Exists: "EXISTS (SELECT ...)",
    exp.Star: "*",
    exp.Window: "window function (OVER ...)",
    exp.Mod: "% (modulo)",
    exp.DPipe: "|| (string concatenation)",
    exp.Placeholder: "parameter placeholder",
    exp.Parameter: "parameter",
    exp.Tuple: "tuple (..., ...)",
    exp.Bracket: "subscript [...]",
    exp.Interval: "INTERVAL",
    exp.NullSafeEQ: "IS NOT DISTINCT FROM",
    exp.NullSafeNEQ: "IS DISTINCT FROM",
}


@dataclass(frozen=True, eq=False)
class Expr:
    """A parsed, whitelisted user expression."""

    text: str
    columns: frozenset[str]
    _tree: exp.Expression = field(repr=False)

    def to_narwhals(self, resolve: Resolver | None = None) -> nw.Expr:
        """Build the narwhals expression; ``resolve`` maps identifiers (default ``nw.col``)."""
        return _Translator(self.text, resolve or nw.col).translate(self._tree)

    def is_boolean(self) -> bool:
        """Best effort: whether the top node is a predicate."""
        return _is_predicate(self._tree)

    @property
    def tree(self) -> exp.Expression:
        """The parsed sqlglot tree (whitelisted); read by :mod:`cs_metrics.expr_types`."""
        return self._tree


def parse_expr(text: str) -> Expr:
    """Parse and validate ``text``; raise :class:`ExprError` on anything outside the whitelist.

    Parsed once per text (the spec check, the engine and explain each ask): an Expr is
    immutable, and a 4,000-term filter takes sqlglot about a second to parse."""
    if not isinstance(text, str):
        raise ExprError(f"expression must be text, got {type(text).__name__} {text!r}", str(text))
    return _parse_cached(text)


@lru_cache(maxsize=512)
def _parse_cached(text: str) -> Expr:
    if not isinstance(text, str):
        raise ExprError(f"expression must be text, got {type(text).__name__} {text!r}", str(text))
    if len(text) > MAX_CHARS:
        raise ExprError(
            f"expression is {len(text):,} characters long; the limit is {MAX_CHARS:,}: use a "
            "dimension or an IN list of the values instead",
            text[:80] + "...",
        )
    tokens = _tokenize(text)
    if not tokens:
        raise ExprError("expression is empty", text, 0)
    parens = deepest = 0
    for tok in tokens:
        parens += {TokenType.L_PAREN: 1, TokenType.R_PAREN: -1}.get(tok.token_type, 0)
        deepest = max(deepest, parens)
        if tok.token_type == TokenType.SEMICOLON:
            raise ExprError(
                f'only one expression is allowed: found ";" at position {tok.start} in "{text}"',
                text,
                tok.start,
            )
    if deepest > MAX_PARENS:
        raise _too_deep(text, deepest, "parentheses", MAX_PARENS)
    try:
        tree = Dialect.get_or_raise(None).parser().parse_into(exp.Condition, tokens, text)[0]
    except ParseError as e:
        raise _parse_error(text, tokens, e) from None
    except RecursionError:  # sqlglot's parser recurses once per parenthesis or NOT
        raise _too_deep(text, None) from None
    depth = _depth(tree)
    if depth > MAX_DEPTH:
        raise _too_deep(text, depth)
    _Translator(text, nw.col, tokens).translate(tree)  # validates every node
    columns = frozenset(col.name for col in tree.find_all(exp.Column))
    return Expr(text=text, columns=columns, _tree=tree)


# --------------------------------------------------------------------------- parsing


def _too_deep(
    text: str,
    depth: int | None,
    what: str = "parentheses, NOT, CASE or arithmetic",
    limit: int = MAX_DEPTH,
) -> ExprError:
    levels = f"{depth} levels" if depth is not None else "too many levels"
    shown = text if len(text) <= 120 else text[:117] + "..."
    return ExprError(
        f'expression "{shown}" nests {levels} deep ({what} inside each other; the limit is '
        f"{limit}): simplify it (a long chain of AND or OR is fine)",
        text,
    )


def _chain(node: exp.Expression) -> list[exp.Expression]:
    """The operands of a chain of one connective: ``a OR (b OR c) OR d`` -> [a, b, c, d]
    (sqlglot builds a tree as deep as the chain is long; SQL's AND and OR are associative,
    three-valued logic included, so the operands can be regrouped)."""
    kind = type(node)
    out, stack = [], [node]
    while stack:
        n = stack.pop()
        inner = n.this if isinstance(n, exp.Paren) else n
        if type(inner) is kind:
            stack += [inner.expression, inner.this]
        else:
            out.append(n)
    return out


def _depth(tree: exp.Expression) -> int:
    """How deep the translation recurses: nesting, with AND and OR chains counted once."""
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if type(node) in (exp.And, exp.Or):
            children = _chain(node)
        else:
            children = list(node.iter_expressions())
        stack += [(c, depth + 1) for c in children]
    return deepest


def _tokenize(text: str) -> list[Token]:
    try:
        return list(sqlglot.tokenize(text))
    except TokenError as e:
        pos, kind = _unterminated_quote(text)
        if pos is None:
            raise ExprError(f'cannot read expression "{text}": {e}', text) from None
        raise ExprError(
            f'expression "{text}" has an unterminated {kind} starting at position {pos}',
            text,
            pos,
        ) from None


def _unterminated_quote(text: str) -> tuple[int | None, str]:
    """Offset of an opening quote that is never closed (doubled quotes escape)."""
    i, n = 0, len(text)
    while i < n:
        quote = text[i]
        if quote in "'\"":
            j = i + 1
            while j < n:
                if text[j] == quote:
                    if j + 1 < n and text[j + 1] == quote:
                        j += 2
                        continue
                    break
                j += 1
            if j >= n:
                return i, "string" if quote == "'" else "quoted name"
            i = j
        i += 1
    return None, ""


def _parse_error(text: str, tokens: list[Token], error: ParseError) -> ExprError:
    info = error.errors[0] if error.errors else {}
    line, col = info.get("line"), info.get("col")
    highlight = str(info.get("highlight") or "")
    description = str(info.get("description") or "")
    pos = next(
        (t.start for t in tokens if t.line == line and t.col == col),
        _offset(text, line, col, highlight),
    )
    unexpected = description.startswith("Invalid expression")
    closing = highlight.upper() in (")", "END")
    if not str(info.get("end_context") or "").strip() and not unexpected and not closing:
        message = f'expression "{text}" is incomplete near position {pos}'
        if description.startswith("Expecting "):
            message += f' (expected "{description.removeprefix("Expecting ")}")'
        return ExprError(message, text, pos)
    message = f'cannot parse expression "{text}": unexpected "{highlight}" at position {pos}'
    token = next((t for t in tokens if t.start == pos), None)
    if unexpected and token is not None and token.token_type in _WORDS:
        message += " (a missing operator, or a string without 'quotes'?)"
    return ExprError(message, text, pos)


def _offset(text: str, line: Any, col: Any, highlight: str) -> int | None:
    """0-based offset from sqlglot's 1-based line and end column."""
    if not isinstance(line, int) or not isinstance(col, int):
        return None
    lines = text.split("\n")
    if not 1 <= line <= len(lines):
        return None
    start = sum(len(s) + 1 for s in lines[: line - 1])
    return max(0, start + col - max(len(highlight), 1))


# --------------------------------------------------------------------------- translation

Translator = Callable[["_Translator", Any], nw.Expr]


class _Translator:
    """Walks a sqlglot tree, translating whitelisted nodes and rejecting the rest."""

    def __init__(self, text: str, resolve: Resolver, tokens: list[Token] | None = None) -> None:
        self.text = text
        self.resolve = resolve
        self._tokens = tokens

    @cached_property
    def tokens(self) -> list[Token]:
        return self._tokens if self._tokens is not None else _tokenize(self.text)

    def translate(self, node: exp.Expression) -> nw.Expr:
        found, value = self.constant(node)
        if found:
            return _lit(value)
        handler = _TRANSLATORS.get(type(node))
        if handler is None:
            raise self.unknown(node)
        return handler(self, node)

    # ---- literals

    def constant(self, node: exp.Expression | None) -> tuple[bool, Any]:
        """(True, python value) when ``node`` is a literal (incl. -1 and DATE '...')."""
        if isinstance(node, exp.Paren):
            return self.constant(node.this)
        if isinstance(node, exp.Null):
            return True, None
        if isinstance(node, exp.Boolean):
            return True, bool(node.this)
        if isinstance(node, exp.Literal):
            return True, node.this if node.is_string else self.number(node)
        if isinstance(node, exp.Neg):
            found, value = self.constant(node.this)
            if found and isinstance(value, int | float) and not isinstance(value, bool):
                return True, -value
        if (
            type(node) is exp.Cast
            and isinstance(node.this, exp.Literal)
            and node.this.is_string
            and node.to.is_type("date")
        ):
            return True, self.date(node.this)
        return False, None

    def number(self, node: exp.Literal) -> int | float:
        raw = str(node.this)
        value: int | float = int(raw) if raw.isdigit() else float(raw)
        if isinstance(value, int) and value > _INT64_MAX:
            raise self.error(f"integer {raw} is too large", node)
        if isinstance(value, float) and not math.isfinite(value):
            raise self.error(f"number {raw} is out of range", node)
        return value

    def date(self, node: exp.Literal) -> dt.date:
        raw = str(node.this).strip()
        try:
            if not _DATE_RE.fullmatch(raw):
                raise ValueError(raw)
            return dt.date.fromisoformat(raw)
        except ValueError:
            raise self.error(f"invalid date '{raw}' (expected 'YYYY-MM-DD')", node) from None

    def string(self, node: exp.Expression | None, what: str) -> str:
        found, value = self.constant(node)
        if not found or not isinstance(value, str):
            raise self.error(f"{what} must be a 'string' literal", node)
        return value

    # ---- errors

    def error(self, message: str, node: exp.Expression | None) -> ExprError:
        pos = self.position(node) if node is not None else None
        where = f" at position {pos}" if pos is not None else ""
        return ExprError(f'{message}{where} in "{self.text}"', self.text, pos)

    def unknown(self, node: exp.Expression) -> ExprError:
        pos = self.position(node)
        where = f" at position {pos}" if pos is not None else ""
        if isinstance(node, exp.Func) and type(node) not in _LABELS:
            name = self.source(node) or node.sql_name()
            allowed = ", ".join(ALLOWED_FUNCTIONS)
            return ExprError(
                f"function {name.upper()}() is not allowed in expressions (allowed: {allowed})"
                f'{where} in "{self.text}"',
                self.text,
                pos,
            )
        label = _LABELS.get(type(node)) or self.token_text(pos) or node.key.upper()
        return ExprError(
            f'unknown construct {label}{where} in "{self.text}": {ALLOWED_SUMMARY}',
            self.text,
            pos,
        )

    def source(self, node: exp.Expression) -> str:
        meta = node.meta
        if "start" in meta and "end" in meta:
            return self.text[meta["start"] : meta["end"] + 1]
        return ""

    def token_text(self, pos: int | None) -> str:
        tok = next((t for t in self.tokens if t.start == pos), None)
        return tok.text.upper() if tok is not None else ""

    def position(self, node: exp.Expression) -> int | None:
        """Best-effort 0-based offset of ``node`` in the source text."""
        if "start" in node.meta:
            return node.meta["start"]
        if isinstance(node, exp.Binary) and node.this is not None and node.expression is not None:
            left, right = _span(node.this), _span(node.expression)
            if left and right:
                for tok in self.tokens:
                    parens = (TokenType.L_PAREN, TokenType.R_PAREN)
                    if left[1] < tok.start < right[0] and tok.token_type not in parens:
                        return tok.start
        span = _span(node)
        bound = span[0] if span else len(self.text)
        try:
            first = sqlglot.tokenize(node.sql())[0].token_type
        except (TokenError, IndexError):
            return span[0] if span else None
        for tok in reversed(self.tokens):
            if tok.start <= bound and tok.token_type == first:
                return tok.start
        return span[0] if span else None


def _span(node: exp.Expression) -> tuple[int, int] | None:
    """(min start, max end) over the positions sqlglot recorded in ``node``'s subtree."""
    metas = [n.meta for n in node.walk() if "start" in n.meta and "end" in n.meta]
    if not metas:
        return None
    return min(m["start"] for m in metas), max(m["end"] for m in metas)


def _lit(value: Any) -> nw.Expr:
    if isinstance(value, dt.date):
        return nw.lit(value, nw.Date)
    return nw.lit(value)


def _is_predicate(node: exp.Expression) -> bool:
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.Case):
        branches = [b.args.get("true") for b in node.args.get("ifs") or []]
        branches.append(node.args.get("default"))
        return all(b is None or _is_predicate(b) for b in branches)
    return isinstance(node, _PREDICATES)


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "date" if isinstance(value, dt.date) else "string"


def _any(exprs: list[nw.Expr]) -> nw.Expr:
    """OR of ``exprs`` as a balanced tree (SQL three-valued logic)."""
    return _balanced(exprs, lambda a, b: a | b)


def _balanced(exprs: list[nw.Expr], op: Callable[[nw.Expr, nw.Expr], nw.Expr]) -> nw.Expr:
    """``op`` over ``exprs`` as a tree log2(n) deep, so that engines do not recurse n deep."""
    if len(exprs) == 1:
        return exprs[0]
    mid = len(exprs) // 2
    return op(_balanced(exprs[:mid], op), _balanced(exprs[mid:], op))


def _like_regex(pattern: str, escape: str | None) -> str:
    """An anchored regex (RE2 and Rust syntax) matching what SQL LIKE ``pattern`` matches."""
    out: list[str] = []
    chars = iter(pattern)
    for c in chars:
        if escape is not None and c == escape:
            c = next(chars, None)
            if c is None:
                raise ValueError("the pattern ends with the ESCAPE character")
            out.append("\\" + c if c in _REGEX_SPECIAL else c)
        elif c == "%":
            out.append(".*")
        elif c == "_":
            out.append(".")
        else:
            out.append("\\" + c if c in _REGEX_SPECIAL else c)
    return "(?s)^" + "".join(out) + "$"


# --------------------------------------------------------------------------- node translators


def _column(tr: _Translator, node: exp.Column) -> nw.Expr:
    if isinstance(node.this, exp.Star):
        raise tr.unknown(node.this)
    if node.args.get("table") is not None:
        raise tr.error(
            f'qualified name "{node.sql()}" is not allowed: use the column name alone', node
        )
    return tr.resolve(node.name)


def _connective(op: Callable[[nw.Expr, nw.Expr], nw.Expr]) -> Translator:
    def translate(tr: _Translator, node: exp.And | exp.Or) -> nw.Expr:
        return _balanced([tr.translate(n) for n in _chain(node)], op)

    return translate


def _paren(tr: _Translator, node: exp.Paren) -> nw.Expr:
    return tr.translate(node.this)


def _binary(op: Callable[[nw.Expr, nw.Expr], nw.Expr]) -> Translator:
    def translate(tr: _Translator, node: exp.Binary) -> nw.Expr:
        return op(tr.translate(node.this), tr.translate(node.expression))

    return translate


def _div(tr: _Translator, node: exp.Div) -> nw.Expr:
    num = tr.translate(node.this).cast(nw.Float64)
    den = tr.translate(node.expression).cast(nw.Float64)
    return nw.when(den != 0).then(num / den)


def _neg(tr: _Translator, node: exp.Neg) -> nw.Expr:
    return -tr.translate(node.this)


def _not(tr: _Translator, node: exp.Not) -> nw.Expr:
    return ~tr.translate(node.this)


def _is(tr: _Translator, node: exp.Is) -> nw.Expr:
    subject, target = tr.translate(node.this), node.expression
    if isinstance(target, exp.Null):
        return subject.is_null()
    if isinstance(target, exp.Boolean):
        return (subject if target.this else ~subject).fill_null(False)
    raise tr.error("IS must be followed by NULL, TRUE or FALSE", target)


def _in(tr: _Translator, node: exp.In) -> nw.Expr:
    if node.args.get("query") is not None:
        raise tr.unknown(node.args["query"])
    values = node.expressions
    if not values or node.args.get("field") is not None or node.args.get("unnest") is not None:
        raise tr.error("IN needs a list of values in parentheses, e.g. IN ('a', 'b')", node)
    subject = tr.translate(node.this)
    kinds: set[str] = set()
    for value in values:
        found, literal = tr.constant(value)
        if not found:
            raise tr.error("an IN list may contain only literal values", value)
        if literal is None:
            continue
        kinds.add(_kind(literal))
        if len(kinds) > 1:
            raise tr.error(f"an IN list mixes {' and '.join(sorted(kinds))} values", value)
    # x IN (a, b) is x = a OR x = b: comparison coercion and NULL logic match SQL exactly.
    return _any([subject == tr.translate(value) for value in values])


def _between(tr: _Translator, node: exp.Between) -> nw.Expr:
    if node.args.get("symmetric"):
        raise tr.error("BETWEEN SYMMETRIC is not allowed", node)
    low, high = tr.translate(node.args["low"]), tr.translate(node.args["high"])
    return tr.translate(node.this).is_between(low, high, closed="both")


def _like(tr: _Translator, node: exp.Like | exp.ILike, escape: str | None = None) -> nw.Expr:
    keyword = "ILIKE" if isinstance(node, exp.ILike) else "LIKE"
    subject = tr.translate(node.this)
    pattern = tr.string(node.expression, f"the pattern after {keyword}")
    if isinstance(node, exp.ILike):
        subject, pattern = subject.str.to_lowercase(), pattern.lower()
        escape = escape.lower() if escape is not None else None
    try:
        regex = _like_regex(pattern, escape)
    except ValueError as e:
        raise tr.error(str(e), node.expression) from None
    result = subject.str.contains(regex, literal=False)
    return ~result if node.args.get("negate") else result


def _escape(tr: _Translator, node: exp.Escape) -> nw.Expr:
    like = node.this
    if type(like) not in (exp.Like, exp.ILike):
        raise tr.unknown(node)
    char = tr.string(node.expression, "the ESCAPE character")
    if len(char) != 1:
        raise tr.error("ESCAPE takes exactly one character", node.expression)
    return _like(tr, like, char)


def _case(tr: _Translator, node: exp.Case) -> nw.Expr:
    subject = tr.translate(node.this) if node.this is not None else None
    chain: Any = None
    for branch in node.args.get("ifs") or []:
        cond = tr.translate(branch.this)
        if subject is not None:
            cond = subject == cond
        value = tr.translate(branch.args["true"])
        chain = nw.when(cond).then(value) if chain is None else chain.when(cond).then(value)
    if chain is None:
        raise tr.error("CASE needs at least one WHEN ... THEN ...", node)
    default = node.args.get("default")
    return chain.otherwise(tr.translate(default)) if default is not None else chain


def _args(tr: _Translator, node: exp.Func) -> list[nw.Expr]:
    return [tr.translate(a) for a in [node.this, *node.expressions] if a is not None]


def _coalesce(tr: _Translator, node: exp.Coalesce) -> nw.Expr:
    first, *rest = _args(tr, node)
    return nw.coalesce(first, *rest) if rest else first


def _least(tr: _Translator, node: exp.Least) -> nw.Expr:
    return nw.min_horizontal(*_args(tr, node))


def _greatest(tr: _Translator, node: exp.Greatest) -> nw.Expr:
    return nw.max_horizontal(*_args(tr, node))


def _abs(tr: _Translator, node: exp.Abs) -> nw.Expr:
    return tr.translate(node.this).abs()


def _cast(tr: _Translator, node: exp.Cast) -> nw.Expr:
    if node.args.get("format") is not None:
        raise tr.error("CAST ... FORMAT is not allowed", node)
    target = node.to
    if target.is_type("date"):
        return tr.translate(node.this).cast(nw.Date)
    if target.is_type("double", "float"):
        return tr.translate(node.this).cast(nw.Float64)
    raise tr.error(f"CAST to {target.sql()} is not allowed (allowed: {ALLOWED_CASTS})", node)


_TRANSLATORS: dict[type[exp.Expression], Translator] = {
    exp.Column: _column,
    exp.Paren: _paren,
    exp.And: _connective(lambda a, b: a & b),
    exp.Or: _connective(lambda a, b: a | b),
    exp.Not: _not,
    exp.EQ: _binary(lambda a, b: a == b),
    exp.NEQ: _binary(lambda a, b: a != b),
    exp.GT: _binary(lambda a, b: a > b),
    exp.GTE: _binary(lambda a, b: a >= b),
    exp.LT: _binary(lambda a, b: a < b),
    exp.LTE: _binary(lambda a, b: a <= b),
    exp.Add: _binary(lambda a, b: a + b),
    exp.Sub: _binary(lambda a, b: a - b),
    exp.Mul: _binary(lambda a, b: a * b),
    exp.Div: _div,
    exp.Neg: _neg,
    exp.Is: _is,
    exp.In: _in,
    exp.Between: _between,
    exp.Like: _like,
    exp.ILike: _like,
    exp.Escape: _escape,
    exp.Case: _case,
    exp.Coalesce: _coalesce,
    exp.Least: _least,
    exp.Greatest: _greatest,
    exp.Abs: _abs,
    exp.Cast: _cast,
}
