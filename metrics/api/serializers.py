"""Input and output adapters of the metrics API.

Outputs are built by hand from values() rows (see `metric_rows`, `reading_rows`), so a list
costs the same queries at any page size and one object answers with the same body. The
expected reading interval travels as whole seconds (`expected_interval_seconds`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from metrics.catalogue import TEMPLATE_CHOICES, Template
from metrics.models import Better, Level, Metric, Reading, Status
from metrics.selectors import coverage_from, with_status
from metrics.services import MAX_READINGS
from metrics.status import status_from_severity, worst
from products.api.serializers import ProductRefField
from products.models import Dimension

_DT = serializers.DateTimeField()
MAX_INTERVAL = dt.timedelta(days=3653)
STATUSES = [s.value for s in Status]


def _dt(value: dt.datetime | None) -> str | None:
    return _DT.to_representation(value) if value is not None else None


def _seconds(value: dt.timedelta) -> int:
    return int(value.total_seconds())


STATUS_HELP = (
    "Now: green / amber / red from the latest reading against the thresholds, `stale` when the "
    "latest is older than the stale multiple of the expected interval, `no_data` when none "
    "ever came. Worst first: red > amber > stale > no_data > green."
)


class MetricStatusField(serializers.ChoiceField):
    """A metric status; documented once, as the `MetricStatusEnum` component."""

    def __init__(self, **kwargs):
        super().__init__(choices=Status.choices, **kwargs)


class MetricStatusFieldSchema(OpenApiSerializerFieldExtension):
    """One named enum for every metric status in the schema (a plain ChoiceField named `status`
    would collide with the backlog's item status)."""

    target_class = MetricStatusField

    def get_name(self) -> str:
        return "MetricStatusEnum"

    def map_serializer_field(self, auto_schema, direction):
        return {"type": "string", "enum": STATUSES, "description": STATUS_HELP}


# --- Metric definitions ------------------------------------------------------------------------

METRIC_FIELDS = (
    "id",
    "product__slug",
    "product__name",
    "key",
    "name",
    "template",
    "description",
    "level",
    "dimension",
    "unit",
    "better",
    "target",
    "warning",
    "critical",
    "expected_interval",
    "last_value",
    "last_read_at",
    "severity",
    "created_at",
    "updated_at",
)
METRIC_ORDER = ("product__name", "product_id", "name", "id")


def metric_rows(queryset: QuerySet[Metric], *, now: dt.datetime | None = None) -> QuerySet:
    """The rows a metric body is made of, status included, in one query."""
    if "severity" not in queryset.query.annotations:
        queryset = with_status(queryset, now=now)
    return queryset.values(*METRIC_FIELDS)


def metric_representation(row: dict) -> dict:
    status = status_from_severity(row["severity"])
    return {
        "id": row["id"],
        "product": row["product__slug"],
        "product_name": row["product__name"],
        "key": row["key"],
        "ref": f"{row['product__slug']}/{row['key']}",
        "name": row["name"],
        "template": row["template"],
        "description": row["description"],
        "level": row["level"],
        "dimension": row["dimension"],
        "unit": row["unit"],
        "better": row["better"],
        "target": row["target"],
        "warning": row["warning"],
        "critical": row["critical"],
        "expected_interval_seconds": _seconds(row["expected_interval"]),
        "last_value": row["last_value"],
        "last_read_at": _dt(row["last_read_at"]),
        "status": status.value if status is not None else None,
        "created_at": _dt(row["created_at"]),
        "updated_at": _dt(row["updated_at"]),
    }


INTERVAL_HELP = "How often a reading should come in, in whole seconds (e.g. 86400 for daily)."


class MetricSerializer(serializers.Serializer):
    """A metric definition as the API answers it (read-only; described here for the schema)."""

    id = serializers.IntegerField()
    product = serializers.SlugField(help_text="The product's slug.")
    product_name = serializers.CharField()
    key = serializers.SlugField(help_text="Unique on the product; readings may refer to it.")
    ref = serializers.CharField(
        help_text="'product-slug/key': how readings and CSV files name the metric."
    )
    name = serializers.CharField()
    template = serializers.CharField(
        allow_blank=True, help_text="The catalogue template it was made from; empty if custom."
    )
    description = serializers.CharField(allow_blank=True)
    level = serializers.ChoiceField(choices=Level.choices)
    dimension = serializers.ChoiceField(choices=Dimension.choices)
    unit = serializers.CharField(help_text="What a reading counts, e.g. %, ms, tickets/week.")
    better = serializers.ChoiceField(choices=Better.choices)
    target = serializers.FloatField()
    warning = serializers.FloatField(allow_null=True)
    critical = serializers.FloatField(allow_null=True)
    expected_interval_seconds = serializers.IntegerField(help_text=INTERVAL_HELP)
    last_value = serializers.FloatField(allow_null=True, help_text="The latest reading's value.")
    last_read_at = serializers.DateTimeField(
        allow_null=True, help_text="The latest reading's time."
    )
    status = MetricStatusField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class FiniteFloatField(serializers.FloatField):
    """A finite number; true/false are not numbers."""

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("invalid")
        return super().to_internal_value(data)


class IntervalField(serializers.IntegerField):
    """Whole seconds (turned into the model's timedelta by `to_service`)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 60)
        kwargs.setdefault("max_value", _seconds(MAX_INTERVAL))
        kwargs.setdefault("help_text", INTERVAL_HELP)
        super().__init__(**kwargs)

    def to_internal_value(self, data) -> int:
        if isinstance(data, bool):
            self.fail("invalid")
        return super().to_internal_value(data)


class MetricFieldsSerializer(serializers.Serializer):
    """The editable fields of a definition (shared by create and update)."""

    key = serializers.SlugField(max_length=60, required=False)
    name = serializers.CharField(max_length=120)
    description = serializers.CharField(allow_blank=True, required=False)
    level = serializers.ChoiceField(choices=Level.choices, required=False)
    dimension = serializers.ChoiceField(choices=Dimension.choices, required=False)
    unit = serializers.CharField(max_length=30)
    better = serializers.ChoiceField(choices=Better.choices, required=False)
    target = FiniteFloatField()
    warning = FiniteFloatField(allow_null=True, required=False)
    critical = FiniteFloatField(allow_null=True, required=False)
    expected_interval_seconds = IntervalField(required=False)

    def to_service(self) -> dict[str, Any]:
        """validated_data in the service's terms."""
        data = dict(self.validated_data)
        if "expected_interval_seconds" in data:
            data["expected_interval"] = dt.timedelta(seconds=data.pop("expected_interval_seconds"))
        return data


class MetricCreateSerializer(MetricFieldsSerializer):
    """A custom metric (name, unit and target required) or one from a catalogue template
    (any field given overrides the template's)."""

    product = ProductRefField(help_text="The product (id or slug) the metric measures.")
    template = serializers.ChoiceField(
        choices=TEMPLATE_CHOICES,
        required=False,
        help_text="Start from this catalogue template (see /metrics/templates/).",
    )

    name = serializers.CharField(max_length=120, required=False, help_text="Required if custom.")
    unit = serializers.CharField(max_length=30, required=False, help_text="Required if custom.")
    target = FiniteFloatField(required=False, help_text="Required if custom.")

    def validate(self, attrs):
        if not attrs.get("template"):
            missing = {
                f: ["This field is required (or give a `template`)."]
                for f in ("name", "unit", "target")
                if f not in attrs
            }
            if missing:
                raise serializers.ValidationError(missing)
        return attrs

    def to_service(self) -> dict[str, Any]:
        data = super().to_service()
        data.pop("product")
        data.pop("template", None)
        return data


class MetricUpdateSerializer(MetricFieldsSerializer):
    """A metric's fields; the product and template it came from do not change."""

    FIXED = ("product", "template")

    def validate(self, attrs):
        if isinstance(self.initial_data, dict):
            fixed = {
                f: ["This field cannot be changed."] for f in self.FIXED if f in self.initial_data
            }
            if fixed:
                raise serializers.ValidationError(fixed)
        return attrs


class TemplateSerializer(serializers.Serializer):
    key = serializers.SlugField(help_text="Pass as `template` when creating a metric.")
    name = serializers.CharField()
    level = serializers.ChoiceField(choices=Level.choices)
    dimension = serializers.ChoiceField(choices=Dimension.choices)
    unit = serializers.CharField(help_text="With the portfolio's currency filled in.")
    better = serializers.ChoiceField(choices=Better.choices)
    target = serializers.FloatField()
    warning = serializers.FloatField()
    critical = serializers.FloatField()
    expected_interval_seconds = serializers.IntegerField(help_text=INTERVAL_HELP)
    description = serializers.CharField()


def template_representation(template: Template, currency: str) -> dict:
    return {
        "key": template.key,
        "name": template.name,
        "level": str(template.level),
        "dimension": str(template.dimension),
        "unit": template.unit_for(currency),
        "better": str(template.better),
        "target": float(template.target),
        "warning": float(template.warning),
        "critical": float(template.critical),
        "expected_interval_seconds": _seconds(template.interval),
        "description": template.description,
    }


# --- Readings ----------------------------------------------------------------------------------

READING_FIELDS = (
    "id",
    "metric_id",
    "metric__key",
    "metric__product__slug",
    "taken_at",
    "value",
    "source",
    "created_at",
    "updated_at",
)
READING_ORDER = ("metric_id", "taken_at", "source")


def reading_rows(queryset: QuerySet[Reading]) -> QuerySet:
    return queryset.values(*READING_FIELDS)


def reading_representation(row: dict) -> dict:
    return {
        "id": row["id"],
        "metric": row["metric_id"],
        "metric_ref": f"{row['metric__product__slug']}/{row['metric__key']}",
        "time": _dt(row["taken_at"]),
        "value": row["value"],
        "source": row["source"],
        "created_at": _dt(row["created_at"]),
        "updated_at": _dt(row["updated_at"]),
    }


class ReadingSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    metric = serializers.IntegerField(help_text="The metric's id.")
    metric_ref = serializers.CharField(help_text="The metric as 'product-slug/key'.")
    time = serializers.DateTimeField(help_text="When the value was taken.")
    value = serializers.FloatField()
    # To mypy this shadows Field.source; DRF's metaclass lifts declared fields off the class.
    source = serializers.CharField(help_text="Where it came from (a tool, a person, a file).")  # type: ignore[assignment]
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField(
        help_text="Changes when a correction replaces the value."
    )


@extend_schema_field(
    {
        "oneOf": [
            {"type": "integer", "description": "The metric's id."},
            {
                "type": "string",
                "description": "'product-slug/metric-key', e.g. payroll/availability.",
            },
        ]
    }
)
class MetricRefField(serializers.Field):
    """Documentation only: readings are validated by the service, not by this serializer."""


@extend_schema_field(
    {
        "oneOf": [{"type": "number"}, {"type": "string"}],
        "description": "A finite number (a numeric string is read as one); NaN and Infinity "
        "are refused.",
    }
)
class ReadingValueField(serializers.Field):
    """Documentation only."""


class ReadingInputSerializer(serializers.Serializer):
    """One reading in a batch (documentation of the shape; see the view)."""

    metric = MetricRefField()
    time = serializers.DateTimeField(
        help_text="ISO 8601; without an offset it is read in the server's time zone. At most "
        "5 minutes ahead of the server clock."
    )
    value = ReadingValueField()
    # To mypy this shadows Field.source; DRF's metaclass lifts declared fields off the class.
    source = serializers.CharField(  # type: ignore[assignment]
        max_length=60, required=False, help_text="Defaults to `api`. Part of the reading's key."
    )
    unit = serializers.CharField(
        max_length=30,
        required=False,
        help_text="If given, must match the metric's unit (a guard against mixed-up feeds).",
    )


class ReadingBatchSerializer(serializers.Serializer):
    # many=True hands max_length/min_length to the ListSerializer; the stubs check the child.
    readings = ReadingInputSerializer(many=True, min_length=1, max_length=MAX_READINGS)  # type: ignore[call-arg]


class ReadingBatchResultSerializer(serializers.Serializer):
    received = serializers.IntegerField(help_text="Rows in the batch.")
    created = serializers.IntegerField(help_text="New readings stored.")
    updated = serializers.IntegerField(
        help_text="Known (metric, time, source) with a new value: corrected."
    )
    unchanged = serializers.IntegerField(help_text="Already stored with the same value.")
    metrics = serializers.IntegerField(help_text="Distinct metrics the batch touched.")


# --- Status per product ------------------------------------------------------------------------


class StatusCountsSerializer(serializers.Serializer):
    green = serializers.IntegerField()
    no_data = serializers.IntegerField()
    stale = serializers.IntegerField()
    amber = serializers.IntegerField()
    red = serializers.IntegerField()


class CoverageSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Metrics defined on the product.")
    minimum = serializers.IntegerField(help_text="Fewest metrics a product should have.")
    maximum = serializers.IntegerField(help_text="Most metrics a product should have.")
    ok = serializers.BooleanField(
        help_text="Between minimum and maximum, and every dimension covered."
    )
    missing = serializers.ListField(
        child=serializers.CharField(),
        help_text="Dimensions no metric covers (improvement, operations, support).",
    )
    problems = serializers.ListField(child=serializers.CharField(), help_text="In words.")


class StatusMetricSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    key = serializers.SlugField()
    ref = serializers.CharField()
    name = serializers.CharField()
    level = serializers.ChoiceField(choices=Level.choices)
    dimension = serializers.ChoiceField(choices=Dimension.choices)
    unit = serializers.CharField()
    target = serializers.FloatField()
    last_value = serializers.FloatField(allow_null=True)
    last_read_at = serializers.DateTimeField(allow_null=True)
    status = MetricStatusField()


class ProductMetricStatusSerializer(serializers.Serializer):
    product = serializers.SlugField()
    product_name = serializers.CharField()
    unit = serializers.IntegerField(
        allow_null=True, help_text="The ownership unit the product is run in."
    )
    status = MetricStatusField(
        allow_null=True,
        help_text="The worst status of its metrics (green < no_data < stale < amber < red); "
        "null when it has none.",
    )
    counts = StatusCountsSerializer(help_text="Metrics per status.")
    coverage = CoverageSerializer()
    metrics = StatusMetricSerializer(many=True)


DIMENSION_BY_LABEL = {label: value for value, label in Dimension.choices}
STATUS_METRIC_FIELDS = (
    "id",
    "product_id",
    "product__slug",
    "key",
    "name",
    "level",
    "dimension",
    "unit",
    "target",
    "last_value",
    "last_read_at",
    "severity",
)


def product_status_entries(
    products: Sequence[Mapping[str, Any]], metrics: list[dict], settings
) -> list[dict]:
    """The status body of each product (rows with id, slug, name, unit_id), from its metrics'
    rows (STATUS_METRIC_FIELDS, ordered as they should show)."""
    by_product: dict[int, list[dict]] = {p["id"]: [] for p in products}
    for row in metrics:
        by_product[row["product_id"]].append(row)
    entries = []
    for product in products:
        rows = by_product[product["id"]]
        statuses = [status_from_severity(r["severity"]) for r in rows]
        counts = dict.fromkeys(STATUSES, 0)
        for status in statuses:
            counts[status.value] += 1
        cover = coverage_from([r["dimension"] for r in rows], settings)
        rollup = worst(statuses)
        entries.append(
            {
                "product": product["slug"],
                "product_name": product["name"],
                "unit": product["unit_id"],
                "status": rollup.value if rollup is not None else None,
                "counts": counts,
                "coverage": {
                    "count": cover.count,
                    "minimum": cover.minimum,
                    "maximum": cover.maximum,
                    "ok": cover.ok,
                    "missing": [DIMENSION_BY_LABEL[label] for label in cover.missing],
                    "problems": cover.problems,
                },
                "metrics": [
                    {
                        "id": r["id"],
                        "key": r["key"],
                        "ref": f"{r['product__slug']}/{r['key']}",
                        "name": r["name"],
                        "level": r["level"],
                        "dimension": r["dimension"],
                        "unit": r["unit"],
                        "target": r["target"],
                        "last_value": r["last_value"],
                        "last_read_at": _dt(r["last_read_at"]),
                        "status": status.value,
                    }
                    for r, status in zip(rows, statuses, strict=True)
                ],
            }
        )
    return entries
