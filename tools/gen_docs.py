"""Generate the reference docs from the code: `uv run python tools/gen_docs.py`.

docs/metrics.md (the metric catalogue), docs/cli.md (every command's help) and
docs/metrics.schema.json (the spec's JSON Schema). A test fails when a committed copy is
stale, so the docs cannot drift from the code.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent / "docs"


def metrics_md() -> str:
    from cs_metrics.catalogue import catalogue_frame, catalogue_markdown

    head = (
        "# Metric catalogue\n\n"
        "Generated from the code by `uv run python tools/gen_docs.py`; do not edit by hand.\n"
        "Definitions follow ../shared/METRICS.md; `csm metrics` prints the same table.\n\n"
        "Units: a currency code (the spec's `currency`), `ratio` (a fraction: 0.05 is 5 %), "
        "`count`, `days`, `hours`, `score`, `number`.\n"
        "A value that is undefined (a division by zero, no base) is null, with the reason kept "
        "for `csm explain`; it is never 0, NaN or infinity.\n\n"
    )
    return head + catalogue_markdown(catalogue_frame(None))


def cli_md() -> str:
    from typer.main import get_command

    from cs_metrics.cli import app

    group = get_command(app)
    ctx = group.make_context("csm", [], resilient_parsing=True)
    ctx.terminal_width = ctx.max_content_width = 100
    parts = [
        "# Command-line reference\n",
        "Generated from the code by `uv run python tools/gen_docs.py`; do not edit by hand.\n",
        "```text\n" + group.get_help(ctx).rstrip() + "\n```\n",
    ]
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        sub = cmd.make_context(name, [], parent=ctx, resilient_parsing=True)
        sub.terminal_width = sub.max_content_width = 100
        parts.append(f"## csm {name}\n\n```text\n{cmd.get_help(sub).rstrip()}\n```\n")
    return "\n".join(parts)


def schema_json() -> str:
    from cs_metrics.spec.models import json_schema

    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"


def generated() -> dict[Path, str]:
    return {
        DOCS / "metrics.md": metrics_md(),
        DOCS / "cli.md": cli_md(),
        DOCS / "metrics.schema.json": schema_json(),
    }


def main() -> int:
    DOCS.mkdir(exist_ok=True)
    for path, text in generated().items():
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(DOCS.parent)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
