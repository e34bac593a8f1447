"""metrics.yaml: discovery, loading, structural and whole-spec validation.

Three phases (as in dbt-semantic-interfaces): the YAML loader records positions and
catches duplicate keys and ambiguous booleans; pydantic checks structure (unknown keys,
closed enums, types); whole-spec rules check references between objects. Every problem
of every phase is collected and reported together, each with file:line:column.
"""

from __future__ import annotations

import os
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from cs_metrics.errors import InputMissingError, Problem, SpecError
from cs_metrics.spec.check import raw_expression_problems, whole_spec_problems
from cs_metrics.spec.loader import Loaded, load_yaml
from cs_metrics.spec.models import ROLE_COLUMNS, ROLES, spec_model
from cs_metrics.suggest import did_you_mean

DEFAULT_SPEC = "metrics.yaml"


@dataclass
class Spec:
    """A validated spec: the pydantic model plus where it came from."""

    model: Any
    path: Path
    loaded: Loaded
    warnings: list[Problem] = field(default_factory=list)

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    def where(self, *path: Any) -> str:
        return self.loaded.where(path)


def find_spec(explicit: str | os.PathLike[str] | None) -> Path:
    """``--spec`` > ``$CSM_SPEC`` > ``./metrics.yaml``."""
    if explicit:
        path, how = Path(explicit), "--spec"
    elif os.environ.get("CSM_SPEC"):
        path, how = Path(os.environ["CSM_SPEC"]), "$CSM_SPEC"
    else:
        path, how = Path(DEFAULT_SPEC), "default"
    if path.is_dir():
        inside = path / DEFAULT_SPEC
        hint = (
            f"pass the spec file in it: {how} {inside}"
            if inside.is_file()
            else f"pass the spec file (e.g. {how} {inside})"
        )
        raise InputMissingError(f"spec {path} (from {how}) is a directory, not a file: {hint}")
    if path.exists() and not path.is_file():
        raise InputMissingError(
            f"spec {path} (from {how}) is not a regular file (a device or a pipe?): "
            "pass the metrics.yaml file"
        )
    if not path.is_file():
        if how == "default":
            raise InputMissingError(
                f"no spec: {DEFAULT_SPEC} not found in {Path.cwd()}; "
                "run `csm init` to create one with sample data, pass --spec PATH or set CSM_SPEC"
            )
        raise InputMissingError(f"spec file {path} (from {how}) not found: check the path")
    return path


def _model_at(model: Any, loc: tuple[Any, ...]) -> Any:
    """The pydantic model class (or None) that owns the last element of ``loc``."""
    current: Any = model
    for part in loc[:-1]:
        current = _step(current, part)
        if current is None:
            return None
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _unwrap(tp: Any) -> list[Any]:
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(tp)[0])
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        out = []
        for a in typing.get_args(tp):
            out += _unwrap(a)
        return out
    return [tp]


def _step(current: Any, part: Any) -> Any:
    candidates = _unwrap(current)
    for c in candidates:
        if isinstance(c, type) and issubclass(c, BaseModel):
            if isinstance(part, str) and part in c.model_fields:
                return c.model_fields[part].annotation
            type_field = c.model_fields.get("type")
            if type_field is not None and typing.get_args(type_field.annotation) == (part,):
                return c  # a discriminated-union tag in the loc
        origin = typing.get_origin(c)
        if origin is dict:
            return typing.get_args(c)[1]
        if origin in (list, tuple):
            args = typing.get_args(c)
            return args[0] if args else None
    # a union member chosen by tag
    members = [c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)]
    for c in members:
        tf = c.model_fields.get("type")
        if tf is not None and part in typing.get_args(tf.annotation):
            return c
    return None


