"""Input and output adapters for backlog items.

The output comes from a values() row (see `backlog_item_rows`), so the list costs the same
queries at any page size and a single item answers with the same body; its fields are declared
once (`BACKLOG_ITEM`, see portfolio/api/rows.py), which makes both the rows' JSON and the
schema serializer.
"""

from __future__ import annotations

from decimal import Decimal

from django.db.models import QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone
from rest_framework import serializers

from backlog.models import (
    COMMENT_MAX_LENGTH,
    BacklogItem,
    BacklogItemComment,
    ItemSource,
    ItemStatus,
    ItemType,
)
from backlog.services import MAX_POSITION
from portfolio.api.rows import Column, Contextual, Output, iso_datetime
from portfolio.exports import Listing
from portfolio.validation import MAX_ID, MAX_INT
from products.api.serializers import ProductRefField
from products.models import Dimension

_ESTIMATE = serializers.DecimalField(max_digits=7, decimal_places=1)


def _estimate(value: Decimal | None) -> str | None:
    return _ESTIMATE.to_representation(value) if value is not None else None


def _days_since(column: str):
    """Whole days from the row's `column` to the call's `now` (never below 0)."""

    def days(row: dict, context) -> int:
        return max((context["now"] - row[column]).days, 0)

    return days


BACKLOG_ITEM = Output(
    "BacklogItemSerializer",
    Column("id", serializers.IntegerField()),
    Column(
        "unit",
        serializers.IntegerField(help_text="The ownership unit whose backlog holds the item."),
        "unit_id",
    ),
    Column("unit_name", serializers.CharField()),
    Column(
        "product", serializers.SlugField(help_text="The component product's slug."), "product__slug"
    ),
    Column("title", serializers.CharField()),
    Column("description", serializers.CharField()),
    Column("type", serializers.ChoiceField(choices=ItemType.choices)),
    Column("dimension", serializers.ChoiceField(choices=Dimension.choices)),
    Column("status", serializers.ChoiceField(choices=ItemStatus.choices)),
    Column(
        "rank",
        serializers.IntegerField(
            help_text="Orders the unit's backlog (smaller is higher); gapped, not a position."
        ),
    ),
    Column(
        "estimate",
        serializers.DecimalField(
            max_digits=7, decimal_places=1, allow_null=True, help_text="Effort in days."
        ),
        convert=_estimate,
    ),
    Column("source", serializers.ChoiceField(choices=ItemSource.choices)),
    Column("created_at", serializers.DateTimeField(), convert=iso_datetime),
    Column("updated_at", serializers.DateTimeField(), convert=iso_datetime),
    Column("started_at", serializers.DateTimeField(allow_null=True), convert=iso_datetime),
    Column("finished_at", serializers.DateTimeField(allow_null=True), convert=iso_datetime),
    Column(
        "version",
        serializers.IntegerField(help_text="Send it back with an edit (or as If-Match)."),
    ),
    Contextual(
        "age_days",
        serializers.IntegerField(help_text="Whole days since the item was created."),
        _days_since("created_at"),
        reads=("created_at",),
    ),
    Contextual(
        "days_since_touched",
        serializers.IntegerField(help_text="Whole days since its last change."),
        _days_since("updated_at"),
        reads=("updated_at",),
    ),
    doc="A backlog item as the API answers it (read-only; described here for the schema).",
)
BacklogItemSerializer = BACKLOG_ITEM.serializer


def backlog_item_rows(queryset: QuerySet[BacklogItem]) -> QuerySet:
    """The rows an item body is made of, in one query (unit name from its cluster or product)."""
    return queryset.annotate(
        unit_name=Coalesce("unit__cluster__name", "unit__product__name")
    ).values(*BACKLOG_ITEM.columns)


# Ages are counted from the moment the export starts.
BACKLOG_ITEM_EXPORT = Listing.of_output(
    "backlog", BACKLOG_ITEM, rows=backlog_item_rows, context=lambda: {"now": timezone.now()}
)


class BacklogItemInputSerializer(serializers.Serializer):
    """What a client may send to add (POST) or change (PUT/PATCH) a backlog item."""

    product = ProductRefField(
        help_text="Component product (id or slug); the item goes to that product's unit."
    )
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(allow_blank=True, required=False)
    type = serializers.ChoiceField(choices=ItemType.choices, required=False)
    dimension = serializers.ChoiceField(choices=Dimension.choices, required=False)
    status = serializers.ChoiceField(choices=ItemStatus.choices, required=False)
    estimate = serializers.DecimalField(
        max_digits=7, decimal_places=1, min_value=0, allow_null=True, required=False
    )
    # To mypy this shadows Field.source; DRF's metaclass lifts declared fields off the class.
    source = serializers.ChoiceField(choices=ItemSource.choices, required=False)  # type: ignore[assignment]


class BacklogItemCreateSerializer(BacklogItemInputSerializer):
    position = serializers.ChoiceField(
        choices=["top", "bottom"], required=False, default="bottom", help_text="Where it lands."
    )


class BacklogItemUpdateSerializer(BacklogItemInputSerializer):
    version = serializers.IntegerField(
        min_value=1,
        max_value=MAX_INT,
        required=False,
        help_text=(
            "The version you edited; if the item changed since, the answer is 412. "
            'May be sent as an `If-Match: "<version>"` header instead.'
        ),
    )


class BacklogItemMoveSerializer(serializers.Serializer):
    """Exactly one of `before`, `after`, `position`."""

    before = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_ID, help_text="Place above this item."
    )
    after = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_ID, help_text="Place below this item."
    )
    position = serializers.IntegerField(
        required=False, min_value=0, max_value=MAX_POSITION, help_text="0 is the top."
    )

    def validate(self, attrs):
        if len(attrs) != 1:
            raise serializers.ValidationError(
                {"non_field_errors": ["Give exactly one of before, after, position."]}
            )
        # An anchor that does not exist is the service's to say (400 naming the field), from
        # the statement that makes the move: no query here.
        return attrs


class BacklogItemMoveResultSerializer(serializers.Serializer):
    item = BacklogItemSerializer()
    rows_written = serializers.IntegerField(
        help_text="Rows the move rewrote: 1, or more when neighbours were spread out."
    )


class BacklogItemStaleSerializer(serializers.Serializer):
    code = serializers.CharField()
    detail = serializers.CharField()
    # To mypy this shadows Serializer.errors; DRF's metaclass lifts declared fields off the class.
    errors = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()), required=False
    )
    rule = serializers.CharField(required=False)
    current = BacklogItemSerializer(help_text="The item as stored now.")
    yours = serializers.DictField(help_text="What you sent, with the version you edited.")


class BacklogItemCommentSerializer(serializers.ModelSerializer):
    """A comment on a backlog item (read)."""

    author = serializers.CharField(
        source="author.get_username",
        allow_null=True,
        read_only=True,
        help_text="The login that wrote it; null once that login is gone.",
    )

    class Meta:
        model = BacklogItemComment
        fields = ["id", "item", "author", "body", "created_at"]
        read_only_fields = fields


class BacklogItemCommentInputSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=COMMENT_MAX_LENGTH)
