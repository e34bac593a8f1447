"""The options several commands share, as ``Annotated`` types (one definition, one help text).

--quiet, --color/--no-color and --debug are here too, but commands do not declare them:
:func:`cs_metrics.cli.command.command` adds them to every command.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from cs_metrics.output import Output
    from cs_metrics.spec import Spec


def count(value: object) -> int:
    """A whole number of 1 or more (``parser=`` of --top, --horizon ...): the help shows "N",
    not Click's ``[x>=1]``, and a wrong value is named as such."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        try:
            number = int(str(value).strip())
        except ValueError:
            raise typer.BadParameter(f"{value!r} is not a whole number of 1 or more") from None
    if number < 1:
        raise typer.BadParameter(f"{number} is not a whole number of 1 or more")
    return number


SpecOpt = Annotated[
    Path | None,
    typer.Option(
        "--spec",
        metavar="PATH",
        help="metrics.yaml to use (default: $CSM_SPEC, else ./metrics.yaml)",
        show_default=False,
    ),
]
QuietOpt = Annotated[
    bool, typer.Option("--quiet", "-q", help="only data and errors: no warnings or progress")
]
ColorOpt = Annotated[
    bool | None,
    typer.Option(
        "--color/--no-color",
        help="force or disable colour (default: auto, NO_COLOR honoured)",
        show_default=False,
    ),
]
DebugOpt = Annotated[
    bool, typer.Option("--debug", help="show tracebacks of errors (also CSM_DEBUG=1)")
]
FormatOpt = Annotated[
    str,
    typer.Option(
        "--format",
        "-f",
        metavar="FORMAT",
        help="auto | table | csv | tsv | json | ndjson | markdown "
        "(auto: a table on a terminal, CSV when piped)",
    ),
]
OutputOpt = Annotated[
    str | None,
    typer.Option(
        "--output",
        "-o",
        metavar="FILE",
        help="write to FILE (.csv .tsv .json .ndjson .parquet .md .html .xlsx), "
        "atomically; - is stdout",
        show_default=False,
    ),
]
EngineOpt = Annotated[
    str | None,
    typer.Option(
        "--engine",
        metavar="ENGINE",
        help="polars | duckdb | spark (default: the spec's engine:, else polars; docs/spark.md)",
        show_default=False,
    ),
]
PeriodOpt = Annotated[
    str | None,
    typer.Option(
        "--period",
        "-p",
        metavar="PERIOD",
        help="2026-10, 2026-Q3, 2026, 2026-W41 or 2026-01-01..2026-03-15 "
        "(default: the last complete period)",
        show_default=False,
    ),
]
FromOpt = Annotated[
    str | None,
    typer.Option("--from", metavar="PERIOD", help="first period of a series", show_default=False),
]
ToOpt = Annotated[
    str | None,
    typer.Option(
        "--to",
        metavar="PERIOD",
        help="last period of a series (default: the last complete)",
        show_default=False,
    ),
]
GrainOpt = Annotated[
    str | None,
    typer.Option(
        "--grain",
        metavar="GRAIN",
        help="week | month | quarter | year (default: the spec's)",
        show_default=False,
    ),
]
AsOfOpt = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        metavar="DATE",
        help="the last day the data covers, YYYY-MM-DD (default: the spec's as_of, else yesterday)",
        show_default=False,
    ),
]
ByOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--by",
        "-b",
        metavar="DIM",
        help="split by a declared dimension, or 'account' (repeatable)",
        show_default=False,
    ),
]
PolicyOpt = Annotated[
    str | None,
    typer.Option(
        "--policy",
        metavar="POLICY",
        help="chartmogul | baremetrics | stripe | profitwell: the vendor definitions to follow "
        "(default: the spec's policy:, else chartmogul; docs/policies.md)",
        show_default=False,
    ),
]
LayoutOpt = Annotated[
    str | None,
    typer.Option(
        "--layout",
        metavar="LAYOUT",
        help="machine formats: long (default: period, metric, value, unit) | wide (one "
        "column per metric) | grid (metric rows x period columns, with labels); xlsx has a "
        "sheet of each, this one first",
        show_default=False,
    ),
]
TopOpt = Annotated[
    int | None,
    typer.Option("--top", metavar="N", parser=count, help="only the first N rows after sorting"),
]


def check_by(spec: Spec, by: list[str] | None) -> list[str]:
    """``--by`` names declared dimensions (or 'account'): a usage error (exit 2) otherwise,
    raised before any source is read."""
    from cs_metrics.errors import UsageError
    from cs_metrics.suggest import did_you_mean

    declared = ["account", *spec.model.dimensions]
    for d in by or []:
        if d not in declared:
            raise UsageError(
                f"--by {d}: no such dimension{did_you_mean(d, declared)}; declared: "
                f"{', '.join(declared)} (add it under dimensions: in {spec.path})"
            )
    return list(by or [])


def output_kind(out: Output, output: str | None, fmt: str) -> str:
    """The format to write (``--format`` and ``-o``'s extension), and ``-o FILE`` checked
    for writing — both before any work, so a typo or a read-only directory fails at once
    (exit 2 or 73) instead of after the computation."""
    from cs_metrics.atomic import check_writable
    from cs_metrics.formats import format_for_output

    kind = format_for_output(output, fmt, out.stdout_is_terminal)
    if output and output != "-":
        check_writable(Path(output))
    return kind
