"""/api/v1/backlog-items/: thin views over the shared filterset and the backlog services."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from backlog.api.serializers import (
    BACKLOG_ITEM,
    BACKLOG_ITEM_EXPORT,
    BacklogItemCommentInputSerializer,
    BacklogItemCommentSerializer,
    BacklogItemCreateSerializer,
    BacklogItemMoveResultSerializer,
    BacklogItemMoveSerializer,
    BacklogItemSerializer,
    BacklogItemStaleSerializer,
    BacklogItemUpdateSerializer,
    backlog_item_rows,
)
from backlog.filters import BacklogItemFilterSet
from backlog.models import BacklogItem, BacklogItemComment
from backlog.selectors import backlog_item_comments
from backlog.services import (
    backlog_item_comment_add,
    backlog_item_comment_delete,
    backlog_item_create,
    backlog_item_delete,
    backlog_item_move,
    backlog_item_update,
)
from portfolio.api.exports import Exportable
from portfolio.api.pagination import PageNumberPagination
from portfolio.api.serializers import ErrorSerializer
from portfolio.api.views import (
    ID,
    IF_MATCH_PARAM,
    RENDERERS,
    Preconditions,
    errors_for,
    updated_since_filter,
)
from portfolio.validation import MAX_ID
from products.permissions import require_unit_editor

ORDER = ("unit_id", "rank", "id")

STALE = OpenApiResponse(
    BacklogItemStaleSerializer,
    description="The item changed since your version: `current` is it now, `yours` what you sent.",
)
MOVED_AWAY = OpenApiResponse(
    ErrorSerializer, description="The item moved to another backlog meanwhile; reload it."
)


class ApiBacklogItemFilterSet(BacklogItemFilterSet):
    updated_since = updated_since_filter()


UPDATE_SCHEMA: dict[str, Any] = {
    "request": BacklogItemUpdateSerializer,
    "parameters": [IF_MATCH_PARAM],
    "responses": {200: BacklogItemSerializer, **errors_for(400, 403, 404, 409), 412: STALE},
}


@extend_schema_view(
    list=extend_schema(
        summary="List backlog items",
        description="Ordered by unit, then rank (top of each backlog first).",
        responses={200: BacklogItemSerializer(many=True), **errors_for(400)},
    ),
    retrieve=extend_schema(summary="Read a backlog item", responses={200: BacklogItemSerializer}),
    create=extend_schema(
        summary="Add a backlog item (unit owner or leader)",
        description="The item joins the backlog of the product's ownership unit.",
        request=BacklogItemCreateSerializer,
        responses={201: BacklogItemSerializer, **errors_for(400, 403, 409)},
    ),
    update=extend_schema(summary="Replace a backlog item's fields", **UPDATE_SCHEMA),
    partial_update=extend_schema(summary="Change some of a backlog item's fields", **UPDATE_SCHEMA),
    destroy=extend_schema(
        summary="Remove a backlog item (unit owner or leader)",
        description="Refused (409, rule `backlog_frozen`) once the product is retired.",
        parameters=[IF_MATCH_PARAM],
        responses={204: None, **errors_for(403, 404, 409, 412)},
    ),
)
class BacklogItemViewSet(Exportable, Preconditions, viewsets.ModelViewSet):
    """Backlog items: every login reads; the unit's owner and leaders write."""

    queryset = BacklogItem.objects.all()
    serializer_class = BacklogItemSerializer
    renderer_classes = RENDERERS
    filterset_class = ApiBacklogItemFilterSet
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend]
    listing = BACKLOG_ITEM_EXPORT

    def get_queryset(self) -> QuerySet[BacklogItem]:
        qs = BacklogItem.objects.visible_to(self.request.user)
        if self.action in ("list", "retrieve"):
            return qs.order_by(*ORDER)
        return qs.select_related("unit__owner", "unit__cluster", "unit__product")

    def _body(self, pk: int) -> dict:
        row = backlog_item_rows(BacklogItem.objects.filter(pk=pk))[0]
        return BACKLOG_ITEM.one(row, now=timezone.now())

    def list(self, request: Request, *args, **kwargs) -> Response:
        items = self.filter_queryset(self.get_queryset())
        # `count` from the items alone: the rows' joins (unit name, product slug) would make
        # PostgreSQL read every matching item's row instead of counting from an index.
        paginator = self.paginator
        assert isinstance(paginator, PageNumberPagination)  # the API's default
        page = paginator.paginate_queryset(
            backlog_item_rows(items), request, view=self, count_from=items
        )
        assert page is not None  # a list view always pages
        return self.get_paginated_response(BACKLOG_ITEM.many(page, now=timezone.now()))

    def retrieve(self, request: Request, pk=None) -> Response:
        item = self.get_object()
        return Response(self._body(item.pk))

    def create(self, request: Request) -> Response:
        serializer = BacklogItemCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        item = backlog_item_create(
            actor=request.user,
            product=data.pop("product"),
            title=data.pop("title"),
            position=data.pop("position"),
            **data,
        )
        return Response(self._body(item.pk), status=status.HTTP_201_CREATED)

    def _update(self, request: Request, *, partial: bool) -> Response:
        item = self.get_object()
        require_unit_editor(request.user, item.unit, f"edit the backlog of {item.unit.name}")
        serializer = BacklogItemUpdateSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        changes = dict(serializer.validated_data)
        changes.pop("version", None)  # read with If-Match by precondition()
        version = self.precondition()
        item = backlog_item_update(actor=request.user, item=item, version=version, **changes)
        return Response(self._body(item.pk))

    def update(self, request: Request, pk=None) -> Response:
        return self._update(request, partial=False)

    def partial_update(self, request: Request, pk=None) -> Response:
        return self._update(request, partial=True)

    def destroy(self, request: Request, pk=None) -> Response:
        item = self.get_object()
        backlog_item_delete(actor=request.user, item=item, version=self.precondition())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Move an item within its backlog (unit owner or leader)",
        description=(
            "Give exactly one of `before` (an item id), `after` (an item id) or `position` "
            "(0 is the top). The anchor must be in the same backlog. Answers 412 if the item "
            "was carried to another backlog meanwhile."
        ),
        request=BacklogItemMoveSerializer,
        responses={
            200: BacklogItemMoveResultSerializer,
            **errors_for(400, 403, 404, 409),
            412: MOVED_AWAY,
        },
        filters=False,
    )
    @action(detail=True, methods=["post"], url_path="move", url_name="move")
    def move(self, request: Request, pk=None) -> Response:
        # No get_object(): the service finds the item, its backlog and the actor's right to
        # reorder it in its own two statements (404 and 403 included), and answers its row.
        raw = str(pk)
        if not (raw.isascii() and raw.isdigit() and 0 < int(raw) <= MAX_ID):
            raise Http404
        item_id = int(raw)
        serializer = BacklogItemMoveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        anchors = {
            k: BacklogItem(pk=v) for k, v in serializer.validated_data.items() if k != "position"
        }
        result = backlog_item_move(
            actor=request.user,
            item=BacklogItem(pk=item_id),
            position=serializer.validated_data.get("position"),
            **anchors,
        )
        body = result.body  # the moved item's body, as its event recorded it
        if body is None:  # it stayed where it was: no event
            body = BACKLOG_ITEM.one(result.row, now=timezone.now())
        return Response({"item": body, "rows_written": result.rows_written})

    @extend_schema(
        methods=["GET"],
        summary="List an item's comments, oldest first",
        responses={200: BacklogItemCommentSerializer(many=True), **errors_for(404)},
        filters=False,
    )
    @extend_schema(
        methods=["POST"],
        summary="Comment on an item (unit owner or leader)",
        request=BacklogItemCommentInputSerializer,
        responses={201: BacklogItemCommentSerializer, **errors_for(400, 403, 404)},
        filters=False,
    )
    @action(detail=True, methods=["get", "post"], url_path="comments", url_name="comments")
    def comments(self, request: Request, pk=None) -> Response:
        item = self.get_object()
        if request.method == "GET":
            page = self.paginate_queryset(backlog_item_comments(item))
            assert page is not None  # a list always has a paginator
            return self.get_paginated_response(BacklogItemCommentSerializer(page, many=True).data)
        serializer = BacklogItemCommentInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        comment = backlog_item_comment_add(
            actor=request.user, item=item, body=serializer.validated_data["body"]
        )
        comment = backlog_item_comments(item).get(pk=comment.pk)
        return Response(BacklogItemCommentSerializer(comment).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Remove a comment (its author or a leader)",
        responses={204: None, **errors_for(403, 404)},
        filters=False,
    )
    @action(
        detail=True,
        methods=["delete"],
        url_path=rf"comments/(?P<comment_id>{ID})",
        url_name="comment",
    )
    def comment(self, request: Request, pk=None, comment_id=None) -> Response:
        item = self.get_object()
        comment = get_object_or_404(BacklogItemComment.objects.filter(item=item), pk=comment_id)
        backlog_item_comment_delete(actor=request.user, comment=comment)
        return Response(status=status.HTTP_204_NO_CONTENT)
