"""A YAML loader that remembers where every node came from.

Phase one of spec parsing: safe-load the text into plain Python data, recording the
line and column of every mapping key and value in a side table keyed by the node's path
(``("metrics", "mrr", "type")``). Duplicate keys (PyYAML silently keeps the last one) and
YAML 1.1's ambiguous booleans (yes/no/on/off) are reported as problems, not accepted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cs_metrics.errors import Problem

Path_ = tuple[Any, ...]

_AMBIGUOUS_BOOLS = {"yes", "no", "on", "off", "y", "n"}
_COLLECTION_TAGS = {"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}


@dataclass
class Loaded:
    data: Any
    positions: dict[Path_, tuple[int, int]] = field(default_factory=dict)  # 1-based line, col
    file: str = ""
    problems: list[Problem] = field(default_factory=list)

    def where(self, path: Path_) -> str:
        """'file:line:col' of the deepest known node on ``path``."""
        p = tuple(path)
        while p and p not in self.positions:
            p = p[:-1]
        line, col = self.positions.get(p, (1, 1))
        return f"{self.file}:{line}:{col}"


class _Builder:
    def __init__(self, file: str) -> None:
        self.file = file
        self.positions: dict[Path_, tuple[int, int]] = {}
        self.problems: list[Problem] = []
        self._ctor = yaml.SafeLoader("")

    def loc(self, node: yaml.Node) -> str:
        return f"{self.file}:{node.start_mark.line + 1}:{node.start_mark.column + 1}"

    def build(self, node: yaml.Node, path: Path_) -> Any:
        self.positions.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
        if (
            isinstance(node, yaml.MappingNode | yaml.SequenceNode)
            and node.tag not in _COLLECTION_TAGS
        ):
            self.problems.append(
                Problem(
                    f"unsupported YAML tag {node.tag!r}: remove it (a spec is plain YAML)",
                    self.loc(node),
                    code="yaml",
                )
            )
        if isinstance(node, yaml.MappingNode):
            self._ctor.flatten_mapping(node)
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = self.build_scalar(key_node)
                if not isinstance(key, str | int | float | bool) or key is None:
                    self.problems.append(
                        Problem("mapping keys must be plain text", self.loc(key_node))
                    )
                    continue
                if key in out:
                    first = self.positions.get((*path, key), (0, 0))
                    self.problems.append(
                        Problem(
                            f"duplicate key {key!r} (first defined on line {first[0]}); "
                            "YAML would silently keep only the last one: remove or rename one",
                            self.loc(key_node),
                            code="duplicate-key",
                        )
                    )
                    continue
                self.positions[(*path, key)] = (
                    key_node.start_mark.line + 1,
                    key_node.start_mark.column + 1,
                )
                out[key] = self.build(value_node, (*path, key))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        return self.build_scalar(node)

    def build_scalar(self, node: yaml.Node) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            self.problems.append(Problem("expected a plain value here", self.loc(node)))
            return None
        try:
            value = self._ctor.construct_object(node, deep=True)
        except ValueError as exc:  # e.g. 2026-13-45 matches YAML's timestamp pattern
            self._ctor.recursive_objects.pop(node, None)
            what = "date" if node.tag.endswith(":timestamp") else "value"
            fix = "; write YYYY-MM-DD" if what == "date" else ""
            self.problems.append(
                Problem(
                    f"{node.value!r} is not a valid {what}: {exc}{fix}",
                    self.loc(node),
                    code="yaml",
                )
            )
            return None
        if (
            isinstance(value, bool)
            and node.tag == "tag:yaml.org,2002:bool"
            and node.style is None
            and node.value.lower() in _AMBIGUOUS_BOOLS
        ):
            self.problems.append(
                Problem(
                    f"{node.value!r} is read as a boolean by YAML: write true or false, "
                    f"or quote it ('{node.value}') if you mean the text",
                    self.loc(node),
                    code="ambiguous-bool",
                )
            )
        return value


def load_yaml_text(text: str, file: str = "<spec>") -> Loaded:
    """Parse YAML text. Syntax errors become a single problem with the position."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{file}:{mark.line + 1}:{mark.column + 1}" if mark else file
        what = exc.problem or "invalid YAML"
        ctx = f" ({exc.context})" if exc.context else ""
        return Loaded(
            None, {}, file, [Problem(f"YAML syntax error: {what}{ctx}", where, code="yaml")]
        )
    except yaml.YAMLError as exc:
        return Loaded(None, {}, file, [Problem(f"YAML syntax error: {exc}", file, code="yaml")])
    if root is None:
        return Loaded({}, {}, file)
    builder = _Builder(file)
    try:
        data = builder.build(root, ())
    except yaml.YAMLError as exc:  # e.g. a bad !tag
        mark = getattr(exc, "problem_mark", None)
        where = f"{file}:{mark.line + 1}:{mark.column + 1}" if mark else file
        what = getattr(exc, "problem", None) or str(exc)  # not PyYAML's multi-line excerpt
        return Loaded(None, {}, file, [Problem(f"YAML error: {what}", where, code="yaml")])
    return Loaded(data, builder.positions, file, builder.problems)


def load_yaml(path: Path) -> Loaded:
    return load_yaml_text(path.read_text(encoding="utf-8"), str(path))
