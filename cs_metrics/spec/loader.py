"""A YAML loader that remembers where every node came from.

Phase one of spec parsing: safe-load the text into plain Python data, recording the
line and column of every mapping key and value in a side table keyed by the node's path
(``("metrics", "mrr", "type")``). Duplicate keys (PyYAML silently keeps the last one) and
YAML 1.1's ambiguous booleans (yes/no/on/off) are reported as problems, not accepted.

Hostile input is refused, never run or expanded without bound (docs/spec-safety.md): only
plain YAML scalar tags are constructed (no ``!!python/...``), nesting deeper than
:data:`MAX_DEPTH`, more than :data:`MAX_NODES` values once aliases are expanded (the
"billion laughs" bomb), files over :data:`MAX_BYTES` and bytes that are not UTF-8 each
become one problem with a location.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.resolver import Resolver

from cs_metrics.errors import Problem

Path_ = tuple[Any, ...]

_AMBIGUOUS_BOOLS = {"yes", "no", "on", "off", "y", "n"}
MERGE_TAG = "tag:yaml.org,2002:merge"  # `<<: *anchor`
_COLLECTION_TAGS = {"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}
_SCALAR_TAGS = {
    f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "timestamp")
}

MAX_BYTES = 1024 * 1024  # a generous spec is a few hundred kilobytes
MAX_DEPTH = 64  # mappings and lists inside each other; a real spec nests about 6 deep
MAX_NODES = 100_000  # values once aliases are expanded; a real spec has a few thousand


class _TooLarge(Exception):
    """The spec nests past MAX_DEPTH through aliases while it is built."""

    def __init__(self, path: Path_, node: yaml.Node, what: str) -> None:
        super().__init__(what)
        self.path, self.node, self.what = path, node, what


class _Depth:
    """Refuses nesting deeper than MAX_DEPTH while composing (PyYAML's composer recurses, so
    a deep document used to end in a RecursionError)."""

    _depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise yaml.composer.ComposerError(
                    None,
                    None,
                    _too_deep(),
                    self.peek_event().start_mark,  # type: ignore[attr-defined]
                )
            return super().compose_node(parent, index)  # type: ignore[misc]
        finally:
            self._depth -= 1


class _SpecLoader(_Depth, yaml.SafeLoader):
    """PyYAML's safe loader (pure Python), with the depth limit: it words every error."""


try:  # libyaml's parser (in PyYAML's wheels): the same events, parsed ~5x faster
    from yaml._yaml import CParser as _CParser
except ImportError:  # PyYAML built without libyaml: the pure-Python loader does it all
    _CParser = None

if _CParser is not None:

    class _FastLoader(_Depth, Composer, _CParser, SafeConstructor, Resolver):  # type: ignore[misc, valid-type]
        """libyaml parses, PyYAML's own composer and resolver build the nodes (so tags,
        anchors and marks are the pure loader's); any error is left to :class:`_SpecLoader`,
        which words it."""

        def __init__(self, stream: str) -> None:
            _CParser.__init__(self, stream)
            Composer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return list(node.value) if isinstance(node, yaml.SequenceNode) else []


def _expansion_problem(root: yaml.Node, file: str) -> Problem | None:
    """Count the values the document stands for once aliases are expanded, without expanding
    them: each distinct node is sized once (its children's sizes summed, capped), so the
    "billion laughs" bomb is answered in milliseconds. An alias inside its own anchor (a
    value containing itself) is found on the way."""
    size: dict[int, int] = {}
    open_: set[int] = set()  # nodes whose subtree is being sized
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            open_.discard(key)
            size[key] = min(MAX_NODES + 1, 1 + sum(size[id(c)] for c in _children(node)))
            continue
        if key in size:
            continue
        if key in open_:
            return Problem(
                "an alias *name inside the value its &name anchors makes a value that contains "
                "itself, without end: remove the alias",
                _at(file, node.start_mark),
                code="yaml",
            )
        open_.add(key)
        stack.append((node, True))
        stack += [(c, False) for c in reversed(_children(node)) if id(c) not in size]
    if size[id(root)] <= MAX_NODES:
        return None
    where, total = root, 1
    if isinstance(root, yaml.MappingNode):  # name the top-level key where the limit is crossed
        for key_node, value_node in root.value:
            total += size[id(key_node)] + size[id(value_node)]
            if total > MAX_NODES:
                where = key_node
                break
    label = f"{where.value}: " if isinstance(where, yaml.ScalarNode) else ""
    return Problem(
        f"{label}the spec expands to more than {MAX_NODES:,} values (aliases such as *name "
        "repeat what &name anchors, so a few lines can stand for billions of values): write "
        "the values out instead of nesting aliases",
        _at(file, where.start_mark),
        code="yaml",
    )


def _unsupported(tag: str, why: str = "") -> str:
    return (
        f"unsupported YAML tag {tag!r}:{why} remove it (a spec is plain YAML; tags such as "
        "!!python/... are refused, never run)"
    )


