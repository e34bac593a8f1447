"""The Spark reader (cs_metrics/sources/spark.py) gives the polars reader's frames.

For every source of the bundled sample and a range of hand-made files, the frame Spark
reads itself, collected, equals the polars reader's frame (same columns, types and
values); bad values give the polars reader's error. One local session for the module.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest
import yaml
from polars.testing import assert_frame_equal

from conftest import REPO
from cs_metrics.errors import CsmError, DataError, UsageError
from cs_metrics.sources import scan_source
from cs_metrics.spec.models import Source

pyspark = pytest.importorskip("pyspark", reason="pyspark is not installed: uv sync --extra spark")
if shutil.which("java") is None:
    pytest.skip("Spark needs Java (apt-get install openjdk-17-jre-headless)", allow_module_level=True)

from cs_metrics.sources.spark import read_source  # noqa: E402

SAMPLE = yaml.safe_load((REPO / "sample_data" / "SOURCES.yaml").read_text())["sources"]


@pytest.fixture(scope="module")
def spark():
    from pyspark.sql import SparkSession

    try:
        from cs_metrics.spark import session  # the engine's session, when on this branch

        return session()
    except ImportError:
        pass
    s = (
        SparkSession.builder.master("local[2]")
        .appName("csm-tests")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.adaptive.enabled", "true")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    s.sparkContext.setLogLevel("OFF")
    return s


def collected(frame) -> pl.DataFrame:
    return pl.from_arrow(frame.toArrow())


def polars_read(spec_dir: Path, role: str, source: Source) -> pl.DataFrame:
    sc = scan_source(spec_dir, role, source)
    return sc.frame.select(sc.columns).collect()


def same(spark, spec_dir: Path, role: str, source: Source, *, native: bool = True):
    """The Spark-read frame equals the polars reader's (rows in any order)."""
    sc = read_source(spark, spec_dir, role, source)
    if native:
        assert sc.fallback is None, sc.fallback
    want = polars_read(spec_dir, role, source)
    got = collected(sc.frame)
    assert got.columns == want.columns
    assert dict(got.schema) == dict(want.schema)
    order = [c for c, t in want.schema.items() if t != pl.Object]
    assert_frame_equal(got.sort(order, nulls_last=True), want.sort(order, nulls_last=True))
    assert sc.columns == scan_source(spec_dir, role, source).columns
    sc.check()
    return sc


@pytest.mark.parametrize("role", list(SAMPLE))
def test_every_sample_source_reads_as_on_polars(spark, role):
    same(spark, REPO, role, Source.model_validate(SAMPLE[role]))
