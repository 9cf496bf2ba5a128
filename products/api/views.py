"""/api/v1/products/ and /api/v1/units/: thin views over the shared filtersets and services."""

from __future__ import annotations

import gc

import django_filters
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.filters import OrderingFilter
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.serializer_helpers import ReturnDict

from portfolio.api.exports import Exportable
from portfolio.api.parsers import BulkJSONParser
from portfolio.api.views import (
    RENDERERS,
    Preconditions,
    UpdateViewSet,
    WriteThroughServices,
    _write_schema,
    errors_for,
    updated_since_filter,
)
from portfolio.errors import RuleViolation, ValidationFailed
from portfolio.filters import UpdatedSinceFilterSet
from portfolio.permissions import require_leader
from portfolio.validation import parse_id
from products import selectors
from products.api.serializers import (
    CLUSTER_EXPORT,
    PERSON_EXPORT,
    PRODUCT,
    PRODUCT_EXPORT,
    BulkErrorSerializer,
    BulkUpsertInputSerializer,
    BulkUpsertResultSerializer,
    ClusterInputSerializer,
    ClusterMembersInputSerializer,
    ClusterSerializer,
    PersonInputSerializer,
    PersonSerializer,
    ProductInputSerializer,
    ProductSerializer,
    TeamInputSerializer,
    TeamSerializer,
    TransitionInputSerializer,
    TransitionSerializer,
    UnitSerializer,
    UpsertResultSerializer,
    UpsertRowSerializer,
    cluster_relations,
    product_api_rows,
)
from products.bulk import BulkValidationFailed, cluster_members_change, products_bulk_upsert
from products.filters import (
    NONE,
    ClusterFilterSet,
    PersonFilterSet,
    ProductFilterSet,
    TeamFilterSet,
)
from products.models import (
    Cluster,
    ExternalId,
    LifecycleTransition,
    OwnershipUnit,
    Person,
    Product,
    Team,
    UnitKind,
)
from products.permissions import require_unit_editor
from products.services import (
    MigrationPlanInput,
    cluster_create,
    cluster_delete,
    cluster_update,
    person_create,
    person_update,
    product_create,
    product_transition,
    product_update,
    team_create,
    team_update,
)


def product_queryset(user) -> QuerySet[Product]:
    """Products as the views load one to act on it (get_object): unit, owner and login
    selected, external ids and dependencies prefetched. Bodies come from rows (`_body`)."""
    return (
        Product.objects.visible_to(user)
        .with_unit()
        .prefetch_related(
            Prefetch("external_ids", queryset=ExternalId.objects.order_by("source")),
            Prefetch("dependencies", queryset=Product.objects.only("id", "slug")),
        )
    )


def _person_id_or_none(value: str) -> None:
    if value != NONE and parse_id(value) is None:
        raise DjangoValidationError("A person id or 'none'.", code="invalid")


class ApiProductFilterSet(ProductFilterSet):
    """The shared product filterset, with `owner` checked before it reaches the query."""

    owner = django_filters.CharFilter(
        method="filter_owner",
        label="Owner (person id or 'none')",
        validators=[_person_id_or_none],
    )
    updated_since = updated_since_filter()


class TransitionFilterSet(UpdatedSinceFilterSet):
    updated_since = updated_since_filter("at", "Recorded since")

    class Meta:
        model = LifecycleTransition
        fields = ["updated_since"]


def _single_row_error(exc: BulkValidationFailed) -> ValidationFailed | RuleViolation:
    """The standard error body for the one-row upsert (409 with `rule` if a rule refused it)."""
    row = exc.rows[0]
    error = ValidationFailed(row.errors)
    if row.rule:
        field = next(f for f, _ in row.errors.items())
        return RuleViolation(row.errors[field][0], field=field, rule=row.rule)
    return error


