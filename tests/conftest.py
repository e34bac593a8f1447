"""Shared test helpers: build a spec and its CSVs in a temp dir, compute, read values."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import polars as pl
import pytest

from cs_metrics.api import compute_metrics
from cs_metrics.spec import Spec, load_spec

REPO = Path(__file__).resolve().parent.parent
PEERS = REPO.parent / "shared" / "peers"


def write_spec(folder: Path, spec_yaml: str, files: dict[str, str] | None = None) -> Path:
    """Write metrics.yaml and data files (dedented text) into folder; return the spec path."""
    for name, content in (files or {}).items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dedent(content).lstrip("\n"))
    spec_path = folder / "metrics.yaml"
    spec_path.write_text(dedent(spec_yaml).lstrip("\n"))
    return spec_path


@pytest.fixture
def make_spec(tmp_path: Path):
    """make_spec(yaml_text, {"subs.csv": "..."}) -> a loaded Spec in a fresh temp folder."""

    def make(spec_yaml: str, files: dict[str, str] | None = None) -> Spec:
        return load_spec(write_spec(tmp_path, spec_yaml, files))

    return make


def values(
    spec: Spec,
    metrics: list[str] | None = None,
    *,
    engine: str = "polars",
    by: list[str] | None = None,
    **period: str,
) -> pl.DataFrame:
    """Compute and return the long frame (period, dims..., metric, value, unit, previous, note)."""
    return compute_metrics(spec, metrics, by=by or [], engine=engine, **period).frame


def value(frame: pl.DataFrame, metric: str, period: str, **dims: str) -> float | None:
    """The one value of metric in period (and dimension values)."""
    f = frame.filter((pl.col("metric") == metric) & (pl.col("period") == period))
    for k, v in dims.items():
        f = f.filter(pl.col(k) == v)
    assert f.height == 1, f"expected one row for {metric} {period} {dims}, got {f.height}"
    return f["value"][0]


# Family tests take an ``engine`` argument through this mark. By default they run on polars
# only: engine parity is proven once per metric by tests/test_engines.py and the property
# tests. ``uv run pytest --engines=all`` (or CSM_TEST_ENGINES=all) runs them on every engine.
ENGINES = pytest.mark.engines


def pytest_addoption(parser):
    parser.addoption(
        "--engines",
        default=None,
        help="engines for family tests: 'polars' (default), 'all', or a comma list",
    )


ALL_ENGINES = ("polars", "duckdb")


def engines_under_test(config) -> list[str]:
    import os

    chosen = config.getoption("--engines") or os.environ.get("CSM_TEST_ENGINES") or "polars"
    return list(ALL_ENGINES) if chosen == "all" else chosen.split(",")


def pytest_configure(config):
    config.addinivalue_line("markers", "engines: run the test once per engine under test")


# The whole suite (`uv run pytest`, no paths, -k or -m) runs on one pytest-xdist worker per
# CPU; a run of chosen files or tests stays in one process (no workers to start), and `-n N`,
# `-n 0`, `--dist` and `-p no:xdist` always win. `--dist loadfile`: each test file runs in
# one worker, so a module-scoped fixture (a sample compute, a SparkSession) is built once.
# (`loadgroup` would do for the Spark files alone, but xdist 3.8 cannot group on pytest 9.2.)
@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config):
    if (
        config.pluginmanager.has_plugin("xdist")
        and not hasattr(config, "workerinput")  # a worker never starts workers of its own
        and config.args_source == pytest.Config.ArgsSource.TESTPATHS
        and not config.option.keyword  # -k / -m choose a few tests: one process
        and not config.option.markexpr
        and config.option.numprocesses is None
        and config.option.dist == "no"
        and not config.option.usepdb
    ):
        config.option.numprocesses = "logical"  # "auto" would count physical cores with psutil
        config.option.dist = "loadfile"
        config.option.loadscopereorder = False  # files in the order below, not by test count


# Both Spark files in one worker: one JVM (its start and JIT warm-up, ~20 s of CPU, and its
# 4 GiB heap) instead of one per worker; the other worker runs the rest meanwhile.
SPARK_FILES = ("test_spark.py", "test_spark_read.py")


@pytest.hookimpl(optionalhook=True)  # known only when xdist is loaded (not with -p no:xdist)
def pytest_xdist_make_scheduler(config, log):
    if config.option.dist != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class OneSparkWorker(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            scope = super()._split_scope(nodeid)
            return "spark" if Path(scope).name in SPARK_FILES else scope

    return OneSparkWorker(config, log)


# The files that take longest start first (Spark's JVM, real processes with signals and
# timeouts, hypothesis), so that no worker is left alone with one of them at the end; the
# others keep their order (and every file the order of its tests).
SLOW_FILES = (
    "test_spark.py",
    "test_spark_read.py",
    "test_signals.py",
    "test_fuzz.py",
    "test_properties.py",
    "test_report.py",
    "test_cli_frame.py",
    "test_engines.py",
    "test_expr.py",
)


def pytest_collection_modifyitems(config, items):
    rank = {name: i for i, name in enumerate(SLOW_FILES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


def pytest_generate_tests(metafunc):
    if "engine" in metafunc.fixturenames and metafunc.definition.get_closest_marker("engines"):
        metafunc.parametrize("engine", engines_under_test(metafunc.config))


def _rows(frame: pl.DataFrame, metric: str, period: str, **dims: str | None) -> pl.DataFrame:
    f = frame.filter((pl.col("metric") == metric) & (pl.col("period") == period))
    for k, v in dims.items():
        f = f.filter(pl.col(k).is_null() if v is None else pl.col(k) == v)
    assert f.height == 1, f"expected one row for {metric} {period} {dims}, got {f.height}"
    return f


def check(frame: pl.DataFrame, period: str, expected: dict[str, float | None], **dims: str):
    """Assert each metric's value in period; None means null (never NaN, never inf)."""
    import math

    for metric, want in expected.items():
        got = value(frame, metric, period, **dims)
        if want is None:
            assert got is None, f"{metric} {period} {dims}: expected null, got {got}"
        else:
            assert got is not None, f"{metric} {period} {dims}: expected {want}, got null"
            assert math.isfinite(got), f"{metric} {period} {dims}: {got}"
            assert got == pytest.approx(want, rel=1e-9, abs=1e-9), f"{metric} {period} {dims}"


