"""``csm metrics``: the catalogue of metric types, and the metrics the spec defines."""

from __future__ import annotations

from cs_metrics import api
from cs_metrics.catalogue import catalogue_text
from cs_metrics.cli.command import command
from cs_metrics.cli.options import FormatOpt, SpecOpt
from cs_metrics.output import Output


@command
def metrics(spec: SpecOpt = None, fmt: FormatOpt = "auto", *, out: Output) -> None:
    """List every built-in metric type with its formula, unit and required sources,
    and the metrics your spec defines.

    Example: csm metrics --format markdown
    """
    frame = api.catalogue(spec)
    kind = fmt if fmt != "auto" else ("table" if out.stdout_is_terminal else "csv")
    if kind == "table":
        from cs_metrics.render import terminal  # polars: not at `csm --help`

        terminal.catalogue_tables(frame, out.out)
    else:
        out.data(catalogue_text(frame, kind))