@extend_schema_view(
    list=extend_schema(summary="List products", responses={200: ProductSerializer(many=True)}),
    retrieve=extend_schema(summary="Read a product", responses={200: ProductSerializer}),
)
class ProductViewSet(
    Exportable,
    Preconditions,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Products: everyone logged in reads; leaders create; unit owners and leaders edit."""

    queryset = Product.objects.all()
    serializer_class = ProductSerializer
    renderer_classes = RENDERERS
    filterset_class = ApiProductFilterSet
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend]
    listing = PRODUCT_EXPORT

    def get_queryset(self):
        if self.action == "transitions":
            return Product.objects.visible_to(self.request.user).only("id")
        qs = product_queryset(self.request.user)
        if not self.request.query_params.get("ordering"):
            qs = qs.order_by("name", "id")
        return qs

    def export_queryset(self) -> QuerySet[Product]:
        base = Product.objects.visible_to(self.request.user)
        if not self.request.query_params.get("ordering"):
            base = base.order_by("name", "id")
        return self.filter_queryset(base)

    def list(self, request: Request, *args, **kwargs) -> Response:
        # Plain values, not model instances: the list is the sync clients' hot path.
        rows = product_api_rows(self.export_queryset())
        paged = self.paginate_queryset(rows)
        assert paged is not None  # a list view always has a paginator
        page = selectors.attach_api_relations(list(paged))
        return self.get_paginated_response(PRODUCT.many(page))

    def _body(self, queryset: QuerySet[Product], pk) -> ReturnDict:
        """The product's body from its row (three queries, as for a page of the list)."""
        try:
            rows = list(product_api_rows(queryset.filter(pk=pk)))
        except (TypeError, ValueError, DjangoValidationError):
            raise Http404 from None  # not an id, as DRF's get_object_or_404 has it
        if not rows:
            raise Http404
        row = selectors.attach_api_relations(rows)[0]
        # As a serializer's answer, so the browsable API fills its PUT form with the product.
        return ReturnDict(PRODUCT.one(row), serializer=ProductSerializer(row))

    def retrieve(self, request: Request, pk=None) -> Response:
        return Response(
            self._body(self.filter_queryset(Product.objects.visible_to(request.user)), pk)
        )

    def _answer(self, product: Product, code: int = status.HTTP_200_OK) -> Response:
        body = self._body(Product.objects.visible_to(self.request.user), product.pk)
        return Response(body, status=code)

    @extend_schema(
        summary="Add a product (leaders)",
        request=ProductInputSerializer,
        responses={201: ProductSerializer, **errors_for(400, 403, 409)},
    )
    def create(self, request: Request) -> Response:
        require_leader(request.user, "add products to the portfolio")
        serializer = ProductInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        product = product_create(actor=request.user, **serializer.validated_data)
        return self._answer(product, status.HTTP_201_CREATED)

    def _update(self, request: Request, *, partial: bool) -> Response:
        product = self.get_object()
        require_unit_editor(request.user, product.unit, f"edit {product.name}")
        serializer = ProductInputSerializer(
            data=request.data, partial=partial, context={"product": product}
        )
        serializer.is_valid(raise_exception=True)
        product = product_update(
            actor=request.user,
            product=product,
            version=self.precondition(),
            **serializer.validated_data,
        )
        return self._answer(product)

    @extend_schema(
        summary="Replace a product's fields (unit owner or leader)",
        request=ProductInputSerializer,
        responses={200: ProductSerializer, **errors_for(400, 403, 404, 409)},
    )
    def update(self, request: Request, pk=None) -> Response:
        return self._update(request, partial=False)

    @extend_schema(
        summary="Change some of a product's fields (unit owner or leader)",
        description="Owner, cluster and `strategic` changes are for leaders.",
        request=ProductInputSerializer,
        responses={200: ProductSerializer, **errors_for(400, 403, 404, 409)},
    )
    def partial_update(self, request: Request, pk=None) -> Response:
        return self._update(request, partial=True)

    @extend_schema(
        summary="Move a product to another lifecycle stage",
        description=(
            "Forward one stage at a time; any live stage may enter retirement with a migration "
            "plan; retired needs the plan done (a leader may override with a reason); moving "
            "back needs a reason. Refusals by rule answer 409 with `rule`."
        ),
        request=TransitionInputSerializer,
        responses={201: TransitionSerializer, **errors_for(400, 403, 404, 409)},
        filters=False,
    )
    @action(detail=True, methods=["post"], url_path="transition", url_name="transition")
    def transition(self, request: Request, pk=None) -> Response:
        product = self.get_object()
        require_unit_editor(request.user, product.unit, f"move {product.name}")
        serializer = TransitionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        plan = data.get("migration_plan")
        record = product_transition(
            actor=request.user,
            product=product,
            to_stage=data["to_stage"],
            reason=data["reason"],
            override=data["override"],
            migration_plan=MigrationPlanInput(**plan) if plan is not None else None,
        )
        record = LifecycleTransition.objects.select_related("actor").get(pk=record.pk)
        return Response(TransitionSerializer(record).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="The recorded lifecycle moves of a product",
        parameters=[
            OpenApiParameter(
                "updated_since",
                OpenApiTypes.DATETIME,
                description="Only moves recorded at or after this time (ISO 8601).",
            )
        ],
        responses={200: TransitionSerializer(many=True), **errors_for(400, 404)},
        filters=False,
    )
    @action(
        detail=True,
        methods=["get"],
        url_path="transitions",
        url_name="transitions",
        serializer_class=TransitionSerializer,
    )
    def transitions(self, request: Request, pk=None) -> Response:
        product = self.get_object()
        qs = LifecycleTransition.objects.filter(product=product).select_related("actor")
        filterset = TransitionFilterSet(request.query_params, queryset=qs)
        if not filterset.is_valid():
            raise ValidationError(filterset.errors)
        page = self.paginate_queryset(filterset.qs.order_by("at", "id"))
        return self.get_paginated_response(TransitionSerializer(page, many=True).data)

    def filter_queryset(self, queryset):
        if self.action == "transitions":
            return queryset  # the product itself is looked up unfiltered
        return super().filter_queryset(queryset)

    @extend_schema(
        summary="Create or update one product by external id (leaders)",
        request=UpsertRowSerializer,
        responses={
            200: OpenApiResponse(UpsertResultSerializer, description="Updated or unchanged."),
            201: OpenApiResponse(UpsertResultSerializer, description="Created."),
            **errors_for(400, 403, 409),
        },
        filters=False,
    )
    @action(detail=False, methods=["post"], url_path="upsert", url_name="upsert")
    def upsert(self, request: Request) -> Response:
        require_leader(request.user, "sync products")
        if not isinstance(request.data, dict):
            raise ValidationFailed({"non_field_errors": ["Expected a JSON object."]})
        try:
            result = products_bulk_upsert(actor=request.user, rows=[request.data])
        except BulkValidationFailed as exc:
            raise _single_row_error(exc) from exc
        row = result.rows[0]
        product = self._body(Product.objects.visible_to(request.user), row.id)
        code = status.HTTP_201_CREATED if row.action == "created" else status.HTTP_200_OK
        return Response({"action": row.action, "product": product}, code)

    @extend_schema(
        summary="Create or update up to 10,000 products by external id (leaders)",
        description=(
            "All or nothing: the whole batch is validated first; if any row is bad the answer "
            "is 400 with the errors of each bad row by index, and nothing is stored. Rows that "
            "change nothing are not written, so sending the same batch twice is harmless."
        ),
        request=BulkUpsertInputSerializer,
        responses={
            200: BulkUpsertResultSerializer,
            400: OpenApiResponse(BulkErrorSerializer, description="Bad rows; nothing stored."),
            **errors_for(403),
        },
        examples=[
            OpenApiExample(
                "Two rows",
                request_only=True,
                value={
                    "rows": [
                        {
                            "external_id": {"source": "cmdb", "id": "CI-1042"},
                            "name": "Expense claims",
                            "kind": "system",
                            "owner": "ana@example.org",
                        },
                        {"external_id": {"source": "cmdb", "id": "CI-1043"}, "name": "Wiki"},
                    ]
                },
            )
        ],
        filters=False,
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="bulk-upsert",
        url_name="bulk-upsert",
        parser_classes=[BulkJSONParser],
    )
    def bulk_upsert(self, request: Request) -> Response:
        require_leader(request.user, "sync products")
        if not isinstance(request.data, dict):
            raise ValidationFailed(
                {"non_field_errors": ['Expected a JSON object: {"rows": [...]}.']}
            )
        if "rows" not in request.data:
            raise ValidationFailed({"rows": ["This field is required."]})
        # The batch makes ~100,000 short-lived, acyclic objects: reference counting frees them,
        # and the cyclic collector's passes over them are pure cost (about 7% of the call).
        collecting = gc.isenabled()
        gc.disable()
        try:
            result = products_bulk_upsert(actor=request.user, rows=request.data["rows"])
        finally:
            if collecting:
                gc.enable()
        return Response(
            {
                "created": result.created,
                "updated": result.updated,
                "unchanged": result.unchanged,
                "rows": [
                    {"index": r.index, "id": r.id, "slug": r.slug, "action": r.action}
                    for r in result.rows
                ],
            }
        )


class UnitFilterSet(UpdatedSinceFilterSet):
    kind = django_filters.ChoiceFilter(choices=UnitKind.choices)
    is_active = django_filters.BooleanFilter()
    owner = django_filters.ModelChoiceFilter(queryset=Person.objects.all(), label="Owner")
    updated_since = updated_since_filter()

    class Meta:
        model = OwnershipUnit
        fields = ["kind", "is_active", "owner", "updated_since"]


@extend_schema_view(
    list=extend_schema(summary="List ownership units"),
    retrieve=extend_schema(summary="Read an ownership unit", responses={200: UnitSerializer}),
)
class UnitViewSet(viewsets.ReadOnlyModelViewSet):
    """Ownership units (read-only): a cluster, or a product in no cluster (dormant if it is)."""

    queryset = OwnershipUnit.objects.all()
    serializer_class = UnitSerializer
    renderer_classes = RENDERERS
    filterset_class = UnitFilterSet
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend, OrderingFilter]
    ordering_fields = ["id", "kind", "updated_at", "created_at"]
    ordering = ["id"]

    def get_queryset(self):
        return units_for_api(OwnershipUnit.objects.visible_to(self.request.user))


