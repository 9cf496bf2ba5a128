"""GET /api/v1/events/: the change feed, in commit order, paged by a cursor.

A client keeps the last `cursor` it was given and asks again with `after=<cursor>`; the answer
always carries a `cursor` (and a `next` link), also when it holds no event, so a client can
poll with it. Positions are given at commit (portfolio.models.Event), so an event that
commits late still comes after everything the client has already read.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.db.models import Max, QuerySet, TextField
from django.db.models.functions import Cast
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from portfolio.api.rows import Column, Computed, Contextual, Output
from portfolio.api.serializers import NamedChoiceField
from portfolio.api.views import RENDERERS, Prerendered, errors_for
from portfolio.errors import Gone
from portfolio.events import EVENT_TYPES, LEADERS_ONLY_TYPES, pruned_through
from portfolio.models import Event
from portfolio.permissions import is_leader

MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 100
MAX_POSITION = 2**63 - 1
OBJECT_TYPES = sorted({t.object_type for t in EVENT_TYPES.values()})


class EventTypeField(NamedChoiceField):
    enum_name = "EventType"
    enum_choices = [(name, t.description) for name, t in EVENT_TYPES.items()]
    enum_help = "What happened: `<resource>.<verb>` (see the API guide, Events)."


class ObjectTypeField(NamedChoiceField):
    enum_name = "EventObjectType"
    enum_choices = [(name, name) for name in OBJECT_TYPES]
    enum_help = "The kind of object the event is about (its API resource)."


class EventActorSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The login's id.")
    name = serializers.CharField(help_text="The login's name when the change was made.")


def _iso(value: dt.datetime, tz: dt.tzinfo) -> str:
    """What `iso_datetime` writes (DRF's format: ISO 8601 in the current time zone, UTC as
    "Z"), with the time zone looked up once per page instead of once per value: for a page
    of 100 events that lookup was a fifth of the time the view spent."""
    text = value.astimezone(tz).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _actor(row: Mapping[str, Any]) -> dict[str, Any] | None:
    if row["actor_id"] is None and not row["actor_name"]:
        return None
    return {"id": row["actor_id"], "name": row["actor_name"]}


EVENT = Output(
    "EventSerializer",
    Column("id", serializers.IntegerField(help_text="The event's own id (for de-duplication).")),
    Column(
        "position",
        serializers.IntegerField(
            help_text="Its place in the feed, in commit order; pass it as `after` to read on."
        ),
    ),
    Column("type", EventTypeField()),
    Contextual(
        "at",
        serializers.DateTimeField(help_text="When the change was made."),
        lambda row, context: _iso(row["at"], context["tz"]),
        reads=("at",),
    ),
    Computed(
        "actor",
        EventActorSerializer(
            allow_null=True, help_text="Who made the change; null for a background job."
        ),
        _actor,
        reads=("actor_id", "actor_name"),
    ),
    Column(
        "job",
        serializers.CharField(help_text="The background job that made the change, or empty."),
    ),
    Column("object_type", ObjectTypeField()),
    Column("object_id", serializers.IntegerField()),
    Column(
        "data",
        serializers.JSONField(
            allow_null=True,
            help_text=(
                "The object after the change, as its own endpoint answers it; null once it is gone."
            ),
        ),
    ),
    Column(
        "changed",
        serializers.DictField(
            child=serializers.JSONField(allow_null=True),
            help_text=(
                "The fields that changed: `[old, new]` where known, null where only the name "
                "is (a creation lists none)."
            ),
        ),
    ),
    doc="One recorded change.",
)
EventSerializer = EVENT.serializer


class EventPageSerializer(serializers.Serializer):
    results = EventSerializer(many=True)
    cursor = serializers.IntegerField(
        help_text="Send it back as `after` for what follows; the same as `after` when empty."
    )
    next = serializers.URLField(help_text="This request again from `cursor`.")


class EventQuerySerializer(serializers.Serializer):
    """The feed's query parameters, checked before they reach the query."""

    after = serializers.IntegerField(min_value=0, max_value=MAX_POSITION, required=False)
    page_size = serializers.IntegerField(min_value=1, max_value=MAX_PAGE_SIZE, required=False)
    type = serializers.ListField(child=serializers.CharField(max_length=64), required=False)
    object_type = serializers.ChoiceField(
        choices=OBJECT_TYPES,
        required=False,
        error_messages={"invalid_choice": "'{input}' is not a kind of object with events."},
    )
    object_id = serializers.IntegerField(min_value=1, max_value=MAX_POSITION, required=False)
    since = serializers.DateTimeField(required=False)

    def validate_type(self, value: list[str]) -> list[str]:
        unknown = [name for name in value if name not in EVENT_TYPES]
        if unknown:
            shown = ", ".join(f"'{name}'" for name in unknown[:5])
            raise serializers.ValidationError(
                f"Not an event type: {shown}. The types are listed in the API guide."
            )
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "object_id" in attrs and "object_type" not in attrs:
            raise serializers.ValidationError(
                {"object_id": ["Give object_type too: ids are only unique within a kind."]}
            )
        return attrs


def latest_position() -> int:
    """The feed's last committed position (0 for an empty feed): `after=latest` starts here."""
    last = Event.objects.filter(position__isnull=False).aggregate(last=Max("position"))["last"]
    return last or 0


def _query(request: Request) -> dict[str, Any]:
    params = request.query_params
    raw: dict[str, Any] = {k: params[k] for k in params if k != "type"}
    if raw.get("after") == "latest":
        raw["after"] = latest_position()
    types = [t.strip() for value in params.getlist("type") for t in value.split(",") if t.strip()]
    if types or "type" in params:
        raw["type"] = types
    query = EventQuerySerializer(data=raw)
    query.is_valid(raise_exception=True)
    return dict(query.validated_data)


