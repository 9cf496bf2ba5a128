"""Reads shared by the review pages, the API and the dashboard."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, F, Min, Q, QuerySet
from django.utils import timezone

from analytics.dashboard import REVIEWS_DUE_DAYS
from portfolio.links import object_url
from reviews.models import ActionItem, Review, ReviewStatus


@dataclass
class ReviewsDue:
    """One cycle's reviews not held yet: overdue, and due within the next days."""

    label: str
    url: str
    overdue: int
    soon: int
    next_on: dt.date | None


def reviews_due(
    *, units: QuerySet[Any, Any] | None = None, days: int = REVIEWS_DUE_DAYS
) -> list[ReviewsDue]:
    """Reviews not held yet that are overdue or due soon, counted per cycle (one query).

    `units` narrows them to the ownership units of a dashboard scope (rows with a `unit_id`)."""
    today = timezone.localdate()
    horizon = today + dt.timedelta(days=days)
    reviews = Review.objects.filter(status=ReviewStatus.SCHEDULED, scheduled_on__lte=horizon)
    if units is not None:
        reviews = reviews.filter(unit_id__in=units)
    rows = (
        reviews.values("cycle_id", "cycle__year", "cycle__quarter")
        .annotate(
            overdue=Count("pk", filter=Q(scheduled_on__lt=today)),
            soon=Count("pk", filter=Q(scheduled_on__gte=today)),
            next_on=Min("scheduled_on", filter=Q(scheduled_on__gte=today)),
        )
        .order_by("cycle__year", "cycle__quarter")
    )
    return [
        ReviewsDue(
            label=f"Q{row['cycle__quarter']} {row['cycle__year']}",
            url=object_url("review-cycle", row["cycle_id"]),
            overdue=row["overdue"],
            soon=row["soon"],
            next_on=row["next_on"],
        )
        for row in rows
    ]


def next_reviews(unit_ids: Iterable[int], *, n: int = 5) -> list[Review]:
    """The next reviews not held yet of these units, soonest (or most overdue) first."""
    ids = list(unit_ids)
    if not ids:
        return []
    reviews = (
        Review.objects.filter(unit_id__in=ids, status=ReviewStatus.SCHEDULED)
        .select_related("cycle", "unit__cluster", "unit__product")
        .order_by("scheduled_on", "position", "id")
    )
    return list(reviews[:n])


def open_action_items(person_id: int | None, *, n: int = 10) -> list[ActionItem]:
    """Action items given to a person and not done yet (by hand or through the backlog item
    they became), the ones due first first."""
    if person_id is None:
        return []
    items = (
        ActionItem.objects.filter(owner_id=person_id, done=False)
        .exclude(backlog_item__status="done")
        .select_related("review__cycle", "backlog_item")
        .order_by(F("due_on").asc(nulls_last=True), "id")
    )
    return list(items[:n])
