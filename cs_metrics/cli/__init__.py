"""The command line: the ``csm`` Typer app and its commands, one module per command.

Each command module holds one function that parses its options, calls
:mod:`cs_metrics.api` and renders what comes back; :mod:`cs_metrics.cli.command` gives
every command --quiet, --color/--no-color, --debug and the error policy, and
:mod:`cs_metrics.cli.options` the options several commands share. This module only
builds the app and registers the commands (in the order ``csm --help`` lists them);
command modules never import it.
"""

from __future__ import annotations

from typing import Annotated

from cs_metrics import interrupts as _signals

_signals.startup()  # first: a Ctrl-C while the rest imports is an interrupt, not a traceback

import typer  # noqa: E402

from cs_metrics.cli import (  # noqa: E402
    alerts,
    cohorts,
    compare_policies,
    compute,
    explain,
    health,
    init,
    metrics,
    report,
    sample,
    schema,
    validate,
)
from cs_metrics.cli.command import CsmCommand, CsmGroup  # noqa: E402

app = typer.Typer(
    cls=CsmGroup,
    name="csm",
    help="Customer-success metrics from billing, support, survey and product-analytics exports.\n\n"
    "Example: csm compute mrr nrr --from 2026-01 --to 2026-10",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from cs_metrics import __version__

        print(f"csm {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", "-V", help="print the version and exit", is_eager=True, callback=_version
        ),
    ] = False,
) -> None:
    """Customer-success metrics from billing, support, survey and product-analytics exports.

    Example: csm compute mrr nrr --from 2026-01 --to 2026-10
    """


app.command("compute", cls=CsmCommand)(compute.compute)
app.command("validate", cls=CsmCommand)(validate.validate)
app.command("metrics", cls=CsmCommand)(metrics.metrics)
app.command("schema", cls=CsmCommand)(schema.schema)
app.command("sample", cls=CsmCommand)(sample.sample)
app.command("alerts", cls=CsmCommand)(alerts.alerts)
app.command("explain", cls=CsmCommand)(explain.explain)
app.command("cohorts", cls=CsmCommand)(cohorts.cohorts)
app.command("health", cls=CsmCommand)(health.health)
app.command("init", cls=CsmCommand)(init.init)
app.command("report", cls=CsmCommand)(report.report)
app.command("compare-policies", cls=CsmCommand)(compare_policies.compare_policies)


def main() -> None:
    app()


__all__ = ["app", "main"]
