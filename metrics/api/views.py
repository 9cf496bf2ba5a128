"""/api/v1/metrics/, metric-readings/ and metric-status/: thin views over the metrics filtersets,
selectors and services.

Lists are built from values() rows with the status computed in SQL, so they cost the same
queries at any page size. Readings come in through `readings_ingest` only: a batch goes to it
as the client sent it (it validates 10,000 rows in plain Python, not a serializer per row).
"""

from __future__ import annotations

import datetime as dt
import gc
from collections.abc import Sequence
from typing import Any

import django_filters
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from metrics.api.serializers import (
    METRIC,
    METRIC_EXPORT,
    METRIC_ORDER,
    PRODUCT_METRIC_STATUS,
    READING,
    READING_EXPORT,
    READING_ORDER,
    STATUS_METRIC,
    MetricCreateSerializer,
    MetricSerializer,
    MetricUpdateSerializer,
    ProductMetricStatusSerializer,
    ReadingBatchResultSerializer,
    ReadingBatchSerializer,
    ReadingSerializer,
    TemplateSerializer,
    metric_rows,
    product_status_entries,
    reading_rows,
    template_representation,
)
from metrics.catalogue import TEMPLATES
from metrics.filters import MetricFilterSet, MetricStatusFilterSet, ReadingFilterSet
from metrics.models import Metric, Reading
from metrics.selectors import health_subquery, with_status
from metrics.services import (
    MAX_READINGS,
    metric_create,
    metric_delete,
    metric_update,
    readings_ingest,
)
from portfolio.api.exports import Exportable
from portfolio.api.pagination import KeysetPagination
from portfolio.api.parsers import BulkJSONParser
from portfolio.api.views import RENDERERS, Preconditions, errors_for
from portfolio.errors import ValidationFailed
from portfolio.models import PortfolioSettings
from products.api.serializers import BulkErrorSerializer
from products.models import Product
from products.permissions import require_unit_editor

ID = r"[0-9]{1,18}"
SLUG = r"[-a-zA-Z0-9_]{1,160}"


def _in_api_terms(exc: ValidationFailed) -> ValidationFailed:
    """The service names the model field; the API calls it `expected_interval_seconds`."""
    if "expected_interval" not in exc.errors:
        return exc
    errors = {
        ("expected_interval_seconds" if k == "expected_interval" else k): v
        for k, v in exc.errors.items()
    }
    return ValidationFailed(errors)


WRITE: dict[str, Any] = {
    "request": MetricUpdateSerializer,
    "responses": {200: MetricSerializer, **errors_for(400, 403, 404)},
}