def units_for_api(qs: QuerySet[OwnershipUnit]) -> QuerySet[OwnershipUnit]:
    """Units as UnitSerializer reads them (the API and the events' bodies)."""
    return qs.select_related("cluster", "product", "owner__user").prefetch_related(
        Prefetch("products", queryset=Product.objects.only("id", "slug", "unit"))
    )


def people_for_api(qs: QuerySet[Person]) -> QuerySet[Person]:
    """People as PersonSerializer reads them."""
    return qs.select_related("user").annotate(
        units_owned=Count("units", filter=Q(units__is_active=True))
    )


def teams_for_api(qs: QuerySet[Team]) -> QuerySet[Team]:
    """Teams as TeamSerializer reads them."""
    return qs.prefetch_related(Prefetch("members", queryset=Person.objects.only("id")))


class ApiPersonFilterSet(PersonFilterSet):
    updated_since = updated_since_filter()


class ApiTeamFilterSet(TeamFilterSet):
    updated_since = updated_since_filter()


class ApiClusterFilterSet(ClusterFilterSet):
    updated_since = updated_since_filter()


@_write_schema("person", PersonSerializer, PersonInputSerializer, "leaders")
class PersonViewSet(Exportable, UpdateViewSet):
    """People who can own units: everyone reads, leaders add and edit (no delete: they depart)."""

    queryset = Person.objects.all()
    serializer_class = PersonSerializer
    input_serializer_class = PersonInputSerializer
    filterset_class = ApiPersonFilterSet
    ordering_fields = ["name", "email", "created_at", "updated_at"]
    ordering = ["name", "id"]
    leader_action = "manage people"
    listing = PERSON_EXPORT

    def get_queryset(self):
        return people_for_api(Person.objects.visible_to(self.request.user))

    def perform_write(self, instance, data):
        if instance is None:
            if data.get("active") is False and not data.get("departed_on"):
                data["departed_on"] = timezone.localdate()
            return person_create(actor=self.request.user, **data)
        return person_update(actor=self.request.user, person=instance, **data)


