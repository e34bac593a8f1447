"""The command line: thin commands that parse options, call the library, render.

Errors: every command runs inside :func:`_guarded`, which maps a :class:`CsmError` to one
message on stderr and its exit code (SPEC.md), Ctrl-C to 130 and anything else to 70,
with a traceback only under ``--debug`` / ``CSM_DEBUG=1`` (never with local variables).
"""

from __future__ import annotations

import functools
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from cs_metrics.errors import CsmError, ExitCode
from cs_metrics.output import Output, debug_enabled

app = typer.Typer(
    name="csm",
    help="Customer-success metrics from billing, support, survey and product-analytics exports.\n\n"
    "Example: csm compute mrr nrr --from 2026-01 --to 2026-10",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

F = TypeVar("F", bound=Callable[..., Any])

# ---- options shared by commands ----------------------------------------------------------
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
    str, typer.Option("--engine", metavar="ENGINE", help="polars (default) | duckdb")
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


def _guarded(fn: F) -> F:
    """Run a command with the one error policy."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        out = Output(quiet=kwargs.get("quiet", False), color=kwargs.get("color"))
        debug = debug_enabled(kwargs.get("debug", False))
        try:
            return fn(*args, out=out, **kwargs)
        except typer.Exit:
            raise
        except CsmError as exc:
            if debug:
                traceback.print_exc()
            out.error(exc.render())
            raise typer.Exit(int(exc.exit_code)) from None
        except KeyboardInterrupt:
            out.error("interrupted")
            raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
        except BrokenPipeError:
            sys.stderr.close()
            raise typer.Exit(0) from None
        except Exception as exc:
            if debug:
                traceback.print_exc()
            else:
                out.error(
                    f"internal error: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''} "
                    "(run with --debug for the traceback, and please report it)"
                )
            raise typer.Exit(int(ExitCode.INTERNAL)) from None

    # typer reads the signature: hide the injected `out` parameter
    import inspect

    sig = inspect.signature(fn, eval_str=True)
    wrapper.__signature__ = sig.replace(
        parameters=[p for p in sig.parameters.values() if p.name != "out"]
    )  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


def _emit(out: Output, result: Any, fmt: str, output: str | None, wide: bool) -> None:
    """Send a MetricResult to stdout or a file, in the chosen format."""
    from cs_metrics import render

    for w in result.warnings:
        out.warn(w)
    kind = render.format_for_output(output, fmt, out.stdout_is_terminal)
    if output and output != "-":
        render.write_file(result, Path(output), kind, wide=wide)
        out.info(f"wrote {output}")
    elif kind == "table":
        render.render_table(result, out.out)
    else:
        out.data(render.render_text(result, kind, wide=wide))


# ---- commands ----------------------------------------------------------------------------
@app.command()
@_guarded
def compute(
    metrics: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="METRIC",
            help="metrics to compute (default: all in the spec)",
            show_default=False,
        ),
    ] = None,
    spec: SpecOpt = None,
    period: PeriodOpt = None,
    from_: FromOpt = None,
    to: ToOpt = None,
    grain: GrainOpt = None,
    as_of: AsOfOpt = None,
    trend: Annotated[
        int | None,
        typer.Option(
            "--trend",
            metavar="N",
            help="the last N periods, ending at the last complete one (or --to); "
            "tables show a sparkline per metric",
            show_default=False,
        ),
    ] = None,
    by: ByOpt = None,
    engine: EngineOpt = "polars",
    fmt: FormatOpt = "auto",
    wide: Annotated[
        bool, typer.Option("--wide", help="one column per metric (machine formats)")
    ] = False,
    output: OutputOpt = None,
    quiet: QuietOpt = False,
    color: ColorOpt = None,
    debug: DebugOpt = False,
    *,
    out: Output,
) -> None:
    """Compute metrics for a period (default: the last complete one) or a series.

    Example: csm compute mrr customer_churn_rate nrr --from 2026-01 --to 2026-10 --by plan

    Example: csm compute mrr nrr --trend 12
    """
    from cs_metrics.api import compute_metrics
    from cs_metrics.spec import load_spec

    loaded = load_spec(spec)
    result = compute_metrics(
        loaded,
        metrics,
        period=period,
        start=from_,
        end=to,
        grain=grain,
        as_of=as_of,
        by=by or [],
        engine=engine,
        trend=trend,
    )
    _emit(out, result, fmt, output, wide)


@app.command()
@_guarded
def validate(
    spec: SpecOpt = None,
    quiet: QuietOpt = False,
    color: ColorOpt = None,
    debug: DebugOpt = False,
    *,
    out: Output,
) -> None:
    """Check the spec and every source; report data-quality findings with file and row.

    Exits 0 when only warnings were found, 65 on invalid data, 78 on an invalid spec.

    Example: csm validate --spec metrics.yaml
    """
    from cs_metrics.spec import load_spec
    from cs_metrics.validate import validate_sources

    loaded = load_spec(spec)
    for w in loaded.warnings:
        out.warn(w.describe())
    report = validate_sources(loaded)
    for line in report.lines():
        out.info(line)
    for w in report.warnings:
        out.warn(w.describe())
    if report.errors:
        n = len(report.errors)
        raise CsmError(
            f"{n} problem{'s' if n > 1 else ''} in the sources", report.exit_code, report.errors
        )
    out.info(f"ok: {loaded.path} and {len(report.sources)} source(s) are valid")


@app.command("metrics")
@_guarded
def metrics_cmd(
    spec: SpecOpt = None,
    fmt: FormatOpt = "auto",
    quiet: QuietOpt = False,
    color: ColorOpt = None,
    debug: DebugOpt = False,
    *,
    out: Output,
) -> None:
    """List every built-in metric type with its formula, unit and required sources,
    and the metrics your spec defines.

    Example: csm metrics --format markdown
    """
    from cs_metrics.catalogue import catalogue_frame, render_catalogue
    from cs_metrics.errors import InputMissingError
    from cs_metrics.spec import find_spec, load_spec

    try:
        path = find_spec(spec)
    except InputMissingError:
        if spec:
            raise
        path = None  # the built-in catalogue needs no spec
    frame = catalogue_frame(load_spec(path) if path else None)
    render_catalogue(frame, fmt, out)


@app.command()
@_guarded
def schema(
    quiet: QuietOpt = False,
    color: ColorOpt = None,
    debug: DebugOpt = False,
    *,
    out: Output,
) -> None:
    """Print the JSON Schema of metrics.yaml (for editor autocompletion).

    Example: csm schema > metrics.schema.json
    """
    import json

    from cs_metrics.spec.models import json_schema

    out.data(json.dumps(json_schema(), indent=2, sort_keys=True))


@app.command()
@_guarded
def sample(
    output: Annotated[
        Path, typer.Option("--output", "-o", help="directory to write the exports into")
    ] = Path("sample_data"),
    accounts: Annotated[int, typer.Option("--accounts", min=1, help="number of accounts")] = 300,
    months: Annotated[int, typer.Option("--months", min=1, help="months of history")] = 24,
    seed: Annotated[int, typer.Option("--seed", help="random seed (same seed, same files)")] = 7,
    end: Annotated[
        str | None,
        typer.Option("--end", help="last day of the data (default 2026-10-31)", show_default=False),
    ] = None,
    quiet: QuietOpt = False,
    color: ColorOpt = None,
    debug: DebugOpt = False,
    *,
    out: Output,
) -> None:
    """Generate realistic, seeded sample exports for every source role.

    Example: csm sample --accounts 50000 --months 36 --seed 1 -o /tmp/big
    """
    from datetime import date

    from cs_metrics.errors import OutputError, UsageError
    from cs_metrics.sample import generate

    kwargs: dict[str, Any] = {"accounts": accounts, "months": months, "seed": seed}
    if end:
        try:
            kwargs["end"] = date.fromisoformat(end)
        except ValueError:
            raise UsageError(f"--end {end!r} is not a date: write YYYY-MM-DD") from None
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create {output}: {exc.strerror}") from None
    written = generate(output, **kwargs)
    n = sum(len(v) for v in written.values())
    out.info(f"wrote {n} files for {len(written)} source roles to {output}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()


# commands that live in their own modules register themselves on `app`
from cs_metrics import cli_alerts, cli_cohorts, cli_health, cli_init, cli_report  # noqa: E402, F401
