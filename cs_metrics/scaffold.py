"""Scaffold a working project (``csm init``): the spec, its JSON Schema, the sample exports.

One source of truth: the spec template ships in the package (``templates/metrics.yaml``),
so an installed ``csm`` can scaffold without the repository. The repository's own
``metrics.yaml`` is that template with line 1 pointing at ``docs/metrics.schema.json``
(tests/test_init.py fails when they drift; ``python -m cs_metrics.scaffold`` rewrites it).

Nothing is written when a target exists (unless ``force``); each file is written
atomically, and ``sample_data/`` is generated next to the target and swapped in whole.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from cs_metrics.atomic import atomic_write_text, umask
from cs_metrics.errors import OutputError

SPEC_NAME = "metrics.yaml"
SCHEMA_NAME = "metrics.schema.json"
SAMPLE_DIR = "sample_data"
SCHEMA_COMMENT = "# yaml-language-server: $schema="
INIT_SCHEMA_PATH = f"./{SCHEMA_NAME}"
REPO_SCHEMA_PATH = "docs/metrics.schema.json"


def template_text() -> str:
    """The spec template as shipped (line 1 points at ./metrics.schema.json)."""
    return (
        resources.files("cs_metrics").joinpath("templates", SPEC_NAME).read_text(encoding="utf-8")
    )


def render_spec(schema_path: str = INIT_SCHEMA_PATH) -> str:
    """The template with line 1 pointing at ``schema_path``."""
    first, rest = template_text().split("\n", 1)
    if not first.startswith(SCHEMA_COMMENT):
        raise RuntimeError(f"templates/{SPEC_NAME}: line 1 must be the schema comment")
    return f"{SCHEMA_COMMENT}{schema_path}\n{rest}"


SAMPLE_END = "2026-10-31"  # the template's as_of: the sample's default last day


def sample_spec(end: str | None = None) -> str:
    """The template for the exports of `csm sample -o DIR`, written as DIR/metrics.yaml:
    source paths relative to DIR, ``as_of`` the sample's last day (``end``)."""
    text = render_spec()
    text = text.replace("path: sample_data/", "path: ").replace('path: "sample_data/', 'path: "')
    text = text.replace("exports in sample_data/ (`csm sample`", "exports beside it (`csm sample`")
    if end:
        text = text.replace(f"as_of: {SAMPLE_END}", f"as_of: {end}", 1)
    return text


def write_sample_spec(directory: Path, end: str | None = None) -> Path | None:
    """Write :func:`sample_spec` to ``directory``/metrics.yaml (and the JSON Schema its
    line 1 names, when missing), unless a metrics.yaml is there (returns None then: a spec
    someone wrote is never replaced)."""
    target = Path(directory) / SPEC_NAME
    if target.exists() or target.is_symlink():
        return None
    schema = Path(directory) / SCHEMA_NAME
    if not (schema.exists() or schema.is_symlink()):
        atomic_write_text(schema, schema_text())
    atomic_write_text(target, sample_spec(end))
    return target


def schema_text() -> str:
    """metrics.yaml's JSON Schema, as `csm schema` prints it and `csm init` writes it."""
    from cs_metrics.spec.models import json_schema  # pydantic: not at `csm --help`

    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"


@dataclass
class Scaffold:
    """What ``scaffold`` wrote."""

    directory: Path
    written: list[Path] = field(default_factory=list)
    sample_files: int = 0


def existing_targets(directory: Path, *, sample: bool = True) -> list[Path]:
    """The scaffold's targets that already exist (an empty sample_data/ does not count)."""
    found = [directory / n for n in (SPEC_NAME, SCHEMA_NAME) if (directory / n).exists()]
    data = directory / SAMPLE_DIR
    in_the_way = data.is_symlink() or data.is_file() or (data.is_dir() and any(data.iterdir()))
    if sample and in_the_way:
        found.append(data)
    return found


def scaffold(directory: Path, *, force: bool = False, sample: bool = True) -> Scaffold:
    """Write metrics.yaml, metrics.schema.json and (unless ``sample=False``) sample_data/
    into ``directory`` (created if missing). Raises OutputError (exit 73) when a target
    exists and ``force`` is not set (nothing is written), or when the directory is not
    writable."""
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise OutputError(
            f"cannot initialise {directory}: it is a file, not a directory; choose another DIR"
        )
    if not force:
        try:
            found = existing_targets(directory, sample=sample)
        except OSError as exc:
            raise OutputError(
                f"cannot initialise {directory}: {exc.strerror}; choose a readable directory"
            ) from None
        if found:
            listed = ", ".join(f"{p}/" if p.is_dir() else str(p) for p in found)
            raise OutputError(
                f"{listed} already exist{'s' if len(found) == 1 else ''}: nothing written; "
                "use --force to overwrite"
            )
    _writable_dir(directory)
    done = Scaffold(directory)
    if sample:  # first: the slowest step and the likeliest to fail (disk space)
        done.sample_files = _write_sample(directory / SAMPLE_DIR)
        done.written.append(directory / SAMPLE_DIR)
    atomic_write_text(directory / SCHEMA_NAME, schema_text())
    done.written.append(directory / SCHEMA_NAME)
    atomic_write_text(directory / SPEC_NAME, render_spec())
    done.written.append(directory / SPEC_NAME)
    return done


def _writable_dir(directory: Path) -> None:
    """Create ``directory`` and prove a file can be created in it, or raise OutputError."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".csm-init.", suffix=".tmp", dir=directory)
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        raise OutputError(
            f"cannot write to {directory}: {why}; check its permissions or choose another DIR"
        ) from None
    os.close(fd)
    os.unlink(probe)


def _write_sample(target: Path) -> int:
    """Generate the sample next to ``target`` and swap it in (never half a directory)."""
    from cs_metrics.sample import generate  # polars: not at `csm --help`

    parent = target.parent
    fresh = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=parent))
    old: Path | None = None
    try:
        written = generate(fresh)  # the defaults that made the committed sample_data/
        os.chmod(fresh, 0o777 & ~umask())  # mkdtemp makes it private; the sample is not
        if target.is_symlink() or target.is_file():
            target.unlink()
        elif target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=parent))
            os.replace(target, old / target.name)
        os.replace(fresh, target)
    except OSError as exc:
        shutil.rmtree(fresh, ignore_errors=True)
        if old is not None and not target.exists():
            with contextlib.suppress(OSError):
                os.replace(old / target.name, target)  # put the previous sample back
        raise OutputError(
            f"cannot write {target}: {exc.strerror or type(exc).__name__}; "
            "free some space or check the permissions, then run csm init again"
        ) from None
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return sum(len(files) for files in written.values())


if __name__ == "__main__":  # python -m cs_metrics.scaffold [SPEC]: rewrite the repo's spec
    atomic_write_text(
        Path(sys.argv[1] if len(sys.argv) > 1 else SPEC_NAME), render_spec(REPO_SCHEMA_PATH)
    )
