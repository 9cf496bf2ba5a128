"""The API's shared view pieces (renderers, documented errors, the base viewsets) and
/api/v1/settings/."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import django_filters
from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import generics, mixins, renderers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from portfolio.api.rows import Output
from portfolio.api.serializers import (
    ErrorSerializer,
    PortfolioSettingsSerializer,
    StaleVersionSerializer,
)
from portfolio.errors import StaleVersion, ValidationFailed
from portfolio.filters import UpdatedSinceFilter
from portfolio.models import PortfolioSettings
from portfolio.permissions import require_leader
from portfolio.services import portfolio_settings_update


def updated_since_filter(field_name: str = "updated_at", label: str = "Updated since"):
    return UpdatedSinceFilter(field_name=field_name, lookup_expr="gte", label=label)


class Prerendered(str):
    """An answer's JSON, already written by the view (the event feed's pages): the JSON
    renderer sends it as it is."""


class JSONRenderer(renderers.JSONRenderer):
    """DRF's JSON renderer, escaping instead of failing when an answer echoes a lone surrogate.

    Validation messages quote the client's input ("\\ud800" is not a valid choice); UTF-8
    cannot encode such a character, and the client should get its 400, not a 500. A
    `Prerendered` answer is sent as it is.
    """

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, Prerendered):
            return data.encode()
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
    410: OpenApiResponse(ErrorSerializer, description="It was removed for good; see `detail`."),
    412: OpenApiResponse(
        StaleVersionSerializer,
        description=(
            "It changed since the version you sent (If-Match or `version`): `current` is it "
            "now, `yours` what you sent. Nothing was written."
        ),
    ),
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

# `W/"3"`, `"3"` or `3`; also the strong form `"<id>-<version>"`.
IF_MATCH = re.compile(r'^\s*(?:W/)?"?(?:[0-9]{1,18}-)?([0-9]{1,10})"?\s*\Z')
IF_MATCH_PARAM = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description=(
        'The ETag you read, e.g. `W/"3"` (or send `version` in the body). If the object changed '
        "since, nothing is written and the answer is 412. Without either the write goes through."
    ),
)


def etag(version: int) -> str:
    """The ETag of a resource at `version`: weak, since bodies at one version may differ in
    derived values (ages, sums) that are no edit."""
    return f'W/"{version}"'


class Preconditions(GenericAPIViewMixin):
    """Optimistic concurrency for a resource with a `version`, the same way everywhere.

    - A read of one object (and the answer to a write) carries `ETag: W/"<version>"`.
    - A write names the version it was based on, as `If-Match` or as `version` in the body;
      `precondition()` reads it and the view passes it to the service, which compares it with
      the locked row (portfolio.versioning.check_version).
    - A stale write answers 412 in the house error shape plus `current` (the object as stored,
      as a read answers it) and `yours` (what was sent, with the version it named).
    - A write with neither goes through: the client chose to overwrite.
    """

    def precondition(self) -> int | None:
        """The version the write is based on, or None for an unconditional write."""
        request = self.request
        data = request.data
        body: int | None = None
        raw = data.get("version") if isinstance(data, Mapping) else None
        if raw is not None:
            if isinstance(raw, bool) or not str(raw).isdigit() or not 1 <= int(raw) < 2**31:
                raise ValidationFailed({"version": ["Send the version you read: a whole number."]})
            body = int(raw)
        header = request.headers.get("If-Match")
        if header is None or header.strip() == "*":
            return body
        match = IF_MATCH.match(header)
        if match is None:
            raise ValidationFailed({"If-Match": ['Send the ETag you read, e.g. W/"3".']})
        version = int(match.group(1))
        if body is not None and body != version:
            raise ValidationFailed({"version": ["The body and If-Match name different versions."]})
        return version

    def current_body(self) -> Any:
        """The object as a read answers it now (for a 412's `current`)."""
        return self.retrieve(self.request, **self.kwargs).data  # type: ignore[attr-defined]

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, StaleVersion) and exc.field == "version":
            data = self.request.data
            yours = dict(data.dict() if hasattr(data, "dict") else data)
            yours["version"] = self.precondition()
            body = {**exc.as_dict(), "current": self.current_body(), "yours": yours}
            return Response(body, status=exc.status_code)
        return super().handle_exception(exc)

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        data = getattr(response, "data", None)
        if response.status_code in (200, 201) and isinstance(data, Mapping):
            version = data.get("version")
            if isinstance(version, int) and not isinstance(version, bool):
                response["ETag"] = etag(version)
        return response


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


class WriteThroughServices(Preconditions):
    """create/update/partial_update that validate an input serializer and call a service.

    Subclasses set `input_serializer_class` and implement `perform_write(instance, data)`;
    `check_write(instance)` refuses early (403) before any input is looked at. An update's
    `data` carries `version` (None when the client sent no precondition) for the service.
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
        data = {**serializer.validated_data, "version": self.precondition()}
        instance = self.perform_write(instance, data)
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
            parameters=[IF_MATCH_PARAM],
            responses={200: serializer, **errors_for(400, 403, 404, 412)},
        ),
        "partial_update": extend_schema(
            summary=f"Change a {model} ({who})",
            request=input_serializer,
            parameters=[IF_MATCH_PARAM],
            responses={200: serializer, **errors_for(400, 403, 404, 412)},
        ),
    }
    if delete:
        views["destroy"] = extend_schema(
            summary=f"Remove a {model} (leaders)",
            parameters=[IF_MATCH_PARAM],
            responses={204: None, **errors_for(403, 404, 412)},
        )
    return extend_schema_view(**views)


class UpdateViewSet(
    WriteThroughServices,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    http_method_names = ["get", "post", "put", "patch", "head", "options"]


class PortfolioSettingsView(Preconditions, generics.GenericAPIView):
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

    def current_body(self) -> Any:
        return self.get(self.request).data

    @extend_schema(
        summary="Change the portfolio settings (leaders)",
        request=PortfolioSettingsSerializer(partial=True),
        parameters=[IF_MATCH_PARAM],
        responses={200: PortfolioSettingsSerializer, **errors_for(400, 403, 412)},
    )
    def patch(self, request: Request) -> Response:
        require_leader(request.user, "change the portfolio settings")
        current = PortfolioSettings.load()
        serializer = PortfolioSettingsSerializer(current, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        obj = portfolio_settings_update(
            actor=request.user, version=self.precondition(), **serializer.validated_data
        )
        return Response(PortfolioSettingsSerializer(obj).data)
