"""``csm sample``: seeded sample exports for every source role."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated

import typer

from cs_metrics import api
from cs_metrics.cli.command import command
from cs_metrics.cli.options import count
from cs_metrics.output import Output
from cs_metrics.scaffold import SPEC_NAME


@command
def sample(
    output: Annotated[
        Path,
        typer.Option("--output", "-o", metavar="DIR", help="directory to write the exports into"),
    ] = Path("sample_data"),
    accounts: Annotated[
        int, typer.Option("--accounts", metavar="N", parser=count, help="number of accounts")
    ] = 300,
    months: Annotated[
        int, typer.Option("--months", metavar="N", parser=count, help="months of history")
    ] = 24,
    seed: Annotated[
        int, typer.Option("--seed", metavar="N", help="random seed (same seed, same files)")
    ] = 7,
    end: Annotated[
        str | None,
        typer.Option(
            "--end",
            metavar="DATE",
            help="last day of the data (default 2026-10-31)",
            show_default=False,
        ),
    ] = None,
    *,
    out: Output,
) -> None:
    """Generate realistic, seeded sample exports for every source role, and a metrics.yaml
    that reads them (the `csm init` template; an existing metrics.yaml is kept).

    Example: csm sample --accounts 50000 --months 36 --seed 1 -o /tmp/big
    """
    out.stage(f"writing sample exports to {output}")
    written = api.sample(output, accounts=accounts, months=months, seed=seed, end=end)
    out.done()
    n = sum(len(v) for v in written.values())
    out.info(f"wrote {n} files for {len(written)} source roles to {output}")
    spec = api.sample_spec(output, end=end)
    if spec is None:
        out.info(f"kept the existing {output / SPEC_NAME}")
    else:
        out.info(f"wrote {spec}; next: csm compute --spec {shlex.quote(str(spec))}")
