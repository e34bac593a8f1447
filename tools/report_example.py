"""Regenerate the committed example report, ``docs/example-report/``.

    uv run python tools/report_example.py [DIR]

It runs the default report over the bundled sample data (``metrics.yaml``, as of
2026-10-31) as cron would on 2026-11-01 at 06:00 UTC (``SOURCE_DATE_EPOCH`` fixes the
"generated" time, so the files only change when the code or the data does), keeps the
summaries and the workbook (the CSVs hold the same tables; ``csm report`` writes them
too), and takes a full-page screenshot, ``summary.png``, with headless Chromium through
playwright (skipped, with a message, where either is missing).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import sys
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DIR = REPO / "docs" / "example-report"
FORMATS = ("md", "html", "xlsx")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> str | None:
    """Debian's chromium (what .ci/run installs), else one on PATH."""
    if Path("/usr/bin/chromium").exists():
        return "/usr/bin/chromium"
    return shutil.which("chromium") or shutil.which("chromium-browser")


def generate(out_dir: Path) -> Path:
    """Write the example bundle into ``out_dir`` (atomically, like ``csm report``)."""
    from cs_metrics.report import report_settings, run_report
    from cs_metrics.spec import load_spec
    from cs_metrics.timeframe import data_end

    out_dir = Path(out_dir).resolve()
    with contextlib.chdir(REPO):  # paths in the report read "metrics.yaml", "sample_data/..."
        spec = load_spec("metrics.yaml")
        cron = datetime.combine(data_end(spec, None) + timedelta(days=1), time(6), UTC)
        os.environ["SOURCE_DATE_EPOCH"] = str(int(cron.timestamp()))
        settings = dataclasses.replace(report_settings(spec)[0], formats=FORMATS)
        run = run_report(spec, settings, out_dir=out_dir)
    return run.directory


def screenshot(html: Path, png: Path, width: int = 1280) -> bool:
    """A full-page PNG of ``html`` (palette-quantised to stay small); False when skipped."""
    chromium = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("playwright is not installed: no screenshot", file=sys.stderr)
        return False
    if chromium is None:
        print("chromium is not installed: no screenshot", file=sys.stderr)
        return False
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.goto(html.resolve().as_uri(), wait_until="load")
            raw = page.screenshot(full_page=True, type="png")
        finally:
            browser.close()
    _save_small(raw, png)
    return True


def _save_small(raw: bytes, png: Path) -> None:
    import io

    try:
        from PIL import Image
    except ImportError:
        png.write_bytes(raw)
        return
    image = Image.open(io.BytesIO(raw)).convert("RGB")
    image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
        png, optimize=True
    )


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0]) if args else DEFAULT_DIR
    directory = generate(out)
    shot = screenshot(directory / "summary.html", directory / "summary.png")
    files = sorted(p.name for p in directory.iterdir() if not p.name.startswith("."))
    print(f"wrote {directory}: {', '.join(files)}" + ("" if shot else " (no screenshot)"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
