"""The kernel's models: the portfolio settings that hold every rule's threshold, and the
outbox of background jobs every app dispatches through (portfolio/outbox.py)."""

from __future__ import annotations

from decimal import Decimal

from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from portfolio.permissions import AnyUser
from portfolio.versioning import Versioned


class PortfolioSettings(Versioned):
    """Every threshold the portfolio rules read. One row (pk=1), editable by leaders."""

    max_active_units = models.PositiveSmallIntegerField(
        default=1, help_text="Actively evolving units one owner may carry."
    )
    max_stable_units = models.PositiveSmallIntegerField(
        default=3, help_text="Stable units one owner may carry beside the active ones."
    )
    triaging_active_units = models.PositiveSmallIntegerField(
        default=2, help_text="From this many active units an owner is triaging, not owning."
    )
    design_problem_consecutive = models.PositiveSmallIntegerField(
        default=2,
        help_text="Consecutive snapshots over the ceiling that make a portfolio design problem.",
    )
    crowding_share_pct = models.PositiveSmallIntegerField(
        default=60,
        validators=[MaxValueValidator(100)],
        help_text="Share of the open estimate (or top items) one member may hold.",
    )
    crowding_top_items = models.PositiveSmallIntegerField(default=20)
    crowding_idle_days = models.PositiveSmallIntegerField(
        default=90, help_text="Days without a finished item that make a member 'crowded out'."
    )
    crowding_snapshots_required = models.PositiveSmallIntegerField(default=3)
    crowding_snapshots_window = models.PositiveSmallIntegerField(default=4)
    dominance_share_pct = models.PositiveSmallIntegerField(
        default=50,
        validators=[MaxValueValidator(100)],
        help_text="Share of operations and support effort that makes one member dominant.",
    )
    dominance_fair_share_multiple = models.DecimalField(
        max_digits=4, decimal_places=2, default=Decimal("2.00")
    )
    dominance_window_days = models.PositiveSmallIntegerField(default=90)
    governance_threshold = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        default=Decimal("100000.00"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text="Investment requests above this amount need a leader's approval.",
    )
    currency = models.CharField(max_length=3, default="EUR")
    orphan_item_age_days = models.PositiveSmallIntegerField(
        default=180, help_text="Open backlog items untouched this long point at neglect."
    )
    orphan_review_quarters = models.PositiveSmallIntegerField(
        default=2, help_text="Quarters without a review that point at neglect."
    )
    candidates_shown = models.PositiveSmallIntegerField(default=5)
    metrics_min = models.PositiveSmallIntegerField(default=3)
    metrics_max = models.PositiveSmallIntegerField(default=5)
    stale_interval_multiple = models.PositiveSmallIntegerField(
        default=2, help_text="A metric is stale after this many expected intervals with no reading."
    )
    review_reminder_days = models.PositiveSmallIntegerField(
        default=5, help_text="Days before a quarterly review its owner is reminded by email."
    )
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()
    # Who made the change, set by the service before save(); simple_history records it.
    _history_user: AnyUser

    class Meta:
        verbose_name = "portfolio settings"
        verbose_name_plural = "portfolio settings"
        constraints = [
            models.CheckConstraint(condition=Q(pk=1), name="portfolio_settings_singleton"),
            models.CheckConstraint(
                condition=Q(metrics_min__lte=models.F("metrics_max")),
                name="portfolio_settings_metrics_range",
            ),
        ]

    def __str__(self) -> str:
        return "Portfolio settings"

    @classmethod
    def load(cls) -> PortfolioSettings:
        obj, _ = cls.objects.get_or_create(pk=1)
        return obj


class OutboxMessage(models.Model):
    """A background job a committed change asked for, kept until a worker reports it done.

    Written in the caller's transaction (portfolio/outbox.py), so the job exists exactly when
    the change committed; relayed to the broker after the commit and again by the beat task
    `outbox_redeliver` until the task succeeds. A broker outage or a killed worker therefore
    delays the work but never loses it; the tasks themselves make a second delivery harmless.
    """

    task = models.CharField(max_length=200)
    args = models.JSONField(default=list, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    # One open message per key (say "packet:12"): asking twice re-sends the same message
    # rather than queueing a second job.
    key = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    published_at = models.DateTimeField(
        null=True, blank=True, help_text="When the broker last accepted it; empty: never yet."
    )
    attempts = models.PositiveIntegerField(default=0, help_text="Publications tried so far.")
    last_error = models.TextField(blank=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["key"],
                condition=Q(done_at__isnull=True) & ~Q(key=""),
                name="outbox_one_open_message_per_key",
            ),
        ]
        indexes = [
            models.Index(
                fields=["created_at"], condition=Q(done_at__isnull=True), name="outbox_open"
            ),
        ]

    def __str__(self) -> str:
        state = "done" if self.done_at else ("published" if self.published_at else "pending")
        return f"{self.task}{tuple(self.args)} ({state})"


class Event(models.Model):
    """One recorded change: what happened (`type`, from the registry in portfolio/events.py),
    to which object, by whom, what changed and the object's API body after the change.

    Written by the service that made the change, in its transaction: a change that rolls back
    leaves no event. `position` is the feed's order: NULL while the writing transaction runs,
    set at its commit, under one lock, by the database (the deferred trigger made in migration
    0010), so positions grow in commit order and a reader paging by position never skips an
    event that commits late (docs/api.md, "Events").
    """

    type = models.CharField(max_length=64)
    at = models.DateTimeField(default=timezone.now)
    position = models.BigIntegerField(null=True, blank=True, unique=True, editable=False)
    actor = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Kept as written: a login deleted later still shows who made the change.
    actor_name = models.CharField(max_length=200, blank=True)
    job = models.CharField(
        max_length=100, blank=True, help_text="The background job that made the change, if any."
    )
    object_type = models.CharField(max_length=64)
    object_id = models.BigIntegerField()
    data = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    changed = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)

    class Meta:
        indexes = [
            models.Index(fields=["object_type", "object_id", "position"], name="event_object"),
            models.Index(fields=["type", "position"], name="event_type"),
            # Only the rows of transactions still running (the commit trigger finds its own).
            models.Index(fields=["id"], condition=Q(position__isnull=True), name="event_unplaced"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.object_type}:{self.object_id} (#{self.position or '-'})"


class EventPruning(models.Model):
    """One run of the event pruning (portfolio/events.py `prune`): events up to and including
    `pruned_through` are gone, so a feed cursor below it has missed changes for good."""

    at = models.DateTimeField(default=timezone.now)
    pruned_through = models.BigIntegerField()
    deleted = models.PositiveIntegerField()

    class Meta:
        indexes = [models.Index(fields=["-pruned_through"], name="event_pruning_latest")]

    def __str__(self) -> str:
        return f"events through #{self.pruned_through} pruned at {self.at:%Y-%m-%d %H:%M}"
