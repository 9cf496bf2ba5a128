"""/api/v1/people/, teams/, clusters/ and settings/: thin views over filtersets and services."""

from __future__ import annotations

from django.db.models import Count, Prefetch, Q
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, mixins, renderers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from portfolio.api.serializers import (
    ClusterInputSerializer,
    ClusterMembersInputSerializer,
    ClusterSerializer,
    ErrorSerializer,
    PersonInputSerializer,
    PersonSerializer,
    PortfolioSettingsSerializer,
    TeamInputSerializer,
    TeamSerializer,
)
from portfolio.filters import ClusterFilterSet, PersonFilterSet, TeamFilterSet, UpdatedSinceFilter
from portfolio.models import Cluster, Person, PortfolioSettings, Team
from portfolio.permissions import require_leader, require_unit_editor
from portfolio.services import (
    cluster_create,
    cluster_delete,
    cluster_update,
    person_create,
    person_update,
    portfolio_settings_update,
    team_create,
    team_update,
)


def updated_since_filter(field_name: str = "updated_at", label: str = "Updated since"):
    return UpdatedSinceFilter(field_name=field_name, lookup_expr="gte", label=label)


class ApiPersonFilterSet(PersonFilterSet):
    updated_since = updated_since_filter()


class ApiTeamFilterSet(TeamFilterSet):
    updated_since = updated_since_filter()


class ApiClusterFilterSet(ClusterFilterSet):
    updated_since = updated_since_filter()


class JSONRenderer(renderers.JSONRenderer):
    """DRF's JSON renderer, escaping instead of failing when an answer echoes a lone surrogate.

    Validation messages quote the client's input ("\\ud800" is not a valid choice); UTF-8
    cannot encode such a character, and the client should get its 400, not a 500.
    """

    def render(self, data, accepted_media_type=None, renderer_context=None):
        try:
            return super().render(data, accepted_media_type, renderer_context)
        except UnicodeEncodeError:
            self.ensure_ascii = True
            return super().render(data, accepted_media_type, renderer_context)


RENDERERS = [JSONRenderer, renderers.BrowsableAPIRenderer]

ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="Bad input; `errors` names each field."),
    403: OpenApiResponse(ErrorSerializer, description="Your role may not make this change."),
    404: OpenApiResponse(ErrorSerializer, description="No such object."),
    409: OpenApiResponse(ErrorSerializer, description="A domain rule refuses it; see `rule`."),
}


def errors_for(*codes: int) -> dict:
    """The documented error answers of an endpoint, for extend_schema(responses=...)."""
    return {code: ERRORS[code] for code in codes}


