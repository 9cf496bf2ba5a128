"""A unit's reviews on its product or cluster page: the next one and the past ones, with their
decisions and how many of their actions got done (one query, whatever the history)."""

from __future__ import annotations

from django import template
from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from backlog.models import ItemStatus
from reviews.models import ActionItem, Decision, DecisionKind, Review

register = template.Library()

SHOWN = 12


def _count(queryset) -> Coalesce:
    counted = queryset.order_by().values("review").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def reviews_with_record(reviews):
    """`reviews` with their decision kinds and action follow-through, in one query."""
    actions = ActionItem.objects.filter(review=OuterRef("pk"))
    done = actions.filter(Q(done=True) | Q(backlog_item__status=ItemStatus.DONE))
    kinds = Decision.objects.filter(review=OuterRef("pk")).order_by("created_at", "id")
    return reviews.select_related("cycle", "unit__cluster", "unit__product").annotate(
        decision_kinds=ArraySubquery(kinds.values("kind")),
        actions_total=_count(actions),
        actions_done=_count(done),
    )


def _split(rows: list[Review]) -> dict:
    today = timezone.localdate()
    labels = dict(DecisionKind.choices)
    for review in rows:
        # Display values hung on the row for the template (decision_kinds is annotated).
        review.decision_labels = [labels.get(k, k) for k in review.decision_kinds or []]  # type: ignore[attr-defined]
        review.overdue = not review.is_closed and review.scheduled_on < today  # type: ignore[attr-defined]
    ahead = [r for r in rows if not r.is_closed and r.scheduled_on >= today]
    upcoming = min(ahead, key=lambda r: (r.scheduled_on, r.pk)) if ahead else None
    past = [r for r in rows if r is not upcoming and r not in ahead]
    return {"upcoming": upcoming, "past": past}


@register.inclusion_tag("reviews/_unit_reviews.html")
def unit_reviews(unit) -> dict:
    """The reviews of an ownership unit (a cluster's page)."""
    rows = list(
        reviews_with_record(Review.objects.filter(unit_id=unit.pk)).order_by(
            "-scheduled_on", "-id"
        )[:SHOWN]
    )
    return {**_split(rows), "unit": unit, "product": None}


@register.inclusion_tag("reviews/_unit_reviews.html")
def product_reviews(product) -> dict:
    """The reviews a product took part in: as a unit of its own, and with its current cluster."""
    where = Q(unit__product_id=product.pk)
    if product.unit_id is not None:
        where |= Q(unit_id=product.unit_id)
    rows = list(
        reviews_with_record(Review.objects.filter(where)).order_by("-scheduled_on", "-id")[:SHOWN]
    )
    return {**_split(rows), "unit": product.unit, "product": product}
