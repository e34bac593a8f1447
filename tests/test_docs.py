"""The generated reference docs and JSON Schema must match the code (no drift)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
import gen_docs as docs  # tools/ is not a package: a developer script

from cs_metrics.metrics.registry import load_all


@pytest.mark.parametrize("path", sorted(docs.generated()), ids=lambda p: p.name)
def test_generated_docs_are_current(path):
    expected = docs.generated()[path]
    assert path.is_file(), f"{path} missing: run `uv run python tools/gen_docs.py`"
    assert path.read_text(encoding="utf-8") == expected, (
        f"{path.name} is stale: run `uv run python tools/gen_docs.py` and commit the result"
    )


def test_schema_lists_every_metric_type():
    schema = json.loads(docs.schema_json())
    text = json.dumps(schema)
    for name in load_all():
        assert f'"const": "{name}"' in text


def test_catalogue_documents_every_metric():
    md = docs.metrics_md()
    for name, mt in load_all().items():
        assert f"`{name}`" in md
        assert mt.formula.replace("|", "\\|") in md
