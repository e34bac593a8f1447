"""Signals and terminals, with real processes: SIGINT / SIGTERM / SIGKILL at several
moments of `csm report` and `csm compute`, and what a terminal shows (progress, pager).

Every interrupted run must end with exit 130, `error: interrupted`, the report's log line
with status=interrupted, no traceback, the previous bundle byte for byte and no hidden
temporary directory. Moments: a short sleep after the start (start-up, computing,
rendering), and the write phase (the process waiting for the directory's lock, which the
test holds)."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest
from conftest import write_spec
from helpers import REPO, invoke
from test_cli_frame import QUICK, wait_for_line
from test_report import FILES

from cs_metrics.report import MARKER

# QUICK: a light report (no charts, no workbook), so that the moments below fall in
# start-up, reading, computing and rendering rather than in matplotlib's import
ENV = {**os.environ, "PYTHONPATH": str(REPO), "CSM_DEBUG": "", "CSM_SPEC": ""}


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, Path]:
    """A spec, and its previous bundle already written (the one that must survive)."""
    spec = write_spec(tmp_path, QUICK, FILES)
    out = tmp_path / "reports" / "r"
    invoke(["report", "--spec", spec, "--out-dir", out, "--quiet"])
    return spec, out


def snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def hidden(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if ".csm-" in p.name)


def start(args: list[str | Path]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "cs_metrics", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=ENV,
    )


def finished_anyway(proc: subprocess.Popen[str]) -> bool:
    """Whether a run that got its signal late finished as if it had not come: exit 0, no
    traceback and (a report) no status=interrupted. A signal that comes once a report's
    bundle is being swapped in waits for the run to end (cs_metrics.interrupts.hold), and
    one that comes while Python shuts down after the work is done is ignored."""
    out, err = proc.communicate(timeout=180)
    proc.outputs = (out, err)  # type: ignore[attr-defined]
    if proc.returncode != 0:
        return False
    assert "Traceback" not in err, err
    assert "status=interrupted" not in err, err
    return True


def assert_interrupted(proc: subprocess.Popen[str], report: bool = True) -> str:
    _, err = getattr(proc, "outputs", None) or proc.communicate(timeout=180)
    assert proc.returncode == 130, f"exit {proc.returncode}\n{err}"
    assert "Traceback" not in err, err
    assert "error: interrupted" in err, err
    if report:
        assert "status=interrupted exit=130" in err, err
    return err


def run_time(args: list[str | Path]) -> float:
    """Wall time of one whole run: the moments below are fractions of it, so that they fall
    inside the run on a fast, idle machine as on a loaded one."""
    t = time.perf_counter()
    proc = start(args)
    proc.communicate(timeout=180)
    assert proc.returncode == 0
    return time.perf_counter() - t


def moments(total: float, *fractions: float) -> list[float]:
    return [max(0.25, total * f) for f in fractions]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
def test_a_signal_at_any_moment_of_a_report(project, sig):
    spec, out = project
    total = run_time(["report", "--spec", spec, "--out-dir", out])
    before = snapshot(out)
    interrupted = 0
    tries = 0
    delays = moments(total, 0.3, 0.55, 0.8)
    # on a shared machine a run can be much faster than the timed one (the load fell) or
    # much slower (it rose): until two runs were interrupted, try again, at fractions of the
    # last run's own wall time, up to eight runs in all
    while delays and tries < 8:
        delay = delays.pop(0)
        tries += 1
        t = time.perf_counter()
        proc = start(["report", "--spec", spec, "--out-dir", out])
        time.sleep(delay)
        if proc.poll() is None:
            proc.send_signal(sig)
            if finished_anyway(proc):  # the signal came past the point of no return (the
                before = snapshot(out)  # swap): the run finished, its new bundle is whole
            else:
                assert_interrupted(proc)
                interrupted += 1
                assert snapshot(out) == before, f"the bundle changed (signal after {delay}s)"
        else:  # it finished first: the new bundle is the one to keep
            proc.communicate()
            assert proc.returncode == 0
            before = snapshot(out)
        elapsed = time.perf_counter() - t
        assert hidden(out.parent) == [], f"left behind after {delay}s"
        if not delays and interrupted < 2:
            delays = moments(elapsed, 0.25, 0.4)  # (a run that ended first: at most delay)
    assert interrupted >= 2


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
def test_a_signal_while_the_bundle_waits_to_be_written(project, sig):
    spec, out = project
    before = snapshot(out)
    fd = os.open(out.parent, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)  # the write phase cannot start until we let go
    try:
        proc = start(["report", "--spec", spec, "--out-dir", out])
        wait_for_line(proc, "waiting for another csm report")
        proc.send_signal(sig)
        time.sleep(0.05)
        proc.send_signal(sig)  # impatient: a second one must not break the cleanup
        assert_interrupted(proc)
    finally:
        os.close(fd)
    assert snapshot(out) == before
    assert hidden(out.parent) == []


def test_sigkill_at_any_moment_then_the_next_run_cleans_up(project):
    spec, out = project
    for delay in (1.5, 4.0):
        proc = start(["report", "--spec", spec, "--out-dir", out])
        time.sleep(delay)
        proc.kill()
        proc.communicate(timeout=60)
        if out.exists():  # between the two renames the old bundle is aside, not lost
            assert (out / MARKER).is_file()
    invoke(["report", "--spec", spec, "--out-dir", out, "--quiet"])
    assert (out / MARKER).is_file()
    assert hidden(out.parent) == []


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
def test_a_signal_during_compute(tmp_path, sig):
    spec = write_spec(tmp_path, QUICK, FILES)
    total = run_time(["compute", "--spec", spec, "--by", "plan"])
    for delay in moments(total, 0.5):
        proc = start(["compute", "--spec", spec, "--by", "plan"])
        time.sleep(delay)
        if proc.poll() is None:
            proc.send_signal(sig)
            if finished_anyway(proc):  # late: the whole result was written
                assert proc.outputs[0].startswith("period,plan,metric")  # type: ignore[attr-defined]
                continue
            assert_interrupted(proc, report=False)


# --------------------------------------------------------------------------- terminals


def run_in_pty(args: list[str | Path], *, rows: int = 40, env: dict[str, str] | None = None):
    """Run csm with stdin, stdout and stderr on a pseudo-terminal; returns (exit, output)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, 120, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-m", "cs_metrics", *map(str, args)],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env={**ENV, "TERM": "xterm", "COLUMNS": "120", "LINES": str(rows), **(env or {})},
        close_fds=True,
    )
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    os.close(master)
    proc.wait(timeout=30)
    return proc.returncode, b"".join(chunks).decode("utf-8", "replace")


