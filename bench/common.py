"""Shared by the benchmark scripts: cached `csm sample` data and best-of-N timing."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def sample_data(accounts: int, months: int, spec_name: str, spec: str) -> Path:
    """bench/.data/<accounts>x<months>, generated once by `csm sample --seed 1`, plus the spec."""
    folder = HERE / ".data" / f"{accounts}x{months}"
    if not (folder / "accounts.csv").is_file() or not (folder / "usage").is_dir():
        print(
            f"generating {accounts:,} accounts x {months} months into {folder} ...", file=sys.stderr
        )
        t = time.perf_counter()
        cmd = [
            sys.executable,
            "-m",
            "cs_metrics",
            "sample",
            "--accounts",
            str(accounts),
            "--months",
            str(months),
            "--seed",
            "1",
            "-o",
            str(folder),
        ]
        subprocess.run(cmd, check=True)
        print(f"  {time.perf_counter() - t:.1f} s", file=sys.stderr)
    (folder / spec_name).write_text(spec)
    return folder


def best(fn, repeat: int) -> tuple[float, object, float]:
    """Best wall time, the last result, and the best CPU time (all threads of the process:
    steadier than wall time on a machine shared with other work)."""
    times, cpus, out = [], [], None
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        times.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    return min(times), out, min(cpus)
