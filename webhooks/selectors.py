"""Reads of the webhooks app shared by the settings pages and the API."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from portfolio.permissions import AnyUser
from webhooks.models import OPEN_STATUSES, Delivery, Endpoint


def endpoints_for(*, user: AnyUser) -> QuerySet[Endpoint]:
    """The endpoints `user` may see (leaders: all), with how many deliveries are open."""
    return (
        Endpoint.objects.visible_to(user)
        .annotate(
            open_deliveries=Count("deliveries", filter=Q(deliveries__status__in=OPEN_STATUSES))
        )
        .order_by("id")
    )


def deliveries_of(*, endpoint: Endpoint) -> QuerySet[Delivery]:
    """An endpoint's delivery log, newest first."""
    return Delivery.objects.filter(endpoint=endpoint).order_by("-id")
