"""/api/v1/tokens/: list your tokens, make one (its key answered once), revoke one."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api import schema  # noqa: F401  (the token scheme in the OpenAPI schema)
from accounts.api.serializers import (
    API_TOKEN,
    ApiTokenCreatedSerializer,
    ApiTokenInputSerializer,
    ApiTokenSerializer,
    now_context,
)
from accounts.filters import ApiTokenFilterSet
from accounts.models import ApiToken
from accounts.selectors import api_tokens_of
from accounts.services import api_token_create, api_token_revoke
from portfolio.api.views import RowsViewSet, errors_for

NO_STORE = {"Cache-Control": "no-store"}


@extend_schema_view(
    list=extend_schema(
        summary="List your API tokens",
        description=(
            "Your own tokens, newest first; never their keys. A leader may name another "
            "login with `user` to see theirs."
        ),
        responses={200: ApiTokenSerializer(many=True), **errors_for(400)},
    ),
    retrieve=extend_schema(
        summary="Read an API token", responses={200: ApiTokenSerializer, **errors_for(404)}
    ),
    create=extend_schema(
        summary="Make an API token",
        description=(
            "Answers 201 with the token and its `key`, which is shown this once (the answer "
            "is sent with `Cache-Control: no-store`). One token per integration."
        ),
        request=ApiTokenInputSerializer,
        responses={201: ApiTokenCreatedSerializer, **errors_for(400, 409)},
    ),
    destroy=extend_schema(
        summary="Revoke an API token",
        description=(
            "It stops working at once; your other tokens keep working. Your own tokens, or "
            "anyone's for a leader."
        ),
        responses={204: None, **errors_for(404)},
    ),
)
class ApiTokenViewSet(RowsViewSet):
    queryset = ApiToken.objects.all()
    serializer_class = ApiTokenSerializer
    filterset_class = ApiTokenFilterSet
    output = API_TOKEN
    order = ("-created_at", "-id")
    http_method_names = ["get", "post", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[ApiToken]:
        if self.action == "list" and "user" not in self.request.query_params:
            return api_tokens_of(user=self.request.user)
        return ApiToken.objects.visible_to(self.request.user)

    def row_context(self) -> dict[str, Any]:
        return now_context()

    def create(self, request: Request, *args, **kwargs) -> Response:
        serializer = ApiTokenInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        token, key = api_token_create(actor=request.user, **serializer.validated_data)
        body = {**self.body(token.pk), "key": key}
        return Response(body, status=status.HTTP_201_CREATED, headers=NO_STORE)

    def destroy(self, request: Request, pk=None) -> Response:
        api_token_revoke(actor=request.user, token_id=int(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)
