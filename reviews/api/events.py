"""The API bodies of the reviews' objects for their events (portfolio/events.py), registered
in ReviewsConfig.ready(): the bodies their endpoints answer."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.db.models import QuerySet

from portfolio import events
from portfolio.api.rows import Output
from reviews.api.serializers import (
    ACTION_ITEM,
    DECISION,
    PACKET,
    REVIEW,
    REVIEW_CYCLE,
    action_item_rows,
    cycle_rows,
    decision_rows,
    packet_rows,
    review_rows,
)
from reviews.models import ActionItem, Decision, Packet, Review, ReviewCycle


def _bodies(
    model: Any, rows: Callable[[QuerySet], QuerySet], output: Output
) -> Callable[[Sequence[int]], dict[int, Any]]:
    def bodies(ids: Sequence[int]) -> dict[int, Any]:
        return {row["id"]: output.one(row) for row in rows(model.objects.filter(pk__in=ids))}

    return bodies


def register() -> None:
    events.register_representation("review_cycle", _bodies(ReviewCycle, cycle_rows, REVIEW_CYCLE))
    events.register_representation("review", _bodies(Review, review_rows, REVIEW))
    events.register_representation("review_packet", _bodies(Packet, packet_rows, PACKET))
    events.register_representation("decision", _bodies(Decision, decision_rows, DECISION))
    events.register_representation(
        "action_item", _bodies(ActionItem, action_item_rows, ACTION_ITEM)
    )
