"""The README's example spec works as shown (README.md must stay true to the code)."""

from __future__ import annotations

import re

import pytest
from conftest import REPO, value, values, write_spec

from cs_metrics.spec import load_spec


def readme_spec() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", text, re.S)
    assert blocks, "README.md has no yaml example"
    return blocks[0]


def test_readme_example_spec_computes(tmp_path):
    path = write_spec(
        tmp_path,
        readme_spec(),
        {
            "exports/subscriptions.csv": """
            customer,started_at,ended_at,price,plan_name
            a,2026-01-01,,100,enterprise
            b,2026-02-01,,50,pro
        """,
        },
    )
    f = values(load_spec(path), period="2026-03")
    # every metric of the example is output, and only those (not a formula's inputs)
    assert list(dict.fromkeys(f["metric"])) == list(load_spec(path).model.metrics)
    assert value(f, "mrr", "2026-03") == pytest.approx(100 + 50)
    assert value(f, "enterprise_mrr", "2026-03") == pytest.approx(100)
    assert value(f, "logo_churn", "2026-03") == pytest.approx(0 / 2)


def _tour_commands() -> list[list[str]]:
    import shlex

    text = (REPO / "README.md").read_text(encoding="utf-8")
    out = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        for line in block.splitlines():
            if not line.startswith("uv run csm "):
                continue
            words = shlex.split(line.split(" #")[0])
            words = words[: words.index(">")] if ">" in words else words
            out.append(words[3:])
    return out


@pytest.mark.parametrize("args", _tour_commands(), ids=lambda a: " ".join(a))
def test_readme_commands_parse(args):
    """Every `uv run csm ...` line of the README names a real command and real options
    (parsed without running: a renamed option fails here)."""
    import typer.main

    from cs_metrics.cli import app

    group = typer.main.get_command(app)
    name, *rest = args
    cmd = group.commands.get(name)  # type: ignore[attr-defined]
    assert cmd is not None, f"README names `csm {name}`, which does not exist"
    cmd.make_context(name, rest)