class WriteThroughServices:
    """create/update/partial_update that validate an input serializer and call a service.

    Subclasses set `input_serializer_class` and implement `perform_write(instance, data)`;
    `check_write(instance)` refuses early (403) before any input is looked at.
    """

    input_serializer_class: type
    leader_action = "make this change"
    renderer_classes = RENDERERS

    def check_write(self, request: Request, instance=None) -> None:
        require_leader(request.user, self.leader_action)

    def _answer(self, instance, code: int) -> Response:
        instance = self.get_queryset().get(pk=instance.pk)
        return Response(self.get_serializer(instance).data, status=code)

    def create(self, request: Request) -> Response:
        self.check_write(request)
        serializer = self.input_serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        instance = self.perform_write(None, serializer.validated_data)
        return self._answer(instance, status.HTTP_201_CREATED)

    def _update(self, request: Request, partial: bool) -> Response:
        instance = self.get_object()
        self.check_write(request, instance)
        serializer = self.input_serializer_class(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        instance = self.perform_write(instance, serializer.validated_data)
        return self._answer(instance, status.HTTP_200_OK)

    def update(self, request: Request, pk=None) -> Response:
        return self._update(request, partial=False)

    def partial_update(self, request: Request, pk=None) -> Response:
        return self._update(request, partial=True)


def _write_schema(model: str, serializer, input_serializer, who: str, delete: bool = False):
    views = {
        "list": extend_schema(summary=f"List {model}s"),
        "retrieve": extend_schema(summary=f"Read a {model}", responses={200: serializer}),
        "create": extend_schema(
            summary=f"Add a {model} (leaders)",
            request=input_serializer,
            responses={201: serializer, **errors_for(400, 403)},
        ),
        "update": extend_schema(
            summary=f"Replace a {model} ({who})",
            request=input_serializer,
            responses={200: serializer, **errors_for(400, 403, 404)},
        ),
        "partial_update": extend_schema(
            summary=f"Change a {model} ({who})",
            request=input_serializer,
            responses={200: serializer, **errors_for(400, 403, 404)},
        ),
    }
    if delete:
        views["destroy"] = extend_schema(
            summary=f"Remove a {model} (leaders)", responses={204: None, **errors_for(403, 404)}
        )
    return extend_schema_view(**views)


class UpdateViewSet(
    WriteThroughServices,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    http_method_names = ["get", "post", "put", "patch", "head", "options"]


@_write_schema("person", PersonSerializer, PersonInputSerializer, "leaders")
class PersonViewSet(UpdateViewSet):
    """People who can own units: everyone reads, leaders add and edit (no delete: they depart)."""

    queryset = Person.objects.all()
    serializer_class = PersonSerializer
    input_serializer_class = PersonInputSerializer
    filterset_class = ApiPersonFilterSet
    ordering_fields = ["name", "email", "created_at", "updated_at"]
    ordering = ["name", "id"]
    leader_action = "manage people"

    def get_queryset(self):
        return (
            Person.objects.visible_to(self.request.user)
            .select_related("user")
            .annotate(units_owned=Count("units", filter=Q(units__is_active=True)))
        )

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
        return Team.objects.visible_to(self.request.user).prefetch_related(
            Prefetch("members", queryset=Person.objects.only("id"))
        )

    def perform_write(self, instance, data):
        if instance is None:
            return team_create(actor=self.request.user, **data)
        return team_update(actor=self.request.user, team=instance, **data)


@_write_schema(
    "cluster", ClusterSerializer, ClusterInputSerializer, "the cluster's owner or leaders", True
)
class ClusterViewSet(WriteThroughServices, viewsets.ModelViewSet):
    """Clusters: leaders design them; the owner may describe theirs and give its reasons."""

    queryset = Cluster.objects.all()
    serializer_class = ClusterSerializer
    input_serializer_class = ClusterInputSerializer
    filterset_class = ApiClusterFilterSet
    ordering_fields = ["name", "slug", "created_at", "updated_at"]
    ordering = ["name", "id"]
    leader_action = "design clusters"

    def get_queryset(self):
        from products.models import Product

        return (
            Cluster.objects.visible_to(self.request.user)
            .select_related("unit__owner__user")
            .prefetch_related(
                Prefetch("unit__products", queryset=Product.objects.only("id", "slug", "unit"))
            )
        )

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
        cluster_delete(actor=request.user, cluster=cluster)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Add products to the cluster and take others out (leaders)",
        request=ClusterMembersInputSerializer,
        responses={200: ClusterSerializer, **errors_for(400, 403, 404, 409)},
        filters=False,
    )
    @action(detail=True, methods=["post"], url_path="members", url_name="members")
    def members(self, request: Request, pk=None) -> Response:
        from products.bulk import cluster_members_change

        cluster = self.get_object()
        require_leader(request.user, "change cluster membership")
        serializer = ClusterMembersInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        cluster = cluster_members_change(
            actor=request.user, cluster=cluster, **serializer.validated_data
        )
        return self._answer(cluster, status.HTTP_200_OK)


class PortfolioSettingsView(generics.GenericAPIView):
    """The one portfolio settings object: every threshold the rules read."""

    serializer_class = PortfolioSettingsSerializer
    queryset = PortfolioSettings.objects.all()
    renderer_classes = RENDERERS
    pagination_class = None
    filter_backends: list = []

    @extend_schema(
        summary="Read the portfolio settings", responses={200: PortfolioSettingsSerializer}
    )
    def get(self, request: Request) -> Response:
        return Response(PortfolioSettingsSerializer(PortfolioSettings.load()).data)

    @extend_schema(
        summary="Change the portfolio settings (leaders)",
        request=PortfolioSettingsSerializer(partial=True),
        responses={200: PortfolioSettingsSerializer, **errors_for(400, 403)},
    )
    def patch(self, request: Request) -> Response:
        require_leader(request.user, "change the portfolio settings")
        current = PortfolioSettings.load()
        serializer = PortfolioSettingsSerializer(current, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        obj = portfolio_settings_update(actor=request.user, **serializer.validated_data)
        return Response(PortfolioSettingsSerializer(obj).data)
