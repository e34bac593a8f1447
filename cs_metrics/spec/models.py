"""Pydantic models of metrics.yaml.

Metric models are generated from the metric-type registry: one model per type with that
type's options, joined in a union discriminated by ``type`` (so the JSON Schema tells an
editor exactly which options each type takes).
"""

from __future__ import annotations

from datetime import date
from functools import cache
from itertools import pairwise
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    create_model,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from cs_metrics.metrics.policy import DEFAULT_POLICY, DEFINITIONS
from cs_metrics.metrics.registry import COMMON_OPTIONS, load_all
from cs_metrics.presets.layouts import PRESET_NAMES

DTYPES = ("string", "int", "float", "bool", "date", "datetime")

# role -> canonical column -> (dtype, required). Ids are strings everywhere so join keys match.
ROLE_COLUMNS: dict[str, dict[str, tuple[str, bool]]] = {
    "accounts": {
        "account_id": ("string", True),
        "name": ("string", False),
        "signup_date": ("date", False),
        "trial_start": ("date", False),
        "trial_end": ("date", False),
        "onboarded_at": ("date", False),
        "renewal_date": ("date", False),
        "churn_reason": ("string", False),
    },
    "subscriptions": {
        "account_id": ("string", True),
        "start_date": ("date", True),
        "end_date": ("date", False),
        "amount": ("float", True),
        "interval": ("string", False),
        "quantity": ("float", False),
        "discount": ("float", False),
        "currency": ("string", False),
        "plan": ("string", False),
        "subscription_id": ("string", False),
        # read by the definition policies (metrics/policy.py, docs/policies.md)
        "discount_duration": ("string", False),
        "status": ("string", False),
        "status_date": ("date", False),
        "canceled_at": ("date", False),
        "paid_through": ("date", False),
    },
    "invoices": {
        "account_id": ("string", True),
        "period_start": ("date", True),
        "period_end": ("date", True),
        "amount": ("float", True),
        "line_type": ("string", False),
        "discount": ("float", False),
        "currency": ("string", False),
        "invoice_id": ("string", False),
        "discount_duration": ("string", False),  # read by the discounts policy option
    },
    "tickets": {
        "ticket_id": ("string", True),
        "account_id": ("string", True),
        "created_at": ("datetime", True),
        "first_response_at": ("datetime", False),
        "resolved_at": ("datetime", False),
        "contacts": ("int", False),
        "reopened": ("int", False),
        "status": ("string", False),
        "channel": ("string", False),
        "satisfaction": ("string", False),
    },
    "surveys": {
        "account_id": ("string", True),
        "submitted_at": ("datetime", True),
        "score": ("float", True),
        "survey": ("string", False),
        "respondent_id": ("string", False),
        "comment": ("string", False),
    },
    "usage": {
        "account_id": ("string", True),
        "timestamp": ("datetime", True),
        "user_id": ("string", False),
        "event": ("string", False),
        "value": ("float", False),
    },
    "spend": {"date": ("date", True), "amount": ("float", True), "channel": ("string", False)},
    "orders": {
        "order_id": ("string", True),
        "customer_id": ("string", True),
        "ordered_at": ("datetime", True),
        "amount": ("float", True),
    },
    "activities": {
        "account_id": ("string", True),
        "occurred_at": ("datetime", True),
        "type": ("string", False),
        "owner": ("string", False),
    },
    "fx": {"currency": ("string", True), "rate": ("float", True), "date": ("date", False)},
}

ROLES = tuple(ROLE_COLUMNS)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


ENCODINGS = (
    "utf8",
    "utf-8",
    "utf8-lossy",
    "utf16",
    "utf-16",
    "latin1",
    "latin-1",
    "iso-8859-1",
    "cp1252",
    "windows-1252",
)


def _one_char(name: str, value: str | None) -> str | None:
    if value is not None and len(value) != 1:
        raise PydanticCustomError(
            "source_option",
            f"{name} must be one character, e.g. ',' ';' '|' or a tab (\"\\t\"); got {value!r}",
        )
    return value


