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
from conftest import REPO
from polars.testing import assert_frame_equal

from cs_metrics.errors import CsmError, DataError, UsageError
from cs_metrics.sources import scan_source
from cs_metrics.spec.models import Source

pyspark = pytest.importorskip("pyspark", reason="pyspark is not installed: uv sync --extra spark")
if shutil.which("java") is None:
    pytest.skip(
        "Spark needs Java (apt-get install openjdk-17-jre-headless)", allow_module_level=True
    )

from cs_metrics.sources.spark import read_source  # noqa: E402

SAMPLE = yaml.safe_load((REPO / "sample_data" / "SOURCES.yaml").read_text())["sources"]


@pytest.fixture(scope="module")
def spark():
    from pyspark.sql import SparkSession

    try:
        from helpers import spark_test_session  # the engine's session (small-data settings)

        return spark_test_session()
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


# ---- hand-made files: both readers agree, value for value and error for error --------------
def polars_outcome(spec_dir: Path, role: str, source: Source):
    """(frame, None) or (None, the error) as the polars engine reads the source."""
    from cs_metrics.sources import explain_read_error, raise_for_checks

    try:
        sc = scan_source(spec_dir, role, source)
        try:
            rows, *bad = pl.collect_all([sc.frame.select(sc.columns), *sc.checks])
        except pl.exceptions.PolarsError as exc:
            raise explain_read_error([sc], exc) from None
        if bad:
            raise_for_checks(pl.concat(bad))
    except CsmError as err:
        return None, err
    return rows, None


def spark_outcome(spark, spec_dir: Path, role: str, source: Source):
    try:
        sc = read_source(spark, spec_dir, role, source)
        sc.check()
    except CsmError as err:
        return None, err, None
    frame = collected(sc.frame)  # a fallback read keeps __file and __row (the engine's)
    return frame.select(c for c in frame.columns if not c.startswith("__")), None, sc


def shown(err: CsmError) -> tuple:
    return type(err), err.message, [(p.message, p.location) for p in err.problems]


def agree(spark, folder: Path, role: str, source: dict, files: dict, *, native: bool = True):
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        elif isinstance(content, pl.DataFrame):
            content.write_parquet(path)
        else:
            path.write_text(content, encoding="utf-8")
    src = Source.model_validate(source)
    want, want_err = polars_outcome(folder, role, src)
    got, got_err, sc = spark_outcome(spark, folder, role, src)
    if want_err is not None or got_err is not None:
        assert got_err is not None, f"Spark read it; polars said {want_err.message}"
        assert want_err is not None, f"polars read it; Spark said {got_err.message}"
        assert shown(got_err) == shown(want_err)
        return want_err
    if native:
        assert sc.fallback is None, sc.fallback
    assert got.columns == want.columns
    assert dict(got.schema) == dict(want.schema)
    order = list(want.columns)
    assert_frame_equal(got.sort(order, nulls_last=True), want.sort(order, nulls_last=True))
    assert sc.warnings == scan_source(folder, role, src).warnings
    return sc


SUBS = "account_id,start_date,end_date,amount,interval,plan\n"
DATES = [
    "2024-01-05",
    "2024-1-5",
    " 2024-01-05 ",
    "2024-01-05 10:00:00",
    "2024-01-05T10:00",
    "2024-01-05 7:05",
    "2024-01-05T10:00:00+01:00",
    "2024-01-05T23:30:00-05:00",  # the next day in UTC
    "2024-01-05 10:00:00.123456789Z",
    "2024-01-05T10:00:59.5+0100",
    "2024-01-05T10:00:00 Z",
    "2024-01-05T10:00:60",  # a leap second: the next minute, as chrono reads it
]
AMOUNTS = ["1", "+1", ".5", "5.", "1e3", "$1,234.56", "€5", "5 €", "-$5", "1,234.56", "00012", "7"]
INTERVALS = [
    "month",
    "Year",
    " quarterly ",
    "",
    "3",
    "week",
    "annual",
    "day",
    "2.5",
    "MONTHLY",
    "yearly",
    "1",
]


def mixed_file() -> str:
    rows = [
        f'a{i},"{d}",,"{a}",{iv},p{i % 3}'
        for i, (d, a, iv) in enumerate(zip(DATES, AMOUNTS, INTERVALS, strict=True))
    ]
    return SUBS + "\n".join(rows) + "\n"


