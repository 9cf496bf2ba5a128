"""/api/v1/webhooks/: webhook endpoints (leaders only), their deliveries and redelivery."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from portfolio.api.views import ID, IF_MATCH_PARAM, Preconditions, RowsViewSet, errors_for
from portfolio.permissions import require_leader
from webhooks import selectors, services
from webhooks.api.serializers import (
    DELIVERY,
    ENDPOINT,
    RotateSecretSerializer,
    WebhookDeliverySerializer,
    WebhookEndpointCreateSerializer,
    WebhookEndpointInputSerializer,
    WebhookEndpointSerializer,
    WebhookEndpointWithSecretSerializer,
)
from webhooks.models import Endpoint

NO_STORE = {"Cache-Control": "no-store"}
LEADERS = errors_for(403)


@extend_schema_view(
    list=extend_schema(
        summary="List webhook endpoints (leaders)",
        responses={200: WebhookEndpointSerializer(many=True), **LEADERS},
    ),
    retrieve=extend_schema(
        summary="Read a webhook endpoint (leaders)",
        responses={200: WebhookEndpointSerializer, **errors_for(403, 404)},
    ),
    create=extend_schema(
        summary="Register a webhook endpoint (leaders)",
        description=(
            "Answers 201 with the endpoint and its `secret`, shown this once (sent with "
            "`Cache-Control: no-store`). The URL must be http(s) on a public address."
        ),
        request=WebhookEndpointCreateSerializer,
        responses={201: WebhookEndpointWithSecretSerializer, **errors_for(400, 403)},
    ),
    partial_update=extend_schema(
        summary="Change, pause or resume a webhook endpoint (leaders)",
        request=WebhookEndpointInputSerializer(partial=True),
        parameters=[IF_MATCH_PARAM],
        responses={200: WebhookEndpointSerializer, **errors_for(400, 403, 404, 412)},
    ),
    update=extend_schema(
        summary="Replace a webhook endpoint's settings (leaders)",
        request=WebhookEndpointInputSerializer,
        parameters=[IF_MATCH_PARAM],
        responses={200: WebhookEndpointSerializer, **errors_for(400, 403, 404, 412)},
    ),
    destroy=extend_schema(
        summary="Delete a webhook endpoint and its delivery log (leaders)",
        parameters=[IF_MATCH_PARAM],
        responses={204: None, **errors_for(403, 404, 412)},
    ),
)
class WebhookViewSet(Preconditions, RowsViewSet):
    queryset = Endpoint.objects.all()
    serializer_class = WebhookEndpointSerializer
    output = ENDPOINT
    order = ("id",)
    filter_backends: list = []
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        require_leader(request.user, "manage webhooks")

    def get_queryset(self) -> QuerySet[Endpoint]:
        return Endpoint.objects.visible_to(self.request.user)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = WebhookEndpointCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint, secret = services.endpoint_create(actor=request.user, **data.validated_data)
        body = {**self.body(endpoint.pk), "secret": secret}
        return Response(body, status=status.HTTP_201_CREATED, headers=NO_STORE)

    def _update(self, request: Request, pk: Any, partial: bool) -> Response:
        self.body(int(pk))  # 404 first
        data = WebhookEndpointInputSerializer(data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        services.endpoint_update(
            actor=request.user,
            endpoint_id=int(pk),
            version=self.precondition(),
            **data.validated_data,
        )
        return self.answer(int(pk))

    def update(self, request: Request, pk: Any = None) -> Response:
        return self._update(request, pk, partial=False)

    def partial_update(self, request: Request, pk: Any = None) -> Response:
        return self._update(request, pk, partial=True)

    def destroy(self, request: Request, pk: Any = None) -> Response:
        services.endpoint_delete(
            actor=request.user, endpoint_id=int(pk), version=self.precondition()
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Give a webhook endpoint a new secret (leaders)",
        description="Answers the endpoint with its new `secret`, shown this once.",
        request=RotateSecretSerializer,
        parameters=[IF_MATCH_PARAM],
        responses={200: WebhookEndpointWithSecretSerializer, **errors_for(400, 403, 404, 412)},
    )
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request: Request, pk: Any = None) -> Response:
        data = RotateSecretSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint, secret = services.endpoint_rotate_secret(
            actor=request.user,
            endpoint_id=int(pk),
            secret=data.validated_data.get("secret"),
            version=self.precondition(),
        )
        return Response({**self.body(endpoint.pk), "secret": secret}, headers=NO_STORE)

    @extend_schema(
        summary="Send a ping to a webhook endpoint (leaders)",
        request=None,
        responses={202: WebhookDeliverySerializer, **errors_for(403, 404)},
    )
    @action(detail=True, methods=["post"])
    def ping(self, request: Request, pk: Any = None) -> Response:
        delivery = services.endpoint_ping(actor=request.user, endpoint_id=int(pk))
        row = selectors.deliveries_of(endpoint=delivery.endpoint).filter(pk=delivery.pk)
        return Response(DELIVERY.one(row.values(*DELIVERY.columns)[0]), status=202)

    def _endpoint(self, pk: Any) -> Endpoint:
        endpoint = self.get_queryset().filter(pk=int(pk)).first()
        if endpoint is None:
            raise Http404
        return endpoint

    @extend_schema(
        summary="An endpoint's deliveries, newest first (leaders)",
        responses={200: WebhookDeliverySerializer(many=True), **errors_for(403, 404)},
    )
    @action(detail=True, methods=["get"])
    def deliveries(self, request: Request, pk: Any = None) -> Response:
        rows = selectors.deliveries_of(endpoint=self._endpoint(pk)).values(*DELIVERY.columns)
        page = self.paginate_queryset(rows)
        assert page is not None
        return self.get_paginated_response(DELIVERY.many(page))

    @extend_schema(
        summary="Send a delivery again, as a new delivery (leaders)",
        request=None,
        responses={202: WebhookDeliverySerializer, **errors_for(403, 404)},
    )
    @action(
        detail=True,
        methods=["post"],
        url_path=rf"deliveries/(?P<delivery_id>{ID})/redeliver",
        url_name="redeliver",
    )
    def redeliver(self, request: Request, pk: Any = None, delivery_id: Any = None) -> Response:
        copy = services.delivery_redeliver(
            actor=request.user, endpoint_id=int(pk), delivery_id=int(delivery_id)
        )
        row = selectors.deliveries_of(endpoint=copy.endpoint).filter(pk=copy.pk)
        return Response(DELIVERY.one(row.values(*DELIVERY.columns)[0]), status=202)
