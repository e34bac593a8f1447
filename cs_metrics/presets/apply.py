"""Reading a file with a preset: pick the layout whose required columns the file has,
rename and convert the vendor's columns (:func:`apply_preset`, before typing), then the
rules over typed values (:func:`finish_preset`). See the package docstring."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cs_metrics.errors import DataError, SpecError
from cs_metrics.presets.layouts import (
    HELPER,
    PRESET_NAMES,
    PRESETS,
    TRIAL_STATES,
    UNIT_MONTHS,
    ZERO_DECIMAL,
    Col,
    Layout,
    norm,
)

if TYPE_CHECKING:
    import polars as pl

    from cs_metrics.spec.models import Source


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
    exprs += _policy_columns(layout, exprs, set(source.columns))
    # which layout was read, for finish_preset (a column name: the frame stays lazy)
    exprs.append(pl.lit(None, pl.String).alias(f"{HELPER}layout_{res.index}"))
    produced = {e.meta.output_name() for e in exprs}
    consumed = set(res.found.values())
    # the vendor's columns are replaced by the canonical ones; a file column that already
    # bears a produced name (and is not the source of one) is dropped, as sources.py does
    keep = [h for h in header if h not in consumed and h not in produced]
    lf = lf.select([pl.col(h) for h in keep] + exprs)
    return lf, list(lf.collect_schema().names())


def _policy_columns(layout: Layout, exprs: list[pl.Expr], explicit: set[str]) -> list[pl.Expr]:
    """The canonical columns the definition policies read (status, status_date,
    canceled_at, paid_through), copied from the preset's helpers unless mapped under
    ``columns:``. A trial's status is left empty: the preset already starts its MRR at the
    trial's end (the ``trials`` option is for status columns mapped by hand)."""
    import polars as pl

    by_name = {e.meta.output_name(): e for e in exprs}
    out = []
    for canonical, helper in layout.policy_columns.items():
        expr = by_name.get(HELPER + helper[1:])
        if expr is None or canonical in explicit or canonical in by_name:
            continue
        if canonical == "status":
            low = expr.str.to_lowercase().str.replace_all(r"[\s-]+", "_")
            expr = pl.when(low.is_in(list(TRIAL_STATES))).then(None).otherwise(expr)
        out.append(expr.alias(canonical))
    return out


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

    from cs_metrics.sources.parse import _parse

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

    def status(target: str) -> pl.Expr | None:  # 'Non Renewing' -> non_renewing
        c = col(target)
        if c is None:
            return None
        return (
            c.cast(pl.String).str.strip_chars().str.to_lowercase().str.replace_all(r"[\s-]+", "_")
        )

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