@pytest.mark.parametrize("timezone", [None, "America/New_York"])
def test_date_number_and_interval_forms_read_as_on_polars(spark, tmp_path, timezone):
    # no one format reads every start_date: each value is read by the first that can;
    # '$1,234.56' in the first rows turns on number cleaning (a notice counts the values)
    options = {"timezone": timezone} if timezone else {}
    sc = agree(
        spark,
        tmp_path,
        "subscriptions",
        {"path": "s.csv", "options": options},
        {"s.csv": mixed_file()},
    )
    ((frame, fmt),) = sc.notices
    polars_sc = scan_source(tmp_path, "subscriptions", Source.model_validate({"path": "s.csv"}))
    want = [f(lf.collect()) for lf, f in polars_sc.notices]
    assert fmt(collected(frame)) in want
    assert "read 5 value(s) written with a currency symbol" in fmt(collected(frame))


def test_one_timestamp_format_is_picked_from_the_first_rows(spark, tmp_path):
    text = "ticket_id,account_id,created_at,resolved_at,contacts,reopened\n" + "".join(
        f"t{i},a1,2024-03-0{i % 9 + 1}T0{i % 10}:15:00Z,2024-03-10 10:00,{c},{r}\n"
        for i, (c, r) in enumerate(
            zip(
                ["1", "yes", " 3 ", "", "no", "+2", "0", "T", "f", "12"],
                ["true", "FALSE", "0", "1", "", "y", "N", "1", "0", "0"],
                strict=True,
            )
        )
    )
    agree(spark, tmp_path, "tickets", {"path": "t.csv"}, {"t.csv": text})


def test_accounts_attributes_matching_and_blank_names(spark, tmp_path):
    text = (
        "\ufeffAccount ID,Name,employees,score,founded,region,,notes\n"  # a UTF-8 byte-order mark
        'a1,"Acme, Inc",12,4.5,2001-02-03,EU,x,"said ""hi"""\n'
        'a2,"",1200,-1,2010-12-31,NA,,"two\nlines"\n'
        "a3,Zed, 7 ,1e2,,APAC,y,\n"
    )
    agree(spark, tmp_path, "accounts", {"path": "a.csv"}, {"a.csv": text})


def test_null_values_decimal_comma_and_a_guessed_delimiter(spark, tmp_path):
    text = (
        "account_id;start_date;amount;plan\n"
        "a1;2024-01-01;1.234,50;N/A\n"
        'a2;2024-01-01;-;"N/A"\n'
        "a3;2024-01-01;12,5;-\n"
        'a4;2024-01-01;0,5;""\n'
    )
    source = {
        "path": "s.csv",
        "options": {"decimal": ",", "thousands": ".", "null_values": ["N/A", "-"]},
    }
    agree(spark, tmp_path, "subscriptions", source, {"s.csv": text})


def test_short_rows_trailing_delimiters_and_a_header_only_file(spark, tmp_path):
    files = {
        "in/a.csv": "account_id,start_date,amount,plan\na1,2024-01-01,10,\na2,2024-01-01,5\n",
        "in/b.csv": "plan,amount,start_date,account_id\npro,7,2024-02-01,a3\n",  # other order
        "in/c.csv": "account_id,start_date,amount\n",
        "in/d.tsv": "account_id\tstart_date\tamount\na4\t2024-03-01\t3\n",
        "in/e[1]{x}.csv": "account_id,start_date,amount\na5,2024-03-01,4\n",  # not a pattern
    }
    sc = agree(spark, tmp_path, "subscriptions", {"path": "in/*.?sv"}, files)
    assert any("0 rows (only a header)" in w for w in sc.warnings)


def test_parquet_typed_and_text_columns(spark, tmp_path):
    from datetime import date, datetime

    df = pl.DataFrame(
        {
            "account_id": ["a1", "a2", "a3"],
            "user_id": [1, 2, None],
            "timestamp": [datetime(2024, 1, 5, 23, 30), datetime(2024, 2, 1), None],
            "event": ["login", "x", None],
            "value": [1, 2, 3],
            "day": [date(2024, 1, 1), None, date(2024, 3, 1)],
        }
    ).with_columns(pl.col("timestamp").dt.replace_time_zone("UTC"))
    text = pl.DataFrame(
        {"account_id": ["b1"], "timestamp": ["2024-05-01T10:00:00+02:00"], "value": ["2.5"]}
    )
    source = {
        "path": "u/*.parquet",
        "options": {"timezone": "Europe/Berlin"},
        "dtypes": {"day": "date"},
    }
    agree(spark, tmp_path, "usage", source, {"u/a.parquet": df, "u/b.parquet": text})


BAD = {  # file -> its bad values: (column, problem), as the polars reader finds them
    "date.csv": SUBS + "a1,05/01/2024,,10,month,p\na2,06/01/2024,,10,month,p\n",
    "extra.csv": SUBS + "a1,2024-01-01,,10,month,p,extra\n",
    "order.csv": SUBS + "a1,2024-03-01,2024-02-01,10,month,p\n",
    "empty.csv": SUBS + "a1,,,10,month,p\n ,2024-01-01,,10,month,p\n",
    "finite.csv": SUBS + "a2,2024-01-01,,-inf,month,p\na3,2024-01-01,,3e15,,\n",
    "interval.csv": SUBS + "a1,2024-01-01,,10,fortnight,p\n",
    "number.csv": SUBS + 'a1,2024-01-01,,"1,234",month,p\n',
}