def test_progress_shows_on_a_terminal_and_goes_away(tmp_path):
    spec = write_spec(tmp_path, QUICK, FILES)
    code, text = run_in_pty(["report", "quick", "--spec", spec, "--out-dir", tmp_path / "r"])
    assert code == 0, text
    assert "reading sources and computing" in text
    assert "\x1b[2K" in text or "\x1b[1A" in text  # the line is erased (transient)
    assert "status=ok" in text


def test_no_progress_with_quiet_or_without_a_terminal(tmp_path):
    spec = write_spec(tmp_path, QUICK, FILES)
    code, text = run_in_pty(["compute", "--spec", spec, "--quiet"])
    assert code == 0 and "computing" not in text
    proc = start(["compute", "--spec", spec])
    _, err = proc.communicate(timeout=120)
    assert "computing" not in err and "\x1b" not in err


def test_a_table_taller_than_the_terminal_goes_to_the_pager(tmp_path):
    spec = write_spec(tmp_path, QUICK, FILES)
    pager = {"PAGER": "sed s/^/PAGED:/", "MANPAGER": ""}
    code, text = run_in_pty(["compute", "--spec", spec, "--trend", "3"], rows=8, env=pager)
    assert code == 0, text
    assert "PAGED:" in text and "mrr" in text
    code, text = run_in_pty(["compute", "--spec", spec, "--trend", "3"], rows=60, env=pager)
    assert code == 0 and "PAGED:" not in text and "mrr" in text