class SourceOptions(Strict):
    delimiter: str | None = Field(
        None, description="field separator (default: guessed from the header line; TSV tab)"
    )
    quote_char: str | None = Field(
        '"', description="character that quotes CSV fields; null for files that never quote"
    )
    decimal: str | None = Field(None, description="decimal mark of number columns, e.g. ','")
    thousands: str | None = Field(
        None, description="thousands separator of number columns, e.g. '.' or ','"
    )
    date_format: str | None = Field(
        None, description="strftime format of date columns, e.g. '%d/%m/%Y' (default: ISO 8601)"
    )
    null_values: list[str] = Field(
        default_factory=list, description="extra texts that mean 'no value' (e.g. 'N/A', '-')"
    )
    encoding: Literal[ENCODINGS] = Field(  # type: ignore[valid-type]
        "utf8",
        description="text encoding of CSV files (a UTF-8 or UTF-16 byte-order mark wins)",
    )
    skip_rows: int = Field(0, ge=0, description="lines to skip before the header")
    timezone: str | None = Field(
        None,
        description="time zone that timestamps without an offset are in, and in which days are "
        "counted (default UTC)",
    )

    @field_validator("delimiter", "quote_char", "decimal", "thousands")
    @classmethod
    def _single_character(cls, value: str | None, info: ValidationInfo) -> str | None:
        return _one_char(str(info.field_name), value)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is None:
            return value
        from zoneinfo import available_timezones

        zones = available_timezones() | {"UTC"}
        if len(zones) > 1 and value not in zones:
            from difflib import get_close_matches

            close = get_close_matches(value, sorted(zones), n=3)
            hint = f"did you mean {', '.join(map(repr, close))}? " if close else ""
            raise PydanticCustomError(
                "source_option",
                f"unknown time zone {value!r}: {hint}use an IANA name such as 'UTC', "
                "'Europe/Berlin' or 'America/New_York'",
            )
        return value

    @model_validator(mode="after")
    def _marks_differ(self) -> SourceOptions:
        if self.decimal is not None and self.decimal == self.thousands:
            raise PydanticCustomError(
                "source_option",
                f"decimal and thousands are both {self.decimal!r}: they must differ",
            )
        return self


class Source(Strict):
    path: str | list[str] = Field(
        description="file, glob or list of them, relative to the spec; or URIs (s3a://, "
        "hdfs://, file://) that --engine spark reads itself (docs/inputs.md)"
    )
    format: Literal["csv", "tsv", "parquet", "ndjson"] | None = Field(
        None, description="file format (default: from the extension; .gz means gzip'd CSV)"
    )
    columns: dict[str, str] = Field(
        default_factory=dict, description="canonical column name -> column name in the file"
    )
    dtypes: dict[str, Literal["string", "int", "float", "bool", "date", "datetime"]] = Field(
        default_factory=dict, description="dtype of extra columns (canonical columns are typed)"
    )
    options: SourceOptions = Field(default_factory=SourceOptions)
    # sources.<role>.preset (issue 12): the vendor layouts live in cs_metrics/presets.py
    preset: Literal[PRESET_NAMES] | None = Field(
        None,
        description="a vendor's export layout read with no columns: mapping (docs/presets.md); "
        "columns: still override single columns",
    )


class Finite(Strict):
    """Numbers are finite: .inf or .nan as a weight, scale end or cut-off is a spec error."""

    model_config = ConfigDict(allow_inf_nan=False)


class ThresholdStep(Finite):
    above: float | None = Field(
        None, description="the step applies when the value is strictly above this (omit: default)"
    )
    score: float = Field(ge=0, le=100, description="the component score, 0-100")