@extend_schema_view(
    list=extend_schema(
        summary="List metric definitions",
        description="Ordered by product name, then metric name; `status` is computed now.",
        responses={200: MetricSerializer(many=True), **errors_for(400)},
    ),
    retrieve=extend_schema(summary="Read a metric definition", responses={200: MetricSerializer}),
    create=extend_schema(
        summary="Define a metric on a product (unit owner or leader)",
        description=(
            "From a catalogue template (`template`, any other field overriding the template's) "
            "or custom (`name`, `unit` and `target` required). `key` defaults to the template "
            "key or the slugified name. Thresholds must sit on the worse side of the target."
        ),
        request=MetricCreateSerializer,
        responses={201: MetricSerializer, **errors_for(400, 403)},
    ),
    update=extend_schema(
        summary="Replace a metric's fields (unit owner or leader)",
        description="`name`, `unit` and `target` are required; fields left out keep their value.",
        **WRITE,
    ),
    partial_update=extend_schema(summary="Change some of a metric's fields", **WRITE),
    destroy=extend_schema(
        summary="Remove a metric and its readings (unit owner or leader)",
        responses={204: None, **errors_for(403, 404)},
    ),
)
class MetricViewSet(Exportable, Preconditions, viewsets.ModelViewSet):
    """Metric definitions: every login reads; the owner of the product's unit and leaders write."""

    queryset = Metric.objects.all()
    serializer_class = MetricSerializer
    renderer_classes = RENDERERS
    filterset_class = MetricFilterSet
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend]
    lookup_value_regex = ID
    listing = METRIC_EXPORT

    def get_queryset(self) -> QuerySet[Metric]:
        qs = Metric.objects.visible_to(self.request.user)
        if self.action == "list":
            return with_status(qs).order_by(*METRIC_ORDER)
        return qs.select_related("product__unit__owner", "product__unit__cluster")

    def _body(self, pk: int) -> dict:
        return METRIC.one(metric_rows(Metric.objects.filter(pk=pk))[0])

    def list(self, request: Request, *args, **kwargs) -> Response:
        rows = metric_rows(self.filter_queryset(self.get_queryset()))
        page = self.paginate_queryset(rows)
        assert page is not None  # a list view always has a paginator
        return self.get_paginated_response(METRIC.many(page))

    def retrieve(self, request: Request, pk=None) -> Response:
        return Response(self._body(self.get_object().pk))

    def create(self, request: Request) -> Response:
        serializer = MetricCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            metric = metric_create(
                actor=request.user,
                product=serializer.validated_data["product"],
                template=serializer.validated_data.get("template"),
                **serializer.to_service(),
            )
        except ValidationFailed as exc:
            raise _in_api_terms(exc) from exc
        return Response(self._body(metric.pk), status=status.HTTP_201_CREATED)

    def _update(self, request: Request, *, partial: bool) -> Response:
        metric = self.get_object()
        require_unit_editor(
            request.user, metric.product.unit, f"change metrics of {metric.product.name}"
        )
        serializer = MetricUpdateSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        try:
            metric = metric_update(
                actor=request.user,
                metric=metric,
                version=self.precondition(),
                **serializer.to_service(),
            )
        except ValidationFailed as exc:
            raise _in_api_terms(exc) from exc
        return Response(self._body(metric.pk))

    def update(self, request: Request, pk=None) -> Response:
        return self._update(request, partial=False)

    def partial_update(self, request: Request, pk=None) -> Response:
        return self._update(request, partial=True)

    def destroy(self, request: Request, pk=None) -> Response:
        metric_delete(actor=request.user, metric=self.get_object(), version=self.precondition())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="The catalogue of standard metrics",
        description="Templates to create metrics from; units carry the portfolio's currency.",
        responses={200: TemplateSerializer(many=True)},
        filters=False,
    )
    @action(
        detail=False,
        methods=["get"],
        url_path="templates",
        url_name="templates",
        pagination_class=None,
    )
    def templates(self, request: Request) -> Response:
        currency = PortfolioSettings.load().currency
        return Response([template_representation(t, currency) for t in TEMPLATES])


BULK_EXAMPLE = {
    "readings": [
        {"metric": "payroll/availability", "time": "2026-11-25T10:00:00Z", "value": 99.93},
        {"metric": 12, "time": "2026-11-25T10:00:00Z", "value": 412, "source": "grafana"},
    ]
}


def _cursor_id(value: Any) -> int:
    if type(value) is not int or not 0 < value < 2**63:
        raise ValueError(value)
    return value


def _cursor_time(value: Any) -> dt.datetime:
    moment = dt.datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError(value)
    return moment


def _cursor_source(value: Any) -> str:
    if not isinstance(value, str) or len(value) > 60:
        raise ValueError(value)
    return value


class ReadingPagination(KeysetPagination):
    """Readings page by their order, (metric, time, source): unique, and the unique index's
    own order, so a page after a cursor is one index range scan of its rows."""

    keys = (("metric_id", _cursor_id), ("taken_at", _cursor_time), ("source", _cursor_source))
    key_sql = tuple(f'"{Reading._meta.db_table}"."{c}"' for c in READING_ORDER)

    def bounds(self, values: list[Any]) -> list[tuple[str, list[Any]]]:
        # The rows join their metric (for `metric_ref`). Told that only metrics from the
        # cursor's on qualify, the planner starts the metrics there; otherwise it may merge
        # join from the first metric, and a page deep in the list reads every metric before it.
        return [(f'"{Metric._meta.db_table}"."id" >= %s', [values[0]])]