# The feed's JSON is written here, not by the serializer: `data` and `changed` are stored as
# JSON and go out as the database prints them, without being decoded and encoded again (for a
# page of 100 bodies that was most of the view's time). The keys and values are those of
# `EVENT` (the schema); tests/events/test_feed.py compares the two on the same rows.
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
FAST_COLUMNS = (
    "id",
    "position",
    "type",
    "at",
    "actor_id",
    "actor_name",
    "job",
    "object_type",
    "object_id",
    "data_text",
    "changed_text",
)


def event_rows(user, query: dict[str, Any]) -> QuerySet:
    """The page of events after `query["after"]` that `user` may read, in feed order."""
    qs = Event.objects.filter(position__gt=query.get("after", 0))
    if not is_leader(user):
        qs = qs.exclude(type__in=LEADERS_ONLY_TYPES)
    if query.get("type"):
        qs = qs.filter(type__in=query["type"])
    if "object_type" in query:
        qs = qs.filter(object_type=query["object_type"])
    if "object_id" in query:
        qs = qs.filter(object_id=query["object_id"])
    if "since" in query:
        qs = qs.filter(at__gte=query["since"])
    size = query.get("page_size", DEFAULT_PAGE_SIZE)
    qs = qs.annotate(data_text=Cast("data", TextField()), changed_text=Cast("changed", TextField()))
    return qs.order_by("position").values_list(*FAST_COLUMNS)[:size]


def event_json(rows: QuerySet, tz: dt.tzinfo) -> tuple[list[str], int | None]:
    """`event_rows` as JSON texts, in order, and the last one's position (None: no row)."""
    texts = []
    position = None
    for (
        id,
        position,
        type,
        at,
        actor_id,
        actor_name,
        job,
        object_type,
        object_id,
        data,
        changed,
    ) in rows:
        actor = (
            "null"
            if actor_id is None and not actor_name
            else f'{{"id":{"null" if actor_id is None else actor_id},"name":{_dumps(actor_name)}}}'
        )
        texts.append(
            f'{{"id":{id},"position":{position},"type":{_dumps(type)},'
            f'"at":"{_iso(at, tz)}","actor":{actor},"job":{_dumps(job)},'
            f'"object_type":{_dumps(object_type)},"object_id":{object_id},'
            f'"data":{data or "null"},"changed":{changed or "{}"}}}'
        )
    return texts, position


def _check_not_pruned(after: int, first: int | None) -> None:
    """Refuse (410) a cursor older than what pruning left: the client missed changes for good.
    Looked up only when the page does not start right after the cursor (an empty page, a
    filter, or pruning): a client keeping up costs no extra query."""
    if after <= 0 or first == after + 1:
        return
    horizon = pruned_through()
    if after < horizon:
        days = settings.EVENT_RETENTION_DAYS
        raise Gone(
            f"Events through position {horizon} were deleted after {days} days. Read the lists "
            "again (take after=latest first), then follow the feed from that cursor.",
            field="after",
            rule="events_retention",
        )


TYPES_HELP = ", ".join(f"`{name}`" for name in EVENT_TYPES)


class EventFeedView(generics.GenericAPIView):
    """Every recorded change, in commit order: sync from here instead of polling each list."""

    renderer_classes = RENDERERS
    pagination_class = None
    filter_backends: list = []
    serializer_class = EventSerializer
    queryset = Event.objects.none()

    @extend_schema(
        summary="Read the change feed",
        description=(
            "Events in the order their changes committed, after the cursor you send. An empty "
            "page still answers a cursor to ask again with. Settings events are shown to "
            f"leaders only. Types: {TYPES_HELP}."
        ),
        parameters=[
            OpenApiParameter(
                "after",
                {
                    "oneOf": [
                        {"type": "integer", "minimum": 0, "maximum": MAX_POSITION},
                        {"type": "string", "enum": ["latest"]},
                    ]
                },
                description=(
                    "The last cursor you read (0: from the start; `latest`: from now on, "
                    "skipping what is already there)."
                ),
            ),
            OpenApiParameter(
                "page_size",
                {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
                description=f"1 to {MAX_PAGE_SIZE}; 100 if left out.",
            ),
            OpenApiParameter(
                "type",
                OpenApiTypes.STR,
                enum=list(EVENT_TYPES),
                many=True,
                explode=True,
                description="Only these event types (repeat it, or separate them with commas).",
            ),
            OpenApiParameter("object_type", OpenApiTypes.STR, enum=OBJECT_TYPES),
            OpenApiParameter(
                "object_id",
                {"type": "integer", "minimum": 1, "maximum": MAX_POSITION},
                description="Needs object_type.",
            ),
            OpenApiParameter(
                "since", OpenApiTypes.DATETIME, description="Only changes made at or after this."
            ),
        ],
        responses={200: EventPageSerializer, **errors_for(400, 410)},
    )
    def get(self, request: Request) -> Response:
        query = _query(request)
        rows = event_rows(request.user, query)
        texts, last = event_json(rows, timezone.get_current_timezone())
        _check_not_pruned(query.get("after", 0), first=rows[0][1] if texts else None)
        cursor = query.get("after", 0) if last is None else last
        next_url = replace_query_param(request.build_absolute_uri(), "after", cursor)
        body = f'{{"results":[{",".join(texts)}],"cursor":{cursor},"next":{_dumps(next_url)}}}'
        return Response(Prerendered(body))
