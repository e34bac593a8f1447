"""SVG charts for the HTML report: well-formed, self-contained, deterministic, null-safe."""

from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import polars as pl
import pytest

from cs_metrics.report import charts, charts_svg

SVG = "{http://www.w3.org/2000/svg}"
NAMESPACES = {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}
PERIODS = ["2026-05", "2026-06", "2026-07", "2026-08"]

MOVES = pl.DataFrame(
    {
        "period": PERIODS,
        "new_mrr": [1200.0, 800.0, None, 1500.0],
        "expansion_mrr": [300.0, 0.0, 450.0, 200.0],
        "reactivation_mrr": [0.0, 50.0, 0.0, 0.0],
        "contraction_mrr": [100.0, 0.0, 250.0, 80.0],
        "churned_mrr": [400.0, 900.0, 0.0, 120.0],
        "mrr": [20000.0, 19950.0, 20150.0, 21650.0],
    }
)
SERIES = pl.DataFrame(
    {
        "period": PERIODS,
        "nrr": [1.02, None, 0.98, 1.01],
        "grr": [0.97, 0.96, 0.95, 0.97],
        "nps": [12.0, -4.0, None, 31.0],
    }
)
BANDS = pl.DataFrame(
    {
        "band": ["green", "red", "yellow"],
        "accounts": [70, 12, 30],
        "previous_accounts": [65, 10, 33],
        "mrr": [90000.0, 4000.0, 21000.0],
    }
)
COHORTS = pl.DataFrame(
    {
        "cohort": ["2026-07", "2026-07", "2026-08", "all", "all"],
        "age": [0, 1, 0, 0, 1],
        "logo_retention": [1.0, 6 / 7, 1.0, 1.0, 0.85714],
    }
)


def render_all() -> dict[str, str]:
    return {
        "mrr": charts.mrr_movements(MOVES),
        "ratio": charts.trend(SERIES, {"nrr": "NRR", "grr": "GRR"}, "ratio"),
        "score": charts.trend(SERIES, {"nps": "NPS"}, "score"),
        "health": charts.health_bands(BANDS, ["red", "yellow", "green"]),
        "cohort": charts.cohort_heatmap(COHORTS),
        "spark": charts.sparkline_svg([1.0, None, 2.0, 3.5, 3.0]),
    }


@pytest.fixture(scope="module")
def rendered() -> dict[str, str]:
    return render_all()


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return root


def texts(root: ET.Element) -> list[str]:
    return [el.text or "" for el in root.iter(f"{SVG}text")]


def assert_embeddable(svg: str) -> ET.Element:
    """One <svg> element, no prolog, nothing fetched, accessible, responsive."""
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert "<?xml" not in svg and "DOCTYPE" not in svg
    assert "<image" not in svg
    assert set(re.findall(r"https?://[^\"'\s)]*", svg)) <= NAMESPACES
    root = parse(svg)
    assert root.get("role") == "img"
    assert root.get("aria-label")
    assert root.find(f"{SVG}title") is not None
    assert root.get("viewBox")
    return root


def test_every_chart_is_one_embeddable_svg(rendered: dict[str, str]) -> None:
    for name, svg in rendered.items():
        root = assert_embeddable(svg)
        if name != "spark":  # charts scale with the page; the sparkline has a cell's size
            assert root.get("width") == "100%" and root.get("height") is None
            assert "pt" not in root.get("viewBox", "")
            style = root.find(f"{SVG}defs/{SVG}style")
            assert style is not None and style.text.startswith(f"#{root.get('id')} ")


def test_same_input_same_bytes(rendered: dict[str, str]) -> None:
    assert render_all() == rendered


def test_ids_are_unique_across_charts_on_one_page(rendered: dict[str, str]) -> None:
    ids = re.findall(r'\bid="([^"]+)"', "".join(rendered.values()))
    assert len(ids) == len(set(ids))
    for svg in rendered.values():  # every reference points inside its own chart
        own = set(re.findall(r'\bid="([^"]+)"', svg))
        refs = re.findall(r'url\(#([^)]+)\)|href="#([^"]+)"', svg)
        assert {a or b for a, b in refs} <= own


def test_text_stays_text_with_a_generic_font_stack(rendered: dict[str, str]) -> None:
    svg = rendered["ratio"]
    assert "<text" in svg and "sans-serif" in svg
    assert "glyph" not in svg  # fonttype none: no embedded glyph paths


def test_mrr_movements_one_bar_group_per_period(rendered: dict[str, str]) -> None:
    ids = re.findall(r'id="csm-mrr-[0-9a-f]+-mrr-(\d+)-(\w+)"', rendered["mrr"])
    per_period: dict[str, set[str]] = {}
    for period, movement in ids:
        per_period.setdefault(period, set()).add(movement)
    assert sorted(per_period, key=int) == [str(i) for i in range(len(PERIODS))]
    movements = {"new", "expansion", "reactivation", "contraction", "churned"}
    assert all(found == movements for found in per_period.values())
    words = texts(parse(rendered["mrr"]))
    assert "$21,650" in words  # the ending MRR of the last period
    assert {"May", "Jun", "Jul", "Aug"} <= {w.split("\n")[0] for w in words}


def test_mrr_movements_without_ending_mrr_draws_one_panel() -> None:
    svg = charts.mrr_movements(MOVES.drop("mrr", "reactivation_mrr"))
    ids = re.findall(r'-mrr-(\d+)-reactivation"', svg)
    assert len(ids) == len(PERIODS)  # a missing movement is drawn as zero
    assert "$21,650" not in svg


