"""Write output files atomically: readers see the old file or the new one, never half of one.

The bytes go to a hidden temporary file in the target's own directory (same filesystem, so
the final :func:`os.replace` is atomic), are flushed to disk with ``fsync``, and only then
replace the target. If anything fails, the temporary file is removed and the previous
target is left untouched — the contract ``csm report`` run from cron relies on.

Operating-system failures (missing directory, permission denied, disk full ...) become
:class:`~cs_metrics.errors.OutputError` (exit 73) with a message naming the path and the
fix; any other exception raised by the writer propagates unchanged.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Callable
from functools import cache
from pathlib import Path

from cs_metrics.errors import OutputError

__all__ = ["atomic_write", "atomic_write_bytes", "atomic_write_text", "check_writable"]


def atomic_write(path: Path, writer: Callable[[Path], None]) -> None:
    """Create or replace ``path`` with what ``writer(tmp_path)`` writes to ``tmp_path``.

    ``writer`` receives the path of an empty temporary file (``.<name>.<random>.tmp`` next
    to the target) and may write it however it likes, including reopening it by name.
    """
    path = Path(path)
    directory = path.parent
    _check_target(path, directory)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise _output_error(path, exc) from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        writer(tmp)
        fsync_file(tmp)
        os.chmod(tmp, _final_mode(path))
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(exc, OSError):
            raise _output_error(path, exc) from None
        raise
    fsync_dir(directory)


def atomic_write_text(path: Path, text: str, encoding: str = "utf-8") -> None:
    """Atomically write ``text`` (no newline translation, so output is identical everywhere)."""
    atomic_write(path, lambda tmp: _write_text(tmp, text, encoding))


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Atomically write ``data``."""
    atomic_write(path, lambda tmp: tmp.write_bytes(data))


def _write_text(tmp: Path, text: str, encoding: str) -> None:
    with open(tmp, "w", encoding=encoding, newline="") as fh:
        fh.write(text)


def check_writable(path: Path) -> None:
    """Fail now (exit 73), before any work, if ``path`` cannot be written: its directory
    is missing, not a directory, or not writable (permissions, a read-only file system,
    /proc ...), or ``path`` is a directory. A hidden probe file is created in the
    directory and removed at once, so nothing is left behind."""
    path = Path(path)
    directory = path.parent
    _check_target(path, directory)
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise _output_error(path, exc) from None
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(probe)


def _check_target(path: Path, directory: Path) -> None:
    try:
        os.stat(directory)
    except PermissionError as exc:
        raise _output_error(path, exc) from None
    except OSError:
        pass
    if not directory.exists():
        raise OutputError(
            f"cannot write {path}: the directory {directory} does not exist; "
            f"create it first (mkdir -p {directory}) or choose another output path"
        )
    if not directory.is_dir():
        raise OutputError(
            f"cannot write {path}: {directory} is not a directory; choose another output path"
        )
    if path.is_dir():
        raise OutputError(
            f"cannot write {path}: it is a directory; give a file name such as "
            f"{path / 'metrics.csv'}"
        )
    if path.exists() and not os.access(path, os.W_OK):  # as `>` would refuse
        raise _output_error(path, PermissionError(errno.EACCES, "permission denied"))


def _output_error(path: Path, exc: OSError) -> OutputError:
    """Turn an OS failure into one actionable line (no traceback, no data)."""
    code = exc.errno
    if isinstance(exc, PermissionError) or code in (errno.EACCES, errno.EPERM, errno.EROFS):
        fix = (
            f"check the permissions of {path.parent} (and of {path} if it exists) "
            "or choose a writable directory"
        )
        what = "permission denied" if code != errno.EROFS else "read-only file system"
    elif code in (errno.ENOSPC, errno.EDQUOT):
        what, fix = "no space left on the device", "free some space or write elsewhere"
    elif code == errno.ENOENT and path.parent.is_dir():  # /proc and the like
        what = f"the directory {path.parent} does not accept new files"
        fix = "choose another output path"
    elif code == errno.ENOENT:
        what = f"the directory {path.parent} does not exist"
        fix = f"create it first (mkdir -p {path.parent}) or choose another output path"
    else:
        what = exc.strerror or type(exc).__name__
        fix = "check the path and try again, or choose another output path"
    return OutputError(f"cannot write {path}: {what}; {fix}")


@cache
def umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _final_mode(path: Path) -> int:
    """Keep an existing file's permissions; a new file gets the usual 0666 & ~umask."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return 0o666 & ~umask()


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDWR if os.name == "nt" else os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(directory: Path) -> None:
    """Persist the rename itself; not every platform or filesystem supports it."""
    if os.name == "nt":
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
