"""Input and output adapters of the metrics API.

Outputs come from values() rows (see `metric_rows`, `reading_rows`), so a list costs the same
queries at any page size and one object answers with the same body; each body's fields are
declared once (`METRIC`, `READING`, `PRODUCT_METRIC_STATUS`, see portfolio/api/rows.py), which
makes both the rows' JSON and the schema serializer. The expected reading interval travels as
whole seconds (`expected_interval_seconds`).
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
from portfolio.api.rows import Attached, Column, Computed, Output, iso_datetime, version_column
from portfolio.exports import Listing
from products.api.serializers import ProductRefField
from products.models import Dimension

MAX_INTERVAL = dt.timedelta(days=3653)
STATUSES = [s.value for s in Status]


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

METRIC_ORDER = ("product__name", "product_id", "name", "id")
INTERVAL_HELP = "How often a reading should come in, in whole seconds (e.g. 86400 for daily)."


def _status_of(row: Mapping[str, Any]) -> str | None:
    status = status_from_severity(row["severity"])
    return status.value if status is not None else None


METRIC = Output(
    "MetricSerializer",
    Column("id", serializers.IntegerField()),
    Column("product", serializers.SlugField(help_text="The product's slug."), "product__slug"),
    Column("product_name", serializers.CharField(), "product__name"),
    Column(
        "key",
        serializers.SlugField(help_text="Unique on the product; readings may refer to it."),
    ),
    Computed(
        "ref",
        serializers.CharField(
            help_text="'product-slug/key': how readings and CSV files name the metric."
        ),
        lambda row: f"{row['product__slug']}/{row['key']}",
        reads=("product__slug", "key"),
    ),
    Column("name", serializers.CharField()),
    Column(
        "template",
        serializers.CharField(
            allow_blank=True, help_text="The catalogue template it was made from; empty if custom."
        ),
    ),
    Column("description", serializers.CharField(allow_blank=True)),
    Column("level", serializers.ChoiceField(choices=Level.choices)),
    Column("dimension", serializers.ChoiceField(choices=Dimension.choices)),
    Column(
        "unit",
        serializers.CharField(help_text="What a reading counts, e.g. %, ms, tickets/week."),
    ),
    Column("better", serializers.ChoiceField(choices=Better.choices)),
    Column("target", serializers.FloatField()),
    Column("warning", serializers.FloatField(allow_null=True)),
    Column("critical", serializers.FloatField(allow_null=True)),
    Column(
        "expected_interval_seconds",
        serializers.IntegerField(help_text=INTERVAL_HELP),
        "expected_interval",
        convert=_seconds,
    ),
    Column(
        "last_value",
        serializers.FloatField(allow_null=True, help_text="The latest reading's value."),
    ),
    Column(
        "last_read_at",
        serializers.DateTimeField(allow_null=True, help_text="The latest reading's time."),
        convert=iso_datetime,
    ),
    Computed("status", MetricStatusField(), _status_of, reads=("severity",)),
    Column("created_at", serializers.DateTimeField(), convert=iso_datetime),
    Column("updated_at", serializers.DateTimeField(), convert=iso_datetime),
    version_column(),
    doc="A metric definition as the API answers it (read-only; described here for the schema).",
)
MetricSerializer = METRIC.serializer


def metric_rows(queryset: QuerySet[Metric], *, now: dt.datetime | None = None) -> QuerySet:
    """The rows a metric body is made of, status included, in one query."""
    if "severity" not in queryset.query.annotations:
        queryset = with_status(queryset, now=now)
    return queryset.values(*METRIC.columns)


# Each metric with its status computed now, as the list shows it.
METRIC_EXPORT = Listing.of_output("metrics", METRIC, rows=metric_rows)


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

READING_ORDER = ("metric_id", "taken_at", "source")

READING = Output(
    "ReadingSerializer",
    Column("id", serializers.IntegerField()),
    Column("metric", serializers.IntegerField(help_text="The metric's id."), "metric_id"),
    Computed(
        "metric_ref",
        serializers.CharField(help_text="The metric as 'product-slug/key'."),
        lambda row: f"{row['metric__product__slug']}/{row['metric__key']}",
        reads=("metric__key", "metric__product__slug"),
    ),
    Column(
        "time",
        serializers.DateTimeField(help_text="When the value was taken."),
        "taken_at",
        convert=iso_datetime,
    ),
    Column("value", serializers.FloatField()),
    Column(
        "source",
        serializers.CharField(help_text="Where it came from (a tool, a person, a file)."),
    ),
    Column("created_at", serializers.DateTimeField(), convert=iso_datetime),
    Column(
        "updated_at",
        serializers.DateTimeField(help_text="Changes when a correction replaces the value."),
        convert=iso_datetime,
    ),
)
ReadingSerializer = READING.serializer


def reading_rows(queryset: QuerySet[Reading]) -> QuerySet:
    return queryset.values(*READING.columns)


READING_EXPORT = Listing.of_output("readings", READING, rows=reading_rows)


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


DIMENSION_BY_LABEL = {label: value for value, label in Dimension.choices}

STATUS_METRIC = Output(
    "StatusMetricSerializer",
    Column("id", serializers.IntegerField()),
    Column("key", serializers.SlugField()),
    Computed(
        "ref",
        serializers.CharField(),
        lambda row: f"{row['product__slug']}/{row['key']}",
        reads=("product__slug", "key"),
    ),
    Column("name", serializers.CharField()),
    Column("level", serializers.ChoiceField(choices=Level.choices)),
    Column("dimension", serializers.ChoiceField(choices=Dimension.choices)),
    Column("unit", serializers.CharField()),
    Column("target", serializers.FloatField()),
    Column("last_value", serializers.FloatField(allow_null=True)),
    Column("last_read_at", serializers.DateTimeField(allow_null=True), convert=iso_datetime),
    Computed("status", MetricStatusField(), _status_of, reads=("severity",)),
)

# A product's status: the product's own columns, then what `product_status_entries` adds from
# its metrics' rows.
PRODUCT_METRIC_STATUS = Output(
    "ProductMetricStatusSerializer",
    Column("product", serializers.SlugField(), "slug"),
    Column("product_name", serializers.CharField(), "name"),
    Column(
        "unit",
        serializers.IntegerField(
            allow_null=True, help_text="The ownership unit the product is run in."
        ),
        "unit_id",
    ),
    Attached(
        "status",
        MetricStatusField(
            allow_null=True,
            help_text="The worst status of its metrics (green < no_data < stale < amber < red); "
            "null when it has none.",
        ),
        "rollup",
    ),
    Attached("counts", StatusCountsSerializer(help_text="Metrics per status.")),
    Attached("coverage", CoverageSerializer()),
    Attached("metrics", STATUS_METRIC.serializer(many=True), convert=STATUS_METRIC.many),
)
ProductMetricStatusSerializer = PRODUCT_METRIC_STATUS.serializer


def product_status_entries(
    products: Sequence[dict[str, Any]], metrics: list[dict], settings
) -> list[dict]:
    """The status body of each product (rows with id and PRODUCT_METRIC_STATUS.columns), from
    its metrics' rows (product_id and STATUS_METRIC.columns, ordered as they should show)."""
    by_product: dict[int, list[dict]] = {p["id"]: [] for p in products}
    for row in metrics:
        by_product[row["product_id"]].append(row)
    for product in products:
        rows = by_product[product["id"]]
        statuses = [status_from_severity(r["severity"]) for r in rows]
        counts = dict.fromkeys(STATUSES, 0)
        for status in statuses:
            counts[status.value] += 1
        cover = coverage_from([r["dimension"] for r in rows], settings)
        rollup = worst(statuses)
        product["rollup"] = rollup.value if rollup is not None else None
        product["counts"] = counts
        product["coverage"] = {
            "count": cover.count,
            "minimum": cover.minimum,
            "maximum": cover.maximum,
            "ok": cover.ok,
            "missing": [DIMENSION_BY_LABEL[label] for label in cover.missing],
            "problems": cover.problems,
        }
        product["metrics"] = rows
    return PRODUCT_METRIC_STATUS.many(products)
