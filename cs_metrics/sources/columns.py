"""Column names: canonical columns found case-, space- and punctuation-insensitively, and
file columns that only look like a canonical one, warned about by name."""

from __future__ import annotations

import re
from difflib import SequenceMatcher
from pathlib import Path
from typing import TYPE_CHECKING

from cs_metrics.errors import DataError
from cs_metrics.spec import did_you_mean
from cs_metrics.spec.models import ROLE_COLUMNS, Source

if TYPE_CHECKING:
    pass

if TYPE_CHECKING:
    pass


SYNONYMS = {
    "interval": ("billing_period", "billing_cycle", "billing_frequency", "frequency", "cycle"),
    "quantity": ("qty", "seats", "units", "licenses", "licences"),
    "end_date": ("ended_at", "canceled_at", "cancelled_at", "cancellation_date", "end"),
    "start_date": ("started_at", "start", "begin"),
    "account_id": ("customer_id", "client_id", "company_id", "account"),
    "amount": ("price", "mrr"),
}
# canonical columns whose absence changes amounts: 'billing_interval' is warned about
AFFIX_COLUMNS = (
    "account_id",
    "amount",
    "interval",
    "quantity",
    "discount",
    "currency",
    "start_date",
    "end_date",
    "period_start",
    "period_end",
    "line_type",
)


# ---- column names ------------------------------------------------------------------------
def normalise(name: str) -> str:
    """'Account ID', 'ACCOUNT_ID', 'accountId', 'account-id' -> 'account_id'."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name.strip().removeprefix("\ufeff"))
    return re.sub(r"[\s\-./_]+", "_", spaced.lower()).strip("_")


def _looks_like(norm: str, canonical: str) -> bool:
    if norm in SYNONYMS.get(canonical, ()):
        return True
    if canonical in AFFIX_COLUMNS and (
        norm.startswith(canonical + "_") or norm.endswith("_" + canonical)
    ):
        return True
    return len(norm) > 3 and SequenceMatcher(None, norm, canonical).ratio() >= 0.85


def _match_columns(
    path: Path, role: str, source: Source, header: list[str]
) -> tuple[dict[str, str], list[str]]:
    """file column -> canonical name (explicit mappings, then names equal but for case,
    spaces and punctuation), and notes on what was matched or looks like a missed column."""
    canon = ROLE_COLUMNS[role]
    rename: dict[str, str] = {}
    notes: list[str] = []
    # csm's own columns (__blank<n> for a blank header name, a preset's __p_ helpers) are
    # never matched or warned about
    real = [h for h in header if not h.startswith("__")]
    for canonical, column in source.columns.items():
        if column not in header:
            raise DataError(
                f"{path}: sources.{role}.columns maps {canonical} to column {column!r}, "
                f"but the file has no such column{did_you_mean(column, real)}; "
                f"its columns: {', '.join(real)}"
            )
        rename[column] = canonical
    targets = set(rename.values())
    matched: list[str] = []
    for canonical in canon:
        if canonical in targets or (canonical in header and canonical not in rename):
            continue
        hits = [h for h in real if h not in rename and h not in canon and normalise(h) == canonical]
        if len(hits) > 1:
            raise DataError(
                f"{path}: columns {' and '.join(map(repr, hits))} both look like {canonical}: "
                f"map one under sources.{role}.columns (e.g. {canonical}: {hits[0]})"
            )
        if hits:
            rename[hits[0]] = canonical
            matched.append(f"{hits[0]!r} as {canonical}")
    if matched:
        notes.append(f"{path}: using column {', '.join(matched)}")
    present = {rename.get(h, h) for h in header}
    unused = [h for h in real if h not in rename and h not in canon]
    for canonical, (_dtype, required) in canon.items():
        if canonical in present:
            continue
        near = [h for h in unused if _looks_like(normalise(h), canonical)]
        if required:
            hint = (
                f" (the file has {near[0]!r}: is it {canonical}?)"
                if near
                else did_you_mean(canonical, real)
            )
            raise DataError(
                f"{path}: the {role} source needs a column {canonical!r}{hint}: map it under "
                f"sources.{role}.columns (e.g. {canonical}: <column in the file>); "
                f"its columns: {', '.join(real)}"
            )
        for h in near:
            notes.append(
                f"{path}: column {h!r} looks like {canonical} but is not read as it: map it "
                f"(sources.{role}.columns: {{{canonical}: {h}}}) if it is"
            )
    return rename, notes
