"""Who an account is, for people: its ``name`` and its ``owner`` (the CSM), by account id.

The name is the accounts source's canonical ``name`` column; the owner is the ``csm``
dimension when the spec declares one (SQL over the account attributes, as
``customers_per_owner`` reads it), else an ``owner`` column of the accounts source. Either
is null when the spec has no such column (or no accounts source): the fields are always
there, so a file's layout does not depend on the data.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    from cs_metrics.spec import Spec

LABELS = ["name", "owner"]
SCHEMA = {"account": pl.String, "name": pl.String, "owner": pl.String}


def directory(spec: Spec) -> pl.DataFrame:
    """account, name, owner: one row per account id of the accounts source."""
    if "accounts" not in spec.model.sources:
        return pl.DataFrame(schema=SCHEMA)
    import narwhals.stable.v2 as nw

    from cs_metrics.expr import parse_expr
    from cs_metrics.sources.shared import shared_frame, shared_scan

    cols = set(shared_scan(spec, "accounts").columns)
    name = nw.col("name").cast(nw.String) if "name" in cols else nw.lit(None, nw.String)
    csm = spec.model.dimensions.get("csm")
    owner = nw.lit(None, nw.String)
    if csm is not None and set(parse_expr(csm).columns) <= cols:
        owner = parse_expr(csm).to_narwhals().cast(nw.String)
    elif "owner" in cols:
        owner = nw.col("owner").cast(nw.String)
    frame = (
        nw.from_native(shared_frame(spec, "accounts"))
        .select(
            nw.col("account_id").cast(nw.String).alias("account"),
            name.alias("name"),
            owner.alias("owner"),
        )
        .collect(backend="polars")
        .to_native()
    )
    return frame.filter(pl.col("account").is_not_null()).unique(
        "account", keep="first", maintain_order=True
    )


def with_people(
    frame: pl.DataFrame, people: pl.DataFrame, account: str = "account"
) -> pl.DataFrame:
    """``frame`` with ``name`` and ``owner`` right after its ``account`` column (replacing
    columns of those names), rows in the same order."""
    if account not in frame.columns:
        return frame
    base = frame.drop([c for c in LABELS if c in frame.columns])
    joined = base.join(
        people.rename({"account": account}),
        on=account,
        how="left",
        maintain_order="left",
    )
    cols = list(base.columns)
    i = cols.index(account) + 1
    return joined.select([*cols[:i], *LABELS, *cols[i:]])
