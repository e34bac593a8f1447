"""``csm init [DIR]``: scaffold a working project (cs_metrics.scaffold does the writing)."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated

import typer

from cs_metrics import api
from cs_metrics.cli.command import command
from cs_metrics.output import Output
from cs_metrics.scaffold import SAMPLE_DIR, SPEC_NAME


@command
def init(
    directory: Annotated[
        Path,
        typer.Argument(metavar="DIR", help="where to scaffold (created if missing)"),
    ] = Path("."),
    force: Annotated[
        bool, typer.Option("--force", help="overwrite existing files (sample_data/ is replaced)")
    ] = False,
    no_sample: Annotated[
        bool,
        typer.Option("--no-sample", help="write the spec only, without sample_data/"),
    ] = False,
    *,
    out: Output,
) -> None:
    """Scaffold metrics.yaml (with commented examples), its JSON Schema and sample data.

    Refuses to overwrite anything unless --force (exit 73).

    Example: csm init my-metrics && cd my-metrics && csm compute
    """
    done = api.init(directory, force=force, sample=not no_sample)
    for path in done.written:
        if path.name == SAMPLE_DIR:
            out.info(f"wrote {path}/ ({done.sample_files} sample export files)")
        else:
            out.info(f"wrote {path}")
    if no_sample:
        out.info(
            f"note: {SPEC_NAME}'s sources still point at ./{SAMPLE_DIR}/, which --no-sample did "
            f"not write: edit sources: to point at your exports, or run "
            f"`csm sample -o {shlex.quote(str(directory / SAMPLE_DIR))}`"
        )
    out.info("next:")
    if _is_cwd(directory):
        out.info("  csm compute")
    else:
        out.info(f"  cd {shlex.quote(str(directory))} && csm compute")
    out.info("  csm validate")


def _is_cwd(directory: Path) -> bool:
    try:
        return directory.resolve() == Path.cwd().resolve()
    except OSError:
        return False
