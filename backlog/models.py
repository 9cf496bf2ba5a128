"""One ordered, living backlog per ownership unit."""

from __future__ import annotations

from typing import Self, TypeVar

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q

from portfolio.permissions import AnyUser, is_leader
from products.models import Dimension, OwnershipUnit, Product


class ItemType(models.TextChoices):
    IMPROVEMENT = "improvement", "Improvement"
    FIX = "fix", "Fix"
    ENHANCEMENT = "enhancement", "Enhancement"
    INVESTIGATION = "investigation", "Investigation"


class ItemStatus(models.TextChoices):
    PROPOSED = "proposed", "Proposed"
    READY = "ready", "Ready"
    IN_PROGRESS = "in_progress", "In progress"
    DONE = "done", "Done"
    DECLINED = "declined", "Declined"


OPEN_STATUSES = (ItemStatus.PROPOSED, ItemStatus.READY, ItemStatus.IN_PROGRESS)


class ItemSource(models.TextChoices):
    USER_REQUEST = "user_request", "User request"
    SUPPORT_PATTERN = "support_pattern", "Support pattern"
    REVIEW_ACTION = "review_action", "Review action"
    INCIDENT = "incident", "Incident"


_BacklogItemT = TypeVar("_BacklogItemT", bound="BacklogItem")


class BacklogItemQuerySet(models.QuerySet[_BacklogItemT]):
    def visible_to(self, user: AnyUser) -> Self:
        return self if user.is_authenticated else self.none()

    def editable_by(self, user: AnyUser) -> Self:
        if is_leader(user):
            return self
        if not user.is_authenticated:
            return self.none()
        return self.filter(unit__owner__user=user)

    def open(self) -> Self:
        return self.filter(status__in=OPEN_STATUSES)

    def in_order(self) -> Self:
        return self.order_by("rank")


class BacklogItem(models.Model):
    """One entry of a unit's backlog, tagged with the product (component) it is about.

    `rank` orders the unit's backlog: gapped integers, so a move rewrites one row (and now and
    then a bounded window of neighbours, see backlog.ranking). `version` grows with every
    edit; a client that edits with an older version is told of the conflict.
    """

    unit = models.ForeignKey(OwnershipUnit, on_delete=models.CASCADE, related_name="backlog_items")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="backlog_items")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    type = models.CharField(max_length=20, choices=ItemType.choices, default=ItemType.IMPROVEMENT)
    dimension = models.CharField(
        max_length=20, choices=Dimension.choices, default=Dimension.IMPROVEMENT
    )
    status = models.CharField(
        max_length=20, choices=ItemStatus.choices, default=ItemStatus.PROPOSED
    )
    rank = models.BigIntegerField()
    estimate = models.DecimalField(
        max_digits=7,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text="Effort in days.",
    )
    source = models.CharField(
        max_length=20, choices=ItemSource.choices, default=ItemSource.USER_REQUEST
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    objects = BacklogItemQuerySet.as_manager()

    class Meta:
        ordering = ["unit", "rank"]
        constraints = [
            # Deferred: a rebalance rewrites a window of ranks in one statement, and the ranks
            # are unique again by the end of the transaction.
            models.UniqueConstraint(
                fields=["unit", "rank"],
                name="backlog_rank_unique",
                deferrable=models.Deferrable.DEFERRED,
            ),
            models.CheckConstraint(condition=Q(estimate__gte=0), name="backlog_estimate_positive"),
        ]
        indexes = [
            models.Index(fields=["unit", "status", "rank"]),
            models.Index(fields=["product", "rank"]),
            models.Index(fields=["updated_at"]),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


_CommentT = TypeVar("_CommentT", bound="BacklogItemComment")

COMMENT_MAX_LENGTH = 4000


class BacklogItemCommentQuerySet(models.QuerySet[_CommentT]):
    def visible_to(self, user: AnyUser) -> Self:
        """The comments of the items `user` can see."""
        return self.filter(item__in=BacklogItem.objects.visible_to(user))


class BacklogItemComment(models.Model):
    """A remark on a backlog item by the unit's owner or a leader. Comments are not edited:
    their author (or a leader) may delete one and write it again."""

    item = models.ForeignKey(BacklogItem, on_delete=models.CASCADE, related_name="comments")
    # Kept (as NULL) when the login goes: the comment stays, without its author.
    author = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = models.TextField(max_length=COMMENT_MAX_LENGTH)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = BacklogItemCommentQuerySet.as_manager()

    class Meta:
        ordering = ["item", "created_at", "id"]
        indexes = [models.Index(fields=["item", "created_at"])]
        constraints = [
            models.CheckConstraint(condition=~Q(body=""), name="backlog_comment_body_not_empty"),
        ]

    def __str__(self) -> str:
        return f"Comment on {self.item_id} by {self.author_id}"