def test_spark_finds_every_bad_value_the_polars_reader_finds(spark, tmp_path):
    # one read of all the files: Spark's own findings (file, column, problem) are the
    # polars reader's; the error raised is the polars reader's (with rows and fixes)
    for name, text in BAD.items():
        (tmp_path / "bad").mkdir(exist_ok=True)
        (tmp_path / "bad" / name).write_text(text)
    source = Source.model_validate({"path": "bad/*.csv"})
    sc = read_source(spark, tmp_path, "subscriptions", source)
    assert sc.fallback is None
    found = [build().collect() for build in sc._details]
    got = sorted((Path(r.file).name, r.column, r.problem, r.raw) for rows in found for r in rows)
    polars_sc = scan_source(tmp_path, "subscriptions", source)
    bad = pl.concat(pl.collect_all(polars_sc.checks)).select("file", "column", "problem", "raw")
    want = sorted((Path(f).name, c, p, r) for f, c, p, r in bad.iter_rows())
    assert got == want and len(want) == 10
    with pytest.raises(DataError) as raised:
        sc.check()
    _, want_err = polars_outcome(tmp_path, "subscriptions", source)
    assert shown(raised.value) == shown(want_err) and len(want_err.problems) == 10


@pytest.mark.parametrize(
    "text",
    [
        "account_id,start_date,plan\na1,2024-01-01,p\n",  # no amount column
        "account_id,start_date,amount,amount\na1,2024-01-01,1,2\n",  # amount twice
        (SUBS + "".join(f"a{i},2026-01-01,,1,month,p\n" for i in range(3000))).encode()
        + b"z,2026-01-01,,1,month,Caf\xe9\n",  # not UTF-8, far into the file
    ],
    ids=["missing column", "duplicated column", "latin-1 bytes"],
)
def test_unreadable_files_give_the_polars_readers_error(spark, tmp_path, text):
    err = agree(spark, tmp_path, "subscriptions", {"path": "s.csv"}, {"s.csv": text})
    assert isinstance(err, DataError)


def test_bad_parquet_gives_the_polars_readers_error(spark, tmp_path):
    df = pl.DataFrame({"account_id": ["a1"], "start_date": [True], "amount": [1.0]})
    err = agree(spark, tmp_path, "subscriptions", {"path": "s.parquet"}, {"s.parquet": df})
    assert "'true' is not a date" in err.problems[0].message
    df.write_parquet(tmp_path / "t.parquet")
    cut = (tmp_path / "t.parquet").read_bytes()[:-40]
    err = agree(spark, tmp_path, "subscriptions", {"path": "t.parquet"}, {"t.parquet": cut})
    assert "not a readable Parquet file" in err.message


def test_settings_spark_does_not_read_fall_back_to_the_polars_reader(spark, tmp_path):
    fixtures = REPO / "tests" / "fixtures" / "exports"
    files = {"kunden.csv": (fixtures / "german_latin1.csv").read_bytes()}
    source = {
        "path": "kunden.csv",
        "options": {
            "encoding": "latin-1",
            "decimal": ",",
            "thousands": ".",
            "date_format": "%d.%m.%Y",
        },
    }
    agree(spark, tmp_path, "subscriptions", source, files, native=False)
    files = {"export.txt": (fixtures / "excel_unicode.txt").read_bytes()}
    agree(spark, tmp_path, "subscriptions", {"path": "export.txt"}, files, native=False)
    sc = read_source(
        spark, tmp_path, "subscriptions", Source.model_validate({"path": "export.txt"})
    )
    assert "UTF-16" in sc.fallback


def test_overlapping_subscription_rows_are_noticed_in_the_polars_readers_words(spark, tmp_path):
    text = (
        "subscription_id,account_id,start_date,end_date,amount\n"
        "s1,a1,2026-01-01,,100\n"
        "s1,a1,2026-01-01,,100\n"
        "s2,a1,2026-01-01,2026-02-01,100\n"
        "s2,a1,2026-02-01,,150\n"
    )
    sc = agree(spark, tmp_path, "subscriptions", {"path": "s.csv"}, {"s.csv": text})
    polars_sc = scan_source(tmp_path, "subscriptions", Source.model_validate({"path": "s.csv"}))
    want = [f(lf.collect()) for lf, f in polars_sc.notices]
    got = [f(collected(frame)) for frame, f in sc.notices]
    assert got == want and "s.csv:3" in got[0]


