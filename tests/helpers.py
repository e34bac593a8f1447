"""Run the CLI in tests and assert exit code, stdout and stderr in one call.

``invoke`` runs ``cs_metrics.cli.app`` in-process with Typer's CliRunner (stdout and
stderr captured separately, stdout not a terminal); ``run_subprocess`` runs
``python -m cs_metrics`` for the few end-to-end checks that need a real process.
Both clear ``$CSM_SPEC`` and ``$CSM_DEBUG`` unless the test sets them, so the developer's
environment cannot leak into a test.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import typer.testing
from typer.testing import CliRunner, Result

from cs_metrics.cli import app

# Typer's CliRunner builds the Click command from the app's functions on every invoke
# (~10 ms of CPU: it resolves every option's annotations); build csm's once per test process.
_build_command = typer.testing._get_command
_BUILT: dict[int, Any] = {}


def _cached_command(typer_app: Any) -> Any:
    if typer_app is not app:
        return _build_command(typer_app)
    if id(app) not in _BUILT:
        _BUILT[id(app)] = _build_command(app)
    return _BUILT[id(app)]


typer.testing._get_command = _cached_command

REPO = Path(__file__).resolve().parent.parent

# The environment every invocation starts from (None removes a variable).
BASE_ENV: dict[str, str | None] = {"CSM_SPEC": None, "CSM_DEBUG": None, "COLUMNS": "120"}

Expected = str | Sequence[str] | None


def _args(args: str | Sequence[Any]) -> list[str]:
    return shlex.split(args) if isinstance(args, str) else [str(a) for a in args]


def _expected(value: Expected) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _check(
    cmd: list[str], code: int, got_code: int, out: str, err: str, stdout: Expected, stderr: Expected
) -> None:
    shown = f"csm {shlex.join(cmd)}\n--- exit {got_code}\n--- stdout:\n{out}\n--- stderr:\n{err}"
    assert got_code == code, f"expected exit {code}, got {got_code}\n{shown}"
    for text in _expected(stdout):
        assert text in out, f"{text!r} not in stdout\n{shown}"
    for text in _expected(stderr):
        assert text in err, f"{text!r} not in stderr\n{shown}"


def invoke(
    args: str | Sequence[Any],
    *,
    code: int = 0,
    stdout: Expected = None,
    stderr: Expected = None,
    env: Mapping[str, str | None] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    input: str | None = None,
) -> Result:
    """Run ``csm ARGS`` in-process; assert the exit code and that each expected string
    (or every string of a list) appears in stdout / stderr. Returns the result."""
    cmd = _args(args)
    runner = CliRunner()
    chdir = contextlib.chdir(cwd) if cwd is not None else contextlib.nullcontext()
    with chdir:
        result = runner.invoke(
            app, cmd, env={**BASE_ENV, **(env or {})}, input=input, catch_exceptions=False
        )
    _check(cmd, code, result.exit_code, result.stdout, result.stderr, stdout, stderr)
    return result


def run_subprocess(
    args: str | Sequence[Any],
    *,
    code: int = 0,
    stdout: Expected = None,
    stderr: Expected = None,
    env: Mapping[str, str | None] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m cs_metrics ARGS`` with stdout and stderr piped; assert like invoke."""
    cmd = _args(args)
    full_env = dict(os.environ)
    for key, val in {**BASE_ENV, **(env or {})}.items():
        if val is None:
            full_env.pop(key, None)
        else:
            full_env[key] = val
    # the package must be importable from any cwd
    full_env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO), full_env.get("PYTHONPATH", "")) if p
    )
    proc = subprocess.run(
        [sys.executable, "-m", "cs_metrics", *cmd],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=full_env,
        cwd=cwd,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    _check(cmd, code, proc.returncode, proc.stdout, proc.stderr, stdout, stderr)
    return proc


# The test data are a few hundred rows: Spark's code generation (compiling each query's
# Java) costs more than it saves there (measured: tests/test_spark_read.py 102 s -> 71 s).
# Users' sessions keep it; the tests' local session, started first, goes without.
SPARK_TEST_CONF = {
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.codegen.factoryMode": "NO_CODEGEN",
}


def spark_test_session():
    """The local Spark session csm's engine reuses in this test process (small-data settings)."""
    from types import SimpleNamespace

    from cs_metrics import spark

    return spark.session(SimpleNamespace(remote=None, master=None, conf=SPARK_TEST_CONF))