class HealthComponent(Finite):
    metric: str = Field(description="the per-account metric this component reads")
    change: Literal["relative", "absolute"] | None = Field(
        None, description="read <metric>_change (relative) or <metric>_delta (absolute) instead"
    )
    weight: float = Field(1.0, gt=0, description="any positive number; weights are normalised")
    scale: tuple[float, float] | None = Field(
        None, description="[worst, best]: linear 0-100 between them, clipped (worst > best inverts)"
    )
    thresholds: list[ThresholdStep] | None = Field(
        None,
        description="steps tried in order: the first whose `above` the value exceeds gives the "
        "score; the last step, without `above`, is the default",
    )

    # field validators, so that the problem points at the key itself
    @field_validator("scale")
    @classmethod
    def _scale(cls, scale: tuple[float, float] | None) -> tuple[float, float] | None:
        if scale is not None and scale[0] == scale[1]:
            raise ValueError(
                f"scale: worst and best must differ, got [{scale[0]:g}, {scale[1]:g}] (write "
                "[worst, best], e.g. [0, 10]; worst > best when lower is better)"
            )
        return scale

    @field_validator("thresholds")
    @classmethod
    def _steps(cls, steps: list[ThresholdStep] | None) -> list[ThresholdStep] | None:
        if steps is None:
            return steps
        if not steps or steps[-1].above is not None:
            raise ValueError("thresholds: end with a default step without `above`, e.g. {score: 0}")
        if any(s.above is None for s in steps[:-1]):
            raise ValueError("thresholds: only the last step may omit `above`")
        aboves = [s.above for s in steps[:-1]]
        for i in range(1, len(aboves)):
            if aboves[i] >= aboves[i - 1]:  # type: ignore[operator]
                raise ValueError(
                    f"thresholds: step {i + 1} (above: {aboves[i]:g}) can never apply: step {i} "
                    f"(above: {aboves[i - 1]:g}) already takes every value above "
                    f"{aboves[i - 1]:g}; list the steps from the highest `above` down"
                )
        return steps

    @model_validator(mode="after")
    def _one_mapping(self) -> HealthComponent:
        # neither set is reported by `csm health` (score_health), so a spec that only
        # sketches components still loads and its other problems are all reported
        if self.scale is not None and self.thresholds is not None:
            raise ValueError("set only one of scale: [worst, best] or thresholds: [...]")
        return self


class HealthSegment(Finite):
    name: str
    when: str = Field(description="SQL over account attributes; an account is in the first match")
    components: list[str] | None = Field(
        None, description="the components that apply (default all)"
    )
    weights: dict[str, float] | None = Field(None, description="component -> weight override")


HEALTH_RESERVED = frozenset(
    {
        "period",
        "account",
        "score",
        "band",
        "previous_score",
        "score_change",
        "coverage",
        "mrr",
        "weakest",
        "segment",
    }
)


