"""The CLI's frame, from the user's side: --version, one `error: ...` style for usage
errors, help without Python types, output targets refused before any work, a full disk,
panics inside polars, good/bad without colour, and the lock between two real reports."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
from conftest import write_spec
from helpers import REPO, invoke
from test_report import FILES, SPEC

from cs_metrics import __version__, api
from cs_metrics.report import MARKER
from cs_metrics.report import run as report_run

QUICK = (
    SPEC
    + """
reports:
  quick: {formats: [md, csv], cohorts: false, trend: 3}
"""
)


@pytest.fixture
def spec_path(tmp_path: Path) -> Path:
    return write_spec(tmp_path, SPEC, FILES)


@pytest.fixture
def no_work(monkeypatch):
    """Fail the test if a command starts computing (checks must come first)."""

    def refuse(*args, **kwargs):
        raise AssertionError("the computation started")

    for name in ("compute_metrics", "health", "alerts", "cohorts"):
        monkeypatch.setattr(api, name, refuse)
    monkeypatch.setattr(report_run, "build_report", refuse)


# ------------------------------------------------------------------------------ basics


def test_version():
    invoke(["--version"], stdout=f"csm {__version__}")


def test_completion_is_enabled():
    r = invoke(["--help"], stdout=["--install-completion", "--show-completion"])
    assert "--version" in r.stdout


@pytest.mark.parametrize(
    ("args", "message", "where"),
    [
        ("compute --bogus", "error: no such option: --bogus", "csm compute --help"),
        ("explain", "error: missing argument 'METRIC'", "csm explain --help"),
        ("comput", "error: no such command 'comput'", "csm --help"),
        ("sample --accounts 0", "error: invalid value for '--accounts'", "csm sample --help"),
        ("compute --trend x", "error: invalid value for '--trend'", "csm compute --help"),
    ],
)
def test_usage_errors_are_one_line_with_a_hint(args, message, where):
    r = invoke(args, code=2, stderr=[message, f"(see '{where}')"])
    assert r.stderr.count("\n") == 1, r.stderr  # one line: no Usage: block, no box
    assert "Usage:" not in r.stderr and "Traceback" not in r.stderr


def test_an_unknown_by_dimension_is_a_usage_error(spec_path, no_work):
    for command in ("compute", "health", "explain mrr"):
        invoke(
            [*command.split(), "--spec", spec_path, "--by", "plna"],
            code=2,
            stderr=["--by plna", "did you mean 'plan'"],
        )


def test_help_shows_no_python_types():
    for command in ("compute", "explain", "sample", "report", "init", "health", "cohorts"):
        text = invoke([command, "--help"]).stdout
        assert not re.search(r"<(list|int|str|path|float)[^>]*>", text), text
    assert "METRIC..." in invoke(["compute", "--help"]).stdout


# --------------------------------------------------------------- output checked first


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        ("-o {tmp}/missing/out.csv", 73, "does not exist"),
        ("-o {tmp}/out.docx", 2, "extension '.docx'"),
        ("--format xml", 2, "unknown format 'xml'"),
        ("-o {tmp}", 2, "no extension"),
        ("-o {tmp}/sub", 2, "no extension"),
        ("-o {tmp}/afile.csv/x.csv", 73, "is not a directory"),
        ("-o {tmp}/adir.csv", 73, "it is a directory"),
        ("-o /proc/out.csv", 73, "/proc does not accept new files"),
        ("-o /sys/out.csv", 73, "cannot write /sys/out.csv"),
        ("-o {tmp}/out.csv --format json", 2, "does not match"),
    ],
)
@pytest.mark.parametrize("command", ["compute", "health", "alerts", "cohorts"])
def test_bad_outputs_fail_before_any_work(
    tmp_path, spec_path, no_work, command, args, code, message
):
    (tmp_path / "afile.csv").write_text("x")
    (tmp_path / "adir.csv").mkdir()
    before = sorted(p.name for p in tmp_path.iterdir())
    invoke(
        [command, "--spec", spec_path, *args.format(tmp=tmp_path).split()],
        code=code,
        stderr=message,
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no probe, no temp file


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_an_output_under_a_read_only_directory(tmp_path, spec_path, no_work):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        invoke(["compute", "--spec", spec_path, "-o", ro / "x.csv"], code=73, stderr="permission")
    finally:
        ro.chmod(0o755)


def test_report_out_dir_checked_before_computing(tmp_path, spec_path, no_work):
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    (tmp_path / "afile").write_text("x")
    for target, message in [
        (foreign, "csm did not write"),
        (tmp_path / "afile", "it is a file"),
        (tmp_path / "afile" / "sub", "not a directory"),
        (Path("/proc/csm-report"), "cannot write the report to /proc/csm-report"),
    ]:
        r = invoke(
            ["report", "--spec", spec_path, "--out-dir", target],
            code=73,
            stderr=[message, "status=failed exit=73"],
        )
        assert "Traceback" not in r.stderr
    assert (foreign / "notes.txt").read_text() == "mine"
    assert not [p for p in tmp_path.rglob(".*") if ".csm-" in p.name]


def test_stdout_on_a_full_disk_exits_73(spec_path):
    for fmt in ("csv", "table"):
        with open("/dev/full", "w") as full:
            proc = subprocess.run(
                [sys.executable, "-m", "cs_metrics", "compute", "--spec", spec_path, "-f", fmt],
                stdout=full,
                stderr=subprocess.PIPE,
                text=True,
                env={**os.environ, "PYTHONPATH": str(REPO)},
                timeout=120,
            )
        assert proc.returncode == 73, proc.stderr
        assert "error: cannot write to stdout: no space left on the device" in proc.stderr
        assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr


def test_a_closed_pipe_is_quiet(spec_path):
    proc = subprocess.run(
        f"{sys.executable} -m cs_metrics compute --spec {spec_path} -f csv --by account | head -c1",
        shell=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=120,
    )
    assert proc.stdout == "p" and proc.stderr == ""


# ---------------------------------------------------------------------- internal errors


def test_a_panic_inside_polars_is_an_internal_error(spec_path, monkeypatch):
    def panic(*args, **kwargs):
        raise pl.exceptions.PanicException("index out of bounds: the len is 0")

    assert not issubclass(pl.exceptions.PanicException, Exception)  # why it needs care
    monkeypatch.setattr(api, "compute_metrics", panic)
    r = invoke(
        ["compute", "--spec", spec_path],
        code=70,
        stderr="error: internal error: PanicException: index out of bounds",
    )
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr


def test_a_panic_during_a_report_is_logged_as_failed(spec_path, tmp_path, monkeypatch):
    def panic(*args, **kwargs):
        raise pl.exceptions.PanicException("boom")

    monkeypatch.setattr(report_run, "build_report", panic)
    r = invoke(
        ["report", "--spec", spec_path, "--out-dir", tmp_path / "r"],
        code=70,
        stderr=["status=failed exit=70", "internal error: PanicException: boom"],
    )
    assert "Traceback" not in r.stderr


# ------------------------------------------------------------------------ no colour


def test_good_and_bad_show_without_colour(spec_path):
    # MRR at month ends: Dec 100+200+300 = 600, Jan 100+200+300+80 = 680 (up: good),
    # Feb 150+200+240+80 = 670, Mar 150+0+240+80+60 = 530 (down: bad); logo churn in
    # March 1 of 4 = 25 % after 0 % in February (up: bad)
    def lines(period, *extra, env=None):
        args = ["compute", "mrr", "logo_churn", "--spec", spec_path, "-f", "table", "-p", period]
        r = invoke([*args, *extra], env=env)
        assert "\x1b[" not in r.stdout
        rows = r.stdout.splitlines()
        return next(x for x in rows if x.strip().startswith("mrr")), next(
            x for x in rows if "logo_churn" in x
        )

    for env, flag in (({"NO_COLOR": "1"}, []), ({}, ["--no-color"])):
        mrr, _ = lines("2026-01", *flag, env=env)
        assert "▲ +13.3 % ✓" in mrr  # 680 / 600 - 1
        mrr, churn = lines("2026-03", *flag, env=env)
        assert "▼ -20.9 % ✗" in mrr  # 530 / 670 - 1
        assert "▲ +25.0 pp ✗" in churn
    coloured = invoke(
        ["compute", "mrr", "--spec", spec_path, "-f", "table", "-p", "2026-03", "--color"]
    ).stdout
    assert "✓" not in coloured and "✗" not in coloured  # the colour says it


# ------------------------------------------------------------------- two reports at once


def test_two_reports_at_once_never_mix(tmp_path):
    spec_path = write_spec(tmp_path, QUICK, FILES)
    out = tmp_path / "bundle"
    env = {**os.environ, "PYTHONPATH": str(REPO), "CSM_SPEC": str(spec_path)}
    cmd = [sys.executable, "-m", "cs_metrics", "report", "quick", "--out-dir", str(out)]
    procs = [
        subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        for _ in range(2)
    ]
    results = [p.communicate(timeout=240) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    import json

    manifest = json.loads((out / MARKER).read_text())
    assert sorted(manifest["files"]) == sorted(p.name for p in out.iterdir() if p.name != MARKER)
    assert not [p.name for p in tmp_path.iterdir() if ".csm-" in p.name]


def test_a_report_waits_for_the_lock(spec_path, tmp_path):
    import fcntl

    out = tmp_path / "reports" / "r"
    out.parent.mkdir()
    fd = os.open(out.parent, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)  # another report is writing into reports/
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cs_metrics", "report", "--spec", spec_path, "--out-dir", out],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        seen = wait_for_line(proc, "waiting for another csm report writing into")
        time.sleep(0.5)
        assert proc.poll() is None and not out.exists(), seen  # it waits, writing nothing
    finally:
        os.close(fd)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, seen + err
    assert (out / MARKER).is_file() and "status=ok" in err


def wait_for_line(proc: subprocess.Popen[str], text: str, timeout: float = 180) -> str:
    """Read proc's stderr until a line holds ``text``; returns what was read."""
    import select

    seen = ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stderr], [], [], 0.2)
        if ready:
            line = proc.stderr.readline()
            seen += line
            if text in line:
                return seen
            if not line:
                break
    raise AssertionError(f"{text!r} never came on stderr:\n{seen}")