# ---- URIs: passed to Spark as they are ----------------------------------------------------
def test_file_uris_and_globs_are_read_by_spark_as_the_local_files(spark, tmp_path):
    files = {
        "in/a.csv": mixed_file(),
        "in/b.csv": "\ufeff" + SUBS + 'b1,2024-02-01,2024-03-01,12,year,""\n',  # a BOM
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(text)
    uri = {"path": f"file://{tmp_path}/in/*.csv"}
    got, err, sc = spark_outcome(spark, tmp_path, "subscriptions", Source.model_validate(uri))
    assert err is None and sc.fallback is None and sc.remote
    want = polars_read(tmp_path, "subscriptions", Source.model_validate({"path": "in/*.csv"}))
    order = list(want.columns)
    assert_frame_equal(got.sort(order, nulls_last=True), want.sort(order, nulls_last=True))


def test_parquet_uris_read_as_the_local_files(spark):
    uri = {**SAMPLE["usage"], "path": f"file://{REPO}/sample_data/usage/*.parquet"}
    got, err, _ = spark_outcome(spark, REPO, "usage", Source.model_validate(uri))
    assert err is None, err
    want = polars_read(REPO, "usage", Source.model_validate(SAMPLE["usage"]))
    assert dict(got.schema) == dict(want.schema)
    assert_frame_equal(got.sort(want.columns), want.sort(want.columns))


def test_bad_values_in_a_uri_name_the_file_column_and_value(spark, tmp_path):
    (tmp_path / "s.csv").write_text(BAD["date.csv"] + "a3,2024-01-01,,x,month,p\n")
    uri = Source.model_validate({"path": f"file://{tmp_path}/s.csv"})
    _, err, _ = spark_outcome(spark, tmp_path, "subscriptions", uri)
    assert isinstance(err, DataError)
    problems = sorted(p.message for p in err.problems)
    assert problems[0] == "column amount: 'x' is not a number"
    assert problems[1].startswith("column start_date: '05/01/2024' is not a date (YYYY-MM-DD)")
    assert (
        "set sources.subscriptions.options.date_format: '%m/%d/%Y' (or '%d/%m/%Y')" in problems[1]
    )
    assert all(p.location == f"file://{tmp_path}/s.csv" for p in err.problems)


def test_a_uri_with_an_extra_field_or_another_header_is_refused(spark, tmp_path):
    (tmp_path / "a.csv").write_text(BAD["extra.csv"])
    _, err, _ = spark_outcome(
        spark,
        tmp_path,
        "subscriptions",
        Source.model_validate({"path": f"file://{tmp_path}/a.csv"}),
    )
    assert (
        isinstance(err, DataError)
        and "'extra' is a field beyond the header's 6" in err.problems[0].message
    )
    (tmp_path / "b.csv").write_text("start_date,account_id,amount\n2024-01-01,a1,1\n")
    (tmp_path / "c.csv").write_text("account_id,start_date,amount\na1,2024-01-01,1\n")
    source = Source.model_validate(
        {"path": [f"file://{tmp_path}/b.csv", f"file://{tmp_path}/c.csv"]}
    )
    _, err, _ = spark_outcome(spark, tmp_path, "subscriptions", source)
    assert isinstance(err, DataError), err
    assert err.message.startswith(
        f"file://{tmp_path}/c.csv: its header (account_id, start_date, amount)"
    )


def test_uri_settings_spark_cannot_honour_are_named(spark, tmp_path):
    source = Source.model_validate(
        {"path": "s3a://bucket/subs/*.csv", "options": {"date_format": "%d/%m/%Y"}}
    )
    with pytest.raises(UsageError, match=r"sources.subscriptions.options.date_format"):
        read_source(spark, tmp_path, "subscriptions", source)
    with pytest.raises(CsmError, match=r"Spark cannot read file:///no/such/dir"):
        read_source(
            spark,
            tmp_path,
            "usage",
            Source.model_validate({"path": "file:///no/such/dir/*.parquet"}),
        ).check()


def test_the_polars_reader_says_a_uri_needs_spark(tmp_path):
    with pytest.raises(
        UsageError, match=r"'s3a://b/x.csv' is a URI, which only --engine spark reads"
    ):
        scan_source(tmp_path, "subscriptions", Source.model_validate({"path": "s3a://b/x.csv"}))


def test_session_timestamps_are_the_lifted_frames_types(spark):
    from cs_metrics.sources.spark import session_timestamps

    sc = read_source(spark, REPO, "tickets", Source.model_validate(SAMPLE["tickets"]))
    lifted = spark.createDataFrame(polars_read(REPO, "tickets", sc.source).to_arrow())
    assert session_timestamps(sc.frame).dtypes == lifted.dtypes