class Health(Finite):
    components: dict[str, HealthComponent] = Field(min_length=1)
    bands: dict[str, float] = Field(
        default_factory=lambda: {"red": 40, "yellow": 70},
        description="band -> cut-off, from the worst band up (each cut-off above the one "
        "before): a score strictly below the lowest cut-off is that band, and so on up; scores at "
        "or above the highest are 'green', or the band given a cut-off of 100",
    )
    missing: Literal["renormalize", "zero", "neutral"] = Field(
        "renormalize",
        description="a component without a value: left out (renormalize), scored 0 or scored 50",
    )
    segments: list[HealthSegment] | None = None

    @field_validator("bands")
    @classmethod
    def _bands(cls, bands: dict[str, float]) -> dict[str, float]:
        if not bands:
            raise ValueError("bands: give at least one band, e.g. {red: 40, yellow: 70}")
        for band, cut in bands.items():
            if not 0 < cut <= 100:
                raise ValueError(f"bands.{band}: a cut-off is a score in (0, 100], got {cut:g}")
        cuts = sorted(bands.values())
        if len(set(cuts)) != len(cuts):
            raise ValueError("bands: two bands have the same cut-off")
        for (low, low_cut), (high, high_cut) in pairwise(bands.items()):
            if high_cut < low_cut:  # {red: 70, yellow: 40} would make yellow the worst band
                fixed = ", ".join(f"{b}: {c:g}" for b, c in zip(bands, cuts, strict=True))
                raise ValueError(
                    f"bands: out of order: {low}: {low_cut:g} comes before {high}: {high_cut:g}; "
                    "write the bands from the worst up, each cut-off above the one before "
                    f"(did you mean {{{fixed}}}?)"
                )
        if cuts[-1] < 100 and "green" in bands:
            raise ValueError(
                "bands: 'green' is the name of the top band; give it the cut-off 100 or rename it"
            )
        return bands

    @model_validator(mode="after")
    def _check(self) -> Health:
        for name in self.components:
            if name in HEALTH_RESERVED or name.endswith("_value"):
                raise ValueError(f"component name {name!r} clashes with an output field; rename it")
        names = [seg.name for seg in self.segments or []]
        if len(set(names)) != len(names):
            raise ValueError("segments: two segments have the same name")
        for seg in self.segments or []:
            for c in [*(seg.components or []), *(seg.weights or {})]:
                if c not in self.components:
                    raise ValueError(
                        f"segment {seg.name!r} names component {c!r}, which is not under "
                        f"health.components ({', '.join(self.components)})"
                    )
            if any(w <= 0 for w in (seg.weights or {}).values()):
                raise ValueError(f"segment {seg.name!r}: weights must be positive")
            if seg.components == []:
                raise ValueError(f"segment {seg.name!r}: list at least one component")
        return self

    def weights_for(self, segment: HealthSegment | None) -> dict[str, float]:
        """component -> weight in a segment (0: the component does not apply)."""
        if segment is None:
            return {n: c.weight for n, c in self.components.items()}
        chosen = segment.components or list(self.components)
        overrides = segment.weights or {}
        return {
            n: (overrides.get(n, c.weight) if n in chosen else 0.0)
            for n, c in self.components.items()
        }

    def band_steps(self) -> tuple[list[tuple[str, float]], str]:
        """(bands below a cut-off, ascending) and the top band's name."""
        steps = sorted(self.bands.items(), key=lambda kv: kv[1])
        if steps[-1][1] >= 100:
            return steps[:-1], steps[-1][0]
        return steps, "green"


class Alert(Strict):
    name: str
    when: str
    severity: Literal["low", "medium", "high", "critical"] = "medium"
    action: str = ""


REPORT_FORMATS = ("md", "html", "xlsx", "csv")
REPORT_PLACEHOLDERS = ("period", "name", "grain")


class ReportCohorts(Strict):
    grain: Literal["month", "quarter"] | None = Field(
        None,
        description="cohort period (default: the spec's grain when month or quarter, else month)",
    )
    basis: Literal["logo", "revenue", "both"] = Field(
        "both",
        description="the retention the heat map shows: logo (customers), revenue (MRR) or both",
    )
    count: int = Field(12, ge=1, le=60, description="how many start cohorts, the latest first")


class Report(Strict):
    title: str | None = Field(None, description="heading of the summary (default: from the name)")
    metrics: list[str] | None = Field(
        None, description="metrics shown, in order (default: every metric of the spec)"
    )
    dimensions: list[str] = Field(
        default_factory=list, description="declared dimensions to add a breakdown table for"
    )
    health: bool | None = Field(
        None,
        description="health bands and accounts needing attention (default: when health: is set)",
    )
    alerts: bool | None = Field(
        None, description="alerts fired in the period (default: when alerts: is set)"
    )
    cohorts: bool | ReportCohorts | None = Field(
        None,
        description="cohort retention heat map: true, false or {grain, basis, count} "
        "(default: when a subscriptions or invoices source is configured)",
    )
    trend: int = Field(12, ge=1, le=120, description="periods of history in the charts")
    formats: list[Literal["md", "html", "xlsx", "csv"]] = Field(
        default_factory=lambda: list(REPORT_FORMATS),
        min_length=1,
        description="files to write: md (summary.md), html (summary.html), xlsx (metrics.xlsx), "
        "csv (one per table)",
    )
    out_dir: str = Field(
        "reports/{period}",
        min_length=1,
        description="where the bundle goes, relative to the spec file; placeholders {period}, "
        "{name}, {grain}",
    )


def _definitions_model() -> type[BaseModel]:
    """``definitions:``: each policy option (metrics/policy.py), unset = the policy's."""
    fields: dict[str, Any] = {}
    for name, d in DEFINITIONS.items():
        kind: Any = (
            Literal[d.choices]  # type: ignore[valid-type]
            if d.choices
            else Annotated[int, Field(ge=0, le=3650)]
        )
        fields[name] = (kind | None, Field(None, description=d.help))
    return create_model("Definitions", __base__=Strict, **fields)


