"""``csm validate``: check the spec and every source, report findings with file and row."""

from __future__ import annotations

from cs_metrics import api
from cs_metrics.cli.command import command
from cs_metrics.cli.options import SpecOpt
from cs_metrics.errors import CsmError
from cs_metrics.output import Output


@command
def validate(spec: SpecOpt = None, *, out: Output) -> None:
    """Check the spec and every source; report data-quality findings with file and row.

    Exits 0 when only warnings were found, 65 on invalid data, 78 on an invalid spec.

    Example: csm validate --spec metrics.yaml
    """
    loaded = api.load_spec(spec)
    for w in loaded.warnings:
        out.warn(w.describe())
    out.stage("reading and checking sources")
    report = api.validate(loaded)
    out.done()
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
