"""The metric author API (cs_metrics.metrics.base) and the registry's order.

Families are written against ``metrics.base.Context``; the engine's Context must offer
exactly what it describes, and the families must not reach around it (into the engine,
the spec or health), or the import arrows would point both ways again.
"""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
from pathlib import Path

from conftest import REPO

from cs_metrics import engine
from cs_metrics.metrics import base
from cs_metrics.periods import parse_period
from cs_metrics.spec import load_spec

METRICS = REPO / "cs_metrics" / "metrics"
# what a family module may import from cs_metrics (besides itself)
ALLOWED = {
    "cs_metrics.metrics.base",
    "cs_metrics.metrics.common",
    "cs_metrics.metrics.mrr",
    "cs_metrics.metrics.policy",  # the definition options the MRR model applies
    "cs_metrics.expr",
    "cs_metrics.periods",
    "cs_metrics.errors",
    "cs_metrics.suggest",  # "did you mean", beside errors at the bottom
}
NOT_FAMILIES = {"base", "common", "mrr", "policy", "registry"}


def _imports(path: Path) -> set[str]:
    """cs_metrics modules a file imports, inside functions too (not `if TYPE_CHECKING:`)."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            return
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("cs_metrics"):
            found.add(node.module or "")
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("cs_metrics"))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text()))
    return found


def test_families_import_only_the_author_api():
    families = [p for p in sorted(METRICS.glob("*.py")) if p.stem not in NOT_FAMILIES]
    assert len(families) >= 9
    for path in [*families, METRICS / "mrr.py", METRICS / "common.py", METRICS / "base.py"]:
        wrong = _imports(path) - ALLOWED
        assert not wrong, f"{path.name} imports {sorted(wrong)}: use cs_metrics.metrics.base"


def test_every_family_is_listed_in_load_all():
    source = (METRICS / "registry.py").read_text()
    for path in METRICS.glob("*.py"):
        if path.stem not in NOT_FAMILIES:
            assert path.stem in source, f"{path.name} is not loaded by registry.load_all"


def test_the_engine_context_implements_the_author_api():
    spec = load_spec(REPO / "metrics.yaml")
    period = parse_period("2026-10")
    ctx = engine.Context(spec, base.Calendar([period.previous(), period]), [], "polars")
    assert isinstance(ctx, base.Context)
    methods = [n for n, v in vars(base.Context).items() if inspect.isfunction(v) and n[0] != "_"]
    assert "health_scores" in methods and "filtered" in methods
    for name in methods:
        want = list(inspect.signature(getattr(base.Context, name)).parameters)
        have = list(inspect.signature(getattr(engine.Context, name)).parameters)
        if isinstance(inspect.getattr_static(engine.Context, name), staticmethod):
            have = ["self", *have]
        assert have == want, f"engine.Context.{name}{have} differs from the author API's {want}"


def test_old_paths_still_give_the_author_api():
    assert engine.MetricRequest is base.MetricRequest
    assert engine.Unavailable is base.Unavailable
    assert engine.ratio is base.ratio
    assert engine.EPS == base.EPS


def test_registry_order_does_not_depend_on_which_family_is_imported_first():
    """The catalogue (`csm metrics`, docs/metrics.md) lists revenue first, then acquisition
    ...: the explicit order of load_all, even when another family was imported earlier."""
    code = (
        "import cs_metrics.metrics.usage, cs_metrics.metrics.team; "
        "from cs_metrics.metrics.registry import load_all; "
        "mods = [m.compute.__module__.rsplit('.', 1)[1] for m in load_all().values()]; "
        "print(','.join(dict.fromkeys(mods)), list(load_all())[0])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    ).stdout.split()
    assert out[0] == "revenue,acquisition,generic,orders,portfolio,sentiment,support,team,usage"
    assert out[1] == "mrr"
