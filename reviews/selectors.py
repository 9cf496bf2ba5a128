"""Reads shared by the review pages, the API and the dashboard."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Min, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from analytics.dashboard import REVIEWS_DUE_DAYS
from reviews.models import Review, ReviewStatus


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
            url=reverse("review-cycle", args=[row["cycle_id"]]),
            overdue=row["overdue"],
            soon=row["soon"],
            next_on=row["next_on"],
        )
        for row in rows
    ]
