"""Pydantic models of metrics.yaml.

Metric models are generated from the metric-type registry: one model per type with that
type's options, joined in a union discriminated by ``type`` (so the JSON Schema tells an
editor exactly which options each type takes).
"""

from __future__ import annotations

from datetime import date
from functools import cache
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, create_model

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

# The column that dates a row of each role (aggregate metrics count rows dated in P).
ROLE_DATE_COLUMN = {
    "accounts": "signup_date",
    "subscriptions": "start_date",
    "invoices": "period_start",
    "tickets": "created_at",
    "surveys": "submitted_at",
    "usage": "timestamp",
    "spend": "date",
    "orders": "ordered_at",
    "activities": "occurred_at",
    "fx": "date",
}


ROLES = tuple(ROLE_COLUMNS)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class SourceOptions(Strict):
    delimiter: str | None = Field(None, description="field separator (CSV default ',', TSV tab)")
    date_format: str | None = Field(
        None, description="strftime format of date columns, e.g. '%d/%m/%Y' (default: ISO 8601)"
    )
    null_values: list[str] = Field(
        default_factory=list, description="extra texts that mean 'no value' (e.g. 'N/A', '-')"
    )
    encoding: Literal["utf8", "utf8-lossy", "latin1", "cp1252"] = Field(
        "utf8", description="text encoding of CSV files"
    )
    skip_rows: int = Field(0, ge=0, description="lines to skip before the header")
    timezone: str | None = Field(
        None,
        description="time zone that timestamps without an offset are in, and in which days are "
        "counted (default UTC)",
    )


class Source(Strict):
    path: str | list[str] = Field(description="file, glob or list of them, relative to the spec")
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


class HealthComponent(Strict):
    metric: str
    change: Literal["relative", "absolute"] | None = None
    weight: float = Field(1.0, gt=0)
    scale: tuple[float, float] | None = None
    thresholds: list[dict[str, float]] | None = None


class Health(Strict):
    components: dict[str, HealthComponent]
    bands: dict[str, float] = Field(default_factory=lambda: {"red": 40, "yellow": 70})
    missing: Literal["renormalize", "zero", "neutral"] = "renormalize"
    segments: list[dict[str, Any]] | None = None


class Alert(Strict):
    name: str
    when: str
    severity: Literal["low", "medium", "high", "critical"] = "medium"
    action: str = ""


class SpecBase(Strict):
    version: Literal[1] = 1
    currency: str = Field("USD", pattern=r"^[A-Z]{3}$", description="reporting currency (ISO 4217)")
    grain: Literal["week", "month", "quarter", "year"] = "month"
    as_of: date | None = Field(
        None,
        description="the last day the data covers; periods ending on or before it are complete "
        "(default: yesterday)",
    )
    sources: dict[str, Source] = Field(default_factory=dict)
    dimensions: dict[str, str] = Field(
        default_factory=dict, description="name -> account attribute or SQL over the accounts"
    )
    health: Health | None = None
    alerts: list[Alert] = Field(default_factory=list)


def _metric_models() -> list[type[BaseModel]]:
    from cs_metrics.metrics.registry import COMMON_OPTIONS, load_all

    models = []
    for name, mt in sorted(load_all().items()):
        fields: dict[str, Any] = {
            "type": (Literal[name], Field(description=mt.description or mt.formula))
        }
        for opt_name, opt in {**COMMON_OPTIONS, **mt.options}.items():
            fields[opt_name] = (opt.type, Field(opt.default, description=opt.help))
        model_name = "".join(p.capitalize() for p in name.split("_")) + "Metric"
        models.append(create_model(model_name, __base__=Strict, **fields))
    return models


@cache
def spec_model() -> type[BaseModel]:
    """The Spec model, with a metric union built from the registry."""
    metric_union = Annotated[Union[tuple(_metric_models())], Field(discriminator="type")]  # noqa: UP007
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
