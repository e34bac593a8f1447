"""The Spark session of ``--engine spark`` (docs/spark.md), kept out of the engine.

Where Spark runs, first match wins:

1. Spark Connect: ``engine_options: {remote: sc://host:15002}`` in the spec, else the
   ``SPARK_REMOTE`` environment variable (the cluster computes, this process only plans
   and receives the small results);
2. the active session, when csm is used as a library inside ``spark-submit`` or a notebook
   (``SparkSession.getActiveSession()``): csm uses it as it is and never stops it;
3. a local session, ``local[*]`` (``engine_options: {master: ...}`` to change it), started
   once per process with settings for small data (few shuffle partitions, no UI, no
   progress bar, adaptive execution, no PySpark DataFrame debugging) and the JVM's log
   lines off stderr unless ``--debug``.

pyspark is imported here only, lazily: ``csm --help`` and the other engines never pay for
it. A missing pyspark or Java is one :class:`UsageError` with the install command.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from cs_metrics.errors import UsageError

INSTALL_PYSPARK = "`uv sync --extra spark` (or `pip install 'csm[spark]'`)"
INSTALL_JAVA = "`apt-get install openjdk-17-jre-headless` (or set JAVA_HOME to a Java 17+)"

# Settings for a local session: the inputs csm lifts are small per step, and Spark's
# defaults (200 shuffle partitions, the UI) cost seconds per query on them.
LOCAL_CONF = {
    "spark.sql.shuffle.partitions": "4",
    "spark.default.parallelism": "4",
    "spark.sql.adaptive.enabled": "true",
    "spark.sql.adaptive.coalescePartitions.enabled": "true",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.session.timeZone": "UTC",
    "spark.driver.extraJavaOptions": "-Duser.timezone=UTC",
    "spark.executor.extraJavaOptions": "-Duser.timezone=UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.ansi.enabled": "false",
    # PySpark's DataFrame debugging records the Python call site of every Column and
    # DataFrame call in the JVM (five py4j round trips and a stack walk each: 13k calls for
    # the sample's whole spec). csm words Spark's errors itself, so its own session goes
    # without: the whole spec on the sample took 46 s instead of 56-59 s.
    "spark.python.sql.dataFrameDebugging.enabled": "false",
    # Spark's 1 GiB default ran out on the sample's whole spec (sources and shared steps
    # are kept on the one executor); engine_options.conf can set it otherwise
    "spark.driver.memory": "4g",
}
# Every session csm uses, its own or not: dates are UTC days as on the other engines.
SESSION_CONF = {"spark.sql.session.timeZone": "UTC"}


_OWN: Any = None  # the local session this process started (reused by every run)


def _import_pyspark() -> Any:
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise UsageError(
            f"--engine spark needs pyspark, which is not installed ({exc.name or exc}): "
            f"install it with {INSTALL_PYSPARK}"
        ) from None
    return SparkSession


def remote_url(options: Any = None) -> str | None:
    """The Spark Connect address, from the spec's engine_options or SPARK_REMOTE."""
    url = getattr(options, "remote", None) or os.environ.get("SPARK_REMOTE") or None
    return str(url) if url else None


def find_java() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return str(Path(home) / "bin" / "java")
    return shutil.which("java")


def session(options: Any = None, *, debug: bool | None = None) -> Any:
    """The Spark session csm computes on (see the module docstring for which one);
    ``options``: the spec's ``engine_options`` (remote, master, conf)."""
    debug = _debug() if debug is None else debug
    spark_session = _import_pyspark()
    if not debug:  # pyspark logs every failed query as a JSON line on stderr: --debug only
        import logging

        logging.getLogger("DataFrameQueryContextLogger").disabled = True
    url = remote_url(options)
    if url:
        return _connect(spark_session, url)
    active = spark_session.getActiveSession()
    if active is not None:
        _pin(active)
        return active
    master = getattr(options, "master", None) or "local[*]"
    return _local(spark_session, master, dict(getattr(options, "conf", None) or {}), debug)


def _debug() -> bool:
    from cs_metrics.output import debug_enabled

    return debug_enabled()


def _pin(spark: Any) -> None:
    for key, value in SESSION_CONF.items():
        spark.conf.set(key, value)


