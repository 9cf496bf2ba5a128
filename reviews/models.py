"""Quarterly reviews: a cycle per quarter, one review per ownership unit, packets frozen at
generation time, and the decisions and action items the meeting records.

A packet stores its data as JSON when it is generated and its HTML and PDF renderings beside
it; nothing read later changes it. Regenerating makes a new version and keeps the old ones.
Closing a review locks its decisions and action items.
"""

from __future__ import annotations

import datetime as dt
from typing import Self, TypeVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse

from portfolio.permissions import AnyUser
from portfolio.versioning import Versioned


class CycleStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    CLOSED = "closed", "Closed"


_ReviewCycleT = TypeVar("_ReviewCycleT", bound="ReviewCycle")


class ReviewCycleQuerySet(models.QuerySet[_ReviewCycleT]):
    def visible_to(self, user: AnyUser) -> Self:
        return self if user.is_authenticated else self.none()


def quarter_bounds(year: int, quarter: int) -> tuple[dt.date, dt.date]:
    """First and last day of a calendar quarter."""
    start = dt.date(year, 3 * (quarter - 1) + 1, 1)
    end_month = start.month + 2
    next_month = dt.date(year + (end_month == 12), end_month % 12 + 1, 1)
    return start, next_month - dt.timedelta(days=1)


class ReviewCycle(models.Model):
    """The reviews of one quarter, held between `starts_on` and `ends_on`."""

    year = models.PositiveSmallIntegerField()
    quarter = models.PositiveSmallIntegerField(choices=[(q, f"Q{q}") for q in (1, 2, 3, 4)])
    starts_on = models.DateField()
    ends_on = models.DateField()
    status = models.CharField(
        max_length=10, choices=CycleStatus.choices, default=CycleStatus.SCHEDULED
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    objects = ReviewCycleQuerySet.as_manager()

    class Meta:
        ordering = ["-year", "-quarter"]
        constraints = [
            models.UniqueConstraint(fields=["year", "quarter"], name="cycle_per_quarter"),
            models.CheckConstraint(
                condition=Q(starts_on__lte=models.F("ends_on")), name="cycle_dates_ordered"
            ),
        ]

    def __str__(self) -> str:
        return self.label

    def get_absolute_url(self) -> str:
        return reverse("review-cycle", args=[self.pk])

    @property
    def label(self) -> str:
        return f"Q{self.quarter} {self.year}"


class ReviewStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    CLOSED = "closed", "Closed"


_ReviewT = TypeVar("_ReviewT", bound="Review")


class ReviewQuerySet(models.QuerySet[_ReviewT]):
    def visible_to(self, user: AnyUser) -> Self:
        return self if user.is_authenticated else self.none()

    def in_agenda_order(self) -> Self:
        return self.order_by("scheduled_on", "position", "id")


class Review(Versioned):
    """One ownership unit's review in a cycle."""

    cycle = models.ForeignKey(ReviewCycle, on_delete=models.CASCADE, related_name="reviews")
    unit = models.ForeignKey(
        "products.OwnershipUnit", on_delete=models.CASCADE, related_name="reviews"
    )
    owner = models.ForeignKey(
        "products.Person",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reviews",
        help_text="The unit's owner when the review was scheduled.",
    )
    scheduled_on = models.DateField()
    position = models.PositiveIntegerField(default=0, help_text="Order within the day.")
    status = models.CharField(
        max_length=10, choices=ReviewStatus.choices, default=ReviewStatus.SCHEDULED
    )
    reminder_sent_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    summary = models.TextField(blank=True, help_text="Notes taken in the meeting.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    objects = ReviewQuerySet.as_manager()

    class Meta:
        ordering = ["cycle", "scheduled_on", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["cycle", "unit"], name="review_once_per_cycle"),
        ]
        indexes = [models.Index(fields=["unit", "scheduled_on"], name="review_unit_date")]

    def __str__(self) -> str:
        return f"{self.cycle.label}: unit {self.unit_id}"

    def get_absolute_url(self) -> str:
        return reverse("review-detail", args=[self.pk])

    @property
    def is_closed(self) -> bool:
        return self.status == ReviewStatus.CLOSED


class PacketStatus(models.TextChoices):
    PENDING = "pending", "Waiting"
    DONE = "done", "Ready"
    FAILED = "failed", "Failed"


class Packet(models.Model):
    """A frozen snapshot of what a review looks at: data (JSON) and its HTML and PDF."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="packets")
    version = models.PositiveIntegerField()
    status = models.CharField(
        max_length=10, choices=PacketStatus.choices, default=PacketStatus.PENDING
    )
    data = models.JSONField(default=dict, blank=True)
    html = models.TextField(blank=True)
    pdf = models.BinaryField(null=True, blank=True, editable=False)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    generated_at = models.DateTimeField(null=True, blank=True)
    pdf_at = models.DateTimeField(null=True, blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["review", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["review", "version"], name="packet_version_unique"),
        ]

    def __str__(self) -> str:
        return f"Packet v{self.version} of review {self.review_id}"

    def get_absolute_url(self) -> str:
        return reverse("packet-detail", args=[self.pk])


class DecisionKind(models.TextChoices):
    INVEST = "invest", "Invest"
    CONTINUE = "continue", "Continue"
    OPTIMISE = "optimise", "Optimise"
    SPLIT = "split", "Split"
    MERGE = "merge", "Merge"
    RETIRE = "retire", "Retire"
    RECLASSIFY = "reclassify", "Reclassify as project"


class Decision(Versioned):
    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="decisions")
    kind = models.CharField(max_length=12, choices=DecisionKind.choices)
    rationale = models.TextField()
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["review", "created_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.rationale[:40]}"


class ActionItem(Versioned):
    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="action_items")
    title = models.CharField(max_length=200)
    owner = models.ForeignKey(
        "products.Person", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    due_on = models.DateField(null=True, blank=True)
    done = models.BooleanField(default=False)
    done_at = models.DateTimeField(null=True, blank=True)
    backlog_item = models.OneToOneField(
        "backlog.BacklogItem",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="review_action",
        help_text="The backlog item this action became, if any.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["review", "created_at", "id"]

    def __str__(self) -> str:
        return self.title

    @property
    def is_done(self) -> bool:
        """Done by hand, or through the backlog item it became."""
        if self.done:
            return True
        return self.backlog_item is not None and self.backlog_item.status == "done"