def _too_deep() -> str:
    return (
        f"the spec nests lists and mappings more than {MAX_DEPTH} levels deep (a real spec "
        "needs fewer than 10): flatten it"
    )


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
        if len(path) > MAX_DEPTH:  # an alias can nest what its anchor nests
            raise _TooLarge(path, node, _too_deep())
        self.positions.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
        if (
            isinstance(node, yaml.MappingNode | yaml.SequenceNode)
            and node.tag not in _COLLECTION_TAGS
        ):
            self.problems.append(
                Problem(
                    _unsupported(node.tag),
                    self.loc(node),
                    code="yaml",
                )
            )
        if isinstance(node, yaml.MappingNode):
            own = sum(1 for k, _ in node.value if k.tag != MERGE_TAG)
            self._ctor.flatten_mapping(node)  # merged pairs (<<: *anchor) first, then its own
            first_own = len(node.value) - own
            merged: set[Any] = set()  # keys a merge gave, which a later key may override
            out: dict[Any, Any] = {}
            for i, (key_node, value_node) in enumerate(node.value):
                key = self.build_scalar(key_node)
                if not isinstance(key, str | int | float | bool) or key is None:
                    self.problems.append(
                        Problem("mapping keys must be plain text", self.loc(key_node))
                    )
                    continue
                if key in merged:  # YAML's merge: the mapping's own key (or a later merge) wins
                    prefix = (*path, key)
                    for p in [p for p in self.positions if p[: len(prefix)] == prefix]:
                        del self.positions[p]
                    del out[key]
                elif key in out:
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
                if i < first_own:
                    merged.add(key)
                else:  # an own key (it may override a merged one): another of its name is a duplicate
                    merged.discard(key)
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
        if node.tag not in _SCALAR_TAGS:  # !!python/name:..., !!binary, !custom: never run
            raise yaml.constructor.ConstructorError(
                None,
                None,
                _unsupported(node.tag, " csm has no constructor for it;"),
                node.start_mark,
            )
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
            and not node.style  # plain: None from PyYAML's parser, "" from libyaml's
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


def _at(file: str, mark: Any) -> str:
    return f"{file}:{mark.line + 1}:{mark.column + 1}" if mark else file


def _line_col(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def _compose(text: str) -> yaml.Node | None:
    if _CParser is not None:
        try:
            return _FastLoader(text).get_single_node()
        except yaml.YAMLError:
            pass  # the pure loader finds the same error and words it (line, column, what)
    loader = _SpecLoader(text)  # the reader checks for control characters here
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()


def load_yaml_text(text: str, file: str = "<spec>") -> Loaded:
    """Parse YAML text. Syntax errors and the safety limits become a single problem with the
    position."""

    def failed(message: str, where: str) -> Loaded:
        return Loaded(None, {}, file, [Problem(message, where, code="yaml")])

    try:
        root = _compose(text)
    except yaml.reader.ReaderError as exc:  # a control character such as NUL
        line, col = _line_col(text, exc.position)
        char = exc.character if isinstance(exc.character, int) else 0
        return failed(
            f"character #x{char:04x} is not allowed in YAML (a control character): remove it; "
            "is the file binary, or not a spec?",
            f"{file}:{line}:{col}",
        )
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        what = exc.problem or "invalid YAML"
        if what == _too_deep():
            return failed(what, _at(file, mark))
        ctx = f" ({exc.context})" if exc.context else ""
        return failed(f"YAML syntax error: {what}{ctx}", _at(file, mark))
    except yaml.YAMLError as exc:
        return failed(f"YAML syntax error: {str(exc).splitlines()[0]}", file)
    if root is None:
        return Loaded({}, {}, file)
    if problem := _expansion_problem(root, file):
        return Loaded(None, {}, file, [problem])
    builder = _Builder(file)
    try:
        data = builder.build(root, ())
    except _TooLarge as exc:  # reported at the top-level key it happens under
        if not exc.path:
            return failed(exc.what, _at(file, exc.node.start_mark))
        line, col = builder.positions.get(exc.path[:1], (1, 1))
        return failed(f"{exc.path[0]}: {exc.what}", f"{file}:{line}:{col}")
    except yaml.YAMLError as exc:  # e.g. a bad !tag
        mark = getattr(exc, "problem_mark", None)
        what = getattr(exc, "problem", None) or str(exc)  # not PyYAML's multi-line excerpt
        return failed(f"YAML error: {what}", _at(file, mark))
    return Loaded(data, builder.positions, file, builder.problems)


_BOMS = {
    b"\xff\xfe\x00\x00": "UTF-32",
    b"\x00\x00\xfe\xff": "UTF-32",
    b"\xff\xfe": "UTF-16",
    b"\xfe\xff": "UTF-16",
}


def decode_spec(
    raw: bytes, file: str, size: int | None = None
) -> tuple[str | None, Problem | None]:
    """The spec's text (UTF-8, an optional BOM dropped), or the one problem that stops it."""
    size = len(raw) if size is None else size
    if size > MAX_BYTES:
        return None, Problem(
            f"the spec is {size:,} bytes; the limit is {MAX_BYTES:,} (a real spec is a few "
            "kilobytes): is this the right file?",
            file,
            code="yaml",
        )
    for bom, name in _BOMS.items():
        if raw.startswith(bom):
            return None, Problem(
                f"the spec is {name} text; csm reads UTF-8: re-save it as UTF-8",
                f"{file}:1:1",
                code="encoding",
            )
    try:
        return raw.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        start = exc.start + (3 if raw.startswith(b"\xef\xbb\xbf") else 0)
        good = raw[:start].decode("utf-8", errors="replace")
        line, col = _line_col(good, len(good))
        byte = raw[start]
        return None, Problem(
            f"byte 0x{byte:02X} is not UTF-8 (the file looks like Latin-1 or Windows-1252 "
            "text): re-save the spec as UTF-8",
            f"{file}:{line}:{col}",
            code="encoding",
        )


def load_yaml(path: Path) -> Loaded:
    """Read and parse a spec file (OSError escapes: the caller reports exit 66)."""
    with path.open("rb") as fh:
        raw = fh.read(MAX_BYTES + 1)  # never more: the size is in the message
    text, problem = decode_spec(raw, str(path), size=max(len(raw), path.stat().st_size))
    if problem is not None:
        return Loaded(None, {}, str(path), [problem])
    return load_yaml_text(text, str(path))