def _connect(spark_session: Any, url: str) -> Any:
    import warnings

    # The Connect client warns on every call about the pandas it was not yet tested with:
    # not the user's concern (csm does not use pandas; --debug shows them).
    if not _debug():
        warnings.filterwarnings(
            "ignore", message="PySpark does not yet fully support pandas", category=FutureWarning
        )
    try:
        spark = spark_session.builder.remote(url).getOrCreate()
    except ImportError as exc:  # the Connect client's own dependencies (grpcio, pandas ...)
        raise UsageError(
            f"Spark Connect ({url}) needs the pyspark Connect client, which cannot load "
            f"({exc}): install it with `pip install 'pyspark[connect]'`"
        ) from None
    except Exception as exc:
        raise UsageError(
            f"cannot reach Spark Connect at {url}: {_first_line(exc)} (check the address in "
            "SPARK_REMOTE or engine_options.remote, and that the server runs)"
        ) from None
    _pin(spark)
    return spark


def _local(spark_session: Any, master: str, conf: dict[str, str], debug: bool) -> Any:
    global _OWN
    if _OWN is not None and not _stopped(_OWN):
        return _OWN
    if find_java() is None:
        raise UsageError(
            f"--engine spark runs Spark locally ({master}), which needs Java 17 or later and "
            f"none was found: install it with {INSTALL_JAVA}; or use a cluster through "
            "Spark Connect (SPARK_REMOTE=sc://host:15002, docs/spark.md)"
        )
    from pyspark import SparkConf, SparkContext
    from pyspark.java_gateway import launch_gateway

    settings = {**LOCAL_CONF, **conf}
    spark_conf = SparkConf().setMaster(master).setAppName("csm").setAll(list(settings.items()))
    # The JVM writes its log (and start-up notes such as "Using incubator modules") to the
    # stdout/stderr it inherits: csm's own streams only with --debug.
    quiet = {} if debug else {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    try:
        gateway = launch_gateway(spark_conf, popen_kwargs=quiet)
        SparkContext(conf=spark_conf, gateway=gateway)
        spark = spark_session.builder.getOrCreate()
    except Exception as exc:  # the JVM did not start: Java too old, no memory ...
        raise UsageError(
            f"cannot start a local Spark session ({master}): {_first_line(exc)} (Spark needs "
            f"Java 17 or later: {INSTALL_JAVA}; run with --debug for the JVM's log)"
        ) from None
    if not debug:
        spark.sparkContext.setLogLevel("ERROR")
    _OWN = spark
    return spark


def _stopped(spark: Any) -> bool:
    try:
        return spark.sparkContext._jsc is None
    except Exception:
        return True


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def lift(spark: Any, lf: Any) -> Any:
    """A polars LazyFrame's rows as a Spark DataFrame (through Arrow).

    The stand-in reader: until sources are read by Spark itself, their polars-parsed rows
    go to Spark this way, as they go to DuckDB (one function, to swap for the native one).
    """
    import polars as pl

    df = lf.collect()
    casts = {
        name: (pl.Int64 if dtype.is_unsigned_integer() else pl.String)
        for name, dtype in df.schema.items()
        if dtype.is_unsigned_integer() or isinstance(dtype, pl.Categorical | pl.Enum)
    }
    if casts:  # types Arrow-to-Spark has no conversion for (a polars count is UInt32)
        df = df.cast(casts)
    return spark.createDataFrame(df.to_arrow())


def materialise(df: Any) -> Any:
    """The DataFrame computed now; later plans start from its rows, not its lineage.

    On the local session csm started, the driver is the only executor: the rows go
    through Arrow and back (a local relation, measured 3x faster than a checkpoint here).
    On a cluster (spark-submit, Connect) they stay there: ``localCheckpoint``, else cache.
    """
    if _OWN is not None and df.sparkSession is _OWN:
        return _OWN.createDataFrame(df.toArrow())
    try:
        return df.localCheckpoint(eager=True)
    except Exception:  # Spark Connect before 4.0, or a session that cannot checkpoint
        return df.cache()


def collect_all(frames: list[Any]) -> list[Any]:
    """Several Spark DataFrames as polars frames, in one Spark job: a run's result and its
    data notices (28 on the sample's spec) cost a job each otherwise, a second or so apiece
    on a local session. Each frame's rows go in a struct column of its own (the others
    null) of one union, so every column keeps its type; ``__i`` says whose a row is."""
    import polars as pl
    from pyspark.sql import functions as F

    schemas = [f.schema for f in frames]
    if len(frames) < 2 or any(not s.names for s in schemas):
        return [pl.from_arrow(f.toArrow()) for f in frames]
    from pyspark.sql.types import StructField, StructType

    # every field nullable: the other frames' rows hold a null struct
    types = [StructType([StructField(x.name, x.dataType, True) for x in s]) for s in schemas]
    branches = []
    for i, f in enumerate(frames):
        cols = [F.lit(i).alias("__i")]
        for j, kind in enumerate(types):
            if j == i:
                value = F.struct(*[F.col(f"`{c}`") for c in schemas[i].names]).cast(kind)
            else:
                value = F.lit(None).cast(kind)
            cols.append(value.alias(f"__n{j}"))
        branches.append(f.select(*cols))
    union = branches[0]
    for branch in branches[1:]:
        union = union.unionAll(branch)
    table = pl.from_arrow(union.toArrow())
    assert isinstance(table, pl.DataFrame)
    return [
        table.filter(pl.col("__i") == i).select(f"__n{i}").unnest(f"__n{i}")
        for i in range(len(frames))
    ]


def typed_rows(sc: Any) -> tuple[Any, Any]:
    """A source Spark read (``SparkScanned``): its bad values raised as the polars reader
    raises them, its frame checkpointed on the executors (later steps read it from there,
    not the files again), and a one-row polars frame of its row count ``n`` and first /
    last dates (cs_metrics.freshness)."""
    import polars as pl
    from pyspark.sql import functions as F

    from cs_metrics.freshness import FIRST, LAST, OPEN, dated_columns
    from cs_metrics.sources.spark import session_timestamps

    sc.check()
    frame = session_timestamps(with_rows(sc.frame, sc.files))
    try:  # computed once, and later plans start from its rows: Spark analyses a plan's whole
        # lineage at every step, and the reader's parsing expressions are large
        frame = frame.localCheckpoint(eager=True)
    except Exception:  # Spark Connect before 4.0, or a session that cannot checkpoint
        frame = frame.cache()
    aggs = [F.count(F.lit(1)).alias("n")]
    cols = dated_columns(sc.role, sc.columns)
    if cols:
        lows = [F.min(F.col(f"`{c}`")).cast("date") for c in cols]
        highs = [F.max(F.col(f"`{c}`")).cast("date") for c in cols]
        aggs.append((F.least(*lows) if len(lows) > 1 else lows[0]).alias(FIRST))
        aggs.append((F.greatest(*highs) if len(highs) > 1 else highs[0]).alias(LAST))
        if sc.role == "subscriptions":
            open_ended = (
                F.count(F.when(F.col("end_date").isNull(), 1))
                if "end_date" in cols
                else F.count(F.lit(1))
            )
            aggs.append(open_ended.cast("long").alias(OPEN))
    counted = pl.from_arrow(frame.agg(*aggs).toArrow())
    return frame, counted


def with_rows(frame: Any, files: list[str]) -> Any:
    """The frame with the polars reader's diagnostic columns: ``__file`` (the local path,
    or the URI) and ``__row``, the row's number in its file as the polars reader counts
    (CSV from 2, the header being row 1; Parquet from 1). Each CSV file is one Spark
    partition (multiLine), so the ids Spark gives in reading order number its rows."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    if "__row" in frame.columns:  # read by the polars reader and handed over: it has them
        return frame
    path = F.regexp_replace(F.input_file_name(), "^file:(//)?", "")
    local = {os.path.abspath(f): f for f in files if "://" not in f}
    if local:  # named as the polars reader names them (the spec's path, not Spark's URI)
        pairs = [F.lit(x) for kv in local.items() for x in kv]
        path = F.coalesce(F.try_element_at(F.create_map(*pairs), path), path)
    frame = frame.withColumn("__file", path).withColumn("__id", F.monotonically_increasing_id())
    first = F.when(F.lower(F.col("__file")).rlike(r"\\.(parquet|pq)$"), 0).otherwise(1)
    number = F.row_number().over(Window.partitionBy("__file").orderBy("__id")) + first
    return frame.withColumn("__row", number.cast("long")).drop("__id")
