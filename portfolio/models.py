"""Portfolio-level domain: people, teams, clusters and the editable portfolio settings."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from simple_history.models import HistoricalRecords


class PersonQuerySet(models.QuerySet):
    def visible_to(self, user) -> PersonQuerySet:
        return self if user.is_authenticated else self.none()

    def editable_by(self, user) -> PersonQuerySet:
        from portfolio.permissions import is_leader

        return self if is_leader(user) else self.none()

    def accountable(self) -> PersonQuerySet:
        """People who can be held accountable: not departed and not locked out."""
        return self.filter(active=True).exclude(user__is_active=False)


class Person(models.Model):
    """Someone who can own products and clusters, optionally linked to a login."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="person",
    )
    name = models.CharField(max_length=120)
    email = models.EmailField(unique=True)
    title = models.CharField("job title", max_length=120, blank=True)
    active = models.BooleanField(default=True, help_text="Unticked once the person has left.")
    departed_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)
    history = HistoricalRecords()

    objects = PersonQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(active=True) | Q(departed_on__isnull=False),
                name="person_departed_has_date",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("person-detail", args=[self.pk])

    @property
    def is_accountable(self) -> bool:
        return self.active and (self.user_id is None or self.user.is_active)


class TeamQuerySet(models.QuerySet):
    def visible_to(self, user) -> TeamQuerySet:
        return self if user.is_authenticated else self.none()

    def editable_by(self, user) -> TeamQuerySet:
        from portfolio.permissions import is_leader

        return self if is_leader(user) else self.none()


class Team(models.Model):
    """A stable cross-functional team that stays with its products across their lifecycle."""

    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    members = models.ManyToManyField(Person, blank=True, related_name="teams")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)
    history = HistoricalRecords(m2m_fields=[members])

    objects = TeamQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("team-detail", args=[self.slug])


class ClusterReason(models.TextChoices):
    SAME_USERS = "same_users", "Same users"
    SAME_DOMAIN = "same_domain", "Same business domain"
    TECHNICAL_DEPENDENCY = "technical_dependency", "Technical dependency"


class ClusterQuerySet(models.QuerySet):
    def visible_to(self, user) -> ClusterQuerySet:
        return self if user.is_authenticated else self.none()

    def editable_by(self, user) -> ClusterQuerySet:
        from portfolio.permissions import is_leader

        if is_leader(user):
            return self
        if not user.is_authenticated:
            return self.none()
        return self.filter(unit__owner__user=user)

    def without_reason(self) -> ClusterQuerySet:
        return self.filter(reasons=[])


class Cluster(models.Model):
    """Products grouped under one owner, one backlog and one identity for their users.

    A cluster must say why it groups its members; one with no reason is flagged, because
    "they are all small" is not a reason.
    """

    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    reasons = ArrayField(
        models.CharField(max_length=32, choices=ClusterReason.choices),
        default=list,
        blank=True,
        help_text="Why these products belong together.",
    )
    reason_note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)
    history = HistoricalRecords()

    objects = ClusterQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("cluster-detail", args=[self.slug])

    @property
    def has_reason(self) -> bool:
        return bool(self.reasons)

    def get_reasons_display(self) -> list[str]:
        labels = dict(ClusterReason.choices)
        return [labels.get(r, r) for r in self.reasons]


class PortfolioSettings(models.Model):
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


# The analytics snapshots live in their own module; importing them here registers them with
# this app.
from portfolio.analytics.models import (  # noqa: E402, F401
    Candidate,
    OwnerLoad,
    Readiness,
    SignalObservation,
    Snapshot,
    SplitSignal,
    UnitState,
)
from portfolio.funding.models import FundingAllocation, InvestmentRequest  # noqa: E402, F401