@extend_schema_view(
    list=extend_schema(
        summary="List readings",
        description=(
            "Ordered by metric, then time, then source. `from` is inclusive, `to` exclusive "
            "(ISO 8601). Pages by cursor: the answer's `next` link continues after its last "
            "row (`after=<cursor>`); there is no `count` and no `page` (see the API guide)."
        ),
        responses={200: ReadingSerializer(many=True), **errors_for(400)},
    ),
)
class ReadingViewSet(Exportable, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Readings: every login reads; they are written in batches through `bulk`."""

    queryset = Reading.objects.all()
    serializer_class = ReadingSerializer
    renderer_classes = RENDERERS
    filterset_class = ReadingFilterSet
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend]
    pagination_class = ReadingPagination
    listing = READING_EXPORT

    def get_queryset(self) -> QuerySet[Reading]:
        return Reading.objects.visible_to(self.request.user).order_by(*READING_ORDER)

    def list(self, request: Request, *args, **kwargs) -> Response:
        rows = reading_rows(self.filter_queryset(self.get_queryset()))
        page = self.paginate_queryset(rows)
        assert page is not None  # a list view always has a paginator
        return self.get_paginated_response(READING.many(page))

    @extend_schema(
        summary=f"Record up to {MAX_READINGS:,} readings (unit owner or leader)",
        description=(
            "All or nothing, and idempotent: a reading is keyed by (metric, time, source). "
            "Sending the same batch again stores nothing new (`unchanged`); a known key with a "
            "new value replaces the old one (`updated`, a correction). If any row is bad the "
            "answer is 400 with the errors of each bad row by index (`readings[3].value`, and "
            "`rows`), and nothing is stored. 403 if any reading is of a metric whose product "
            "you do not own."
        ),
        request=ReadingBatchSerializer,
        responses={
            200: ReadingBatchResultSerializer,
            400: OpenApiResponse(BulkErrorSerializer, description="Bad rows; nothing stored."),
            **errors_for(403),
        },
        examples=[OpenApiExample("Two readings", value=BULK_EXAMPLE, request_only=True)],
        filters=False,
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="bulk",
        url_name="bulk",
        parser_classes=[BulkJSONParser],
    )
    def bulk(self, request: Request) -> Response:
        if not isinstance(request.data, dict):
            raise ValidationFailed(
                {"non_field_errors": ['Expected a JSON object: {"readings": [...]}.']}
            )
        if "readings" not in request.data:
            raise ValidationFailed({"readings": ["This field is required."]})
        # Many short-lived acyclic objects: the cyclic collector's passes over them are waste.
        collecting = gc.isenabled()
        gc.disable()
        try:
            result = readings_ingest(actor=request.user, rows=request.data["readings"])
        finally:
            if collecting:
                gc.enable()
        return Response(result.as_dict())


@extend_schema_view(
    list=extend_schema(
        summary="Metric status per product",
        description=(
            "One entry per product (ordered by name): the roll-up status (the worst of its "
            "metrics), counts per status, coverage against the portfolio's rules and its "
            "metrics with their status now."
        ),
        responses={200: ProductMetricStatusSerializer(many=True), **errors_for(400)},
    ),
    retrieve=extend_schema(
        summary="Metric status of one product",
        responses={200: ProductMetricStatusSerializer, **errors_for(404)},
    ),
)
class MetricStatusViewSet(viewsets.ReadOnlyModelViewSet):
    """Health per product, computed now: the products page, then one query for their metrics."""

    queryset = Product.objects.all()
    serializer_class = ProductMetricStatusSerializer
    renderer_classes = RENDERERS
    filterset_class = MetricStatusFilterSet
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend]
    lookup_field = "slug"
    lookup_value_regex = SLUG

    def initial(self, request: Request, *args, **kwargs) -> None:
        super().initial(request, *args, **kwargs)
        # One clock for the roll-up filter and the statuses shown, so they agree.
        self.now = timezone.now()

    def get_queryset(self) -> QuerySet[Product]:
        return (
            Product.objects.visible_to(self.request.user)
            .annotate(health=health_subquery(now=self.now))
            .order_by("name", "id")
        )

    def _entries(self, products: Sequence[dict[str, Any]]) -> list[dict]:
        metrics = (
            with_status(
                Metric.objects.filter(product_id__in=[p["id"] for p in products]), now=self.now
            )
            .order_by("product_id", "name", "id")
            .values("product_id", *STATUS_METRIC.columns)
        )
        return product_status_entries(products, list(metrics), PortfolioSettings.load())

    def list(self, request: Request, *args, **kwargs) -> Response:
        rows = self.filter_queryset(self.get_queryset()).values(
            "id", *PRODUCT_METRIC_STATUS.columns
        )
        paged = self.paginate_queryset(rows)
        assert paged is not None  # a list view always has a paginator
        page = list(paged)
        return self.get_paginated_response(self._entries(page) if page else [])

    def retrieve(self, request: Request, slug=None) -> Response:
        row = Product.objects.visible_to(request.user).filter(slug=slug)
        found = list(row.values("id", *PRODUCT_METRIC_STATUS.columns))
        if not found:
            raise Http404
        return Response(self._entries(found)[0])
