"""Input and output adapters of the reviews API.

Bodies come from values() rows (`*_rows`), so a list costs the same queries at any page size
and one object answers with the same body; each body's fields are declared once (`REVIEW_CYCLE`,
`REVIEW`, `PACKET`, `DECISION`, `ACTION_ITEM`, see portfolio/api/rows.py), which makes both the
rows' JSON and the schema serializer. Input serializers check shapes and resolve ids;
the views hand the values to the services in reviews/services.py.
"""

from __future__ import annotations

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.urls import reverse
from rest_framework import serializers

from portfolio.api.rows import Column, Computed, Contextual, Nested, Output, iso_date, iso_datetime
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


def _count(model, **match) -> Subquery:
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

CYCLE_ORDER = ("-year", "-quarter", "-id")

CYCLE_COUNTS = Output(
    "CycleCountsSerializer",
    Column(
        "reviews",
        serializers.IntegerField(help_text="Reviews scheduled in the cycle."),
        "n_reviews",
    ),
    Column("closed", serializers.IntegerField(help_text="Of those, closed."), "n_closed"),
    Column(
        "packets_ready",
        serializers.IntegerField(help_text="Reviews with at least one generated packet."),
        "n_ready",
    ),
)

REVIEW_CYCLE = Output(
    "ReviewCycleSerializer",
    Column("id", serializers.IntegerField()),
    Column("year", serializers.IntegerField()),
    Column("quarter", serializers.IntegerField(min_value=1, max_value=4)),
    Computed(
        "label",
        serializers.CharField(help_text='E.g. "Q3 2026".'),
        lambda row: f"Q{row['quarter']} {row['year']}",
        reads=("year", "quarter"),
    ),
    Column("starts_on", serializers.DateField(), convert=iso_date),
    Column("ends_on", serializers.DateField(), convert=iso_date),
    Column("status", CycleStatusField()),
    Nested("counts", CYCLE_COUNTS),
    Column("created_at", serializers.DateTimeField(), convert=iso_datetime),
    Column("updated_at", serializers.DateTimeField(), convert=iso_datetime),
)
ReviewCycleSerializer = REVIEW_CYCLE.serializer


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
    ).values(*REVIEW_CYCLE.columns)


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

REVIEW_ORDER = ("-cycle__year", "-cycle__quarter", "scheduled_on", "position", "id")

PACKET_REF = Output(
    "PacketRefSerializer",
    Column("id", serializers.IntegerField(), "packet_id"),
    Column("version", serializers.IntegerField(), "packet_version"),
    Column("status", PacketStatusField(), "packet_status"),
)

REVIEW = Output(
    "ReviewSerializer",
    Column("id", serializers.IntegerField()),
    Column("cycle", serializers.IntegerField(help_text="The review cycle's id."), "cycle_id"),
    Computed(
        "cycle_label",
        serializers.CharField(),
        lambda row: f"Q{row['cycle__quarter']} {row['cycle__year']}",
        reads=("cycle__year", "cycle__quarter"),
    ),
    Column("unit", serializers.IntegerField(help_text="The ownership unit's id."), "unit_id"),
    Column("unit_name", serializers.CharField()),
    Column(
        "owner",
        serializers.IntegerField(
            allow_null=True, help_text="The unit's owner (person id) when the review was scheduled."
        ),
        "owner_id",
    ),
    Column("owner_name", serializers.CharField(allow_null=True), "owner__name"),
    Column("scheduled_on", serializers.DateField(), convert=iso_date),
    Column("position", serializers.IntegerField(help_text="Order within the day (0 first).")),
    Column("status", ReviewStatusField()),
    Column("closed_at", serializers.DateTimeField(allow_null=True), convert=iso_datetime),
    Column(
        "summary",
        serializers.CharField(allow_blank=True, help_text="Notes taken in the meeting."),
    ),
    Nested(
        "latest_packet",
        PACKET_REF,
        when="packet_id",
        allow_null=True,
        help_text="The newest packet version; null before the first is asked for.",
    ),
    Column(
        "decisions",
        serializers.IntegerField(help_text="How many decisions the review recorded."),
        "n_decisions",
    ),
    Column(
        "action_items",
        serializers.IntegerField(help_text="How many action items it recorded."),
        "n_actions",
    ),
    Column("updated_at", serializers.DateTimeField(), convert=iso_datetime),
)
ReviewSerializer = REVIEW.serializer


def review_rows(queryset: QuerySet[Review]) -> QuerySet:
    latest = Packet.objects.filter(review_id=OuterRef("pk")).order_by("-version")
    return queryset.annotate(
        unit_name=UNIT_NAME,
        packet_id=Subquery(latest.values("id")[:1]),
        packet_version=Subquery(latest.values("version")[:1]),
        packet_status=Subquery(latest.values("status")[:1]),
        n_decisions=_count(Decision, review_id=OuterRef("pk")),
        n_actions=_count(ActionItem, review_id=OuterRef("pk")),
    ).values(*REVIEW.columns)


class ReviewUpdateSerializer(serializers.Serializer):
    scheduled_on = serializers.DateField(help_text="A day within the cycle's dates.")


class ReviewCloseSerializer(serializers.Serializer):
    summary = serializers.CharField(
        required=False, allow_blank=True, max_length=20000, help_text="Notes from the meeting."
    )


# --- Packets -------------------------------------------------------------------------------------

PACKET_ORDER = ("review_id", "-version")


