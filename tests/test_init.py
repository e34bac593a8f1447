"""`csm init [DIR]`: the scaffolded project works, matches the repo, and never clobbers."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import pytest
from helpers import REPO, invoke, run_subprocess

from cs_metrics.scaffold import REPO_SCHEMA_PATH, render_spec, template_text
from cs_metrics.spec import load_spec
from cs_metrics.spec.models import json_schema

SCAFFOLD = ("metrics.yaml", "metrics.schema.json", "sample_data")

# The commented examples of the template: (its first line, as written, number of lines).
# Uncommenting one means deleting the "# " after its indentation.
EXAMPLES = [
    ("# dtypes: {employees: int, plan: string}", 1),
    ("# format: parquet", 1),
    ("# options:", 7),
    ('# segment: "CASE WHEN plan IN', 1),
    ("# emea_mrr:", 1),
    ("# mrr_growth:", 3),  # mrr_growth, mrr_added, addon_revenue
    ("# email_tickets:", 1),
    ("# revenue: {metric: mrr, change: absolute", 1),
    ("# segments:", 7),
    ("# - name: contraction", 4),
]
REPORTS_STUB = "# reports:"


def uncomment(text: str, first: str, count: int) -> str:
    lines = text.split("\n")
    starts = [i for i, line in enumerate(lines) if line.lstrip().startswith(first)]
    assert len(starts) == 1, f"{first!r} is not one line of the template ({len(starts)} found)"
    for i in range(starts[0], starts[0] + count):
        line = lines[i]
        col = len(line) - len(line.lstrip())
        assert line[col : col + 2] == "# ", f"line {i + 1} is not a commented example: {line!r}"
        lines[i] = line[:col] + line[col + 2 :]
    return "\n".join(lines)


def same_csv(a: str, b: str) -> bool:
    """Equal CSV text, but for the last bits of a float: a float sum's order is not fixed
    from run to run (arr shows ...040008 or ...040007999), in the repo as anywhere."""
    rows_a = list(csv.reader(io.StringIO(a)))
    rows_b = list(csv.reader(io.StringIO(b)))
    if len(rows_a) != len(rows_b):
        return False
    for ra, rb in zip(rows_a, rows_b, strict=True):
        if ra == rb:
            continue
        keys_a = [c for i, c in enumerate(ra) if i != 2]
        keys_b = [c for i, c in enumerate(rb) if i != 2]
        try:
            close = float(ra[2]) == pytest.approx(float(rb[2]), rel=1e-12)
        except (ValueError, IndexError):
            return False
        if keys_a != keys_b or not close:
            return False
    return True


def files_state(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under folder -> (bytes, mtime_ns)."""
    return {
        str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """One scaffolded project (with sample data), shared by the read-only tests."""
    folder = tmp_path_factory.mktemp("init") / "my-metrics"
    invoke(
        ["init", folder],
        stderr=[
            "metrics.yaml",
            "metrics.schema.json",
            "sample_data",
            f"cd {folder} && csm compute",
        ],
    )
    return folder


# --------------------------------------------------------------------------- what it writes


def test_compute_in_the_project_equals_the_repo(project):
    here = invoke(["compute", "-f", "csv", "--spec", project / "metrics.yaml"]).stdout
    repo = invoke(["compute", "-f", "csv", "--spec", REPO / "metrics.yaml"]).stdout
    assert same_csv(here, repo)
    assert len(here.splitlines()) > 50


def test_sample_data_is_the_committed_sample(project):
    ours = {p.relative_to(project / "sample_data") for p in (project / "sample_data").rglob("*")}
    committed = {
        p.relative_to(REPO / "sample_data")
        for p in (REPO / "sample_data").rglob("*")
        if p.name != "SOURCES.yaml"
    }
    assert ours == committed
    for rel in ours:
        if (project / "sample_data" / rel).is_file():
            assert (project / "sample_data" / rel).read_bytes() == (
                REPO / "sample_data" / rel
            ).read_bytes(), rel


def test_validate_passes(project):
    invoke(["validate", "--spec", project / "metrics.yaml"], stderr="ok: ")


def test_validate_from_inside_the_project(project):
    invoke(["validate"], cwd=project, stderr="ok: metrics.yaml")


def test_line_1_points_at_the_schema_written_beside_it(project):
    spec = (project / "metrics.yaml").read_text(encoding="utf-8")
    assert spec.splitlines()[0] == "# yaml-language-server: $schema=./metrics.schema.json"
    schema = json.loads((project / "metrics.schema.json").read_text(encoding="utf-8"))
    assert schema == json_schema()


def test_modes_are_ordinary(project):
    assert (project / "sample_data").stat().st_mode & 0o755 == 0o755 or os.name == "nt"


# --------------------------------------------------------------------------- one source of truth


def test_repo_metrics_yaml_is_the_template():
    """The repo's metrics.yaml is the packaged template, line 1 apart."""
    repo = (REPO / "metrics.yaml").read_text(encoding="utf-8")
    assert repo == render_spec(REPO_SCHEMA_PATH), (
        "metrics.yaml and cs_metrics/templates/metrics.yaml drifted: edit the template, then "
        "run `uv run python -m cs_metrics.scaffold` to rewrite metrics.yaml from it"
    )


def test_template_ships_inside_the_package():
    from importlib import resources

    assert resources.files("cs_metrics").joinpath("templates", "metrics.yaml").is_file()
    assert template_text().startswith("# yaml-language-server: $schema=./metrics.schema.json\n")


# --------------------------------------------------------------------------- commented examples


@pytest.mark.parametrize(("first", "count"), EXAMPLES, ids=[e[0][2:20] for e in EXAMPLES])
def test_each_commented_example_is_valid_when_uncommented(project, first, count):
    path = project / f"example-{EXAMPLES.index((first, count))}.yaml"
    path.write_text(uncomment(render_spec(), first, count), encoding="utf-8")
    spec = load_spec(path)
    assert not [w for w in spec.warnings if w.level == "error"]


def test_all_examples_together_compute_and_change_nothing_else(project):
    text = render_spec()
    for first, count in EXAMPLES:
        text = uncomment(text, first, count)
    path = project / "all-examples.yaml"
    path.write_text(text, encoding="utf-8")
    added = ["emea_mrr", "mrr_growth", "mrr_added", "addon_revenue", "email_tickets"]
    spec = load_spec(path)
    assert set(added) <= set(spec.model.metrics)
    assert spec.model.health.segments and spec.model.alerts[-1].name == "contraction"

    # the source options shown are harmless on the sample: every default metric is unchanged
    # but the health ones (the examples add a component and segments to the score)
    health = {n for n, m in spec.model.metrics.items() if m.type.startswith("health_")}
    base = invoke(["compute", "-f", "csv", "--spec", project / "metrics.yaml"]).stdout
    got = invoke(["compute", "-f", "csv", "--spec", path]).stdout
    new = [line for line in got.splitlines() if line.split(",")[1] in added]
    rest = [line for line in got.splitlines() if line not in new]
    assert same_csv(
        "".join(f"{line}\n" for line in rest if line.split(",")[1] not in health),
        "".join(f"{line}\n" for line in base.splitlines() if line.split(",")[1] not in health),
    )
    assert len(health) == 4
    assert len(new) == len(added) and all(line.split(",")[2] for line in new), new
    invoke(["compute", "mrr", "--by", "segment", "--spec", path, "-f", "csv"], stdout="upmarket")
    invoke(["health", "--spec", path, "-f", "csv"], stdout="segment")
    invoke(["alerts", "--spec", path, "-f", "csv"])


def test_reports_stub_stays_commented():
    text = render_spec()
    assert "\nreports:" not in text and f"\n{REPORTS_STUB}" in text


def test_reports_stub_is_valid_when_uncommented(project):
    from cs_metrics.spec.models import SpecBase

    if "reports" not in SpecBase.model_fields:
        pytest.skip("this build has no reports: section yet")
    path = project / "reports-example.yaml"
    path.write_text(uncomment(render_spec(), REPORTS_STUB, 7), encoding="utf-8")
    assert list(load_spec(path).model.reports) == ["monthly"]


# --------------------------------------------------------------------------- refusing, --force


def test_refuses_to_overwrite_and_writes_nothing(project):
    before = files_state(project)
    r = invoke(
        ["init", project],
        code=73,
        stderr=[*(str(project / n) for n in SCAFFOLD), "use --force to overwrite"],
    )
    assert len(r.stderr.strip().splitlines()) == 1
    assert files_state(project) == before


def test_one_existing_file_is_enough_to_refuse(tmp_path):
    (tmp_path / "metrics.schema.json").write_text("{}")
    r = invoke(["init", tmp_path], code=73, stderr="metrics.schema.json already exists")
    assert "metrics.yaml," not in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.schema.json"]


def test_a_non_empty_sample_data_is_enough_to_refuse(tmp_path):
    (tmp_path / "sample_data").mkdir()
    (tmp_path / "sample_data" / "mine.csv").write_text("a\n1\n")
    invoke(["init", tmp_path], code=73, stderr=["sample_data/ already exists", "--force"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sample_data"]


def test_an_empty_sample_data_is_not_in_the_way(tmp_path):
    (tmp_path / "sample_data").mkdir()
    invoke(["init", tmp_path])
    assert (tmp_path / "sample_data" / "accounts.csv").is_file()


def test_force_overwrites_and_regenerates_the_sample(tmp_path):
    (tmp_path / "metrics.yaml").write_text("version: 1\n")
    (tmp_path / "metrics.schema.json").write_text("{}")
    (tmp_path / "sample_data" / "usage").mkdir(parents=True)
    (tmp_path / "sample_data" / "usage" / "events-1999-01.parquet").write_text("stale")
    (tmp_path / "sample_data" / "accounts.csv").write_text("id\nx\n")
    invoke(["init", tmp_path, "--force"], stderr="wrote")
    assert (tmp_path / "metrics.yaml").read_text(encoding="utf-8") == render_spec()
    assert json.loads((tmp_path / "metrics.schema.json").read_text()) == json_schema()
    assert not (tmp_path / "sample_data" / "usage" / "events-1999-01.parquet").exists()
    accounts = (tmp_path / "sample_data" / "accounts.csv").read_bytes()
    assert accounts == (REPO / "sample_data" / "accounts.csv").read_bytes()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_no_sample_writes_the_spec_only(tmp_path):
    r = invoke(["init", tmp_path / "p", "--no-sample"], stderr=["--no-sample", "csm sample -o"])
    assert sorted(p.name for p in (tmp_path / "p").iterdir()) == [
        "metrics.schema.json",
        "metrics.yaml",
    ]
    assert "./sample_data/" in r.stderr
    spec = load_spec(tmp_path / "p" / "metrics.yaml")
    assert spec.model.sources["accounts"].path == "sample_data/accounts.csv"


def test_no_sample_ignores_an_existing_sample_data(tmp_path):
    (tmp_path / "sample_data").mkdir()
    (tmp_path / "sample_data" / "mine.csv").write_text("a\n1\n")
    invoke(["init", tmp_path, "--no-sample"])
    assert [p.name for p in (tmp_path / "sample_data").iterdir()] == ["mine.csv"]


def test_default_dir_is_the_current_one(tmp_path):
    r = invoke(["init", "--no-sample"], cwd=tmp_path)
    assert (tmp_path / "metrics.yaml").is_file()
    assert "  csm compute" in r.stderr and "cd " not in r.stderr


def test_quiet_prints_nothing(tmp_path):
    r = invoke(["init", tmp_path, "--no-sample", "--quiet"])
    assert r.stdout == "" and r.stderr == ""


# --------------------------------------------------------------------------- cannot write


def test_dir_that_is_a_file(tmp_path):
    (tmp_path / "f").write_text("x")
    r = invoke(["init", tmp_path / "f"], code=73, stderr="is a file, not a directory")
    assert "Traceback" not in r.stderr


def test_dir_that_cannot_be_created(tmp_path):
    (tmp_path / "f").write_text("x")
    r = invoke(["init", tmp_path / "f" / "sub"], code=73, stderr=["cannot write to", "choose"])
    assert len(r.stderr.strip().splitlines()) == 1


@pytest.mark.skipif(os.name == "nt" or os.geteuid() == 0, reason="root can write anywhere")
def test_read_only_dir(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        invoke(["init", ro], code=73, stderr=["cannot write to", "ermission denied"])
        assert list(ro.iterdir()) == []
    finally:
        ro.chmod(0o755)


def test_end_to_end_in_a_real_process(tmp_path):
    run_subprocess(
        ["init", "--no-sample", "--no-color", tmp_path / "x"], stderr="wrote", cwd=tmp_path
    )
    run_subprocess(["init", tmp_path / "x"], code=73, stderr="use --force to overwrite")


# --------------------------------------------------------------------------- the missing-spec hint


def test_missing_spec_suggests_csm_init(tmp_path):
    r = invoke(["compute"], code=66, cwd=tmp_path, stderr=["run `csm init`", "--spec", "CSM_SPEC"])
    assert len(r.stderr.strip().splitlines()) == 1
