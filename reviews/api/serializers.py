"""Input and output adapters of the reviews API.

Bodies are built by hand from values() rows (`*_rows` and `*_representation`), so a list costs
the same queries at any page size and one object answers with the same body; the serializers
below describe those bodies for the schema. Input serializers check shapes and resolve ids;
the views hand the values to the services in reviews/services.py.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.urls import reverse
from rest_framework import serializers

from portfolio.api.serializers import NamedChoiceField
from products.api.serializers import ProductRefField
from products.models import Person
from reviews.models import (
    ActionItem,
    CycleStatus,
    Decision,
    DecisionKind,
    Packet,
    PacketStatus,
    Review,
    ReviewCycle,
    ReviewStatus,
)

MAX_ID = 2**63 - 1
MAX_CYCLE_DAYS = 366
_DT = serializers.DateTimeField()


def _dt(value: dt.datetime | None) -> str | None:
    return _DT.to_representation(value) if value is not None else None


def _date(value: dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _count(model, **match) -> Coalesce:
    """A correlated COUNT(*) (a subquery, so several counts never multiply each other)."""
    rows = (
        model.objects.filter(**match)
        .order_by()
        .values(*match)
        .annotate(n=Count("*"))
        .values("n")[:1]
    )
    return Coalesce(Subquery(rows, output_field=IntegerField()), Value(0))


UNIT_NAME = Coalesce("unit__cluster__name", "unit__product__name")


# --- Named enums (plain `status` choice fields would collide with the other apps') --------------


class CycleStatusField(NamedChoiceField):
    enum_name = "ReviewCycleStatusEnum"
    enum_choices = CycleStatus.choices
    enum_help = "`scheduled`: reviews under way; `closed`: every review closed, nothing changes."


class ReviewStatusField(NamedChoiceField):
    enum_name = "ReviewStatusEnum"
    enum_choices = ReviewStatus.choices
    enum_help = "`scheduled`: still open; `closed`: its decisions and action items are locked."


class PacketStatusField(NamedChoiceField):
    enum_name = "ReviewPacketStatusEnum"
    enum_choices = PacketStatus.choices
    enum_help = "`pending`: queued or being generated; `done`: HTML ready; `failed`: see `error`."


class DecisionKindField(NamedChoiceField):
    enum_name = "DecisionKindEnum"
    enum_choices = DecisionKind.choices
    enum_help = (
        "`invest`, `continue`, `optimise`, `split`, `merge`, `retire`, or `reclassify` "
        "(run it as a project from now on)."
    )


# --- Cycles --------------------------------------------------------------------------------------

CYCLE_FIELDS = (
    "id",
    "year",
    "quarter",
    "starts_on",
    "ends_on",
    "status",
    "n_reviews",
    "n_closed",
    "n_ready",
    "created_at",
    "updated_at",
)
CYCLE_ORDER = ("-year", "-quarter", "-id")


def cycle_rows(queryset: QuerySet[ReviewCycle]) -> QuerySet:
    ready = (
        Packet.objects.filter(review__cycle_id=OuterRef("pk"), status=PacketStatus.DONE)
        .order_by()
        .values("review__cycle_id")
        .annotate(n=Count("review_id", distinct=True))
        .values("n")[:1]
    )
    return queryset.annotate(
        n_reviews=_count(Review, cycle_id=OuterRef("pk")),
        n_closed=_count(Review, cycle_id=OuterRef("pk"), status=ReviewStatus.CLOSED),
        n_ready=Coalesce(Subquery(ready, output_field=IntegerField()), Value(0)),
    ).values(*CYCLE_FIELDS)


def cycle_representation(row: dict) -> dict:
    return {
        "id": row["id"],
        "year": row["year"],
        "quarter": row["quarter"],
        "label": f"Q{row['quarter']} {row['year']}",
        "starts_on": _date(row["starts_on"]),
        "ends_on": _date(row["ends_on"]),
        "status": row["status"],
        "counts": {
            "reviews": row["n_reviews"],
            "closed": row["n_closed"],
            "packets_ready": row["n_ready"],
        },
        "created_at": _dt(row["created_at"]),
        "updated_at": _dt(row["updated_at"]),
    }


class CycleCountsSerializer(serializers.Serializer):
    reviews = serializers.IntegerField(help_text="Reviews scheduled in the cycle.")
    closed = serializers.IntegerField(help_text="Of those, closed.")
    packets_ready = serializers.IntegerField(
        help_text="Reviews with at least one generated packet."
    )


class ReviewCycleSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    year = serializers.IntegerField()
    quarter = serializers.IntegerField(min_value=1, max_value=4)
    # To mypy this shadows Field.label; DRF's metaclass lifts declared fields off the class.
    label = serializers.CharField(help_text='E.g. "Q3 2026".')  # type: ignore[assignment]
    starts_on = serializers.DateField()
    ends_on = serializers.DateField()
    status = CycleStatusField()
    counts = CycleCountsSerializer()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class ScheduleResultSerializer(ReviewCycleSerializer):
    created = serializers.IntegerField(help_text="Reviews this request scheduled.")
    existing = serializers.IntegerField(
        help_text="Reviews the cycle already had (kept as they were)."
    )


class ReviewCycleInputSerializer(serializers.Serializer):
    year = serializers.IntegerField(min_value=2000, max_value=2100)
    quarter = serializers.IntegerField(min_value=1, max_value=4)
    starts_on = serializers.DateField(
        required=False, help_text="First day of the meetings; default: the quarter's first day."
    )
    ends_on = serializers.DateField(
        required=False, help_text="Last day of the meetings; default: the quarter's last day."
    )

    def validate(self, attrs):
        start, end = attrs.get("starts_on"), attrs.get("ends_on")
        if start and end and start > end:
            raise serializers.ValidationError({"ends_on": ["Must not be before `starts_on`."]})
        if start and end and (end - start).days > MAX_CYCLE_DAYS:
            raise serializers.ValidationError({"ends_on": ["A cycle spans at most a year."]})
        for name, day in (("starts_on", start), ("ends_on", end)):
            if day is not None and abs(day.year - attrs["year"]) > 1:
                raise serializers.ValidationError(
                    {name: ["Keep the cycle's dates within a year of its quarter."]}
                )
        return attrs


class FanOutSerializer(serializers.Serializer):
    queued = serializers.IntegerField(help_text="Packets queued by this request.")
    already = serializers.IntegerField(
        help_text="Open reviews that already have a packet (ready or on its way): left alone."
    )


# --- Reviews -------------------------------------------------------------------------------------

REVIEW_FIELDS = (
    "id",
    "cycle_id",
    "cycle__year",
    "cycle__quarter",
    "unit_id",
    "unit_name",
    "owner_id",
    "owner__name",
    "scheduled_on",
    "position",
    "status",
    "closed_at",
    "summary",
    "packet_id",
    "packet_version",
    "packet_status",
    "n_decisions",
    "n_actions",
    "updated_at",
)
REVIEW_ORDER = ("-cycle__year", "-cycle__quarter", "scheduled_on", "position", "id")


def review_rows(queryset: QuerySet[Review]) -> QuerySet:
    latest = Packet.objects.filter(review_id=OuterRef("pk")).order_by("-version")
    return queryset.annotate(
        unit_name=UNIT_NAME,
        packet_id=Subquery(latest.values("id")[:1]),
        packet_version=Subquery(latest.values("version")[:1]),
        packet_status=Subquery(latest.values("status")[:1]),
        n_decisions=_count(Decision, review_id=OuterRef("pk")),
        n_actions=_count(ActionItem, review_id=OuterRef("pk")),
    ).values(*REVIEW_FIELDS)


def review_representation(row: dict) -> dict:
    packet = None
    if row["packet_id"] is not None:
        packet = {
            "id": row["packet_id"],
            "version": row["packet_version"],
            "status": row["packet_status"],
        }
    return {
        "id": row["id"],
        "cycle": row["cycle_id"],
        "cycle_label": f"Q{row['cycle__quarter']} {row['cycle__year']}",
        "unit": row["unit_id"],
        "unit_name": row["unit_name"],
        "owner": row["owner_id"],
        "owner_name": row["owner__name"],
        "scheduled_on": _date(row["scheduled_on"]),
        "position": row["position"],
        "status": row["status"],
        "closed_at": _dt(row["closed_at"]),
        "summary": row["summary"],
        "latest_packet": packet,
        "decisions": row["n_decisions"],
        "action_items": row["n_actions"],
        "updated_at": _dt(row["updated_at"]),
    }


class PacketRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    version = serializers.IntegerField()
    status = PacketStatusField()


class ReviewSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    cycle = serializers.IntegerField(help_text="The review cycle's id.")
    cycle_label = serializers.CharField()
    unit = serializers.IntegerField(help_text="The ownership unit's id.")
    unit_name = serializers.CharField()
    owner = serializers.IntegerField(
        allow_null=True, help_text="The unit's owner (person id) when the review was scheduled."
    )
    owner_name = serializers.CharField(allow_null=True)
    scheduled_on = serializers.DateField()
    position = serializers.IntegerField(help_text="Order within the day (0 first).")
    status = ReviewStatusField()
    closed_at = serializers.DateTimeField(allow_null=True)
    summary = serializers.CharField(allow_blank=True, help_text="Notes taken in the meeting.")
    latest_packet = PacketRefSerializer(
        allow_null=True, help_text="The newest packet version; null before the first is asked for."
    )
    decisions = serializers.IntegerField(help_text="How many decisions the review recorded.")
    action_items = serializers.IntegerField(help_text="How many action items it recorded.")
    updated_at = serializers.DateTimeField()


class ReviewUpdateSerializer(serializers.Serializer):
    scheduled_on = serializers.DateField(help_text="A day within the cycle's dates.")


class ReviewCloseSerializer(serializers.Serializer):
    summary = serializers.CharField(
        required=False, allow_blank=True, max_length=20000, help_text="Notes from the meeting."
    )


# --- Packets -------------------------------------------------------------------------------------

PACKET_FIELDS = (
    "id",
    "review_id",
    "version",
    "status",
    "requested_at",
    "generated_at",
    "pdf_at",
    "error",
)
PACKET_ORDER = ("review_id", "-version")


def packet_rows(queryset: QuerySet[Packet]) -> QuerySet:
    return queryset.values(*PACKET_FIELDS)


def packet_representation(row: dict, request=None) -> dict:
    html = reverse("api-review-packet-html", args=[row["id"]])
    pdf = reverse("api-review-packet-pdf", args=[row["id"]])
    if request is not None:
        html, pdf = request.build_absolute_uri(html), request.build_absolute_uri(pdf)
    return {
        "id": row["id"],
        "review": row["review_id"],
        "version": row["version"],
        "status": row["status"],
        "requested_at": _dt(row["requested_at"]),
        "generated_at": _dt(row["generated_at"]),
        "pdf_ready": row["pdf_at"] is not None,
        "pdf_at": _dt(row["pdf_at"]),
        "error": row["error"],
        "html_url": html,
        "pdf_url": pdf,
    }


class PacketSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    review = serializers.IntegerField(help_text="The review's id.")
    version = serializers.IntegerField(
        help_text="1 for the first packet; each regeneration adds one."
    )
    status = PacketStatusField()
    requested_at = serializers.DateTimeField()
    generated_at = serializers.DateTimeField(
        allow_null=True, help_text="When the data was frozen and the HTML drawn."
    )
    pdf_ready = serializers.BooleanField(help_text="The PDF can be downloaded.")
    pdf_at = serializers.DateTimeField(allow_null=True, help_text="When the PDF was printed.")
    error = serializers.CharField(allow_blank=True, help_text="Why a failed packet failed.")
    html_url = serializers.URLField(
        help_text="The packet as HTML (409 `packet_not_ready` until `status` is `done`)."
    )
    pdf_url = serializers.URLField(
        help_text="The packet as PDF (409 `pdf_not_ready` until `pdf_ready`)."
    )


# --- Decisions -----------------------------------------------------------------------------------

DECISION_FIELDS = (
    "id",
    "review_id",
    "review__cycle_id",
    "review__unit_id",
    "unit_name",
    "kind",
    "rationale",
    "decided_by__username",
    "created_at",
    "updated_at",
)
DECISION_ORDER = ("review_id", "created_at", "id")


def decision_rows(queryset: QuerySet[Decision]) -> QuerySet:
    return queryset.annotate(
        unit_name=Coalesce("review__unit__cluster__name", "review__unit__product__name")
    ).values(*DECISION_FIELDS)


def decision_representation(row: dict) -> dict:
    return {
        "id": row["id"],
        "review": row["review_id"],
        "cycle": row["review__cycle_id"],
        "unit": row["review__unit_id"],
        "unit_name": row["unit_name"],
        "kind": row["kind"],
        "rationale": row["rationale"],
        "decided_by": row["decided_by__username"],
        "created_at": _dt(row["created_at"]),
        "updated_at": _dt(row["updated_at"]),
    }


class DecisionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    review = serializers.IntegerField()
    cycle = serializers.IntegerField()
    unit = serializers.IntegerField(help_text="The ownership unit's id.")
    unit_name = serializers.CharField()
    kind = DecisionKindField()
    rationale = serializers.CharField()
    decided_by = serializers.CharField(allow_null=True, help_text="Username of the leader.")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class IdRefField(serializers.IntegerField):
    """An object given by id (checked as a bigint first); an unknown one names the field."""

    model: type
    noun = ""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(**kwargs)

    def run_validation(self, data=serializers.empty):
        pk = super().run_validation(data)
        if pk is None or pk is serializers.empty:
            return pk
        found = self.model.objects.filter(pk=pk).first()
        if found is None:
            raise serializers.ValidationError(f"No {self.noun} with id {pk}.", code="unknown")
        return found


class ReviewRefField(IdRefField):
    model = Review
    noun = "review"

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", "The review's id.")
        super().__init__(**kwargs)


class PersonIdField(IdRefField):
    model = Person
    noun = "person"


class DecisionInputSerializer(serializers.Serializer):
    review = ReviewRefField()
    kind = DecisionKindField()
    rationale = serializers.CharField(max_length=20000, help_text="Why: the next review reads it.")


# --- Action items --------------------------------------------------------------------------------

ACTION_FIELDS = (
    "id",
    "review_id",
    "review__cycle_id",
    "review__unit_id",
    "review__status",
    "unit_name",
    "title",
    "owner_id",
    "owner__name",
    "due_on",
    "done",
    "done_at",
    "backlog_item_id",
    "backlog_item__status",
    "created_at",
    "updated_at",
)
ACTION_ORDER = ("review_id", "created_at", "id")


def action_item_rows(queryset: QuerySet[ActionItem]) -> QuerySet:
    return queryset.annotate(
        unit_name=Coalesce("review__unit__cluster__name", "review__unit__product__name")
    ).values(*ACTION_FIELDS)


def followed_through() -> Q:
    """Done by hand, or through the backlog item it became (same rule as ActionItem.is_done)."""
    return Q(done=True) | Q(backlog_item__status="done")


def action_item_representation(row: dict) -> dict:
    backlog_status = row["backlog_item__status"]
    return {
        "id": row["id"],
        "review": row["review_id"],
        "cycle": row["review__cycle_id"],
        "unit": row["review__unit_id"],
        "unit_name": row["unit_name"],
        "title": row["title"],
        "owner": row["owner_id"],
        "owner_name": row["owner__name"],
        "due_on": _date(row["due_on"]),
        "done": row["done"],
        "done_at": _dt(row["done_at"]),
        "backlog_item": row["backlog_item_id"],
        "backlog_item_status": backlog_status,
        "followed_through": row["done"] or backlog_status == "done",
        "locked": row["review__status"] == ReviewStatus.CLOSED,
        "created_at": _dt(row["created_at"]),
        "updated_at": _dt(row["updated_at"]),
    }


class ActionItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    review = serializers.IntegerField()
    cycle = serializers.IntegerField()
    unit = serializers.IntegerField(help_text="The ownership unit's id.")
    unit_name = serializers.CharField()
    title = serializers.CharField()
    owner = serializers.IntegerField(allow_null=True, help_text="Who does it (person id).")
    owner_name = serializers.CharField(allow_null=True)
    due_on = serializers.DateField(allow_null=True)
    done = serializers.BooleanField(help_text="Marked done by hand.")
    done_at = serializers.DateTimeField(allow_null=True)
    backlog_item = serializers.IntegerField(
        allow_null=True, help_text="The backlog item it became (id), if any."
    )
    backlog_item_status = serializers.CharField(
        allow_null=True, help_text="That backlog item's status."
    )
    followed_through = serializers.BooleanField(
        help_text="Done by hand, or its backlog item is done."
    )
    locked = serializers.BooleanField(
        help_text="Its review is closed: only `done` can still change."
    )
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class ActionItemInputSerializer(serializers.Serializer):
    review = ReviewRefField()
    title = serializers.CharField(max_length=200)
    owner = PersonIdField(
        required=False,
        allow_null=True,
        help_text="Who does it (person id); default: the unit's owner.",
    )
    due_on = serializers.DateField(required=False, allow_null=True)


class ActionItemUpdateSerializer(serializers.Serializer):
    done = serializers.BooleanField(help_text="Follow-through; may change after the review closed.")


class ToBacklogInputSerializer(serializers.Serializer):
    product = ProductRefField(
        required=False,
        help_text=(
            "Which member's backlog entry (id or slug); default: the unit's own product, or a "
            "cluster's first member by name."
        ),
    )


class ToBacklogResultSerializer(serializers.Serializer):
    action_item = serializers.IntegerField()
    backlog_item = serializers.IntegerField(help_text="The new backlog item's id.")
    unit = serializers.IntegerField(help_text="The ownership unit whose backlog holds it.")
    product = serializers.SlugField(help_text="Its component product's slug.")
    rank = serializers.IntegerField(help_text="Its rank: the top of the unit's backlog.")
