"""The metric catalogue (`csm metrics`, docs/metrics.md): generated from the registry."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from cs_metrics.errors import UsageError
from cs_metrics.metrics.registry import FAMILIES, load_all, unit_of

if TYPE_CHECKING:
    import polars as pl

    from cs_metrics.spec import Spec


def catalogue_frame(spec: Spec | None = None) -> pl.DataFrame:
    """One row per built-in metric type, then one per metric the spec defines."""
    import polars as pl

    registry = load_all()
    rows: list[dict[str, Any]] = []
    for mt in sorted(registry.values(), key=lambda m: (FAMILIES.index(m.family), m.name)):
        rows.append(
            {
                "metric": mt.name,
                "type": mt.name,
                "family": mt.family,
                "unit": unit_of(mt, {}),
                "sources": ", ".join(r.replace("|", " or ") for r in mt.requires) or "any",
                "formula": mt.formula,
                "options": ", ".join(mt.options),
                "defined_in": "built-in",
            }
        )
    if spec is not None:
        for name, m in spec.model.metrics.items():
            mt = registry[m.type]
            opts = m.model_dump(exclude={"type", "label", "description"}, exclude_none=True)
            formula = m.expr if m.type == "formula" else mt.formula
            if m.filter:
                formula += f" [filter: {m.filter}]"
            rows.append(
                {
                    "metric": name,
                    "type": m.type,
                    "family": mt.family,
                    "unit": unit_of(mt, opts),
                    "sources": ", ".join(r.replace("|", " or ") for r in mt.requires)
                    or str(opts.get("source", "metrics")),
                    "formula": formula,
                    "options": ", ".join(f"{k}={v}" for k, v in opts.items() if k != "filter"),
                    "defined_in": str(spec.path),
                }
            )
    return pl.DataFrame(rows)


def catalogue_text(frame: pl.DataFrame, kind: str) -> str:
    """The catalogue as csv, tsv, json, ndjson or markdown text (tables: cs_metrics.render.terminal)."""
    if kind in ("csv", "tsv"):
        return frame.write_csv(separator="," if kind == "csv" else "\t")
    if kind == "json":
        return json.dumps(frame.to_dicts(), indent=2)
    if kind == "ndjson":
        return "\n".join(json.dumps(r) for r in frame.to_dicts())
    if kind == "markdown":
        return catalogue_markdown(frame)
    raise UsageError(f"--format {kind!r}: use auto, table, csv, tsv, json, ndjson or markdown")


def catalogue_markdown(frame: pl.DataFrame) -> str:
    lines = []
    for family in FAMILIES:
        part = frame.filter((frame["family"] == family) & (frame["defined_in"] == "built-in"))
        if part.height == 0:
            continue
        lines += [
            f"### {family.capitalize()}",
            "",
            "| metric | unit | sources | formula | options |",
            "|---|---|---|---|---|",
        ]
        for r in part.iter_rows(named=True):
            cells = [f"`{r['metric']}`", r["unit"], r["sources"], r["formula"], r["options"]]
            lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
        lines.append("")
    return "\n".join(lines)