def _packet_link(name: str):
    """The packet's download URL, absolute when the call passes the request."""

    def link(row: dict, context) -> str:
        url = reverse(name, args=[row["id"]])
        request = context.get("request")
        return request.build_absolute_uri(url) if request is not None else url

    return link


PACKET = Output(
    "PacketSerializer",
    Column("id", serializers.IntegerField()),
    Column("review", serializers.IntegerField(help_text="The review's id."), "review_id"),
    Column(
        "version",
        serializers.IntegerField(help_text="1 for the first packet; each regeneration adds one."),
    ),
    Column("status", PacketStatusField()),
    Column("requested_at", serializers.DateTimeField(), convert=iso_datetime),
    Column(
        "generated_at",
        serializers.DateTimeField(
            allow_null=True, help_text="When the data was frozen and the HTML drawn."
        ),
        convert=iso_datetime,
    ),
    Computed(
        "pdf_ready",
        serializers.BooleanField(help_text="The PDF can be downloaded."),
        lambda row: row["pdf_at"] is not None,
        reads=("pdf_at",),
    ),
    Column(
        "pdf_at",
        serializers.DateTimeField(allow_null=True, help_text="When the PDF was printed."),
        convert=iso_datetime,
    ),
    Column(
        "error", serializers.CharField(allow_blank=True, help_text="Why a failed packet failed.")
    ),
    Contextual(
        "html_url",
        serializers.URLField(
            help_text="The packet as HTML (409 `packet_not_ready` until `status` is `done`)."
        ),
        _packet_link("api-review-packet-html"),
    ),
    Contextual(
        "pdf_url",
        serializers.URLField(
            help_text="The packet as PDF (409 `pdf_not_ready` until `pdf_ready`)."
        ),
        _packet_link("api-review-packet-pdf"),
    ),
)
PacketSerializer = PACKET.serializer


def packet_rows(queryset: QuerySet[Packet]) -> QuerySet:
    return queryset.values(*PACKET.columns)


# --- Decisions -----------------------------------------------------------------------------------

DECISION_ORDER = ("review_id", "created_at", "id")

DECISION = Output(
    "DecisionSerializer",
    Column("id", serializers.IntegerField()),
    Column("review", serializers.IntegerField(), "review_id"),
    Column("cycle", serializers.IntegerField(), "review__cycle_id"),
    Column(
        "unit", serializers.IntegerField(help_text="The ownership unit's id."), "review__unit_id"
    ),
    Column("unit_name", serializers.CharField()),
    Column("kind", DecisionKindField()),
    Column("rationale", serializers.CharField()),
    Column(
        "decided_by",
        serializers.CharField(allow_null=True, help_text="Username of the leader."),
        "decided_by__username",
    ),
    Column("created_at", serializers.DateTimeField(), convert=iso_datetime),
    Column("updated_at", serializers.DateTimeField(), convert=iso_datetime),
)
DecisionSerializer = DECISION.serializer


def decision_rows(queryset: QuerySet[Decision]) -> QuerySet:
    return queryset.annotate(
        unit_name=Coalesce("review__unit__cluster__name", "review__unit__product__name")
    ).values(*DECISION.columns)


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

ACTION_ORDER = ("review_id", "created_at", "id")

ACTION_ITEM = Output(
    "ActionItemSerializer",
    Column("id", serializers.IntegerField()),
    Column("review", serializers.IntegerField(), "review_id"),
    Column("cycle", serializers.IntegerField(), "review__cycle_id"),
    Column(
        "unit", serializers.IntegerField(help_text="The ownership unit's id."), "review__unit_id"
    ),
    Column("unit_name", serializers.CharField()),
    Column("title", serializers.CharField()),
    Column(
        "owner",
        serializers.IntegerField(allow_null=True, help_text="Who does it (person id)."),
        "owner_id",
    ),
    Column("owner_name", serializers.CharField(allow_null=True), "owner__name"),
    Column("due_on", serializers.DateField(allow_null=True), convert=iso_date),
    Column("done", serializers.BooleanField(help_text="Marked done by hand.")),
    Column("done_at", serializers.DateTimeField(allow_null=True), convert=iso_datetime),
    Column(
        "backlog_item",
        serializers.IntegerField(
            allow_null=True, help_text="The backlog item it became (id), if any."
        ),
        "backlog_item_id",
    ),
    Column(
        "backlog_item_status",
        serializers.CharField(allow_null=True, help_text="That backlog item's status."),
        "backlog_item__status",
    ),
    Computed(
        "followed_through",
        serializers.BooleanField(help_text="Done by hand, or its backlog item is done."),
        lambda row: row["done"] or row["backlog_item__status"] == "done",
        reads=("done", "backlog_item__status"),
    ),
    Computed(
        "locked",
        serializers.BooleanField(help_text="Its review is closed: only `done` can still change."),
        lambda row: row["review__status"] == ReviewStatus.CLOSED,
        reads=("review__status",),
    ),
    Column("created_at", serializers.DateTimeField(), convert=iso_datetime),
    Column("updated_at", serializers.DateTimeField(), convert=iso_datetime),
)
ActionItemSerializer = ACTION_ITEM.serializer


def action_item_rows(queryset: QuerySet[ActionItem]) -> QuerySet:
    return queryset.annotate(
        unit_name=Coalesce("review__unit__cluster__name", "review__unit__product__name")
    ).values(*ACTION_ITEM.columns)


def followed_through() -> Q:
    """Done by hand, or through the backlog item it became (same rule as ActionItem.is_done)."""
    return Q(done=True) | Q(backlog_item__status="done")


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