def note(frame: pl.DataFrame, metric: str, period: str, **dims: str | None) -> str | None:
    """Why the metric's value is null (the `note` column), or None."""
    return _rows(frame, metric, period, **dims)["note"][0]


def revenue_types() -> list[str]:
    """Every metric type the revenue module registers (in registration order)."""
    from cs_metrics.metrics.registry import load_all

    return [
        n for n, mt in load_all().items() if mt.compute.__module__ == "cs_metrics.metrics.revenue"
    ]


def shown_number_format(sheet, cell) -> str:
    """The number format Excel shows ``cell`` (openpyxl) with: the first conditional format
    ``=$X2="unit"`` (per-row unit, see render.write_sheets) that matches the cell's row,
    else the cell's own format."""
    import re

    for rng in sheet.conditional_formatting:
        if cell.coordinate not in rng.sqref:
            continue
        for rule in rng.rules:
            m = re.fullmatch(r'\$([A-Z]+)(\d+)="(.*)"', rule.formula[0] if rule.formula else "")
            if m and rule.dxf is not None and rule.dxf.numFmt is not None:
                first = min(r.min_row for r in rng.sqref.ranges)
                unit = sheet[f"{m[1]}{int(m[2]) + cell.row - first}"].value
                if unit == m[3].replace('""', '"'):
                    return rule.dxf.numFmt.formatCode
    return cell.number_format