def _structure_problems(loaded: Loaded, exc: ValidationError, model: Any) -> list[Problem]:
    problems = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        data_path = _data_path(loaded.data, loc)
        where = loaded.where(data_path)
        kind = err["type"]
        dotted = ".".join(str(p) for p in data_path) or "(top level)"
        if kind == "extra_forbidden":
            owner = _model_at(model, loc)
            fields = list(owner.model_fields) if owner else []
            key = loc[-1]
            problems.append(
                Problem(
                    f"unknown key {key!r} in {'.'.join(map(str, data_path[:-1])) or 'the spec'}"
                    f"{did_you_mean(key, fields)}; allowed: {', '.join(fields)}",
                    where,
                    code="unknown-key",
                )
            )
        elif kind == "union_tag_invalid":
            tag = err["ctx"]["tag"]
            expected = [t.strip(" '") for t in err["ctx"]["expected_tags"].split(",")]
            problems.append(
                Problem(
                    f"{dotted}: unknown metric type {tag!r}{did_you_mean(tag, expected)}; "
                    "`csm metrics` lists the types",
                    where,
                    code="unknown-type",
                )
            )
        elif kind == "union_tag_not_found":
            problems.append(
                Problem(
                    f"{dotted}: every metric needs a `type` (e.g. type: mrr)",
                    where,
                    code="missing-type",
                )
            )
        elif kind == "missing":
            problems.append(Problem(f"{dotted}: required key is missing", where, code="missing"))
        else:
            problems.append(Problem(f"{dotted}: {_explain(err)}", where, code=kind))
    return problems


_EXPECTED = {
    "float_parsing": "a number",
    "float_type": "a number",
    "finite_number": "a finite number",
    "int_parsing": "a whole number (an integer)",
    "int_type": "a whole number (an integer)",
    "int_from_float": "a whole number (an integer)",
    "bool_parsing": "true or false",
    "bool_type": "true or false",
    "string_type": "text",
    "date_type": "a date (YYYY-MM-DD)",
    "date_parsing": "a date (YYYY-MM-DD)",
    "date_from_datetime_parsing": "a date (YYYY-MM-DD)",
}


def _plain(value: Any) -> bool:
    return isinstance(value, int | float | bool) or (isinstance(value, str) and len(value) < 20)


def _shown(value: Any) -> str:
    """A spec value for a message: short scalars as YAML would show them."""
    if isinstance(value, str):
        return repr(value if len(value) <= 60 else value[:57] + "...")
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null (no value)"
    if isinstance(value, int | float):
        return f"{value:g}" if isinstance(value, float) else str(value)
    if isinstance(value, list) and len(value) <= 5 and all(_plain(v) for v in value):
        return "[" + ", ".join(_shown(v) for v in value) + "]"
    return "a list" if isinstance(value, list) else "a mapping" if isinstance(value, dict) else ""


def _explain(err: Any) -> str:
    """pydantic's message for one error, with the value that was given (issue 15: echo the
    bad value beside what is allowed)."""
    kind, msg, given = err["type"], err["msg"], err.get("input")
    ctx = err.get("ctx") or {}
    if "scale" in err["loc"][-2:] and kind in ("too_long", "too_short", "tuple_type"):
        return f"write [worst, best], two numbers, e.g. [0, 10]; got {_shown(given)}"
    if kind in _EXPECTED and (shown := _shown(given)):
        return f"{shown} is not {_EXPECTED[kind]}"
    if kind == "literal_error":
        allowed = str(ctx.get("expected", ""))
        options = [t.strip(" '") for t in allowed.replace(" or ", ", ").split(",")]
        hint = did_you_mean(given, options) if isinstance(given, str) else ""
        return f"{_shown(given)} is not allowed{hint}; allowed: {allowed}"
    if kind == "value_error":
        text = str(ctx.get("error") or msg.removeprefix("Value error, "))
        field_name = str(err["loc"][-1]) if err["loc"] else ""
        return text.removeprefix(f"{field_name}: ") if field_name else text
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        return f"{msg.replace('Input should be', 'must be')}, got {_shown(given)}"
    shown = _shown(given)
    return f"{msg} (got {shown})" if shown and not isinstance(given, list | dict) else msg


