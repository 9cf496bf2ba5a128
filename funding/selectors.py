"""Reads of funding shared by pages outside the funding app."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet

from funding.models import InvestmentRequest


def requests_of_units(unit_ids: Iterable[int], *, n: int = 10) -> list[InvestmentRequest]:
    """The latest `n` investment requests of these units, newest first, in any state."""
    ids = list(unit_ids)
    if not ids:
        return []
    requests: QuerySet[InvestmentRequest] = (
        InvestmentRequest.objects.filter(unit_id__in=ids)
        .select_related("product")
        .order_by("-created_at", "-id")
    )
    return list(requests[:n])