Definitions = _definitions_model()


ENGINE_NAMES = ("polars", "duckdb", "spark")


class EngineOptions(Strict):
    """``engine_options:``: where ``--engine spark`` runs (docs/spark.md)."""

    remote: str | None = Field(
        None,
        pattern=r"^sc://\S+$",
        description="Spark Connect address, e.g. sc://spark.example.com:15002 (default: the "
        "SPARK_REMOTE environment variable; unset: an active session, else a local one)",
    )
    master: str | None = Field(
        None,
        min_length=1,
        description="the master of the local session csm starts (default: local[*])",
    )
    conf: dict[str, str] = Field(
        default_factory=dict,
        description="Spark settings for the session csm starts, e.g. "
        "{spark.driver.memory: 8g} (over csm's small-data defaults)",
    )


class SpecBase(Strict):
    version: Literal[1] = 1
    currency: str = Field("USD", pattern=r"^[A-Z]{3}$", description="reporting currency (ISO 4217)")
    grain: Literal["week", "month", "quarter", "year"] = "month"
    as_of: date | None = Field(
        None,
        description="the last day the data covers; periods ending on or before it are complete "
        "(default: yesterday)",
    )
    policy: Literal["chartmogul", "baremetrics", "stripe", "profitwell"] = Field(
        DEFAULT_POLICY,
        description="the vendor whose metric definitions csm follows (docs/policies.md); "
        "definitions: overrides single options",
    )
    definitions: Definitions = Field(  # type: ignore[valid-type]
        default_factory=Definitions,
        description="single definition options, over the policy's (docs/policies.md)",
    )
    sources: dict[str, Source] = Field(default_factory=dict)
    dimensions: dict[str, str] = Field(
        default_factory=dict, description="name -> account attribute or SQL over the accounts"
    )
    health: Health | None = None
    alerts: list[Alert] = Field(default_factory=list)
    reports: dict[str, Report] = Field(
        default_factory=dict, description="name -> a bundle `csm report NAME` writes"
    )
    engine: Literal[ENGINE_NAMES] | None = Field(  # type: ignore[valid-type]
        None,
        description="the engine every command uses unless --engine says otherwise "
        "(default: polars)",
    )
    engine_options: EngineOptions = Field(
        default_factory=EngineOptions, description="where --engine spark runs (docs/spark.md)"
    )


def _metric_models(types: frozenset[str] | None = None) -> list[type[BaseModel]]:
    models = []
    for name, mt in sorted(load_all().items()):
        if types is not None and name not in types:
            continue
        fields: dict[str, Any] = {
            "type": (Literal[name], Field(description=mt.description or mt.formula))
        }
        for opt_name, opt in {**COMMON_OPTIONS, **mt.options}.items():
            fields[opt_name] = (opt.type, Field(opt.default, description=opt.help))
        model_name = "".join(p.capitalize() for p in name.split("_")) + "Metric"
        models.append(create_model(model_name, __base__=Strict, **fields))
    return models


@cache
def spec_model(types: frozenset[str] | None = None) -> type[BaseModel]:
    """The Spec model, with a metric union built from the registry.

    ``types`` limits the union to the metric types a spec uses (a model per type costs
    start-up time; a spec uses a few of ~70): it validates that spec exactly like the
    full model. The full model (None) is the JSON Schema's and names every type in errors.
    """
    models = _metric_models(types)
    if not models:
        return create_model(
            "Spec", __base__=SpecBase, metrics=(dict[str, Any], Field(default_factory=dict))
        )
    metric_union = Annotated[Union[tuple(models)], Field(discriminator="type")]  # noqa: UP007
    return create_model(
        "Spec",
        __base__=SpecBase,
        metrics=(dict[str, metric_union], Field(default_factory=dict)),
    )


def json_schema() -> dict[str, Any]:
    schema = spec_model().model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "csm metrics.yaml"
    return schema