def _data_path(data: Any, loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """Drop the parts of a pydantic loc that are not in the data (union tags)."""
    out: list[Any] = []
    node = data
    for i, part in enumerate(loc):
        inside = (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        )
        if inside:
            out.append(part)
            node = node[part]
        elif i == len(loc) - 1:
            out.append(part)  # a missing key: point at its parent, name it in the message
    return tuple(out)


def _role_problems(loaded: Loaded) -> list[Problem]:
    """Unknown roles and non-canonical column keys, before pydantic (with did-you-mean)."""
    problems: list[Problem] = []
    sources = loaded.data.get("sources") if isinstance(loaded.data, dict) else None
    if not isinstance(sources, dict):
        return problems
    for role, src in sources.items():
        if role not in ROLES:
            problems.append(
                Problem(
                    f"unknown source role {role!r}{did_you_mean(role, ROLES)}; roles: {', '.join(ROLES)}",
                    loaded.where(("sources", role)),
                    code="unknown-role",
                )
            )
            continue
        if role == "accounts" or not isinstance(src, dict):
            continue  # accounts may map any attribute
        cols = src.get("columns")
        if isinstance(cols, dict):
            for canon in cols:
                if canon not in ROLE_COLUMNS[role]:
                    problems.append(
                        Problem(
                            f"sources.{role}.columns: {canon!r} is not a canonical column of {role}"
                            f"{did_you_mean(canon, ROLE_COLUMNS[role])}; the keys are canonical "
                            f"names ({', '.join(ROLE_COLUMNS[role])}), the values the file's columns",
                            loaded.where(("sources", role, "columns", canon)),
                            code="unknown-column",
                        )
                    )
    return problems


def parse_spec(loaded: Loaded, path: Path) -> Spec:
    """Validate loaded YAML; raise SpecError with every problem, or return the Spec."""
    problems = list(loaded.problems)
    if loaded.data is None and problems:
        raise SpecError(f"invalid spec {path}", problems)
    if not isinstance(loaded.data, dict):
        raise SpecError(
            f"invalid spec {path}",
            [
                Problem(
                    "the spec must be a mapping (version:, sources:, metrics: ...)",
                    loaded.where(()),
                )
            ],
        )
    problems += _role_problems(loaded)
    model = None
    types = _metric_types(loaded.data)
    if types is not None:  # the spec's own metric types only: it validates the same
        try:
            model = spec_model(types).model_validate(loaded.data)
        except ValidationError:
            model = None  # the full model names the problems
    if model is None:
        model_cls = spec_model()
        try:
            model = model_cls.model_validate(loaded.data)
        except ValidationError as exc:
            problems += _structure_problems(loaded, exc, model_cls)
    spec = Spec(model, path, loaded)
    if model is not None:
        found = whole_spec_problems(spec)
        problems += [p for p in found if p.level == "error"]
        spec.warnings += [p for p in found if p.level != "error"]
    else:  # the reference rules need a valid model; expression syntax does not
        problems += raw_expression_problems(spec)
    errors = [p for p in problems if p.level == "error"]
    if errors:
        # keep file order
        errors.sort(key=lambda p: _loc_key(p.location))
        n = len(errors)
        raise SpecError(f"invalid spec {path}: {n} problem{'s' if n > 1 else ''}", errors)
    return spec


def _metric_types(data: dict[str, Any]) -> frozenset[str] | None:
    """The metric types the spec's metrics name, when every one is a known type."""
    from cs_metrics.metrics.registry import load_all

    metrics = data.get("metrics", {})
    if metrics is None:
        metrics = {}
    if not isinstance(metrics, dict):
        return None
    known = load_all()
    types = set()
    for m in metrics.values():
        t = m.get("type") if isinstance(m, dict) else None
        if not isinstance(t, str) or t not in known:
            return None
        types.add(t)
    return frozenset(types)


def _loc_key(location: str) -> tuple[int, int]:
    parts = location.rsplit(":", 2)
    try:
        return int(parts[-2]), int(parts[-1])
    except (ValueError, IndexError):
        return 0, 0


def load_spec(explicit: str | os.PathLike[str] | None = None) -> Spec:
    path = find_spec(explicit)
    try:
        loaded = load_yaml(path)
    except OSError as exc:
        raise InputMissingError(f"cannot read spec {path}: {exc.strerror}") from None
    if any(p.code == "encoding" for p in loaded.problems):
        raise SpecError(f"invalid spec {path}: not UTF-8 text", loaded.problems)
    return parse_spec(loaded, path)
