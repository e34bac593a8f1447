"""`csm validate`: the spec plus data-quality findings for every source, with file and row.

Structure problems (a missing file or column) and data problems (values that do not
parse, duplicates, negative amounts, overlapping subscriptions, out-of-range scores) are
all collected and reported together, like pandera's lazy validation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cs_metrics.errors import CsmError, ExitCode, Problem
from cs_metrics.freshness import Span, span_exprs, span_of, stale_warnings
from cs_metrics.sources import MAX_REPORTED, Scanned, scan_source

if TYPE_CHECKING:
    import polars as pl

    from cs_metrics.spec import Spec

UNIQUE_KEYS = {"accounts": "account_id", "tickets": "ticket_id", "orders": "order_id"}
SCALES = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}


@dataclass
class Report:
    sources: dict[str, Scanned] = field(default_factory=dict)
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    exit_code: ExitCode = ExitCode.DATA_ERROR
    spans: dict[str, Span] = field(default_factory=dict)  # role -> dates covered

    def lines(self) -> list[str]:
        return [
            f"{role}: {self.rows[role]:,} rows in {len(sc.files)} file(s)" + self._dates(role)
            for role, sc in self.sources.items()
            if role in self.rows
        ]

    def _dates(self, role: str) -> str:
        span = self.spans.get(role)
        return f", dates {span.describe()}" if span else ""


def _rows(df: pl.DataFrame) -> str:
    shown = ", ".join(str(r) for r in df["row"].head(MAX_REPORTED).to_list())
    more = f" and {df.height - MAX_REPORTED} more" if df.height > MAX_REPORTED else ""
    return f"rows {shown}{more}"


def _findings(role: str, sc: Scanned) -> list[tuple[str, pl.LazyFrame, str]]:
    """(level, frame of offending rows with file,row, message) per data-quality rule."""
    import polars as pl

    f = sc.frame
    cols = set(sc.columns)
    base = [pl.col("__file").alias("file"), pl.col("__row").cast(pl.Int64).alias("row")]
    out: list[tuple[str, pl.LazyFrame, str]] = []
    key = UNIQUE_KEYS.get(role)
    if key and key in cols:
        dup = f.filter(pl.col(key).is_not_null() & pl.col(key).is_duplicated())
        out.append(("warning", dup.select(*base), f"duplicate {key} values"))
    if role == "invoices" and "invoice_id" in cols:
        # lines may share an invoice id (one invoice, several lines, all billed), but two lines
        # alike in every column are more often an export that repeated them: both are billed
        same = f.filter(pl.struct(sorted(cols)).is_duplicated())
        out.append(
            (
                "warning",
                same.select(*base),
                "invoice lines alike in every column (both billed: did the export repeat them?)",
            )
        )
    if role in ("subscriptions", "invoices") and "amount" in cols:
        neg = f.filter(pl.col("amount") < 0)
        if role == "invoices" and "line_type" in cols:
            neg = neg.filter(
                ~pl.col("line_type").str.to_lowercase().is_in(["refund", "credit", "discount"])
            )
        out.append(
            ("warning", neg.select(*base), "negative amounts (credits? they net against MRR)")
        )
    # end_date before start_date, period_end before period_start (errors) and overlapping
    # rows of one subscription_id (a warning) are the source's own checks and notices:
    # compute reports them too
    if role == "surveys":
        kind = pl.col("survey").str.to_lowercase() if "survey" in cols else pl.lit("nps")
        for name, (lo, hi) in SCALES.items():
            bad = f.filter((kind == name) & ((pl.col("score") < lo) | (pl.col("score") > hi)))
            out.append(("error", bad.select(*base), f"{name} scores outside {lo}-{hi}"))
    if role == "tickets" and {"first_response_at", "resolved_at"} <= cols:
        odd = f.filter(pl.col("first_response_at") > pl.col("resolved_at"))
        out.append(("warning", odd.select(*base), "first_response_at after resolved_at"))
    return out


def _alert_problems(spec: Spec, report: Report) -> list[Problem]:
    """Alert conditions naming something that is neither a metric, health nor an attribute."""
    from cs_metrics.alerts import references

    accounts = report.sources.get("accounts")
    attributes = [c for c in accounts.columns if c != "account_id"] if accounts else []
    problems = []
    for i in range(len(spec.model.alerts)):
        try:
            references(spec, i, attributes)
        except CsmError as exc:
            problems.append(Problem(exc.message, spec.where("alerts", i, "when"), code="alert"))
    return problems


def validate_sources(spec: Spec) -> Report:
    import polars as pl

    from cs_metrics.sources import raise_for_checks

    report = Report()
    missing_input = False
    for role, source in spec.model.sources.items():
        try:
            sc = scan_source(spec.base_dir, role, source)
        except CsmError as exc:
            report.errors.append(Problem(exc.message, f"sources.{role}", code="source"))
            missing_input |= exc.exit_code == ExitCode.NO_INPUT
            continue
        report.sources[role] = sc
        report.warnings += [Problem(w, level="warning", code="source") for w in sc.warnings]
    if missing_input:
        report.exit_code = ExitCode.NO_INPUT
    report.errors += _alert_problems(spec, report)
    plans: list[pl.LazyFrame] = []
    labels: list[tuple[str, str, str]] = []
    formats: list[Any] = []  # the notices' formatters, in order
    for role, sc in report.sources.items():
        # reading every column (not just counting) surfaces ragged rows and bad encodings
        plans.append(
            sc.frame.select(
                pl.len().alias("n"),
                pl.exclude("^__.*$").null_count(),
                *span_exprs(role, sc.columns),  # first/last dates: cs_metrics.freshness
            )
        )
        labels.append(("count", role, ""))
        for chk in sc.checks:
            plans.append(chk)
            labels.append(("check", role, ""))
        for frame, fmt in sc.notices:
            plans.append(frame)
            labels.append(("notice", role, ""))
            formats.append(fmt)
        for level, frame, msg in _findings(role, sc):
            plans.append(frame)
            labels.append((level, role, msg))
    try:
        collected = pl.collect_all(plans) if plans else []
    except pl.exceptions.PolarsError as exc:
        from cs_metrics.sources import explain_read_error

        report.errors.append(
            Problem(explain_read_error(list(report.sources.values()), exc).message)
        )
        return report
    pending = iter(formats)
    for (kind, role, msg), df in zip(labels, collected, strict=True):
        if kind == "notice":
            text = next(pending)(df)
            if text:
                report.warnings.append(Problem(text, level="warning", code="source"))
        elif kind == "count":
            report.rows[role] = int(df["n"][0])
            span = span_of(role, report.sources[role].columns, report.rows[role], df)
            if span is not None:
                report.spans[role] = span
        elif kind == "check":
            try:
                raise_for_checks(df)
            except CsmError as exc:
                report.errors += exc.problems
        elif df.height:
            files = df["file"].unique().to_list()
            report_list = report.errors if kind == "error" else report.warnings
            for file in files:
                part = df.filter(pl.col("file") == file)
                report_list.append(
                    Problem(
                        f"{role}: {part.height} {msg} ({_rows(part)})",
                        file,
                        level=kind,
                        code="quality",
                    )
                )
    report.warnings += _stale_problems(spec, report)
    return report


def _stale_problems(spec: Spec, report: Report) -> list[Problem]:
    """Sources whose data ends before the period commands compute by default."""
    from cs_metrics.timeframe import resolve_periods

    try:
        period = resolve_periods(spec)[-1]
    except CsmError:
        return []
    return [
        Problem(w.split(": ", 1)[1], w.split(": ", 1)[0], level="warning", code="stale")
        for w in stale_warnings(report.spans, period)
    ]