def test_trend_labels_units_and_last_values(rendered: dict[str, str]) -> None:
    words = texts(parse(rendered["ratio"]))
    assert "101.0 %" in words and "97.0 %" in words  # last values, as tables show them
    assert any(w.endswith("%") and w != "101.0 %" for w in words)  # percent axis
    assert {"NRR", "GRR"} <= set(words)  # legend
    score = texts(parse(rendered["score"]))
    assert "31.0" in score and "0" in score  # last value; the zero line is in range


def test_trend_nulls_are_gaps_not_zeros() -> None:
    frame = SERIES.with_columns(pl.lit(None, pl.Float64).alias("grr"))
    svg = charts.trend(frame, {"nrr": "NRR", "grr": "GRR"}, "ratio")
    assert_embeddable(svg)
    assert "101.0 %" in texts(parse(svg))
    # the null-only series draws nothing: no "0.0 %" label for it
    assert "0.0 %" not in texts(parse(svg))


def test_health_bands_in_order_with_counts(rendered: dict[str, str]) -> None:
    root = parse(rendered["health"])
    words = texts(root)
    legend = [w for w in words if w in {"Red", "Yellow", "Green"}]
    assert legend == ["Red", "Yellow", "Green"]
    assert "70 · 62%" in words and "65 · 60%" in words
    assert "112 accounts" in words and "108 accounts" in words
    assert "Current MRR" in words
    fills = set(re.findall(r"fill: (#[0-9a-f]{6})", rendered["health"]))
    assert {"#ef4444", "#facc15", "#22c55e"} <= fills


def test_health_bands_unknown_names_and_no_previous() -> None:
    frame = pl.DataFrame(
        {"band": ["low", "high"], "accounts": [3, 5], "previous_accounts": [None, None]},
        schema={"band": pl.String, "accounts": pl.Int64, "previous_accounts": pl.Int64},
    )
    svg = charts.health_bands(frame, ["low", "high"])
    words = texts(assert_embeddable(svg))
    assert "Previous" not in words and "Current" in words and "8 accounts" in words


def test_cohort_heatmap_annotates_cells(rendered: dict[str, str]) -> None:
    words = texts(parse(rendered["cohort"]))
    assert words.count("100.0%") == 3
    assert words.count("85.7%") == 2  # 6/7 and the weighted average 0.85714
    assert "All cohorts" in words
    rows = [w for w in words if w in {"2026-07", "2026-08", "All cohorts"}]
    assert rows == ["2026-07", "2026-08", "All cohorts"]  # oldest on top, "all" last
    # the missing cell (2026-08 at age 1) is blank, not 0.0%
    assert "0.0%" not in words


def test_sparkline_breaks_at_nulls(rendered: dict[str, str]) -> None:
    root = parse(rendered["spark"])
    assert root.get("width") == "120" and root.get("height") == "28"
    lines = list(root.iter(f"{SVG}polyline"))
    assert len(lines) == 1 and len(lines[0].get("points").split()) == 3
    assert len(list(root.iter(f"{SVG}circle"))) == 2  # the lone first value, the last value


EMPTY_CASES = {
    "mrr empty": lambda: charts.mrr_movements(MOVES.head(0)),
    "mrr nulls": lambda: charts.mrr_movements(
        MOVES.select("period", *[pl.lit(None, pl.Float64).alias(c) for c in MOVES.columns[1:]])
    ),
    "trend empty": lambda: charts.trend(SERIES.head(0), {"nps": "NPS"}, "score"),
    "trend nulls": lambda: charts.trend(
        SERIES.with_columns(pl.lit(None, pl.Float64).alias("nps")), {"nps": "NPS"}, "score"
    ),
    "health empty": lambda: charts.health_bands(BANDS.head(0), ["red"]),
    "health nulls": lambda: charts.health_bands(
        BANDS.with_columns(pl.lit(None, pl.Int64).alias(c) for c in BANDS.columns[1:]), ["red"]
    ),
    "cohort empty": lambda: charts.cohort_heatmap(COHORTS.head(0)),
    "cohort nulls": lambda: charts.cohort_heatmap(
        COHORTS.with_columns(pl.lit(None, pl.Float64).alias("logo_retention"))
    ),
    "spark empty": lambda: charts.sparkline_svg([]),
    "spark nulls": lambda: charts.sparkline_svg([None, float("nan")]),
}


@pytest.mark.parametrize("case", EMPTY_CASES)
def test_no_data(case: str) -> None:
    svg = EMPTY_CASES[case]()
    root = assert_embeddable(svg)
    assert texts(root) == ["no data"]
    assert EMPTY_CASES[case]() == svg


def test_axis_numbers() -> None:
    assert charts_svg._money(12_300, "USD") == "$12.3k"
    assert charts_svg._money(1_250_000, "EUR") == "€1.25M"
    assert charts_svg._money(-5_000, "USD") == "\u2212$5k"
    assert charts_svg._money(999_960, "USD") == "$1M"
    assert charts_svg._money(800, "SEK") == "800 SEK"
    assert charts_svg._period_labels(["2025-12", "2026-01", "2026-02"]) == [
        "Dec\n2025",
        "Jan\n2026",
        "Feb",
    ]
    assert charts_svg._period_labels(["2026-Q1", "2026-Q2"]) == ["Q1\n2026", "Q2"]
    assert charts_svg._period_labels(["2026-W01"]) == ["2026-W01"]


def test_importing_charts_leaves_matplotlib_unloaded() -> None:
    code = "import sys, cs_metrics.report.charts; sys.exit('matplotlib' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
