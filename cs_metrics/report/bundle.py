"""Write a report bundle as one directory, atomically, and the log line of a run.

The atomic swap (:func:`write_bundle`): ``.<name>.csm-tmp-<random>`` is filled and
fsynced; the old bundle is renamed to ``.<name>.csm-old-<random>``, the new one renamed to
``<name>``, the old one removed. Any failure (an exception, Ctrl-C, SIGTERM) removes the
temporary directory and puts the old bundle back. A run killed outright (SIGKILL, power
loss) leaves hidden directories that the next run for the same target cleans up (or, if
the kill fell between the two renames, restores). Runs for targets in one directory are
serialised by an advisory lock on that directory. A non-empty directory that is not a csm
bundle (no ``.csm-report.json`` marker) is never replaced: csm refuses (exit 73) rather
than delete files it did not write."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from cs_metrics import interrupts
from cs_metrics.atomic import _output_error as one_file
from cs_metrics.atomic import fsync_dir, fsync_file, umask
from cs_metrics.errors import OutputError
from cs_metrics.freshness import stale_field
from cs_metrics.output import note

MARKER = ".csm-report.json"  # written into every bundle: csm only ever replaces its own
TMP_TAG, OLD_TAG = "csm-tmp", "csm-old"
LOCK_POLL = 0.1  # seconds between tries for the directory's lock


Writer = Callable[[Path], None]


def write_bundle(target: Path, files: dict[str, Writer], manifest: dict[str, Any]) -> list[str]:
    """Write ``files`` (relative name -> writer of that path) as the directory ``target``,
    atomically (module docstring). Returns the names written. OS failures are exit 73."""
    target = Path(os.path.abspath(target))
    parent = target.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _output_error(target, exc) from None
    if target.exists() and not target.is_dir():
        raise OutputError(f"cannot write the report to {target}: it is a file; choose a directory")
    with _locked(parent), _terminate_as_interrupt():
        _recover(target)
        _check_replaceable(target)
        try:
            tmp = Path(_mkdtemp(parent, f".{target.name}.{TMP_TAG}-"))
        except OSError as exc:
            raise _output_error(target, exc) from None
        old: Path | None = None
        try:
            names = []
            for name, writer in files.items():
                path = tmp / name
                write_file(path, writer)
                names.append(name)
            write_file(
                tmp / MARKER,
                lambda p: p.write_text(
                    json.dumps({**manifest, "files": names}, indent=2) + "\n", encoding="utf-8"
                ),
            )
            os.chmod(tmp, 0o777 & ~umask())
            fsync_dir(tmp)
            interrupts.hold()  # the swap and what follows finish: a signal now waits
            if target.exists():
                old = parent / f".{target.name}.{OLD_TAG}-{secrets.token_hex(4)}"
                os.rename(target, old)
            os.rename(tmp, target)
            fsync_dir(parent)
        except BaseException as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            if old is not None and not target.exists():
                with contextlib.suppress(OSError):
                    os.rename(old, target)
            if isinstance(exc, OSError):
                raise _output_error(target, exc) from None
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    return names


def check_target(target: Path) -> None:
    """Fail now (exit 73), before the report is computed, when ``target`` could not be
    written: it is a file, a directory of someone else's files, or its nearest existing
    parent is not a writable directory (probed with a hidden file, removed at once)."""
    target = Path(os.path.abspath(target))
    if target.exists() and not target.is_dir():
        raise OutputError(f"cannot write the report to {target}: it is a file; choose a directory")
    _check_replaceable(target)
    parent = target.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise OutputError(
            f"cannot write the report to {target}: {parent} is not a directory; "
            "choose another --out-dir"
        )
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{target.name}.csm-probe-", dir=parent)
    except OSError as exc:
        message = one_file(parent / target.name, exc).message.split(": ", 1)[1]
        raise OutputError(f"cannot write the report to {target}: {message}") from None
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(probe)


def write_file(path: Path, writer: Writer) -> None:
    """Write one file of the bundle and flush it to disk (tests replace this to fail midway)."""
    writer(path)
    fsync_file(path)


def _mkdtemp(parent: Path, prefix: str) -> str:
    return tempfile.mkdtemp(prefix=prefix, dir=parent)


def _hidden(target: Path, tag: str) -> list[Path]:
    prefix = f".{target.name}.{tag}-"
    try:
        return sorted(
            (p for p in target.parent.iterdir() if p.name.startswith(prefix)),
            key=lambda p: p.stat().st_mtime,
        )
    except OSError:
        return []


def _recover(target: Path) -> None:
    """Clean up after a run that was killed: remove its temporary directory; when it died
    between the two renames (no bundle, an old one aside), put the old bundle back."""
    for tmp in _hidden(target, TMP_TAG):
        shutil.rmtree(tmp, ignore_errors=True)
    olds = _hidden(target, OLD_TAG)
    if olds and not target.exists():
        with contextlib.suppress(OSError):
            os.rename(olds.pop(), target)
    for old in olds:
        shutil.rmtree(old, ignore_errors=True)


def _check_replaceable(target: Path) -> None:
    if not target.is_dir():
        return
    try:
        entries = list(target.iterdir())
    except OSError as exc:
        raise _output_error(target, exc) from None
    if entries and not (target / MARKER).is_file():
        raise OutputError(
            f"cannot write the report to {target}: the directory holds files that csm did not "
            "write, and a report replaces its directory whole; choose another --out-dir (or "
            "empty that directory)"
        )


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """Serialise report runs writing into ``directory`` (an advisory flock, where supported)."""
    try:
        import fcntl
    except ImportError:  # not POSIX
        yield
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        yield
        return
    try:
        waiting = False
        while True:  # polled, not blocking: a blocking flock is not woken by Ctrl-C once
            try:  # polars has hooked SIGINT (its handler restarts interrupted system calls)
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not waiting:
                    note(f"waiting for another csm report writing into {shown_path(directory)}")
                    waiting = True
                time.sleep(LOCK_POLL)
            except OSError:
                break  # no locking on this file system
        yield
    finally:
        os.close(fd)  # releases the lock


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """While the bundle is written, SIGTERM (cron's timeout, systemd stop) cleans up like Ctrl-C."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    if signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, None):
        yield  # the csm CLI (or the caller) already handles SIGTERM
        return

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except (ValueError, OSError):
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _output_error(target: Path, exc: OSError) -> OutputError:
    err = one_file(target / "summary", exc)
    msg = err.message.replace(
        f"cannot write {target / 'summary'}", f"cannot write the report to {target}"
    )
    return OutputError(msg)


@dataclass
class Run:
    """What one report run did (for the log line)."""

    name: str
    period: str
    directory: Path
    files: list[str]
    rows_read: dict[str, int]
    seconds: float
    warnings: list[str]
    stale: dict[str, Any] = field(default_factory=dict)  # role -> last date (freshness)


def log_line(
    *,
    name: str,
    period: str | None,
    status: str,
    seconds: float,
    run: Run | None = None,
    code: int | None = None,
) -> str:
    """One cron-friendly line: timestamp, report, period, status, rows read, files, duration."""
    stamp = datetime.now().astimezone().isoformat(timespec="seconds")
    parts = [stamp, "csm report", name, f"period={period or '-'}", f"status={status}"]
    if code is not None:
        parts.append(f"exit={code}")
    if run is not None:
        rows = ",".join(f"{r}:{n}" for r, n in sorted(run.rows_read.items())) or "-"
        parts += [f"rows={rows}", f"files={len(run.files)}", f"dir={shown_path(run.directory)}"]
        if run.warnings:
            parts.append(f"warnings={len(run.warnings)}")
        if run.stale:  # sources whose data ends before the period: see docs/design.md
            parts.append(f"stale={stale_field(run.stale)}")
    parts.append(f"duration={seconds:.1f}s")
    return " ".join(parts)


def shown_path(path: Path) -> str:
    with contextlib.suppress(ValueError):
        return str(path.relative_to(Path.cwd()))
    return str(path)