@_write_schema("team", TeamSerializer, TeamInputSerializer, "leaders")
class TeamViewSet(UpdateViewSet):
    """Stable cross-functional teams: everyone reads, leaders add and edit."""

    queryset = Team.objects.all()
    serializer_class = TeamSerializer
    input_serializer_class = TeamInputSerializer
    filterset_class = ApiTeamFilterSet
    ordering_fields = ["name", "slug", "created_at", "updated_at"]
    ordering = ["name", "id"]
    leader_action = "manage teams"

    def get_queryset(self):
        return teams_for_api(Team.objects.visible_to(self.request.user))

    def perform_write(self, instance, data):
        if instance is None:
            return team_create(actor=self.request.user, **data)
        return team_update(actor=self.request.user, team=instance, **data)


@_write_schema(
    "cluster", ClusterSerializer, ClusterInputSerializer, "the cluster's owner or leaders", True
)
class ClusterViewSet(Exportable, WriteThroughServices, viewsets.ModelViewSet):
    """Clusters: leaders design them; the owner may describe theirs and give its reasons."""

    queryset = Cluster.objects.all()
    serializer_class = ClusterSerializer
    input_serializer_class = ClusterInputSerializer
    filterset_class = ApiClusterFilterSet
    ordering_fields = ["name", "slug", "created_at", "updated_at"]
    ordering = ["name", "id"]
    leader_action = "design clusters"
    listing = CLUSTER_EXPORT

    def get_queryset(self):
        return cluster_relations(Cluster.objects.visible_to(self.request.user))

    def export_queryset(self) -> QuerySet[Cluster]:
        # The listing reads the relations itself, chunk by chunk.
        return self.filter_queryset(Cluster.objects.visible_to(self.request.user))

    def check_write(self, request: Request, instance=None) -> None:
        if instance is None:
            require_leader(request.user, "design clusters")
        else:
            require_unit_editor(request.user, instance.unit, f"edit {instance.name}")

    def perform_write(self, instance, data):
        if instance is None:
            return cluster_create(actor=self.request.user, **data)
        return cluster_update(actor=self.request.user, cluster=instance, **data)

    def destroy(self, request: Request, pk=None) -> Response:
        cluster = self.get_object()
        require_leader(request.user, "dissolve clusters")
        cluster_delete(actor=request.user, cluster=cluster, version=self.precondition())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Add products to the cluster and take others out (leaders)",
        request=ClusterMembersInputSerializer,
        responses={200: ClusterSerializer, **errors_for(400, 403, 404, 409)},
        filters=False,
    )
    @action(detail=True, methods=["post"], url_path="members", url_name="members")
    def members(self, request: Request, pk=None) -> Response:

        cluster = self.get_object()
        require_leader(request.user, "change cluster membership")
        serializer = ClusterMembersInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        cluster = cluster_members_change(
            actor=request.user, cluster=cluster, **serializer.validated_data
        )
        return self._answer(cluster, status.HTTP_200_OK)
