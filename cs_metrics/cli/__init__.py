"""The command line: the ``csm`` Typer app and its commands, one module per command.

Each command module holds one function that parses its options, calls
:mod:`cs_metrics.api` and renders what comes back; :mod:`cs_metrics.cli.command` gives
every command --quiet, --color/--no-color, --debug and the error policy, and
:mod:`cs_metrics.cli.options` the options several commands share. This module only
builds the app and registers the commands (in the order ``csm --help`` lists them);
command modules never import it.
"""

from __future__ import annotations

import typer

from cs_metrics.cli import (
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

app.command("compute")(compute.compute)
app.command("validate")(validate.validate)
app.command("metrics")(metrics.metrics)
app.command("schema")(schema.schema)
app.command("sample")(sample.sample)
app.command("alerts")(alerts.alerts)
app.command("explain")(explain.explain)
app.command("cohorts")(cohorts.cohorts)
app.command("health")(health.health)
app.command("init")(init.init)
app.command("report")(report.report)
app.command("compare-policies")(compare_policies.compare_policies)


def main() -> None:
    app()


__all__ = ["app", "main"]
