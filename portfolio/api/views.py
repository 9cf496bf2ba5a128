"""The API's shared view pieces (renderers, documented errors, the base viewsets) and
/api/v1/settings/."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import django_filters
from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, mixins, renderers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from portfolio.api.rows import Output
from portfolio.api.serializers import ErrorSerializer, PortfolioSettingsSerializer
from portfolio.filters import UpdatedSinceFilter
from portfolio.models import PortfolioSettings
from portfolio.permissions import require_leader
from portfolio.services import portfolio_settings_update


def updated_since_filter(field_name: str = "updated_at", label: str = "Updated since"):
    return UpdatedSinceFilter(field_name=field_name, lookup_expr="gte", label=label)


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


RENDERERS: list[type[renderers.BaseRenderer]] = [JSONRenderer, renderers.BrowsableAPIRenderer]

ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="Bad input; `errors` names each field."),
    403: OpenApiResponse(ErrorSerializer, description="Your role may not make this change."),
    404: OpenApiResponse(ErrorSerializer, description="No such object."),
    409: OpenApiResponse(ErrorSerializer, description="A domain rule refuses it; see `rule`."),
}


def errors_for(*codes: int) -> dict:
    """The documented error answers of an endpoint, for extend_schema(responses=...)."""
    return {code: ERRORS[code] for code in codes}


if TYPE_CHECKING:
    # To mypy a view mixin is the GenericAPIView it is always mixed into.
    GenericAPIViewMixin = generics.GenericAPIView
else:
    GenericAPIViewMixin = object

ID = r"[0-9]{1,18}"


class RowsViewSet(viewsets.GenericViewSet):
    """List and read from values() rows: `rows(queryset)` selects them and `output` (the
    resource's one `Output`) makes the bodies, so a list costs the same queries at any page
    size and one object answers with the same body as its list entry.

    `row_context()` gives what the output's contextual fields need, once per answer. Writes
    are each viewset's own `create` / `partial_update` / actions calling a service, answering
    with `answer(pk)`.
    """

    renderer_classes = RENDERERS
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend]
    lookup_value_regex = ID
    order: tuple[str, ...] = ()
    output: Output

    def rows(self, queryset: QuerySet) -> QuerySet:
        """The values() rows of `queryset`; override to annotate what the columns need first."""
        return queryset.values(*self.output.columns)

    def row_context(self) -> dict[str, Any]:
        return {}

    def body(self, pk: int) -> dict:
        rows = list(self.rows(self.get_queryset().filter(pk=pk)))
        if not rows:
            raise Http404
        return self.output.one(rows[0], **self.row_context())

    def list(self, request: Request, *args, **kwargs) -> Response:
        rows = self.rows(self.filter_queryset(self.get_queryset())).order_by(*self.order)
        page = self.paginate_queryset(rows)
        assert page is not None  # a list view always has a paginator
        return self.get_paginated_response(self.output.many(page, **self.row_context()))

    def retrieve(self, request: Request, pk=None) -> Response:
        return Response(self.body(pk))

    def answer(self, pk: int, code: int = status.HTTP_200_OK, **headers) -> Response:
        return Response(self.body(pk), status=code, headers=headers or None)


class WriteThroughServices(GenericAPIViewMixin):
    """create/update/partial_update that validate an input serializer and call a service.

    Subclasses set `input_serializer_class` and implement `perform_write(instance, data)`;
    `check_write(instance)` refuses early (403) before any input is looked at.
    """

    input_serializer_class: type
    perform_write: Callable[[Any, dict[str, Any]], Any]
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
