"""``csm schema``: the JSON Schema of metrics.yaml."""

from __future__ import annotations

from cs_metrics import api
from cs_metrics.cli.command import command
from cs_metrics.output import Output


@command
def schema(*, out: Output) -> None:
    """Print the JSON Schema of metrics.yaml (for editor autocompletion).

    Example: csm schema > metrics.schema.json
    """
    out.data(api.schema_text())
